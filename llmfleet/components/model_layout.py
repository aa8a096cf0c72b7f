"""Where model weights live in every bucket of every cloud: ``models/<name>/<version>/``.

Publishers, replication rules, transfer jobs, reader policies and serving pods all use this one
layout; a published version is immutable, so a new version gets a new prefix.
"""

from __future__ import annotations

from llmfleet.components.spec import ModelSpec

MODEL_PREFIX = "models/"
"""The only prefix replication, transfer jobs, writers and readers touch."""


def model_path(model: ModelSpec) -> str:
    """``models/<name>/<version>/``: where one model version's files live in a bucket."""
    return f"{MODEL_PREFIX}{model.name}/{model.version}/"


def model_uri(scheme: str, bucket: str, model: ModelSpec) -> str:
    """``<scheme>://<bucket>/models/<name>/<version>/`` (``s3``, ``gs``)."""
    return f"{scheme}://{bucket}/{model_path(model)}"

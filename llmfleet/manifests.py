"""Export every Kubernetes object of a plan as YAML, one folder per cluster."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from llmfleet.recorder import RecordedResource, Recording

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def kubernetes_objects(recording: Recording) -> list[RecordedResource]:
    """Kubernetes objects (not providers, not Helm releases) in registration order."""
    return [
        r
        for r in recording.resources
        if r.type.startswith("kubernetes:") and r.type != HELM_RELEASE and r.custom
    ]


def manifest(resource: RecordedResource) -> dict[str, Any]:
    """The object as `kubectl apply` would take it."""
    inputs = dict(resource.inputs)
    api_version = inputs.pop("apiVersion", None)
    kind = inputs.pop("kind", None)
    if api_version is None or kind is None:
        # Typed resources carry their group/version/kind only in the type token.
        _, group_version, kind_token = resource.type.split(":")
        group, _, version = group_version.rpartition("/")
        group = "" if group in ("core", "") else group
        api_version = api_version or (f"{group}/{version}" if group else version)
        kind = kind or kind_token
    return {"apiVersion": api_version, "kind": kind, **inputs}


def helm_release(resource: RecordedResource) -> dict[str, Any]:
    """A Helm release as chart coordinates and values, for GitOps tools to take over."""
    keys = ("name", "namespace", "chart", "version", "repositoryOpts", "values")
    return {k: resource.inputs[k] for k in keys if k in resource.inputs}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip("-")


def _cluster_folder(recording: Recording, resource: RecordedResource) -> str:
    """``aws-us-east-1``: the cloud and region of the cluster whose provider applies it."""
    provider = recording.by_urn.get(resource.provider or "")
    if provider is None:
        return "default"
    return _slug(f"{provider.cloud}-{provider.region}")


def export_manifests(recording: Recording, directory: Path) -> int:
    """Write each object to DIR/<cloud>-<region>/<kind>-<namespace>-<name>.yaml and each
    cluster's Helm releases to DIR/<cloud>-<region>/helm-releases.yaml; return how many objects."""
    written = 0
    releases: dict[str, list[dict[str, Any]]] = {}
    for resource in recording.resources:
        if resource.type == HELM_RELEASE:
            releases.setdefault(_cluster_folder(recording, resource), []).append(
                helm_release(resource)
            )
    for resource in kubernetes_objects(recording):
        body = manifest(resource)
        metadata = body.get("metadata") or {}
        name = metadata.get("name") or resource.name
        parts = [body["kind"], metadata.get("namespace", ""), name]
        folder = directory / _cluster_folder(recording, resource)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (_slug("-".join(p for p in parts if p)) + ".yaml")
        path.write_text(yaml.safe_dump(body, sort_keys=False))
        written += 1
    for cluster, charts in releases.items():
        folder = directory / cluster
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "helm-releases.yaml").write_text(yaml.safe_dump(charts, sort_keys=False))
    return written

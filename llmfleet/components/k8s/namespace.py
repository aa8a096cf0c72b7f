"""Namespaces llmfleet makes on a cluster: every one enforces the restricted Pod Security
Standard, so no add-on or model server runs privileged, as root or with host access."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_kubernetes as kubernetes

RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}
"""The label admitting only pods that meet the restricted Pod Security Standard."""


def restricted_namespace(
    resource_name: str,
    namespace: str,
    opts: pulumi.ResourceOptions,
    labels: Mapping[str, str] | None = None,
) -> kubernetes.core.v1.Namespace:
    """The namespace ``namespace``, restricted, with ``labels`` beside the enforcement."""
    return kubernetes.core.v1.Namespace(
        resource_name,
        metadata={"name": namespace, "labels": {**RESTRICTED, **(labels or {})}},
        opts=opts,
    )

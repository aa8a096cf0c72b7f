"""Cluster add-ons from their upstream Helm charts, pinned to one version each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes


@dataclass(frozen=True)
class HelmChart:
    """An upstream Helm chart pinned to one version."""

    name: str
    """The release name, and the chart's name in ``repo``."""
    repo: str | None
    """The chart repository; none for an OCI chart, which ``chart`` names in full."""
    version: str
    """The chart version installed; bumping it upgrades the release."""
    chart: str | None = None
    """The chart reference when it is not ``name`` (``oci://...``)."""


def helm_release(
    resource: str,
    chart: HelmChart,
    values: dict[str, Any],
    namespace: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    *,
    skip_crds: bool = False,
) -> kubernetes.helm.v3.Release:
    """A Helm release of ``chart`` (opts carry its parent and the cluster's provider)."""
    return kubernetes.helm.v3.Release(
        resource,
        name=chart.name,
        chart=chart.chart or chart.name,
        version=chart.version,
        repository_opts=(
            kubernetes.helm.v3.RepositoryOptsArgs(repo=chart.repo) if chart.repo else None
        ),
        namespace=namespace,
        values=values,
        skip_crds=skip_crds,
        opts=opts,
    )

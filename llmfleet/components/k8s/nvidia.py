"""NVIDIA node agents of a GPU cluster: the device plugin and the DCGM exporter.

The device plugin advertises each node's GPUs as ``nvidia.com/gpu`` so pods can request them;
DCGM exporter publishes GPU health and utilisation metrics. Both run on GPU nodes only and
tolerate the accelerator taint of the scheduling contract. Clusters whose platform installs
its own device plugin (GKE) do not install these: two plugins would advertise the same GPUs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from llmfleet.components.k8s.helm import HelmChart, helm_release
from llmfleet.components.k8s.scheduling import accelerator_toleration

NVIDIA_NAMESPACE = "nvidia"

NVIDIA_DEVICE_PLUGIN = HelmChart(
    "nvidia-device-plugin", "https://nvidia.github.io/k8s-device-plugin", "0.18.2"
)
DCGM_EXPORTER = HelmChart(
    "dcgm-exporter", "https://nvidia.github.io/dcgm-exporter/helm-charts", "4.8.1"
)


def install_nvidia_node_agents(
    prefix: str,
    node_affinity: dict[str, Any],
    parent: pulumi.Resource,
    provider: pulumi.ProviderResource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> list[kubernetes.helm.v3.Release]:
    """The ``nvidia`` namespace and both agents, named ``<prefix>-<chart>``, under ``parent``.

    ``node_affinity`` selects the cluster's NVIDIA nodes (it replaces the device plugin chart's
    default, which expects node-feature-discovery labels).
    """
    namespace = kubernetes.core.v1.Namespace(
        f"{prefix}-{NVIDIA_NAMESPACE}",
        metadata={
            "name": NVIDIA_NAMESPACE,
            # The device plugin mounts the kubelet's device-plugin socket directory and the
            # exporter needs SYS_ADMIN for profiling metrics: both are privileged pods.
            "labels": {"pod-security.kubernetes.io/enforce": "privileged"},
        },
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )
    on_gpu_nodes = {"affinity": node_affinity, "tolerations": [accelerator_toleration("gpu")]}
    return [
        helm_release(
            f"{prefix}-{chart.name}",
            chart,
            values,
            namespace.metadata.name,
            pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=list(depends_on)),
        )
        for chart, values in (
            (NVIDIA_DEVICE_PLUGIN, on_gpu_nodes),
            # No Prometheus operator is installed here, so no ServiceMonitor: scrape the Service.
            (DCGM_EXPORTER, {**on_gpu_nodes, "serviceMonitor": {"enabled": False}}),
        )
    ]

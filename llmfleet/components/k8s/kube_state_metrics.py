"""kube-state-metrics for what no managed package of the cluster's cloud exports.

EKS has no managed kube-state-metrics: the chart runs with the pod and deployment collectors
the fleet's alerts read (unschedulable serving pods, replica counts), scraped by AMP's managed
collector. GKE's managed kube-state-metrics (cluster monitoring components ``POD``,
``DEPLOYMENT``) covers those but has no node package, so on GKE the chart runs with the node
collector alone, exporting ``kube_node_labels`` with the labels that tell a node's capacity type
and pool; a PodMonitoring hands it to Google's managed collection. Each family is thus
collected once per cluster. Two replicas (each exports every series: queries count distinct
objects) on the system pool, one of them always up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as kubernetes

from llmfleet.components.k8s import scheduling
from llmfleet.components.k8s.helm import HelmChart, helm_release
from llmfleet.components.k8s.namespace import restricted_namespace

KUBE_STATE_METRICS = HelmChart(
    "kube-state-metrics", "https://prometheus-community.github.io/helm-charts", "8.4.0"
)
"""kube-state-metrics v2.20.0."""
NAMESPACE = "kube-state-metrics"
"""Its namespace (on EKS not ``monitoring``, the namespace of the in-cluster Prometheus it
replaced: Pulumi creates the new namespace before it deletes the old one)."""
PORT = "http"
"""The chart's container and Service port serving the metrics."""
SELECTOR = {"app.kubernetes.io/name": "kube-state-metrics"}
"""The chart's pod labels."""


def exported_label(node_label: str) -> str:
    """``label_cloud_google_com_gke_spot``: how ``kube_node_labels`` names an allowed node label
    (every character Prometheus forbids in a label name becomes ``_``)."""
    return "label_" + re.sub(r"[^a-zA-Z0-9_]", "_", node_label)


def install_kube_state_metrics(
    name: str,
    collectors: Sequence[str],
    opts: pulumi.ResourceOptions,
    node_labels: Sequence[str] = (),
) -> kubernetes.helm.v3.Release:
    """The chart in its restricted namespace, exporting ``collectors`` only, with the node
    labels ``node_labels`` as ``label_<sanitised name>`` on ``kube_node_labels``."""
    namespace = restricted_namespace(f"{name}-namespace", NAMESPACE, opts)
    values = {
        "nodeSelector": scheduling.pool_node_selector(scheduling.SYSTEM_POOL),
        "replicas": 2,
        "podDisruptionBudget": {"minAvailable": 1},
        "collectors": list(collectors),
    }
    if node_labels:
        values["metricLabelsAllowlist"] = [f"nodes=[{','.join(node_labels)}]"]
    return helm_release(
        f"{name}-kube-state-metrics", KUBE_STATE_METRICS, values, namespace.metadata.name, opts
    )

"""Google Managed Service for Prometheus as the autoscaling signal source of a GKE cluster, and
the node state GKE's managed packages leave out.

GKE's managed collection (enabled on every llmfleet cluster) stores what PodMonitorings select;
KEDA queries it through the Prometheus-compatible API. GKE's managed kube-state-metrics has no
node package: kube-state-metrics runs with the node collector alone
(llmfleet/components/k8s/kube_state_metrics.py), exporting each node's spot label and pool for
the fleet's "nodes by capacity type" chart, selected by a PodMonitoring.

KEDA's operator's Kubernetes service account acts, through Workload Identity, as a per-region
Google service account that may read monitoring data and nothing else: a per-region account
keeps each region's grant its own (the Kubernetes account is the same principal in every
cluster of the project).
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as kubernetes

from llmfleet.components.gcp.cluster import ACCOUNT_ID_MAX, GcpCluster
from llmfleet.components.gcp.component import GcpComponent
from llmfleet.components.gcp.project import IAM, IAM_CREDENTIALS, MONITORING, RESOURCE_MANAGER
from llmfleet.components.k8s import kube_state_metrics, scheduling
from llmfleet.components.k8s.autoscaling import (
    KEDA_NAMESPACE,
    KEDA_OPERATOR,
    POLLING_SECONDS,
    MetricsSource,
)
from llmfleet.components.naming import fit_name
from llmfleet.components.spec import FleetSpec, RegionSpec

NODE_LABELS = (scheduling.GKE_SPOT, scheduling.POOL_LABEL)
"""Node labels kube-state-metrics exports on GKE: spot or not (GKE's own label, on spot VMs
only) and the llmfleet pool (``system`` or an accelerator pool)."""

VIEWER_ROLE = "roles/monitoring.viewer"
WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"


def query_endpoint(project: str) -> str:
    """The Prometheus query API of the project's managed metrics."""
    return f"https://monitoring.googleapis.com/v1/projects/{project}/location/global/prometheus"


class GcpManagedMetrics(GcpComponent):
    """KEDA's identity reading the project's managed metrics from one region's cluster."""

    APIS = (MONITORING, IAM, IAM_CREDENTIALS, RESOURCE_MANAGER)

    source: MetricsSource
    """The endpoint and how KEDA authenticates to it."""
    identity: list[pulumi.Resource]
    """The grants KEDA needs before it queries."""
    node_state: kubernetes.apiextensions.CustomResource
    """The PodMonitoring of kube-state-metrics' node collector."""

    def __init__(
        self,
        name: str,
        fleet: FleetSpec,
        region: RegionSpec,
        cluster: GcpCluster,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmfleet:gcp:ManagedMetrics", name, fleet.gcp_project, opts)
        self._name = name
        project = self._project
        child = self._child()
        account = gcp.serviceaccount.Account(
            f"{name}-keda",
            project=project,
            account_id=fit_name(f"{fleet.name}-{region.region}-keda", ACCOUNT_ID_MAX),
            display_name=f"KEDA of {fleet.name} in {region.region}: reads managed metrics",
            opts=child,
        )
        viewer = gcp.projects.IAMMember(
            f"{name}-keda-metrics-viewer",
            project=project,
            role=VIEWER_ROLE,
            member=account.member,
            opts=child,
        )
        # The grant sits on this one account, so KEDA's Kubernetes account can act as nothing
        # else.
        binding = gcp.serviceaccount.IAMMember(
            f"{name}-keda-workload-identity",
            service_account_id=account.name,
            role=WORKLOAD_IDENTITY_USER,
            member=cluster.workload_pool.apply(
                lambda pool: f"serviceAccount:{pool}[{KEDA_NAMESPACE}/{KEDA_OPERATOR}]"
            ),
            opts=child,
        )
        self.identity = [viewer, binding]
        self.node_state = self._node_state(cluster)
        self.source = MetricsSource(
            server_address=query_endpoint(project),
            pod_identity="gcp",
            pod_monitoring=True,
            operator_annotations={"iam.gke.io/gcp-service-account": account.email},
        )
        self.register_outputs({"keda_account": account.email})

    def _node_state(self, cluster: GcpCluster) -> kubernetes.apiextensions.CustomResource:
        """kube-state-metrics' node collector and the PodMonitoring handing it to GKE's managed
        collection."""
        k8s = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        release = kube_state_metrics.install_kube_state_metrics(
            self._name, ["nodes"], k8s, node_labels=NODE_LABELS
        )
        return kubernetes.apiextensions.CustomResource(
            f"{self._name}-kube-state-metrics-monitoring",
            api_version="monitoring.googleapis.com/v1",
            kind="PodMonitoring",
            metadata={"name": "kube-state-metrics", "namespace": kube_state_metrics.NAMESPACE},
            spec={
                "selector": {"matchLabels": dict(kube_state_metrics.SELECTOR)},
                "endpoints": [{"port": kube_state_metrics.PORT, "interval": f"{POLLING_SECONDS}s"}],
            },
            opts=pulumi.ResourceOptions.merge(k8s, pulumi.ResourceOptions(depends_on=[release])),
        )

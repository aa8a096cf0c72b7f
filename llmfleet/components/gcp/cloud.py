"""GCP as one of the fleet's clouds: one global VPC, a subnet and a GKE cluster per region, GCS
model storage."""

from __future__ import annotations

import pulumi

from llmfleet.components.contracts import (
    ApiKey,
    DashboardSource,
    DnsZone,
    Edge,
    ManagedMetrics,
    Monitoring,
    RegionParts,
    ServingCluster,
    ServingNetwork,
)
from llmfleet.components.gcp.api_key import GcpApiKey
from llmfleet.components.gcp.cluster import GcpCluster, GcpClusterArgs
from llmfleet.components.gcp.dns import CloudDnsZone
from llmfleet.components.gcp.gateway import GcpEdge
from llmfleet.components.gcp.grafana_reader import GcpGrafanaReader
from llmfleet.components.gcp.metrics import GcpManagedMetrics
from llmfleet.components.gcp.monitoring import GcpMonitoring
from llmfleet.components.gcp.network import (
    HEALTH_CHECK_RANGES,
    GcpRegionNetwork,
    GcpRegionNetworkArgs,
    GcpVpc,
    GcpVpcArgs,
)
from llmfleet.components.gcp.storage import GcpModelStorage, GcpModelStorageArgs
from llmfleet.components.observability import Endpoint
from llmfleet.components.spec import FleetSpec, RegionSpec

METRICS_NAMESPACE = "gmp-system"
"""Namespace of Google Managed Service for Prometheus's collectors on GKE."""


class GcpCloud:
    """``llmfleet.components.contracts.Cloud`` on GCP: regions share the fleet's global VPC."""

    def fleet_network(
        self, name: str, fleet: FleetSpec, opts: pulumi.ResourceOptions
    ) -> pulumi.ComponentResource | None:
        return GcpVpc(name, GcpVpcArgs(fleet), opts)

    def region(
        self,
        name: str,
        fleet: FleetSpec,
        region: RegionSpec,
        fleet_network: pulumi.ComponentResource | None,
        opts: pulumi.ResourceOptions,
    ) -> RegionParts:
        if not isinstance(fleet_network, GcpVpc):
            raise ValueError(f"{region.key}: a GCP region needs the fleet's GCP VPC")
        network_id = fleet_network.network_id
        network = GcpRegionNetwork(
            f"{name}-network", GcpRegionNetworkArgs(fleet, region, network_id), opts
        )
        cluster = GcpCluster(
            f"{name}-cluster",
            GcpClusterArgs(
                fleet=fleet,
                region=region,
                network_id=network_id,
                subnetwork_id=network.subnetwork_id,
                pods_range_name=network.pods_range_name,
                services_range_name=network.services_range_name,
            ),
            opts,
        )
        return RegionParts(network=network, cluster=cluster)

    def model_store(
        self,
        name: str,
        fleet: FleetSpec,
        regions: list[RegionSpec],
        filled_from_another_cloud: bool,
        opts: pulumi.ResourceOptions,
    ) -> GcpModelStorage:
        return GcpModelStorage(
            name,
            GcpModelStorageArgs(
                fleet, regions=regions, filled_from_another_cloud=filled_from_another_cloud
            ),
            opts,
        )

    def api_key(
        self,
        name: str,
        fleet: FleetSpec,
        region: RegionSpec,
        cluster: ServingCluster,
        opts: pulumi.ResourceOptions,
    ) -> ApiKey:
        if not isinstance(cluster, GcpCluster):
            raise TypeError(f"{region.key}: a GCP API key needs a GKE cluster")
        key = GcpApiKey(name, fleet, region, cluster, opts)
        return ApiKey(
            remote_name=key.secret.secret_id,
            store=key.store,
            grant=key.grant,
            secret_id=key.secret.id,
            key_id=None,
        )

    def serving_network(self, region: RegionSpec) -> ServingNetwork:
        # The gateway is Google's front ends and health checkers, sending straight to pod IPs;
        # Workload Identity gives the streamer everything it needs.
        return ServingNetwork(
            gateway_sources=list(HEALTH_CHECK_RANGES),
            metrics_peers=[
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": METRICS_NAMESPACE}
                    }
                }
            ],
            weights_env={},
        )

    def managed_metrics(
        self,
        name: str,
        fleet: FleetSpec,
        region: RegionSpec,
        cluster: ServingCluster,
        opts: pulumi.ResourceOptions,
    ) -> ManagedMetrics:
        # GKE's managed collection is on in every llmfleet cluster: KEDA reads it.
        if not isinstance(cluster, GcpCluster):
            raise TypeError(f"{region.key}: managed metrics need a GKE cluster")
        metrics = GcpManagedMetrics(name, fleet, region, cluster, opts)
        return ManagedMetrics(source=metrics.source, identity=metrics.identity, collector=metrics)

    def monitoring(
        self,
        name: str,
        fleet: FleetSpec,
        metrics: dict[str, ManagedMetrics],
        endpoints: list[Endpoint],
        api_keys: dict[str, ApiKey],
        opts: pulumi.ResourceOptions,
    ) -> Monitoring:
        # Cloud Monitoring's uptime checks read the key themselves (GcpMonitoring._api_key).
        # One project holds every GKE region's metrics: one set of policies and one channel.
        regions = [r for r in fleet.regions_of("gcp") if r.region in metrics]
        monitoring = GcpMonitoring(name, fleet, regions, endpoints, opts)
        notify = fleet.observability.notify
        channel = f"{notify.kind} {notify.target}" if notify else "none (Cloud Monitoring only)"
        return Monitoring(alerts=monitoring.alerts, channel=channel)

    def dashboard_sources(
        self,
        name: str,
        fleet: FleetSpec,
        metrics: dict[str, ManagedMetrics],
        opts: pulumi.ResourceOptions,
    ) -> list[DashboardSource]:
        # One project holds every GKE region's metrics: one data source reads them all.
        regions = [r for r in fleet.regions_of("gcp") if r.region in metrics]
        return [GcpGrafanaReader(name, fleet, regions, opts).source]

    def dashboards(
        self,
        name: str,
        fleet: FleetSpec,
        sources: list[DashboardSource],
        endpoint: pulumi.ComponentResource | None,
        opts: pulumi.ResourceOptions,
    ) -> None:
        # GCP hosts no Grafana: its Cloud Monitoring dashboards are part of monitoring.
        return None

    def alarm_dns_health(
        self,
        name: str,
        fleet: FleetSpec,
        endpoint: pulumi.ComponentResource,
        opts: pulumi.ResourceOptions,
    ) -> None:
        # Cloud DNS health checks publish no metric to alert on; the fleet's Cloud Monitoring
        # uptime checks (monitoring) page instead.
        return None

    def dns_zone(self, name: str, fleet: FleetSpec, opts: pulumi.ResourceOptions) -> DnsZone:
        return CloudDnsZone(name, fleet, opts)

    def edge(
        self, name: str, fleet: FleetSpec, zone: DnsZone, opts: pulumi.ResourceOptions
    ) -> Edge:
        return GcpEdge(name, fleet, zone, opts)

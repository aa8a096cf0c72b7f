"""AWS as one of the fleet's clouds: a VPC and an EKS cluster per region, S3 model storage."""

from __future__ import annotations

import pulumi

from llmfleet.components.aws.api_key import AwsApiKey
from llmfleet.components.aws.canary import AwsUptimeCanary, Target, targets
from llmfleet.components.aws.cluster import AwsCluster, AwsClusterArgs
from llmfleet.components.aws.dns import Route53Endpoint, Route53Zone
from llmfleet.components.aws.gateway import AwsEdge
from llmfleet.components.aws.grafana import AmazonManagedGrafana
from llmfleet.components.aws.monitoring import AwsAlerting, AwsDnsHealthAlarms, AwsManagedMetrics
from llmfleet.components.aws.network import (
    AwsNetwork,
    AwsNetworkArgs,
    cluster_name,
    subnet_layout,
)
from llmfleet.components.aws.storage import AwsModelStorage, AwsModelStorageArgs
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
from llmfleet.components.grafana_dashboards import AMAZON_PROMETHEUS, DataSource, uid
from llmfleet.components.observability import Endpoint
from llmfleet.components.spec import FleetSpec, RegionSpec


class AwsCloud:
    """``llmfleet.components.contracts.Cloud`` on AWS: every region owns its whole network."""

    def fleet_network(
        self, name: str, fleet: FleetSpec, opts: pulumi.ResourceOptions
    ) -> pulumi.ComponentResource | None:
        return None

    def region(
        self,
        name: str,
        fleet: FleetSpec,
        region: RegionSpec,
        fleet_network: pulumi.ComponentResource | None,
        opts: pulumi.ResourceOptions,
    ) -> RegionParts:
        network = AwsNetwork(f"{name}-network", AwsNetworkArgs(fleet, region), opts)
        cluster = AwsCluster(
            f"{name}-cluster",
            AwsClusterArgs(
                fleet=fleet,
                region=region,
                vpc_id=network.vpc_id,
                private_subnet_ids=network.private_subnet_ids,
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
    ) -> AwsModelStorage:
        if filled_from_another_cloud:
            # The spec keeps the primary on AWS whenever the fleet has AWS regions.
            raise ValueError(f"fleet '{fleet.name}': AWS model storage is never filled from GCS")
        primary, *replicas = regions
        return AwsModelStorage(
            name, AwsModelStorageArgs(fleet, primary=primary, replicas=replicas), opts
        )

    def api_key(
        self,
        name: str,
        fleet: FleetSpec,
        region: RegionSpec,
        cluster: ServingCluster,
        opts: pulumi.ResourceOptions,
    ) -> ApiKey:
        if not isinstance(cluster, AwsCluster):
            raise TypeError(f"{region.key}: an AWS API key needs an EKS cluster")
        key = AwsApiKey(name, fleet, region, cluster, opts)
        return ApiKey(
            remote_name=key.secret.name,
            store=key.store,
            grant=key.grant,
            secret_id=key.secret.arn,
            key_id=cluster.kms_key.arn,
        )

    def serving_network(self, region: RegionSpec) -> ServingNetwork:
        # The regional gateway is an ALB in the public subnets, sending straight to pod IPs;
        # the AMP collector scrapes from network interfaces in the private subnets. Pod
        # Identity gives the streamer credentials, not a region.
        layout = subnet_layout(region.cidr, region.zones)
        return ServingNetwork(
            gateway_sources=[str(c) for c in layout.public],
            metrics_peers=[{"ipBlock": {"cidr": str(c)}} for c in layout.private],
            weights_env={"AWS_REGION": region.region},
        )

    def managed_metrics(
        self,
        name: str,
        fleet: FleetSpec,
        region: RegionSpec,
        cluster: ServingCluster,
        opts: pulumi.ResourceOptions,
    ) -> ManagedMetrics:
        # Amazon Managed Service for Prometheus: a workspace and managed collector per region.
        if not isinstance(cluster, AwsCluster):
            raise TypeError(f"{region.key}: managed metrics need an EKS cluster")
        metrics = AwsManagedMetrics(name, fleet, region, cluster, opts)
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
        # Route 53's health checks of ``endpoints`` (alarm_dns_health) cannot send the API key:
        # each region's canary requests the API with it.
        # Each region's rules live in its own workspace, next to the data they read.
        found = []
        for managed in metrics.values():
            collector = _amp(name, managed)
            region = collector.region
            alerting = AwsAlerting(
                f"{name}-{region.key}",
                fleet,
                collector,
                cluster_name(fleet, region),
                pulumi.ResourceOptions(parent=collector),
            )
            found += alerting.alerts
            probes = targets(endpoints, region)
            if probes:
                _canary(f"{name}-{region.key}-canary", fleet, region, probes, api_keys, opts)
        return Monitoring(alerts=found, channel=channel_description(fleet))

    def dashboard_sources(
        self,
        name: str,
        fleet: FleetSpec,
        metrics: dict[str, ManagedMetrics],
        opts: pulumi.ResourceOptions,
    ) -> list[DashboardSource]:
        # Each region's AMP workspace, queried with SigV4 as the Grafana workspace's role.
        return [amp_source(fleet, _amp(name, managed)) for managed in metrics.values()]

    def dashboards(
        self,
        name: str,
        fleet: FleetSpec,
        sources: list[DashboardSource],
        endpoint: pulumi.ComponentResource | None,
        opts: pulumi.ResourceOptions,
    ) -> pulumi.ComponentResource:
        # One workspace per fleet, in its first AWS serving region (the spec orders regions).
        served = {r.region for s in fleet.serving for r in fleet.serving_regions(s)}
        home = next(r for r in fleet.regions_of("aws") if r.region in served)
        # Route 53 publishes its checks to CloudWatch, which the workspace's role may read; a
        # Cloud DNS endpoint's checks are on Cloud Monitoring's own dashboards.
        checks = endpoint.health_checks if isinstance(endpoint, Route53Endpoint) else {}
        return AmazonManagedGrafana(
            name, fleet, home, sources, {r: c.id for r, c in checks.items()}, opts
        )

    def dns_zone(self, name: str, fleet: FleetSpec, opts: pulumi.ResourceOptions) -> DnsZone:
        return Route53Zone(name, fleet, opts)

    def alarm_dns_health(
        self,
        name: str,
        fleet: FleetSpec,
        endpoint: pulumi.ComponentResource,
        opts: pulumi.ResourceOptions,
    ) -> None:
        # Route 53's per-region checks publish HealthCheckStatus: alarm on each.
        if not isinstance(endpoint, Route53Endpoint):
            raise TypeError(f"{name}: Route 53 alarms need the fleet's Route 53 endpoint")
        AwsDnsHealthAlarms(name, fleet, endpoint.health_checks, opts)

    def edge(
        self, name: str, fleet: FleetSpec, zone: DnsZone, opts: pulumi.ResourceOptions
    ) -> Edge:
        return AwsEdge(name, fleet, zone, opts)


def _canary(
    name: str,
    fleet: FleetSpec,
    region: RegionSpec,
    probes: list[Target],
    api_keys: dict[str, ApiKey],
    opts: pulumi.ResourceOptions,
) -> AwsUptimeCanary:
    """The region's authenticated uptime check, reading the region's own API-key secret."""
    key = api_keys[region.region]
    if key.key_id is None:
        raise TypeError(f"{region.key}: an AWS API key is encrypted with a customer key")
    return AwsUptimeCanary(name, fleet, region, probes, key.secret_id, key.key_id, opts)


def _amp(name: str, managed: ManagedMetrics) -> AwsManagedMetrics:
    """The region's AMP workspace: AWS alerts and dashboards read nothing else."""
    if not isinstance(managed.collector, AwsManagedMetrics):
        raise TypeError(f"{name}: AWS alerts and dashboards need an AMP workspace")
    return managed.collector


def amp_source(fleet: FleetSpec, metrics: AwsManagedMetrics) -> DashboardSource:
    """A region's AMP workspace as a Grafana data source: SigV4-signed queries as the Grafana
    workspace's IAM role (``ec2_iam_role``, "Workspace IAM Role" in AMG), POST for long
    queries."""
    region = metrics.region
    return DashboardSource(
        source=DataSource(
            name=f"{fleet.name} aws {region.region}",
            type=AMAZON_PROMETHEUS,
            uid=uid(fleet.name, "amp", region.region),
            cloud="aws",
            clusters={region.region: cluster_name(fleet, region)},
        ),
        url=metrics.workspace.prometheus_endpoint,
        json_data={
            "httpMethod": "POST",
            "sigV4Auth": True,
            "sigV4AuthType": "ec2_iam_role",
            "sigV4Region": region.region,
        },
        query_arn=metrics.workspace.arn,
    )


def channel_description(fleet: FleetSpec) -> str:
    """Where AWS alerts go, in words."""
    notify = fleet.observability.notify
    if notify is None:
        return "none (alerts only in each AMP workspace)"
    if notify.kind == "sns_topic_arn":
        return f"SNS {notify.target}"
    return f"{notify.kind} {notify.target} via SNS {fleet.name}-alerts"

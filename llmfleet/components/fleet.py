"""Fleet: one RegionStack per region, each cloud's model storage, and who may read it.

Regions are independent failure domains: nothing in one region's stack depends on another
region's resources, so ``pulumi up`` creates them in parallel and a broken region cannot block
the others. The only cross-region edges are global by nature (the GCP VPC and its firewall, the
global endpoint, the fleet's Grafana reading every region's metrics) or storage replication,
which moves each model version once from the primary to every replica.
Serving pods read weights only from their own region's copy, through a read-only identity per
serving namespace and cluster (``Fleet.model_access``).

The fleet never asks which cloud a region is on: ``CLOUDS`` maps each cloud to its builder
(``llmfleet.components.contracts.Cloud``), clusters are ``ServingCluster``s and storage
``ModelStore``s.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from llmfleet.components import grafana_dashboards, observability
from llmfleet.components.aws.cloud import AwsCloud
from llmfleet.components.component import Component
from llmfleet.components.contracts import (
    ApiKey,
    Cloud,
    ManagedMetrics,
    ModelAccess,
    ModelStore,
    Monitoring,
    ServingCluster,
    ServingNetwork,
)
from llmfleet.components.gcp.cloud import GcpCloud
from llmfleet.components.k8s.autoscaling import ClusterAutoscaling, ClusterAutoscalingArgs
from llmfleet.components.k8s.gateway import RegionalGateway, RegionalGatewayArgs
from llmfleet.components.k8s.leaderworkerset import (
    LeaderWorkerSetController,
    LeaderWorkerSetControllerArgs,
)
from llmfleet.components.k8s.secrets import SecretSync, SecretSyncArgs
from llmfleet.components.k8s.serving import MODEL_READER, ModelServer, ModelServerArgs
from llmfleet.components.spec import FleetSpec, ModelSpec, RegionSpec, ServingSpec
from llmfleet.components.transfer import S3ToGcs, copy_between_clouds

CLOUDS: dict[str, Cloud] = {"aws": AwsCloud(), "gcp": GcpCloud()}
"""Each cloud's builder, by the ``cloud`` a region names."""

DNS_CLOUDS = {"route53": "aws", "cloud-dns": "gcp"}
"""The cloud running each DNS service ``routing.dns`` names."""


@dataclass
class RegionStackArgs:
    fleet: FleetSpec
    """The fleet the region belongs to."""
    region: RegionSpec
    """The region: its cloud, network and cluster spec."""
    fleet_network: pulumi.ComponentResource | None = None
    """The network the region's cloud shares across regions (GCP's VPC); none on AWS."""


class RegionStack(Component):
    """Everything one region serves from: its network and its GPU cluster."""

    network: pulumi.ComponentResource
    cluster: ServingCluster
    provider: pulumi.ProviderResource
    kubeconfig: pulumi.Output[str]
    endpoint: pulumi.Output[str]

    def __init__(
        self, name: str, args: RegionStackArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("llmfleet:fleet:RegionStack", name, None, opts)
        cloud = CLOUDS[args.region.cloud]
        parts = cloud.region(name, args.fleet, args.region, args.fleet_network, self._child())
        self.network = parts.network
        self.cluster = parts.cluster
        self.provider = self.cluster.provider
        self.kubeconfig = self.cluster.kubeconfig
        self.endpoint = self.cluster.endpoint
        self.register_outputs({"endpoint": self.endpoint, "kubeconfig": self.kubeconfig})


class Fleet(Component):
    """A serving fleet over AWS and GCP regions, built from a validated FleetSpec."""

    regions: dict[str, RegionStack]
    """Region stacks by region name."""
    fleet_networks: dict[str, pulumi.ComponentResource]
    """Networks shared by a cloud's regions (GCP's VPC), by cloud."""
    stores: dict[str, ModelStore]
    """Model storage by cloud; the primary cloud's first."""
    transfers: list[S3ToGcs]
    """Cross-cloud copies filling each other cloud's primary bucket from the primary cloud's."""
    model_access: dict[tuple[str, str], ModelAccess]
    """By (serving deployment name, region): the URI its pods load weights from, the namespace
    and service account they run as, and the grant to pass in the deployment's ``depends_on``."""
    model_uris: dict[str, dict[str, pulumi.Output[str]]]
    """Per serving deployment and region, the URI its pods load weights from."""
    secret_syncs: dict[str, tuple[ApiKey, SecretSync]]
    """Per serving region: its API-key secret and the controller syncing it into the cluster."""
    autoscaling: dict[str, ClusterAutoscaling]
    """Per serving region: KEDA and the metrics it reads, and the KEDA HTTP add-on where an
    entry scales to zero."""
    managed_metrics: dict[str, ManagedMetrics]
    """Per serving region: the cloud's managed Prometheus collecting its metrics."""
    monitoring: dict[str, Monitoring]
    """Per cloud with serving regions: its alerts and where they notify."""
    grafana: pulumi.ComponentResource | None
    """The fleet's Grafana (with an AWS serving region): every serving region's dashboards in
    one place; None where Cloud Monitoring's dashboards are the place to look."""
    leader_worker_sets: dict[str, LeaderWorkerSetController]
    """Per region serving an entry across nodes: the LeaderWorkerSet controller."""
    model_servers: dict[str, dict[str, ModelServer]]
    """Per serving deployment and region, its model server."""
    gateways: dict[str, RegionalGateway]
    """Per routed region: its Gateway and an HTTPRoute per model (with ``routing.domain``)."""
    global_endpoint: pulumi.ComponentResource | None
    """The regional names, their health checks and the global name; None without a domain."""

    def __init__(self, name: str, spec: FleetSpec, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llmfleet:fleet:Fleet", name, None, opts)
        self._name = name
        self._spec = spec
        self.fleet_networks = {}
        for cloud in dict.fromkeys(r.cloud for r in spec.regions):
            shared = CLOUDS[cloud].fleet_network(f"{name}-{cloud}-vpc", spec, self._child())
            if shared is not None:
                self.fleet_networks[cloud] = shared
        self.regions = {
            region.region: RegionStack(
                f"{name}-{region.key}",
                RegionStackArgs(spec, region, self.fleet_networks.get(region.cloud)),
                self._child(),
            )
            for region in spec.regions
        }
        self.stores = self._build_storage()
        primary, *others = self.stores.values()
        self.transfers = [copy_between_clouds(spec, primary, other) for other in others]
        self.model_access = {
            (serving.name, region.region): self._grant_model_access(serving, region)
            for serving in spec.serving
            for region in spec.serving_regions(serving)
        }
        self.model_uris = {}
        for (serving, region), access in self.model_access.items():
            self.model_uris.setdefault(serving, {})[region] = access.uri
        served = {r.region for s in spec.serving for r in spec.serving_regions(s)}
        self.secret_syncs = {
            region.region: self._sync_api_key(region)
            for region in spec.regions
            if region.region in served
        }
        self.managed_metrics = {}
        self.autoscaling = {
            region.region: self._autoscaling(region)
            for region in spec.regions
            if region.region in served
        }
        multi_node = {
            r.region
            for s in spec.serving
            if s.nodes_per_replica > 1
            for r in spec.serving_regions(s)
        }
        self.leader_worker_sets = {
            region.region: LeaderWorkerSetController(
                f"{name}-{region.key}-lws",
                LeaderWorkerSetControllerArgs(provider=self.regions[region.region].provider),
                pulumi.ResourceOptions(parent=self.regions[region.region]),
            )
            for region in spec.regions
            if region.region in multi_node
        }
        self.model_servers = {serving.name: self._serve(serving) for serving in spec.serving}
        serving_clouds = list(dict.fromkeys(r.cloud for r in spec.regions if r.region in served))
        # One cloud probes every endpoint of the fleet, whichever cloud serves it.
        checks = {observability.uptime_checker(serving_clouds): observability.endpoints(spec)}
        self.monitoring = {
            cloud: CLOUDS[cloud].monitoring(
                f"{name}-{cloud}-monitoring",
                spec,
                {
                    r.region: self.managed_metrics[r.region]
                    for r in spec.regions_of(cloud)
                    if r.region in served
                },
                checks.get(cloud, []),
                {
                    r.region: self.secret_syncs[r.region][0]
                    for r in spec.regions_of(cloud)
                    if r.region in served
                },
                self._child(),
            )
            for cloud in serving_clouds
        }
        self.gateways = {}
        self.global_endpoint = self._route() if spec.routed_regions() else None
        self.grafana = self._grafana(serving_clouds, served)
        dns_cloud = DNS_CLOUDS[spec.dns]
        if self.global_endpoint is not None and checks.get(dns_cloud):
            # The DNS cloud runs the uptime checks: page on the routing's own health checks.
            CLOUDS[dns_cloud].alarm_dns_health(
                f"{name}-dns-health", spec, self.global_endpoint, self._child()
            )
        self.register_outputs(
            {
                "endpoints": {key: stack.endpoint for key, stack in self.regions.items()},
                "model_uris": self.model_uris,
                "domain": spec.routing.domain,
            }
        )

    def _grafana(self, clouds: list[str], served: set[str]) -> pulumi.ComponentResource | None:
        """The fleet's Grafana on the cloud hosting it, reading every serving cloud's managed
        Prometheus; None when no serving cloud hosts one."""
        host = grafana_dashboards.grafana_host(clouds)
        if host is None:
            return None
        spec = self._spec
        sources = [
            source
            for cloud in clouds
            for source in CLOUDS[cloud].dashboard_sources(
                f"{self._name}-{cloud}-grafana-reader",
                spec,
                {
                    r.region: self.managed_metrics[r.region]
                    for r in spec.regions_of(cloud)
                    if r.region in served
                },
                self._child(),
            )
        ]
        return CLOUDS[host].dashboards(
            f"{self._name}-grafana", spec, sources, self.global_endpoint, self._child()
        )

    def _build_storage(self) -> dict[str, ModelStore]:
        """Per cloud, its storage regions' buckets: the primary cloud's first, then every other
        cloud's, filled from the primary's."""
        stored = self._spec.storage_regions()
        primary_cloud = stored[0].cloud
        by_cloud: dict[str, list[RegionSpec]] = {}
        for region in stored:
            by_cloud.setdefault(region.cloud, []).append(region)
        return {
            cloud: CLOUDS[cloud].model_store(
                f"{self._name}-{cloud}-models",
                self._spec,
                regions,
                cloud != primary_cloud,
                self._child(),
            )
            for cloud, regions in by_cloud.items()
        }

    def _grant_model_access(self, serving: ServingSpec, region: RegionSpec) -> ModelAccess:
        """A read-only identity for the deployment's namespace in the region's cluster, scoped
        to that region's copy of its model."""
        store = self.stores.get(region.cloud)
        if store is None:
            raise ValueError(
                f"serving '{serving.name}' runs in {region.region}, but no {region.cloud} region "
                "stores models (storage.replicas)"
            )
        cluster = self.regions[region.region].cluster
        grant = cluster.grant_model_read(
            f"{serving.name}-models", serving.name, MODEL_READER, store
        )
        uris = {
            version: store.model_uri(region.region, self._model(serving, version))
            for version in serving.versions()
        }
        return ModelAccess(
            uri=uris[serving.version],
            uris=uris,
            namespace=serving.name,
            service_account=MODEL_READER,
            grant=grant,
        )

    def _sync_api_key(self, region: RegionSpec) -> tuple[ApiKey, SecretSync]:
        """The region's API-key secret in its cloud's store and the controller syncing it into
        the cluster."""
        stack = self.regions[region.region]
        child = pulumi.ResourceOptions(parent=stack)
        key = CLOUDS[region.cloud].api_key(
            f"{self._name}-{region.key}-api-key", self._spec, region, stack.cluster, child
        )
        sync = SecretSync(
            f"{self._name}-{region.key}-secret-sync",
            SecretSyncArgs(provider=stack.provider, store=key.store, identity=[key.grant]),
            child,
        )
        return key, sync

    def _autoscaling(self, region: RegionSpec) -> ClusterAutoscaling:
        """KEDA on the region's cluster, reading the cloud's managed Prometheus, which collects
        the region's metrics once for autoscaling and alerts alike."""
        stack = self.regions[region.region]
        name = f"{self._name}-{region.key}-autoscaling"
        child = pulumi.ResourceOptions(parent=stack)
        managed = CLOUDS[region.cloud].managed_metrics(
            f"{name}-metrics", self._spec, region, stack.cluster, child
        )
        self.managed_metrics[region.region] = managed
        return ClusterAutoscaling(
            name,
            ClusterAutoscalingArgs(
                provider=stack.provider,
                managed_metrics=managed.source,
                identity=managed.identity,
                wake_up=any(
                    s.min_replicas == 0
                    and any(r.region == region.region for r in self._spec.serving_regions(s))
                    for s in self._spec.serving
                ),
            ),
            child,
        )

    def _serve(self, serving: ServingSpec) -> dict[str, ModelServer]:
        """The model server of ``serving`` on each of its clusters, under the region's stack."""
        servers = {}
        for region in self._spec.serving_regions(serving):
            stack = self.regions[region.region]
            pool = self._spec.serving_pool(serving, region)
            access = self.model_access[(serving.name, region.region)]
            key, sync = self.secret_syncs[region.region]
            network = CLOUDS[region.cloud].serving_network(region)
            # LeaderWorkerSets wait for their controller (its CRD and admission webhook).
            lws = (
                [self.leader_worker_sets[region.region].release]
                if serving.nodes_per_replica > 1
                else []
            )
            servers[region.region] = ModelServer(
                f"{self._name}-{region.key}-{serving.name}",
                ModelServerArgs(
                    serving=serving,
                    pool=pool,
                    instance=region.instance_type_for(pool),
                    models={v: self._model(serving, v) for v in serving.versions()},
                    weights=access.uris,
                    provider=stack.provider,
                    api_key=key.remote_name,
                    admit_from=_admitted_peers(network),
                    weights_env=network.weights_env,
                    reader_grants=[access.grant],
                    after=[sync.store, *lws],
                    metrics=self.autoscaling[region.region].metrics,
                    autoscaler_ready=self.autoscaling[region.region].ready,
                    wake_up=self.autoscaling[region.region].wake_up,
                ),
                pulumi.ResourceOptions(parent=stack),
            )
        return servers

    def _route(self) -> pulumi.ComponentResource:
        """Each routed region's entry (its cloud's Gateway implementation, address and
        certificate) and Gateway, then the regional and global names in the fleet's zone."""
        spec = self._spec
        zone = CLOUDS[DNS_CLOUDS[spec.dns]].dns_zone(f"{self._name}-dns", spec, self._child())
        routed = spec.routed_regions()
        edges = {
            cloud: CLOUDS[cloud].edge(f"{self._name}-{cloud}-edge", spec, zone, self._child())
            for cloud in dict.fromkeys(r.cloud for r in routed)
        }
        targets = []
        for region in routed:
            stack = self.regions[region.region]
            child = pulumi.ResourceOptions(parent=stack)
            entry = edges[region.cloud].entry(
                f"{self._name}-{region.key}-entry", region, stack.cluster, child
            )
            servers = {
                s.name: self.model_servers[s.name][region.region] for s in spec.served_in(region)
            }
            gateway = RegionalGateway(
                f"{self._name}-{region.key}-gateway",
                RegionalGatewayArgs(
                    hostnames=spec.routing.hostnames(region.region),
                    gateway_class=entry.gateway_class,
                    servers=servers,
                    provider=stack.provider,
                    class_controller=entry.class_controller,
                    addresses=entry.addresses,
                    annotations=entry.annotations,
                    infrastructure=entry.infrastructure,
                    objects=entry.objects,
                    backend_policies=entry.backend_policies,
                    after=entry.ready,
                ),
                child,
            )
            self.gateways[region.region] = gateway
            targets.append(entry.dns_target(gateway.gateway))
        return zone.endpoint(f"{self._name}-endpoint", spec, targets, self._child())

    def storage_outputs(self) -> dict[str, pulumi.Output[str] | None]:
        """Where models are published, and by whom: the primary bucket and writer identity."""
        return self.stores[self._spec.storage_primary.cloud].publishing()

    def _model(self, serving: ServingSpec, version: str) -> ModelSpec:
        for model in self._spec.models:
            if (model.name, model.version) == (serving.model, version):
                return model
        raise ValueError(
            f"serving '{serving.name}' names model {serving.model} {version}, which "
            "fleet.models does not list"
        )


def _admitted_peers(network: ServingNetwork) -> list[dict]:
    """Who may reach a model server: the regional gateway's data plane and the metrics
    collector."""
    gateway = [{"ipBlock": {"cidr": cidr}} for cidr in network.gateway_sources]
    return [*gateway, *network.metrics_peers]

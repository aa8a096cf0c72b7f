"""What every cloud implements for the fleet: a serving cluster and a model store.

``Fleet`` composes these protocols and never asks which cloud it holds; a serving deployment
gets a cluster's Kubernetes provider and a ``ModelAccess`` (where its pods load weights and
the grant to wait for) without reaching into ``aws/`` or ``gcp/``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import pulumi

from llmfleet.components.grafana_dashboards import DataSource
from llmfleet.components.k8s.autoscaling import MetricsSource
from llmfleet.components.k8s.gateway import BackendPolicy, GatewayObject
from llmfleet.components.observability import Alert, Endpoint
from llmfleet.components.spec import FleetSpec, ModelSpec, RegionSpec


@runtime_checkable
class ModelStore(Protocol):
    """One cloud's model buckets: a copy of every model version in each of its serving regions,
    laid out as ``llmfleet.components.model_layout`` says."""

    def model_uri(self, region: str, model: ModelSpec) -> pulumi.Output[str]:
        """Where pods in ``region`` load ``model`` from (``s3://.../models/<name>/<version>/``);
        raises ValueError for a region the store does not serve."""
        ...

    def publishing(self) -> dict[str, pulumi.Output[str] | None]:
        """Where models are published on this cloud: ``primary_bucket`` and the ``writer``
        identity (none where the copy is filled from another cloud)."""
        ...


@runtime_checkable
class ServingCluster(Protocol):
    """One region's Kubernetes cluster that serving deployments run on."""

    provider: pulumi.ProviderResource
    """The cluster's one Kubernetes provider: every Kubernetes object for it uses this."""
    endpoint: pulumi.Output[str]
    """The API server endpoint."""
    kubeconfig: pulumi.Output[str]
    """Secret: a kubeconfig fetching short-lived tokens (no static credentials)."""

    def grant_model_read(
        self, name: str, namespace: str, service_account: str, store: ModelStore
    ) -> pulumi.Resource:
        """Let ``namespace/service_account`` read the models of this cluster's region in
        ``store`` (its own cloud's store) and nothing else; returns the resource a deployment
        using that service account must depend on. ``name`` scopes the grant's resources.

        Raises TypeError for a store of another cloud: pods read only their region's copy.
        """
        ...


@dataclass(frozen=True)
class ModelAccess:
    """How one serving deployment in one region reaches its model weights."""

    uri: pulumi.Output[str]
    """Where its pods load the served (stable) version from: the copy in their own region."""
    uris: dict[str, pulumi.Output[str]]
    """Every version it serves (stable, then canary), by version."""
    namespace: str
    """The Kubernetes namespace of the deployment."""
    service_account: str
    """The Kubernetes service account its pods must run as to read the weights."""
    grant: pulumi.Resource
    """The grant: pass it in ``depends_on`` of the deployment, so pods start only once they
    may read (AWS: the Pod Identity association; GCP: the bucket IAM member)."""


@dataclass(frozen=True)
class ApiKey:
    """A region's API-key secret in its cloud's secret store, and who may read it."""

    remote_name: pulumi.Output[str]
    """The secret's name in the store, as the sync controller asks for it."""
    store: dict
    """The External Secrets provider block of the cloud's store."""
    grant: pulumi.Resource
    """The sync controller's read access: it reads only after this exists."""
    secret_id: pulumi.Output[str]
    """The secret's full identifier (an ARN on AWS, ``projects/.../secrets/...`` on GCP): what
    an uptime check reading the key at run time is granted."""
    key_id: pulumi.Output[str] | None
    """The customer key encrypting the secret (its readers decrypt with it); None where the
    store encrypts with its own key."""


@dataclass(frozen=True)
class ServingNetwork:
    """What a model server in one region admits and needs, by cloud."""

    gateway_sources: list[str]
    """CIDRs the regional gateway's data plane reaches pods from (load balancer subnets, or the
    cloud's front ends and health checkers)."""
    metrics_peers: list[dict]
    """NetworkPolicy peers the cloud's managed collector scrapes pods from (GKE's collector
    namespace; the private subnets the AMP collector's network interfaces sit in)."""
    weights_env: dict[str, str]
    """Environment the model streamer needs to reach the region's bucket."""


@dataclass(frozen=True)
class ManagedMetrics:
    """A cloud's managed Prometheus endpoint that autoscalers query, and their access to it."""

    source: MetricsSource
    """The query endpoint and how KEDA authenticates to it."""
    identity: list[pulumi.Resource]
    """The grants KEDA needs before it queries."""
    collector: pulumi.ComponentResource
    """The cloud's component holding the region's metrics (its alerts attach there)."""


@dataclass(frozen=True)
class Monitoring:
    """A cloud's alerting for the fleet's regions on it."""

    alerts: list[Alert]
    """Every alert built, with its threshold."""
    channel: str
    """Where they notify, in words (``email oncall@example.com via SNS``), or ``none``."""


@dataclass(frozen=True)
class DashboardSource:
    """How the fleet's Grafana reads one cloud's managed Prometheus: a data source to create."""

    source: DataSource
    """What dashboards know of it: name, type, uid, cloud, the clusters it holds."""
    url: pulumi.Input[str] | None
    """The query endpoint; None where the data source type knows its service's endpoint."""
    json_data: pulumi.Input[Mapping[str, Any]]
    """The data source's settings (Grafana's ``jsonData``)."""
    secure_json_data: pulumi.Input[Mapping[str, str]] | None = None
    """Credentials Grafana keeps encrypted (``secureJsonData``), as a secret; None where
    Grafana's own identity authenticates."""
    query_arn: pulumi.Input[str] | None = None
    """The resource Grafana's own identity must be allowed to query (an AMP workspace ARN);
    None where the data source carries its credentials."""


@dataclass(frozen=True)
class DnsTarget:
    """Where a region's entry answers, as DNS records point at it: an IP address (GKE's
    reserved address) or a load balancer's name with its alias zone (an ALB)."""

    region: str
    """The region the entry serves."""
    ip: pulumi.Output[str] | None = None
    """An IPv4 address for A records."""
    alias_name: pulumi.Output[str] | None = None
    """A load balancer's DNS name, for alias records."""
    alias_zone_id: pulumi.Output[str] | None = None
    """The Route 53 zone of ``alias_name`` (the load balancer's canonical hosted zone)."""


@dataclass(frozen=True)
class CertificateRecord:
    """A DNS record a certificate authority checks before it issues (DNS validation)."""

    name: pulumi.Output[str]
    type: pulumi.Output[str]
    value: pulumi.Output[str]


@runtime_checkable
class DnsZone(Protocol):
    """The existing zone holding ``routing.domain`` (Route 53 or Cloud DNS): certificate
    validation records and the fleet's endpoint records go there; the zone itself is never
    created or deleted."""

    def validation_record(self, name: str, record: CertificateRecord) -> pulumi.Resource:
        """A certificate's DNS validation record (a child of the zone: DNS is global, whatever
        region the certificate serves); ``name`` is the resource name."""
        ...

    def endpoint(
        self,
        name: str,
        fleet: FleetSpec,
        targets: Sequence[DnsTarget],
        opts: pulumi.ResourceOptions,
    ) -> pulumi.ComponentResource:
        """Every region's ``<region>.<domain>`` record and the health-checked global record."""
        ...


@runtime_checkable
class RegionalEntry(Protocol):
    """How one cluster's Gateway API implementation takes traffic for the fleet's names: what
    the cloud-neutral Gateway needs (class, addresses, certificates) and where DNS points."""

    gateway_class: str
    """The GatewayClass the regional Gateway uses."""
    class_controller: str | None
    """The controller of a GatewayClass to create; None where the cluster provides the class."""
    addresses: Sequence[Mapping[str, pulumi.Input[str]]]
    """Gateway ``spec.addresses`` (a reserved address), or none."""
    annotations: Mapping[str, pulumi.Input[str]]
    """Annotations of the Gateway (certificates bound by annotation)."""
    infrastructure: Mapping[str, Any] | None
    """Gateway ``spec.infrastructure`` (a parameters reference), or None."""
    objects: Sequence[GatewayObject]
    """Objects the Gateway reads (load balancer parameters), created before it."""
    backend_policies: Sequence[BackendPolicy]
    """What every backend Service needs (health check, timeouts)."""
    ready: Sequence[pulumi.Resource]
    """What the Gateway waits for: the controller, issued certificates."""

    def dns_target(self, gateway: pulumi.Resource) -> DnsTarget:
        """Where the entry answers once ``gateway`` exists."""
        ...


class Edge(Protocol):
    """One cloud's regional entries of a fleet, and what they share."""

    def entry(
        self, name: str, region: RegionSpec, cluster: ServingCluster, opts: pulumi.ResourceOptions
    ) -> RegionalEntry:
        """The region's Gateway API implementation, its address and a certificate for
        ``<region>.<domain>`` and ``<domain>``, validated through the fleet's zone."""
        ...


@dataclass(frozen=True)
class RegionParts:
    """What one region serves from: its network and its cluster."""

    network: pulumi.ComponentResource
    cluster: ServingCluster


class Cloud(Protocol):
    """How one cloud builds a fleet's pieces; ``Fleet`` looks a region's cloud up, never
    branches on it."""

    def fleet_network(
        self, name: str, fleet: FleetSpec, opts: pulumi.ResourceOptions
    ) -> pulumi.ComponentResource | None:
        """The network every region of this cloud shares (GCP's global VPC), or none."""
        ...

    def region(
        self,
        name: str,
        fleet: FleetSpec,
        region: RegionSpec,
        fleet_network: pulumi.ComponentResource | None,
        opts: pulumi.ResourceOptions,
    ) -> RegionParts:
        """The region's network (``<name>-network``) and cluster (``<name>-cluster``)."""
        ...

    def model_store(
        self,
        name: str,
        fleet: FleetSpec,
        regions: list[RegionSpec],
        filled_from_another_cloud: bool,
        opts: pulumi.ResourceOptions,
    ) -> ModelStore:
        """Model buckets in ``regions`` (this cloud's storage regions, its primary first)."""
        ...

    def api_key(
        self,
        name: str,
        fleet: FleetSpec,
        region: RegionSpec,
        cluster: ServingCluster,
        opts: pulumi.ResourceOptions,
    ) -> ApiKey:
        """The region's API-key secret, readable by the cluster's secret-sync controller."""
        ...

    def serving_network(self, region: RegionSpec) -> ServingNetwork:
        """Who reaches a model server in ``region`` and what its weight streamer needs."""
        ...

    def managed_metrics(
        self,
        name: str,
        fleet: FleetSpec,
        region: RegionSpec,
        cluster: ServingCluster,
        opts: pulumi.ResourceOptions,
    ) -> ManagedMetrics:
        """The cloud's managed Prometheus collecting the cluster's metrics once, for its
        autoscalers and alerts."""
        ...

    def monitoring(
        self,
        name: str,
        fleet: FleetSpec,
        metrics: dict[str, ManagedMetrics],
        endpoints: list[Endpoint],
        api_keys: dict[str, ApiKey],
        opts: pulumi.ResourceOptions,
    ) -> Monitoring:
        """The alerts of the fleet's serving regions on this cloud (``metrics`` by region name)
        in the cloud's rule engine, uptime checks of ``endpoints`` (the fleet's, when this cloud
        checks them) sending the API key (``api_keys``, the secrets of those regions, by region
        name) where the checker can, and the channel they notify."""
        ...

    def dashboard_sources(
        self,
        name: str,
        fleet: FleetSpec,
        metrics: dict[str, ManagedMetrics],
        opts: pulumi.ResourceOptions,
    ) -> list[DashboardSource]:
        """The Grafana data sources reading this cloud's serving regions (``metrics`` by region
        name), with whatever identity Grafana needs to read them."""
        ...

    def dashboards(
        self,
        name: str,
        fleet: FleetSpec,
        sources: list[DashboardSource],
        endpoint: pulumi.ComponentResource | None,
        opts: pulumi.ResourceOptions,
    ) -> pulumi.ComponentResource | None:
        """The fleet's Grafana, when this cloud hosts it (``observability.grafana_host``): its
        data sources over ``sources`` (every serving cloud's), a fleet dashboard and one per
        serving entry, and the health checks of ``endpoint`` (the fleet's global endpoint, if
        routed) where its DNS service publishes them to a store this Grafana reads; None where
        this cloud hosts none."""
        ...

    def dns_zone(self, name: str, fleet: FleetSpec, opts: pulumi.ResourceOptions) -> DnsZone:
        """The existing zone ``routing.zone`` names, on the DNS service this cloud runs."""
        ...

    def alarm_dns_health(
        self,
        name: str,
        fleet: FleetSpec,
        endpoint: pulumi.ComponentResource,
        opts: pulumi.ResourceOptions,
    ) -> None:
        """Alerts on the health checks of ``endpoint`` (this cloud's DNS endpoint of the
        fleet), when this cloud runs the fleet's uptime checks; nothing where the checks have
        no alertable signal."""
        ...

    def edge(
        self, name: str, fleet: FleetSpec, zone: DnsZone, opts: pulumi.ResourceOptions
    ) -> Edge:
        """What this cloud's regional entries share (a validation of ``<domain>``)."""
        ...

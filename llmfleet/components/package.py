"""The multi-language component package: llmfleet for TypeScript, Go, YAML and Python programs.

``pulumi package add <this repository>`` runs ``__main__.py`` at the repository root, which hosts
these components with the SDK's component provider (``pulumi.provider.experimental``); the SDK
infers the package schema from the Args below, one description per field.

- ``Fleet`` takes the same structured configuration as a stack file's ``llmfleet:fleet`` key.
- ``Network``, ``Cluster`` and ``ModelStorage`` are the leaf pieces for programs that compose
  their own fleet: one region's network, one region's cluster on it, the model buckets.

Fields that decide what is built (names, regions, pools) are plain values: a resource's name
and count must be known before it is registered. Ids wired from other resources are Inputs.
Package components register as ``llmfleet:index:<Name>`` (the token the schema gives them) and
build the library's components as their children, so every policy and cost rule applies.
"""

from typing import Any, NotRequired, TypedDict

import pulumi

from llmfleet.components.aws.cluster import AwsCluster, AwsClusterArgs
from llmfleet.components.aws.network import AwsNetwork, AwsNetworkArgs
from llmfleet.components.component import Component
from llmfleet.components.fleet import CLOUDS
from llmfleet.components.fleet import Fleet as FleetComponent
from llmfleet.components.gcp.cluster import GcpCluster, GcpClusterArgs
from llmfleet.components.gcp.network import (
    GcpRegionNetwork,
    GcpRegionNetworkArgs,
    GcpVpc,
    GcpVpcArgs,
)
from llmfleet.components.spec import FleetSpec, RegionSpec, parse_fleet

PACKAGE = "llmfleet"
"""The package name: schema tokens are ``llmfleet:index:<Component>``."""


class Budget(TypedDict):
    """What the fleet may cost and use."""

    monthly_usd: float
    """Monthly budget in USD: a plan whose cost at maximum scale exceeds it fails."""
    max_accelerators: int
    """Hard cap on accelerators at maximum scale, over every pool of every region."""


class FleetConfig(TypedDict):
    """A fleet, exactly as the ``llmfleet:fleet`` key of a stack file describes it (snake_case
    keys, as in the stack file)."""

    name: str
    """Fleet name (lowercase letters, digits, hyphens; at most 16 characters): prefixes every
    resource name."""
    environment: str
    """``dev``, ``staging`` or ``prod``; prod turns on per-zone NAT, private endpoints and
    deletion protection."""
    owner: str
    """Team owning the fleet: the ``owner`` tag / label of every resource."""
    cost_center: str
    """Cost center: the ``cost-center`` tag / label of every resource."""
    budget: Budget
    """The monthly budget and the accelerator cap."""
    regions: list[dict[str, Any]]
    """The regions, as ``fleet.regions`` of a stack file: ``{cloud, region, zones, cidr,
    cluster: {gpu_pools: [...]}, ...}``."""
    gcp_project: NotRequired[str]
    """GCP project of the fleet's GCP resources; required when a region is on GCP."""
    tags: NotRequired[dict[str, str]]
    """Extra tags / labels for every resource."""
    storage: NotRequired[dict[str, Any]]
    """Model storage settings, as ``fleet.storage`` (primary region, replicas, versions kept)."""
    models: NotRequired[list[dict[str, Any]]]
    """Published model versions, as ``fleet.models``: ``{name, version, source, ...}``."""
    serving: NotRequired[list[dict[str, Any]]]
    """Serving deployments, as ``fleet.serving``: ``{name, model, version, pool, ...}``."""
    routing: NotRequired[dict[str, Any]]
    """The global endpoint, as ``fleet.routing``."""


class FleetArgs(TypedDict):
    """A whole fleet."""

    fleet: FleetConfig
    """The fleet's configuration: the value of a stack file's ``llmfleet:fleet`` key."""


class NetworkArgs(TypedDict):
    """One region's network."""

    fleet: FleetConfig
    """The fleet the region belongs to (names, tags, the region's settings)."""
    region: str
    """The region to build, one of ``fleet.regions`` (``us-east-1``, ``us-central1``)."""


class ClusterArgs(TypedDict):
    """One region's Kubernetes cluster, on the network built for that region (``Network``)."""

    fleet: FleetConfig
    """The fleet the region belongs to (names, tags, the region's cluster settings)."""
    region: str
    """The region to build, one of ``fleet.regions``."""
    network_id: pulumi.Input[str]
    """The region's network: the VPC id on AWS, the VPC network id on GCP
    (``Network.networkId``)."""
    subnet_ids: pulumi.Input[list[str]]
    """The private subnets, one per zone, on AWS; the region's subnetwork on GCP
    (``Network.subnetIds``)."""
    pods_range_name: NotRequired[pulumi.Input[str]]
    """GCP only: the subnetwork's secondary range for pods (``Network.podsRangeName``)."""
    services_range_name: NotRequired[pulumi.Input[str]]
    """GCP only: the subnetwork's secondary range for Services
    (``Network.servicesRangeName``)."""


class ModelStorageArgs(TypedDict):
    """Model buckets in a fleet's storage regions of one cloud."""

    fleet: FleetConfig
    """The fleet: its storage regions (``fleet.storage``, else every region) must all be on one
    cloud; a ``Fleet`` copies models across clouds."""


def _region(spec: FleetSpec, name: str) -> RegionSpec:
    for region in spec.regions:
        if region.region == name:
            return region
    raise ValueError(
        f"region '{name}' is not in fleet.regions: {', '.join(r.region for r in spec.regions)}"
    )


class Fleet(Component):
    """A serving fleet over AWS and GCP regions: networks, GPU/TPU clusters, replicated model
    storage and serving, from the same configuration as a stack file."""

    endpoints: pulumi.Output[dict[str, str]]
    """The API server endpoint of each region's cluster, by region."""
    kubeconfigs: pulumi.Output[dict[str, str]]
    """Secret: a kubeconfig per region fetching short-lived tokens, by region."""
    model_uris: pulumi.Output[dict[str, dict[str, str]]]
    """Per serving deployment and region, the URI its pods load weights from."""

    def __init__(self, name: str, args: FleetArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{PACKAGE}:index:Fleet", name, None, opts)
        spec = parse_fleet(dict(args["fleet"]))
        fleet = FleetComponent(spec.name, spec, self._child())
        self.endpoints = pulumi.Output.from_input(
            {region: stack.endpoint for region, stack in fleet.regions.items()}
        )
        self.kubeconfigs = pulumi.Output.secret(
            {region: stack.kubeconfig for region, stack in fleet.regions.items()}
        )
        self.model_uris = pulumi.Output.from_input(fleet.model_uris)
        self.register_outputs(
            {
                "endpoints": self.endpoints,
                "kubeconfigs": self.kubeconfigs,
                "model_uris": self.model_uris,
            }
        )


class Network(Component):
    """One region's private network: a VPC with private and public subnets per zone, NAT and
    endpoints on AWS; the fleet VPC and the region's subnetwork on GCP."""

    network_id: pulumi.Output[str]
    """The VPC id (AWS) or VPC network id (GCP)."""
    subnet_ids: pulumi.Output[list[str]]
    """Private subnets, one per zone (AWS); the region's subnetwork (GCP)."""
    pods_range_name: pulumi.Output[str]
    """GCP: the secondary range for pods; empty on AWS."""
    services_range_name: pulumi.Output[str]
    """GCP: the secondary range for Services; empty on AWS."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{PACKAGE}:index:Network", name, None, opts)
        spec = parse_fleet(dict(args["fleet"]))
        region = _region(spec, args["region"])
        if region.cloud == "aws":
            aws_network = AwsNetwork(name, AwsNetworkArgs(spec, region), self._child())
            self.network_id = aws_network.vpc_id
            self.subnet_ids = aws_network.private_subnet_ids
            self.pods_range_name = self.services_range_name = pulumi.Output.from_input("")
        else:
            vpc = GcpVpc(f"{name}-vpc", GcpVpcArgs(spec), self._child())
            subnet = GcpRegionNetwork(
                name, GcpRegionNetworkArgs(spec, region, vpc.network_id), self._child()
            )
            self.network_id = vpc.network_id
            self.subnet_ids = pulumi.Output.all(subnet.subnetwork_id)
            self.pods_range_name = pulumi.Output.from_input(subnet.pods_range_name)
            self.services_range_name = pulumi.Output.from_input(subnet.services_range_name)
        self.register_outputs(
            {
                "network_id": self.network_id,
                "subnet_ids": self.subnet_ids,
                "pods_range_name": self.pods_range_name,
                "services_range_name": self.services_range_name,
            }
        )


class Cluster(Component):
    """One region's Kubernetes cluster for GPU/TPU serving: EKS with Karpenter pools on AWS,
    GKE Standard with accelerator pools on GCP; private, encrypted, scaling from zero."""

    endpoint: pulumi.Output[str]
    """The API server endpoint."""
    kubeconfig: pulumi.Output[str]
    """Secret: a kubeconfig fetching short-lived tokens (aws eks get-token, or
    gke-gcloud-auth-plugin)."""

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{PACKAGE}:index:Cluster", name, None, opts)
        spec = parse_fleet(dict(args["fleet"]))
        region = _region(spec, args["region"])
        subnets = pulumi.Output.from_input(args["subnet_ids"])
        if region.cloud == "aws":
            cluster: AwsCluster | GcpCluster = AwsCluster(
                name,
                AwsClusterArgs(spec, region, args["network_id"], subnets),
                self._child(),
            )
        else:
            missing = [k for k in ("pods_range_name", "services_range_name") if k not in args]
            if missing:
                raise ValueError(f"Cluster {name}: a GCP cluster needs {', '.join(missing)}")
            cluster = GcpCluster(
                name,
                GcpClusterArgs(
                    spec,
                    region,
                    network_id=args["network_id"],
                    subnetwork_id=subnets.apply(lambda ids: ids[0]),
                    pods_range_name=args["pods_range_name"],
                    services_range_name=args["services_range_name"],
                ),
                self._child(),
            )
        self.endpoint = cluster.endpoint
        self.kubeconfig = cluster.kubeconfig
        self.register_outputs({"endpoint": self.endpoint, "kubeconfig": self.kubeconfig})


class ModelStorage(Component):
    """Encrypted, versioned model buckets in every storage region, replicated from the primary
    (S3 replication on AWS; dual-region buckets or transfer jobs on GCP)."""

    primary_bucket: pulumi.Output[str]
    """Where models are published: ``models/<name>/<version>/`` in this bucket."""
    writer: pulumi.Output[str]
    """The identity that publishes models (an IAM role ARN, or a service account email)."""

    def __init__(
        self, name: str, args: ModelStorageArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(f"{PACKAGE}:index:ModelStorage", name, None, opts)
        spec = parse_fleet(dict(args["fleet"]))
        regions = spec.storage_regions()
        clouds = {r.cloud for r in regions}
        if len(clouds) != 1:
            raise ValueError(
                f"ModelStorage {name}: regions of one cloud (a Fleet copies across clouds)"
            )
        store = CLOUDS[regions[0].cloud].model_store(name, spec, regions, False, self._child())
        published = store.publishing()
        self.primary_bucket = pulumi.Output.from_input(published["primary_bucket"])
        self.writer = pulumi.Output.from_input(published["writer"])
        self.register_outputs({"primary_bucket": self.primary_bucket, "writer": self.writer})


COMPONENTS = [Fleet, Network, Cluster, ModelStorage]
"""What the package hosts."""

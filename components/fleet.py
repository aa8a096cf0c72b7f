"""Fleet: one RegionStack per region, the shared GCP VPC and replicated model storage.

Regions are independent failure domains: nothing in one region's stack depends on another
region's resources, so ``pulumi up`` creates them in parallel and a broken region cannot block
the others. The only cross-region edges are global by nature (the GCP VPC and its firewall) or
storage replication, which moves each model version once from the primary to every replica.
Serving pods read weights only from their own region's copy, through a read-only identity per
serving namespace and cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

from components.aws.api_key import AwsApiKey
from components.aws.cluster import AwsCluster, AwsClusterArgs
from components.aws.network import AwsNetwork, AwsNetworkArgs, subnet_layout
from components.aws.storage import AwsModelStorage, AwsModelStorageArgs
from components.gcp.api_key import GcpApiKey
from components.gcp.cluster import GcpCluster, GcpClusterArgs
from components.gcp.network import (
    HEALTH_CHECK_RANGES,
    GcpRegionNetwork,
    GcpRegionNetworkArgs,
    GcpVpc,
    GcpVpcArgs,
)
from components.gcp.storage import AwsSource, GcpModelStorage, GcpModelStorageArgs
from components.k8s.secrets import SecretSync, SecretSyncArgs
from components.k8s.serving import MODEL_READER, ModelServer, ModelServerArgs
from components.spec import FleetSpec, RegionSpec, ServingSpec

METRICS_NAMESPACES = {"aws": "monitoring", "gcp": "gmp-system"}
"""Namespace of the metrics scraper on each cloud: the in-cluster Prometheus agent on EKS,
Google Managed Service for Prometheus's collectors on GKE."""


@dataclass
class RegionStackArgs:
    fleet: FleetSpec
    region: RegionSpec
    gcp_network_id: pulumi.Input[str] | None = None
    """The fleet's GCP VPC; required for a GCP region."""


class RegionStack(pulumi.ComponentResource):
    """Everything one region serves from: its network and its GPU cluster."""

    cluster: AwsCluster | GcpCluster
    provider: kubernetes.Provider
    kubeconfig: pulumi.Output[str]
    endpoint: pulumi.Output[str]

    def __init__(
        self, name: str, args: RegionStackArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("llmfleet:fleet:RegionStack", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        fleet, region = args.fleet, args.region
        if region.cloud == "aws":
            network = AwsNetwork(f"{name}-network", AwsNetworkArgs(fleet, region), child)
            self.cluster = AwsCluster(
                f"{name}-cluster",
                AwsClusterArgs(
                    fleet=fleet,
                    region=region,
                    vpc_id=network.vpc_id,
                    private_subnet_ids=network.private_subnet_ids,
                ),
                child,
            )
        else:
            if args.gcp_network_id is None:
                raise ValueError(f"{region.key}: a GCP region needs the fleet's GCP VPC")
            network = GcpRegionNetwork(
                f"{name}-network", GcpRegionNetworkArgs(fleet, region, args.gcp_network_id), child
            )
            self.cluster = GcpCluster(
                f"{name}-cluster",
                GcpClusterArgs(
                    fleet=fleet,
                    region=region,
                    network_id=args.gcp_network_id,
                    subnetwork_id=network.subnetwork_id,
                    pods_range_name=network.pods_range_name,
                    services_range_name=network.services_range_name,
                ),
                child,
            )
        self.network = network
        self.provider = self.cluster.provider
        self.kubeconfig = self.cluster.kubeconfig
        self.endpoint = self.cluster.endpoint
        self.register_outputs({"endpoint": self.endpoint, "kubeconfig": self.kubeconfig})


class Fleet(pulumi.ComponentResource):
    """A serving fleet over AWS and GCP regions, built from a validated FleetSpec."""

    regions: dict[str, RegionStack]
    """Region stacks by region name."""
    aws_storage: AwsModelStorage | None
    gcp_storage: GcpModelStorage | None
    model_uris: dict[str, dict[str, pulumi.Output[str]]]
    """Per serving deployment and region, the URI its pods load weights from."""

    def __init__(self, name: str, spec: FleetSpec, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llmfleet:fleet:Fleet", name, None, opts)
        self._name = name
        self._spec = spec
        child = pulumi.ResourceOptions(parent=self)
        gcp_network_id = None
        if spec.regions_of("gcp"):
            self.gcp_vpc = GcpVpc(f"{name}-gcp-vpc", GcpVpcArgs(spec), child)
            gcp_network_id = self.gcp_vpc.network_id
        self.regions = {
            region.region: RegionStack(
                f"{name}-{region.key}",
                RegionStackArgs(fleet=spec, region=region, gcp_network_id=gcp_network_id),
                child,
            )
            for region in spec.regions
        }
        self._build_storage()
        self.weights: dict[str, dict[str, dict[str, pulumi.Output[str]]]] = {}
        self.model_readers: dict[str, dict[str, pulumi.Resource]] = {}
        for serving in spec.serving:
            self._grant_model_access(serving)
        self.model_uris = {
            serving.name: {
                region: by_version[serving.version]
                for region, by_version in self.weights[serving.name].items()
            }
            for serving in spec.serving
        }
        served = {r.region for s in spec.serving for r in spec.serving_regions(s)}
        self.secret_syncs = {
            region.region: self._sync_api_key(region)
            for region in spec.regions
            if region.region in served
        }
        self.model_servers = {serving.name: self._serve(serving) for serving in spec.serving}
        self.register_outputs(
            {
                "endpoints": {key: stack.endpoint for key, stack in self.regions.items()},
                "model_uris": self.model_uris,
            }
        )

    def _build_storage(self) -> None:
        """The primary bucket and a copy in every other storage region, per cloud."""
        child = pulumi.ResourceOptions(parent=self)
        stored = self._spec.storage_regions()
        aws_regions = [r for r in stored if r.cloud == "aws"]
        gcp_regions = [r for r in stored if r.cloud == "gcp"]
        self.aws_storage = None
        self.gcp_storage = None
        source = None
        if aws_regions:
            self.aws_storage = AwsModelStorage(
                f"{self._name}-aws-models",
                AwsModelStorageArgs(self._spec, primary=aws_regions[0], replicas=aws_regions[1:]),
                child,
            )
            primary = aws_regions[0].region
            source = AwsSource(
                bucket_name=self.aws_storage.buckets[primary].bucket,
                bucket_arn=self.aws_storage.buckets[primary].arn,
                kms_key_arn=self.aws_storage.keys[primary].arn,
                region=primary,
            )
        if gcp_regions:
            self.gcp_storage = GcpModelStorage(
                f"{self._name}-gcp-models",
                GcpModelStorageArgs(self._spec, regions=gcp_regions, source=source),
                child,
            )

    def _grant_model_access(self, serving: ServingSpec) -> None:
        """A read-only identity for the deployment's namespace in each of its clusters, scoped
        to that region's copy; records the grant and each served version's URI per region."""
        self.weights[serving.name] = {}
        self.model_readers[serving.name] = {}
        for region in self._spec.serving_regions(serving):
            cluster = self.regions[region.region].cluster
            models = [self._spec.model(serving.model, v) for v in serving.versions()]
            if region.cloud == "aws":
                assert self.aws_storage is not None
                cluster.service_account_role(
                    f"{serving.name}-models",
                    namespace=serving.name,
                    service_account=MODEL_READER,
                    policy_json=self.aws_storage.reader_policy(region.region),
                )
                grant = cluster.pod_identity_associations[f"{serving.name}/{MODEL_READER}"]
                storage = self.aws_storage
            else:
                assert self.gcp_storage is not None
                grant = self.gcp_storage.grant_reader(
                    region.region, serving.name, MODEL_READER, cluster.workload_pool
                )
                storage = self.gcp_storage
            self.model_readers[serving.name][region.region] = grant
            self.weights[serving.name][region.region] = {
                m.version: storage.model_uri(region.region, m) for m in models
            }

    def _sync_api_key(self, region: RegionSpec) -> tuple[pulumi.Output[str], SecretSync]:
        """The region's API-key secret in its cloud's store and the controller syncing it into
        the cluster; returns the key's name in the store and the sync."""
        stack = self.regions[region.region]
        child = pulumi.ResourceOptions(parent=stack)
        name = f"{self._name}-{region.key}-api-key"
        cluster = stack.cluster
        if isinstance(cluster, AwsCluster):
            key = AwsApiKey(name, self._spec, region, cluster, child)
            remote = key.secret.name
        else:
            key = GcpApiKey(name, self._spec, region, cluster, child)
            remote = key.secret.secret_id
        sync = SecretSync(
            f"{self._name}-{region.key}-secret-sync",
            SecretSyncArgs(provider=stack.provider, store=key.store, identity=[key.grant]),
            child,
        )
        return remote, sync

    def _serve(self, serving: ServingSpec) -> dict[str, ModelServer]:
        """The model server of ``serving`` on each of its clusters, under the region's stack."""
        servers = {}
        for region in self._spec.serving_regions(serving):
            stack = self.regions[region.region]
            pool = self._spec.serving_pool(serving, region)
            servers[region.region] = ModelServer(
                f"{self._name}-{region.key}-{serving.name}",
                ModelServerArgs(
                    serving=serving,
                    pool=pool,
                    instance=region.instance_type_for(pool),
                    models={v: self._spec.model(serving.model, v) for v in serving.versions()},
                    weights=self.weights[serving.name][region.region],
                    provider=stack.provider,
                    api_key=self.secret_syncs[region.region][0],
                    admit_from=_admitted_peers(region),
                    weights_env=_weights_env(region),
                    reader_grants=[self.model_readers[serving.name][region.region]],
                    after=[self.secret_syncs[region.region][1].store],
                ),
                pulumi.ResourceOptions(parent=stack),
            )
        return servers

    def storage_outputs(self) -> dict[str, pulumi.Output[str] | None]:
        """Where models are published, and by whom: the primary bucket and writer identity."""
        primary = self._spec.storage_primary
        if primary.cloud == "aws":
            assert self.aws_storage is not None
            return {
                "primary_bucket": self.aws_storage.buckets[primary.region].bucket,
                "writer": self.aws_storage.writer_role.arn,
            }
        assert self.gcp_storage is not None
        writer = self.gcp_storage.writer
        return {
            "primary_bucket": self.gcp_storage.primary_bucket.name,
            "writer": writer.email if writer is not None else None,
        }


def _admitted_peers(region: RegionSpec) -> list[dict]:
    """Who may reach a model server: the regional gateway's data plane and the metrics scraper.

    The gateway is a cloud load balancer sending straight to pod IPs: on AWS an ALB in the
    region's public subnets, on GCP Google front ends and health checkers.
    """
    if region.cloud == "aws":
        sources = [str(c) for c in subnet_layout(region.cidr, region.zones).public]
    else:
        sources = list(HEALTH_CHECK_RANGES)
    scraper = {
        "namespaceSelector": {
            "matchLabels": {"kubernetes.io/metadata.name": METRICS_NAMESPACES[region.cloud]}
        }
    }
    return [*({"ipBlock": {"cidr": cidr}} for cidr in sources), scraper]


def _weights_env(region: RegionSpec) -> dict[str, str]:
    """What the model streamer needs to reach the region's bucket: S3's region (Pod Identity
    gives credentials, not a region); GCS needs nothing beside Workload Identity."""
    return {"AWS_REGION": region.region} if region.cloud == "aws" else {}

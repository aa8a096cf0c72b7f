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

from components.aws.cluster import AwsCluster, AwsClusterArgs
from components.aws.network import AwsNetwork, AwsNetworkArgs
from components.aws.storage import AwsModelStorage, AwsModelStorageArgs
from components.gcp.cluster import GcpCluster, GcpClusterArgs
from components.gcp.network import GcpRegionNetwork, GcpRegionNetworkArgs, GcpVpc, GcpVpcArgs
from components.gcp.storage import AwsSource, GcpModelStorage, GcpModelStorageArgs
from components.spec import FleetSpec, ModelSpec, RegionSpec, ServingSpec

MODEL_READER = "model-reader"
"""Kubernetes service account, in each serving namespace, allowed to read model weights."""


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
        self.model_uris = {
            serving.name: self._grant_model_access(serving) for serving in spec.serving
        }
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

    def _grant_model_access(self, serving: ServingSpec) -> dict[str, pulumi.Output[str]]:
        """A read-only identity for the deployment's namespace in each of its clusters, scoped
        to that region's copy; returns the URI each region's pods load."""
        model = self._model(serving)
        uris = {}
        for region in self._spec.serving_regions(serving):
            if region.cloud == "aws":
                assert self.aws_storage is not None
                cluster = self.regions[region.region].cluster
                cluster.service_account_role(
                    f"{serving.name}-models",
                    namespace=serving.name,
                    service_account=MODEL_READER,
                    policy_json=self.aws_storage.reader_policy(region.region),
                )
                uris[region.region] = self.aws_storage.model_uri(region.region, model)
            else:
                assert self.gcp_storage is not None
                cluster = self.regions[region.region].cluster
                self.gcp_storage.grant_reader(
                    region.region, serving.name, MODEL_READER, cluster.workload_pool
                )
                uris[region.region] = self.gcp_storage.model_uri(region.region, model)
        return uris

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

    def _model(self, serving: ServingSpec) -> ModelSpec:
        return next(
            m for m in self._spec.models if (m.name, m.version) == (serving.model, serving.version)
        )

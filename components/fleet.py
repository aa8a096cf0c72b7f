"""Fleet: one RegionStack per region, the shared GCP VPC, and (later) storage and routing.

Regions are independent failure domains: nothing in one region's stack depends on another
region's resources, so ``pulumi up`` creates them in parallel and a broken region cannot block
the others. The only cross-region resources are global by nature (the GCP VPC and its firewall).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

from components.aws.cluster import AwsCluster, AwsClusterArgs
from components.aws.network import AwsNetwork, AwsNetworkArgs
from components.gcp.cluster import GcpCluster, GcpClusterArgs
from components.gcp.network import GcpRegionNetwork, GcpRegionNetworkArgs, GcpVpc, GcpVpcArgs
from components.spec import FleetSpec, RegionSpec


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

    def __init__(self, name: str, spec: FleetSpec, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llmfleet:fleet:Fleet", name, None, opts)
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
        self.register_outputs(
            {key: stack.endpoint for key, stack in self.regions.items()},
        )

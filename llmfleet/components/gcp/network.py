"""GCP networking: one custom-mode VPC for all of a fleet's GCP regions, and per-region networking.

``GcpVpc`` is global (GCP networks and firewall rules are), so one network carries every GCP
region of the fleet and regions reach each other over Google's backbone without peering.
``GcpRegionNetwork`` adds a region's node subnet (with the secondary ranges VPC-native GKE takes
pods and Services from) and a Cloud Router with Cloud NAT, so private nodes reach the internet
without external IPs.

Ingress posture: only traffic between the fleet's own GCP ranges and Google's load-balancer
health checks is admitted; everything else meets an explicit, logged deny-all. There is
deliberately no IAP SSH rule (35.235.240.0/20 on tcp:22): GKE nodes are cattle, debugged with
``kubectl debug node/...`` through the control plane, so sshd needs no reachable path. A
break-glass rule can be added by hand when an incident calls for one. GKE adds the rules it needs
itself (control plane to kubelets, client traffic to LoadBalancer Services) at priority 1000,
above the deny-all.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from llmfleet.components.gcp.component import GcpComponent
from llmfleet.components.gcp.project import COMPUTE
from llmfleet.components.spec import FleetSpec, RegionSpec

HEALTH_CHECK_RANGES = ("35.191.0.0/16", "130.211.0.0/22", "209.85.152.0/22", "209.85.204.0/22")
"""Where Google load-balancer health checks (and GFE proxies) come from. The 209.85 ranges probe
the backends of external passthrough Network Load Balancers, which GKE LoadBalancer Services use;
the 130.211 range those of Application, proxy and internal passthrough load balancers."""

ALLOW_PRIORITY = 1000
DENY_ALL_PRIORITY = 65534
"""Just above the implied deny (65535), so it logs what would be dropped silently, while every
allow rule, GKE's own included, still wins."""

FLOW_LOG_INTERVAL = "INTERVAL_1_MIN"
"""Fine enough for forensics; a twelfth of the records of the 5-second default on long
connections such as model downloads and streaming responses."""

NAT_MIN_PORTS_PER_VM = 1024
NAT_MAX_PORTS_PER_VM = 16384
"""Every pod on a node shares the node's NAT ports. GPU nodes start by pulling multi-gigabyte
images and model weights over many parallel connections, so each node gets a generous floor and
dynamic port allocation lets it grow during bursts instead of dropping connections."""

RANGE_NAME_MAX = 63


@dataclass
class GcpVpcArgs:
    fleet: FleetSpec
    """The fleet whose GCP regions share the network; it must have at least one GCP region."""


class GcpVpc(GcpComponent):
    """A custom-mode, globally routed VPC and the fleet's ingress firewall rules."""

    APIS = (COMPUTE,)

    network: gcp.compute.Network
    network_id: pulumi.Output[str]
    network_self_link: pulumi.Output[str]
    network_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: GcpVpcArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        fleet = args.fleet
        internal_ranges = _fleet_gcp_ranges(fleet)
        if not internal_ranges:
            # A firewall rule without source ranges admits 0.0.0.0/0.
            raise ValueError(f"fleet '{fleet.name}' has no gcp region to build a network for")
        super().__init__("llmfleet:gcp:Vpc", name, fleet.gcp_project, opts)
        self._name = name
        self._project = fleet.gcp_project
        self.network = gcp.compute.Network(
            f"{name}-network",
            project=self._project,
            description=f"llmfleet {fleet.name}: nodes, pods and Services of every GCP region",
            # Custom mode: only the fleet's own, non-overlapping ranges exist in the network.
            auto_create_subnetworks=False,
            # Cloud Routers advertise and learn routes for every region, not just their own.
            routing_mode="GLOBAL",
            # Private nodes reach Cloud NAT through the default internet route.
            delete_default_routes_on_create=False,
            opts=self._child(),
        )
        self._allow(
            "allow-internal",
            "Nodes, pods and Services of the fleet's GCP regions reach each other",
            internal_ranges,
            ["tcp", "udp", "icmp"],
        )
        self._allow(
            "allow-health-checks",
            "Google load-balancer health checks and GFE proxies reach backends",
            list(HEALTH_CHECK_RANGES),
            ["tcp"],
        )
        self._firewall(
            "deny-all-ingress",
            description="Everything no allow rule admits, denied visibly and logged",
            source_ranges=["0.0.0.0/0"],
            priority=DENY_ALL_PRIORITY,
            denies=[gcp.compute.FirewallDenyArgs(protocol="all")],
        )
        self.network_id = self.network.id
        self.network_self_link = self.network.self_link
        self.network_name = self.network.name
        self.register_outputs(
            {
                "network_id": self.network_id,
                "network_self_link": self.network_self_link,
                "network_name": self.network_name,
            }
        )

    def _allow(
        self, suffix: str, description: str, source_ranges: list[str], protocols: list[str]
    ) -> gcp.compute.Firewall:
        return self._firewall(
            suffix,
            description=description,
            source_ranges=source_ranges,
            priority=ALLOW_PRIORITY,
            allows=[gcp.compute.FirewallAllowArgs(protocol=p) for p in protocols],
        )

    def _firewall(
        self,
        suffix: str,
        *,
        description: str,
        source_ranges: list[str],
        priority: int,
        allows: list[gcp.compute.FirewallAllowArgs] | None = None,
        denies: list[gcp.compute.FirewallDenyArgs] | None = None,
    ) -> gcp.compute.Firewall:
        return gcp.compute.Firewall(
            f"{self._name}-{suffix}",
            project=self._project,
            network=self.network.self_link,
            description=description,
            direction="INGRESS",
            priority=priority,
            source_ranges=source_ranges,
            allows=allows,
            denies=denies,
            log_config=gcp.compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA"),
            opts=self._child(),
        )


@dataclass
class GcpRegionNetworkArgs:
    fleet: FleetSpec
    """The fleet the region belongs to (its GCP project)."""
    region: RegionSpec
    """A GCP region of the fleet: its node, pod and Service ranges and network behaviour."""
    network_id: pulumi.Input[str]
    """The VPC the region's subnet joins: ``GcpVpc.network_id`` or ``network_self_link``."""


class GcpRegionNetwork(GcpComponent):
    """A region's VPC-native node subnet, and a Cloud Router with Cloud NAT for its egress."""

    APIS = (COMPUTE,)

    subnetwork: gcp.compute.Subnetwork
    subnetwork_id: pulumi.Output[str]
    subnetwork_self_link: pulumi.Output[str]
    pods_range_name: str
    """Secondary range GKE takes pod IPs from (``cluster_secondary_range_name``)."""
    services_range_name: str
    """Secondary range GKE takes Service IPs from (``services_secondary_range_name``)."""

    def __init__(
        self, name: str, args: GcpRegionNetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        region = args.region
        if region.cloud != "gcp":
            raise ValueError(f"{region.key} is not a gcp region")
        super().__init__("llmfleet:gcp:RegionNetwork", name, args.fleet.gcp_project, opts)
        self._name = name
        self._project = args.fleet.gcp_project
        self._region = region.region
        self.pods_range_name = _range_name(name, "pods")
        self.services_range_name = _range_name(name, "services")
        self.subnetwork = self._subnetwork(region, args.network_id)
        router = gcp.compute.Router(
            f"{name}-router",
            project=self._project,
            region=self._region,
            network=args.network_id,
            description=f"Cloud NAT for {region.key}",
            opts=self._child(),
        )
        self._nat(router)
        self.subnetwork_id = self.subnetwork.id
        self.subnetwork_self_link = self.subnetwork.self_link
        self.register_outputs(
            {
                "subnetwork_id": self.subnetwork_id,
                "subnetwork_self_link": self.subnetwork_self_link,
                "pods_range_name": self.pods_range_name,
                "services_range_name": self.services_range_name,
            }
        )

    def _subnetwork(
        self, region: RegionSpec, network_id: pulumi.Input[str]
    ) -> gcp.compute.Subnetwork:
        return gcp.compute.Subnetwork(
            f"{self._name}-subnet",
            project=self._project,
            region=self._region,
            network=network_id,
            description=f"Nodes of {region.key}; pods and Services in secondary ranges",
            purpose="PRIVATE",
            stack_type="IPV4_ONLY",
            ip_cidr_range=str(region.cidr),
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(
                    range_name=self.pods_range_name, ip_cidr_range=str(region.pods_cidr)
                ),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(
                    range_name=self.services_range_name, ip_cidr_range=str(region.services_cidr)
                ),
            ],
            # Nodes without external IPs reach Artifact Registry, GCS and other Google APIs
            # directly rather than through the NAT.
            private_ip_google_access=True,
            log_config=_flow_logs() if region.network.flow_logs else None,
            opts=self._child(),
        )

    def _nat(self, router: gcp.compute.Router) -> gcp.compute.RouterNat:
        return gcp.compute.RouterNat(
            f"{self._name}-nat",
            project=self._project,
            region=self._region,
            router=router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            # Only this subnet, nodes and pods alike; a subnet added later by hand stays private.
            source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            subnetworks=[
                gcp.compute.RouterNatSubnetworkArgs(
                    name=self.subnetwork.self_link, source_ip_ranges_to_nats=["ALL_IP_RANGES"]
                )
            ],
            # Endpoint-independent mapping reserves ports per destination and rules out
            # dynamic port allocation.
            enable_endpoint_independent_mapping=False,
            enable_dynamic_port_allocation=True,
            min_ports_per_vm=NAT_MIN_PORTS_PER_VM,
            max_ports_per_vm=NAT_MAX_PORTS_PER_VM,
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
            opts=self._child(),
        )


def _fleet_gcp_ranges(fleet: FleetSpec) -> list[str]:
    """Every node, pod and Service range of the fleet's GCP regions, in stack-file order."""
    return [
        str(network) for region in fleet.regions_of("gcp") for _, network in region.address_ranges()
    ]


def _flow_logs() -> gcp.compute.SubnetworkLogConfigArgs:
    return gcp.compute.SubnetworkLogConfigArgs(
        aggregation_interval=FLOW_LOG_INTERVAL,
        flow_sampling=0.5,
        metadata="INCLUDE_ALL_METADATA",
    )


def _range_name(name: str, purpose: str) -> str:
    range_name = f"{name}-{purpose}"
    if len(range_name) > RANGE_NAME_MAX:
        raise ValueError(
            f"secondary range name '{range_name}' is longer than {RANGE_NAME_MAX} characters; "
            "use a shorter component name"
        )
    return range_name

"""GcpVpc and GcpRegionNetwork: one custom-mode VPC per fleet; subnet, router and NAT per region."""

from __future__ import annotations

import pulumi
import pytest

from llmfleet.components.gcp.network import (
    GcpRegionNetwork,
    GcpRegionNetworkArgs,
    GcpVpc,
    GcpVpcArgs,
)
from llmfleet.components.spec import FleetSpec, parse_fleet

NETWORK = "gcp:compute/network:Network"
SUBNETWORK = "gcp:compute/subnetwork:Subnetwork"
FIREWALL = "gcp:compute/firewall:Firewall"
ROUTER = "gcp:compute/router:Router"
NAT = "gcp:compute/routerNat:RouterNat"

PROJECT = "llm-prod-serving"
# The conftest prod fleet's GCP regions: node, pod and Service ranges.
GCP_RANGES = {
    "us-central1": ("10.30.0.0/20", "10.128.0.0/14", "10.30.16.0/20"),
    "europe-west4": ("10.31.0.0/20", "10.132.0.0/14", "10.31.16.0/20"),
}
HEALTH_CHECKS = {"35.191.0.0/16", "130.211.0.0/22", "209.85.152.0/22", "209.85.204.0/22"}


def build(fleet: FleetSpec) -> None:
    """The fleet's GCP networking as the fleet wires it, with every component output exported."""
    vpc = GcpVpc("llm-prod-gcp", GcpVpcArgs(fleet=fleet))
    pulumi.export("network_id", vpc.network_id)
    pulumi.export("network_self_link", vpc.network_self_link)
    pulumi.export("network_name", vpc.network_name)
    for region in fleet.regions_of("gcp"):
        net = GcpRegionNetwork(
            f"llm-prod-{region.region}",
            GcpRegionNetworkArgs(fleet=fleet, region=region, network_id=vpc.network_id),
        )
        pulumi.export(f"{region.region}.subnetwork_id", net.subnetwork_id)
        pulumi.export(f"{region.region}.subnetwork_self_link", net.subnetwork_self_link)
        pulumi.export(f"{region.region}.pods_range_name", net.pods_range_name)
        pulumi.export(f"{region.region}.services_range_name", net.services_range_name)


@pytest.fixture
def rec(recorded, prod_fleet):
    """One recording of the prod fleet for the whole module: the tests only read it."""
    return recorded("prod", lambda: build(prod_fleet))


def subnet_of(rec, region: str):
    return rec.one(SUBNETWORK, f"llm-prod-{region}-subnet")


def firewalls(rec) -> dict[str, dict]:
    """Firewall inputs by rule name, without the component prefix."""
    return {r.name.removeprefix("llm-prod-gcp-"): r.inputs for r in rec.of_type(FIREWALL)}


def allow_rules(rec) -> list[dict]:
    return [inputs for inputs in firewalls(rec).values() if inputs.get("allows")]


# --- the VPC ---------------------------------------------------------------------------


def test_one_custom_mode_globally_routed_network(rec):
    inputs = rec.one(NETWORK).inputs
    assert inputs["autoCreateSubnetworks"] is False
    assert inputs["routingMode"] == "GLOBAL"
    # Private nodes leave through Cloud NAT, which needs the default internet route.
    assert inputs["deleteDefaultRoutesOnCreate"] is False


def test_vpc_outputs_are_the_networks(rec):
    network = rec.one(NETWORK).outputs
    assert rec.exports["network_id"] == network["id"]
    assert rec.exports["network_self_link"] == network["selfLink"]
    assert rec.exports["network_name"] == network["name"]


# --- firewall rules --------------------------------------------------------------------


def test_exactly_three_ingress_rules_on_the_network(rec):
    network = rec.one(NETWORK)
    rules = rec.of_type(FIREWALL)
    assert sorted(firewalls(rec)) == ["allow-health-checks", "allow-internal", "deny-all-ingress"]
    for rule in rules:
        assert rule.inputs["direction"] == "INGRESS"
        assert rule.inputs["network"] == network.outputs["selfLink"]
        assert network.urn in rule.dependencies


def test_internal_rule_covers_exactly_the_fleets_gcp_ranges(rec):
    internal = firewalls(rec)["allow-internal"]
    expected = [cidr for ranges in GCP_RANGES.values() for cidr in ranges]
    assert internal["sourceRanges"] == expected
    assert sorted(a["protocol"] for a in internal["allows"]) == ["icmp", "tcp", "udp"]
    # The AWS regions of the fleet reach GCP over the internet endpoints, not this rule.
    assert not {"10.20.0.0/16", "10.21.0.0/16"} & set(internal["sourceRanges"])


def test_health_check_rule_admits_googles_probe_ranges_on_tcp_only(rec):
    rule = firewalls(rec)["allow-health-checks"]
    assert set(rule["sourceRanges"]) == HEALTH_CHECKS
    assert rule["allows"] == [{"protocol": "tcp"}]


def test_no_ssh_from_iap_or_anywhere(rec):
    for rule in allow_rules(rec):
        assert "35.235.240.0/20" not in rule["sourceRanges"]
        assert all("22" not in allow.get("ports", []) for allow in rule["allows"])


def test_no_allow_rule_admits_the_internet(rec):
    for rule in allow_rules(rec):
        # An allow rule with no source at all would admit 0.0.0.0/0 too.
        assert rule["sourceRanges"]
        assert "0.0.0.0/0" not in rule["sourceRanges"]
        assert not rule.get("sourceTags")


def test_explicit_deny_all_below_every_allow(rec):
    rules = firewalls(rec)
    deny = rules["deny-all-ingress"]
    assert deny["sourceRanges"] == ["0.0.0.0/0"]
    assert deny["denies"] == [{"protocol": "all"}]
    assert "allows" not in deny
    # Lower precedence than every allow rule, GKE's own (1000), above the implied deny (65535).
    assert deny["priority"] == 65534
    assert all(rule["priority"] <= 1000 for rule in allow_rules(rec))


def test_every_rule_logs_with_all_metadata(rec):
    for name, rule in firewalls(rec).items():
        assert rule["logConfig"] == {"metadata": "INCLUDE_ALL_METADATA"}, name


def test_vpc_refuses_a_fleet_without_gcp_regions(run, dev_fleet):
    # Its internal rule would have no source ranges, which GCP reads as 0.0.0.0/0.
    with pytest.raises(ValueError, match="no gcp region"):
        run(lambda: GcpVpc("dev", GcpVpcArgs(fleet=dev_fleet)))


# --- per-region subnets ----------------------------------------------------------------


def test_one_subnet_per_gcp_region_with_its_primary_and_secondary_ranges(rec):
    assert len(rec.of_type(SUBNETWORK)) == len(GCP_RANGES)
    for region, (nodes, pods, services) in GCP_RANGES.items():
        inputs = subnet_of(rec, region).inputs
        assert inputs["region"] == region
        assert inputs["ipCidrRange"] == nodes
        assert inputs["secondaryIpRanges"] == [
            {"rangeName": f"llm-prod-{region}-pods", "ipCidrRange": pods},
            {"rangeName": f"llm-prod-{region}-services", "ipCidrRange": services},
        ]
        assert inputs["purpose"] == "PRIVATE"
        assert inputs["stackType"] == "IPV4_ONLY"
        assert inputs["privateIpGoogleAccess"] is True


def test_subnets_join_the_vpc(rec):
    network = rec.one(NETWORK)
    for region in GCP_RANGES:
        subnet = subnet_of(rec, region)
        assert subnet.inputs["network"] == network.outputs["id"]
        assert network.urn in subnet.dependencies


def test_region_outputs_name_the_subnet_and_its_ranges(rec):
    for region in GCP_RANGES:
        subnet = subnet_of(rec, region)
        assert rec.exports[f"{region}.subnetwork_id"] == subnet.outputs["id"]
        assert rec.exports[f"{region}.subnetwork_self_link"] == subnet.outputs["selfLink"]
        names = [r["rangeName"] for r in subnet.inputs["secondaryIpRanges"]]
        assert [
            rec.exports[f"{region}.pods_range_name"],
            rec.exports[f"{region}.services_range_name"],
        ] == names


def test_flow_logs_sampled_with_all_metadata(rec):
    for region in GCP_RANGES:
        log_config = subnet_of(rec, region).inputs["logConfig"]
        assert log_config["flowSampling"] == 0.5
        assert log_config["metadata"] == "INCLUDE_ALL_METADATA"
        assert log_config["aggregationInterval"].startswith("INTERVAL_")


def test_flow_logs_off_when_the_region_says_so(run, prod_config):
    prod_config["regions"][2]["network"] = {"flow_logs": False}
    fleet = parse_fleet(prod_config)
    rec = run(lambda: build(fleet))
    assert "logConfig" not in subnet_of(rec, "us-central1").inputs
    assert "logConfig" in subnet_of(rec, "europe-west4").inputs


def test_region_network_refuses_an_aws_region(run, prod_fleet):
    args = GcpRegionNetworkArgs(
        fleet=prod_fleet, region=prod_fleet.regions_of("aws")[0], network_id="net"
    )
    with pytest.raises(ValueError, match="not a gcp region"):
        run(lambda: GcpRegionNetwork("aws", args))


def test_region_network_refuses_a_name_too_long_for_gke_range_names(run, prod_fleet):
    args = GcpRegionNetworkArgs(
        fleet=prod_fleet, region=prod_fleet.regions_of("gcp")[0], network_id="net"
    )
    with pytest.raises(ValueError, match="longer than 63"):
        run(lambda: GcpRegionNetwork("n" * 55, args))


# --- Cloud Router and Cloud NAT --------------------------------------------------------


def test_router_and_nat_per_region_wired_to_that_regions_subnet(rec):
    network = rec.one(NETWORK)
    assert len(rec.of_type(ROUTER)) == len(rec.of_type(NAT)) == len(GCP_RANGES)
    for region in GCP_RANGES:
        router = rec.one(ROUTER, f"llm-prod-{region}-router")
        nat = rec.one(NAT, f"llm-prod-{region}-nat")
        subnet = subnet_of(rec, region)
        assert router.inputs["region"] == nat.inputs["region"] == region
        assert router.inputs["network"] == network.outputs["id"]
        assert nat.inputs["router"] == router.outputs["name"]
        assert router.urn in nat.dependencies
        assert nat.inputs["sourceSubnetworkIpRangesToNat"] == "LIST_OF_SUBNETWORKS"
        assert nat.inputs["subnetworks"] == [
            {"name": subnet.outputs["selfLink"], "sourceIpRangesToNats": ["ALL_IP_RANGES"]}
        ]
        assert subnet.urn in nat.dependencies


def test_nat_allocates_addresses_and_ports_for_busy_gpu_nodes(rec):
    for nat in rec.of_type(NAT):
        inputs = nat.inputs
        assert inputs["natIpAllocateOption"] == "AUTO_ONLY"
        assert inputs["logConfig"] == {"enable": True, "filter": "ERRORS_ONLY"}
        assert inputs["enableEndpointIndependentMapping"] is False
        assert inputs["enableDynamicPortAllocation"] is True
        # Dynamic allocation takes powers of two, from at least 32 up to at most 65536.
        low, high = inputs["minPortsPerVm"], inputs["maxPortsPerVm"]
        assert 64 < low < high <= 65536
        assert all(int(n) & (int(n) - 1) == 0 for n in (low, high))


# --- project, region and parents -------------------------------------------------------


def test_every_resource_is_in_the_fleets_project(rec):
    resources = rec.custom()
    # The VPC, its three firewall rules, per region a subnet, router and NAT; the Compute API.
    assert len(resources) == 1 + 3 + 3 * len(GCP_RANGES) + 1
    for resource in resources:
        assert resource.inputs["project"] == PROJECT, resource.name


def test_regional_resources_are_recorded_in_their_region_and_global_ones_globally(rec):
    for region in GCP_RANGES:
        component = rec.one("llmfleet:gcp:RegionNetwork", f"llm-prod-{region}")
        children = rec.children(component)
        assert sorted(c.type for c in children) == sorted([SUBNETWORK, ROUTER, NAT])
        for child in children:
            assert child.inputs["region"] == region
            assert (child.cloud, child.region) == ("gcp", region)
    for resource in [rec.one(NETWORK), *rec.of_type(FIREWALL)]:
        assert (resource.cloud, resource.region) == ("gcp", "global")


def test_network_and_firewalls_belong_to_the_vpc_component(rec):
    vpc = rec.one("llmfleet:gcp:Vpc", "llm-prod-gcp")
    assert sorted(c.type for c in rec.children(vpc)) == sorted([NETWORK, *[FIREWALL] * 3])

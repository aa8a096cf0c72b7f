"""AwsNetwork: one VPC per AWS region, laid out for EKS GPU clusters with Karpenter."""

from __future__ import annotations

import copy
import json
from ipaddress import IPv4Network
from typing import Any

import pulumi
import pytest

from llmfleet.components.aws.network import (
    INTERFACE_ENDPOINT_SERVICES,
    MAX_ZONES,
    AwsNetwork,
    AwsNetworkArgs,
    cluster_name,
    flow_log_source_arn,
    subnet_layout,
)
from llmfleet.components.spec import ALLOWED_RANGES, parse_fleet
from llmfleet.recorder import RecordedResource, Recording, record
from tests.conftest import DEV_FLEET, PROD_FLEET

COMPONENT = "llmfleet:aws:Network"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
IGW = "aws:ec2/internetGateway:InternetGateway"
EIP = "aws:ec2/eip:Eip"
NAT = "aws:ec2/natGateway:NatGateway"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
KMS_KEY = "aws:kms/key:Key"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"

UNTAGGABLE = {ROUTE, ASSOCIATION, ROLE_POLICY}
GLOBAL_TYPES = {ROLE, ROLE_POLICY}
OUTPUTS = ("vpc_id", "private_subnet_ids", "public_subnet_ids", "private_route_table_ids", "cidr")


def network_program(config: dict[str, Any]):
    """A program building the AwsNetwork of the config's first region, exporting its outputs."""
    fleet = parse_fleet(config)

    def program() -> None:
        network = AwsNetwork("net", AwsNetworkArgs(fleet=fleet, region=fleet.regions[0]))
        for output in OUTPUTS:
            pulumi.export(output, getattr(network, output))

    return program


def with_network(config: dict[str, Any], **network: Any) -> dict[str, Any]:
    changed = copy.deepcopy(config)
    changed["regions"][0]["network"] = network
    return changed


@pytest.fixture(scope="module")
def dev() -> Recording:
    """dev: us-east-1 over 2 zones, 10.10.0.0/16, single NAT and no interface endpoints."""
    return record(network_program(copy.deepcopy(DEV_FLEET)))


@pytest.fixture(scope="module")
def prod() -> Recording:
    """prod: us-east-1 over 3 zones, 10.20.0.0/16, NAT per zone and interface endpoints."""
    return record(network_program(copy.deepcopy(PROD_FLEET)))


@pytest.fixture(params=["dev", "prod"])
def recording(request) -> Recording:
    return request.getfixturevalue(request.param)


def zones_of(rec: Recording) -> list[str]:
    return [s.inputs["availabilityZone"] for s in subnets(rec, "private")]


def subnets(rec: Recording, kind: str) -> list[RecordedResource]:
    return [s for s in rec.of_type(SUBNET) if s.name.startswith(f"net-{kind}-")]


def output_id(resource: RecordedResource) -> str:
    return resource.outputs["id"]


def table_of(rec: Recording, subnet: RecordedResource) -> RecordedResource:
    """The route table a subnet is associated with (exactly one)."""
    [association] = [
        a for a in rec.of_type(ASSOCIATION) if a.inputs["subnetId"] == output_id(subnet)
    ]
    [table] = [
        t for t in rec.of_type(ROUTE_TABLE) if output_id(t) == association.inputs["routeTableId"]
    ]
    return table


def default_route(rec: Recording, table: RecordedResource) -> RecordedResource:
    [route] = [r for r in rec.of_type(ROUTE) if r.inputs["routeTableId"] == output_id(table)]
    assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
    return route


def nat_of_private_subnet(rec: Recording, subnet: RecordedResource) -> RecordedResource:
    route = default_route(rec, table_of(rec, subnet))
    [nat] = [n for n in rec.of_type(NAT) if output_id(n) == route.inputs["natGatewayId"]]
    return nat


def zone_of_subnet_id(rec: Recording, subnet_id: str) -> str:
    [subnet] = [s for s in rec.of_type(SUBNET) if output_id(s) == subnet_id]
    return subnet.inputs["availabilityZone"]


# --- subnet layout (pure) ---------------------------------------------------------------


@pytest.mark.parametrize("zones", range(1, 7))
@pytest.mark.parametrize("prefix", range(16, 21))
def test_layout_fits_every_allowed_vpc_without_overlap(prefix, zones):
    for allowed in ALLOWED_RANGES:
        vpc = IPv4Network((allowed.network_address, prefix))
        layout = subnet_layout(vpc, zones)
        every = [*layout.private, *layout.public]
        assert len(layout.private) == len(layout.public) == zones
        assert all(subnet.subnet_of(vpc) for subnet in every)
        for i, subnet in enumerate(every):
            for other in every[i + 1 :]:
                assert not subnet.overlaps(other), f"{subnet} overlaps {other} in {vpc}"
        assert {s.prefixlen for s in layout.private} == {prefix + 3}
        assert {s.prefixlen for s in layout.public} == {prefix + 6}


def test_layout_gives_pods_a_slash_19_per_zone_and_public_slash_22s_at_slash_16():
    layout = subnet_layout(IPv4Network("10.10.0.0/16"), 3)
    assert [str(s) for s in layout.private] == ["10.10.0.0/19", "10.10.32.0/19", "10.10.64.0/19"]
    assert [str(s) for s in layout.public] == [
        "10.10.224.0/22",
        "10.10.228.0/22",
        "10.10.232.0/22",
    ]


def test_smallest_vpc_still_leaves_room_for_nat_and_load_balancers():
    layout = subnet_layout(IPv4Network("10.10.0.0/20"), 6)
    # An ALB needs a /27 or larger with 8 free addresses; AWS keeps 5 of every subnet.
    assert all(s.num_addresses >= 64 for s in layout.public)
    assert all(s.num_addresses >= 512 for s in layout.private)


@pytest.mark.parametrize("zones", [0, MAX_ZONES + 1])
def test_layout_refuses_zone_counts_it_has_no_room_for(zones):
    with pytest.raises(ValueError, match="zones"):
        subnet_layout(IPv4Network("10.10.0.0/16"), zones)


def test_cluster_name_is_fleet_and_region(dev_fleet):
    assert cluster_name(dev_fleet, dev_fleet.regions[0]) == "llm-dev-us-east-1"


def test_flow_log_source_arn_keeps_partition_account_and_region():
    arn = "arn:aws-us-gov:ec2:us-gov-west-1:111122223333:vpc/vpc-0abc"
    assert (
        flow_log_source_arn(arn) == "arn:aws-us-gov:ec2:us-gov-west-1:111122223333:vpc-flow-log/*"
    )


def test_refuses_a_gcp_region(prod_fleet, run):
    gcp = prod_fleet.regions[2]
    with pytest.raises(ValueError, match="aws region"):
        run(lambda: AwsNetwork("net", AwsNetworkArgs(fleet=prod_fleet, region=gcp)))


# --- VPC, subnets, tags ------------------------------------------------------------------


def test_vpc_takes_the_region_cidr_with_dns_on(dev):
    vpc = dev.one(VPC).inputs
    assert vpc["cidrBlock"] == "10.10.0.0/16"
    assert vpc["enableDnsSupport"] is True
    assert vpc["enableDnsHostnames"] is True
    assert dev.exports["cidr"] == "10.10.0.0/16"
    assert dev.exports["vpc_id"] == output_id(dev.one(VPC))


def test_every_taggable_resource_carries_fleet_labels_and_its_name(prod):
    labels = parse_fleet(copy.deepcopy(PROD_FLEET)).labels()
    tagged = [r for r in prod.custom() if r.type not in UNTAGGABLE]
    assert len(tagged) > 20
    for resource in tagged:
        tags = resource.inputs.get("tags", {})
        assert tags.items() >= labels.items(), resource.name
        assert tags["Name"] == resource.name


@pytest.mark.parametrize(("fixture", "zones"), [("dev", 2), ("prod", 3)])
def test_one_private_and_one_public_subnet_per_zone(request, fixture, zones):
    rec = request.getfixturevalue(fixture)
    expected = ["us-east-1a", "us-east-1b", "us-east-1c"][:zones]
    assert len(rec.of_type(SUBNET)) == 2 * zones
    for kind in ("private", "public"):
        assert [s.inputs["availabilityZone"] for s in subnets(rec, kind)] == expected


def test_subnets_lie_inside_the_vpc_and_are_disjoint(recording):
    vpc = IPv4Network(recording.one(VPC).inputs["cidrBlock"])
    cidrs = [IPv4Network(s.inputs["cidrBlock"]) for s in recording.of_type(SUBNET)]
    assert all(c.subnet_of(vpc) for c in cidrs)
    for i, cidr in enumerate(cidrs):
        assert not any(cidr.overlaps(other) for other in cidrs[i + 1 :])


def test_private_subnets_are_the_large_ones(prod):
    assert {s.inputs["cidrBlock"] for s in subnets(prod, "private")} == {
        "10.20.0.0/19",
        "10.20.32.0/19",
        "10.20.64.0/19",
    }
    assert all(s.inputs["cidrBlock"].endswith("/22") for s in subnets(prod, "public"))


def test_subnets_never_hand_out_public_addresses(recording):
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in recording.of_type(SUBNET))


def test_subnet_tags_let_load_balancers_and_karpenter_find_them(dev):
    for subnet in subnets(dev, "public"):
        assert subnet.inputs["tags"]["kubernetes.io/role/elb"] == "1"
        assert "kubernetes.io/role/internal-elb" not in subnet.inputs["tags"]
        assert "karpenter.sh/discovery" not in subnet.inputs["tags"]
    for subnet in subnets(dev, "private"):
        assert subnet.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1"
        assert subnet.inputs["tags"]["karpenter.sh/discovery"] == "llm-dev-us-east-1"
        assert "kubernetes.io/role/elb" not in subnet.inputs["tags"]


def test_subnet_ids_are_exported_in_zone_order(recording):
    for kind in ("private", "public"):
        ids = recording.exports[f"{kind}_subnet_ids"]
        assert ids == [output_id(s) for s in subnets(recording, kind)]
        assert [zone_of_subnet_id(recording, i) for i in ids] == zones_of(recording)


# --- internet, NAT and routes ------------------------------------------------------------


def test_public_subnets_route_to_the_internet_gateway(recording):
    igw = recording.one(IGW)
    assert igw.inputs["vpcId"] == output_id(recording.one(VPC))
    [table] = {table_of(recording, s).urn for s in subnets(recording, "public")}
    route = default_route(recording, recording.by_urn[table])
    assert route.inputs["gatewayId"] == output_id(igw)
    assert "natGatewayId" not in route.inputs


def test_each_private_subnet_has_its_own_route_table(recording):
    private = subnets(recording, "private")
    tables = [table_of(recording, s) for s in private]
    assert len({t.urn for t in tables}) == len(private)
    assert recording.exports["private_route_table_ids"] == [output_id(t) for t in tables]
    assert len(recording.of_type(ROUTE_TABLE)) == len(private) + 1


def test_single_nat_in_the_first_zone_serves_every_zone_in_dev(dev):
    [nat] = dev.of_type(NAT)
    assert zone_of_subnet_id(dev, nat.inputs["subnetId"]) == "us-east-1a"
    assert nat.inputs["subnetId"] in dev.exports["public_subnet_ids"]
    for subnet in subnets(dev, "private"):
        assert nat_of_private_subnet(dev, subnet).urn == nat.urn


def test_prod_gets_a_nat_per_zone_used_by_that_zone(prod):
    assert len(prod.of_type(NAT)) == 3
    for subnet in subnets(prod, "private"):
        nat = nat_of_private_subnet(prod, subnet)
        assert nat.inputs["subnetId"] in prod.exports["public_subnet_ids"]
        assert zone_of_subnet_id(prod, nat.inputs["subnetId"]) == subnet.inputs["availabilityZone"]


def test_nat_mode_overrides_the_environment_default(run, prod_config):
    rec = run(network_program(with_network(prod_config, nat="single")))
    [nat] = rec.of_type(NAT)
    assert all(nat_of_private_subnet(rec, s).urn == nat.urn for s in subnets(rec, "private"))


def test_every_nat_has_its_own_elastic_ip_and_waits_for_the_internet_gateway(recording):
    nats = recording.of_type(NAT)
    eips = recording.of_type(EIP)
    assert len(eips) == len(nats)
    assert {e.outputs["allocationId"] for e in eips} == {n.inputs["allocationId"] for n in nats}
    igw = recording.one(IGW)
    for eip in eips:
        assert eip.inputs["domain"] == "vpc"
        assert igw.urn in eip.dependencies
    for nat in nats:
        assert nat.inputs["connectivityType"] == "public"
        assert igw.urn in nat.dependencies


# --- security groups and endpoints --------------------------------------------------------


def test_default_security_group_is_emptied(recording):
    default = recording.one(DEFAULT_SG).inputs
    assert default["vpcId"] == output_id(recording.one(VPC))
    assert default["ingress"] == []
    assert default["egress"] == []


def test_s3_gateway_endpoint_serves_every_private_route_table(recording):
    [s3] = [e for e in recording.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Gateway"]
    assert s3.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert s3.inputs["routeTableIds"] == recording.exports["private_route_table_ids"]


def interface_endpoints(rec: Recording) -> list[RecordedResource]:
    return [e for e in rec.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Interface"]


def test_dev_has_no_interface_endpoints_by_default(dev):
    assert interface_endpoints(dev) == []
    assert dev.of_type(SG) == []


def test_prod_reaches_ecr_sts_eks_auth_and_ec2_through_private_endpoints(prod):
    endpoints = interface_endpoints(prod)
    assert sorted(e.inputs["serviceName"] for e in endpoints) == [
        "com.amazonaws.us-east-1.ec2",
        "com.amazonaws.us-east-1.ecr.api",
        "com.amazonaws.us-east-1.ecr.dkr",
        "com.amazonaws.us-east-1.eks-auth",
        "com.amazonaws.us-east-1.sts",
    ]
    assert len(INTERFACE_ENDPOINT_SERVICES) == 5
    sg = prod.one(SG)
    for endpoint in endpoints:
        assert endpoint.inputs["privateDnsEnabled"] is True
        assert endpoint.inputs["subnetIds"] == prod.exports["private_subnet_ids"]
        assert endpoint.inputs["securityGroupIds"] == [output_id(sg)]


def test_endpoint_security_group_allows_only_https_from_the_vpc(prod):
    sg = prod.one(SG).inputs
    assert sg["vpcId"] == output_id(prod.one(VPC))
    [rule] = sg["ingress"]
    assert (rule["protocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 443, 443)
    assert rule["cidrBlocks"] == ["10.20.0.0/16"]
    assert sg["egress"] == []


def test_private_endpoints_can_be_asked_for_in_dev(run, dev_config):
    rec = run(network_program(with_network(dev_config, private_endpoints=True)))
    assert len(interface_endpoints(rec)) == len(INTERFACE_ENDPOINT_SERVICES)
    assert rec.one(SG).inputs["ingress"][0]["cidrBlocks"] == ["10.10.0.0/16"]


# --- flow logs ----------------------------------------------------------------------------


def test_flow_logs_capture_all_traffic_of_the_vpc_to_cloudwatch(recording):
    flow_log = recording.one(FLOW_LOG)
    group = recording.one(LOG_GROUP)
    role = recording.one(ROLE)
    assert flow_log.inputs["vpcId"] == output_id(recording.one(VPC))
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs"
    assert flow_log.inputs["logDestination"] == group.outputs["arn"]
    assert flow_log.inputs["iamRoleArn"] == role.outputs["arn"]
    assert recording.one(ROLE_POLICY).urn in flow_log.dependencies
    # A year in prod (the policy pack's prod-log-retention minimum), 90 days otherwise.
    env = recording.one(VPC).inputs["tags"]["environment"]
    assert group.inputs["retentionInDays"] == (365 if env == "prod" else 90)
    key = recording.one(KMS_KEY)
    assert group.inputs["kmsKeyId"] == key.outputs["arn"]
    assert key.inputs["enableKeyRotation"] is True
    statement = json.loads(key.inputs["policy"])["Statement"][1]
    assert statement["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert statement["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"].endswith(
        ":log-group:" + group.inputs["name"]
    )


def test_flow_log_role_is_trusted_only_by_this_accounts_flow_logs(dev):
    trust = json.loads(dev.one(ROLE).inputs["assumeRolePolicy"])
    assert trust["Version"] == "2012-10-17"
    assert trust["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": "123456789012"},
                "ArnLike": {"aws:SourceArn": "arn:aws:ec2:us-east-1:123456789012:vpc-flow-log/*"},
            },
        }
    ]


def test_flow_log_role_may_only_write_to_its_log_group_and_look_groups_up(dev):
    policy = dev.one(ROLE_POLICY)
    group_arn = dev.one(LOG_GROUP).outputs["arn"]
    assert policy.inputs["role"] == output_id(dev.one(ROLE))
    write, look_up = json.loads(policy.inputs["policy"])["Statement"]
    assert write["Effect"] == "Allow"
    assert sorted(write["Action"]) == [
        "logs:CreateLogStream",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
    ]
    assert write["Resource"] == [group_arn, f"{group_arn}:*"]
    assert "Condition" not in write
    # AWS lists DescribeLogGroups among the minimum permissions of a flow-log role.
    assert look_up == {
        "Effect": "Allow",
        "Action": "logs:DescribeLogGroups",
        "Resource": "arn:aws:logs:us-east-1:123456789012:log-group:*",
    }


def test_flow_log_retention_follows_the_spec(run, dev_config):
    rec = run(network_program(with_network(dev_config, flow_log_retention_days=30)))
    assert rec.one(LOG_GROUP).inputs["retentionInDays"] == 30


def test_flow_logs_can_be_turned_off(run, dev_config):
    rec = run(network_program(with_network(dev_config, flow_logs=False)))
    for type_ in (FLOW_LOG, LOG_GROUP, ROLE, ROLE_POLICY):
        assert rec.of_type(type_) == []


# --- placement and tree -------------------------------------------------------------------


def test_every_resource_lives_in_the_region(recording):
    for resource in recording.resources:
        assert resource.region == "us-east-1", resource.name
    for resource in recording.custom():
        if resource.type not in GLOBAL_TYPES:
            assert resource.inputs["region"] == "us-east-1", resource.name
        else:
            assert "region" not in resource.inputs


def test_every_resource_is_a_child_of_the_component(recording):
    component = recording.one(COMPONENT, "net")
    assert recording.children(component) == recording.custom()
    assert len(recording.resources) == len(recording.custom()) + 1

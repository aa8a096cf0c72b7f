"""The recording monitor: what it keeps of each resource, and where it places it."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
import pulumi_kubernetes as kubernetes
import pytest

from tests.conftest import PLAN_RESOURCE_KEYS


class Region(pulumi.ComponentResource):
    def __init__(self, name: str, region: str, opts=None):
        super().__init__("llmfleet:test:Region", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block="10.0.0.0/16",
            region=region,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=True,
                retain_on_delete=True,
                delete_before_replace=True,
                ignore_changes=["tags"],
            ),
        )
        self.subnet = aws.ec2.Subnet(
            f"{name}-subnet",
            vpc_id=self.vpc.id,
            cidr_block="10.0.0.0/20",
            region=region,
            opts=child,
        )
        self.role = aws.iam.Role(f"{name}-role", assume_role_policy="{}", opts=child)
        kubeconfig = pulumi.Output.secret("{}")
        self.k8s = kubernetes.Provider(f"{name}-k8s", kubeconfig=kubeconfig, opts=child)
        kubernetes.core.v1.Namespace(
            f"{name}-ns",
            metadata={"name": "serving"},
            opts=pulumi.ResourceOptions(parent=self, provider=self.k8s),
        )
        self.register_outputs({})


@pytest.fixture(scope="module")
def recording():
    from llmfleet.recorder import record

    def program():
        east = Region("east", "us-east-1")
        Region("west", "us-west-2")
        gcp.compute.Network("vpc", auto_create_subnetworks=False, project="p")
        gcp.compute.Subnetwork(
            "subnet", network="vpc", ip_cidr_range="10.1.0.0/20", region="europe-west4"
        )
        gcp.container.NodePool("pool", cluster="c", location="us-central1-a")
        pulumi.export("subnet", east.subnet.id)
        pulumi.export("secret", pulumi.Output.secret("s3cr3t"))

    return record(program)


def test_inputs_are_camel_case_and_wired_outputs_are_present(recording):
    subnet = recording.one("aws:ec2/subnet:Subnet", "east-subnet")
    vpc = recording.one("aws:ec2/vpc:Vpc", "east-vpc")
    assert subnet.inputs["cidrBlock"] == "10.0.0.0/20"
    assert subnet.inputs["vpcId"].startswith("vpc-")
    assert vpc.urn in subnet.dependencies


def test_parent_protect_and_provider_are_kept(recording):
    region = recording.one("llmfleet:test:Region", "east")
    vpc = recording.one("aws:ec2/vpc:Vpc", "east-vpc")
    namespace = recording.one("kubernetes:core/v1:Namespace", "east-ns")
    provider = recording.one("pulumi:providers:kubernetes", "east-k8s")
    assert region.parent is None
    assert vpc.parent == region.urn
    assert vpc.protect is True
    assert (vpc.retain_on_delete, vpc.delete_before_replace) == (True, True)
    assert vpc.ignore_changes == ["tags"]
    assert recording.one("aws:ec2/subnet:Subnet", "east-subnet").protect is False
    assert namespace.provider == provider.urn


def test_regional_resources_carry_their_own_region(recording):
    assert recording.one("aws:ec2/vpc:Vpc", "west-vpc").region == "us-west-2"
    assert recording.one("gcp:compute/subnetwork:Subnetwork", "subnet").region == "europe-west4"


def test_zonal_gcp_resources_carry_their_region(recording):
    assert recording.one("gcp:container/nodePool:NodePool", "pool").region == "us-central1"


def test_regionless_resources_take_the_region_of_their_component(recording):
    role = recording.one("aws:iam/role:Role", "west-role")
    assert (role.cloud, role.region) == ("aws", "us-west-2")
    region = recording.one("llmfleet:test:Region", "west")
    assert (region.cloud, region.region) == ("aws", "us-west-2")


def test_kubernetes_objects_take_their_cluster_provider_region(recording):
    namespace = recording.one("kubernetes:core/v1:Namespace", "east-ns")
    assert (namespace.cloud, namespace.region) == ("aws", "us-east-1")


def test_global_resources_are_global(recording):
    network = recording.one("gcp:compute/network:Network", "vpc")
    assert (network.cloud, network.region) == ("gcp", "global")


def test_exports_are_resolved_and_secrets_unwrapped(recording):
    assert recording.exports["subnet"].startswith("subnet-")
    assert recording.exports["secret"] == "s3cr3t"


def test_plan_json_shape(recording):
    body = recording.one("aws:ec2/vpc:Vpc", "east-vpc").to_json()
    assert set(body) == PLAN_RESOURCE_KEYS


def test_urns_are_the_engines(run):
    """Top-level resources carry no stack type; nested ones carry every ancestor's type."""

    class Outer(pulumi.ComponentResource):
        def __init__(self, name: str):
            super().__init__("llmfleet:test:Outer", name)
            Region(f"{name}-inner", "us-east-1", pulumi.ResourceOptions(parent=self))
            self.register_outputs({})

    recording = run(lambda: Outer("o"), stack="dev")
    assert recording.one("llmfleet:test:Outer").urn == (
        "urn:pulumi:dev::llmfleet::llmfleet:test:Outer::o"
    )
    assert recording.one("aws:ec2/vpc:Vpc").urn == (
        "urn:pulumi:dev::llmfleet::llmfleet:test:Outer$llmfleet:test:Region$aws:ec2/vpc:Vpc"
        "::o-inner-vpc"
    )


def test_resources_are_in_canonical_order(recording):
    # Parents before their children, siblings by name: not the order Outputs happened to resolve.
    names = [r.name for r in recording.resources]
    assert names[:2] == ["east", "east-k8s"]
    assert names.index("west") > names.index("east-vpc")
    for position, resource in enumerate(recording.resources):
        if resource.parent:
            parent = recording.by_urn[resource.parent]
            assert recording.resources.index(parent) < position
    roots = [r.name for r in recording.resources if r.parent is None]
    assert roots == sorted(roots)


def test_property_dependencies_name_the_input_each_urn_flows_into(recording):
    vpc = recording.one("aws:ec2/vpc:Vpc", "east-vpc")
    subnet = recording.one("aws:ec2/subnet:Subnet", "east-subnet")
    assert subnet.property_dependencies == {"vpcId": [vpc.urn]}
    assert subnet.to_json()["propertyDependencies"] == {"vpcId": [vpc.urn]}
    assert vpc.property_dependencies == {}


def test_a_recording_leaves_the_sdk_as_it_found_them(run):
    from llmfleet import pulumi_internals as sdk

    stack_trace = sdk.STACK_TRACE_OWNER._get_stack_trace
    seen: dict[str, object] = {}

    def program():
        # Inside, registrations carry no stack trace.
        seen["stack_trace"] = sdk.STACK_TRACE_OWNER._get_stack_trace
        raise RuntimeError("program failed")

    with pytest.raises(Exception, match="program failed"):
        run(program)
    assert seen["stack_trace"] is sdk.StackTrace
    assert sdk.STACK_TRACE_OWNER._get_stack_trace is stack_trace

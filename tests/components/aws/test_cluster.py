"""AwsCluster: a production-grade EKS cluster per AWS region, with Karpenter GPU pools."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import kubernetes_validate
import pulumi
import pytest

from llmfleet.components import catalog
from llmfleet.components.aws.cluster import (
    CONTROL_PLANE_LOG_TYPES,
    AwsCliCredentials,
    AwsCluster,
    AwsClusterArgs,
    system_ami_type,
)
from llmfleet.components.aws.karpenter import (
    KARPENTER_VERSION,
    capacity_types,
    drift_budgets,
    node_class_spec,
    node_requirements,
    root_volume_gib,
)
from llmfleet.components.k8s.nvidia import DCGM_EXPORTER, NVIDIA_DEVICE_PLUGIN
from llmfleet.components.spec import EKS_NODE_IMAGE, GpuPoolSpec, MaintenanceWindowSpec, parse_fleet
from llmfleet.mock_outputs.aws import ACCOUNT_ID
from llmfleet.pulumi_internals import sync_await
from llmfleet.recorder import RecordedResource, Recording, record
from tests.conftest import DEV_FLEET, PROD_FLEET
from tests.k8s_schemas import validate_custom_resource

CLUSTER = "aws:eks/cluster:Cluster"
KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
ADDON = "aws:eks/addon:Addon"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
EC2_TAG = "aws:ec2/tag:Tag"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
K8S_PROVIDER = "pulumi:providers:kubernetes"
RELEASE = "kubernetes:helm.sh/v3:Release"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
NAMESPACE = "kubernetes:core/v1:Namespace"

UNTAGGABLE = {ROLE_POLICY, ATTACHMENT, ALIAS, QUEUE_POLICY, EVENT_TARGET, EC2_TAG}
STATEFUL = {KEY, CLUSTER, LOG_GROUP}
SUBNETS = ["subnet-0a", "subnet-0b", "subnet-0c"]
REGION = "us-east-1"

PROD_GPU_POOLS = [
    {
        "name": "l4",
        "accelerator": "nvidia-l4",
        "count": 1,
        "spot": True,
        "on_demand_fallback": True,
        "max_nodes": 4,
    },
    {"name": "h100", "accelerator": "nvidia-h100-80gb", "count": 8, "max_nodes": 2},
]
DEV_GPU_POOLS = [
    {"name": "l4", "accelerator": "nvidia-l4", "spot": True, "on_demand_fallback": False}
]


class Built:
    """A recording of one AwsCluster, with the component object it came from."""

    def __init__(self, config: dict[str, Any], credentials: AwsCliCredentials | None = None):
        self.fleet = parse_fleet(config)
        self.region = self.fleet.regions[0]
        self.credentials = credentials
        self.component: AwsCluster | None = None
        self.rec: Recording = record(self._program)

    def _program(self) -> None:
        self.component = AwsCluster(
            "c",
            AwsClusterArgs(
                fleet=self.fleet,
                region=self.region,
                vpc_id="vpc-0123",
                private_subnet_ids=SUBNETS,
                cli_credentials=self.credentials,
            ),
        )
        for output in ("cluster_name", "endpoint", "oidc_provider_arn"):
            pulumi.export(output, getattr(self.component, output))

    def one(self, type_: str, name: str | None = None) -> RecordedResource:
        return self.rec.one(type_, name)

    def outputs(self, type_: str, name: str | None = None) -> dict[str, Any]:
        return self.one(type_, name).outputs


def _with_cluster(base: dict[str, Any], cluster: dict[str, Any]) -> dict[str, Any]:
    config = copy.deepcopy(base)
    config["regions"][0]["cluster"] = cluster
    return config


@pytest.fixture(scope="module")
def prod() -> Built:
    """A prod us-east-1 cluster with public API access for one CIDR and two GPU pools."""
    return Built(
        _with_cluster(
            PROD_FLEET, {"public_access_cidrs": ["203.0.113.0/24"], "gpu_pools": PROD_GPU_POOLS}
        )
    )


@pytest.fixture(scope="module")
def dev() -> Built:
    """A dev us-east-1 cluster over two zones: private API, one spot-only GPU pool."""
    return Built(_with_cluster(DEV_FLEET, {"gpu_pools": DEV_GPU_POOLS}))


def policy(resource: RecordedResource, key: str = "policy") -> dict[str, Any]:
    document = json.loads(resource.inputs[key])
    assert document["Version"] == "2012-10-17"
    return document


def statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    (found,) = [s for s in document["Statement"] if s.get("Sid") == sid]
    return found


def actions(stmt: dict[str, Any]) -> list[str]:
    return [stmt["Action"]] if isinstance(stmt["Action"], str) else stmt["Action"]


def attached(b: Built, role: RecordedResource) -> set[str]:
    role_name = role.outputs["name"]
    return {
        a.inputs["policyArn"].removeprefix("arn:aws:iam::aws:policy/")
        for a in b.rec.of_type(ATTACHMENT)
        if a.inputs["role"] == role_name
    }


def pod_identity(b: Built, namespace: str, service_account: str) -> RecordedResource:
    (found,) = [
        a
        for a in b.rec.of_type(POD_IDENTITY)
        if (a.inputs["namespace"], a.inputs["serviceAccount"]) == (namespace, service_account)
    ]
    return found


def inline_policies(b: Built, role: RecordedResource) -> list[RecordedResource]:
    return [p for p in b.rec.of_type(ROLE_POLICY) if p.inputs["role"] == role.outputs["id"]]


def role_with_arn(b: Built, arn: str) -> RecordedResource:
    (found,) = [r for r in b.rec.of_type(ROLE) if r.outputs["arn"] == arn]
    return found


# --- structure ---------------------------------------------------------------------------


def test_is_a_component_owning_every_resource(prod):
    component = prod.one("llmfleet:aws:Cluster", "c")
    below = {r.urn for r in prod.rec.descendants(component)}
    assert {r.urn for r in prod.rec.resources} - below == {component.urn}


def test_every_regional_aws_resource_names_its_region(prod):
    for r in prod.rec.custom():
        if r.type.startswith("aws:iam/"):
            assert "region" not in r.inputs, r.name
        elif r.type.startswith("aws:"):
            assert r.inputs["region"] == REGION, r.name


def test_every_taggable_aws_resource_carries_the_fleet_tags(prod):
    tagged = [r for r in prod.rec.custom() if r.type.startswith("aws:")]
    assert {r.type for r in tagged} >= STATEFUL
    for r in tagged:
        if r.type not in UNTAGGABLE:
            assert r.inputs["tags"].items() >= prod.fleet.labels().items(), r.name


def test_iam_roles_and_eventbridge_rules_have_stable_names_scoped_by_the_cluster(prod):
    roles = {r.name: r.inputs["name"] for r in prod.rec.of_type(ROLE)}
    assert roles == {
        "c-cluster-role": "llm-prod-us-east-1-cluster",
        "c-system-node-role": "llm-prod-us-east-1-system-node",
        "c-karpenter-node-role": "llm-prod-us-east-1-karpenter-node",
        "c-ebs-csi-driver": "llm-prod-us-east-1-ebs-csi-driver",
        "c-karpenter-controller": "llm-prod-us-east-1-karpenter-controller",
    }
    rules = {r.name: r.inputs["name"] for r in prod.rec.of_type(EVENT_RULE)}
    assert rules["c-karpenter-instance-state-change"] == (
        "llm-prod-us-east-1-karpenter-instance-state-change"
    )


LONGEST_FLEET = "llm-fleet-abcdef"
"""16 characters, the longest fleet name the spec allows."""
LONGEST_REGION = "ap-northeast-1"
"""The longest AWS region name in the catalog."""
LONGEST_SERVING = "s" * 32
"""A serving name as long as the spec allows (fleet.py names its reader role after it)."""


@pytest.fixture(scope="module")
def longest() -> Recording:
    """A cluster under the longest names the spec allows, named the way Fleet names it."""
    config = copy.deepcopy(DEV_FLEET)
    config["name"] = LONGEST_FLEET
    config["regions"][0].update(region=LONGEST_REGION)
    fleet = parse_fleet(config)
    region = fleet.regions[0]

    def program() -> None:
        cluster = AwsCluster(
            f"{LONGEST_FLEET}-{region.key}-cluster",
            AwsClusterArgs(fleet, region, "vpc-0123", SUBNETS),
        )
        cluster.service_account_role(f"{LONGEST_SERVING}-models", LONGEST_SERVING, "reader")

    return record(program)


@pytest.mark.parametrize("type_", [ROLE, EVENT_RULE])
def test_names_fit_aws_limits_for_the_longest_fleet_region_and_serving_names(longest, type_):
    # IAM role and EventBridge rule names stop at 64 characters; Pulumi's autonaming (the
    # mocks mimic its 8-character suffix) would have passed that for every fleet.
    names = [r.outputs["name"] for r in longest.of_type(type_)]
    assert names and all(len(n) <= 64 for n in names), names
    assert len(set(names)) == len(names)
    assert all(n.startswith(f"{LONGEST_FLEET}-{LONGEST_REGION}-") for n in names)


def test_refuses_a_gcp_region(prod_fleet):
    gcp_region = prod_fleet.regions_of("gcp")[0]
    with pytest.raises(ValueError, match="aws region"):
        AwsCluster("c", AwsClusterArgs(prod_fleet, gcp_region, "vpc-1", SUBNETS))


# --- KMS and the control plane -----------------------------------------------------------


def test_cluster_key_rotates_and_outlives_mistakes(prod):
    key = prod.one(KEY)
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30
    alias = prod.one(ALIAS)
    assert alias.inputs["name"] == "alias/llm-prod-us-east-1-eks"
    assert alias.inputs["targetKeyId"] == key.outputs["keyId"]


def test_key_policy_delegates_to_the_account_and_lets_ec2_encrypt_volumes(prod):
    document = policy(prod.one(KEY))
    admin = statement(document, "AccountAdministersKeyThroughIam")
    assert admin["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}
    assert admin["Action"] == "kms:*"
    for sid in ("EncryptNodeVolumesThroughEc2", "GrantNodeVolumeAttachmentThroughEc2"):
        condition = statement(document, sid)["Condition"]["StringEquals"]
        assert condition == {
            "kms:CallerAccount": ACCOUNT_ID,
            "kms:ViaService": "ec2.us-east-1.amazonaws.com",
        }
    grants = statement(document, "GrantNodeVolumeAttachmentThroughEc2")
    assert grants["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    logs = statement(document, "EncryptControlPlaneLogs")
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"].endswith(
        ":log-group:/aws/eks/llm-prod-us-east-1/cluster"
    )


def test_secrets_are_envelope_encrypted_with_the_cluster_key(prod):
    cluster, key = prod.one(CLUSTER), prod.one(KEY)
    assert cluster.inputs["encryptionConfig"] == {
        "resources": ["secrets"],
        "provider": {"keyArn": key.outputs["arn"]},
    }
    assert key.urn in cluster.dependencies


def test_control_plane_role_is_trusted_by_eks_and_may_use_the_key(prod):
    cluster = prod.one(CLUSTER)
    role = role_with_arn(prod, cluster.inputs["roleArn"])
    trust = policy(role, "assumeRolePolicy")["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "eks.amazonaws.com"}]
    assert attached(prod, role) == {"AmazonEKSClusterPolicy"}
    (key_use,) = inline_policies(prod, role)
    (grant,) = policy(key_use)["Statement"]
    assert grant["Resource"] == prod.outputs(KEY)["arn"]
    assert set(grant["Action"]) == {
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ListGrants",
        "kms:DescribeKey",
    }
    assert {key_use.urn, role.urn} <= set(cluster.dependencies)


def test_cluster_runs_the_spec_version(prod):
    cluster = prod.one(CLUSTER)
    assert cluster.inputs["name"] == "llm-prod-us-east-1"
    assert cluster.inputs["version"] == "1.35"
    assert prod.rec.exports["cluster_name"] == "llm-prod-us-east-1"


def test_prod_control_planes_are_never_upgraded_behind_the_stacks_back(prod, dev):
    # EXTENDED: past standard support the version stays until the spec raises it.
    assert prod.one(CLUSTER).inputs["upgradePolicy"] == {"supportType": "EXTENDED"}
    assert dev.one(CLUSTER).inputs["upgradePolicy"] == {"supportType": "STANDARD"}


def test_api_endpoint_is_private_and_public_only_for_the_listed_cidrs(prod, dev):
    assert prod.one(CLUSTER).inputs["vpcConfig"] == {
        "subnetIds": SUBNETS,
        "endpointPrivateAccess": True,
        "endpointPublicAccess": True,
        "publicAccessCidrs": ["203.0.113.0/24"],
    }
    assert dev.one(CLUSTER).inputs["vpcConfig"] == {
        "subnetIds": SUBNETS,
        "endpointPrivateAccess": True,
        "endpointPublicAccess": False,
    }


def test_every_control_plane_log_goes_to_an_encrypted_group_with_retention(prod):
    cluster, logs = prod.one(CLUSTER), prod.one(LOG_GROUP)
    assert cluster.inputs["enabledClusterLogTypes"] == list(CONTROL_PLANE_LOG_TYPES)
    assert set(CONTROL_PLANE_LOG_TYPES) == {
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    }
    assert logs.inputs["name"] == "/aws/eks/llm-prod-us-east-1/cluster"
    # A year in prod: the policy pack's prod-log-retention minimum.
    assert logs.inputs["retentionInDays"] == 365
    assert logs.inputs["kmsKeyId"] == prod.outputs(KEY)["arn"]
    assert logs.urn in cluster.dependencies


def test_access_is_by_access_entries_and_the_deployer_is_admin(prod):
    assert prod.one(CLUSTER).inputs["accessConfig"] == {
        "authenticationMode": "API",
        "bootstrapClusterCreatorAdminPermissions": True,
    }


def test_stateful_resources_are_protected_in_prod_only(prod, dev):
    assert {r.type for r in prod.rec.resources if r.protect} == STATEFUL
    assert [r.name for r in dev.rec.resources if r.protect] == []
    assert prod.one(CLUSTER).inputs["deletionProtection"] is True
    assert prod.one(LOG_GROUP).inputs["deletionProtectionEnabled"] is True
    assert dev.one(CLUSTER).inputs["deletionProtection"] is False
    assert dev.one(LOG_GROUP).inputs["deletionProtectionEnabled"] is False


# --- workload identity -------------------------------------------------------------------


def test_irsa_oidc_provider_trusts_the_cluster_issuer_for_sts(prod):
    oidc = prod.one(OIDC)
    issuer = prod.outputs(CLUSTER)["identities"][0]["oidcs"][0]["issuer"]
    assert oidc.inputs["url"] == issuer
    assert oidc.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert prod.rec.exports["oidc_provider_arn"] == oidc.outputs["arn"]


def test_pod_identity_roles_trust_only_their_service_account(prod):
    association = pod_identity(prod, "kube-system", "karpenter")
    role = role_with_arn(prod, association.inputs["roleArn"])
    (trust,) = policy(role, "assumeRolePolicy")["Statement"]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert trust["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert trust["Condition"]["StringEquals"] == {
        "aws:SourceAccount": ACCOUNT_ID,
        "aws:RequestTag/eks-cluster-name": "llm-prod-us-east-1",
        "aws:RequestTag/kubernetes-namespace": "kube-system",
        "aws:RequestTag/kubernetes-service-account": "karpenter",
    }
    assert association.inputs["clusterName"] == "llm-prod-us-east-1"


def test_service_account_role_grants_its_policy_before_the_association(prod):
    association = pod_identity(prod, "kube-system", "karpenter")
    role = role_with_arn(prod, association.inputs["roleArn"])
    (inline,) = inline_policies(prod, role)
    assert inline.urn in association.dependencies
    assert prod.component.pod_identity_associations.keys() == {
        "kube-system/karpenter",
        "kube-system/ebs-csi-controller-sa",
    }


# --- add-ons and system nodes ------------------------------------------------------------


def test_managed_addons_follow_the_cluster_version_and_own_their_config(prod):
    addons = {a.inputs["addonName"]: a for a in prod.rec.of_type(ADDON)}
    assert addons.keys() == {
        "vpc-cni",
        "coredns",
        "kube-proxy",
        "aws-ebs-csi-driver",
        "eks-pod-identity-agent",
    }
    for addon in addons.values():
        assert addon.inputs["clusterName"] == "llm-prod-us-east-1"
        assert addon.inputs["addonVersion"] == "v1.0.0-eksbuild.1"
        assert addon.inputs["resolveConflictsOnCreate"] == "OVERWRITE"


def test_node_daemons_come_before_nodes_and_deployments_after(prod):
    nodes = prod.one(NODE_GROUP)
    addons = {a.inputs["addonName"]: a for a in prod.rec.of_type(ADDON)}
    for daemon in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent"):
        assert addons[daemon].urn in nodes.dependencies
    for deployment in ("coredns", "aws-ebs-csi-driver"):
        assert nodes.urn in addons[deployment].dependencies


def test_ebs_csi_driver_gets_its_managed_policy_through_pod_identity(prod):
    association = pod_identity(prod, "kube-system", "ebs-csi-controller-sa")
    role = role_with_arn(prod, association.inputs["roleArn"])
    assert attached(prod, role) == {"service-role/AmazonEBSCSIDriverPolicy"}
    addon = prod.one(ADDON, "c-aws-ebs-csi-driver")
    assert association.urn in addon.dependencies


def test_system_nodes_are_on_demand_across_every_private_subnet(prod):
    nodes = prod.one(NODE_GROUP)
    assert nodes.inputs["capacityType"] == "ON_DEMAND"
    assert nodes.inputs["subnetIds"] == SUBNETS
    assert nodes.inputs["instanceTypes"] == [catalog.default_system_instance_type("aws")]
    assert nodes.inputs["amiType"] == "AL2023_x86_64_STANDARD"
    assert nodes.inputs["scalingConfig"] == {"minSize": 2, "desiredSize": 2, "maxSize": 6}
    assert nodes.inputs["labels"] == {"llmfleet.io/pool": "system"}
    assert nodes.inputs["nodeRepairConfig"] == {"enabled": True}


def test_system_node_role_has_the_worker_policies_before_nodes_join(prod):
    nodes = prod.one(NODE_GROUP)
    role = role_with_arn(prod, nodes.inputs["nodeRoleArn"])
    assert policy(role, "assumeRolePolicy")["Statement"][0]["Principal"] == {
        "Service": "ec2.amazonaws.com"
    }
    assert attached(prod, role) >= {
        "AmazonEKSWorkerNodePolicy",
        "AmazonEC2ContainerRegistryPullOnly",
        "AmazonEKS_CNI_Policy",
    }
    role_attachments = [
        a.urn for a in prod.rec.of_type(ATTACHMENT) if a.inputs["role"] == role.outputs["name"]
    ]
    assert set(role_attachments) <= set(nodes.dependencies)


def test_system_nodes_require_imdsv2_and_boot_from_volumes_sealed_by_the_cluster_key(prod):
    template = prod.one(LAUNCH_TEMPLATE)
    assert template.inputs["metadataOptions"] == {
        "httpEndpoint": "enabled",
        "httpTokens": "required",
        "httpPutResponseHopLimit": 1,
    }
    (root,) = template.inputs["blockDeviceMappings"]
    assert root["deviceName"] == "/dev/xvda"
    assert root["ebs"] == {
        "volumeSize": 100,
        "volumeType": "gp3",
        "encrypted": "true",
        "kmsKeyId": prod.outputs(KEY)["arn"],
        "deleteOnTermination": "true",
    }
    assert prod.one(NODE_GROUP).inputs["launchTemplate"] == {
        "id": template.outputs["id"],
        "version": str(template.outputs["latestVersion"]),
    }


def test_ami_type_follows_the_system_instance_cpu():
    assert system_ami_type("m7i.xlarge") == "AL2023_x86_64_STANDARD"
    assert system_ami_type("m7g.xlarge") == "AL2023_ARM_64_STANDARD"
    assert system_ami_type("c6gn.2xlarge") == "AL2023_ARM_64_STANDARD"


def test_only_karpenter_nodes_need_an_access_entry(prod):
    # EKS creates the managed node group's entry itself; a second one would conflict.
    (entry,) = prod.rec.of_type(ACCESS_ENTRY)
    assert entry.inputs["type"] == "EC2_LINUX"
    assert entry.inputs["principalArn"] == prod.outputs(ROLE, "c-karpenter-node-role")["arn"]
    assert entry.inputs["clusterName"] == "llm-prod-us-east-1"


def test_scale_from_zero_no_static_gpu_nodes(prod):
    (nodes,) = prod.rec.of_type(NODE_GROUP)
    gpu_types = {t.name for t in catalog.instance_types("aws")}
    assert not set(nodes.inputs["instanceTypes"]) & gpu_types
    for pool in prod.rec.of_type(NODE_POOL):
        assert "replicas" not in pool.inputs["spec"]


# --- Karpenter ---------------------------------------------------------------------------


def test_interruption_queue_is_encrypted_and_fed_by_eventbridge(prod):
    queue = prod.one(QUEUE)
    assert queue.inputs["name"] == "llm-prod-us-east-1"
    assert queue.inputs["sqsManagedSseEnabled"] is True
    queue_policy = prod.one(QUEUE_POLICY)
    assert queue_policy.inputs["queueUrl"] == queue.outputs["url"]
    send, deny_http = policy(queue_policy)["Statement"]
    assert send["Principal"] == {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]}
    assert (send["Action"], send["Resource"]) == ("sqs:SendMessage", queue.outputs["arn"])
    assert deny_http["Effect"] == "Deny"
    assert deny_http["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_eventbridge_forwards_every_interruption_signal_to_the_queue(prod):
    queue = prod.one(QUEUE)
    patterns = {}
    for rule in prod.rec.of_type(EVENT_RULE):
        (target,) = [
            t for t in prod.rec.of_type(EVENT_TARGET) if t.inputs["rule"] == rule.outputs["name"]
        ]
        assert target.inputs["arn"] == queue.outputs["arn"]
        pattern = json.loads(rule.inputs["eventPattern"])
        patterns[pattern["detail-type"][0]] = pattern["source"]
    assert patterns == {
        "EC2 Spot Instance Interruption Warning": ["aws.ec2"],
        "EC2 Instance Rebalance Recommendation": ["aws.ec2"],
        "EC2 Instance State-change Notification": ["aws.ec2"],
        "AWS Health Event": ["aws.health"],
        # Upstream's rule for reclaimed capacity-reservation and capacity-block instances.
        "EC2 Capacity Reservation Instance Interruption Warning": ["aws.ec2"],
    }


def test_karpenter_nodes_have_their_own_role(prod):
    role = prod.one(ROLE, "c-karpenter-node-role")
    assert role.outputs["arn"] != prod.one(NODE_GROUP).inputs["nodeRoleArn"]
    assert attached(prod, role) >= {
        "AmazonEKSWorkerNodePolicy",
        "AmazonEC2ContainerRegistryPullOnly",
        "AmazonEKS_CNI_Policy",
    }


def test_karpenter_may_pass_only_its_node_role(prod):
    controller = policy(prod.one(ROLE_POLICY, "c-karpenter-controller"))
    passing = [s for s in controller["Statement"] if "iam:PassRole" in actions(s)]
    assert passing == [
        {
            "Sid": "AllowPassingInstanceRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": prod.outputs(ROLE, "c-karpenter-node-role")["arn"],
            "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        }
    ]
    for s in controller["Statement"]:
        assert s["Effect"] == "Allow"
        assert not any(a == "*" or a.endswith(":*") for a in actions(s)), s["Sid"]


def test_karpenter_policy_is_scoped_to_the_cluster_and_region(prod):
    controller = policy(prod.one(ROLE_POLICY, "c-karpenter-controller"))
    owned = "kubernetes.io/cluster/llm-prod-us-east-1"
    create = statement(controller, "AllowScopedEC2InstanceActionsWithTags")
    assert create["Condition"]["StringEquals"] == {
        f"aws:RequestTag/{owned}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": "llm-prod-us-east-1",
    }
    delete = statement(controller, "AllowScopedDeletion")
    assert delete["Condition"]["StringEquals"] == {f"aws:ResourceTag/{owned}": "owned"}
    reads = statement(controller, "AllowRegionalReadActions")
    assert reads["Condition"] == {"StringEquals": {"aws:RequestedRegion": REGION}}
    # Karpenter 1.12+ health-checks instances in its interruption controller.
    assert "ec2:DescribeInstanceStatus" in actions(reads)
    queue = statement(controller, "AllowInterruptionQueueActions")
    assert queue["Resource"] == prod.outputs(QUEUE)["arn"]
    describe = statement(controller, "AllowAPIServerEndpointDiscovery")
    assert describe["Resource"] == prod.outputs(CLUSTER)["arn"]
    ec2_resources = [
        r
        for s in controller["Statement"]
        for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
        if r.startswith("arn:aws:ec2:")
    ]
    assert ec2_resources and all(r.startswith(f"arn:aws:ec2:{REGION}:") for r in ec2_resources)


def test_karpenter_chart_is_pinned_and_configured_for_this_cluster(prod):
    controller = prod.one(RELEASE, "c-karpenter")
    crds = prod.one(RELEASE, "c-karpenter-crd")
    assert controller.inputs["chart"] == "oci://public.ecr.aws/karpenter/karpenter"
    assert crds.inputs["chart"] == "oci://public.ecr.aws/karpenter/karpenter-crd"
    assert controller.inputs["version"] == crds.inputs["version"] == KARPENTER_VERSION == "1.14.1"
    assert controller.inputs["namespace"] == crds.inputs["namespace"] == "kube-system"
    assert controller.inputs["skipCrds"] is True
    values = controller.inputs["values"]
    assert values["settings"] == {
        "clusterName": "llm-prod-us-east-1",
        "clusterEndpoint": prod.outputs(CLUSTER)["endpoint"],
        "interruptionQueue": prod.outputs(QUEUE)["name"],
        "featureGates": {"reservedCapacity": True},
    }
    assert values["serviceAccount"] == {"create": True, "name": "karpenter"}
    assert values["replicas"] == 2
    assert values["podDisruptionBudget"] == {"name": "karpenter", "maxUnavailable": 1}
    assert values["nodeSelector"]["llmfleet.io/pool"] == "system"
    assert {"name": "AWS_REGION", "value": REGION} in values["controller"]["env"]


def test_karpenter_starts_once_it_and_its_nodes_can_work(prod):
    controller = prod.one(RELEASE, "c-karpenter")
    for dependency in (
        pod_identity(prod, "kube-system", "karpenter"),
        prod.one(RELEASE, "c-karpenter-crd"),
        prod.one(NODE_GROUP),
        prod.one(ADDON, "c-coredns"),
        prod.one(ADDON, "c-eks-pod-identity-agent"),
        prod.one(ACCESS_ENTRY),
        prod.one(EC2_TAG),
    ):
        assert dependency.urn in controller.dependencies


# --- GPU pools ---------------------------------------------------------------------------


def node_pool(b: Built, name: str) -> dict[str, Any]:
    return b.one(NODE_POOL, f"c-karpenter-{name}").inputs


def node_class(b: Built, name: str) -> dict[str, Any]:
    return b.one(NODE_CLASS, f"c-karpenter-{name}").inputs


def requirement(pool: dict[str, Any], key: str) -> list[str]:
    (found,) = [r for r in pool["spec"]["template"]["spec"]["requirements"] if r["key"] == key]
    assert found["operator"] == "In"
    return found["values"]


def test_one_node_class_and_pool_per_gpu_pool(prod, dev):
    assert {r.inputs["metadata"]["name"] for r in prod.rec.of_type(NODE_POOL)} == {"l4", "h100"}
    assert {r.inputs["metadata"]["name"] for r in prod.rec.of_type(NODE_CLASS)} == {"l4", "h100"}
    assert len(dev.rec.of_type(NODE_POOL)) == len(dev.rec.of_type(NODE_CLASS)) == 1
    for name in ("l4", "h100"):
        ref = node_pool(prod, name)["spec"]["template"]["spec"]["nodeClassRef"]
        assert ref == {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": name}


def test_node_pools_pin_the_catalog_instance_type_in_the_region_zones(prod):
    assert requirement(node_pool(prod, "l4"), "node.kubernetes.io/instance-type") == ["g6.xlarge"]
    assert requirement(node_pool(prod, "h100"), "node.kubernetes.io/instance-type") == [
        "p5.48xlarge"
    ]
    for name in ("l4", "h100"):
        zones = requirement(node_pool(prod, name), "topology.kubernetes.io/zone")
        assert zones == ["us-east-1a", "us-east-1b", "us-east-1c"]


def test_pools_of_zonal_types_launch_only_in_zone_ids_offering_them(prod):
    # Zone names map to other physical zones in every account; zone IDs do not.
    # P and G families alike.
    for pool, instance in (("h100", "p5.48xlarge"), ("l4", "g6.xlarge")):
        offered = catalog.instance_type("aws", instance).zones_in(REGION)
        assert offered
        assert requirement(node_pool(prod, pool), "topology.k8s.aws/zone-id") == list(offered)
    # us-east-1 has L4 in four of its six zone IDs (not use1-az3, use1-az5).
    assert requirement(node_pool(prod, "l4"), "topology.k8s.aws/zone-id") == [
        "use1-az1",
        "use1-az2",
        "use1-az4",
        "use1-az6",
    ]


RESERVATION_ID = "cr-0123456789abcdef0"


def reserved_pool(prod: Built, capacity: str) -> tuple[GpuPoolSpec, catalog.InstanceType]:
    pool = GpuPoolSpec(
        name="h200",
        accelerator="nvidia-h200",
        count=8,
        capacity=capacity,
        reservation=RESERVATION_ID,
    )
    return pool, catalog.instance_type("aws", "p5en.48xlarge")


@pytest.mark.parametrize("capacity", ["reservation", "capacity-block"])
def test_reserved_pools_launch_into_their_ec2_reservation(prod, capacity):
    pool, instance = reserved_pool(prod, capacity)
    spec = node_class_spec(
        instance, EKS_NODE_IMAGE, "c", "role", "key", {}, reservation=pool.reservation
    )
    assert spec["capacityReservationSelectorTerms"] == [{"id": RESERVATION_ID}]
    requirements = {r["key"]: r["values"] for r in node_requirements(pool, prod.region, instance)}
    assert requirements["karpenter.sh/capacity-type"][0] == "reserved"
    assert requirements["topology.k8s.aws/zone-id"] == ["use1-az2"]
    blocks = requirements.get("karpenter.k8s.aws/capacity-reservation-type")
    assert blocks == (["capacity-block"] if capacity == "capacity-block" else None)


def test_unreserved_node_classes_select_no_reservation(prod):
    assert "capacityReservationSelectorTerms" not in node_class(prod, "h100")["spec"]


def test_karpenter_may_launch_into_capacity_reservations_of_its_region(prod):
    controller = policy(prod.one(ROLE_POLICY, "c-karpenter-controller"))
    launch = statement(controller, "AllowScopedEC2InstanceAccessActions")
    assert f"arn:aws:ec2:{REGION}:*:capacity-reservation/*" in launch["Resource"]


def test_capacity_type_follows_the_spot_setting(prod, dev):
    assert requirement(node_pool(prod, "l4"), "karpenter.sh/capacity-type") == [
        "spot",
        "on-demand",
    ]
    assert requirement(node_pool(prod, "h100"), "karpenter.sh/capacity-type") == ["on-demand"]
    assert requirement(node_pool(dev, "l4"), "karpenter.sh/capacity-type") == ["spot"]


@pytest.mark.parametrize(
    ("fields", "types"),
    [
        ({}, ["on-demand"]),
        ({"spot": True}, ["spot", "on-demand"]),
        ({"spot": True, "on_demand_fallback": False}, ["spot"]),
        (
            {"capacity": "reservation", "reservation": "cr-0123456789abcdef0"},
            ["reserved", "on-demand"],
        ),
        (
            {
                "capacity": "reservation",
                "reservation": "cr-0123456789abcdef0",
                "on_demand_fallback": False,
            },
            ["reserved"],
        ),
        # A capacity block is all there is: nothing to fall back to at its price.
        ({"capacity": "capacity-block", "reservation": "cr-0123456789abcdef0"}, ["reserved"]),
    ],
)
def test_capacity_types_of_every_capacity_kind(fields, types):
    assert capacity_types(GpuPoolSpec(name="p", accelerator="nvidia-h100-80gb", **fields)) == types


def replace_pool(pool: GpuPoolSpec, **changes: Any) -> GpuPoolSpec:
    return pool.model_copy(update=changes)


def test_gpu_nodes_are_tainted_and_labelled_with_pool_and_accelerator(prod):
    for name, accelerator in (("l4", "nvidia-l4"), ("h100", "nvidia-h100-80gb")):
        template = node_pool(prod, name)["spec"]["template"]
        assert template["metadata"]["labels"] == {
            "llmfleet.io/pool": name,
            "llmfleet.io/accelerator": accelerator,
        }
        assert template["spec"]["taints"] == [
            # The scheduling contract's one taint value, the same on GKE.
            {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
        ]


def test_pool_limits_allow_exactly_max_nodes(prod):
    assert node_pool(prod, "l4")["spec"]["limits"] == {
        "nvidia.com/gpu": 4,
        "cpu": 16,
        "memory": "64Gi",
    }
    assert node_pool(prod, "h100")["spec"]["limits"] == {
        "nvidia.com/gpu": 16,
        "cpu": 384,
        "memory": "4096Gi",
    }


def test_idle_gpu_nodes_are_consolidated_and_busy_ones_replaced_one_at_a_time(prod):
    disruption = node_pool(prod, "h100")["spec"]["disruption"]
    assert disruption["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
    assert disruption["consolidateAfter"] == "15m"
    assert disruption["budgets"][0] == {"nodes": "1", "reasons": ["Underutilized", "Drifted"]}
    # Outside the default window (Saturday and Sunday, 02:00-10:00 UTC) no node drifts.
    assert disruption["budgets"][1:] == [
        {"nodes": "0", "reasons": ["Drifted"], "schedule": "0 10 * * sat", "duration": "16h"},
        {"nodes": "0", "reasons": ["Drifted"], "schedule": "0 10 * * sun", "duration": "136h"},
    ]


@pytest.mark.parametrize(
    ("window", "blocked"),
    [
        # One weekly window: blocked for the rest of the week.
        ({"days": ["WE"], "start": "22:30", "hours": 12}, [("30 10 * * thu", "156h")]),
        # Consecutive whole days leave one gap.
        (
            {"days": ["MO", "TU", "WE"], "start": "00:00", "hours": 24},
            [("0 0 * * thu", "96h")],
        ),
        # A window crossing midnight of Sunday into Monday.
        ({"days": ["SU"], "start": "20:00", "hours": 12}, [("0 8 * * mon", "156h")]),
    ],
)
def test_drift_is_blocked_exactly_outside_the_window(window, blocked):
    budgets = drift_budgets(MaintenanceWindowSpec(**window))
    assert [(b["schedule"], b["duration"]) for b in budgets] == blocked
    hours = sum(int(b["duration"].removesuffix("h")) for b in budgets)
    assert hours + len(window["days"]) * window["hours"] == 7 * 24


def test_gpu_nodes_require_imdsv2_and_encrypt_volumes_with_the_cluster_key(prod):
    for name in ("l4", "h100"):
        spec = node_class(prod, name)["spec"]
        assert spec["metadataOptions"] == {
            "httpEndpoint": "enabled",
            "httpProtocolIPv6": "disabled",
            "httpTokens": "required",
            "httpPutResponseHopLimit": 1,
        }
        (root,) = spec["blockDeviceMappings"]
        assert root["rootVolume"] is True
        assert root["ebs"] == {
            "volumeSize": "100Gi",
            "volumeType": "gp3",
            "encrypted": True,
            "kmsKeyID": prod.outputs(KEY)["arn"],
            "deleteOnTermination": True,
        }


def test_node_classes_find_subnets_and_security_group_by_discovery_tag(prod):
    discovery = [{"tags": {"karpenter.sh/discovery": "llm-prod-us-east-1"}}]
    for name in ("l4", "h100"):
        spec = node_class(prod, name)["spec"]
        assert spec["subnetSelectorTerms"] == spec["securityGroupSelectorTerms"] == discovery
        assert spec["role"] == prod.outputs(ROLE, "c-karpenter-node-role")["name"]
        # A pinned release: AWS publishing an AMI never changes prod GPU nodes by itself.
        assert spec["amiSelectorTerms"] == [{"alias": EKS_NODE_IMAGE}]
        assert spec["tags"] == prod.fleet.labels()
    tag = prod.one(EC2_TAG)
    assert tag.inputs == {
        "resourceId": prod.outputs(CLUSTER)["vpcConfig"]["clusterSecurityGroupId"],
        "key": "karpenter.sh/discovery",
        "value": "llm-prod-us-east-1",
        "region": REGION,
    }


def test_local_nvme_backs_the_container_runtime_in_raid0(prod):
    assert catalog.instance_type("aws", "p5.48xlarge").local_nvme_gib > 0
    assert node_class(prod, "h100")["spec"]["instanceStorePolicy"] == "RAID0"
    assert node_class(prod, "l4")["spec"]["instanceStorePolicy"] == "RAID0"


def test_root_volume_holds_the_model_cache_when_there_is_no_instance_store():
    p5 = catalog.instance_type("aws", "p5.48xlarge")
    assert root_volume_gib(p5) == 100
    # 8 x 80 GiB of HBM: twice the weights that fit, plus the OS.
    assert root_volume_gib(replace(p5, local_nvme_gib=0)) == 100 + 2 * 640


def test_pool_instance_type_override_must_be_in_the_catalog(prod):
    region = prod.region
    pool = GpuPoolSpec(name="p", accelerator="nvidia-l4", instance_type="g6.xlarge")
    assert region.instance_type_for(pool).name == "g6.xlarge"
    with pytest.raises(catalog.CatalogError, match=r"unknown aws instance type 'g6\.99xlarge'"):
        region.instance_type_for(replace_pool(pool, instance_type="g6.99xlarge"))


def test_node_pools_and_classes_match_the_karpenter_crds(prod, dev, schemas_dir):
    crds = schemas_dir / "karpenter"
    for b in (prod, dev):
        for pool in b.rec.of_type(NODE_POOL):
            validate_custom_resource(pool.inputs, crds / "karpenter.sh_nodepools.yaml")
        for node_class_ in b.rec.of_type(NODE_CLASS):
            validate_custom_resource(
                node_class_.inputs, crds / "karpenter.k8s.aws_ec2nodeclasses.yaml"
            )


def test_schema_check_catches_unknown_fields_and_bad_values(prod, schemas_dir):
    crd = schemas_dir / "karpenter" / "karpenter.sh_nodepools.yaml"
    typo = copy.deepcopy(node_pool(prod, "h100"))
    typo["spec"]["disruption"]["consolidateAfterr"] = "1m"
    with pytest.raises(AssertionError, match="consolidateAfterr"):
        validate_custom_resource(typo, crd)
    bad = copy.deepcopy(node_pool(prod, "h100"))
    bad["spec"]["disruption"]["consolidationPolicy"] = "WhenIdle"
    with pytest.raises(AssertionError, match="WhenIdle"):
        validate_custom_resource(bad, crd)


def test_gpu_pools_wait_for_karpenter(prod):
    controller = prod.one(RELEASE, "c-karpenter")
    for r in (*prod.rec.of_type(NODE_POOL), *prod.rec.of_type(NODE_CLASS)):
        assert controller.urn in r.dependencies


# --- NVIDIA agents -----------------------------------------------------------------------


def test_nvidia_agents_are_pinned_and_run_only_on_gpu_nodes(prod):
    namespace = prod.one(NAMESPACE)
    for chart in (NVIDIA_DEVICE_PLUGIN, DCGM_EXPORTER):
        release = prod.one(RELEASE, f"c-karpenter-{chart.name}")
        assert release.inputs["chart"] == chart.name
        assert release.inputs["version"] == chart.version
        assert release.inputs["repositoryOpts"] == {"repo": chart.repo}
        assert release.inputs["namespace"] == namespace.outputs["metadata"]["name"] == "nvidia"
        values = release.inputs["values"]
        assert values["tolerations"] == [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
        ]
        node_affinity = values["affinity"]["nodeAffinity"]
        (term,) = node_affinity["requiredDuringSchedulingIgnoredDuringExecution"][
            "nodeSelectorTerms"
        ]
        assert term["matchExpressions"] == [
            {
                "key": "karpenter.k8s.aws/instance-gpu-manufacturer",
                "operator": "In",
                "values": ["nvidia"],
            }
        ]
    assert NVIDIA_DEVICE_PLUGIN.repo == "https://nvidia.github.io/k8s-device-plugin"
    assert DCGM_EXPORTER.repo == "https://nvidia.github.io/dcgm-exporter/helm-charts"
    dcgm = prod.one(RELEASE, "c-karpenter-dcgm-exporter")
    assert dcgm.inputs["values"]["serviceMonitor"] == {"enabled": False}


def test_nvidia_namespace_is_a_valid_privileged_namespace(prod):
    namespace = prod.one(NAMESPACE).inputs
    kubernetes_validate.validate(namespace, prod.region.cluster.kubernetes_version, strict=True)
    assert namespace["metadata"]["labels"] == {"pod-security.kubernetes.io/enforce": "privileged"}


# --- the cluster's Kubernetes provider ---------------------------------------------------


def test_one_kubernetes_provider_serves_every_kubernetes_object(prod):
    (provider,) = prod.rec.of_type(K8S_PROVIDER)
    objects = [r for r in prod.rec.resources if r.type.startswith("kubernetes:")]
    assert len(objects) == 2 + 2 + 1 + 2 * 2  # Karpenter + CRDs, NVIDIA x2, namespace, pools
    for r in objects:
        assert r.provider == provider.urn, r.name
        assert r.region == REGION


def test_kubeconfig_is_built_from_the_cluster_and_fetches_tokens_with_the_cli(prod):
    provider = prod.one(K8S_PROVIDER)
    cluster = prod.outputs(CLUSTER)
    config = json.loads(provider.inputs["kubeconfig"])
    ((entry,),) = [config["clusters"]]
    assert entry["cluster"] == {
        "server": cluster["endpoint"],
        "certificate-authority-data": cluster["certificateAuthority"]["data"],
    }
    ((user,),) = [config["users"]]
    assert user["user"]["exec"]["command"] == "aws"
    assert user["user"]["exec"]["args"] == [
        "eks",
        "get-token",
        "--cluster-name",
        "llm-prod-us-east-1",
        "--region",
        REGION,
        "--output",
        "json",
    ]
    assert "token" not in user["user"]
    assert provider.inputs["clusterIdentifier"] == cluster["endpoint"]
    assert prod.rec.exports["endpoint"] == cluster["endpoint"]


ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/deployer"


def test_kubeconfig_fetches_tokens_as_the_stack_aws_provider(dev):
    # Whoever created the cluster is its admin: the token must come from the same identity.
    credentials = AwsCliCredentials(profile="llm-prod", role_arn=ROLE_ARN)
    built = Built(_with_cluster(DEV_FLEET, {"gpu_pools": DEV_GPU_POOLS}), credentials)
    user = json.loads(built.one(K8S_PROVIDER).inputs["kubeconfig"])["users"][0]["user"]
    args = user["exec"]["args"]
    assert args[args.index("--role-arn") + 1] == ROLE_ARN
    assert args[args.index("--profile") + 1] == "llm-prod"
    assert args[-2:] == ["--output", "json"]
    # Only the kubeconfig differs: no resource is renamed or added.
    assert [r.urn for r in built.rec.resources] == [r.urn for r in dev.rec.resources]


@pytest.mark.parametrize(
    ("profile", "assume_roles", "expected"),
    [
        (None, None, AwsCliCredentials()),
        ("", "[]", AwsCliCredentials()),
        ("ops", None, AwsCliCredentials(profile="ops")),
        (
            None,
            json.dumps([{"roleArn": ROLE_ARN, "sessionName": "ci"}]),
            AwsCliCredentials(role_arn=ROLE_ARN),
        ),
        # A chain: the provider ends up acting as the last role.
        (
            "ops",
            json.dumps([{"roleArn": "arn:aws:iam::1:role/hop"}, {"roleArn": ROLE_ARN}]),
            AwsCliCredentials(profile="ops", role_arn=ROLE_ARN),
        ),
    ],
)
def test_cli_credentials_follow_the_aws_provider_config(profile, assume_roles, expected):
    assert AwsCliCredentials.from_provider_config(profile, assume_roles) == expected


def test_without_provider_settings_the_cli_uses_its_default_chain():
    assert AwsCliCredentials().cli_args() == []


def test_kubeconfig_output_is_secret(prod):
    assert sync_await(prod.component.kubeconfig.is_secret()) is True


def test_node_roles_pull_images_only_and_keep_their_former_attachment_state(prod):
    for purpose in ("system-node", "karpenter-node"):
        attachment = prod.one(ATTACHMENT, f"c-{purpose}-role-AmazonEC2ContainerRegistryPullOnly")
        assert attachment.inputs["policyArn"].endswith(":policy/AmazonEC2ContainerRegistryPullOnly")
        # The attachment that held ReadOnly before: an alias, so state follows the rename.
        assert attachment.aliases == [f"c-{purpose}-role-AmazonEC2ContainerRegistryReadOnly"]

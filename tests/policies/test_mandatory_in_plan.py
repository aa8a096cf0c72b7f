"""Each mandatory rule, end to end: mutate one example stack's recorded resources so that
exactly that rule fires, and `llmfleet plan` exits 1 naming it."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

import llmfleet.plan
from llmfleet import policies
from llmfleet.cli import main
from llmfleet.recorder import RecordedResource, Recording
from tests.conftest import REPO

TAGS = {"owner": "ml-platform", "cost-center": "cc-ml-dev"}


def named(rec: Recording, type_: str, contains: str = "") -> RecordedResource:
    return next(r for r in rec.of_type(type_) if contains in r.name)


def add(rec: Recording, type_: str, name: str, inputs: dict) -> None:
    urn = f"urn:pulumi:test::llmfleet::{type_}::{name}"
    rec.resources.append(
        RecordedResource(urn, type_, name, True, None, None, [], False, inputs, region="us-east-1")
    )


def unlog(rec: Recording) -> None:
    """The model bucket's logging no longer names it (its log bucket stays a log target)."""
    logging = named(rec, "aws:s3/bucketLogging:BucketLogging")
    logging.property_dependencies = {"targetBucket": logging.property_dependencies["targetBucket"]}


def pricier_system_pool(rec: Recording) -> None:
    """Eight m7i.2xlarge system nodes: within the dev pack's pool size, beyond its budget."""
    group = named(rec, NODE_GROUP).inputs
    group["instanceTypes"] = ["m7i.2xlarge"]
    group["scalingConfig"]["maxSize"] = 8


def sse(rec):
    config = named(
        rec,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "models-encryption",
    )
    config.inputs["rules"] = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]


def tls(rec):
    policy = named(rec, "aws:s3/bucketPolicy:BucketPolicy", "models-policy")
    policy.inputs["policy"] = json.dumps({"Version": "2012-10-17", "Statement": []})


def first_input(type_: str, path: list[str], value, contains: str = "") -> Callable:
    def mutate(rec: Recording) -> None:
        target = named(rec, type_, contains).inputs
        for key in path[:-1]:
            target = target.setdefault(key, {})
        if value is None:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value

    return mutate


def karpenter_on_demand(rec):
    pool = named(rec, "kubernetes:karpenter.sh/v1:NodePool")
    for requirement in pool.inputs["spec"]["template"]["spec"]["requirements"]:
        if requirement["key"] == "karpenter.sh/capacity-type":
            requirement["values"] = ["on-demand"]


def no_api_key(rec):
    deployment = named(rec, "kubernetes:apps/v1:Deployment", "chat")
    container = deployment.inputs["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [e for e in container["env"] if e["name"] != "VLLM_API_KEY"]


LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
GKE = "gcp:container/cluster:Cluster"
GKE_POOL = "gcp:container/nodePool:NodePool"

MUTATIONS: dict[str, tuple[str, Callable[[Recording], None]]] = {
    "s3-bucket-kms-encryption": ("dev", sse),
    "s3-bucket-tls-only": ("dev", tls),
    "kms-key-rotation": ("dev", first_input("aws:kms/key:Key", ["enableKeyRotation"], False)),
    "eks-secrets-encryption": (
        "dev",
        first_input("aws:eks/cluster:Cluster", ["encryptionConfig"], None),
    ),
    "ebs-encryption": (
        "dev",
        first_input(
            LAUNCH_TEMPLATE,
            ["blockDeviceMappings"],
            [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}],
        ),
    ),
    "efs-fsx-kms": (
        "dev",
        lambda rec: add(
            rec, "aws:efs/fileSystem:FileSystem", "shared", {"encrypted": False, "tags": TAGS}
        ),
    ),
    "gke-secrets-encryption": (
        "prod-gcp",
        first_input(GKE, ["databaseEncryption"], {"state": "DECRYPTED"}),
    ),
    "gcs-cmek": ("prod-gcp", first_input("gcp:storage/bucket:Bucket", ["encryption"], None)),
    "gke-boot-disk-cmek": (
        "prod-gcp",
        first_input(GKE_POOL, ["nodeConfig", "bootDiskKmsKey"], None),
    ),
    "log-group-kms": ("dev", first_input("aws:cloudwatch/logGroup:LogGroup", ["kmsKeyId"], None)),
    "tls-only-endpoints": (
        "dev",
        lambda rec: add(
            rec,
            "aws:lb/listener:Listener",
            "web",
            {"protocol": "HTTP", "port": 80, "defaultActions": [{"type": "forward"}]},
        ),
    ),
    "allowed-instance-types": ("dev", first_input(NODE_GROUP, ["instanceTypes"], ["x9.huge"])),
    "max-nodes-per-pool": ("prod-aws", first_input(NODE_GROUP, ["scalingConfig", "maxSize"], 100)),
    "max-accelerators-per-stack": (
        "hybrid",
        first_input(
            "kubernetes:karpenter.sh/v1:NodePool",
            ["spec", "limits"],
            {"nvidia.com/gpu": 48},
            "h100",
        ),
    ),
    "monthly-budget": ("dev", pricier_system_pool),
    "nonprod-spot-scale-to-zero": ("dev", karpenter_on_demand),
    "private-api-endpoints": (
        "dev",
        first_input("aws:eks/cluster:Cluster", ["vpcConfig"], {"endpointPublicAccess": True}),
    ),
    "imdsv2-hop-limit": (
        "dev",
        first_input(LAUNCH_TEMPLATE, ["metadataOptions", "httpPutResponseHopLimit"], 2),
    ),
    "storage-public-access-blocked": (
        "dev",
        first_input(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            ["blockPublicPolicy"],
            False,
            "models-public-access",
        ),
    ),
    "no-open-ingress": (
        "dev",
        lambda rec: add(
            rec,
            "aws:ec2/securityGroup:SecurityGroup",
            "ssh",
            {
                "ingress": [{"cidrBlocks": ["0.0.0.0/0"], "fromPort": 22, "toPort": 22}],
                "tags": TAGS,
            },
        ),
    ),
    "no-privileged-pods": (
        "dev",
        first_input(
            "kubernetes:apps/v1:Deployment",
            ["spec", "template", "spec", "hostNetwork"],
            True,
            "chat",
        ),
    ),
    "serving-requires-api-key": ("dev", no_api_key),
    "prod-log-retention": (
        "prod-aws",
        first_input("aws:cloudwatch/logGroup:LogGroup", ["retentionInDays"], 90),
    ),
    "service-trust-names-source": (
        "dev",
        lambda rec: add(
            rec,
            "aws:iam/role:Role",
            "rogue",
            {
                "tags": TAGS,
                "assumeRolePolicy": json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "s3.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                ),
            },
        ),
    ),
    "gke-hardening": (
        "prod-gcp",
        first_input(GKE_POOL, ["nodeConfig", "workloadMetadataConfig"], None),
    ),
    "s3-access-logging": ("dev", unlog),
    "required-ownership-tags": ("dev", first_input("aws:ec2/vpc:Vpc", ["tags"], {"Name": "vpc"})),
}


def test_every_mandatory_rule_has_a_mutation():
    assert set(MUTATIONS) == {p.name for p in policies.POLICIES}


@pytest.mark.parametrize("rule", sorted(MUTATIONS))
def test_exactly_the_rule_fires_and_the_plan_exits_1(rule, monkeypatch, tmp_path, capsys):
    stack, mutate = MUTATIONS[rule]
    run_program = llmfleet.plan.run_program

    def mutated(project, config):
        recording = run_program(project, config)
        mutate(recording)
        recording.__post_init__()
        return recording

    monkeypatch.setattr(llmfleet.plan, "run_program", mutated)
    out = tmp_path / "plan.json"
    assert main(["plan", stack, "-C", str(REPO), "--json", str(out)]) == 1
    fired = {v["policy"] for v in json.loads(out.read_text())["policy"]["violations"]}
    assert fired == {rule}
    assert f"mandatory {rule} (" in capsys.readouterr().out

"""Security rules: a passing and a failing case each, through the pulumi_policy types."""

from __future__ import annotations

import json

import pytest

from llmfleet.policies import security
from tests.policies.conftest import check, check_stack, resource

BUCKET = "aws:s3/bucket:Bucket"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ALL_BLOCKED = {k: True for k in security._BLOCKS}


def trust(service: str, condition: dict | None = None) -> dict:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return {"assumeRolePolicy": json.dumps({"Version": "2012-10-17", "Statement": [statement]})}


def vllm(args: list[str], env: list[dict] | None = None) -> dict:
    container = {"name": "vllm", "image": "vllm/vllm-openai@sha256:ab", "args": args}
    if env:
        container["env"] = env
    return {
        "metadata": {"namespace": "serving"},
        "spec": {"template": {"spec": {"containers": [container]}}},
    }


GKE_HARDENED = {
    "enableIntranodeVisibility": True,
    "masterAuth": {"clientCertificateConfig": {"issueClientCertificate": False}},
    "binaryAuthorization": {"evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"},
    "enableShieldedNodes": True,
}


@pytest.mark.parametrize(
    ("policy", "type_", "good", "bad", "message"),
    [
        (
            security.private_api_endpoints,
            "aws:eks/cluster:Cluster",
            {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["192.0.2.0/24"]}},
            {"vpcConfig": {"endpointPublicAccess": True}},
            "EKS API endpoint is public to the world",
        ),
        (
            security.private_api_endpoints,
            "gcp:container/cluster:Cluster",
            {
                "privateClusterConfig": {"enablePrivateNodes": True},
                "masterAuthorizedNetworksConfig": {"cidrBlocks": [{"cidrBlock": "192.0.2.0/24"}]},
            },
            {
                "privateClusterConfig": {"enablePrivateNodes": True},
                "masterAuthorizedNetworksConfig": {"cidrBlocks": [{"cidrBlock": "0.0.0.0/0"}]},
            },
            "GKE control plane is reachable from the world",
        ),
        (
            security.private_api_endpoints,
            "gcp:container/cluster:Cluster",
            {"privateClusterConfig": {"enablePrivateNodes": True, "enablePrivateEndpoint": True}},
            {"privateClusterConfig": {"enablePrivateEndpoint": True}},
            "GKE nodes have public IPs",
        ),
        (
            security.imdsv2_hop_limit,
            "aws:ec2/launchTemplate:LaunchTemplate",
            {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1}},
            {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 2}},
            "metadata hop limit 2",
        ),
        (
            security.imdsv2_hop_limit,
            "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass",
            {"spec": {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1}}},
            {"spec": {"metadataOptions": {"httpTokens": "optional"}}},
            "allows IMDSv1",
        ),
        (
            security.no_open_ingress,
            "aws:ec2/securityGroup:SecurityGroup",
            {"ingress": [{"cidrBlocks": ["0.0.0.0/0"], "fromPort": 443, "toPort": 443}]},
            {"ingress": [{"cidrBlocks": ["0.0.0.0/0"], "fromPort": 22, "toPort": 22}]},
            "ingress open to the world on 22",
        ),
        (
            security.no_open_ingress,
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            {"cidrIpv4": "10.0.0.0/8", "fromPort": 0, "toPort": 65535},
            {"cidrIpv6": "::/0", "fromPort": -1, "toPort": -1},
            "ingress open to the world on all ports",
        ),
        (
            security.no_open_ingress,
            "gcp:compute/firewall:Firewall",
            {"sourceRanges": ["0.0.0.0/0"], "allows": [{"protocol": "tcp", "ports": ["443"]}]},
            {"sourceRanges": ["0.0.0.0/0"], "allows": [{"protocol": "tcp"}]},
            "ingress open to the world on all ports",
        ),
        (
            security.no_privileged_pods,
            "kubernetes:apps/v1:DaemonSet",
            {
                "metadata": {"namespace": "kube-system"},
                "spec": {"template": {"spec": {"hostNetwork": True}}},
            },
            {
                "metadata": {"namespace": "serving"},
                "spec": {"template": {"spec": {"hostNetwork": True}}},
            },
            "pod in serving uses the host network",
        ),
        (
            security.no_privileged_pods,
            "kubernetes:apps/v1:Deployment",
            {"spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}},
            {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [{"name": "c", "securityContext": {"privileged": True}}]
                        }
                    }
                }
            },
            "container c in default is privileged",
        ),
        (
            security.serving_requires_api_key,
            "kubernetes:apps/v1:Deployment",
            vllm(["--model", "/models/m"], env=[{"name": "VLLM_API_KEY", "valueFrom": {}}]),
            vllm(["--model", "/models/m"]),
            "model server vllm answers without an API key",
        ),
        (
            security.prod_log_retention,
            "aws:cloudwatch/logGroup:LogGroup",
            {"retentionInDays": 400, "tags": {"environment": "prod"}},
            {"retentionInDays": 90, "tags": {"environment": "prod"}},
            "production logs kept 90 days; at least 365",
        ),
        (
            security.service_trust_names_source,
            "aws:iam/role:Role",
            trust("s3.amazonaws.com", {"StringEquals": {"aws:SourceAccount": "123456789012"}}),
            trust("s3.amazonaws.com"),
            "lets s3.amazonaws.com assume the role without naming a source",
        ),
        (
            security.gke_hardening,
            "gcp:container/cluster:Cluster",
            GKE_HARDENED,
            {**GKE_HARDENED, "binaryAuthorization": {"evaluationMode": "DISABLED"}},
            "Binary Authorization is off",
        ),
        (
            security.gke_hardening,
            "gcp:container/cluster:Cluster",
            GKE_HARDENED,
            {**GKE_HARDENED, "masterAuth": {}},
            "legacy client certificates not explicitly off",
        ),
        (
            security.gke_hardening,
            "gcp:container/cluster:Cluster",
            GKE_HARDENED,
            {**GKE_HARDENED, "enableIntranodeVisibility": False},
            "intranode visibility is off",
        ),
        (
            security.gke_hardening,
            "gcp:container/nodePool:NodePool",
            {"nodeConfig": {"workloadMetadataConfig": {"mode": "GKE_METADATA"}}},
            {"nodeConfig": {}},
            "without the GKE metadata server",
        ),
    ],
)
def test_rule(policy, type_, good, bad, message):
    assert check(policy, type_, good) == []
    [reported] = check(policy, type_, bad)
    assert message in reported


def test_dev_log_retention_is_not_judged():
    props = {"retentionInDays": 7, "tags": {"environment": "dev"}}
    assert check(security.prod_log_retention, "aws:cloudwatch/logGroup:LogGroup", props) == []


def test_ec2_instance_profiles_are_exempt_from_source_conditions():
    assert (
        check(security.service_trust_names_source, "aws:iam/role:Role", trust("ec2.amazonaws.com"))
        == []
    )


def test_open_ports_come_from_config():
    props = {"ingress": [{"cidrBlocks": ["0.0.0.0/0"], "fromPort": 80, "toPort": 80}]}
    type_ = "aws:ec2/securityGroup:SecurityGroup"
    assert check(security.no_open_ingress, type_, props, {"openPorts": [80, 443]}) == []


class TestStorage:
    def test_s3_public_access_block(self):
        bucket = resource(BUCKET, "models", {})
        full = resource(PAB, "pab", ALL_BLOCKED, {"bucket": [bucket]})
        assert check_stack(security.storage_public_access_blocked, [bucket, full]) == []
        partial = resource(
            PAB, "pab", {**ALL_BLOCKED, "blockPublicPolicy": False}, {"bucket": [bucket]}
        )
        [message] = check_stack(security.storage_public_access_blocked, [bucket, partial])
        assert "bucket models has no public access block with all four on" in message

    def test_gcs_public_access_prevention(self):
        good = resource("gcp:storage/bucket:Bucket", "g", {"publicAccessPrevention": "enforced"})
        bad = resource("gcp:storage/bucket:Bucket", "b", {"publicAccessPrevention": "inherited"})
        assert check_stack(security.storage_public_access_blocked, [good]) == []
        [message] = check_stack(security.storage_public_access_blocked, [bad])
        assert "bucket b: set publicAccessPrevention enforced" in message

    def test_s3_access_logging(self):
        bucket = resource(BUCKET, "models", {})
        logs = resource(BUCKET, "logs", {})
        logging = resource(
            "aws:s3/bucketLogging:BucketLogging",
            "models-logging",
            {},
            {"bucket": [bucket], "targetBucket": [logs]},
        )
        assert check_stack(security.s3_access_logging, [bucket, logs, logging]) == []
        [message] = check_stack(security.s3_access_logging, [bucket])
        assert message == "bucket models has no server access logging"

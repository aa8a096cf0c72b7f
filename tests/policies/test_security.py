"""Security rules: a passing and a failing case each, through the pulumi_policy types."""

from __future__ import annotations

import json

import pytest

from llmfleet.policies import security
from tests.policies.conftest import check, check_stack, resource

BUCKET = "aws:s3/bucket:Bucket"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ALL_BLOCKED = {
    "blockPublicAcls": True,
    "blockPublicPolicy": True,
    "ignorePublicAcls": True,
    "restrictPublicBuckets": True,
}


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


# (rule, resource type, properties that pass, properties that fail, the failure's message)
CASES = [
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
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        {"type": "ingress", "cidrBlocks": ["10.0.0.0/8"], "fromPort": 22, "toPort": 22},
        {"type": "ingress", "cidrBlocks": ["0.0.0.0/0"], "fromPort": 22, "toPort": 22},
        "ingress open to the world on 22",
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
                    "spec": {"containers": [{"name": "c", "securityContext": {"privileged": True}}]}
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
]


@pytest.mark.parametrize(("policy", "type_", "good", "bad", "message"), CASES)
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


# Types that sort before and after every type a rule judges: a rule comparing types by order
# instead of equality would judge them.
OTHER_TYPES = ["aws:acm/certificate:Certificate", "random:index/randomPassword:RandomPassword"]


@pytest.mark.parametrize("other", OTHER_TYPES)
@pytest.mark.parametrize(("policy", "type_", "good", "bad", "message"), CASES)
def test_a_rule_judges_only_its_own_types(policy, type_, good, bad, message, other):
    assert check(policy, other, bad) == []
    assert check(policy, other, {}) == []


EKS = "aws:eks/cluster:Cluster"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
FIREWALL = "gcp:compute/firewall:Firewall"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LOG_BUCKET = "gcp:logging/projectBucketConfig:ProjectBucketConfig"


class TestApiEndpoints:
    @pytest.mark.parametrize("props", [{}, {"vpcConfig": {"subnetIds": ["subnet-1"]}}])
    def test_an_eks_endpoint_is_public_to_the_world_by_default(self, props):
        assert check(security.private_api_endpoints, EKS, props) == [
            "EKS API endpoint is public to the world: restrict publicAccessCidrs"
        ]

    def test_a_private_eks_endpoint_passes_whatever_its_cidrs(self):
        props = {"vpcConfig": {"endpointPublicAccess": False, "publicAccessCidrs": ["0.0.0.0/0"]}}
        assert check(security.private_api_endpoints, EKS, props) == []

    def test_a_world_range_written_with_host_bits_is_still_the_world(self):
        props = {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["10.0.0.1/0"]}}
        assert len(check(security.private_api_endpoints, EKS, props)) == 1

    def test_a_gke_cluster_with_no_private_config_fails_twice(self):
        assert check(security.private_api_endpoints, "gcp:container/cluster:Cluster", {}) == [
            "GKE nodes have public IPs: set privateClusterConfig.enablePrivateNodes",
            "GKE control plane is reachable from the world: set authorized networks",
        ]


class TestMetadata:
    TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"

    def test_a_disabled_metadata_endpoint_passes(self):
        props = {"metadataOptions": {"httpEndpoint": "disabled"}}
        assert check(security.imdsv2_hop_limit, self.TEMPLATE, props) == []

    @pytest.mark.parametrize("props", [{}, {"metadataOptions": {"httpEndpoint": "enabled"}}])
    def test_unstated_tokens_allow_imdsv1(self, props):
        assert check(security.imdsv2_hop_limit, self.TEMPLATE, props) == [
            "instance metadata allows IMDSv1: set httpTokens required"
        ]

    def test_an_unstated_hop_limit_fails(self):
        props = {"metadataOptions": {"httpTokens": "required"}}
        assert check(security.imdsv2_hop_limit, "aws:ec2/instance:Instance", props) == [
            "metadata hop limit None: pods can reach node credentials; set 1"
        ]


class TestGcsPublicAccess:
    def test_an_unstated_prevention_fails(self):
        bucket = resource("gcp:storage/bucket:Bucket", "models", {})
        assert check_stack(security.storage_public_access_blocked, [bucket]) == [
            "bucket models: set publicAccessPrevention enforced"
        ]


def world(from_port, to_port, **rule) -> dict:
    """A security group open to the world on these ports."""
    ingress = {"protocol": "tcp", "cidrBlocks": ["0.0.0.0/0"], **rule}
    if from_port is not None:
        ingress["fromPort"] = from_port
    if to_port is not None:
        ingress["toPort"] = to_port
    return {"ingress": [ingress]}


class TestOpenIngress:
    @pytest.mark.parametrize(
        ("from_port", "to_port", "shown"),
        [
            (22, 22, "22"),
            (443, 445, "444, 445"),
            (8080, 8081, "8080, 8081"),
            (0, 3, "0, 1, 2, 3"),
            (0, 0, "all ports"),
            (0, 65535, "all ports"),
            (-1, -1, "all ports"),
            (8, -1, "all ports"),  # ICMP: type 8, every code
            (1000, 2025, "all ports"),
            (22, None, "all ports"),
            (None, 22, "all ports"),
        ],
    )
    def test_what_is_open_to_the_world(self, from_port, to_port, shown):
        assert check(security.no_open_ingress, SECURITY_GROUP, world(from_port, to_port)) == [
            f"ingress open to the world on {shown}; only [443] may be"
        ]

    def test_a_range_of_1024_ports_is_listed_and_a_wider_one_is_every_port(self):
        # Every port of 1-1024 but the last is allowed: what shows is what the range holds.
        config = {"openPorts": list(range(1, 1025))}
        listed = check(security.no_open_ingress, SECURITY_GROUP, world(1, 1025), config)
        assert listed == [f"ingress open to the world on 1025; only {list(range(1, 1025))} may be"]
        wider = check(security.no_open_ingress, SECURITY_GROUP, world(1, 1026), config)
        assert wider == [
            f"ingress open to the world on all ports; only {list(range(1, 1025))} may be"
        ]

    @pytest.mark.parametrize(("low", "high"), [(1000, 1100), (65000, 65535)])
    def test_a_narrow_range_is_its_ports(self, low, high):
        config = {"openPorts": list(range(low, high))}
        [message] = check(security.no_open_ingress, SECURITY_GROUP, world(low, high), config)
        assert message.startswith(f"ingress open to the world on {high}; only [{low}, ")

    def test_an_allowed_port_within_a_range_is_not_shown(self):
        config = {"openPorts": [80, 443]}
        assert check(security.no_open_ingress, SECURITY_GROUP, world(79, 81), config) == [
            "ingress open to the world on 79, 81; only [80, 443] may be"
        ]

    def test_a_private_range_or_an_unparsable_one_is_not_the_world(self):
        props = world(22, 22, cidrBlocks=["10.0.0.0/8", "pl-12345678"])
        assert check(security.no_open_ingress, SECURITY_GROUP, props) == []

    def test_ipv6_world_counts(self):
        props = world(22, 22, cidrBlocks=[], ipv6CidrBlocks=["::/0"])
        assert len(check(security.no_open_ingress, SECURITY_GROUP, props)) == 1

    @pytest.mark.parametrize(
        "cidrs", [{"cidrBlocks": ["0.0.0.0/0"]}, {"ipv6CidrBlocks": ["::/0"]}], ids=["v4", "v6"]
    )
    def test_an_ingress_security_group_rule(self, cidrs):
        rule = {"type": "ingress", "protocol": "tcp", "fromPort": 22, "toPort": 22, **cidrs}
        assert check(security.no_open_ingress, SG_RULE, rule) == [
            "ingress open to the world on 22; only [443] may be"
        ]
        assert check(security.no_open_ingress, SG_RULE, {**rule, "type": "egress"}) == []
        both = {**rule, "cidrBlocks": ["10.0.0.0/8"], "ipv6CidrBlocks": ["::/0"]}
        assert len(check(security.no_open_ingress, SG_RULE, both)) == 1

    def test_a_firewall_lists_ports_and_ranges(self):
        props = {
            "sourceRanges": ["0.0.0.0/0"],
            "allows": [{"protocol": "tcp", "ports": ["22", "8000-8001"]}],
        }
        assert check(security.no_open_ingress, FIREWALL, props) == [
            "ingress open to the world on 22, 8000, 8001; only [443] may be"
        ]

    def test_a_firewall_with_a_wide_range_opens_every_port(self):
        props = {
            "sourceRanges": ["0.0.0.0/0"],
            "allows": [{"protocol": "tcp", "ports": ["1-65535", "443"]}],
        }
        assert check(security.no_open_ingress, FIREWALL, props) == [
            "ingress open to the world on all ports; only [443] may be"
        ]

    def test_an_explicit_ingress_firewall(self):
        props = {
            "direction": "INGRESS",
            "sourceRanges": ["0.0.0.0/0"],
            "allows": [{"protocol": "tcp", "ports": ["22"]}],
        }
        assert check(security.no_open_ingress, FIREWALL, props) == [
            "ingress open to the world on 22; only [443] may be"
        ]

    def test_an_egress_firewall_is_not_ingress(self):
        props = {
            "direction": "EGRESS",
            "sourceRanges": ["0.0.0.0/0"],
            "allows": [{"protocol": "all"}],
        }
        assert check(security.no_open_ingress, FIREWALL, props) == []


class TestPrivilegedPods:
    def test_host_pid_and_privilege_escalation_fail(self):
        pod = {
            "metadata": {"namespace": "serving"},
            "spec": {
                "hostPID": True,
                "initContainers": [
                    {"name": "init", "securityContext": {"allowPrivilegeEscalation": True}}
                ],
            },
        }
        assert check(security.no_privileged_pods, "kubernetes:core/v1:Pod", pod) == [
            "pod in serving uses the host network or PID namespace",
            "container init in serving is privileged",
        ]

    def test_system_namespaces_come_from_config(self):
        pod = {"metadata": {"namespace": "monitoring"}, "spec": {"hostNetwork": True}}
        config = {"systemNamespaces": ["monitoring"]}
        assert check(security.no_privileged_pods, "kubernetes:core/v1:Pod", pod, config) == []
        assert len(check(security.no_privileged_pods, "kubernetes:core/v1:Pod", pod)) == 1


class TestServingKey:
    def test_an_api_key_flag_passes(self):
        props = vllm(["--model", "/models/m", "--api-key=$(KEY)"])
        assert (
            check(security.serving_requires_api_key, "kubernetes:apps/v1:Deployment", props) == []
        )

    def test_a_leader_worker_set_is_judged(self):
        container = {"name": "vllm", "image": "vllm/vllm-openai@sha256:ab"}
        props = {
            "spec": {
                "leaderWorkerTemplate": {"workerTemplate": {"spec": {"containers": [container]}}}
            }
        }
        lws = "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet"
        assert check(security.serving_requires_api_key, lws, props) == [
            "model server vllm answers without an API key (--api-key or VLLM_API_KEY)"
        ]


class TestLogRetention:
    @staticmethod
    def prod(**props) -> dict:
        return {**props, "tags": {"environment": "prod"}, "labels": {"environment": "prod"}}

    def test_a_prod_log_group_kept_forever_or_a_year_passes(self):
        assert check(security.prod_log_retention, LOG_GROUP, self.prod()) == []
        assert check(security.prod_log_retention, LOG_GROUP, self.prod(retentionInDays=365)) == []

    def test_staging_is_not_judged(self):
        props = {"retentionInDays": 7, "tags": {"environment": "staging"}}
        assert check(security.prod_log_retention, LOG_GROUP, props) == []

    def test_the_environment_may_come_from_config(self):
        props = {"retentionInDays": 7}
        assert check(security.prod_log_retention, LOG_GROUP, props, {"environment": "prod"}) == [
            "production logs kept 7 days; at least 365"
        ]

    def test_a_gcp_log_bucket_keeps_30_days_unless_told(self):
        assert check(security.prod_log_retention, LOG_BUCKET, self.prod()) == [
            "production logs kept 30 days; at least 365"
        ]
        assert check(security.prod_log_retention, LOG_BUCKET, self.prod(retentionDays=400)) == []

    def test_the_least_retention_comes_from_config(self):
        config = {"minLogRetentionDays": 90}
        props = self.prod(retentionInDays=90)
        assert check(security.prod_log_retention, LOG_GROUP, props, config) == []

    def test_the_setting_and_its_default(self):
        properties = security.prod_log_retention.config_schema.properties
        assert set(properties) == {"environment", "minLogRetentionDays"}
        retention = properties["minLogRetentionDays"]
        assert {k: v for k, v in retention.items() if k != "description"} == {
            "type": "integer",
            "minimum": 1,
            "default": 365,
        }


class TestServiceTrust:
    ROLE = "aws:iam/role:Role"

    def test_a_document_that_is_not_json_is_left_alone(self):
        assert (
            check(security.service_trust_names_source, self.ROLE, {"assumeRolePolicy": "{"}) == []
        )

    def test_deny_statements_and_non_statements_are_skipped(self):
        deny = {"Effect": "Deny", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "*"}
        allow = {"Effect": "Allow", "Principal": {"Service": ["sns.amazonaws.com"]}, "Action": "*"}
        props = {"assumeRolePolicy": {"Statement": ["not a statement", deny, allow]}}
        assert check(security.service_trust_names_source, self.ROLE, props) == [
            "trust policy lets sns.amazonaws.com assume the role without naming a source "
            "account or ARN (aws:SourceAccount / aws:SourceArn)"
        ]

    def test_a_lone_statement_is_judged(self):
        statement = {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}}
        props = {"assumeRolePolicy": {"Statement": statement}}
        assert len(check(security.service_trust_names_source, self.ROLE, props)) == 1


class TestGkeHardening:
    CLUSTER = "gcp:container/cluster:Cluster"

    def test_dataplane_v2_gives_intranode_visibility(self):
        props = {**GKE_HARDENED, "enableIntranodeVisibility": False}
        props["datapathProvider"] = "ADVANCED_DATAPATH"
        assert check(security.gke_hardening, self.CLUSTER, props) == []

    def test_shielded_nodes_are_on_unless_turned_off(self):
        props = {k: v for k, v in GKE_HARDENED.items() if k != "enableShieldedNodes"}
        assert check(security.gke_hardening, self.CLUSTER, props) == []
        off = {**GKE_HARDENED, "enableShieldedNodes": False}
        assert check(security.gke_hardening, self.CLUSTER, off) == ["Shielded GKE nodes are off"]

"""Encryption rules: a passing and a failing case each, through the pulumi_policy types."""

from __future__ import annotations

import json

import pytest

from llmfleet.policies import encryption
from tests.policies.conftest import check, check_stack, resource

BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
KEY = "arn:aws:kms:us-east-1:123456789012:key/k"


def bucket_with(*configs: tuple[str, dict]) -> list:
    bucket = resource(BUCKET, "models", {"bucket": "models"})
    return [bucket] + [
        resource(type_, f"c{i}", props, {"bucket": [bucket]})
        for i, (type_, props) in enumerate(configs)
    ]


class TestS3:
    def test_kms_default_encryption_passes(self):
        rules = [
            {
                "applyServerSideEncryptionByDefault": {
                    "sseAlgorithm": "aws:kms",
                    "kmsMasterKeyId": KEY,
                }
            }
        ]
        stack = bucket_with((SSE, {"bucket": "models", "rules": rules}))
        assert check_stack(encryption.s3_bucket_kms_encryption, stack) == []

    @pytest.mark.parametrize(
        "rules",
        [
            [],
            [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}],
            [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}],
        ],
    )
    def test_missing_or_s3_managed_encryption_fails(self, rules):
        stack = bucket_with((SSE, {"bucket": "models", "rules": rules}) if rules else ("x:y:Z", {}))
        [message] = check_stack(encryption.s3_bucket_kms_encryption, stack)
        assert "bucket models has no default encryption with a customer KMS key" in message

    def test_a_configuration_of_another_bucket_does_not_count(self):
        other = resource(BUCKET, "other", {})
        rules = [
            {
                "applyServerSideEncryptionByDefault": {
                    "sseAlgorithm": "aws:kms",
                    "kmsMasterKeyId": KEY,
                }
            }
        ]
        config = resource(SSE, "c", {"rules": rules}, {"bucket": [other]})
        stack = [resource(BUCKET, "models", {}), other, config]
        assert len(check_stack(encryption.s3_bucket_kms_encryption, stack)) == 1

    def test_tls_only_policy(self):
        deny = {
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ]
        }
        policy = "aws:s3/bucketPolicy:BucketPolicy"
        assert (
            check_stack(
                encryption.s3_bucket_tls_only, bucket_with((policy, {"policy": json.dumps(deny)}))
            )
            == []
        )
        allow = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}]}
        [message] = check_stack(
            encryption.s3_bucket_tls_only, bucket_with((policy, {"policy": json.dumps(allow)}))
        )
        assert "denying requests without TLS" in message


# (rule, resource type, properties that pass, properties that fail, the failure's message)
CASES = [
    (
        encryption.kms_key_rotation,
        "aws:kms/key:Key",
        {"enableKeyRotation": True},
        {"enableKeyRotation": False},
        "KMS key without automatic rotation",
    ),
    (
        encryption.kms_key_rotation,
        "gcp:kms/cryptoKey:CryptoKey",
        {"rotationPeriod": "7776000s"},
        {"purpose": "ENCRYPT_DECRYPT"},
        "Cloud KMS key without a rotationPeriod",
    ),
    (
        encryption.eks_secrets_encryption,
        "aws:eks/cluster:Cluster",
        {"encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": KEY}}},
        {},
        "EKS cluster without envelope encryption",
    ),
    (
        encryption.ebs_encryption,
        "aws:ec2/launchTemplate:LaunchTemplate",
        {
            "blockDeviceMappings": [
                {"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "kmsKeyId": KEY}}
            ]
        },
        {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}]},
        "EBS volume /dev/xvda is not encrypted",
    ),
    (
        encryption.ebs_encryption,
        "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass",
        {
            "spec": {
                "blockDeviceMappings": [
                    {"deviceName": "/dev/xvda", "ebs": {"encrypted": True, "kmsKeyID": KEY}}
                ]
            }
        },
        {
            "spec": {
                "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": True}}]
            }
        },
        "EBS volume /dev/xvda is not encrypted with a customer KMS key",
    ),
    (
        encryption.efs_fsx_kms,
        "aws:efs/fileSystem:FileSystem",
        {"encrypted": True, "kmsKeyId": KEY},
        {"encrypted": True},
        "EFS file system without encryption",
    ),
    (
        encryption.efs_fsx_kms,
        "aws:fsx/lustreFileSystem:LustreFileSystem",
        {"kmsKeyId": KEY},
        {},
        "FSx for Lustre file system without encryption",
    ),
    (
        encryption.gke_secrets_encryption,
        "gcp:container/cluster:Cluster",
        {"databaseEncryption": {"state": "ENCRYPTED", "keyName": "k"}},
        {"databaseEncryption": {"state": "DECRYPTED"}},
        "GKE cluster without application-layer secrets encryption",
    ),
    (
        encryption.gcs_cmek,
        "gcp:storage/bucket:Bucket",
        {"encryption": {"defaultKmsKeyName": "k"}},
        {},
        "GCS bucket without a default customer-managed key",
    ),
    (
        encryption.gke_boot_disk_cmek,
        "gcp:container/nodePool:NodePool",
        {"nodeConfig": {"bootDiskKmsKey": "k"}},
        {"nodeConfig": {}},
        "boot disks without a customer-managed key",
    ),
    (
        encryption.gke_boot_disk_cmek,
        "gcp:container/cluster:Cluster",
        {"removeDefaultNodePool": True},
        {"removeDefaultNodePool": False},
        "default node pool boot disks",
    ),
    (
        encryption.log_group_kms,
        "aws:cloudwatch/logGroup:LogGroup",
        {"kmsKeyId": KEY},
        {"retentionInDays": 90},
        "CloudWatch log group without a KMS key",
    ),
    (
        encryption.tls_only_endpoints,
        "aws:lb/listener:Listener",
        {
            "protocol": "HTTP",
            "port": 80,
            "defaultActions": [{"type": "redirect", "redirect": {"protocol": "HTTPS"}}],
        },
        {"protocol": "HTTP", "port": 80, "defaultActions": [{"type": "forward"}]},
        "listener on HTTP port 80",
    ),
    (
        encryption.tls_only_endpoints,
        "kubernetes:gateway.networking.k8s.io/v1:Gateway",
        {"spec": {"listeners": [{"name": "https", "protocol": "HTTPS"}]}},
        {"spec": {"listeners": [{"name": "web", "protocol": "HTTP"}]}},
        "Gateway listener web on HTTP",
    ),
]


@pytest.mark.parametrize(("policy", "type_", "good", "bad", "message"), CASES)
def test_rule(policy, type_, good, bad, message):
    assert check(policy, type_, good) == []
    [reported] = check(policy, type_, bad)
    assert message in reported


def test_rules_ignore_other_types():
    for policy in encryption.POLICIES:
        if hasattr(policy, "validate") and policy in (
            encryption.s3_bucket_kms_encryption,
            encryption.s3_bucket_tls_only,
        ):
            continue
        assert check(policy, "aws:ec2/vpc:Vpc", {"cidrBlock": "10.0.0.0/16"}) == []


# Types that sort before and after every type a rule judges: a rule comparing types by order
# instead of equality would judge them.
OTHER_TYPES = ["aws:acm/certificate:Certificate", "random:index/randomPassword:RandomPassword"]


@pytest.mark.parametrize("other", OTHER_TYPES)
@pytest.mark.parametrize(("policy", "type_", "good", "bad", "message"), CASES)
def test_a_rule_judges_only_its_own_types(policy, type_, good, bad, message, other):
    assert check(policy, other, bad) == []
    assert check(policy, other, {}) == []


KMS_RULE = {
    "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY}
}
AES_RULE = {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}
LOGGING = "aws:s3/bucketLogging:BucketLogging"


class TestS3Encryption:
    def test_dsse_with_a_customer_key_passes(self):
        rule = {
            "applyServerSideEncryptionByDefault": {
                "sseAlgorithm": "aws:kms:dsse",
                "kmsMasterKeyId": KEY,
            }
        }
        stack = bucket_with((SSE, {"rules": [rule]}))
        assert check_stack(encryption.s3_bucket_kms_encryption, stack) == []

    def test_inline_encryption_on_the_bucket_counts(self):
        bucket = resource(
            BUCKET, "models", {"serverSideEncryptionConfiguration": {"rules": [KMS_RULE]}}
        )
        assert check_stack(encryption.s3_bucket_kms_encryption, [bucket]) == []

    def test_a_server_access_log_target_may_use_s3_managed_keys(self):
        # S3 writes server access logs only into SSE-S3 (AES256) buckets.
        models, logs = resource(BUCKET, "models", {}), resource(BUCKET, "logs", {})
        stack = [
            models,
            logs,
            resource(SSE, "models-sse", {"rules": [KMS_RULE]}, {"bucket": [models]}),
            resource(SSE, "logs-sse", {"rules": [AES_RULE]}, {"bucket": [logs]}),
            resource(LOGGING, "models-logging", {}, {"bucket": [models], "targetBucket": [logs]}),
        ]
        assert check_stack(encryption.s3_bucket_kms_encryption, stack) == []

    def test_a_log_target_without_any_default_encryption_fails(self):
        models, logs = resource(BUCKET, "models", {}), resource(BUCKET, "logs", {})
        stack = [
            models,
            logs,
            resource(SSE, "models-sse", {"rules": [KMS_RULE]}, {"bucket": [models]}),
            resource(LOGGING, "models-logging", {}, {"bucket": [models], "targetBucket": [logs]}),
        ]
        [message] = check_stack(encryption.s3_bucket_kms_encryption, stack)
        assert message.startswith("bucket logs has no default encryption with a customer KMS key")


BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"


def deny_plain_http(secure_transport, *, effect="Deny") -> dict:
    statement = {"Effect": effect, "Principal": "*", "Action": "s3:*"}
    if secure_transport is not None:
        statement["Condition"] = {"Bool": {"aws:SecureTransport": secure_transport}}
    return {"Version": "2012-10-17", "Statement": [statement]}


class TestS3TlsOnly:
    MESSAGE = (
        "bucket models has no bucket policy denying requests without TLS "
        '(Effect Deny with Condition Bool "aws:SecureTransport": "false")'
    )

    @pytest.mark.parametrize(
        "document",
        [
            json.dumps(deny_plain_http("false")),
            json.dumps(deny_plain_http(False)),
            # IAM reads a list of condition values as alternatives.
            json.dumps(deny_plain_http(["false"])),
            # A policy document that is not yet a string, and a lone statement.
            {"Statement": deny_plain_http("false")["Statement"][0]},
        ],
    )
    def test_a_deny_without_secure_transport_passes(self, document):
        stack = bucket_with((BUCKET_POLICY, {"policy": document}))
        assert check_stack(encryption.s3_bucket_tls_only, stack) == []

    def test_the_bucket_s_own_policy_counts(self):
        bucket = resource(BUCKET, "models", {"policy": json.dumps(deny_plain_http("false"))})
        assert check_stack(encryption.s3_bucket_tls_only, [bucket]) == []

    @pytest.mark.parametrize(
        "document",
        [
            json.dumps(deny_plain_http("false", effect="Allow")),
            json.dumps(deny_plain_http("true")),
            json.dumps(deny_plain_http(None)),
            "not a policy document",
        ],
        ids=["allow", "denies-tls-requests", "denies-everything-unconditionally", "not-json"],
    )
    def test_anything_else_fails(self, document):
        stack = bucket_with((BUCKET_POLICY, {"policy": document}))
        assert check_stack(encryption.s3_bucket_tls_only, stack) == [self.MESSAGE]


class TestKmsRotation:
    @pytest.mark.parametrize(
        "props",
        [
            {"keySpec": "RSA_2048"},
            {"customerMasterKeySpec": "ECC_NIST_P256"},
            {"keySpec": "HMAC_256", "keyUsage": "GENERATE_VERIFY_MAC"},
            {"enableKeyRotation": "true"},
        ],
    )
    def test_asymmetric_and_rotating_aws_keys_pass(self, props):
        assert check(encryption.kms_key_rotation, "aws:kms/key:Key", props) == []

    def test_an_explicitly_symmetric_aws_key_must_rotate(self):
        props = {"keySpec": "SYMMETRIC_DEFAULT", "enableKeyRotation": False}
        assert check(encryption.kms_key_rotation, "aws:kms/key:Key", props) == [
            "KMS key without automatic rotation: set enableKeyRotation true"
        ]

    @pytest.mark.parametrize("purpose", ["ASYMMETRIC_SIGN", "ASYMMETRIC_DECRYPT", "MAC"])
    def test_cloud_kms_keys_that_cannot_rotate_pass(self, purpose):
        props = {"purpose": purpose}
        assert check(encryption.kms_key_rotation, "gcp:kms/cryptoKey:CryptoKey", props) == []

    def test_a_cloud_kms_key_without_purpose_encrypts_so_must_rotate(self):
        assert check(encryption.kms_key_rotation, "gcp:kms/cryptoKey:CryptoKey", {}) == [
            "Cloud KMS key without a rotationPeriod"
        ]


class TestEksSecrets:
    @pytest.mark.parametrize(
        "config",
        [
            {"resources": ["secrets"]},
            {"resources": [], "provider": {"keyArn": KEY}},
            [{"resources": ["secrets"]}],
        ],
        ids=["no-key", "no-secrets", "list-without-key"],
    )
    def test_secrets_and_a_key_are_both_needed(self, config):
        props = {"encryptionConfig": config}
        assert check(encryption.eks_secrets_encryption, "aws:eks/cluster:Cluster", props) == [
            "EKS cluster without envelope encryption of secrets with a KMS key"
        ]

    def test_a_list_of_configurations_passes_with_one_for_secrets(self):
        props = {"encryptionConfig": [{"resources": ["secrets"], "provider": {"keyArn": KEY}}]}
        assert check(encryption.eks_secrets_encryption, "aws:eks/cluster:Cluster", props) == []


class TestVolumesAndFileSystems:
    def test_a_standalone_volume_needs_encryption_and_a_key(self):
        volume = "aws:ebs/volume:Volume"
        assert check(encryption.ebs_encryption, volume, {"encrypted": True, "kmsKeyId": KEY}) == []
        assert check(encryption.ebs_encryption, volume, {"encrypted": True}) == [
            "EBS volume volume is not encrypted with a customer KMS key"
        ]

    def test_a_node_class_without_block_devices_keeps_the_ami_s_encryption(self):
        node_class = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
        assert check(encryption.ebs_encryption, node_class, {"spec": {}}) == [
            "EC2NodeClass without blockDeviceMappings: root volumes use the AMI's encryption"
        ]

    def test_an_efs_file_system_with_a_key_but_not_encrypted_fails(self):
        props = {"encrypted": False, "kmsKeyId": KEY}
        assert check(encryption.efs_fsx_kms, "aws:efs/fileSystem:FileSystem", props) == [
            "EFS file system without encryption under a customer KMS key (kmsKeyId)"
        ]

    def test_fsx_is_always_encrypted_so_only_the_key_matters(self):
        props = {"kmsKeyId": KEY}
        assert (
            check(encryption.efs_fsx_kms, "aws:fsx/openZfsFileSystem:OpenZfsFileSystem", props)
            == []
        )


class TestGkeSecrets:
    @pytest.mark.parametrize(
        "encryption_config",
        [{"state": "DECRYPTED", "keyName": "k"}, {"keyName": "k"}, {"state": "ENCRYPTED"}],
        ids=["decrypted", "no-state", "no-key"],
    )
    def test_encrypted_state_and_a_key_are_both_needed(self, encryption_config):
        props = {"databaseEncryption": encryption_config}
        assert check(encryption.gke_secrets_encryption, "gcp:container/cluster:Cluster", props) == [
            "GKE cluster without application-layer secrets encryption (databaseEncryption)"
        ]


LISTENER = "aws:lb/listener:Listener"
FORWARD = [{"type": "forward", "targetGroupArn": "arn:tg"}]


def redirect(protocol: str) -> list[dict]:
    return [{"type": "redirect", "redirect": {"protocol": protocol, "statusCode": "HTTP_301"}}]


class TestTlsOnly:
    @pytest.mark.parametrize(
        ("type_", "props"),
        [
            (LISTENER, {"protocol": "HTTPS", "port": 443, "defaultActions": FORWARD}),
            ("aws:alb/listener:Listener", {"protocol": "TLS", "port": 443}),
            (LISTENER, {"protocol": "HTTP", "port": 80, "defaultActions": redirect("HTTPS")}),
        ],
    )
    def test_tls_and_redirects_to_https_pass(self, type_, props):
        assert check(encryption.tls_only_endpoints, type_, props) == []

    @pytest.mark.parametrize(
        ("props", "message"),
        [
            ({"port": 80, "defaultActions": FORWARD}, "listener on HTTP port 80: use HTTPS or TLS"),
            (
                {"protocol": "HTTP", "port": 80, "defaultActions": redirect("HTTP")},
                "listener on HTTP port 80: use HTTPS or TLS",
            ),
            (
                {"protocol": "HTTP", "port": 80, "defaultActions": [*redirect("HTTPS"), *FORWARD]},
                "listener on HTTP port 80: use HTTPS or TLS",
            ),
            (
                {"protocol": "TCP", "port": 443, "defaultActions": redirect("HTTPS")},
                "listener on TCP port 443: use HTTPS or TLS",
            ),
        ],
        ids=["http-by-default", "redirect-to-http", "redirect-and-forward", "tcp"],
    )
    def test_plain_listeners_fail(self, props, message):
        assert check(encryption.tls_only_endpoints, LISTENER, props) == [message]

    def test_a_plain_http_target_proxy_fails(self):
        proxy = "gcp:compute/targetHttpProxy:TargetHttpProxy"
        assert check(encryption.tls_only_endpoints, proxy, {"urlMap": "m"}) == [
            "plain-HTTP target proxy: use a TargetHttpsProxy"
        ]
        https = "gcp:compute/targetHttpsProxy:TargetHttpsProxy"
        assert check(encryption.tls_only_endpoints, https, {"urlMap": "m"}) == []

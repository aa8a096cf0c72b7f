"""Encryption rules: a passing and a failing case each, through the pulumi_policy types."""

from __future__ import annotations

import json

import pytest

from llmfleet.policies import encryption
from tests.policies.conftest import check, check_stack, resource

BUCKET = "aws:s3/bucket:Bucket"
SSE = encryption.SSE_CONFIG_TYPES[0]
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


@pytest.mark.parametrize(
    ("policy", "type_", "good", "bad", "message"),
    [
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
    ],
)
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

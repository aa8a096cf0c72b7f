"""Encryption at rest with customer keys, and TLS in transit. Mandatory by default."""

from __future__ import annotations

import json
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, StackValidationArgs

from llmfleet.policies.rules import (
    get,
    items,
    label,
    of_type,
    on,
    referencing,
    resource_rule,
    stack_rule,
)

BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
SSE_CONFIG_TYPES = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
LOGGING_TYPES = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")


def _kms_default(rule: Any, allowed: tuple[str, ...]) -> bool:
    default = get(rule, "applyServerSideEncryptionByDefault") or {}
    algorithm = default.get("sseAlgorithm")
    return algorithm in allowed and (algorithm == "AES256" or bool(default.get("kmsMasterKeyId")))


def _s3_kms(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in of_type(args.resources, *BUCKET_TYPES):
        configs = referencing(args.resources, bucket, "bucket", *SSE_CONFIG_TYPES)
        inline = items(get(bucket.props, "serverSideEncryptionConfiguration", "rules"))
        rules = inline + [r for c in configs for r in items(c.props.get("rules"))]
        # S3 delivers server access logs only to SSE-S3 buckets: a log target may use AES256.
        log_target = referencing(args.resources, bucket, "targetBucket", *LOGGING_TYPES)
        allowed = (*KMS_ALGORITHMS, "AES256") if log_target else KMS_ALGORITHMS
        if not any(_kms_default(r, allowed) for r in rules):
            report(
                f"bucket {label(bucket.urn)} has no default encryption with a customer KMS key "
                "(a BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms and "
                "kmsMasterKeyId)",
                bucket.urn,
            )


s3_bucket_kms_encryption = stack_rule(
    "s3-bucket-kms-encryption",
    "Every S3 bucket encrypts by default with a customer KMS key (its encryption configuration "
    "resource names the key); server access log targets, which S3 writes only with SSE-S3, "
    "may use AES256.",
    _s3_kms,
)


def _statements(policy: Any) -> list[dict[str, Any]]:
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return []
    statements = get(policy, "Statement")
    if isinstance(statements, dict):
        return [statements]
    return [s for s in items(statements) if isinstance(s, dict)]


def _denies_plain_http(statement: dict[str, Any]) -> bool:
    condition = get(statement, "Condition", "Bool", "aws:SecureTransport")
    # IAM takes a condition value alone or as a list of alternatives.
    values = condition if isinstance(condition, list) else [condition]
    return statement.get("Effect") == "Deny" and any(str(v).lower() == "false" for v in values)


def _s3_tls(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in of_type(args.resources, *BUCKET_TYPES):
        policies = referencing(args.resources, bucket, "bucket", "aws:s3/bucketPolicy:BucketPolicy")
        documents = [p.props.get("policy") for p in policies] + [bucket.props.get("policy")]
        if not any(_denies_plain_http(s) for d in documents for s in _statements(d)):
            report(
                f"bucket {label(bucket.urn)} has no bucket policy denying requests without TLS "
                '(Effect Deny with Condition Bool "aws:SecureTransport": "false")',
                bucket.urn,
            )


s3_bucket_tls_only = stack_rule(
    "s3-bucket-tls-only",
    "Every S3 bucket's policy denies requests that do not use TLS.",
    _s3_tls,
)


def _kms_rotation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if args.resource_type == "aws:kms/key:Key":
        spec = props.get("customerMasterKeySpec") or props.get("keySpec") or "SYMMETRIC_DEFAULT"
        # AWS rotates only symmetric encryption keys.
        if spec == "SYMMETRIC_DEFAULT" and not on(props.get("enableKeyRotation")):
            report("KMS key without automatic rotation: set enableKeyRotation true")
    elif args.resource_type == "gcp:kms/cryptoKey:CryptoKey":
        purpose = props.get("purpose") or "ENCRYPT_DECRYPT"
        if purpose == "ENCRYPT_DECRYPT" and not props.get("rotationPeriod"):
            report("Cloud KMS key without a rotationPeriod")


kms_key_rotation = resource_rule(
    "kms-key-rotation",
    "Symmetric AWS KMS keys and Cloud KMS encryption keys rotate automatically.",
    _kms_rotation,
)


def _eks_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != "aws:eks/cluster:Cluster":
        return
    configs = items(args.props.get("encryptionConfig")) or [args.props.get("encryptionConfig")]
    if not any(
        "secrets" in items(get(c, "resources")) and get(c, "provider", "keyArn") for c in configs
    ):
        report("EKS cluster without envelope encryption of secrets with a KMS key")


eks_secrets_encryption = resource_rule(
    "eks-secrets-encryption",
    "EKS clusters encrypt Kubernetes secrets with a customer KMS key.",
    _eks_secrets,
)


def _ebs_volumes(args: ResourceValidationArgs) -> list[tuple[str, Any]]:
    props = args.props
    if args.resource_type == "aws:ec2/launchTemplate:LaunchTemplate":
        return [
            (m.get("deviceName", "?"), m.get("ebs"))
            for m in items(props.get("blockDeviceMappings"))
            if m.get("ebs") is not None
        ]
    if args.resource_type == "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass":
        return [
            (m.get("deviceName", "?"), m.get("ebs"))
            for m in items(get(props, "spec", "blockDeviceMappings"))
            if m.get("ebs") is not None
        ]
    if args.resource_type == "aws:ebs/volume:Volume":
        return [("volume", props)]
    return []


def _ebs(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for device, ebs in _ebs_volumes(args):
        key = get(ebs, "kmsKeyId") or get(ebs, "kmsKeyID")
        if not on(get(ebs, "encrypted")) or not key:
            report(f"EBS volume {device} is not encrypted with a customer KMS key")
    if args.resource_type == "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass" and not items(
        get(args.props, "spec", "blockDeviceMappings")
    ):
        report("EC2NodeClass without blockDeviceMappings: root volumes use the AMI's encryption")


ebs_encryption = resource_rule(
    "ebs-encryption",
    "EBS volumes of launch templates, Karpenter EC2NodeClasses and standalone volumes are "
    "encrypted with a customer KMS key.",
    _ebs,
)

_FILE_SYSTEMS = {
    "aws:efs/fileSystem:FileSystem": "EFS file system",
    "aws:fsx/lustreFileSystem:LustreFileSystem": "FSx for Lustre file system",
    "aws:fsx/openZfsFileSystem:OpenZfsFileSystem": "FSx for OpenZFS file system",
    "aws:fsx/ontapFileSystem:OntapFileSystem": "FSx for ONTAP file system",
    "aws:fsx/windowsFileSystem:WindowsFileSystem": "FSx for Windows file system",
}


def _file_systems(args: ResourceValidationArgs, report: ReportViolation) -> None:
    kind = _FILE_SYSTEMS.get(args.resource_type)
    if kind is None:
        return
    encrypted = args.resource_type != "aws:efs/fileSystem:FileSystem" or on(
        args.props.get("encrypted")
    )
    if not encrypted or not args.props.get("kmsKeyId"):
        report(f"{kind} without encryption under a customer KMS key (kmsKeyId)")


efs_fsx_kms = resource_rule(
    "efs-fsx-kms",
    "EFS and FSx file systems are encrypted with a customer KMS key.",
    _file_systems,
)


def _gke_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != "gcp:container/cluster:Cluster":
        return
    encryption = args.props.get("databaseEncryption") or {}
    if encryption.get("state") != "ENCRYPTED" or not encryption.get("keyName"):
        report("GKE cluster without application-layer secrets encryption (databaseEncryption)")


gke_secrets_encryption = resource_rule(
    "gke-secrets-encryption",
    "GKE clusters encrypt secrets at the application layer with a Cloud KMS key.",
    _gke_secrets,
)


def _gcs_cmek(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == "gcp:storage/bucket:Bucket" and not get(
        args.props, "encryption", "defaultKmsKeyName"
    ):
        report("GCS bucket without a default customer-managed key (encryption.defaultKmsKeyName)")


gcs_cmek = resource_rule(
    "gcs-cmek", "GCS buckets encrypt with a customer-managed Cloud KMS key.", _gcs_cmek
)


def _gke_boot_disks(args: ResourceValidationArgs, report: ReportViolation) -> None:
    key = get(args.props, "nodeConfig", "bootDiskKmsKey")
    if args.resource_type == "gcp:container/nodePool:NodePool" and not key:
        report("GKE node pool boot disks without a customer-managed key (bootDiskKmsKey)")
    # The default pool is created unless removed; its nodes use the cluster's nodeConfig.
    default_pool = not on(args.props.get("removeDefaultNodePool"))
    if args.resource_type == "gcp:container/cluster:Cluster" and default_pool and not key:
        report("GKE default node pool boot disks without a customer-managed key")


gke_boot_disk_cmek = resource_rule(
    "gke-boot-disk-cmek",
    "GKE node boot disks are encrypted with a customer-managed Cloud KMS key.",
    _gke_boot_disks,
)


def _log_groups(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == "aws:cloudwatch/logGroup:LogGroup" and not args.props.get("kmsKeyId"):
        report("CloudWatch log group without a KMS key (kmsKeyId)")


log_group_kms = resource_rule(
    "log-group-kms", "CloudWatch log groups are encrypted with a KMS key.", _log_groups
)

_PLAIN = {"HTTP", "TCP", "UDP", "TCP_UDP"}


def _tls_only(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props, kind = args.props, args.resource_type
    if kind in ("aws:lb/listener:Listener", "aws:alb/listener:Listener"):
        protocol = props.get("protocol") or "HTTP"
        redirects = all(
            get(a, "type") == "redirect" and get(a, "redirect", "protocol") == "HTTPS"
            for a in items(props.get("defaultActions"))
        )
        if protocol in _PLAIN and not (protocol == "HTTP" and redirects):
            report(f"listener on {protocol} port {props.get('port')}: use HTTPS or TLS")
    elif kind == "gcp:compute/targetHttpProxy:TargetHttpProxy":
        report("plain-HTTP target proxy: use a TargetHttpsProxy")
    elif kind == "kubernetes:gateway.networking.k8s.io/v1:Gateway":
        for listener in items(get(props, "spec", "listeners")):
            if listener.get("protocol") in ("HTTP", "TCP", "UDP"):
                report(f"Gateway listener {listener.get('name')} on {listener.get('protocol')}")


tls_only_endpoints = resource_rule(
    "tls-only-endpoints",
    "Load balancer listeners, proxies and Gateways accept TLS only (an HTTP listener may only "
    "redirect to HTTPS).",
    _tls_only,
)

POLICIES = [
    s3_bucket_kms_encryption,
    s3_bucket_tls_only,
    kms_key_rotation,
    eks_secrets_encryption,
    ebs_encryption,
    efs_fsx_kms,
    gke_secrets_encryption,
    gcs_cmek,
    gke_boot_disk_cmek,
    log_group_kms,
    tls_only_endpoints,
]

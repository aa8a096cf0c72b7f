"""What every S3 bucket of the fleet has besides its purpose: versions, a customer key, no
public access, objects owned by the bucket owner (no ACLs), and server access logs kept in a log
bucket of its own.

The model buckets (storage.py) and the uptime canaries' artifact buckets (canary.py) share it.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from llmfleet.components.aws import iam
from llmfleet.components.aws.component import AwsComponent

SSE_KMS = "aws:kms"
"""S3's name for server-side encryption with a KMS key."""

ACCESS_LOG_PREFIX = "access-logs/"
"""Where a bucket's server access logs land in its log bucket."""


def deny_insecure_transport(bucket_arn: str) -> iam.Statement:
    """The bucket-policy statement refusing every request to the bucket and its objects that
    does not come over TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def access_log_bucket_policy(log_bucket_arn: str, source_bucket_arn: str, account_id: str) -> str:
    """TLS only; the S3 logging service writes the source bucket's access logs and nothing else
    (the conditions guard against the confused-deputy problem)."""
    return iam.policy_document(
        deny_insecure_transport(log_bucket_arn),
        {
            "Sid": "S3ServerAccessLogsFromTheModelBucket",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{log_bucket_arn}/{ACCESS_LOG_PREFIX}*",
            "Condition": {
                "ArnLike": {"aws:SourceArn": source_bucket_arn},
                "StringEquals": {"aws:SourceAccount": account_id},
            },
        },
    )


def versioned_with_customer_key(
    component: AwsComponent,
    bucket: aws.s3.Bucket,
    key_arn: pulumi.Input[str],
    region: str,
    versioning_name: str,
    encryption_name: str,
) -> aws.s3.BucketVersioning:
    """Keep every version of every object, and encrypt each with ``key_arn`` by default.
    Returns the versioning, which lifecycle and replication rules must wait for."""
    versioning = aws.s3.BucketVersioning(
        versioning_name,
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
            status="Enabled"
        ),
        region=region,
        opts=component._child(),
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        encryption_name,
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm=SSE_KMS, kms_master_key_id=key_arn
                ),
                # One data key per bucket instead of a KMS call per object: model shards are
                # many and large, and every pod start reads all of them.
                bucket_key_enabled=True,
                # Customer-provided keys: replication skips such objects and readers could not
                # decrypt them.
                blocked_encryption_types=["SSE-C"],
            )
        ],
        region=region,
        opts=component._child(),
    )
    return versioning


def private_and_owner_enforced(
    component: AwsComponent,
    bucket: aws.s3.Bucket,
    region: str,
    public_access_name: str,
    ownership_name: str,
) -> aws.s3.BucketPublicAccessBlock:
    """Block every form of public access and disable ACLs (the bucket owner owns every
    object). Returns the public-access block, which the bucket policy must wait for."""
    public_access = aws.s3.BucketPublicAccessBlock(
        public_access_name,
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        region=region,
        opts=component._child(),
    )
    aws.s3.BucketOwnershipControls(
        ownership_name,
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        region=region,
        opts=component._child(),
    )
    return public_access


def access_logs(
    component: AwsComponent,
    name: str,
    region: str,
    logs: aws.s3.Bucket,
    source: aws.s3.Bucket,
    account_id: pulumi.Input[str],
    retention_days: int,
    logging_name: str,
) -> None:
    """Server access logs of ``source``, kept in ``logs`` (named ``name``).

    S3 delivers access logs only to buckets encrypted with S3-managed keys (SSE-S3), so the
    log bucket uses no customer key; it blocks public access, takes TLS only and expires logs
    after ``retention_days``.
    """
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=logs.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"
                ),
            )
        ],
        region=region,
        opts=component._child(),
    )
    public_access = private_and_owner_enforced(
        component, logs, region, f"{name}-public-access", f"{name}-ownership"
    )
    policy = aws.s3.BucketPolicy(
        f"{name}-policy",
        bucket=logs.id,
        policy=pulumi.Output.all(logs.arn, source.arn, account_id).apply(
            lambda v: access_log_bucket_policy(*v)
        ),
        region=region,
        opts=component._child(depends_on=[public_access]),
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle",
        bucket=logs.id,
        rules=[
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-access-logs",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                    days=retention_days
                ),
            )
        ],
        region=region,
        opts=component._child(),
    )
    aws.s3.BucketLogging(
        logging_name,
        bucket=source.id,
        target_bucket=logs.id,
        target_prefix=ACCESS_LOG_PREFIX,
        region=region,
        # The logging service may write only once the log bucket's policy lets it.
        opts=component._child(depends_on=[policy]),
    )

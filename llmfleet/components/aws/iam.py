"""AWS IAM: the policy documents every role, key, bucket and queue policy here is written in,
the account they are written for, and names that fit AWS's length limits.

Components build their statements as plain dicts and serialise them here, so every document
carries the same policy-language version, and the statements more than one component needs
(the account administering a KMS key, a principal assuming a role, a key used only through S3)
are written once.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

POLICY_LANGUAGE_VERSION = "2012-10-17"
"""The current policy language; the older one has no policy variables."""

ROLE_NAME_MAX_LENGTH = 64
"""IAM refuses longer role names."""

Statement = dict[str, Any]
Condition = dict[str, Any]


def policy_document(*statements: Statement, policy_id: str | None = None) -> str:
    """A policy document holding ``statements`` in order, as the JSON IAM, KMS, S3 and SQS take.

    ``policy_id`` becomes the document's optional ``Id``.
    """
    document: dict[str, Any] = {"Version": POLICY_LANGUAGE_VERSION}
    if policy_id is not None:
        document["Id"] = policy_id
    document["Statement"] = list(statements)
    return json.dumps(document)


def account_root_arn(partition: str, account_id: str) -> str:
    """The account as a principal: trusting it hands the decision to the account's IAM policies."""
    return f"arn:{partition}:iam::{account_id}:root"


def account_root_admin_statement(partition: str, account_id: str) -> Statement:
    """Key policy statement: the account administers the key and delegates its use to IAM
    policies; without it no IAM policy can grant or administer the key."""
    return {
        "Sid": "AccountAdministersKeyThroughIam",
        "Effect": "Allow",
        "Principal": {"AWS": account_root_arn(partition, account_id)},
        "Action": "kms:*",
        "Resource": "*",
    }


def trust_policy(
    principal: dict[str, str],
    action: str | list[str] = "sts:AssumeRole",
    condition: Condition | None = None,
) -> str:
    """A role's trust policy: ``principal`` (``{"Service": "eks.amazonaws.com"}``) may assume the
    role through ``action``, when ``condition`` holds."""
    statement: Statement = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition is not None:
        statement["Condition"] = condition
    return policy_document(statement)


def kms_through_s3(region: str, bucket_arn: str, objects_arn: str) -> Condition:
    """Condition of a KMS key statement: the key is used only by S3 in ``region``, for one bucket.

    With S3 Bucket Keys the encryption context is the bucket ARN; objects written with the
    bucket key turned off per request carry their own ARN (matched by ``objects_arn``, a
    pattern such as ``<bucket ARN>/models/*``), so both are admitted.
    """
    return {
        "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
        "StringLike": {"kms:EncryptionContext:aws:s3:arn": [bucket_arn, objects_arn]},
    }


def caller_account(parent: pulumi.Resource) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    """The deploying account's id and partition (``aws``, ``aws-cn``...), looked up once per
    component so ARNs are built for the account and partition ``pulumi up`` runs in."""
    options = pulumi.InvokeOutputOptions(parent=parent)
    account_id = aws.get_caller_identity_output(opts=options).account_id
    partition = aws.get_partition_output(opts=options).partition
    return account_id, partition


def logs_key_statement(region: str, log_group_arn: str) -> Statement:
    """Key policy statement: CloudWatch Logs encrypts one log group (named by the encryption
    context it sends) with the key, and nothing else."""
    return {
        "Sid": "EncryptLogGroup",
        "Effect": "Allow",
        "Principal": {"Service": f"logs.{region}.amazonaws.com"},
        "Action": [
            "kms:Encrypt*",
            "kms:Decrypt*",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
            "kms:Describe*",
        ],
        "Resource": "*",
        "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
    }

"""Cross-cloud model copy: the AWS primary bucket's ``models/`` into the GCP primary bucket.

When a fleet serves from both clouds, its primary copy lives on AWS (the spec requires it: GCS
pulls from S3, nothing pushes from GCS to S3). A Storage Transfer Service job of the GCP project
copies ``models/`` hourly from the S3 primary into the GCP primary bucket, which feeds the other
GCP buckets, so AWS egress is paid once. The job authenticates with an AWS role that trusts only
this project's Storage Transfer service agent through web identity federation: no long-lived
AWS key exists anywhere.

This module is the one place that knows both clouds; ``Fleet`` composes it, and neither
``aws/`` nor ``gcp/`` imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from llmfleet.components.aws import iam
from llmfleet.components.aws.component import AwsComponent
from llmfleet.components.aws.storage import AwsModelStorage
from llmfleet.components.contracts import ModelStore
from llmfleet.components.gcp.storage import GcpModelStorage
from llmfleet.components.model_layout import MODEL_PREFIX
from llmfleet.components.spec import FleetSpec


@dataclass
class AwsSource:
    """The fleet's primary model bucket on AWS, copied into the GCP primary bucket."""

    bucket_name: pulumi.Input[str]
    """Name of the S3 bucket holding ``models/``."""
    bucket_arn: pulumi.Input[str]
    """Its ARN, which the transfer role's read policy is scoped to."""
    kms_key_arn: pulumi.Input[str]
    """The KMS key its objects are encrypted with (SSE-KMS); the role decrypts through S3 only."""
    region: str
    """Its AWS region, e.g. ``us-east-1``."""

    @classmethod
    def primary_of(cls, store: AwsModelStorage) -> AwsSource:
        """The primary bucket of an AWS model store."""
        region = store.primary_region
        return cls(
            bucket_name=store.buckets[region].bucket,
            bucket_arn=store.buckets[region].arn,
            kms_key_arn=store.keys[region].arn,
            region=region,
        )


@dataclass
class AwsTransferSourceRoleArgs:
    fleet: FleetSpec
    """The fleet: its tags."""
    source: AwsSource
    """The S3 bucket and key the role may read."""
    transfer_subject_id: pulumi.Input[str]
    """Subject id of the project's Storage Transfer service agent
    (``gcp.storage.get_transfer_project_service_account``), the only identity trusted."""


class AwsTransferSourceRole(AwsComponent):
    """An AWS role Storage Transfer Service assumes with its Google identity to read ``models/``.

    IAM is global on AWS: the role takes no region. The type token keeps the ``gcp`` module it
    was first registered under: a type token is part of every URN below it.
    """

    role: aws.iam.Role
    policy: aws.iam.RolePolicy

    def __init__(
        self,
        name: str,
        args: AwsTransferSourceRoleArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmfleet:gcp:AwsTransferSourceRole", name, args.fleet.labels(), opts)
        source = args.source
        self.role = aws.iam.Role(
            f"{name}-role",
            description="Storage Transfer Service copying models/ to GCS",
            assume_role_policy=pulumi.Output.from_input(args.transfer_subject_id).apply(
                transfer_trust_policy
            ),
            tags=self._tags(f"{name}-role"),
            opts=self._child(),
        )
        self.policy = aws.iam.RolePolicy(
            f"{name}-read-models",
            role=self.role.id,
            policy=pulumi.Output.all(source.bucket_arn, source.kms_key_arn).apply(
                lambda arns: source_read_policy(arns[0], arns[1], source.region)
            ),
            opts=self._child(),
        )
        self.register_outputs({"role_arn": self.role.arn})


def transfer_trust_policy(subject_id: str) -> str:
    """Trust only the Storage Transfer service agent of one project, by its Google subject id."""
    return iam.trust_policy(
        {"Federated": "accounts.google.com"},
        "sts:AssumeRoleWithWebIdentity",
        {"StringEquals": {"accounts.google.com:sub": subject_id}},
    )


def source_read_policy(bucket_arn: str, kms_key_arn: str, region: str) -> str:
    """List the bucket, read ``models/`` and decrypt it through S3: nothing else.

    Storage Transfer Service always asks for the bucket's location; listing shows object names
    outside ``models/`` but never their content.
    """
    objects = f"{bucket_arn}/{MODEL_PREFIX}*"
    return iam.policy_document(
        {
            "Sid": "ListModelBucket",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": bucket_arn,
        },
        {
            "Sid": "ReadModels",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": objects,
        },
        {
            "Sid": "DecryptModelsThroughS3",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": kms_key_arn,
            "Condition": iam.kms_through_s3(region, bucket_arn, objects),
        },
    )


@dataclass
class S3ToGcs:
    """The cross-cloud copy: the role the job assumes and the job itself."""

    role: AwsTransferSourceRole
    job: gcp.storage.TransferJob


def copy_s3_to_gcs(fleet: FleetSpec, source: AwsSource, sink: GcpModelStorage) -> S3ToGcs:
    """Fill ``sink``'s primary bucket from ``source`` (built with
    ``filled_from_another_cloud``); the role lives under the sink storage it serves."""
    role = AwsTransferSourceRole(
        f"{sink.resource_name}-aws-source",
        AwsTransferSourceRoleArgs(
            fleet=fleet, source=source, transfer_subject_id=sink.transfer_subject_id
        ),
        # Under the GCP storage, where its URN has always been.
        opts=pulumi.ResourceOptions(parent=sink),
    )
    job = sink.fill_primary_from_s3(
        bucket_name=source.bucket_name,
        region=source.region,
        role_arn=role.role.arn,
        depends_on=[role.role, role.policy],
    )
    return S3ToGcs(role=role, job=job)


def copy_between_clouds(fleet: FleetSpec, source: ModelStore, sink: ModelStore) -> S3ToGcs:
    """The job filling ``sink``'s primary bucket from ``source``'s primary on another cloud.

    S3 -> GCS is the one direction: GCS pulls from S3, nothing pushes from GCS to S3.
    """
    if isinstance(source, AwsModelStorage) and isinstance(sink, GcpModelStorage):
        return copy_s3_to_gcs(fleet, AwsSource.primary_of(source), sink)
    raise ValueError(
        f"fleet '{fleet.name}': models are copied across clouds from S3 to GCS only, not from "
        f"{type(source).__name__} to {type(sink).__name__}"
    )

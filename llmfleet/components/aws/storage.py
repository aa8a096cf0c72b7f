"""Replicated, encrypted model storage on S3 for a fleet's AWS serving regions.

Every serving region has its own bucket, encrypted under its own customer-managed KMS key, so
a serving pod loads weights from inside its region: no cross-region transfer on every pod
start, and no dependency on another region being up. Models are published once, to the
primary bucket, under ``models/<name>/<version>/``; S3 replication copies each object version
to every replica bucket, re-encrypted under that region's key, so each version crosses a
region boundary exactly once.

Publishing means assuming ``writer_role`` and uploading under the primary bucket's
``models/<name>/<version>/``, either with no encryption headers (default encryption applies the
region's key) or with SSE-KMS naming the primary key's ARN; any other encryption is refused.

Buckets and keys hold the weights and are protected from deletion in every environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from llmfleet.components.aws import buckets, iam
from llmfleet.components.aws.component import AwsComponent
from llmfleet.components.model_layout import MODEL_PREFIX, model_uri
from llmfleet.components.spec import FleetSpec, ModelSpec, RegionSpec

KEY_DELETION_WINDOW_DAYS = 30
"""The longest window: a key scheduled for deletion by mistake can be recovered for 30 days."""

ABORT_INCOMPLETE_UPLOAD_DAYS = 7
"""Parts of an interrupted multi-gigabyte upload are billed until aborted."""

REPLICATION_TIME_MINUTES = 15
"""S3 Replication Time Control's one SLA (and the metrics threshold that goes with it)."""

SSE = "s3:x-amz-server-side-encryption"
SSE_KEY = "s3:x-amz-server-side-encryption-aws-kms-key-id"


def access_log_bucket_name(fleet_name: str, account_id: str, region: str) -> str:
    """The region's access-log bucket, in the account regional namespace like the models'."""
    return f"{fleet_name}-s3logs-{account_id}-{region}-an"


def bucket_name(fleet_name: str, account_id: str, region: str) -> str:
    """The region's model bucket, in the account's regional namespace.

    ``-<account>-<region>-an`` places the name in the account regional namespace, where only
    this account can create it: nobody can claim the name first (and make ``pulumi up`` fail)
    or re-create it after a deletion, as they could with a predictable global name.
    """
    return f"{fleet_name}-models-{account_id}-{region}-an"


@dataclass(frozen=True)
class StoreRef:
    """A region's bucket and key by ARN: what the policies below are written against."""

    region: str
    bucket_arn: str
    key_arn: str

    @property
    def models(self) -> str:
        """Every object under the model prefix."""
        return f"{self.bucket_arn}/{MODEL_PREFIX}*"


def _key_used_by_s3_for(store: StoreRef) -> dict[str, Any]:
    """The key may only be used through S3 in the store's region, for the store's bucket."""
    return iam.kms_through_s3(store.region, store.bucket_arn, store.models)


def _list_models(store: StoreRef) -> dict[str, Any]:
    """List the bucket, but only under the model prefix."""
    return {
        "Sid": "ListModels",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": store.bucket_arn,
        "Condition": {"StringLike": {"s3:prefix": f"{MODEL_PREFIX}*"}},
    }


def key_policy(partition: str, account_id: str) -> str:
    """The account administers the key and delegates its use to IAM policies; nobody else."""
    return iam.policy_document(iam.account_root_admin_statement(partition, account_id))


def bucket_policy(store: StoreRef) -> str:
    """TLS only, and nothing written under any encryption but SSE-KMS with the region's key.

    Uploads that send no encryption header are encrypted by the bucket's default encryption
    (SSE-KMS with the region's key), so the denies only judge requests that name an
    encryption: requiring the header instead would refuse every multipart UploadPart (which
    never carries it) and with it every upload of model weights. SSE-C, which sends other
    headers, is blocked by the bucket's encryption configuration.

    Replication writes replicas with ``s3:ReplicateObject``, not ``s3:PutObject``, so the
    denies do not apply to it; the replication rule's ``replica_kms_key_id`` (this region's
    key) encrypts them.
    """
    objects = f"{store.bucket_arn}/*"
    return iam.policy_document(
        buckets.deny_insecure_transport(store.bucket_arn),
        {
            "Sid": "DenyEncryptionOtherThanKms",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {"Null": {SSE: "false"}, "StringNotEquals": {SSE: buckets.SSE_KMS}},
        },
        {
            # Without a key id, SSE-KMS falls back to the AWS managed aws/s3 key, which the
            # readers' policies do not cover and replication does not re-encrypt.
            "Sid": "DenyKmsKeysOtherThanTheRegionKey",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {"Null": {SSE: "false"}, "StringNotEquals": {SSE_KEY: store.key_arn}},
        },
    )


def reader_policy_document(store: StoreRef) -> str:
    """A serving pod's access: read the region's models and decrypt them, nothing more."""
    return iam.policy_document(
        {
            "Sid": "ReadModels",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": store.models,
        },
        _list_models(store),
        {
            "Sid": "DecryptModels",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": store.key_arn,
            "Condition": _key_used_by_s3_for(store),
        },
    )


def writer_policy(primary: StoreRef) -> str:
    """Publishing: upload (multipart included) and list under the primary's model prefix.

    No delete and no overwrite protection beyond versioning: an overwritten or deleted model
    stays recoverable as a noncurrent version. ``kms:Decrypt`` is needed to complete
    multipart uploads.
    """
    return iam.policy_document(
        {
            "Sid": "PublishModels",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": primary.models,
        },
        _list_models(primary),
        {
            "Sid": "EncryptModels",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"],
            "Resource": primary.key_arn,
            "Condition": _key_used_by_s3_for(primary),
        },
    )


def replication_trust_policy(account_id: str, source_bucket_arn: str) -> str:
    """S3 may assume the replication role only to replicate this account's source bucket.

    Without the source conditions any bucket whose owner can pass the role would make S3 act
    as it (the confused-deputy problem).
    """
    return iam.trust_policy(
        {"Service": "s3.amazonaws.com"},
        condition={
            "StringEquals": {"aws:SourceAccount": account_id},
            "ArnLike": {"aws:SourceArn": source_bucket_arn},
        },
    )


def replication_policy(primary: StoreRef, replicas: list[StoreRef]) -> str:
    """What S3 needs to copy the primary's models into each replica bucket."""
    return iam.policy_document(
        {
            "Sid": "ReadReplicationConfiguration",
            "Effect": "Allow",
            "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
            "Resource": primary.bucket_arn,
        },
        {
            "Sid": "ReadSourceVersions",
            "Effect": "Allow",
            "Action": [
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionTagging",
            ],
            "Resource": primary.models,
        },
        {
            "Sid": "WriteReplicas",
            "Effect": "Allow",
            "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
            "Resource": [replica.models for replica in replicas],
        },
        {
            "Sid": "DecryptSource",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": primary.key_arn,
            "Condition": _key_used_by_s3_for(primary),
        },
        *(
            {
                "Sid": f"EncryptReplicasIn{_pascal(replica.region)}",
                "Effect": "Allow",
                # The replica bucket uses S3 Bucket Keys, whose data keys are generated under
                # the replica key; kms:Encrypt alone covers replicas written without them.
                "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": replica.key_arn,
                "Condition": _key_used_by_s3_for(replica),
            }
            for replica in replicas
        ),
    )


def _pascal(region: str) -> str:
    """``us-west-2`` -> ``UsWest2`` (statement ids are alphanumeric)."""
    return "".join(part.capitalize() for part in region.split("-"))


@dataclass
class AwsModelStorageArgs:
    """What an AwsModelStorage is built from."""

    fleet: FleetSpec
    """The fleet: names, tags and storage behaviour (``fleet.storage``)."""
    primary: RegionSpec
    """The AWS region models are published to and replicated from."""
    replicas: list[RegionSpec] = field(default_factory=list)
    """The other AWS serving regions; each receives a copy of every model version."""


@dataclass
class _Store:
    """One region's bucket, its key and its versioning (what replication waits for)."""

    region: str
    bucket: aws.s3.Bucket
    key: aws.kms.Key
    versioning: aws.s3.BucketVersioning

    def ref(self) -> pulumi.Output[StoreRef]:
        return pulumi.Output.all(self.bucket.arn, self.key.arn).apply(
            lambda arns: StoreRef(self.region, arns[0], arns[1])
        )


def _check_regions(args: AwsModelStorageArgs) -> None:
    regions = [args.primary, *args.replicas]
    for region in regions:
        if region.cloud != "aws":
            raise ValueError(f"AwsModelStorage needs aws regions, not {region.key}")
    names = [r.region for r in regions]
    if len(set(names)) != len(names):
        raise ValueError(f"AwsModelStorage regions repeat: {', '.join(names)}")


class AwsModelStorage(AwsComponent):
    """A model bucket and key per AWS region, replicated from the primary, with a writer role."""

    buckets: dict[str, aws.s3.Bucket]
    """By region name; the primary's first."""
    keys: dict[str, aws.kms.Key]
    """By region name: the key encrypting that region's bucket."""
    primary_region: str
    """Where models are published; every other bucket is a replica of its bucket."""
    writer_role: aws.iam.Role
    """Publishes models to the primary bucket. Trusted by the account root, so administrators
    grant it (to the CI identity that publishes models) through IAM."""
    replication_role: aws.iam.Role | None
    """The role S3 replicates as; None with a single region."""
    replication: aws.s3.BucketReplicationConfig | None
    """The primary bucket's replication configuration; None with a single region."""

    def __init__(
        self, name: str, args: AwsModelStorageArgs, opts: pulumi.ResourceOptions | None = None
    ):
        _check_regions(args)
        super().__init__("llmfleet:aws:ModelStorage", name, args.fleet.labels(), opts)
        self._name = name
        self._fleet = args.fleet
        self.primary_region = args.primary.region
        self._account_id, self._partition = iam.caller_account(self)

        self._stores = {
            region.region: self._store(region.region) for region in [args.primary, *args.replicas]
        }
        self.buckets = {region: store.bucket for region, store in self._stores.items()}
        self.keys = {region: store.key for region, store in self._stores.items()}
        primary = self._stores[self.primary_region]
        replicas = [self._stores[r.region] for r in args.replicas]

        self.writer_role = self._writer_role(primary)
        self.replication_role = None
        self.replication = None
        if replicas:
            self.replication_role, self.replication = self._replicate(primary, replicas)

        replication_role_arn = self.replication_role.arn if self.replication_role else None
        self.register_outputs(
            {
                "buckets": {region: b.bucket for region, b in self.buckets.items()},
                "key_arns": {region: k.arn for region, k in self.keys.items()},
                "writer_role_arn": self.writer_role.arn,
                "replication_role_arn": replication_role_arn,
            }
        )

    def model_uri(self, region: str, model: ModelSpec) -> pulumi.Output[str]:
        """``s3://<region's bucket>/models/<name>/<version>/``: where pods in ``region`` load
        the model from."""
        return self._store_in(region).bucket.bucket.apply(
            lambda bucket: model_uri("s3", bucket, model)
        )

    def publishing(self) -> dict[str, pulumi.Output[str] | None]:
        """The primary bucket and the writer role's ARN."""
        return {
            "primary_bucket": self.buckets[self.primary_region].bucket,
            "writer": self.writer_role.arn,
        }

    def reader_policy(self, region: str) -> pulumi.Output[str]:
        """The least-privilege policy for serving pods in ``region``: read its models only."""
        return self._store_in(region).ref().apply(reader_policy_document)

    def _store_in(self, region: str) -> _Store:
        if region not in self._stores:
            raise ValueError(
                f"no model bucket in {region}; buckets are in: {', '.join(self._stores)}"
            )
        return self._stores[region]

    # --- per region -----------------------------------------------------------------------

    def _store(self, region: str) -> _Store:
        key = self._key(region)
        bucket = aws.s3.Bucket(
            f"{self._name}-bucket-{region}",
            bucket=self._account_id.apply(
                lambda account: bucket_name(self._fleet.name, account, region)
            ),
            bucket_namespace="account-regional",
            # With force_destroy off S3 refuses to delete a bucket that still holds objects (or
            # versions of them), so, unlike the key, the bucket needs no retain_on_delete to
            # keep the weights.
            force_destroy=False,
            region=region,
            tags=self._tags(f"{self._name}-bucket-{region}"),
            opts=self._stateful(),
        )
        versioning = buckets.versioned_with_customer_key(
            self,
            bucket,
            key.arn,
            region,
            f"{self._name}-versioning-{region}",
            f"{self._name}-encryption-{region}",
        )
        public_access = buckets.private_and_owner_enforced(
            self,
            bucket,
            region,
            f"{self._name}-public-access-{region}",
            f"{self._name}-ownership-{region}",
        )
        store = _Store(region, bucket, key, versioning)
        aws.s3.BucketPolicy(
            f"{self._name}-policy-{region}",
            bucket=bucket.id,
            policy=store.ref().apply(bucket_policy),
            region=region,
            # S3 refuses concurrent changes to one bucket's access settings ("a conflicting
            # conditional operation is currently in progress").
            opts=self._child(depends_on=[public_access]),
        )
        self._lifecycle(store)
        self._access_logs(store)
        return store

    def _access_logs(self, store: _Store) -> None:
        """Server access logs of the model bucket, kept in a bucket of their own.

        The log bucket uses no customer key (``buckets.access_logs``): it is kept (like the
        models), named in the account's regional namespace.
        """
        region = store.region
        name = f"{self._name}-access-logs-{region}"
        logs = aws.s3.Bucket(
            name,
            bucket=self._account_id.apply(
                lambda account: access_log_bucket_name(self._fleet.name, account, region)
            ),
            bucket_namespace="account-regional",
            force_destroy=False,
            region=region,
            tags=self._tags(name),
            opts=self._stateful(),
        )
        buckets.access_logs(
            self,
            name,
            region,
            logs,
            store.bucket,
            self._account_id,
            self._fleet.log_retention_days,
            f"{self._name}-logging-{region}",
        )

    def _key(self, region: str) -> aws.kms.Key:
        key = aws.kms.Key(
            f"{self._name}-key-{region}",
            description=f"{self._fleet.name} model weights in {region}",
            enable_key_rotation=True,
            deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
            policy=pulumi.Output.all(self._partition, self._account_id).apply(
                lambda v: key_policy(v[0], v[1])
            ),
            region=region,
            tags=self._tags(f"{self._name}-key-{region}"),
            # Kept in AWS even when Pulumi deletes it: the bucket does not depend on the key,
            # so a teardown could schedule the key's deletion and then fail on the non-empty
            # bucket, leaving every stored version undecryptable 30 days later. A retained
            # key costs $1 a month; an operator schedules its deletion once the data is gone.
            opts=self._stateful(retain_on_delete=True),
        )
        aws.kms.Alias(
            f"{self._name}-key-{region}",
            name=f"alias/{self._fleet.name}-models",
            target_key_id=key.key_id,
            region=region,
            opts=self._child(),
        )
        return key

    def _lifecycle(self, store: _Store) -> None:
        everything = aws.s3.BucketLifecycleConfigurationRuleFilterArgs()
        aws.s3.BucketLifecycleConfiguration(
            f"{self._name}-lifecycle-{store.region}",
            bucket=store.bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=everything,
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=self._fleet.storage.noncurrent_version_days
                    ),
                ),
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="abort-incomplete-multipart-uploads",
                    status="Enabled",
                    filter=everything,
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=ABORT_INCOMPLETE_UPLOAD_DAYS
                    ),
                ),
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    # A delete marker left with no versions behind it once they expired.
                    id="remove-expired-delete-markers",
                    status="Enabled",
                    filter=everything,
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        expired_object_delete_marker=True
                    ),
                ),
            ],
            region=store.region,
            # Noncurrent-version rules only mean something on a versioned bucket.
            opts=self._child(depends_on=[store.versioning]),
        )

    # --- access ---------------------------------------------------------------------------

    def _writer_role(self, primary: _Store) -> aws.iam.Role:
        resource = f"{self._name}-writer"
        # Trusting the account root delegates the decision to IAM: only principals of this
        # account whose own policies allow sts:AssumeRole on this role (the CI identity that
        # publishes models, as granted by an administrator) can assume it.
        role = aws.iam.Role(
            resource,
            description=f"Publishes models to {self._fleet.name} storage in {primary.region}",
            assume_role_policy=pulumi.Output.all(self._partition, self._account_id).apply(
                lambda v: iam.trust_policy({"AWS": iam.account_root_arn(v[0], v[1])})
            ),
            tags=self._tags(resource),
            opts=self._child(),
        )
        aws.iam.RolePolicy(
            resource,
            role=role.id,
            policy=primary.ref().apply(writer_policy),
            opts=self._child(),
        )
        return role

    def _replicate(
        self, primary: _Store, replicas: list[_Store]
    ) -> tuple[aws.iam.Role, aws.s3.BucketReplicationConfig]:
        resource = f"{self._name}-replication"
        role = aws.iam.Role(
            resource,
            description=f"S3 replication of {self._fleet.name} models from {primary.region}",
            assume_role_policy=pulumi.Output.all(self._account_id, primary.bucket.arn).apply(
                lambda v: replication_trust_policy(v[0], v[1])
            ),
            tags=self._tags(resource),
            opts=self._child(),
        )
        permissions = aws.iam.RolePolicy(
            resource,
            role=role.id,
            policy=pulumi.Output.all(primary.ref(), *(r.ref() for r in replicas)).apply(
                lambda refs: replication_policy(refs[0], list(refs[1:]))
            ),
            opts=self._child(),
        )
        config = aws.s3.BucketReplicationConfig(
            resource,
            bucket=primary.bucket.id,
            role=role.arn,
            rules=[
                self._replication_rule(priority, replica)
                for priority, replica in enumerate(replicas, start=1)
            ],
            region=primary.region,
            # S3 refuses a replication configuration unless source and destinations are
            # versioned; the role's permissions must be in place before objects flow.
            opts=self._child(
                depends_on=[*(s.versioning for s in [primary, *replicas]), permissions]
            ),
        )
        return role, config

    def _replication_rule(
        self, priority: int, replica: _Store
    ) -> aws.s3.BucketReplicationConfigRuleArgs:
        storage = self._fleet.storage
        timing: dict[str, Any] = {}
        if storage.replication_time_control:
            timing["replication_time"] = (
                aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeArgs(
                    status="Enabled",
                    time=aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeTimeArgs(
                        minutes=REPLICATION_TIME_MINUTES
                    ),
                )
            )
            # Replication Time Control requires its metrics.
            timing["metrics"] = aws.s3.BucketReplicationConfigRuleDestinationMetricsArgs(
                status="Enabled",
                event_threshold=aws.s3.BucketReplicationConfigRuleDestinationMetricsEventThresholdArgs(
                    minutes=REPLICATION_TIME_MINUTES
                ),
            )
        destination = aws.s3.BucketReplicationConfigRuleDestinationArgs(
            bucket=replica.bucket.arn,
            encryption_configuration=aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                replica_kms_key_id=replica.key.arn
            ),
            **timing,
        )
        return aws.s3.BucketReplicationConfigRuleArgs(
            id=f"models-to-{replica.region}",
            priority=priority,
            status="Enabled",
            filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=MODEL_PREFIX),
            # Off by default: a delete on the primary (a mistaken `aws s3 rm --recursive`)
            # must not take the model away from every serving region at once; replicas keep
            # serving while the primary is restored from its noncurrent versions. (S3 never
            # replicates deletes of a specific version either way.)
            delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                status="Enabled" if storage.replicate_deletes else "Disabled"
            ),
            source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                sse_kms_encrypted_objects=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                    status="Enabled"
                )
            ),
            destination=destination,
        )

    # --- helpers --------------------------------------------------------------------------

    def _stateful(self, **options: Any) -> pulumi.ResourceOptions:
        # Model weights are expensive to re-publish and serving depends on them: protected in
        # every environment, unlike other resources that follow fleet.protect.
        return self._child(protect=True, **options)

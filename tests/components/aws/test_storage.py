"""AwsModelStorage: a model bucket and KMS key per AWS region, replicated from the primary."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest

from llmfleet.components import catalog
from llmfleet.components.aws.storage import (
    ABORT_INCOMPLETE_UPLOAD_DAYS,
    MODEL_PREFIX,
    AwsModelStorage,
    AwsModelStorageArgs,
    bucket_name,
)
from llmfleet.components.spec import ModelSpec, parse_fleet
from llmfleet.mock_outputs.aws import ACCOUNT_ID
from llmfleet.recorder import RecordedResource, Recording, record
from tests.conftest import DEV_FLEET, PROD_FLEET

COMPONENT = "llmfleet:aws:ModelStorage"
KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
BUCKET = "aws:s3/bucket:Bucket"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
PUBLIC_ACCESS = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"

IAM_TYPES = {ROLE, ROLE_POLICY}
UNTAGGABLE = {
    ALIAS,
    VERSIONING,
    ENCRYPTION,
    PUBLIC_ACCESS,
    OWNERSHIP,
    POLICY,
    LIFECYCLE,
    REPLICATION,
    ROLE_POLICY,
}
PRIMARY, REPLICA = "us-east-1", "us-west-2"
LLAMA = ModelSpec(name="llama-3-70b", version="2024.07", source="hf://meta-llama/llama-3-70b")


@dataclass
class Built:
    """A recording, plus the options every child was registered with (retain_on_delete is
    not part of the recording)."""

    rec: Recording
    """The model buckets' resources (access logging left out)."""
    options: dict[tuple[str, str], pulumi.ResourceOptions]
    full: Recording | None = None
    """Everything, access logging included."""

    def retained(self, resource: RecordedResource) -> bool:
        return bool(self.options[(resource.type, resource.name)].retain_on_delete)


def build(config: dict[str, Any], replicas: int) -> Built:
    """Storage over the config's first AWS region and the next ``replicas`` AWS regions;
    exports each region's model URI and reader policy."""
    fleet = parse_fleet(config)
    aws_regions = fleet.regions_of("aws")
    options: dict[tuple[str, str], pulumi.ResourceOptions] = {}

    def capture(args: pulumi.ResourceTransformationArgs) -> None:
        options[(args.type_, args.name)] = args.opts

    def program() -> None:
        storage = AwsModelStorage(
            "models",
            AwsModelStorageArgs(
                fleet=fleet, primary=aws_regions[0], replicas=aws_regions[1 : 1 + replicas]
            ),
            opts=pulumi.ResourceOptions(transformations=[capture]),
        )
        for region in storage.buckets:
            pulumi.export(f"uri {region}", storage.model_uri(region, LLAMA))
            pulumi.export(f"reader {region}", storage.reader_policy(region))
        pulumi.export("regions", list(storage.buckets))
        pulumi.export("has replication role", storage.replication_role is not None)

    full = record(program)
    models = [r for r in full.resources if not _access_logging(r)]
    return Built(Recording(resources=models, exports=full.exports), options, full)


def _access_logging(resource: RecordedResource) -> bool:
    return "-access-logs-" in resource.name or resource.type == LOGGING


def with_storage(config: dict[str, Any], **storage: Any) -> dict[str, Any]:
    changed = copy.deepcopy(config)
    changed["storage"] = storage
    return changed


@pytest.fixture(scope="module")
def prod() -> Built:
    """us-east-1 primary, us-west-2 replica, default storage settings."""
    return build(copy.deepcopy(PROD_FLEET), replicas=1)


@pytest.fixture(scope="module")
def tuned() -> Built:
    """The same regions with delete markers replicated, RTC on and 7-day noncurrent versions."""
    config = with_storage(
        PROD_FLEET,
        replicate_deletes=True,
        replication_time_control=True,
        noncurrent_version_days=7,
    )
    return build(config, replicas=1)


@pytest.fixture(scope="module")
def single() -> Built:
    """One region (dev, us-east-1): storage without replication."""
    return build(copy.deepcopy(DEV_FLEET), replicas=0)


LOGGING = "aws:s3/bucketLogging:BucketLogging"


def test_model_buckets_log_access_to_an_sse_s3_bucket_written_only_by_s3_logging(prod):
    for region in (PRIMARY, REPLICA):
        [logging] = [r for r in prod.full.of_type(LOGGING) if r.inputs["region"] == region]
        logs = prod.full.one(BUCKET, f"models-access-logs-{region}")
        bucket = in_region(prod.rec, BUCKET, region)
        assert logging.property_dependencies["bucket"] == [bucket.urn]
        assert logging.property_dependencies["targetBucket"] == [logs.urn]
        assert logging.inputs["targetPrefix"] == "access-logs/"
        assert logs.protect is True
        [encryption] = [
            r
            for r in prod.full.of_type(ENCRYPTION)
            if r.property_dependencies["bucket"] == [logs.urn]
        ]
        default = encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
        assert default == {"sseAlgorithm": "AES256"}
        [policy] = [
            r for r in prod.full.of_type(POLICY) if r.property_dependencies["bucket"] == [logs.urn]
        ]
        statements = by_sid(policy_of(policy))
        assert statements["DenyInsecureTransport"]["Effect"] == "Deny"
        writer = statements["S3ServerAccessLogsFromTheModelBucket"]
        assert writer["Principal"] == {"Service": "logging.s3.amazonaws.com"}
        assert writer["Condition"]["ArnLike"] == {"aws:SourceArn": bucket_arn(region)}


def in_region(rec: Recording, type_: str, region: str) -> RecordedResource:
    [found] = [r for r in rec.of_type(type_) if r.inputs.get("region") == region]
    return found


def bucket_arn(region: str) -> str:
    return f"arn:aws:s3:::llm-prod-models-{ACCOUNT_ID}-{region}-an"


def key_arn(rec: Recording, region: str) -> str:
    return in_region(rec, KEY, region).outputs["arn"]


def policy_of(resource: RecordedResource, field: str = "policy") -> dict[str, Any]:
    return json.loads(resource.inputs[field])


def by_sid(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {statement["Sid"]: statement for statement in document["Statement"]}


def as_list(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


def grants(document: dict[str, Any]) -> dict[str, set[str]]:
    """Every allowed action with the resources it is allowed on."""
    found: dict[str, set[str]] = {}
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            found.setdefault(action, set()).update(as_list(statement["Resource"]))
    return found


def s3_context(region: str, bucket: str) -> dict[str, Any]:
    """The KMS condition that confines a key's use to S3 in ``region`` for ``bucket``."""
    return {
        "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
        "StringLike": {"kms:EncryptionContext:aws:s3:arn": [bucket, f"{bucket}/models/*"]},
    }


# --- a small evaluator for the bucket policy's Deny statements ---------------------------


def _condition_holds(operator: str, key: str, expected: Any, request: dict[str, str]) -> bool:
    """IAM semantics for the operators the policy uses: a negated operator matches when the
    key is missing; ``Null: "true"`` means the key is missing."""
    values = as_list(expected)
    present = key in request
    if operator == "Null":
        return present != (values == ["true"])
    if operator == "Bool":
        return present and request[key] in values
    if operator == "StringNotEquals":
        return not present or request[key] not in values
    raise AssertionError(f"the evaluator does not know {operator}")


def denied(policy: dict[str, Any], action: str, request: dict[str, str]) -> bool:
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Deny" and statement["Principal"] == "*"
        if action not in as_list(statement["Action"]) and "s3:*" not in as_list(
            statement["Action"]
        ):
            continue
        conditions = statement.get("Condition", {})
        if all(
            _condition_holds(operator, key, expected, request)
            for operator, pairs in conditions.items()
            for key, expected in pairs.items()
        ):
            return True
    return False


TLS = {"aws:SecureTransport": "true"}
SSE = "s3:x-amz-server-side-encryption"
SSE_KEY = "s3:x-amz-server-side-encryption-aws-kms-key-id"


# --- arguments and names (pure) ----------------------------------------------------------


def test_refuses_a_gcp_region(prod_fleet, run):
    gcp = prod_fleet.regions[2]
    with pytest.raises(ValueError, match="aws regions"):
        run(
            lambda: AwsModelStorage(
                "models",
                AwsModelStorageArgs(
                    fleet=prod_fleet, primary=prod_fleet.regions[0], replicas=[gcp]
                ),
            )
        )


def test_refuses_a_replica_in_the_primary_region(prod_fleet, run):
    primary = prod_fleet.regions[0]
    with pytest.raises(ValueError, match="repeat"):
        run(
            lambda: AwsModelStorage(
                "models", AwsModelStorageArgs(fleet=prod_fleet, primary=primary, replicas=[primary])
            )
        )


def test_bucket_names_fit_s3_for_the_longest_fleet_name_and_every_known_region():
    for region in catalog.regions("aws"):
        name = bucket_name("a" * 16, ACCOUNT_ID, region)
        assert len(name) <= 63, name
        # The account regional namespace: <prefix>-<account id>-<region>-an.
        assert name.endswith(f"-{ACCOUNT_ID}-{region}-an")


def test_asking_for_a_region_without_a_bucket_names_the_buckets():
    fleet = parse_fleet(copy.deepcopy(PROD_FLEET))

    def program() -> None:
        storage = AwsModelStorage(
            "models", AwsModelStorageArgs(fleet=fleet, primary=fleet.regions[0])
        )
        with pytest.raises(ValueError, match=r"us-west-2.*in: us-east-1"):
            storage.reader_policy("us-west-2")
        with pytest.raises(ValueError, match=r"us-west-2.*in: us-east-1"):
            storage.model_uri("us-west-2", LLAMA)

    record(program)


# --- component shape ----------------------------------------------------------------------


def test_everything_is_a_child_of_the_component(prod):
    component = prod.rec.one(COMPONENT)
    assert {r.urn for r in prod.rec.custom()} == {r.urn for r in prod.rec.children(component)}


def test_every_regional_resource_names_its_region_and_iam_stays_global(prod):
    for resource in prod.rec.custom():
        if resource.type in IAM_TYPES:
            assert "region" not in resource.inputs
            assert resource.region == "global", resource.name
        else:
            assert resource.inputs["region"] in (PRIMARY, REPLICA), resource.name
            assert resource.region == resource.inputs["region"]
            assert resource.name.endswith(resource.region) or resource.type == REPLICATION


def test_every_taggable_resource_carries_fleet_labels_and_its_name(prod):
    labels = parse_fleet(copy.deepcopy(PROD_FLEET)).labels()
    tagged = [r for r in prod.rec.custom() if r.type not in UNTAGGABLE]
    assert {r.type for r in tagged} == {KEY, BUCKET, ROLE}
    for resource in tagged:
        assert resource.inputs["tags"] == {**labels, "Name": resource.name}


def test_each_region_gets_one_of_each_bucket_resource(prod):
    for type_ in (KEY, ALIAS, BUCKET, VERSIONING, ENCRYPTION, PUBLIC_ACCESS, OWNERSHIP, POLICY):
        assert sorted(r.inputs["region"] for r in prod.rec.of_type(type_)) == [PRIMARY, REPLICA]


# --- keys -----------------------------------------------------------------------------------


@pytest.mark.parametrize("region", [PRIMARY, REPLICA])
def test_each_region_has_a_rotating_protected_retained_key(prod, region):
    key = in_region(prod.rec, KEY, region)
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30
    assert key.protect is True
    # Deleting the key would make every stored version unreadable: it outlives the stack.
    assert prod.retained(key)


def test_keys_are_protected_in_dev_too(single):
    [key] = single.rec.of_type(KEY)
    [bucket] = single.rec.of_type(BUCKET)
    assert key.protect is True and bucket.protect is True


@pytest.mark.parametrize("region", [PRIMARY, REPLICA])
def test_key_policy_lets_only_the_account_administer_the_key(prod, region):
    [statement] = policy_of(in_region(prod.rec, KEY, region))["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}
    assert statement["Action"] == "kms:*"


@pytest.mark.parametrize("region", [PRIMARY, REPLICA])
def test_alias_names_the_region_key(prod, region):
    alias = in_region(prod.rec, ALIAS, region)
    assert alias.inputs["name"] == "alias/llm-prod-models"
    assert alias.inputs["targetKeyId"] == in_region(prod.rec, KEY, region).outputs["keyId"]


# --- buckets --------------------------------------------------------------------------------


@pytest.mark.parametrize("region", [PRIMARY, REPLICA])
def test_bucket_is_named_in_the_account_regional_namespace_and_protected(prod, region):
    bucket = in_region(prod.rec, BUCKET, region)
    assert bucket.inputs["bucket"] == f"llm-prod-models-{ACCOUNT_ID}-{region}-an"
    assert bucket.inputs["bucketNamespace"] == "account-regional"
    assert bucket.inputs["forceDestroy"] is False
    assert bucket.protect is True
    # Deleting a bucket that still holds objects fails on its own; nothing to retain.
    assert not prod.retained(bucket)


@pytest.mark.parametrize("region", [PRIMARY, REPLICA])
def test_bucket_settings_apply_to_the_bucket_of_their_region(prod, region):
    name = in_region(prod.rec, BUCKET, region).outputs["id"]
    for type_ in (VERSIONING, ENCRYPTION, PUBLIC_ACCESS, OWNERSHIP, POLICY, LIFECYCLE):
        assert in_region(prod.rec, type_, region).inputs["bucket"] == name, type_


@pytest.mark.parametrize("region", [PRIMARY, REPLICA])
def test_versioning_is_enabled(prod, region):
    versioning = in_region(prod.rec, VERSIONING, region)
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"


@pytest.mark.parametrize("region", [PRIMARY, REPLICA])
def test_default_encryption_is_sse_kms_with_the_region_key_and_bucket_keys(prod, region):
    [rule] = in_region(prod.rec, ENCRYPTION, region).inputs["rules"]
    default = rule["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms"
    assert default["kmsMasterKeyId"] == key_arn(prod.rec, region)
    assert rule["bucketKeyEnabled"] is True
    assert rule["blockedEncryptionTypes"] == ["SSE-C"]


def test_regions_use_different_keys(prod):
    assert key_arn(prod.rec, PRIMARY) != key_arn(prod.rec, REPLICA)


@pytest.mark.parametrize("region", [PRIMARY, REPLICA])
def test_public_access_is_blocked_and_the_bucket_owns_every_object(prod, region):
    block = in_region(prod.rec, PUBLIC_ACCESS, region).inputs
    for setting in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls"):
        assert block[setting] is True, setting
    assert block["restrictPublicBuckets"] is True
    ownership = in_region(prod.rec, OWNERSHIP, region).inputs
    assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


# --- bucket policy --------------------------------------------------------------------------


@pytest.mark.parametrize("region", [PRIMARY, REPLICA])
def test_bucket_policy_covers_the_bucket_and_its_objects(prod, region):
    statements = by_sid(policy_of(in_region(prod.rec, POLICY, region)))
    arn = bucket_arn(region)
    assert statements["DenyInsecureTransport"]["Resource"] == [arn, f"{arn}/*"]
    assert statements["DenyInsecureTransport"]["Action"] == "s3:*"
    for sid in ("DenyEncryptionOtherThanKms", "DenyKmsKeysOtherThanTheRegionKey"):
        assert statements[sid]["Resource"] == f"{arn}/*"


@pytest.mark.parametrize("region", [PRIMARY, REPLICA])
def test_bucket_policy_refuses_plain_http(prod, region):
    policy = policy_of(in_region(prod.rec, POLICY, region))
    assert denied(policy, "s3:GetObject", {"aws:SecureTransport": "false"})
    assert not denied(policy, "s3:GetObject", TLS)


@pytest.mark.parametrize("region", [PRIMARY, REPLICA])
def test_bucket_policy_refuses_uploads_under_any_other_encryption_or_key(prod, region):
    policy = policy_of(in_region(prod.rec, POLICY, region))
    own_key = key_arn(prod.rec, region)
    other_key = key_arn(prod.rec, REPLICA if region == PRIMARY else PRIMARY)
    assert denied(policy, "s3:PutObject", {**TLS, SSE: "AES256"})
    assert denied(policy, "s3:PutObject", {**TLS, SSE: "aws:kms:dsse", SSE_KEY: own_key})
    assert denied(policy, "s3:PutObject", {**TLS, SSE: "aws:kms", SSE_KEY: other_key})
    # SSE-KMS without a key id would use the AWS managed aws/s3 key.
    assert denied(policy, "s3:PutObject", {**TLS, SSE: "aws:kms"})
    assert not denied(policy, "s3:PutObject", {**TLS, SSE: "aws:kms", SSE_KEY: own_key})


@pytest.mark.parametrize("region", [PRIMARY, REPLICA])
def test_uploads_without_encryption_headers_are_left_to_default_encryption(prod, region):
    """Multipart parts never carry the headers: refusing them would refuse every large model.
    Default encryption (SSE-KMS with the region key, asserted above) encrypts them."""
    policy = policy_of(in_region(prod.rec, POLICY, region))
    assert not denied(policy, "s3:PutObject", TLS)


def test_replication_writes_are_not_subject_to_the_upload_denies(prod):
    policy = policy_of(in_region(prod.rec, POLICY, REPLICA))
    assert not denied(policy, "s3:ReplicateObject", TLS)


@pytest.mark.parametrize("region", [PRIMARY, REPLICA])
def test_bucket_policy_waits_for_the_public_access_block(prod, region):
    policy = in_region(prod.rec, POLICY, region)
    assert in_region(prod.rec, PUBLIC_ACCESS, region).urn in policy.dependencies


# --- lifecycle ------------------------------------------------------------------------------


def lifecycle_rules(built: Built, region: str) -> dict[str, dict[str, Any]]:
    rules = in_region(built.rec, LIFECYCLE, region).inputs["rules"]
    for rule in rules:
        assert rule["status"] == "Enabled"
        assert rule["filter"] == {}, "every rule covers the whole bucket"
    return {rule["id"]: rule for rule in rules}


@pytest.mark.parametrize("region", [PRIMARY, REPLICA])
def test_lifecycle_expires_old_versions_parts_and_orphaned_delete_markers(prod, region):
    rules = lifecycle_rules(prod, region)
    assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {
        "noncurrentDays": 30
    }
    assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"] == {
        "daysAfterInitiation": ABORT_INCOMPLETE_UPLOAD_DAYS
    }
    assert rules["remove-expired-delete-markers"]["expiration"] == {
        "expiredObjectDeleteMarker": True
    }
    lifecycle = in_region(prod.rec, LIFECYCLE, region)
    assert in_region(prod.rec, VERSIONING, region).urn in lifecycle.dependencies


def test_noncurrent_versions_are_kept_as_long_as_the_spec_says(tuned):
    for region in (PRIMARY, REPLICA):
        expiry = lifecycle_rules(tuned, region)["expire-noncurrent-versions"]
        assert expiry["noncurrentVersionExpiration"] == {"noncurrentDays": 7}


# --- replication ----------------------------------------------------------------------------


def test_replication_is_configured_once_on_the_primary_bucket(prod):
    config = prod.rec.one(REPLICATION)
    assert config.inputs["region"] == PRIMARY
    assert config.inputs["bucket"] == in_region(prod.rec, BUCKET, PRIMARY).outputs["id"]
    assert config.inputs["role"] == prod.rec.one(ROLE, "models-replication").outputs["arn"]


def test_replication_waits_for_every_bucket_versioning_and_the_role_permissions(prod):
    config = prod.rec.one(REPLICATION)
    for versioning in prod.rec.of_type(VERSIONING):
        assert versioning.urn in config.dependencies
    assert prod.rec.one(ROLE_POLICY, "models-replication").urn in config.dependencies


def test_one_rule_per_replica_copies_models_into_its_bucket_under_its_key(prod):
    [rule] = prod.rec.one(REPLICATION).inputs["rules"]
    assert rule["status"] == "Enabled"
    assert rule["priority"] == 1
    assert rule["filter"] == {"prefix": MODEL_PREFIX}
    assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}
    assert rule["destination"]["bucket"] == bucket_arn(REPLICA)
    assert rule["destination"]["encryptionConfiguration"] == {
        "replicaKmsKeyId": key_arn(prod.rec, REPLICA)
    }


def test_deletes_stay_on_the_primary_and_rtc_is_off_by_default(prod):
    [rule] = prod.rec.one(REPLICATION).inputs["rules"]
    assert rule["deleteMarkerReplication"] == {"status": "Disabled"}
    assert "replicationTime" not in rule["destination"]
    assert "metrics" not in rule["destination"]


def test_delete_markers_and_replication_time_control_when_asked(tuned):
    [rule] = tuned.rec.one(REPLICATION).inputs["rules"]
    assert rule["deleteMarkerReplication"] == {"status": "Enabled"}
    assert rule["destination"]["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
    assert rule["destination"]["metrics"] == {
        "status": "Enabled",
        "eventThreshold": {"minutes": 15},
    }


def test_a_rule_for_every_replica_with_distinct_priorities(run):
    config = copy.deepcopy(PROD_FLEET)
    config["regions"].append({"cloud": "aws", "region": "eu-west-1", "cidr": "10.22.0.0/16"})
    fleet = parse_fleet(config)
    east, west, _, _, ireland = fleet.regions
    rec = run(
        lambda: AwsModelStorage(
            "models", AwsModelStorageArgs(fleet=fleet, primary=east, replicas=[west, ireland])
        )
    )
    rules = rec.one(REPLICATION).inputs["rules"]
    assert [r["destination"]["bucket"] for r in rules] == [
        bucket_arn("us-west-2"),
        bucket_arn("eu-west-1"),
    ]
    assert [r["destination"]["encryptionConfiguration"]["replicaKmsKeyId"] for r in rules] == [
        key_arn(rec, "us-west-2"),
        key_arn(rec, "eu-west-1"),
    ]
    assert len({r["priority"] for r in rules}) == 2
    replica_resources = [
        statement["Resource"]
        for statement in policy_of(rec.one(ROLE_POLICY, "models-replication"))["Statement"]
        if statement["Sid"] == "WriteReplicas"
    ]
    assert replica_resources == [
        [f"{bucket_arn('us-west-2')}/models/*", f"{bucket_arn('eu-west-1')}/models/*"]
    ]


def test_only_s3_replicating_this_accounts_primary_bucket_can_assume_the_replication_role(prod):
    [statement] = policy_of(prod.rec.one(ROLE, "models-replication"), "assumeRolePolicy")[
        "Statement"
    ]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    # No confused deputy: another account's bucket cannot make S3 act as this role.
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
        "ArnLike": {"aws:SourceArn": bucket_arn(PRIMARY)},
    }


def test_replication_role_holds_exactly_what_replication_needs(prod):
    document = policy_of(prod.rec.one(ROLE_POLICY, "models-replication"))
    source, replica = bucket_arn(PRIMARY), bucket_arn(REPLICA)
    assert grants(document) == {
        "s3:GetReplicationConfiguration": {source},
        "s3:ListBucket": {source},
        "s3:GetObjectVersionForReplication": {f"{source}/models/*"},
        "s3:GetObjectVersionAcl": {f"{source}/models/*"},
        "s3:GetObjectVersionTagging": {f"{source}/models/*"},
        "s3:ReplicateObject": {f"{replica}/models/*"},
        "s3:ReplicateDelete": {f"{replica}/models/*"},
        "s3:ReplicateTags": {f"{replica}/models/*"},
        "kms:Decrypt": {key_arn(prod.rec, PRIMARY)},
        "kms:Encrypt": {key_arn(prod.rec, REPLICA)},
        "kms:GenerateDataKey": {key_arn(prod.rec, REPLICA)},
    }


def test_replication_uses_keys_only_through_s3_for_their_own_bucket(prod):
    statements = by_sid(policy_of(prod.rec.one(ROLE_POLICY, "models-replication")))
    assert statements["DecryptSource"]["Condition"] == s3_context(PRIMARY, bucket_arn(PRIMARY))
    assert statements["EncryptReplicasInUsWest2"]["Condition"] == s3_context(
        REPLICA, bucket_arn(REPLICA)
    )


def test_a_single_region_has_no_replication(single):
    assert single.rec.of_type(REPLICATION) == []
    assert [r.name for r in single.rec.of_type(ROLE)] == ["models-writer"]
    assert single.rec.exports["has replication role"] is False


def test_replicas_bring_the_replication_role(prod):
    assert prod.rec.exports["has replication role"] is True


# --- writer ---------------------------------------------------------------------------------


def test_the_writer_role_is_granted_through_iam_in_this_account(prod):
    [statement] = policy_of(prod.rec.one(ROLE, "models-writer"), "assumeRolePolicy")["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}
    assert statement["Action"] == "sts:AssumeRole"


def test_the_writer_publishes_to_the_primary_model_prefix_only(prod):
    document = policy_of(prod.rec.one(ROLE_POLICY, "models-writer"))
    source, key = bucket_arn(PRIMARY), key_arn(prod.rec, PRIMARY)
    assert grants(document) == {
        "s3:PutObject": {f"{source}/models/*"},
        "s3:AbortMultipartUpload": {f"{source}/models/*"},
        "s3:ListBucket": {source},
        "kms:GenerateDataKey": {key},
        "kms:Encrypt": {key},
        "kms:Decrypt": {key},
    }
    statements = by_sid(document)
    assert statements["ListModels"]["Condition"] == {"StringLike": {"s3:prefix": "models/*"}}
    assert statements["EncryptModels"]["Condition"] == s3_context(PRIMARY, source)


# --- readers and model URIs -----------------------------------------------------------------


@pytest.mark.parametrize("region", [PRIMARY, REPLICA])
def test_readers_read_and_decrypt_their_own_region_only(prod, region):
    document = json.loads(prod.rec.exports[f"reader {region}"])
    bucket, key = bucket_arn(region), key_arn(prod.rec, region)
    assert grants(document) == {
        "s3:GetObject": {f"{bucket}/models/*"},
        "s3:ListBucket": {bucket},
        "kms:Decrypt": {key},
    }
    statements = by_sid(document)
    assert statements["ListModels"]["Condition"] == {"StringLike": {"s3:prefix": "models/*"}}
    assert statements["DecryptModels"]["Condition"] == s3_context(region, bucket)
    other = REPLICA if region == PRIMARY else PRIMARY
    assert other not in prod.rec.exports[f"reader {region}"]


@pytest.mark.parametrize("region", [PRIMARY, REPLICA])
def test_model_uri_names_the_bucket_of_its_region(prod, region):
    assert prod.rec.exports[f"uri {region}"] == (
        f"s3://llm-prod-models-{ACCOUNT_ID}-{region}-an/models/llama-3-70b/2024.07/"
    )


def test_buckets_are_listed_primary_first(prod):
    assert prod.rec.exports["regions"] == [PRIMARY, REPLICA]


def test_single_region_resources_are_placed_in_it(single):
    assert {r.region for r in single.rec.custom()} == {"us-east-1"}
    assert single.rec.exports["uri us-east-1"].startswith(
        f"s3://llm-dev-models-{ACCOUNT_ID}-us-east-1-an/"
    )

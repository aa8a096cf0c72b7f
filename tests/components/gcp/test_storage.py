"""GcpModelStorage: encrypted model buckets local to every GCP serving region, kept in sync."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re

import pulumi
import pulumi_gcp as gcp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmfleet.components.gcp.storage import (
    CONFIGURABLE_DUAL_REGIONS,
    PREDEFINED_DUAL_REGIONS,
    GcpModelStorage,
    GcpModelStorageArgs,
    first_transfer_date,
    plan_buckets,
)
from llmfleet.components.spec import FleetSpec, ModelSpec, parse_fleet
from llmfleet.components.transfer import AwsSource, copy_s3_to_gcs
from llmfleet.mock_outputs import gcp as gcp_mocks

BUCKET = "gcp:storage/bucket:Bucket"
KEY_RING = "gcp:kms/keyRing:KeyRing"
KEY = "gcp:kms/cryptoKey:CryptoKey"
KEY_MEMBER = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
BUCKET_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
TRANSFER_JOB = "gcp:storage/transferJob:TransferJob"
ACCOUNT = "gcp:serviceaccount/account:Account"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"

PROJECT = "llm-prod-serving"
NAME = "llm-prod-models"
STORAGE_AGENT = f"service-{gcp_mocks.PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com"
TRANSFER_AGENT = (
    f"project-{gcp_mocks.PROJECT_NUMBER}@storage-transfer-service.iam.gserviceaccount.com"
)
TRANSFER_SUBJECT = gcp_mocks.INVOKES[
    "gcp:storage/getTransferProjectServiceAccount:getTransferProjectServiceAccount"
]({})["subjectId"]
MODEL = ModelSpec(name="llama-70b", version="2025-06", source="hf://meta/llama")
KSA_NAMESPACE, KSA = "serving", "vllm"
SERVING_CLUSTER = "serving-cluster"

AWS_SOURCE = AwsSource(
    bucket_name="llm-prod-models-use1",
    bucket_arn="arn:aws:s3:::llm-prod-models-use1",
    kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    region="us-east-1",
)


def gcp_pair(config: dict, regions: tuple[str, str], **overrides) -> FleetSpec:
    """The conftest prod fleet with its two GCP regions moved to ``regions``."""
    config = copy.deepcopy(config)
    gcp_regions = [r for r in config["regions"] if r["cloud"] == "gcp"]
    for spec, region in zip(gcp_regions, regions, strict=True):
        spec["region"] = region
    config.update(overrides)
    return parse_fleet(config)


def build(fleet: FleetSpec, source: AwsSource | None = None) -> None:
    """The fleet's GCP model storage, a reader in every region (its pool read from a stand-in
    for the serving cluster), each region's model URI."""
    storage = GcpModelStorage(
        NAME,
        GcpModelStorageArgs(
            fleet=fleet,
            regions=fleet.regions_of("gcp"),
            filled_from_another_cloud=source is not None,
        ),
    )
    if source is not None:
        copy_s3_to_gcs(fleet, source, storage)
    cluster = gcp.container.Cluster(
        SERVING_CLUSTER,
        project=fleet.gcp_project,
        location=fleet.regions_of("gcp")[0].region,
        workload_identity_config={"workload_pool": f"{fleet.gcp_project}.svc.id.goog"},
    )
    for region in fleet.regions_of("gcp"):
        storage.grant_reader(
            region.region, KSA_NAMESPACE, KSA, cluster.workload_identity_config.workload_pool
        )
        pulumi.export(f"{region.region}.model_uri", storage.model_uri(region.region, MODEL))
        pulumi.export(f"{region.region}.bucket", storage.bucket_for_region[region.region].name)
    pulumi.export("bucket_keys", sorted(storage.buckets))
    pulumi.export("key_keys", sorted(storage.keys))
    pulumi.export("has_writer", storage.writer is not None)
    with pytest.raises(ValueError, match="not a GCP serving region"):
        storage.grant_reader("us-east-1", KSA_NAMESPACE, KSA)


@pytest.fixture
def rec(recorded, prod_fleet):
    """The conftest prod fleet: us-central1 and europe-west4, on different continents."""
    return recorded("prod", lambda: build(prod_fleet))


@pytest.fixture
def nam4_fleet(prod_config) -> FleetSpec:
    """A dev fleet serving from us-central1 and us-east1 (the NAM4 dual-region)."""
    return gcp_pair(
        prod_config,
        ("us-central1", "us-east1"),
        environment="dev",
        storage={"noncurrent_version_days": 12},
    )


@pytest.fixture
def nam4(recorded, nam4_fleet):
    return recorded("nam4", lambda: build(nam4_fleet))


@pytest.fixture
def configurable(recorded, prod_config):
    """us-east4 and us-west1: a configurable dual-region of the US multi-region."""
    return recorded("configurable", lambda: build(gcp_pair(prod_config, ("us-east4", "us-west1"))))


@pytest.fixture
def long_names(recorded, prod_config):
    """A 16-character fleet name and the EU pair with the longest bucket key, named as the
    fleet names its storage."""
    fleet = gcp_pair(prod_config, ("europe-west1", "europe-west4"), name="llm-serving-prod")
    return recorded(
        "long_names",
        lambda: GcpModelStorage(
            f"{fleet.name}-gcp-models",
            GcpModelStorageArgs(fleet=fleet, regions=fleet.regions_of("gcp")),
        ),
    )


@pytest.fixture
def cross_cloud(recorded, prod_fleet):
    """The prod fleet with its primary copy on AWS."""
    return recorded("cross_cloud", lambda: build(prod_fleet, AWS_SOURCE))


def bucket(rec, key: str):
    return rec.one(BUCKET, f"{NAME}-{key}")


def bucket_name(rec, key: str) -> str:
    return bucket(rec, key).outputs["name"]


def members_of(rec, member: str) -> list:
    return [r for r in rec.of_type(BUCKET_MEMBER) if r.inputs["member"] == member]


def roles_on(grants, name: str) -> set[str]:
    return {g.inputs["role"] for g in grants if g.inputs["bucket"] == name}


def principal(namespace: str, ksa: str) -> str:
    return (
        f"principal://iam.googleapis.com/projects/{gcp_mocks.PROJECT_NUMBER}/locations/global/"
        f"workloadIdentityPools/{PROJECT}.svc.id.goog/subject/ns/{namespace}/sa/{ksa}"
    )


# --- bucket placement ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("regions", "location"),
    [
        (("us-central1", "us-east1"), "NAM4"),
        (("europe-west4", "europe-north1"), "EUR4"),
        (("asia-northeast1", "asia-northeast2"), "ASIA1"),
    ],
)
def test_predefined_dual_regions_take_one_bucket_and_a_key_in_the_dual_region(regions, location):
    (placement,) = plan_buckets(regions)
    assert placement.location == location
    assert placement.regions == regions
    assert placement.dual_region
    # GCS wants CMEK keys of nam4, eur4 and asia1 buckets in that same dual-region.
    assert placement.kms_location == location.lower()
    assert placement.data_locations == ()


@pytest.mark.parametrize(
    ("regions", "location", "kms_location"),
    [
        (("us-east4", "us-west1"), "US", "us"),
        (("europe-west1", "europe-west3"), "EU", "europe"),
        (("asia-southeast1", "asia-east1"), "ASIA", "asia"),
    ],
)
def test_same_continent_pairs_form_a_configurable_dual_region(regions, location, kms_location):
    (placement,) = plan_buckets(regions)
    assert placement.location == location
    assert placement.data_locations == tuple(r.upper() for r in regions)
    assert placement.regions == regions
    # Configurable dual-regions keep their key ring in the KMS multi-region around them.
    assert placement.kms_location == kms_location


@pytest.mark.parametrize(
    "regions",
    [
        ("us-central1", "europe-west4"),
        ("europe-west1", "asia-east1"),
        ("us-east4", "northamerica-northeast1"),
        # London is outside the EU multi-region; Frankfurt + Berlin pair only under DE.
        ("europe-west1", "europe-west2"),
        ("europe-west3", "europe-west10"),
        ("asia-northeast1", "asia-east1"),
    ],
)
def test_regions_without_a_shared_dual_region_get_a_regional_bucket_each(regions):
    placements = plan_buckets(regions)
    assert [p.regions for p in placements] == [(r,) for r in regions]
    for placement, region in zip(placements, regions, strict=True):
        assert placement.location == region.upper()
        assert placement.kms_location == region
        assert placement.key == region
        assert not placement.dual_region


def test_the_primary_regions_bucket_comes_first():
    placements = plan_buckets(["europe-west4", "us-central1", "us-east1"])
    assert [p.location for p in placements] == ["EUROPE-WEST4", "NAM4"]
    placements = plan_buckets(["us-central1", "europe-west4", "us-east1"])
    assert [p.regions for p in placements] == [("us-central1", "us-east1"), ("europe-west4",)]


def test_a_region_pairs_with_the_first_later_region_it_can():
    placements = plan_buckets(["us-east4", "us-west1", "us-west2"])
    assert [p.regions for p in placements] == [("us-east4", "us-west1"), ("us-west2",)]


@pytest.mark.parametrize("regions", [[], ["us-central1", "us-east1", "us-central1"]])
def test_no_or_repeated_regions_are_refused(regions):
    with pytest.raises(ValueError):
        plan_buckets(regions)


KNOWN_REGIONS = sorted(
    {r for pair in PREDEFINED_DUAL_REGIONS for r in pair}
    | {r for _, eligible in CONFIGURABLE_DUAL_REGIONS.values() for r in eligible}
    | {"europe-west2", "europe-west6", "northamerica-northeast1", "southamerica-east1"}
)


@given(st.lists(st.sampled_from(KNOWN_REGIONS), min_size=1, max_size=8, unique=True))
def test_every_region_is_served_by_exactly_one_bucket(regions):
    placements = plan_buckets(regions)
    served = [r for p in placements for r in p.regions]
    assert sorted(served) == sorted(regions)
    assert regions[0] in placements[0].regions
    assert len({p.key for p in placements}) == len(placements)
    for p in placements:
        assert len(p.regions) in (1, 2)
        assert p.dual_region == (len(p.regions) == 2)


# --- regional buckets: the prod fleet ---------------------------------------------------------


def test_one_regional_bucket_per_serving_region(rec):
    buckets = rec.of_type(BUCKET)
    assert sorted(b.inputs["location"] for b in buckets) == ["EUROPE-WEST4", "US-CENTRAL1"]
    for b in buckets:
        assert b.inputs["project"] == PROJECT
        # Turbo replication exists only across regions; GCS refuses rpo on a regional bucket.
        assert "rpo" not in b.inputs
        assert "customPlacementConfig" not in b.inputs
    assert rec.exports["bucket_keys"] == ["europe-west4", "us-central1"]


def test_each_bucket_is_encrypted_with_its_own_key_in_its_own_region(rec):
    for region in ("us-central1", "europe-west4"):
        ring = rec.one(KEY_RING, f"{NAME}-{region}-keyring")
        key = rec.one(KEY, f"{NAME}-{region}-key")
        assert ring.inputs["location"] == region
        assert ring.inputs["project"] == PROJECT
        assert key.inputs["keyRing"] == ring.outputs["id"]
        assert key.inputs["purpose"] == "ENCRYPT_DECRYPT"
        assert key.inputs["rotationPeriod"] == "7776000s"
        encryption = bucket(rec, region).inputs["encryption"]
        assert encryption["defaultKmsKeyName"] == key.outputs["id"]
        assert f"/locations/{region}/" in encryption["defaultKmsKeyName"]
    assert rec.exports["key_keys"] == ["europe-west4", "us-central1"]


def test_new_objects_can_only_be_encrypted_with_the_buckets_key(rec):
    for b in rec.of_type(BUCKET):
        encryption = b.inputs["encryption"]
        for fallback in (
            "googleManagedEncryptionEnforcementConfig",
            "customerSuppliedEncryptionEnforcementConfig",
        ):
            assert encryption[fallback] == {"restrictionMode": "FullyRestricted"}


def test_only_the_storage_agent_may_use_each_key_and_only_its_buckets_key(rec):
    grants = rec.of_type(KEY_MEMBER)
    assert len(grants) == 2
    for region in ("us-central1", "europe-west4"):
        key = rec.one(KEY, f"{NAME}-{region}-key")
        (grant,) = [g for g in grants if g.inputs["cryptoKeyId"] == key.outputs["id"]]
        assert grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
        assert grant.inputs["member"] == f"serviceAccount:{STORAGE_AGENT}"
        # The bucket is created only once its default key is usable.
        assert grant.urn in bucket(rec, region).dependencies


def test_buckets_are_private_versioned_and_recoverable(rec, prod_fleet):
    for b in rec.of_type(BUCKET):
        inputs = b.inputs
        assert inputs["uniformBucketLevelAccess"] is True
        assert inputs["publicAccessPrevention"] == "enforced"
        assert inputs["versioning"] == {"enabled": True}
        assert inputs["softDeletePolicy"]["retentionDurationSeconds"] == 7 * 24 * 3600
        assert inputs["forceDestroy"] is False
        assert inputs["storageClass"] == "STANDARD"
        assert inputs["labels"] == prod_fleet.labels()


@pytest.mark.parametrize("recording", ["rec", "nam4"])
def test_noncurrent_versions_expire_and_abandoned_uploads_are_aborted(recording, request):
    rec = request.getfixturevalue(recording)
    fleet = request.getfixturevalue("prod_fleet" if recording == "rec" else "nam4_fleet")
    for b in rec.of_type(BUCKET):
        rules = {r["action"]["type"]: r["condition"] for r in b.inputs["lifecycleRules"]}
        assert rules["Delete"]["daysSinceNoncurrentTime"] == fleet.storage.noncurrent_version_days
        assert rules["Delete"]["withState"] == "ARCHIVED"
        assert rules["AbortIncompleteMultipartUpload"] == {"age": 1}
        assert set(rules) == {"Delete", "AbortIncompleteMultipartUpload"}


def test_replica_is_filled_from_the_primary_by_an_hourly_transfer(rec):
    (job,) = rec.of_type(TRANSFER_JOB)
    spec = job.inputs["transferSpec"]
    assert job.inputs["project"] == PROJECT
    assert spec["gcsDataSource"] == {
        "bucketName": bucket_name(rec, "us-central1"),
        "path": "models/",
    }
    assert spec["gcsDataSink"] == {
        "bucketName": bucket_name(rec, "europe-west4"),
        "path": "models/",
    }
    options = spec["transferOptions"]
    assert options["overwriteWhen"] == "DIFFERENT"
    assert options["deleteObjectsUniqueInSink"] is False
    assert options["deleteObjectsFromSourceAfterTransfer"] is False
    assert options["metadataOptions"] == {"kmsKey": "KMS_KEY_DESTINATION_BUCKET_DEFAULT"}
    assert job.inputs["schedule"]["repeatInterval"] == "3600s"
    assert job.region == "europe-west4"


def test_a_new_replica_gets_its_first_transfer_at_once(rec):
    """Starting on its creation day with no time of day, a job copies at once; a date in the
    past would hold the first copy until the next day."""
    (job,) = rec.of_type(TRANSFER_JOB)
    schedule = job.inputs["schedule"]
    today = dt.datetime.now(dt.UTC).date()
    assert schedule["scheduleStartDate"] == {
        "year": today.year,
        "month": today.month,
        "day": today.day,
    }
    assert "startTimeOfDay" not in schedule
    assert job.ignore_changes == ["schedule.scheduleStartDate"]


def test_the_first_transfer_date_is_the_utc_day_given():
    assert first_transfer_date(dt.date(2026, 2, 28)) == (2026, 2, 28)


TRANSFER_JOB_NAME = re.compile(r"^transferJobs/(?!OPI)[A-Za-z0-9-._~]*[A-Za-z0-9]$")
"""What the Storage Transfer API accepts as a job name (other than POSIX transfers)."""


@pytest.mark.parametrize("recording", ["rec", "cross_cloud"])
def test_each_job_is_named_after_its_sink_in_the_form_the_api_requires(recording, request):
    rec = request.getfixturevalue(recording)
    jobs = rec.of_type(TRANSFER_JOB)
    assert jobs
    for job in jobs:
        sink = job.inputs["transferSpec"]["gcsDataSink"]["bucketName"]
        assert job.inputs["name"] == f"transferJobs/{sink}-sync"
        assert TRANSFER_JOB_NAME.match(job.inputs["name"])
        assert len(job.inputs["name"]) <= 128


def test_transfer_agent_reads_the_primary_and_writes_the_replica_only(rec):
    grants = members_of(rec, f"serviceAccount:{TRANSFER_AGENT}")
    assert roles_on(grants, bucket_name(rec, "us-central1")) == {
        "roles/storage.objectViewer",
        "roles/storage.legacyBucketReader",
    }
    assert roles_on(grants, bucket_name(rec, "europe-west4")) == {
        "roles/storage.objectViewer",
        "roles/storage.legacyBucketWriter",
    }
    assert len(grants) == 4
    (job,) = rec.of_type(TRANSFER_JOB)
    assert {g.urn for g in grants} <= set(job.dependencies)


def test_one_writer_publishes_to_the_primary_bucket_only(rec):
    account = rec.one(ACCOUNT)
    assert account.inputs["accountId"] == "llm-prod-model-writer"
    assert account.inputs["project"] == PROJECT
    grants = members_of(rec, account.outputs["member"])
    assert {g.inputs["bucket"] for g in grants} == {bucket_name(rec, "us-central1")}
    # No delete, hence no overwrite: a published version stays what it was.
    assert {g.inputs["role"] for g in grants} == {
        "roles/storage.objectCreator",
        "roles/storage.objectViewer",
    }


def test_a_reader_may_read_the_bucket_of_its_region_only(rec):
    grants = members_of(rec, principal(KSA_NAMESPACE, KSA))
    assert len(grants) == 2
    for region in ("us-central1", "europe-west4"):
        (grant,) = [g for g in grants if g.inputs["bucket"] == bucket_name(rec, region)]
        assert grant.inputs["role"] == "roles/storage.objectViewer"
        assert grant.parent == rec.one("llmfleet:gcp:ModelBucket", f"{NAME}-{region}").urn
    # IAM refuses a grant to the cluster's Workload Identity pool before the cluster exists.
    cluster = rec.one("gcp:container/cluster:Cluster", SERVING_CLUSTER)
    assert all(cluster.urn in g.dependencies for g in grants)
    # GCS decrypts through its service agent: readers hold no role on any key.
    assert all(
        g.inputs["member"] == f"serviceAccount:{STORAGE_AGENT}" for g in rec.of_type(KEY_MEMBER)
    )


def test_model_uri_of_each_region_points_at_the_bucket_serving_it(rec):
    for region in ("us-central1", "europe-west4"):
        assert rec.exports[f"{region}.bucket"] == bucket_name(rec, region)
        assert rec.exports[f"{region}.model_uri"] == (
            f"gs://{bucket_name(rec, region)}/models/llama-70b/2025-06/"
        )


def test_every_regional_resource_is_placed_in_its_region(rec):
    for region in ("us-central1", "europe-west4"):
        home = rec.one("llmfleet:gcp:ModelBucket", f"{NAME}-{region}")
        below = rec.descendants(home)
        assert {r.type for r in below} >= {KEY_RING, KEY, KEY_MEMBER, BUCKET, BUCKET_MEMBER}
        assert {r.region for r in below} == {region}
        assert {r.cloud for r in below} == {"gcp"}


def test_no_aws_side_without_an_aws_source(rec):
    assert not [r for r in rec.resources if r.type.startswith("aws:")]


# --- protection ------------------------------------------------------------------------------


@pytest.mark.parametrize("recording", ["rec", "nam4"])
def test_buckets_keys_and_key_rings_are_protected_in_every_environment(recording, request):
    rec = request.getfixturevalue(recording)
    stateful = [r for t in (BUCKET, KEY, KEY_RING) for r in rec.of_type(t)]
    assert stateful
    assert all(r.protect for r in stateful)
    # Grants and jobs are re-creatable and stay unprotected.
    assert not any(r.protect for r in rec.of_type(BUCKET_MEMBER) + rec.of_type(TRANSFER_JOB))


# --- a dual-region: NAM4 and a configurable one ---------------------------------------------


def test_a_dual_region_pair_shares_one_bucket_with_turbo_replication(nam4):
    (b,) = nam4.of_type(BUCKET)
    assert b.inputs["location"] == "NAM4"
    assert b.inputs["rpo"] == "ASYNC_TURBO"
    assert "customPlacementConfig" not in b.inputs
    assert nam4.exports["us-central1.bucket"] == nam4.exports["us-east1.bucket"]
    assert nam4.exports["bucket_keys"] == ["nam4"]
    assert b.region == "nam4"


def test_a_nam4_bucket_is_encrypted_with_a_key_in_nam4(nam4):
    (ring,) = nam4.of_type(KEY_RING)
    assert ring.inputs["location"] == "nam4"
    (key,) = nam4.of_type(KEY)
    assert nam4.one(BUCKET).inputs["encryption"]["defaultKmsKeyName"] == key.outputs["id"]


def test_one_dual_region_bucket_needs_no_transfer(nam4):
    assert not nam4.of_type(TRANSFER_JOB)
    assert not members_of(nam4, f"serviceAccount:{TRANSFER_AGENT}")


def test_regions_sharing_a_bucket_share_their_readers_grant(nam4):
    (grant,) = members_of(nam4, principal(KSA_NAMESPACE, KSA))
    assert grant.inputs["bucket"] == nam4.one(BUCKET).outputs["name"]
    for region in ("us-central1", "us-east1"):
        assert nam4.exports[f"{region}.model_uri"] == (
            f"gs://{nam4.one(BUCKET).outputs['name']}/models/llama-70b/2025-06/"
        )


def test_a_configurable_dual_region_names_its_regions(configurable):
    b = configurable.one(BUCKET)
    assert b.inputs["location"] == "US"
    assert b.inputs["customPlacementConfig"] == {"dataLocations": ["US-EAST4", "US-WEST1"]}
    assert b.inputs["rpo"] == "ASYNC_TURBO"
    assert configurable.one(KEY_RING).inputs["location"] == "us"


def test_long_fleet_names_still_fit_bucket_and_kms_name_limits(long_names):
    (b,) = long_names.of_type(BUCKET)
    assert b.inputs["customPlacementConfig"] == {"dataLocations": ["EUROPE-WEST1", "EUROPE-WEST4"]}
    for type_ in (BUCKET, KEY_RING, KEY):
        (resource,) = long_names.of_type(type_)
        assert len(resource.outputs["name"]) <= 63, (type_, resource.outputs["name"])
        assert resource.protect is True


# --- cross-cloud: the primary copy on AWS ----------------------------------------------------


def test_the_gcp_primary_is_filled_from_s3_through_a_federated_role(cross_cloud):
    primary = bucket_name(cross_cloud, "us-central1")
    (job,) = [
        j
        for j in cross_cloud.of_type(TRANSFER_JOB)
        if j.inputs["transferSpec"]["gcsDataSink"]["bucketName"] == primary
    ]
    spec = job.inputs["transferSpec"]
    role = cross_cloud.one(ROLE)
    assert spec["awsS3DataSource"] == {
        "bucketName": AWS_SOURCE.bucket_name,
        "path": "models/",
        "roleArn": role.outputs["arn"],
    }
    assert spec["gcsDataSink"]["path"] == "models/"
    assert spec["transferOptions"]["overwriteWhen"] == "DIFFERENT"
    assert spec["transferOptions"]["deleteObjectsUniqueInSink"] is False
    assert job.inputs["schedule"]["repeatInterval"] == "3600s"
    sink_grants = members_of(cross_cloud, f"serviceAccount:{TRANSFER_AGENT}")
    primary_grants = {g.urn for g in sink_grants if g.inputs["bucket"] == primary}
    assert primary_grants
    assert {role.urn, cross_cloud.one(ROLE_POLICY).urn, *primary_grants} <= set(job.dependencies)


def test_the_other_buckets_still_sync_from_the_gcp_primary(cross_cloud):
    (job,) = [
        j for j in cross_cloud.of_type(TRANSFER_JOB) if "gcsDataSource" in j.inputs["transferSpec"]
    ]
    spec = job.inputs["transferSpec"]
    assert spec["gcsDataSource"]["bucketName"] == bucket_name(cross_cloud, "us-central1")
    assert spec["gcsDataSink"]["bucketName"] == bucket_name(cross_cloud, "europe-west4")
    # Filled from AWS, the primary grants the agent the sink roles, which cover reading it.
    grants = members_of(cross_cloud, f"serviceAccount:{TRANSFER_AGENT}")
    assert roles_on(grants, bucket_name(cross_cloud, "us-central1")) == {
        "roles/storage.objectViewer",
        "roles/storage.legacyBucketWriter",
    }


def test_the_aws_role_trusts_only_this_projects_transfer_agent(cross_cloud, prod_fleet):
    role = cross_cloud.one(ROLE)
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Federated": "accounts.google.com"}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {"StringEquals": {"accounts.google.com:sub": TRANSFER_SUBJECT}}
    # IAM is global: the role names no region.
    assert "region" not in role.inputs
    assert role.inputs["tags"].items() >= prod_fleet.labels().items()


def test_the_aws_role_may_only_list_the_bucket_read_models_and_decrypt_through_s3(cross_cloud):
    policy = cross_cloud.one(ROLE_POLICY)
    assert policy.inputs["role"] == cross_cloud.one(ROLE).outputs["id"]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert set(statements) == {"ListModelBucket", "ReadModels", "DecryptModelsThroughS3"}
    listing = statements["ListModelBucket"]
    assert set(listing["Action"]) == {"s3:ListBucket", "s3:GetBucketLocation"}
    assert listing["Resource"] == AWS_SOURCE.bucket_arn
    reading = statements["ReadModels"]
    assert reading["Action"] == "s3:GetObject"
    assert reading["Resource"] == f"{AWS_SOURCE.bucket_arn}/models/*"
    decrypt = statements["DecryptModelsThroughS3"]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Resource"] == AWS_SOURCE.kms_key_arn
    assert decrypt["Condition"]["StringEquals"] == {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    assert all(s["Effect"] == "Allow" for s in statements.values())


def test_with_the_primary_on_aws_no_gcp_identity_writes_models(cross_cloud):
    assert not cross_cloud.of_type(ACCOUNT)
    assert cross_cloud.exports["has_writer"] is False

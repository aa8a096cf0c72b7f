"""Model storage on GCS: encrypted buckets in the fleet's GCP serving regions, kept in sync.

Serving pods load multi-gigabyte weights at start-up, so every GCP serving region reads from a
bucket in its own region. ``plan_buckets`` decides the layout: two serving regions that form a GCS
dual-region share one dual-region bucket with turbo replication (both regions read locally, and
GCS replicates new objects within 15 minutes); every other region gets a regional bucket, filled
from the primary bucket by a Storage Transfer Service job that copies at once when created, then
every hour.

Each bucket is encrypted with its own Cloud KMS key in the location GCS requires for it, and
only the project's Cloud Storage service agent may use that key. Buckets have uniform
bucket-level access, enforced public access prevention, versioning and soft delete, and they,
their keys and key rings are protected in every environment: weights are state.

When the fleet's primary copy lives on another cloud, the GCP primary bucket is filled from there
(``llmfleet.components.transfer`` composes the S3 -> GCS job through ``fill_primary_from_s3``)
and no GCP identity publishes models.

Objects live under ``models/<name>/<version>/`` (``llmfleet.components.model_layout``).
Kubernetes service accounts get read access to the bucket serving their region through
Workload Identity Federation for GKE (``GcpModelStorage.grant_reader``, which
``GcpCluster.grant_model_read`` calls); one service account publishes to the primary bucket.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from llmfleet.components.gcp.component import GcpComponent
from llmfleet.components.gcp.project import (
    CLOUD_KMS,
    IAM,
    RESOURCE_MANAGER,
    STORAGE,
    STORAGE_TRANSFER,
)
from llmfleet.components.model_layout import MODEL_PREFIX, model_uri
from llmfleet.components.naming import autonamed
from llmfleet.components.spec import FleetSpec, ModelSpec, RegionSpec

KEY_ROTATION_PERIOD = "7776000s"
"""90 days: new key versions encrypt new objects; old versions stay to decrypt what they wrote."""

SOFT_DELETE_SECONDS = 7 * 24 * 3600
"""An object deleted for good, a noncurrent version expired by lifecycle included, stays
restorable for a week."""

ABORT_INCOMPLETE_UPLOAD_DAYS = 1
"""Parts of an abandoned multipart upload of a multi-gigabyte shard are billed until aborted."""

TRANSFER_REPEAT_INTERVAL = "3600s"
"""Replicas pick up a new model version within about an hour; the service allows no shorter
interval."""


def first_transfer_date(today: dt.date | None = None) -> tuple[int, int, int]:
    """The UTC date a new transfer job starts on: the day it is created.

    With no start time of day, a job starting on its creation day copies at once and then every
    ``TRANSFER_REPEAT_INTERVAL``; a start date in the past would delay the first copy, and so a
    new replica's first model, to the next day. Jobs ignore later changes of the date, so it does
    not move on every ``pulumi up``.
    """
    today = today or dt.datetime.now(dt.UTC).date()
    return today.year, today.month, today.day


STORAGE_AGENT_KEY_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
READER_ROLE = "roles/storage.objectViewer"
WRITER_ROLES = ("roles/storage.objectCreator", "roles/storage.objectViewer")
"""Create new objects and read them back (resumable-upload and integrity checks). No delete, so
no overwrite: a published model version is immutable for its publisher."""

TRANSFER_SOURCE_ROLES = ("roles/storage.objectViewer", "roles/storage.legacyBucketReader")
"""What the Storage Transfer service agent needs on a GCS source: bucket metadata, list, read."""
TRANSFER_SINK_ROLES = ("roles/storage.objectViewer", "roles/storage.legacyBucketWriter")
"""And on a sink: compare objects (overwrite only when different) and write them."""

SINK_DEFAULT_KEY = gcp.storage.TransferJobTransferSpecTransferOptionsMetadataOptionsArgs(
    kms_key="KMS_KEY_DESTINATION_BUCKET_DEFAULT"
)
"""Copied objects are encrypted with the sink bucket's default key."""

PREDEFINED_DUAL_REGIONS: dict[frozenset[str], str] = {
    frozenset({"us-central1", "us-east1"}): "NAM4",
    frozenset({"europe-north1", "europe-west4"}): "EUR4",
    frozenset({"asia-northeast1", "asia-northeast2"}): "ASIA1",
}
"""Predefined dual-regions whose CMEK key ring GCS wants in the dual-region itself (``nam4``,
``eur4``, ``asia1``). Both pairs of NAM4 and EUR4 exist only as these predefined dual-regions.
EUR5, EUR7 and EUR8 are left out: they include London or Zürich, which the ``europe`` KMS
multi-region excludes, and GCS documents no key location for them."""

CONFIGURABLE_DUAL_REGIONS: dict[str, tuple[str, frozenset[str]]] = {
    "US": (
        "us",
        frozenset(
            {
                "us-central1",
                "us-east1",
                "us-east4",
                "us-south1",
                "us-west1",
                "us-west2",
                "us-west3",
                "us-west4",
            }
        ),
    ),
    "EU": (
        "europe",
        frozenset(
            {
                "europe-central2",
                "europe-north1",
                "europe-southwest1",
                "europe-west1",
                "europe-west3",
                "europe-west4",
                "europe-west8",
                "europe-west9",
                "europe-west10",
                "europe-west12",
            }
        ),
    ),
    "ASIA": ("asia", frozenset({"asia-east1", "asia-southeast1"})),
}
"""Continental multi-regions, the KMS multi-region their dual-regions' key rings must be in, and
the regions GCS allows in a configurable dual-region there. us-east5 is left out: GCS's table
of configurable regions footnotes it with a restriction not verified here, and a regional bucket
is always valid."""

UNPAIRABLE = frozenset(
    {
        frozenset({"europe-west3", "europe-west10"}),
        frozenset({"europe-west8", "europe-west12"}),
    }
)
"""Pairs GCS offers under their own country location codes (DE, IT) rather than EU, which have
no documented KMS location; they get a regional bucket each."""


@dataclass(frozen=True)
class BucketPlacement:
    """Where one model bucket lives and which serving regions read from it."""

    key: str
    """Names the bucket's resources: its region or dual-region (``nam4``, ``us-east4-us-west1``)."""
    location: str
    """The GCS location: a region (``US-CENTRAL1``), a predefined dual-region (``NAM4``) or, for
    a configurable dual-region, its multi-region (``US``)."""
    regions: tuple[str, ...]
    """The serving regions the bucket is local to, in fleet order."""
    kms_location: str
    """Where the bucket's CMEK key ring must be: the region, the predefined dual-region or the
    KMS multi-region containing a configurable dual-region."""
    data_locations: tuple[str, ...] = ()
    """The two regions of a configurable dual-region (``custom_placement_config``)."""

    @property
    def dual_region(self) -> bool:
        """Whether the bucket spans two regions (and so takes turbo replication)."""
        return len(self.regions) == 2


def plan_buckets(regions: Sequence[str]) -> list[BucketPlacement]:
    """One placement per bucket; every region is served by exactly one, the first region's first.

    Regions are paired greedily in fleet order: each unplaced region shares a dual-region bucket
    with the first later region it can, so the primary (first) region's bucket leads the list
    and is the one the others sync from.
    """
    if not regions:
        raise ValueError("no GCP serving region to place model buckets in")
    repeated = sorted(region for region, count in Counter(regions).items() if count > 1)
    if repeated:
        raise ValueError(f"serving regions listed twice: {', '.join(repeated)}")
    placements: list[BucketPlacement] = []
    unplaced = list(regions)
    while unplaced:
        region = unplaced.pop(0)
        for partner in unplaced:
            dual = _dual_region(region, partner)
            if dual is not None:
                unplaced.remove(partner)
                placements.append(dual)
                break
        else:
            placements.append(
                BucketPlacement(
                    key=region, location=region.upper(), regions=(region,), kms_location=region
                )
            )
    return placements


def _dual_region(first: str, second: str) -> BucketPlacement | None:
    pair = frozenset({first, second})
    predefined = PREDEFINED_DUAL_REGIONS.get(pair)
    if predefined is not None:
        return BucketPlacement(
            key=predefined.lower(),
            location=predefined,
            regions=(first, second),
            kms_location=predefined.lower(),
        )
    if pair in UNPAIRABLE:
        return None
    for multi_region, (kms_location, eligible) in CONFIGURABLE_DUAL_REGIONS.items():
        if pair <= eligible:
            return BucketPlacement(
                key=f"{first}-{second}",
                location=multi_region,
                regions=(first, second),
                kms_location=kms_location,
                data_locations=(first.upper(), second.upper()),
            )
    return None


def workload_identity_principal(
    workload_pool: str, project_number: str, namespace: str, service_account: str
) -> str:
    """The IAM principal of a Kubernetes service account under Workload Identity Federation;
    ``workload_pool`` is the clusters' ``<project>.svc.id.goog``."""
    return (
        f"principal://iam.googleapis.com/projects/{project_number}/locations/global/"
        f"workloadIdentityPools/{workload_pool}/subject/ns/{namespace}/sa/{service_account}"
    )


# --- one bucket ------------------------------------------------------------------------------


@dataclass
class ModelBucketArgs:
    fleet: FleetSpec
    """The fleet: its GCP project and labels."""
    placement: BucketPlacement
    """Where the bucket lives."""
    storage_agent_email: pulumi.Input[str]
    """The project's Cloud Storage service agent, the only identity allowed to use the key."""


class ModelBucket(GcpComponent):
    """A CMEK-encrypted, versioned, private model bucket and its own key."""

    APIS = (STORAGE, CLOUD_KMS)

    placement: BucketPlacement
    key_ring: gcp.kms.KeyRing
    key: gcp.kms.CryptoKey
    bucket: gcp.storage.Bucket

    def __init__(
        self, name: str, args: ModelBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        fleet = args.fleet
        super().__init__("llmfleet:gcp:ModelBucket", name, fleet.gcp_project, opts)
        placement = args.placement
        self.placement = placement
        # Key rings and keys can never be deleted in GCP and the bucket holds the weights:
        # protected whatever the environment. Auto-naming keeps a recreated stack clear of the
        # remains of an earlier one.
        protected = self._child(protect=True)
        self.key_ring = gcp.kms.KeyRing(
            autonamed(f"{name}-keyring"),
            project=fleet.gcp_project,
            location=placement.kms_location,
            opts=protected,
        )
        self.key = gcp.kms.CryptoKey(
            autonamed(f"{name}-key"),
            key_ring=self.key_ring.id,
            purpose="ENCRYPT_DECRYPT",
            rotation_period=KEY_ROTATION_PERIOD,
            labels=fleet.labels(),
            opts=protected,
        )
        # GCS encrypts and decrypts through its service agent, on behalf of whoever may read or
        # write the object: readers and writers need no role on the key.
        agent_grant = gcp.kms.CryptoKeyIAMMember(
            f"{name}-key-storage-agent",
            crypto_key_id=self.key.id,
            role=STORAGE_AGENT_KEY_ROLE,
            member=pulumi.Output.concat("serviceAccount:", args.storage_agent_email),
            opts=self._child(),
        )
        self.bucket = gcp.storage.Bucket(
            autonamed(name),
            project=fleet.gcp_project,
            location=placement.location,
            custom_placement_config=(
                gcp.storage.BucketCustomPlacementConfigArgs(
                    data_locations=list(placement.data_locations)
                )
                if placement.data_locations
                else None
            ),
            # Turbo replication: new weights reach the second region within 15 minutes.
            rpo="ASYNC_TURBO" if placement.dual_region else None,
            storage_class="STANDARD",
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning=gcp.storage.BucketVersioningArgs(enabled=True),
            soft_delete_policy=gcp.storage.BucketSoftDeletePolicyArgs(
                retention_duration_seconds=SOFT_DELETE_SECONDS
            ),
            lifecycle_rules=_lifecycle_rules(fleet.storage.noncurrent_version_days),
            encryption=gcp.storage.BucketEncryptionArgs(
                default_kms_key_name=self.key.id,
                # Only the bucket's key may encrypt new objects: no Google-managed fallback, and
                # no customer-supplied key that would make an object unreadable to the fleet.
                google_managed_encryption_enforcement_config=(
                    gcp.storage.BucketEncryptionGoogleManagedEncryptionEnforcementConfigArgs(
                        restriction_mode="FullyRestricted"
                    )
                ),
                customer_supplied_encryption_enforcement_config=(
                    gcp.storage.BucketEncryptionCustomerSuppliedEncryptionEnforcementConfigArgs(
                        restriction_mode="FullyRestricted"
                    )
                ),
            ),
            force_destroy=False,
            labels=fleet.labels(),
            # Creating the bucket with a default key the agent cannot use yet would fail.
            opts=self._child(protect=True, depends_on=[agent_grant]),
        )
        self.register_outputs(
            {"bucket_name": self.bucket.name, "key_id": self.key.id, "location": placement.location}
        )


def _lifecycle_rules(noncurrent_version_days: int) -> list[gcp.storage.BucketLifecycleRuleArgs]:
    return [
        gcp.storage.BucketLifecycleRuleArgs(
            action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
            condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                days_since_noncurrent_time=noncurrent_version_days, with_state="ARCHIVED"
            ),
        ),
        gcp.storage.BucketLifecycleRuleArgs(
            action=gcp.storage.BucketLifecycleRuleActionArgs(type="AbortIncompleteMultipartUpload"),
            condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                age=ABORT_INCOMPLETE_UPLOAD_DAYS
            ),
        ),
    ]


# --- the fleet's GCP model storage -----------------------------------------------------------


@dataclass
class GcpModelStorageArgs:
    fleet: FleetSpec
    """The fleet: GCP project, labels and storage settings."""
    regions: list[RegionSpec]
    """The fleet's GCP serving regions. The first one's bucket is the GCP primary: publishers
    write to it (or the AWS primary copies into it) and the other buckets sync from it."""
    filled_from_another_cloud: bool = False
    """Whether the fleet's primary copy lives on another cloud and fills the GCP primary bucket
    (``fill_primary_from_s3``); then no GCP identity publishes models."""


class GcpModelStorage(GcpComponent):
    """Model buckets for a fleet's GCP serving regions, their sync jobs and their access."""

    APIS = (STORAGE, STORAGE_TRANSFER, IAM, RESOURCE_MANAGER)

    placements: list[BucketPlacement]
    buckets: dict[str, gcp.storage.Bucket]
    """By bucket key (``BucketPlacement.key``)."""
    bucket_for_region: dict[str, gcp.storage.Bucket]
    """The bucket each serving region loads weights from."""
    keys: dict[str, gcp.kms.CryptoKey]
    """Each bucket's CMEK key, by bucket key."""
    primary_bucket: gcp.storage.Bucket
    resource_name: str
    """This component's name, which its children's names start with."""
    transfer_jobs: dict[str, gcp.storage.TransferJob]
    """The job filling each bucket that is not the primary (and the primary from another
    cloud), by the key of the bucket it writes to."""
    writer: gcp.serviceaccount.Account | None
    """The identity that publishes models to the primary bucket; none when the primary copy is
    on AWS, where models are published, so the GCP buckets stay pure replicas."""

    def __init__(
        self, name: str, args: GcpModelStorageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        fleet = args.fleet
        _check_regions(fleet, args.regions)
        super().__init__("llmfleet:gcp:ModelStorage", name, fleet.gcp_project, opts)
        self._name = name
        self.resource_name = name
        self._fleet = fleet
        self._project = fleet.gcp_project
        self.placements = plan_buckets([r.region for r in args.regions])
        storage_agent = gcp.storage.get_project_service_account_output(
            project=self._project, opts=self._invoke()
        )
        self._homes = {
            p.key: ModelBucket(
                f"{name}-{p.key}",
                ModelBucketArgs(
                    fleet=fleet, placement=p, storage_agent_email=storage_agent.email_address
                ),
                opts=self._child(),
            )
            for p in self.placements
        }
        self._home_of_region = {
            region: home for home in self._homes.values() for region in home.placement.regions
        }
        self.buckets = {key: home.bucket for key, home in self._homes.items()}
        self.keys = {key: home.key for key, home in self._homes.items()}
        self.bucket_for_region = {r: home.bucket for r, home in self._home_of_region.items()}
        primary, *replicas = self._homes.values()
        self.primary_bucket = primary.bucket
        self._readers: dict[tuple[str, str, str], gcp.storage.BucketIAMMember] = {}
        self.transfer_jobs = {}
        self._primary = primary
        self._primary_grants: list[gcp.storage.BucketIAMMember] = []
        self._transfer_agent: pulumi.Output | None = None
        self._filled = args.filled_from_another_cloud
        if args.filled_from_another_cloud or replicas:
            self._sync(primary, replicas, args.filled_from_another_cloud)
        self.writer = None if args.filled_from_another_cloud else self._writer(primary)
        self._project_number = gcp.organizations.get_project_output(
            project_id=self._project, opts=self._invoke()
        ).number
        self.register_outputs(
            {
                "bucket_names": {key: b.name for key, b in self.buckets.items()},
                "bucket_for_region": {r: b.name for r, b in self.bucket_for_region.items()},
                "writer_email": self.writer.email if self.writer is not None else None,
            }
        )

    # --- public interface -------------------------------------------------------------------

    def grant_reader(
        self,
        region: str,
        namespace: str,
        service_account: str,
        workload_pool: pulumi.Input[str] | None = None,
    ) -> gcp.storage.BucketIAMMember:
        """Let a Kubernetes service account read the bucket serving ``region``, and only that one.

        Pass the serving cluster's ``GcpCluster.workload_pool`` as ``workload_pool``: GKE creates
        the project's pool with its first Workload Identity cluster, and IAM refuses a grant to
        a pool that does not exist yet, so the grant must wait for the cluster. Without it the
        grant names ``<project>.svc.id.goog`` and only succeeds once a cluster exists.

        Regions sharing a dual-region bucket share one grant: two resources for the same binding
        would each delete it, and with it the other's access.
        """
        home = self._home(region)
        grant_key = (home.placement.key, namespace, service_account)
        if grant_key not in self._readers:
            pool = workload_pool if workload_pool is not None else f"{self._project}.svc.id.goog"
            self._readers[grant_key] = gcp.storage.BucketIAMMember(
                f"{self._name}-{home.placement.key}-reader-{namespace}-{service_account}",
                bucket=home.bucket.name,
                role=READER_ROLE,
                member=pulumi.Output.all(pool, self._project_number).apply(
                    lambda values: workload_identity_principal(
                        values[0], values[1], namespace, service_account
                    )
                ),
                opts=self._child_of(home),
            )
        return self._readers[grant_key]

    def model_uri(self, region: str, model: ModelSpec) -> pulumi.Output[str]:
        """``gs://<bucket serving region>/models/<name>/<version>/``."""
        return self._home(region).bucket.name.apply(lambda bucket: model_uri("gs", bucket, model))

    def publishing(self) -> dict[str, pulumi.Output[str] | None]:
        """The primary bucket and the writer's email (none when filled from another cloud)."""
        return {
            "primary_bucket": self.primary_bucket.name,
            "writer": self.writer.email if self.writer is not None else None,
        }

    @property
    def transfer_subject_id(self) -> pulumi.Output[str]:
        """Google subject id of the project's Storage Transfer service agent: what a source on
        another cloud trusts (web identity federation, no long-lived key)."""
        return self._filled_agent().subject_id

    def fill_primary_from_s3(
        self,
        *,
        bucket_name: pulumi.Input[str],
        region: str,
        role_arn: pulumi.Input[str],
        depends_on: Sequence[pulumi.Resource],
    ) -> gcp.storage.TransferJob:
        """The hourly job copying ``models/`` of an S3 bucket into the GCP primary bucket,
        assuming ``role_arn`` (``depends_on``: the role and its permissions)."""
        self._filled_agent()
        primary = self._primary
        job = self._transfer_job(
            primary,
            description=f"llmfleet {self._fleet.name}: {MODEL_PREFIX} from AWS "
            f"{region} to {primary.placement.key}",
            aws_s3_data_source=gcp.storage.TransferJobTransferSpecAwsS3DataSourceArgs(
                bucket_name=bucket_name, path=MODEL_PREFIX, role_arn=role_arn
            ),
            depends_on=[*self._primary_grants, *depends_on],
        )
        self.transfer_jobs[primary.placement.key] = job
        return job

    # --- internals --------------------------------------------------------------------------

    def _filled_agent(self) -> pulumi.Output:
        if not self._filled or self._transfer_agent is None:
            raise ValueError(
                f"{self._name}: the GCP primary is filled from another cloud only with "
                "GcpModelStorageArgs.filled_from_another_cloud"
            )
        return self._transfer_agent

    def _home(self, region: str) -> ModelBucket:
        if region not in self._home_of_region:
            raise ValueError(
                f"'{region}' is not a GCP serving region of this storage; served: "
                + ", ".join(self._home_of_region)
            )
        return self._home_of_region[region]

    def _sync(self, primary: ModelBucket, replicas: list[ModelBucket], filled: bool) -> None:
        # One hub: another cloud's egress is paid once, into the GCP primary, which feeds the
        # other buckets.
        self._transfer_agent = gcp.storage.get_transfer_project_service_account_output(
            project=self._project, opts=self._invoke()
        )
        agent_member = pulumi.Output.concat("serviceAccount:", self._transfer_agent.email)
        # Filled from another cloud, the primary is a sink too; the sink roles cover reading it.
        self._primary_grants = self._grant_agent(
            primary, agent_member, TRANSFER_SINK_ROLES if filled else TRANSFER_SOURCE_ROLES
        )
        primary_grants = self._primary_grants
        for replica in replicas:
            self.transfer_jobs[replica.placement.key] = self._transfer_job(
                replica,
                description=f"llmfleet {self._fleet.name}: {MODEL_PREFIX} from "
                f"{primary.placement.key} to {replica.placement.key}",
                gcs_data_source=gcp.storage.TransferJobTransferSpecGcsDataSourceArgs(
                    bucket_name=primary.bucket.name, path=MODEL_PREFIX
                ),
                # The source's key cannot encrypt in another location: objects take the sink's.
                metadata_options=SINK_DEFAULT_KEY,
                depends_on=[
                    *primary_grants,
                    *self._grant_agent(replica, agent_member, TRANSFER_SINK_ROLES),
                ],
            )

    def _grant_agent(
        self, home: ModelBucket, member: pulumi.Output[str], roles: Sequence[str]
    ) -> list[gcp.storage.BucketIAMMember]:
        """The Storage Transfer service agent's roles on one bucket."""
        return [
            gcp.storage.BucketIAMMember(
                f"{self._name}-{home.placement.key}-transfer-{_role_suffix(role)}",
                bucket=home.bucket.name,
                role=role,
                member=member,
                opts=self._child_of(home),
            )
            for role in roles
        ]

    def _transfer_job(
        self,
        sink: ModelBucket,
        *,
        description: str,
        depends_on: list[pulumi.Resource],
        gcs_data_source: gcp.storage.TransferJobTransferSpecGcsDataSourceArgs | None = None,
        aws_s3_data_source: gcp.storage.TransferJobTransferSpecAwsS3DataSourceArgs | None = None,
        metadata_options: (
            gcp.storage.TransferJobTransferSpecTransferOptionsMetadataOptionsArgs | None
        ) = None,
    ) -> gcp.storage.TransferJob:
        year, month, day = first_transfer_date()
        return gcp.storage.TransferJob(
            f"{self._name}-{sink.placement.key}-sync",
            # pulumi-gcp auto-names an unset name "<logical name>-<hex>", which the API refuses
            # without its "transferJobs/" prefix. The sink (one job each) lends its name: new
            # with every bucket, so a recreated stack never reuses a deleted job's name, which
            # the API also refuses.
            name=pulumi.Output.concat("transferJobs/", sink.bucket.name, "-sync"),
            project=self._project,
            description=description,
            transfer_spec=gcp.storage.TransferJobTransferSpecArgs(
                gcs_data_source=gcs_data_source,
                aws_s3_data_source=aws_s3_data_source,
                gcs_data_sink=gcp.storage.TransferJobTransferSpecGcsDataSinkArgs(
                    bucket_name=sink.bucket.name, path=MODEL_PREFIX
                ),
                transfer_options=gcp.storage.TransferJobTransferSpecTransferOptionsArgs(
                    overwrite_when="DIFFERENT",
                    # A replica never loses an object the primary lost: versioning and soft
                    # delete there would not help a replica that mirrored the deletion.
                    delete_objects_unique_in_sink=False,
                    delete_objects_from_source_after_transfer=False,
                    metadata_options=metadata_options,
                ),
            ),
            schedule=gcp.storage.TransferJobScheduleArgs(
                schedule_start_date=gcp.storage.TransferJobScheduleScheduleStartDateArgs(
                    year=year, month=month, day=day
                ),
                repeat_interval=TRANSFER_REPEAT_INTERVAL,
            ),
            logging_config=gcp.storage.TransferJobLoggingConfigArgs(
                log_actions=["COPY", "DELETE"], log_action_states=["SUCCEEDED", "FAILED"]
            ),
            opts=self._child_of(
                sink,
                depends_on=depends_on,
                # Only the creation uses the start date (see first_transfer_date).
                ignore_changes=["schedule.scheduleStartDate"],
            ),
        )

    def _writer(self, primary: ModelBucket) -> gcp.serviceaccount.Account:
        account = gcp.serviceaccount.Account(
            f"{self._name}-writer",
            project=self._project,
            account_id=f"{self._fleet.name}-model-writer",
            display_name=f"llmfleet {self._fleet.name} model publisher",
            description=f"Publishes model weights to {MODEL_PREFIX} of the primary model bucket",
            opts=self._child(),
        )
        for role in WRITER_ROLES:
            gcp.storage.BucketIAMMember(
                f"{self._name}-{primary.placement.key}-writer-{_role_suffix(role)}",
                bucket=primary.bucket.name,
                role=role,
                member=account.member,
                opts=self._child_of(primary),
            )
        return account


def _role_suffix(role: str) -> str:
    """``roles/storage.legacyBucketReader`` -> ``legacybucketreader``."""
    return role.rsplit(".", 1)[-1].lower()


def _check_regions(fleet: FleetSpec, regions: list[RegionSpec]) -> None:
    if fleet.gcp_project is None:
        raise ValueError(f"fleet '{fleet.name}' has no gcp_project to create model buckets in")
    if not regions:
        raise ValueError(f"fleet '{fleet.name}': no GCP serving region to store models for")
    others = [r.key for r in regions if r.cloud != "gcp"]
    if others:
        raise ValueError(f"not gcp regions: {', '.join(others)}")

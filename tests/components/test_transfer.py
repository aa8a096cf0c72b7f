"""Cross-cloud model copy: only S3 -> GCS, only into storage built to be filled from outside.

The copy's resources (the federated AWS role, the job) are checked with the GCP storage they
fill, in tests/components/gcp/test_storage.py (cross-cloud section).
"""

from __future__ import annotations

import pytest

from llmfleet.components.aws.storage import AwsModelStorage, AwsModelStorageArgs
from llmfleet.components.gcp.storage import GcpModelStorage, GcpModelStorageArgs
from llmfleet.components.transfer import AwsSource, copy_between_clouds, copy_s3_to_gcs


def test_models_are_copied_from_s3_to_gcs_only(run, prod_fleet):
    def program() -> None:
        s3 = AwsModelStorage(
            "s3", AwsModelStorageArgs(prod_fleet, primary=prod_fleet.regions_of("aws")[0])
        )
        gcs = GcpModelStorage(
            "gcs",
            GcpModelStorageArgs(
                prod_fleet, regions=prod_fleet.regions_of("gcp"), filled_from_another_cloud=True
            ),
        )
        with pytest.raises(ValueError, match="from S3 to GCS only, not from GcpModelStorage"):
            copy_between_clouds(prod_fleet, gcs, s3)
        copy = copy_between_clouds(prod_fleet, s3, gcs)
        assert copy.job is gcs.transfer_jobs[gcs.placements[0].key]

    recording = run(program)
    role = recording.one("llmfleet:gcp:AwsTransferSourceRole")
    assert role.parent == recording.one("llmfleet:gcp:ModelStorage").urn


def test_storage_not_built_to_be_filled_refuses_a_cross_cloud_copy(run, prod_fleet):
    def program() -> None:
        gcs = GcpModelStorage(
            "gcs", GcpModelStorageArgs(prod_fleet, regions=prod_fleet.regions_of("gcp"))
        )
        source = AwsSource("b", "arn:aws:s3:::b", "arn:aws:kms:us-east-1:1:key/k", "us-east-1")
        with pytest.raises(ValueError, match="filled_from_another_cloud"):
            copy_s3_to_gcs(prod_fleet, source, gcs)

    run(program)

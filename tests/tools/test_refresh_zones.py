"""The zones refresh script: rebuilds SkyPilot-sourced offerings, keeps hand-kept ones."""

from __future__ import annotations

import datetime as dt

import yaml

from tools.refresh_zones import ZONES, offerings, rebuild, render

CATALOG = {
    "regions": {"gcp": {"us-central1": [], "europe-west4": []}, "aws": {"us-east-1": []}},
    "instance_types": {
        "gcp": {
            "g2-standard-4": {"regions": ["us-central1", "europe-west4"]},
            "ct6e-standard-4t": {"regions": ["us-central1"]},
        },
        "aws": {"p5.48xlarge": {"regions": ["us-east-1"]}},
    },
}
GCP_ROWS = [
    {"InstanceType": "g2-standard-4", "Region": "us-central1", "AvailabilityZone": "us-central1-c"},
    {"InstanceType": "g2-standard-4", "Region": "us-central1", "AvailabilityZone": "us-central1-a"},
    {"InstanceType": "g2-standard-4", "Region": "us-central1", "AvailabilityZone": "us-central1-a"},
    # A region the catalog does not list for the type, and a type it does not know.
    {"InstanceType": "g2-standard-4", "Region": "asia-east1", "AvailabilityZone": "asia-east1-a"},
    {"InstanceType": "n1-standard-8", "Region": "us-central1", "AvailabilityZone": "us-central1-a"},
    # TPUs come from the Cloud TPU zones page, not from these rows.
    {"InstanceType": "ct6e-standard-4t", "Region": "us-central1", "AvailabilityZone": "x"},
]
AWS_ROWS = [{"InstanceType": "p5.48xlarge", "Region": "us-east-1", "AvailabilityZone": "use1-az2"}]
TPU_ENTRY = {"source": "cloud-tpu-zones", "zones": {"us-central1": ["us-central1-b"]}}
CURRENT = {
    "sources": {"cloud-tpu-zones": {"url": "https://cloud.google.com/tpu", "read": "2026-01-01"}},
    "gcp": {"ct6e-standard-4t": TPU_ENTRY},
    "aws": {},
}


def test_offerings_keep_catalog_types_in_their_catalog_regions_deduplicated_and_sorted():
    found = offerings(GCP_ROWS, {"g2-standard-4": ["us-central1", "europe-west4"]})
    assert found == {"g2-standard-4": {"us-central1": ["us-central1-a", "us-central1-c"]}}


def test_rebuild_refreshes_skypilot_entries_and_keeps_hand_kept_ones():
    document = rebuild(
        CATALOG, CURRENT, {"gcp": GCP_ROWS, "aws": AWS_ROWS}, "abc123", dt.date(2026, 11, 29)
    )
    assert document["gcp"] == {
        "ct6e-standard-4t": TPU_ENTRY,
        "g2-standard-4": {
            "source": "skypilot-gcp",
            "zones": {"us-central1": ["us-central1-a", "us-central1-c"]},
        },
    }
    assert document["aws"] == {
        "p5.48xlarge": {"source": "skypilot-aws", "zone_ids": {"us-east-1": ["use1-az2"]}}
    }
    gcp_source = document["sources"]["skypilot-gcp"]
    assert gcp_source["url"].endswith("/blob/abc123/catalogs/v7/gcp/vms.csv")
    assert (gcp_source["licence"], gcp_source["read"]) == ("Apache-2.0", "2026-11-29")
    assert document["sources"]["cloud-tpu-zones"] == CURRENT["sources"]["cloud-tpu-zones"]


def test_rendered_yaml_reads_back_as_the_document():
    document = rebuild(CATALOG, CURRENT, {"gcp": GCP_ROWS}, "abc123", dt.date(2026, 11, 29))
    assert yaml.safe_load(render(document)) == document


def test_the_vendored_file_is_in_the_rendered_form():
    """A refresh diffs only where offerings changed."""
    text = ZONES.read_text()
    assert render(yaml.safe_load(text)) == text

"""Cloud DNS (GCP-only fleets): each region's name and the global name with health-checked
external endpoints, geolocation (latency) or primary/backup (failover)."""

from __future__ import annotations

import pytest

from llmfleet.components.fleet import Fleet
from llmfleet.components.spec import parse_fleet
from llmfleet.recorder import record
from tests.components.routed_fleet import DOMAIN, MANAGED_ZONE, routed

RECORD_SET = "gcp:dns/recordSet:RecordSet"
HEALTH_CHECK = "gcp:compute/healthCheck:HealthCheck"
REGIONS = ("us-central1", "europe-west4")


def recorded(config: dict):
    spec = parse_fleet(config)
    return record(lambda: Fleet(spec.name, spec))


@pytest.fixture(scope="module")
def latency():
    return recorded(routed(clouds=("gcp",)))


def record_set(rec, name: str):
    (found,) = [r for r in rec.of_type(RECORD_SET) if r.inputs["name"] == name]
    return found


def addresses(rec) -> dict[str, str]:
    return {
        region: a.outputs["address"]
        for a in rec.of_type("gcp:compute/globalAddress:GlobalAddress")
        for region in REGIONS
        if region in a.urn
    }


def test_gcp_only_fleets_default_to_cloud_dns_in_the_named_zone(latency):
    assert not latency.of_type("aws:route53/record:Record")
    assert {r.inputs["managedZone"] for r in latency.of_type(RECORD_SET)} == {MANAGED_ZONE}
    assert not latency.of_type("gcp:dns/managedZone:ManagedZone")


def test_each_region_answers_on_its_own_name(latency):
    for region, ip in addresses(latency).items():
        regional = record_set(latency, f"{region}.{DOMAIN}.")
        assert (regional.inputs["type"], regional.inputs["rrdatas"]) == ("A", [ip])


def test_every_region_is_a_health_checked_target_of_the_global_record(latency):
    policy = record_set(latency, f"{DOMAIN}.").inputs["routingPolicy"]
    (check,) = latency.of_type(HEALTH_CHECK)
    assert policy["healthCheck"] == check.outputs["id"]
    targets = {
        g["location"]: g["healthCheckedTargets"]["externalEndpoints"] for g in policy["geos"]
    }
    assert targets == {region: [ip] for region, ip in addresses(latency).items()}


def test_the_check_asks_an_always_on_model_served_everywhere_from_three_regions(latency):
    (check,) = latency.of_type(HEALTH_CHECK)
    https = check.inputs["httpsHealthCheck"]
    assert (https["port"], https["requestPath"], https["host"]) == (443, "/chat/health", DOMAIN)
    assert len(set(check.inputs["sourceRegions"])) == 3
    assert check.inputs["checkIntervalSec"] >= 30


def test_failover_answers_with_the_first_region_while_it_is_healthy():
    rec = recorded(routed("failover", clouds=("gcp",)))
    ips = addresses(rec)
    backup = record_set(rec, f"{DOMAIN}.").inputs["routingPolicy"]["primaryBackup"]
    assert backup["primary"]["externalEndpoints"] == [ips["us-central1"]]
    assert backup["backupGeos"] == [
        {
            "location": "europe-west4",
            "healthCheckedTargets": {"externalEndpoints": [ips["europe-west4"]]},
        }
    ]
    assert backup["trickleRatio"] == 0


def test_certificate_authorizations_go_into_the_managed_zone(latency):
    challenges = [
        r for r in latency.of_type(RECORD_SET) if r.inputs["name"].startswith("_acme-challenge.")
    ]
    assert sorted(r.inputs["name"] for r in challenges) == sorted(
        f"_acme-challenge.{d}." for d in (DOMAIN, *(f"{r}.{DOMAIN}" for r in REGIONS))
    )
    assert all(r.inputs["type"] == "CNAME" for r in challenges)

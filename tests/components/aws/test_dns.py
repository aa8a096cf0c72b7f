"""Route 53: each region's name, its health check and the global name (latency or failover),
for AWS-only, GCP-only and mixed fleets, in the user's hosted zone."""

from __future__ import annotations

import pytest

from llmfleet.components import cost
from llmfleet.components.cost import Resource
from llmfleet.components.fleet import Fleet
from llmfleet.components.spec import parse_fleet
from llmfleet.recorder import record
from tests.components.routed_fleet import BATCH, CHAT, DOMAIN, HOSTED_ZONE, routed

RECORD = "aws:route53/record:Record"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
MIXED = ("us-east-1", "us-west-2", "us-central1", "europe-west4")


def recorded(config: dict):
    spec = parse_fleet(config)
    return record(lambda: Fleet(spec.name, spec))


@pytest.fixture(scope="module")
def mixed():
    return recorded(routed())


def records_named(rec, name: str) -> list:
    return [r for r in rec.of_type(RECORD) if r.inputs["name"] == name]


def checks_by_id(rec) -> dict:
    return {c.outputs["id"]: c for c in rec.of_type(HEALTH_CHECK)}


def test_every_region_has_a_health_checked_global_record(mixed):
    records = records_named(mixed, DOMAIN)
    checks = checks_by_id(mixed)
    assert sorted(r.inputs["setIdentifier"] for r in records) == sorted(MIXED)
    for record_ in records:
        region = record_.inputs["setIdentifier"]
        check = checks[record_.inputs["healthCheckId"]]
        assert check.inputs["fqdn"] == f"{region}.{DOMAIN}"
        assert record_.inputs["zoneId"] == HOSTED_ZONE
        (alias,) = record_.inputs["aliases"]
        assert alias["name"] == f"{region}.{DOMAIN}"


def test_latency_is_measured_from_the_region_or_the_nearest_aws_region(mixed):
    regions = {
        r.inputs["setIdentifier"]: r.inputs["latencyRoutingPolicies"][0]["region"]
        for r in records_named(mixed, DOMAIN)
    }
    assert regions == {
        "us-east-1": "us-east-1",
        "us-west-2": "us-west-2",
        "us-central1": "us-east-2",
        "europe-west4": "eu-central-1",
    }


def test_regions_are_checked_over_https_on_each_always_on_models_health(mixed):
    for region in MIXED:
        (check,) = [
            c for c in mixed.of_type(HEALTH_CHECK) if c.inputs["fqdn"] == f"{region}.{DOMAIN}"
        ]
        # batch scales to zero in us-east-1 and us-central1: a cold model is not a sick region.
        assert (check.inputs["type"], check.inputs["resourcePath"]) == ("HTTPS", "/chat/health")
        assert (check.inputs["port"], check.inputs["enableSni"]) == (443, True)


def test_an_aws_regions_name_aliases_its_alb_and_a_gcp_regions_its_address(mixed):
    (aws_name,) = records_named(mixed, f"us-east-1.{DOMAIN}")
    (alias,) = aws_name.inputs["aliases"]
    assert alias["name"].endswith(".us-east-1.elb.amazonaws.com")
    assert alias["zoneId"] and alias["evaluateTargetHealth"] is True
    (gcp_name,) = records_named(mixed, f"us-central1.{DOMAIN}")
    (address,) = [
        a
        for a in mixed.of_type("gcp:compute/globalAddress:GlobalAddress")
        if "us-central1" in a.urn
    ]
    assert gcp_name.inputs["records"] == [address.outputs["address"]]
    assert gcp_name.inputs["type"] == "A"


def test_the_alb_is_read_only_after_the_gateway_reports_it(mixed):
    (aws_name,) = records_named(mixed, f"us-east-1.{DOMAIN}")
    (gateway,) = [
        g
        for g in mixed.of_type("kubernetes:gateway.networking.k8s.io/v1:Gateway")
        if g.region == "us-east-1"
    ]
    # The alias comes from a lookup that waited on the Gateway (pulumi.com/waitFor).
    assert aws_name.inputs["aliases"][0]["name"].startswith("llm-prod-us-east-1-")
    assert gateway.inputs["metadata"]["annotations"]["pulumi.com/waitFor"]


def test_a_region_serving_several_always_on_models_needs_all_of_them():
    always_on = {
        **BATCH,
        "name": "embed",
        "regions": ["us-east-1"],
        "min_replicas": 1,
        "scale_to_zero": False,
    }
    rec = recorded(routed(clouds=("aws",), serving=[CHAT, always_on]))
    (record_,) = [r for r in records_named(rec, DOMAIN) if r.inputs["setIdentifier"] == "us-east-1"]
    calculated = checks_by_id(rec)[record_.inputs["healthCheckId"]]
    assert calculated.inputs["type"] == "CALCULATED"
    children = [checks_by_id(rec)[c] for c in calculated.inputs["childHealthchecks"]]
    assert sorted(c.inputs["resourcePath"] for c in children) == ["/chat/health", "/embed/health"]
    assert calculated.inputs["childHealthThreshold"] == 2


def test_a_region_serving_only_models_that_scale_to_zero_is_checked_on_its_port():
    rec = recorded(routed(clouds=("aws",), serving=[{**BATCH, "regions": ["us-east-1"]}]))
    (check,) = rec.of_type(HEALTH_CHECK)
    assert (check.inputs["type"], check.inputs["port"]) == ("TCP", 443)
    assert "resourcePath" not in check.inputs


def test_failover_sends_to_the_first_region_while_it_is_healthy():
    rec = recorded(routed("failover", clouds=("aws",)))
    records = {
        r.inputs["failoverRoutingPolicies"][0]["type"]: r for r in records_named(rec, DOMAIN)
    }
    checks = checks_by_id(rec)
    assert sorted(records) == ["PRIMARY", "SECONDARY"]
    for role, region in (("PRIMARY", "us-east-1"), ("SECONDARY", "us-west-2")):
        assert records[role].inputs["aliases"][0]["name"] == f"{region}.{DOMAIN}"
        assert checks[records[role].inputs["healthCheckId"]].inputs["fqdn"] == f"{region}.{DOMAIN}"


def test_failover_over_more_regions_falls_back_to_the_nearest_healthy_other():
    rec = recorded(routed("failover"))
    checks = checks_by_id(rec)
    records = {
        r.inputs["failoverRoutingPolicies"][0]["type"]: r for r in records_named(rec, DOMAIN)
    }
    assert records["PRIMARY"].inputs["aliases"][0]["name"] == f"us-east-1.{DOMAIN}"
    assert (
        checks[records["PRIMARY"].inputs["healthCheckId"]].inputs["fqdn"] == f"us-east-1.{DOMAIN}"
    )
    secondary = records["SECONDARY"].inputs["aliases"][0]
    assert (secondary["name"], secondary["evaluateTargetHealth"]) == (f"standby.{DOMAIN}", True)
    standby = records_named(rec, f"standby.{DOMAIN}")
    assert sorted(r.inputs["setIdentifier"] for r in standby) == sorted(MIXED[1:])
    for record_ in standby:
        assert checks[record_.inputs["healthCheckId"]].inputs["fqdn"] == (
            f"{record_.inputs['setIdentifier']}.{DOMAIN}"
        )


def test_gcp_only_fleets_may_use_route53():
    rec = recorded(routed(clouds=("gcp",), dns="route53"))
    records = records_named(rec, DOMAIN)
    assert sorted(r.inputs["setIdentifier"] for r in records) == ["europe-west4", "us-central1"]
    assert all(r.inputs["healthCheckId"] for r in records)
    assert not rec.of_type("gcp:dns/recordSet:RecordSet")


def test_the_zone_is_never_created(mixed):
    assert not mixed.of_type("aws:route53/zone:Zone")


def _priced(resources):
    estimate = cost.estimate(resources)
    lines = {line.item: round(line.monthly_max, 2) for line in estimate.lines}
    unpriced = {(u.item, u.reason) for u in estimate.unpriced}
    return lines, unpriced


def test_health_checks_are_priced_and_what_has_no_fixed_rate_is_listed():
    check = "aws:route53/healthCheck:HealthCheck"
    lines, unpriced = _priced(
        [
            Resource("urn:a", check, "a", {"type": "HTTPS"}, region="global", cloud="aws"),
            Resource("urn:b", check, "b", {"type": "TCP"}, region="global", cloud="aws"),
            Resource("urn:c", check, "c", {"type": "CALCULATED"}, region="global", cloud="aws"),
            Resource(
                "urn:r",
                "aws:route53/record:Record",
                "r",
                {"setIdentifier": "us-east-1"},
                region="global",
                cloud="aws",
            ),
            Resource("urn:v", "aws:route53/record:Record", "v", {"type": "CNAME"}),
        ]
    )
    # A basic check at the non-AWS endpoint rate, HTTPS as an optional feature.
    assert lines == {
        "health check a": 0.75,
        "health check a (HTTPS)": 2.0,
        "health check b": 0.75,
    }
    assert unpriced == {
        ("health check c", "calculated health check"),
        ("DNS queries r", "queries per million"),
    }


def test_each_regional_gateway_is_priced_as_its_clouds_load_balancer():
    gateway = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
    lines, unpriced = _priced(
        [
            Resource("urn:a", gateway, "alb", {}, region="us-east-1", cloud="aws"),
            Resource("urn:g", gateway, "gke", {}, region="us-central1", cloud="gcp"),
        ]
    )
    assert lines == {"load balancer alb": 16.43, "load balancer gke": 18.25}
    assert ("load balancer alb", "capacity units / data per GB") in unpriced

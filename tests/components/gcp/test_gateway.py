"""GCP regional entries: the GKE Gateway controller turned on in place, a reserved address and a
Certificate Manager certificate for both names bound through a certificate map."""

from __future__ import annotations

import pytest

from llmfleet.components.fleet import Fleet
from llmfleet.components.spec import parse_fleet
from llmfleet.recorder import record
from tests.components.routed_fleet import DOMAIN, routed

GCP_REGIONS = ("us-central1", "europe-west4")
AUTHORIZATION = "gcp:certificatemanager/dnsAuthorization:DnsAuthorization"
CERTIFICATE = "gcp:certificatemanager/certificate:Certificate"
MAP_ENTRY = "gcp:certificatemanager/certificateMapEntry:CertificateMapEntry"
ADDRESS = "gcp:compute/globalAddress:GlobalAddress"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
HEALTH_CHECK_POLICY = "kubernetes:networking.gke.io/v1:HealthCheckPolicy"
BACKEND_POLICY = "kubernetes:networking.gke.io/v1:GCPBackendPolicy"


@pytest.fixture(scope="module")
def rec():
    spec = parse_fleet(routed())
    return record(lambda: Fleet(spec.name, spec))


def of(rec, type_: str, region: str) -> list:
    return [r for r in rec.of_type(type_) if region in r.urn.rsplit("::", 1)[1]]


def test_gke_runs_the_standard_gateway_api_channel(rec):
    for cluster in rec.of_type("gcp:container/cluster:Cluster"):
        assert cluster.inputs["gatewayApiConfig"] == {"channel": "CHANNEL_STANDARD"}


@pytest.mark.parametrize("region", GCP_REGIONS)
def test_the_certificate_covers_both_names_authorised_by_dns(rec, region):
    (certificate,) = of(rec, CERTIFICATE, region)
    managed = certificate.inputs["managed"]
    assert managed["domains"] == [f"{region}.{DOMAIN}", DOMAIN]
    authorizations = {a.outputs["id"]: a.inputs["domain"] for a in rec.of_type(AUTHORIZATION)}
    assert sorted(authorizations[a] for a in managed["dnsAuthorizations"]) == sorted(
        [DOMAIN, f"{region}.{DOMAIN}"]
    )


def test_the_global_name_is_authorised_once_for_every_region(rec):
    domains = sorted(a.inputs["domain"] for a in rec.of_type(AUTHORIZATION))
    assert domains == sorted([DOMAIN, *(f"{r}.{DOMAIN}" for r in GCP_REGIONS)])
    # Each authorization's CNAME goes into the fleet's zone (Route 53 here, a mixed fleet).
    cnames = [
        r.inputs["name"]
        for r in rec.of_type("aws:route53/record:Record")
        if r.inputs["name"].startswith("_acme-challenge.")
    ]
    assert sorted(cnames) == sorted(f"_acme-challenge.{d}." for d in domains)


@pytest.mark.parametrize("region", GCP_REGIONS)
def test_the_gateway_takes_the_reserved_address_and_the_certificate_map(rec, region):
    (gateway,) = [g for g in rec.of_type(GATEWAY) if g.region == region]
    (address,) = of(rec, ADDRESS, region)
    assert gateway.inputs["spec"]["addresses"] == [
        {"type": "NamedAddress", "value": address.inputs["name"]}
    ]
    certmap = gateway.inputs["metadata"]["annotations"]["networking.gke.io/certmap"]
    entries = [e for e in rec.of_type(MAP_ENTRY) if e.inputs["map"] == certmap]
    assert sorted(e.inputs["hostname"] for e in entries) == sorted([f"{region}.{DOMAIN}", DOMAIN])
    assert {e.urn for e in entries} <= set(gateway.dependencies)


@pytest.mark.parametrize("region", GCP_REGIONS)
def test_every_backend_is_checked_on_vllms_health_and_allows_long_generations(rec, region):
    routes = [
        r
        for r in rec.of_type("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
        if r.region == region
    ]
    backends = {
        (b["namespace"], b["name"])
        for r in routes
        for b in r.inputs["spec"]["rules"][0]["backendRefs"]
    }
    for type_ in (HEALTH_CHECK_POLICY, BACKEND_POLICY):
        policies = [p for p in rec.of_type(type_) if p.region == region]
        targets = {
            (p.inputs["metadata"]["namespace"], p.inputs["spec"]["targetRef"]["name"])
            for p in policies
        }
        assert targets == backends
    check = next(
        p
        for p in rec.of_type(HEALTH_CHECK_POLICY)
        if p.region == region and p.inputs["metadata"]["name"] == "chat-v1"
    )
    http = check.inputs["spec"]["default"]["config"]["httpHealthCheck"]
    assert http == {"portSpecification": "USE_FIXED_PORT", "port": 8000, "requestPath": "/health"}
    backend = next(p for p in rec.of_type(BACKEND_POLICY) if p.region == region)
    assert backend.inputs["spec"]["default"]["timeoutSec"] >= 300


@pytest.mark.parametrize("region", GCP_REGIONS)
def test_the_load_balancer_accepts_tls_1_2_and_up_only(rec, region):
    (policy,) = of(rec, "gcp:compute/sSLPolicy:SSLPolicy", region)
    assert (policy.inputs["profile"], policy.inputs["minTlsVersion"]) == ("MODERN", "TLS_1_2")
    (binding,) = [
        r
        for r in rec.of_type("kubernetes:networking.gke.io/v1:GCPGatewayPolicy")
        if r.region == region
    ]
    assert binding.inputs["spec"]["default"]["sslPolicy"] == policy.inputs["name"]
    assert binding.inputs["spec"]["targetRef"] == {
        "group": "gateway.networking.k8s.io",
        "kind": "Gateway",
        "name": "llmfleet",
    }

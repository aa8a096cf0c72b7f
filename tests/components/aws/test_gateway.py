"""AWS regional entries: the load balancer controller (pinned chart, upstream IAM policy on Pod
Identity), an ACM certificate for both names and an HTTPS-only ALB sending to pod IPs."""

from __future__ import annotations

import json

import pytest

from llmfleet.components.aws.gateway import (
    GATEWAY_API_CRDS,
    IAM_POLICY_FILE,
    LOAD_BALANCER_CONTROLLER,
    TLS_POLICY,
    alb_name,
)
from llmfleet.components.fleet import Fleet
from llmfleet.components.k8s.serving import GRACE_SECONDS
from llmfleet.components.spec import parse_fleet
from llmfleet.recorder import record
from tests.components.routed_fleet import DOMAIN, HOSTED_ZONE, routed

CERTIFICATE = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "aws:route53/record:Record"
RELEASE = "kubernetes:helm.sh/v3:Release"
LB_CONFIG = "kubernetes:gateway.k8s.aws/v1:LoadBalancerConfiguration"
TG_CONFIG = "kubernetes:gateway.k8s.aws/v1:TargetGroupConfiguration"
AWS_REGIONS = ("us-east-1", "us-west-2")


@pytest.fixture(scope="module")
def spec():
    return parse_fleet(routed(clouds=("aws",)))


@pytest.fixture(scope="module")
def rec(spec):
    return record(lambda: Fleet(spec.name, spec))


def in_region(rec, type_: str, region: str) -> list:
    return [r for r in rec.of_type(type_) if r.region == region]


def controller(rec, region: str):
    (release,) = [
        r
        for r in in_region(rec, RELEASE, region)
        if r.inputs["chart"] == "aws-load-balancer-controller"
    ]
    return release


def test_the_controller_policy_is_upstreams_unchanged(rec):
    upstream = json.loads(IAM_POLICY_FILE.read_text())
    policies = [
        r
        for r in rec.of_type("aws:iam/rolePolicy:RolePolicy")
        if r.name.endswith("-load-balancer-controller")
    ]
    assert len(policies) == len(AWS_REGIONS)
    for policy in policies:
        assert json.loads(policy.inputs["policy"]) == upstream
    # The vendored file is upstream's v3.5.0 policy: the controller's own ELB and EC2 calls.
    actions = {a for s in upstream["Statement"] for a in _list(s["Action"])}
    assert {
        "elasticloadbalancing:CreateLoadBalancer",
        "ec2:AuthorizeSecurityGroupIngress",
    } <= actions


def _list(value):
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("region", AWS_REGIONS)
def test_the_controller_runs_on_pod_identity_from_the_pinned_chart(rec, region):
    release = controller(rec, region)
    assert release.inputs["version"] == LOAD_BALANCER_CONTROLLER.version == "3.5.0"
    assert release.inputs["repositoryOpts"] == {"repo": "https://aws.github.io/eks-charts"}
    values = release.inputs["values"]
    assert values["serviceAccount"] == {"create": True, "name": "aws-load-balancer-controller"}
    assert values["controllerConfig"]["featureGates"]["ALBGatewayAPI"] is True
    assert values["region"] == region
    (association,) = [
        r
        for r in in_region(rec, "aws:eks/podIdentityAssociation:PodIdentityAssociation", region)
        if r.inputs["serviceAccount"] == "aws-load-balancer-controller"
    ]
    assert association.inputs["namespace"] == "kube-system"
    assert association.urn in release.dependencies


@pytest.mark.parametrize("region", AWS_REGIONS)
def test_gateway_api_crds_come_before_the_controller(rec, region):
    release = controller(rec, region)
    (crds,) = [
        r for r in rec.of_type("kubernetes:yaml/v2:ConfigFile") if r.urn in release.dependencies
    ]
    # The standard channel of the release the schemas in tests/schemas/gateway-api come from.
    assert crds.inputs["file"] == GATEWAY_API_CRDS
    assert GATEWAY_API_CRDS.endswith("/v1.6.1/standard-install.yaml")
    assert crds.provider == release.provider


@pytest.mark.parametrize("region", AWS_REGIONS)
def test_the_certificate_covers_both_names_validated_by_dns(rec, region):
    (certificate,) = in_region(rec, CERTIFICATE, region)
    inputs = certificate.inputs
    assert inputs["domainName"] == f"{region}.{DOMAIN}"
    assert inputs["subjectAlternativeNames"] == [DOMAIN]
    assert inputs["validationMethod"] == "DNS"
    (validation,) = in_region(rec, VALIDATION, region)
    validation_records = [r for r in rec.of_type(RECORD) if r.urn in validation.dependencies]
    names = sorted(r.inputs["name"].split(".", 1)[1] for r in validation_records)
    assert names == sorted([f"{DOMAIN}.", f"{region}.{DOMAIN}."])
    assert all(r.inputs["zoneId"] == HOSTED_ZONE for r in validation_records)


def test_the_global_names_validation_record_is_made_once(rec):
    global_records = [
        r
        for r in rec.of_type(RECORD)
        if r.inputs.get("type") == "CNAME" and r.inputs["name"].split(".", 1)[1] == f"{DOMAIN}."
    ]
    assert len(global_records) == 1
    for validation in rec.of_type(VALIDATION):
        assert global_records[0].urn in validation.dependencies


@pytest.mark.parametrize("region", AWS_REGIONS)
def test_the_alb_listens_on_https_only_with_the_issued_certificate(rec, region):
    (config,) = in_region(rec, LB_CONFIG, region)
    spec = config.inputs["spec"]
    (listener,) = spec["listenerConfigurations"]
    assert listener["protocolPort"] == "HTTPS:443"
    assert listener["sslPolicy"] == TLS_POLICY
    (certificate,) = in_region(rec, CERTIFICATE, region)
    assert listener["defaultCertificate"] == certificate.outputs["arn"]
    assert spec["scheme"] == "internet-facing"
    spec_fleet = parse_fleet(routed(clouds=("aws",)))
    region_spec = next(r for r in spec_fleet.regions if r.region == region)
    assert spec["loadBalancerName"] == alb_name(spec_fleet, region_spec)


@pytest.mark.parametrize("region", AWS_REGIONS)
def test_targets_are_pod_ips_checked_on_vllms_health_and_drained(rec, region):
    configs = in_region(rec, TG_CONFIG, region)
    (default,) = [t for t in configs if "targetReference" not in t.inputs["spec"]]
    defaults = default.inputs["spec"]["defaultConfiguration"]
    assert defaults["targetType"] == "ip"
    assert defaults["targetGroupAttributes"] == [
        {"key": "deregistration_delay.timeout_seconds", "value": str(GRACE_SECONDS)}
    ]
    (config,) = in_region(rec, LB_CONFIG, region)
    assert config.inputs["spec"]["defaultTargetGroupConfiguration"] == {
        "name": default.inputs["metadata"]["name"]
    }
    per_service = {
        t.inputs["spec"]["targetReference"]["name"]: t.inputs["spec"]["defaultConfiguration"]
        for t in configs
        if t.inputs["metadata"]["namespace"] == "chat"
    }
    assert sorted(per_service) == ["chat-v1", "chat-v2"]
    for health in per_service.values():
        check = health["healthCheckConfig"]
        assert (check["healthCheckPath"], check["healthCheckPort"]) == ("/health", "8000")


def test_the_gateway_waits_for_the_controller_and_the_issued_certificate(rec):
    (gateway,) = in_region(rec, "kubernetes:gateway.networking.k8s.io/v1:Gateway", "us-east-1")
    (validation,) = in_region(rec, VALIDATION, "us-east-1")
    assert validation.urn in gateway.dependencies
    assert controller(rec, "us-east-1").urn in gateway.dependencies

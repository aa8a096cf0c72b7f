"""Cloud Monitoring alerting of GKE regions: PromQL alert policies over Managed Service for
Prometheus, one notification channel from the stack file."""

from __future__ import annotations

import copy

import grpc
import pulumi
import pytest

from llmfleet.components.fleet import Fleet
from llmfleet.components.gcp.monitoring import GcpMonitoring
from llmfleet.components.observability import SERVING_ALERTS, Endpoint, gke_preemption_filter
from llmfleet.components.spec import parse_fleet
from llmfleet.mock_outputs import gcp as gcp_mocks
from llmfleet.mock_outputs.gcp import PROJECT_NUMBER
from tests.components.k8s.test_serving import config

POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
PUBLISHER = "gcp:pubsub/topicIAMMember:TopicIAMMember"
UPTIME = "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig"
LOG_METRIC = "gcp:logging/metric:Metric"


def gcp_only(notify: dict | None) -> dict:
    fleet = config()
    fleet["regions"] = [r for r in fleet["regions"] if r["cloud"] == "gcp"]
    fleet["serving"] = [s for s in fleet["serving"] if s["pool"] != "h100"]
    fleet["observability"] = {"notify": notify} if notify else {}
    if notify is None:
        fleet["environment"] = "staging"
    return fleet


def build(run, fleet: dict):
    spec = parse_fleet(copy.deepcopy(fleet))
    gcp_regions = spec.regions_of("gcp")
    return run(lambda: GcpMonitoring("mon", spec, gcp_regions)), spec


@pytest.fixture(scope="module")
def emailed(recorded):
    spec = parse_fleet(gcp_only({"email": "oncall@example.com"}))
    return recorded("email", lambda: GcpMonitoring("mon", spec, spec.regions_of("gcp"))), spec


def test_one_policy_per_alert_each_a_promql_condition(emailed):
    rec, _ = emailed
    policies = rec.of_type(POLICY)
    per_region = {"us-central1": 2, "europe-west4": 1}  # serving entries in each region
    # + spot interruptions in each (both have spot pools); no XID: GKE's DCGM lacks it.
    expected = sum(n * len(SERVING_ALERTS) + 1 for n in per_region.values())
    assert len(policies) == expected
    kinds = {
        p.inputs["conditions"][0]["conditionPrometheusQueryLanguage"]["labels"]["alert_kind"]
        for p in policies
    }
    assert "xid-errors" not in kinds and "spot-interruptions" in kinds
    for policy in policies:
        (condition,) = policy.inputs["conditions"]
        promql = condition["conditionPrometheusQueryLanguage"]
        assert promql["evaluationInterval"] == "60s"
        assert promql["disableMetricValidation"] is True
        assert promql["ruleGroup"] in ("llm-prod-us-central1", "llm-prod-europe-west4")
        region = promql["ruleGroup"].removeprefix("llm-prod-")
        # Cluster series by cluster; Compute Engine's preemptions by the region's zones.
        assert (
            f'cluster="{promql["ruleGroup"]}"' in promql["query"]
            or f'zone=~"{region}-.*"' in promql["query"]
        )
        assert policy.inputs["combiner"] == "OR"
        assert policy.inputs["severity"] in ("CRITICAL", "WARNING")
        assert policy.inputs["userLabels"]["owner"] == "ml-platform"


def test_every_policy_notifies_the_email_channel(emailed):
    rec, _ = emailed
    (channel,) = rec.of_type(CHANNEL)
    assert channel.inputs["type"] == "email"
    assert channel.inputs["labels"] == {"email_address": "oncall@example.com"}
    for policy in rec.of_type(POLICY):
        assert policy.inputs["notificationChannels"] == [channel.outputs["id"]]


def test_pages_are_critical_and_tickets_warnings(emailed):
    rec, _ = emailed
    severity = {
        p.inputs["conditions"][0]["conditionPrometheusQueryLanguage"]["labels"][
            "alert_kind"
        ]: p.inputs["severity"]
        for p in rec.of_type(POLICY)
    }
    assert severity["ttft-p95"] == severity["gpu-pods-pending"] == "CRITICAL"
    assert severity["gpus-idle"] == severity["spot-interruptions"] == "WARNING"


def test_a_log_based_metric_counts_the_fleets_gke_node_preemptions(emailed):
    rec, spec = emailed
    (metric,) = rec.of_type(LOG_METRIC)
    assert metric.inputs["name"] == "llm_prod_gke_spot_preemptions"
    assert metric.inputs["filter"] == gke_preemption_filter(spec)
    assert "europe-west4|us-central1" in metric.inputs["filter"] or (
        "us-central1|europe-west4" in metric.inputs["filter"]
    )
    assert metric.inputs["metricDescriptor"] == {
        "metricKind": "DELTA",
        "valueType": "INT64",
        "unit": "1",
    }
    # The spot alerts read exactly this metric.
    spot = [
        p.inputs["conditions"][0]["conditionPrometheusQueryLanguage"]["query"]
        for p in rec.of_type(POLICY)
        if p.inputs["conditions"][0]["conditionPrometheusQueryLanguage"]["labels"]["alert_kind"]
        == "spot-interruptions"
    ]
    assert len(spot) == 2
    assert all("logging_googleapis_com:user_llm_prod_gke_spot_preemptions{" in q for q in spot)


def test_a_pubsub_channel_lets_monitoring_publish(run):
    topic = "projects/llm-alerts-hub/topics/llm-alerts"
    rec, _ = build(run, gcp_only({"pubsub_topic": topic}))
    (channel,) = rec.of_type(CHANNEL)
    assert (channel.inputs["type"], channel.inputs["labels"]) == ("pubsub", {"topic": topic})
    (grant,) = rec.of_type(PUBLISHER)
    assert (grant.inputs["project"], grant.inputs["topic"]) == ("llm-alerts-hub", "llm-alerts")
    assert grant.inputs["role"] == "roles/pubsub.publisher"
    assert grant.inputs["member"] == (
        f"serviceAccount:service-{PROJECT_NUMBER}@gcp-sa-monitoring-notification"
        ".iam.gserviceaccount.com"
    )
    assert grant.urn in channel.dependencies


def test_a_webhook_channel(run):
    rec, _ = build(run, gcp_only({"webhook": "https://hooks.example.com/llm"}))
    (channel,) = rec.of_type(CHANNEL)
    assert channel.inputs["type"] == "webhook_tokenauth"
    assert channel.inputs["labels"] == {"url": "https://hooks.example.com/llm"}


def test_without_a_channel_policies_still_exist_and_notify_nobody(run):
    rec, _ = build(run, gcp_only(None))
    assert rec.of_type(CHANNEL) == []
    policies = rec.of_type(POLICY)
    assert policies and all(not p.inputs.get("notificationChannels") for p in policies)


def test_gke_collects_pod_and_deployment_state_for_the_alerts(recorded):
    spec = parse_fleet(gcp_only({"email": "oncall@example.com"}))
    rec = recorded("fleet", lambda: Fleet(spec.name, spec))
    for cluster in rec.of_type("gcp:container/cluster:Cluster"):
        components = cluster.inputs["monitoringConfig"]["enableComponents"]
        assert {"DCGM", "POD", "DEPLOYMENT"} <= set(components)


def test_uptime_checks_probe_every_endpoint_from_three_continents(run):
    spec = parse_fleet(gcp_only({"email": "oncall@example.com"}))
    checks = [
        Endpoint("global", "llm.example.com", "/chat/health"),
        Endpoint("us-east-1", "us-east-1.llm.example.com", None),
    ]
    rec = run(lambda: GcpMonitoring("mon", spec, spec.regions_of("gcp"), checks))
    configs = {c.inputs["monitoredResource"]["labels"]["host"]: c for c in rec.of_type(UPTIME)}
    assert set(configs) == {"llm.example.com", "us-east-1.llm.example.com"}
    http = configs["llm.example.com"].inputs["httpCheck"]
    assert (http["path"], http["port"], http["useSsl"], http["validateSsl"]) == (
        "/chat/health",
        443,
        True,
        True,
    )
    # Only scale-to-zero entries behind it: TCP on 443, so the check keeps no model warm.
    tcp = configs["us-east-1.llm.example.com"].inputs
    assert tcp["tcpCheck"] == {"port": 443} and "httpCheck" not in tcp
    for check in configs.values():
        assert len(check.inputs["selectedRegions"]) >= 3
        (policy,) = [p for p in rec.of_type(POLICY) if check.urn in p.dependencies]
        threshold = policy.inputs["conditions"][0]["conditionThreshold"]
        assert check.outputs["uptimeCheckId"] in threshold["filter"]
        assert threshold["duration"] == f"{spec.observability.health_check_minutes * 60}s"
        assert (threshold["comparison"], threshold["thresholdValue"]) == ("COMPARISON_GT", 1)
        (channel,) = rec.of_type(CHANNEL)
        assert policy.inputs["notificationChannels"] == [channel.outputs["id"]]


API_KEY_INVOKE = "gcp:secretmanager/getSecretVersionAccess:getSecretVersionAccess"
WARM = Endpoint("global", "llm.example.com", "/chat/health", "/chat/v1/models")


def test_uptime_checks_request_an_api_path_with_the_key_from_secret_manager(run, monkeypatch):
    asked = []
    original = gcp_mocks.INVOKES[API_KEY_INVOKE]
    monkeypatch.setitem(
        gcp_mocks.INVOKES, API_KEY_INVOKE, lambda args: asked.append(args) or original(args)
    )
    spec = parse_fleet(gcp_only({"email": "oncall@example.com"}))
    rec = run(lambda: GcpMonitoring("mon", spec, spec.regions_of("gcp"), [WARM]))
    # The secret the fleet's first GKE region syncs to its serving namespaces.
    assert [(a["secret"], a["project"]) for a in asked] == [
        ("llm-prod-api-key-us-central1", spec.gcp_project)
    ]
    (check,) = rec.of_type(UPTIME)
    http = check.inputs["httpCheck"]
    assert http["path"] == "/chat/v1/models"  # vLLM demands the key on /v1
    assert http["headers"] == {"Authorization": f"Bearer {gcp_mocks.MOCK_API_KEY}"}
    assert http["maskHeaders"] is True
    # Encrypted in Pulumi's state, never plain text.
    assert "httpCheck" in check.secret_inputs
    (policy,) = [p for p in rec.of_type(POLICY) if check.urn in p.dependencies]
    assert policy.inputs["conditions"][0]["displayName"] == "llm.example.com/chat/v1/models fails"


class SecretNotFound(grpc.RpcError):
    """How the engine answers an invoke the provider failed (here: no version of the secret)."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.NOT_FOUND

    def details(self) -> str:
        return "Secret Version [latest] not found"


def _not_found(args: dict) -> dict:
    raise SecretNotFound()


@pytest.mark.parametrize(
    "answer",
    [lambda args: {"secret": args["secret"]}, _not_found],
    ids=["no value yet", "not readable"],
)
def test_until_the_key_can_be_read_checks_probe_health_without_it_and_say_so(
    run, monkeypatch, answer
):
    monkeypatch.setitem(gcp_mocks.INVOKES, API_KEY_INVOKE, answer)
    warnings = []
    monkeypatch.setattr(pulumi.log, "warn", lambda msg, resource=None, **_: warnings.append(msg))
    spec = parse_fleet(gcp_only({"email": "oncall@example.com"}))
    rec = run(lambda: GcpMonitoring("mon", spec, spec.regions_of("gcp"), [WARM]))
    (check,) = rec.of_type(UPTIME)
    http = check.inputs["httpCheck"]
    assert http["path"] == "/chat/health"
    assert "headers" not in http and "maskHeaders" not in http
    (warning,) = warnings
    assert "llm-prod-api-key-us-central1" in warning and "add its value" in warning
    assert "no value" in warning or "not found" in warning


def test_no_key_is_read_when_no_endpoint_can_use_it(run, monkeypatch):
    asked = []
    monkeypatch.setitem(gcp_mocks.INVOKES, API_KEY_INVOKE, asked.append)
    spec = parse_fleet(gcp_only({"email": "oncall@example.com"}))
    cold = Endpoint("global", "llm.example.com", None)
    rec = run(lambda: GcpMonitoring("mon", spec, spec.regions_of("gcp"), [cold]))
    (check,) = rec.of_type(UPTIME)
    assert check.inputs["tcpCheck"] == {"port": 443}
    assert asked == []

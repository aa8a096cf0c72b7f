"""The fleet's alerts, as each cloud's rule engine receives them: every serving deployment of
every example stack is covered by every alert with the stack file's thresholds, and every query
names only metrics the model server, DCGM exporter or kube-state-metrics publish
(tests/metrics)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from llmfleet.components.observability import (
    ALERT_KINDS,
    REGION_ALERTS,
    SERVING_ALERTS,
    Endpoint,
    alerts,
    endpoints,
    rule_groups,
    uptime_checker,
)
from llmfleet.components.spec import FleetSpec
from llmfleet.plan import run_program
from llmfleet.stackfile import find_project, load_stack
from tests.conftest import REPO

METRICS = Path(__file__).resolve().parents[1] / "metrics"
EXAMPLE_STACKS = ["dev", "prod-aws", "prod-gcp", "hybrid"]
RULES = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"
POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"


@dataclass(frozen=True)
class BuiltRule:
    """One alert as built for a cloud's rule engine."""

    cloud: str
    kind: str
    region: str
    serving: str | None
    expr: str
    for_seconds: int
    labels: dict


def _seconds(text: str) -> int:
    return int(text.removesuffix("s"))


def built_rules(recording) -> list[BuiltRule]:
    """Every alert in a recording: AMP rule groups' rules and Cloud Monitoring PromQL policies."""
    found = []
    for namespace in recording.of_type(RULES):
        for group in yaml.safe_load(namespace.inputs["data"])["groups"]:
            for rule in group["rules"]:
                labels = rule["labels"]
                found.append(
                    BuiltRule(
                        "aws",
                        labels["alert_kind"],
                        labels["region"],
                        labels.get("serving"),
                        rule["expr"],
                        _seconds(rule["for"]),
                        labels,
                    )
                )
    for policy in recording.of_type(POLICY):
        (condition,) = policy.inputs["conditions"]
        promql = condition.get("conditionPrometheusQueryLanguage")
        if promql is None:
            continue  # an uptime check's policy (tests/components/gcp/test_monitoring.py)
        labels = promql["labels"]
        found.append(
            BuiltRule(
                "gcp",
                labels["alert_kind"],
                labels["region"],
                labels.get("serving"),
                promql["query"],
                _seconds(promql["duration"]),
                labels,
            )
        )
    return found


@pytest.fixture(scope="module")
def stacks() -> dict[str, tuple[FleetSpec, list[BuiltRule]]]:
    project = find_project(REPO)
    found = {}
    for name in EXAMPLE_STACKS:
        stack = load_stack(project, name)
        found[name] = (stack.fleet, built_rules(run_program(project, stack)))
    return found


def thresholds(fleet: FleetSpec, serving: str) -> dict[str, tuple[str, int]]:
    """What each alert of ``serving`` must compare against, from the stack file: the text its
    query ends with (or holds) and how long it must hold."""
    spec = fleet.observability
    slo = spec.slo(serving)
    entry = next(s for s in fleet.serving if s.name == serving)
    hold = spec.for_minutes * 60
    return {
        "ttft-p95": (f"> {slo.ttft_p95_seconds:g}", hold),
        "error-rate": (f"> {slo.error_rate:g}", hold),
        "kv-cache-saturated": (f"> {slo.kv_cache_saturation:g}", hold),
        "capacity-exhausted": (
            f">= {entry.max_replicas * len(entry.versions())}",
            spec.capacity_exhausted_minutes * 60,
        ),
        "gpu-pods-pending": ("> 0", spec.pending_gpu_pod_minutes * 60),
        "gpus-idle": (f"[{spec.idle_gpu_minutes}m]", 300),
    }


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_every_serving_deployment_has_every_alert_with_the_stack_thresholds(stacks, stack):
    fleet, rules = stacks[stack]
    assert fleet.serving, "every example stack serves"
    for serving in fleet.serving:
        expected = thresholds(fleet, serving.name)
        for region in fleet.serving_regions(serving):
            for kind in SERVING_ALERTS:
                (rule,) = [
                    r
                    for r in rules
                    if (r.kind, r.region, r.serving) == (kind, region.region, serving.name)
                ]
                assert rule.cloud == region.cloud
                text, hold = expected[kind]
                assert text in rule.expr, (kind, rule.expr)
                assert rule.for_seconds == hold, kind
                # The query watches this deployment on this region's cluster only.
                assert f'namespace="{serving.name}"' in rule.expr
                assert f'cluster="{fleet.name}-{region.region}"' in rule.expr


def test_a_serving_override_reaches_only_its_entry(stacks):
    fleet, rules = stacks["prod-gcp"]
    ttft = {(r.serving, r.region): r.expr for r in rules if r.kind == "ttft-p95"}
    assert fleet.observability.slo("chat-large").ttft_p95_seconds == 4
    assert ttft[("chat-large", "us-central1")].endswith("> 4")
    assert ttft[("chat", "us-central1")].endswith("> 2")


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_every_gpu_region_alerts_on_xid_errors(stacks, stack):
    fleet, rules = stacks[stack]
    for region in fleet.regions:
        if not any(p.accelerator.startswith("nvidia-") for p in region.cluster.gpu_pools):
            continue
        (rule,) = [r for r in rules if r.kind in REGION_ALERTS and r.region == region.region]
        assert rule.expr.startswith("DCGM_FI_DEV_XID_ERRORS{")
        assert rule.labels["severity"] == "page"


def test_stock_out_alerts_name_the_pool_and_its_zones(stacks):
    fleet, rules = stacks["prod-gcp"]
    (rule,) = [
        r
        for r in rules
        if (r.kind, r.serving, r.region) == ("gpu-pods-pending", "chat", "europe-west4")
    ]
    region = next(r for r in fleet.regions if r.region == "europe-west4")
    pool = fleet.serving_pool(fleet.serving[0], region)
    assert rule.labels["pool"] == "l4"
    assert rule.labels["zones"] == ",".join(region.pool_zones(pool))


def test_no_other_alert_kinds_exist(stacks):
    kinds = {r.kind for _, rules in stacks.values() for r in rules}
    assert kinds == set(ALERT_KINDS)


# --- published metric names ---------------------------------------------------------------


def _families(name: str) -> dict[str, str]:
    return yaml.safe_load((METRICS / name).read_text())["families"]


def _dcgm() -> dict[str, str]:
    rows = (METRICS / "dcgm-exporter" / "default-counters.csv").read_text().splitlines()
    lines = [row for row in rows if row.strip() and not row.startswith("#")]
    return {r[0].strip(): r[1].strip() for r in csv.reader(lines)}


PUBLISHED = {**_families("vllm.yaml"), **_families("kube-state-metrics.yaml"), **_dcgm()}
"""Every published metric family, by name, with its type."""

SELECTED = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\{")
"""A metric name in a query: every query selects its series with a label matcher."""


def unpublished(expr: str) -> list[str]:
    """The metric names ``expr`` reads that no vendored list publishes, as exposed on /metrics
    (a counter ``x`` is read as ``x_total``, a histogram ``x`` as ``x_bucket``, ``x_sum`` or
    ``x_count``)."""
    missing = []
    for name in SELECTED.findall(expr):
        candidates = [(name, {"gauge", "counter", "summary", "histogram"})]
        candidates.append((name.removesuffix("_total"), {"counter"}))
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix):
                candidates.append((name.removesuffix(suffix), {"histogram", "summary"}))
        if not any(PUBLISHED.get(base) in kinds for base, kinds in candidates):
            missing.append(name)
    return missing


def test_the_name_check_catches_renamed_and_retyped_metrics():
    assert unpublished('vllm:gpu_cache_usage_perc{cluster="c"} > 0.9') == [
        "vllm:gpu_cache_usage_perc"
    ]
    assert unpublished('rate(vllm:num_requests_waiting_bucket{cluster="c"}[5m])') == [
        "vllm:num_requests_waiting_bucket"
    ]
    assert unpublished('rate(vllm:prompt_tokens_total{cluster="c"}[5m])') == []


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_every_alert_query_names_published_metrics(stacks, stack):
    _, rules = stacks[stack]
    for rule in rules:
        assert SELECTED.findall(rule.expr), rule.expr
        assert unpublished(rule.expr) == [], (rule.kind, rule.expr)


def test_rule_groups_are_a_prometheus_rule_file(stacks):
    fleet, _ = stacks["dev"]
    region = fleet.regions[0]
    document = yaml.safe_load(rule_groups("g", alerts(fleet, region, "c")))
    (group,) = document["groups"]
    assert group["name"] == "g" and group["interval"] == "60s"
    for rule in group["rules"]:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}
        assert re.fullmatch(r"[a-z0-9-]+", rule["alert"])
        assert rule["labels"]["severity"] in ("page", "ticket")


# --- uptime checks --------------------------------------------------------------------------


def test_endpoints_are_the_global_name_and_every_routed_region(stacks):
    fleet, _ = stacks["hybrid"]
    assert fleet.routing.domain == "llm.example.com"
    # vLLM's /health of an always-on entry, through each region's gateway route.
    assert endpoints(fleet) == [
        Endpoint("global", "llm.example.com", "/chat/health"),
        Endpoint("us-east-1", "us-east-1.llm.example.com", "/chat/health"),
        Endpoint("us-central1", "us-central1.llm.example.com", "/chat/health"),
    ]
    prod, _ = stacks["prod-gcp"]
    assert endpoints(prod) == []  # no routing.domain: nothing to probe


def test_an_endpoint_serving_only_scale_to_zero_entries_is_checked_on_tcp(stacks):
    fleet, _ = stacks["dev"]
    routed = fleet.model_copy(
        update={
            "routing": fleet.routing.model_copy(
                update={"domain": "llm.example.com", "zone": "Z0123456789ABCDEFGHIJ"}
            )
        }
    )
    assert fleet.serving[0].min_replicas == 0
    assert {e.path for e in endpoints(routed)} == {None}


def test_gcp_probes_a_mixed_fleet_and_aws_an_aws_only_one():
    assert uptime_checker(["aws", "gcp"]) == "gcp"
    assert uptime_checker(["aws"]) == "aws"
    assert uptime_checker([]) is None

"""The fleet's alerts, as each cloud's rule engine receives them: every serving deployment of
every example stack is covered by every alert with the stack file's thresholds, and every query
names only metrics the model server, DCGM exporter, kube-state-metrics or Karpenter publish
(tests/metrics), or the log-based metric the fleet itself creates."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from llmfleet.components.observability import (
    ALERT_KINDS,
    SERVING_ALERTS,
    SIGNALS,
    SPOT_INTERRUPTION_BURST,
    Endpoint,
    alerts,
    endpoints,
    fleet_panels,
    gke_preemption_filter,
    has_spot,
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
LOG_METRIC = "gcp:logging/metric:Metric"


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


def created_metrics(recording) -> set[str]:
    """The PromQL names of the log-based metrics a recording creates."""
    return {
        f"logging_googleapis_com:user_{m.inputs['name']}" for m in recording.of_type(LOG_METRIC)
    }


CREATED: set[str] = set()
"""Log-based metrics the example stacks create (filled by ``stacks``)."""


@pytest.fixture(scope="module")
def stacks() -> dict[str, tuple[FleetSpec, list[BuiltRule]]]:
    project = find_project(REPO)
    found = {}
    for name in EXAMPLE_STACKS:
        stack = load_stack(project, name)
        recording = run_program(project, stack)
        CREATED.update(created_metrics(recording))
        found[name] = (stack.fleet, built_rules(recording))
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
def test_every_eks_gpu_region_alerts_on_xid_errors_and_no_gke_region_does(stacks, stack):
    fleet, rules = stacks[stack]
    for region in fleet.regions:
        xid = [r for r in rules if r.kind == "xid-errors" and r.region == region.region]
        nvidia = any(p.accelerator.startswith("nvidia-") for p in region.cluster.gpu_pools)
        if region.cloud == "gcp" or not nvidia:
            # GKE's managed DCGM package exports no XID field: no alert that could never fire.
            assert xid == [], region.region
            continue
        (rule,) = xid
        assert rule.expr.startswith("DCGM_FI_DEV_XID_ERRORS{")
        assert rule.labels["severity"] == "page"


def test_xid_errors_are_an_eks_only_signal():
    assert SIGNALS["xid-errors"] == ("aws",)
    assert "DCGM_FI_DEV_XID_ERRORS" in PUBLISHED  # the EKS exporter's default counters


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_every_spot_region_tickets_a_burst_of_spot_interruptions(stacks, stack):
    fleet, rules = stacks[stack]
    for region in fleet.regions:
        found = [r for r in rules if r.kind == "spot-interruptions" and r.region == region.region]
        if not has_spot(region) or not any(
            region in fleet.serving_regions(s) for s in fleet.serving
        ):
            assert found == [], region.region
            continue
        (rule,) = found
        assert rule.cloud == region.cloud
        assert rule.expr.endswith(f"[1h])) >= {SPOT_INTERRUPTION_BURST}")
        assert rule.labels["severity"] == "ticket"
        if region.cloud == "aws":
            # Karpenter's two-minute warnings, of this region's cluster only.
            assert "karpenter_interruption_received_messages_total{" in rule.expr
            assert f'cluster="{fleet.name}-{region.region}"' in rule.expr
            assert 'message_type="spot_interrupted"' in rule.expr
        else:
            # Compute Engine's preemption events in this region's zones.
            assert (
                f"logging_googleapis_com:user_{fleet.name.replace('-', '_')}_gke_spot" in rule.expr
            )
            assert f'zone=~"{region.region}-.*"' in rule.expr


def test_the_preemption_metric_counts_gke_node_preemptions_in_the_fleets_gke_regions(stacks):
    fleet, _ = stacks["hybrid"]
    text = gke_preemption_filter(fleet)
    assert 'protoPayload.methodName="compute.instances.preempted"' in text
    assert 'resource.type="gce_instance"' in text
    assert 'protoPayload.resourceName:"/instances/gke-"' in text
    assert text.endswith('resource.labels.zone=~"^(us-central1)-"')


def test_the_fleet_view_shows_gpu_memory_and_temperature_on_both_clouds(stacks):
    fleet, _ = stacks["hybrid"]
    for cloud in ("aws", "gcp"):
        panels = {p.title: p for p in fleet_panels(fleet, cloud, ["c1", "c2"])}
        memory = panels["GPU memory in use (fullest GPU)"]
        assert memory.queries == (
            'max by (cluster) (DCGM_FI_DEV_FB_USED{cluster=~"c1|c2"} / '
            '(DCGM_FI_DEV_FB_USED{cluster=~"c1|c2"} + DCGM_FI_DEV_FB_FREE{cluster=~"c1|c2"}))',
        )
        assert memory.unit == "1"
        temperature = panels["GPU temperature (hottest GPU)"]
        assert temperature.queries == ('max by (cluster) (DCGM_FI_DEV_GPU_TEMP{cluster=~"c1|c2"})',)
        assert temperature.unit == "Cel"


def test_capacity_panels_follow_what_each_cloud_exports(stacks):
    fleet, _ = stacks["hybrid"]
    aws = {p.title: p.queries for p in fleet_panels(fleet, "aws", ["c-aws"])}
    gcp = {p.title: p.queries for p in fleet_panels(fleet, "gcp", ["c-gcp"])}
    (eks_nodes,) = aws["accelerator nodes by capacity type"]
    (gke_nodes,) = gcp["accelerator nodes by capacity type"]
    # One output on both clouds: nodes (counted once each) per cluster and capacity_type.
    assert eks_nodes.startswith("count by (cluster, capacity_type) (count by (cluster, capacity")
    assert 'karpenter_nodes_allocatable{cluster=~"c-aws",managed="true"' in eks_nodes
    assert gke_nodes.startswith("count by (cluster, capacity_type) (label_replace(label_replace(")
    assert 'kube_node_labels{cluster=~"c-gcp",label_llmfleet_io_pool!="system"}' in gke_nodes
    assert '"capacity_type", "on-demand", "label_cloud_google_com_gke_spot", "")' in gke_nodes
    assert '"capacity_type", "spot", "label_cloud_google_com_gke_spot", "true")' in gke_nodes
    assert "GPU XID errors" in aws and "GPU XID errors" not in gcp
    (aws_spot,) = aws["spot interruptions per 1h"]
    (gcp_spot,) = gcp["spot interruptions per 1h"]
    assert aws_spot.startswith("sum by (cluster) (increase(karpenter_interruption_received")
    assert gcp_spot.startswith("sum by (zone) (increase(logging_googleapis_com:user_llm_hybrid_")


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


PUBLISHED = {
    **_families("vllm.yaml"),
    **_families("kube-state-metrics.yaml"),
    **_families("karpenter.yaml"),
    **_dcgm(),
}
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
        if name in CREATED:
            continue  # a log-based metric the fleet creates (a counter)
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
    assert unpublished('increase(logging_googleapis_com:user_made_up{zone="z"}[1h])') == [
        "logging_googleapis_com:user_made_up"
    ]


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
    # vLLM's /health of an always-on entry, through each region's gateway route, and an API
    # path of the same entry that needs the key.
    assert endpoints(fleet) == [
        Endpoint("global", "llm.example.com", "/chat/health", "/chat/v1/models"),
        Endpoint("us-east-1", "us-east-1.llm.example.com", "/chat/health", "/chat/v1/models"),
        Endpoint("us-central1", "us-central1.llm.example.com", "/chat/health", "/chat/v1/models"),
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
    assert {(e.path, e.api_path) for e in endpoints(routed)} == {(None, None)}


def test_gcp_probes_a_mixed_fleet_and_aws_an_aws_only_one():
    assert uptime_checker(["aws", "gcp"]) == "gcp"
    assert uptime_checker(["aws"]) == "aws"
    assert uptime_checker([]) is None

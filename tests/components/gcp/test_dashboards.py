"""Cloud Monitoring dashboards as code: a fleet view and one per serving entry, PromQL over
Managed Service for Prometheus, every query naming published metrics."""

from __future__ import annotations

import json

import pytest

from llmfleet.components.gcp.cluster import cluster_name
from llmfleet.components.observability import replica_usd_per_hour
from llmfleet.plan import run_program
from llmfleet.stackfile import find_project, load_stack
from tests.components.test_observability import CREATED, SELECTED, created_metrics, unpublished
from tests.conftest import REPO

DASHBOARD = "gcp:monitoring/dashboard:Dashboard"
MODEL_CHARTS = (
    "time to first token p50 / p95 / p99",
    "time per output token p50 / p95 / p99",
    "end-to-end latency p50 / p95 / p99",
    "tokens per second (prompt, generated)",
    "queue depth and replicas",
    "KV-cache use (max replica)",
    "GPU utilisation of its clusters",
    "cost per hour (USD, replicas x catalog price)",
    "cost per million generated tokens (USD)",
)


@pytest.fixture(scope="module")
def stacks():
    project = find_project(REPO)
    found = {}
    for name in ("prod-gcp", "hybrid"):
        stack = load_stack(project, name)
        recording = run_program(project, stack)
        CREATED.update(created_metrics(recording))
        found[name] = (stack.fleet, recording)
    return found


def layouts(recording) -> dict[str, dict]:
    return {
        json.loads(r.inputs["dashboardJson"])["displayName"]: json.loads(r.inputs["dashboardJson"])
        for r in recording.of_type(DASHBOARD)
    }


def charts(layout: dict) -> dict[str, list[str]]:
    """Chart title -> its PromQL queries."""
    found = {}
    for tile in layout["mosaicLayout"]["tiles"]:
        widget = tile["widget"]
        found[widget["title"]] = [
            d["timeSeriesQuery"]["prometheusQuery"]
            for d in widget["xyChart"]["dataSets"]
            if "prometheusQuery" in d["timeSeriesQuery"]
        ]
    return found


def test_a_fleet_view_and_one_dashboard_per_model(stacks):
    _, rec = stacks["prod-gcp"]
    assert set(layouts(rec)) == {"llm-prod fleet", "llm-prod chat", "llm-prod chat-large"}


def test_model_dashboards_chart_latency_throughput_capacity_and_cost(stacks):
    _, rec = stacks["prod-gcp"]
    found = charts(layouts(rec)["llm-prod chat-large"])
    assert tuple(found) == MODEL_CHARTS
    # One line per region (cluster) for latency; p50, p95 and p99.
    ttft = found["time to first token p50 / p95 / p99"]
    assert [q.split(",")[0] for q in ttft] == [
        "histogram_quantile(0.5",
        "histogram_quantile(0.95",
        "histogram_quantile(0.99",
    ]
    assert all("sum by (le, cluster)" in q for q in ttft)


def test_cost_lines_price_replicas_from_the_catalog(stacks):
    fleet, rec = stacks["prod-gcp"]
    serving = next(s for s in fleet.serving if s.name == "chat-large")
    cost = charts(layouts(rec)["llm-prod chat-large"])[
        "cost per hour (USD, replicas x catalog price)"
    ]
    for region, query in zip(fleet.serving_regions(serving), cost, strict=True):
        price = replica_usd_per_hour(fleet, serving, region)
        assert price > 0
        assert query == (
            f'count(vllm:num_requests_running{{cluster="{cluster_name(fleet, region)}",'
            f'namespace="chat-large"}}) * {price:.4f}'
        )


def test_the_fleet_view_of_a_mixed_fleet_covers_its_gke_clusters_and_endpoints(stacks):
    _, rec = stacks["hybrid"]
    layout = layouts(rec)["llm-hybrid fleet"]
    found = charts(layout)
    # Preemptions are counted per zone by the fleet's own log-based metric (GKE zones only).
    (spot,) = found.pop("spot interruptions per 1h")
    assert spot.startswith("sum by (zone) (increase(logging_googleapis_com:user_llm_hybrid_gke")
    queries = [q for qs in found.values() for q in qs]
    assert all('cluster=~"llm-hybrid-us-central1"' in q for q in queries)
    # Signals GKE's managed collectors do not export are not charted there.
    assert "GPU XID errors" not in found
    (nodes,) = found["accelerator nodes by capacity type"]
    assert "kube_node_labels{" in nodes
    titles = [t["widget"]["title"] for t in layout["mosaicLayout"]["tiles"]]
    assert "endpoints: share of uptime checks passing" in titles


@pytest.mark.parametrize("stack", ["prod-gcp", "hybrid"])
def test_every_dashboard_query_names_published_metrics(stacks, stack):
    _, rec = stacks[stack]
    for layout in layouts(rec).values():
        for title, queries in charts(layout).items():
            for query in queries:
                assert SELECTED.findall(query), (title, query)
                assert unpublished(query) == [], (title, query)


def test_tiles_fit_the_grid(stacks):
    _, rec = stacks["prod-gcp"]
    for layout in layouts(rec).values():
        columns = layout["mosaicLayout"]["columns"]
        assert columns <= 48
        for tile in layout["mosaicLayout"]["tiles"]:
            assert tile["xPos"] + tile["width"] <= columns

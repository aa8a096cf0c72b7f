"""The cloud-neutral Grafana renderer: panels become time series panels whose queries go to the
data sources holding the clusters they select, across clouds through the Mixed data source."""

from __future__ import annotations

import pytest

from llmfleet.components.grafana_dashboards import (
    AMAZON_PROMETHEUS,
    CLOUD_MONITORING,
    MIXED,
    UID_MAX,
    DataSource,
    dashboard,
    grafana_host,
    legend,
    panel,
    selected_clusters,
    sources_of,
    uid,
)
from llmfleet.components.observability import Dashboard, Panel

EAST = DataSource(
    "f aws us-east-1", AMAZON_PROMETHEUS, "f-amp-us-east-1", "aws", {"us-east-1": "f-us-east-1"}
)
WEST = DataSource(
    "f aws us-west-2", AMAZON_PROMETHEUS, "f-amp-us-west-2", "aws", {"us-west-2": "f-us-west-2"}
)
GKE = DataSource(
    "f gcp p",
    CLOUD_MONITORING,
    "f-gmp",
    "gcp",
    {"us-central1": "f-us-central1", "europe-west4": "f-europe-west4"},
    project="p",
)
ALL = (EAST, WEST, GKE)


def test_clusters_are_read_from_equality_and_regex_matchers():
    assert selected_clusters('up{cluster="a"}') == {"a"}
    assert selected_clusters('x{cluster=~"a|b"} / y{cluster="c"}') == {"a", "b", "c"}
    assert selected_clusters("sum(x)") is None


def test_a_query_goes_to_the_sources_holding_its_clusters():
    assert sources_of('x{cluster="f-us-west-2"}', ALL) == [WEST]
    assert sources_of('x{cluster=~"f-us-east-1|f-europe-west4"}', ALL) == [EAST, GKE]
    assert sources_of("x", ALL) == list(ALL)
    assert sources_of('x{cluster="elsewhere"}', ALL) == []


def test_a_panel_of_one_source_uses_it_and_one_spanning_several_is_mixed():
    single = panel(Panel("t", ('x{cluster="f-us-east-1"}',), "s"), ALL, 1, 0, 0)
    assert single["datasource"] == {"type": AMAZON_PROMETHEUS, "uid": "f-amp-us-east-1"}
    spread = panel(
        Panel("t", ('x{cluster=~"f-us-east-1|f-us-west-2|f-us-central1"}',)), ALL, 4, 12, 8
    )
    assert spread["datasource"] == MIXED
    assert [t["datasource"]["uid"] for t in spread["targets"]] == [s.uid for s in ALL]
    assert spread["type"] == "timeseries"
    assert spread["gridPos"] == {"x": 12, "y": 8, "w": 12, "h": 8}


def test_target_ids_are_unique_in_a_panel():
    queries = tuple(f'x{{cluster=~"f-us-east-1|f-us-west-2",n="{i}"}}' for i in range(20))
    ids = [t["refId"] for t in panel(Panel("t", queries), ALL, 1, 0, 0)["targets"]]
    assert len(ids) == 40 == len(set(ids))


def test_cloud_monitoring_targets_are_promql_queries_in_the_project():
    (target,) = panel(Panel("t", ('x{cluster="f-us-central1"}',)), ALL, 1, 0, 0)["targets"]
    assert target["queryType"] == "promQL"
    assert target["promQLQuery"] == {
        "projectName": "p",
        "expr": 'x{cluster="f-us-central1"}',
        "step": "60s",
    }
    assert target["datasource"] == {"type": CLOUD_MONITORING, "uid": "f-gmp"}


def test_legends_name_the_cluster_the_serving_entry_and_the_cloud():
    assert legend('sum by (cluster, namespace) (x{cluster=~"a|b"})', EAST) == (
        "{{cluster}} {{namespace}} (aws)"
    )
    assert legend('count(x{cluster="f-us-west-2",namespace="chat"}) * 2', WEST) == (
        "f-us-west-2 (aws)"
    )
    assert legend("sum(x)", EAST) == "f aws us-east-1 (aws)"


def test_a_panel_no_source_can_answer_is_refused_naming_it():
    with pytest.raises(ValueError, match="panel 'lost' selects clusters no data source holds"):
        panel(Panel("lost", ('x{cluster="nowhere"}',)), ALL, 1, 0, 0)


def test_units_map_to_grafana_ids_and_others_show_as_a_suffix():
    def unit(u: str) -> str:
        return panel(Panel("t", ("x",), u), ALL, 1, 0, 0)["fieldConfig"]["defaults"]["unit"]

    assert [unit(u) for u in ("s", "%", "1", "USD/h", "Cel")] == [
        "s",
        "percent",
        "percentunit",
        "currencyUSD",
        "celsius",
    ]
    assert unit("tok") == "suffix: tok"


def test_dashboards_are_read_only_and_number_their_panels():
    board = Dashboard("title", ((None, (Panel("a", ("x",)), Panel("b", ("y",)))),))
    rendered = dashboard("u", board, ALL, ["z", "a"])
    assert rendered["editable"] is False
    assert rendered["tags"] == ["a", "z"]
    assert [p["id"] for p in rendered["panels"]] == [1, 2]
    assert [p["gridPos"]["x"] for p in rendered["panels"]] == [0, 12]


def test_sections_per_cloud_get_a_row_each_and_read_only_their_clouds_sources():
    charts = (Panel("a", ("x",)), Panel("b", ("y",)), Panel("c", ("z",)))
    board = Dashboard("fleet", (("aws", charts), ("gcp", charts[:1])))
    rendered = dashboard("u", board, ALL)["panels"]
    rows = [p for p in rendered if p["type"] == "row"]
    assert [(r["title"], r["gridPos"]["y"]) for r in rows] == [("aws", 0), ("gcp", 17)]
    aws, gcp = rendered[1:4], rendered[5:]
    assert all({t["datasource"]["uid"] for t in p["targets"]} == {EAST.uid, WEST.uid} for p in aws)
    assert [t["datasource"]["uid"] for p in gcp for t in p["targets"]] == [GKE.uid]
    assert [p["gridPos"]["y"] for p in rendered[1:4]] == [1, 1, 9]
    assert len({p["id"] for p in rendered}) == len(rendered)


def test_uids_fit_grafana_and_stay_distinct():
    long = [uid("a-very-long-fleet-name", "serving", f"entry-number-{i}") for i in range(3)]
    assert all(len(u) <= UID_MAX for u in long)
    assert len(set(long)) == 3


def test_grafana_runs_on_aws_whenever_the_fleet_serves_there():
    assert grafana_host(["gcp", "aws"]) == "aws"
    assert grafana_host(["aws"]) == "aws"
    assert grafana_host(["gcp"]) is None

"""The fleet's charts as Grafana dashboards: ``observability.Panel`` lists rendered as dashboard
JSON, each query sent to the data sources that hold the clusters it selects.

Cloud-neutral: a data source is described by its Grafana type, the cloud and the clusters whose
series it holds. Amazon Managed Service for Prometheus keeps one workspace per EKS region, so an
AWS fleet has one data source per region; Google Managed Service for Prometheus keeps every GKE
cluster of the project in one place, read through Grafana's Cloud Monitoring data source with
PromQL queries. A panel whose queries reach one data source uses it; a panel spanning several
uses Grafana's ``-- Mixed --`` data source with one target per (query, data source). Every query
of llmfleet's panels selects its clusters by the ``cluster`` label and groups by it, so
splitting a query across data sources loses nothing. Legends name the cluster (its region) and
the cloud.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmfleet.components.naming import fit_name
from llmfleet.components.observability import RATE_WINDOW, Dashboard, Panel

AMAZON_PROMETHEUS = "grafana-amazonprometheus-datasource"
"""Grafana's Amazon Managed Service for Prometheus data source (SigV4 built in); Amazon Managed
Grafana 12 replaced the core Prometheus data source's SigV4 option with it."""

CLOUD_MONITORING = "stackdriver"
"""Grafana's Google Cloud Monitoring data source (its type keeps the old product name)."""

MIXED = {"type": "datasource", "uid": "-- Mixed --"}
"""Grafana's data source of a panel whose targets name their own data sources."""

UID_MAX = 40
"""Grafana refuses dashboard and data source uids longer than 40 characters."""

SCHEMA_VERSION = 39
"""The dashboard schema written here (Grafana 10.4); newer Grafana migrates it on load."""

PANEL_WIDTH = 12
"""Half of the dashboard grid's 24 columns: two charts per row."""
PANEL_HEIGHT = 8

PROMQL_STEP = "60s"
"""Minimum step of Cloud Monitoring PromQL queries: the collectors scrape every 15 to 30 s,
and the panels' rates and quantiles are over ``RATE_WINDOW``."""

UNITS = {
    "s": "s",
    "%": "percent",
    "1": "percentunit",
    "1/s": "short",
    "USD/h": "currencyUSD",
    "USD": "currencyUSD",
    "Cel": "celsius",
    "": "short",
}
"""Grafana unit ids of the panels' units; any other unit is shown as a suffix."""

GRAFANA_HOSTS = ("aws",)
"""Clouds that run the fleet's Grafana (Amazon Managed Grafana), in order of preference. A
fleet with no AWS serving region keeps Cloud Monitoring's own dashboards as its one place to
look; one with AWS regions gets Grafana, whose dashboards cover its GCP regions too."""


def grafana_host(clouds: Iterable[str]) -> str | None:
    """The cloud (of ``clouds``, those the fleet serves from) running its Grafana, if any."""
    serving = set(clouds)
    return next((c for c in GRAFANA_HOSTS if c in serving), None)


_CLUSTERS = re.compile(r'cluster(=~|=)"([^"]*)"')
_GROUPED_BY = re.compile(r"\bby \(([^)]*)\)")


@dataclass(frozen=True)
class DataSource:
    """A Grafana data source the dashboards query."""

    name: str
    """Its name in Grafana (unique in the workspace)."""
    type: str
    """``AMAZON_PROMETHEUS`` or ``CLOUD_MONITORING``."""
    uid: str
    """Its uid, which dashboards reference (at most ``UID_MAX`` characters)."""
    cloud: str
    """The cloud whose clusters it reads."""
    clusters: Mapping[str, str] = field(hash=False)
    """The regions whose series it holds and their clusters (the ``cluster`` label values)."""
    project: str | None = None
    """The GCP project a Cloud Monitoring PromQL query runs in; None for other types."""

    @property
    def ref(self) -> dict[str, str]:
        """How a panel or target names it."""
        return {"type": self.type, "uid": self.uid}


def uid(*parts: str) -> str:
    """A Grafana uid from ``parts``: stable, unique per input, at most ``UID_MAX`` characters."""
    return fit_name("-".join(parts), UID_MAX)


def selected_clusters(query: str) -> set[str] | None:
    """The clusters a query selects by its ``cluster`` matchers; None when it names none."""
    found: set[str] = set()
    matchers = _CLUSTERS.findall(query)
    for operator, value in matchers:
        found.update(value.split("|") if operator == "=~" else [value])
    return found if matchers else None


def sources_of(query: str, sources: Sequence[DataSource]) -> list[DataSource]:
    """The data sources holding a cluster ``query`` selects (all of them when it names none)."""
    clusters = selected_clusters(query)
    if clusters is None:
        return list(sources)
    return [s for s in sources if clusters & set(s.clusters.values())]


def legend(query: str, source: DataSource) -> str:
    """A line's legend: its cluster (which names the region), its serving entry where the query
    keeps it, and the cloud."""
    grouped = {label.strip() for by in _GROUPED_BY.findall(query) for label in by.split(",")}
    clusters = selected_clusters(query) or set()
    if "cluster" in grouped:
        name = "{{cluster}}"
    elif len(clusters) == 1:
        name = next(iter(clusters))
    else:
        name = source.name
    if "namespace" in grouped:
        name += " {{namespace}}"
    return f"{name} ({source.cloud})"


def target(query: str, source: DataSource, ref_id: str) -> dict[str, Any]:
    """One query sent to one data source, in that data source's query model."""
    if source.type == CLOUD_MONITORING:
        return {
            "refId": ref_id,
            "datasource": source.ref,
            "queryType": "promQL",
            "promQLQuery": {"projectName": source.project, "expr": query, "step": PROMQL_STEP},
        }
    return {
        "refId": ref_id,
        "datasource": source.ref,
        "editorMode": "code",
        "expr": query,
        "legendFormat": legend(query, source),
        "range": True,
    }


def _ref_id(index: int) -> str:
    """``A`` ... ``Z``, then ``A1`` ...: unique among a panel's targets."""
    return chr(ord("A") + index % 26) + (str(index // 26) if index >= 26 else "")


def panel(
    chart: Panel, sources: Sequence[DataSource], panel_id: int, x: int, y: int
) -> dict[str, Any]:
    """A time series panel of ``chart`` at (``x``, ``y``) on the dashboard's grid."""
    routes = [(query, source) for query in chart.queries for source in sources_of(query, sources)]
    if not routes:
        raise ValueError(
            f"panel '{chart.title}' selects clusters no data source holds "
            f"(data sources: {', '.join(s.name for s in sources) or 'none'})"
        )
    used = list(dict.fromkeys(source for _, source in routes))
    return timeseries(
        chart.title,
        used[0].ref if len(used) == 1 else MIXED,
        [target(q, s, _ref_id(i)) for i, (q, s) in enumerate(routes)],
        {"unit": UNITS.get(chart.unit, f"suffix: {chart.unit}")},
        panel_id,
        {"x": x, "y": y, "w": PANEL_WIDTH, "h": PANEL_HEIGHT},
    )


def timeseries(
    title: str,
    datasource: Mapping[str, str],
    targets: list[dict[str, Any]],
    field_defaults: Mapping[str, Any],
    panel_id: int,
    grid: Mapping[str, int],
) -> dict[str, Any]:
    """A time series panel of ``targets`` (in ``datasource``'s query model) at ``grid``."""
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "gridPos": dict(grid),
        "datasource": dict(datasource),
        "targets": targets,
        "fieldConfig": {"defaults": dict(field_defaults)},
        "options": {
            "legend": {"showLegend": True, "displayMode": "list", "placement": "bottom"},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def row(title: str, panel_id: int, y: int) -> dict[str, Any]:
    """A row header across the grid at ``y``: the panels below it, up to the next row, are its."""
    return {
        "id": panel_id,
        "type": "row",
        "title": title,
        "collapsed": False,
        "gridPos": {"x": 0, "y": y, "w": 2 * PANEL_WIDTH, "h": 1},
        "panels": [],
    }


def bottom(panels: Sequence[Mapping[str, Any]]) -> int:
    """The first free grid line below ``panels``."""
    return max((p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels), default=0)


def panels(board: Dashboard, sources: Sequence[DataSource]) -> list[dict[str, Any]]:
    """The dashboard's panels, two per row; with several sections, each under a row titled by
    its cloud, its charts reading that cloud's data sources only."""
    found: list[dict[str, Any]] = []
    y = 0
    for cloud, charts in board.sections:
        reachable = [s for s in sources if cloud is None or s.cloud == cloud]
        if len(board.sections) > 1:
            found.append(row(cloud or "all clouds", len(found) + 1, y))
            y += 1
        for i, chart in enumerate(charts):
            x, line = (i % 2) * PANEL_WIDTH, y + (i // 2) * PANEL_HEIGHT
            found.append(panel(chart, reachable, len(found) + 1, x, line))
        y += -(-len(charts) // 2) * PANEL_HEIGHT
    return found


def dashboard(
    dashboard_uid: str,
    board: Dashboard,
    sources: Sequence[DataSource],
    tags: Iterable[str] = (),
) -> dict[str, Any]:
    """``board`` over ``sources``: read-only in Grafana (the code is its source), in UTC, the
    last six hours refreshed every minute."""
    return {
        "uid": dashboard_uid,
        "title": board.title,
        "tags": sorted(set(tags)),
        "editable": False,
        "timezone": "utc",
        "schemaVersion": SCHEMA_VERSION,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "description": f"Rates and quantiles over {RATE_WINDOW}; generated by llmfleet.",
        "panels": panels(board, sources),
    }

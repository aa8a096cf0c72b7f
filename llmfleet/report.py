"""Terminal report of a plan: a summary first (resources by cloud and region, node pools,
policy result, cost against the budget), the resource tree and type counts on request."""

from __future__ import annotations

from collections import Counter, defaultdict

import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from llmfleet.components import catalog
from llmfleet.components.k8s.gateway import route_prefix
from llmfleet.components.k8s.serving import kubernetes_name
from llmfleet.components.observability import uptime_threshold
from llmfleet.components.spec import SYSTEM_POOL, FleetSpec, GpuPoolSpec, RegionSpec, ServingSpec
from llmfleet.costs import budget_summary
from llmfleet.plan import Plan
from llmfleet.recorder import RecordedResource


def _label(resource: RecordedResource, parent: RecordedResource | None) -> str:
    kind = resource.type.rsplit(":", 1)[-1]
    style = "bold" if not resource.custom else "default"
    protected = " [yellow](protected)[/]" if resource.protect else ""
    # Child names repeat their parent's name: show what they add to it.
    name = resource.name
    if parent is not None and name.startswith(f"{parent.name}-"):
        name = "…" + name[len(parent.name) :]
    return f"[{style}]{kind}[/] [dim]{escape(name)}[/]{protected}"


def resource_tree(plan: Plan) -> Tree:
    """Resources grouped by cloud and region, each group as its own parent tree."""
    groups: dict[tuple[str, str], list[RecordedResource]] = defaultdict(list)
    for r in plan.recording.resources:
        groups[(r.cloud or "multi-cloud", r.region or "global")].append(r)
    root = Tree(f"[bold]stack {plan.stack.name}[/] — {len(plan.recording.custom())} resources")
    for (cloud, region), members in sorted(groups.items()):
        custom = sum(1 for r in members if r.is_cloud_object)
        branch = root.add(f"[bold cyan]{cloud} {region}[/] ({custom} resources)")
        urns = {r.urn for r in members}
        nodes: dict[str, Tree] = {}
        for r in members:
            parent = plan.recording.by_urn.get(r.parent) if r.parent else None
            node = nodes.get(r.parent) if r.parent in urns else None
            nodes[r.urn] = (node or branch).add(_label(r, parent))
    return root


def region_counts(plan: Plan) -> Table:
    """How many resources each cloud and region gets, and how many of them are protected."""
    table = Table(title="resources by cloud and region", show_edge=False)
    for column in ("cloud / region", "resources", "protected"):
        table.add_column(column, justify="left" if column == "cloud / region" else "right")
    counts: Counter[tuple[str, str]] = Counter()
    protected: Counter[tuple[str, str]] = Counter()
    for r in plan.recording.custom():
        where = (r.cloud or "-", r.region or "global")
        counts[where] += 1
        protected[where] += r.protect
    for (cloud, region), count in sorted(counts.items()):
        table.add_row(f"{cloud} {region}", str(count), str(protected[(cloud, region)]))
    return table


def type_counts(plan: Plan) -> Table:
    """How many resources of each type, per cloud and region."""
    table = Table(title="resources by type", show_edge=False)
    table.add_column("cloud / region")
    table.add_column("type")
    table.add_column("count", justify="right")
    counts = Counter(
        (r.cloud or "-", r.region or "global", r.type) for r in plan.recording.custom()
    )
    for (cloud, region, type_), count in sorted(counts.items()):
        table.add_row(f"{cloud} {region}", type_, str(count))
    return table


def _zones(region: RegionSpec, zones: tuple[str, ...]) -> str:
    """Zones by their letter (``a, c``): the region is in the first column."""
    return ", ".join(zone.removeprefix(region.region).lstrip("-") for zone in zones)


def pool_zones_label(region: RegionSpec, pool: GpuPoolSpec) -> str:
    """Where a pool's nodes run; on AWS also the zone IDs offering its type, where known
    (zone names map to other physical zones in every account)."""
    zones = _zones(region, region.pool_zones(pool))
    offered = region.instance_type_for(pool).zones_in(region.region)
    if region.cloud == "aws" and offered:
        ids = ", ".join(zone_id.split("-")[-1] for zone_id in offered)
        return f"{zones} (zone IDs {ids})"
    return zones


def capacity_label(region: RegionSpec, pool: GpuPoolSpec) -> str:
    capacity = pool.capacity or "on-demand"
    if pool.reservation is not None:
        capacity = f"{capacity} {pool.reservation}"
    fallback = pool.capacity in ("spot", "reservation") and pool.on_demand_fallback
    if fallback and region.cloud == "aws":
        capacity += ", on-demand fallback"
    return capacity


def node_pools(plan: Plan) -> Table:
    """Every cluster's node pools with the instance / machine type they resolved to, their
    zones and how their nodes are obtained."""
    table = Table(title="node pools", show_edge=False)
    columns = ("cloud / region", "pool", "accelerators", "type", "nodes", "capacity", "zones")
    for column in columns:
        table.add_column(column)
    for region in plan.stack.fleet.regions:
        where = f"{region.cloud} {region.region}"
        system = region.cluster.system_pool
        system_type = system.instance_type or catalog.default_system_instance_type(region.cloud)
        nodes = f"{system.min_nodes}-{system.max_nodes}"
        zones = _zones(region, region.zone_names)
        table.add_row(where, SYSTEM_POOL, "-", system_type, nodes, "on-demand", zones)
        for pool in region.cluster.gpu_pools:
            chosen = region.instance_type_for(pool)
            low, high = region.pool_nodes(pool)  # a multi-host TPU slice is all its hosts
            table.add_row(
                where,
                pool.name,
                f"{chosen.accelerator_count} x {chosen.accelerator}",
                chosen.name,
                f"{low}-{high}",
                capacity_label(region, pool),
                pool_zones_label(region, pool),
            )
    return table


def serving(plan: Plan) -> Table:
    """Every serving entry: what it serves where, how it scales and how its model fits."""
    fleet = plan.stack.fleet
    table = Table(title="serving", show_edge=False)
    columns = ("model", "version", "regions", "pool", "replicas", "GPUs/replica", "fit margin")
    for column in (*columns, "canary", "URL"):
        table.add_column(column)
    for entry in fleet.serving:
        regions = fleet.serving_regions(entry)
        pool = fleet.serving_pool(entry, regions[0])
        margin = min(fleet.serving_fit(entry, r).margin_gib for r in regions)
        canary = f"{entry.canary.version} {entry.canary.weight}%" if entry.canary else "-"
        table.add_row(
            f"{entry.name}: {entry.model}",
            entry.version,
            ", ".join(r.region for r in regions),
            pool.name,
            f"{entry.idle_replicas}-{entry.max_replicas}"
            + (f" ({entry.on_demand_replicas} on-demand)" if entry.on_demand_replicas else ""),
            f"{entry.accelerators_per_replica(pool)} x {pool.accelerator}",
            f"{margin:.1f} GiB",
            canary,
            _url(fleet, entry),
        )
    return table


def _url(fleet: FleetSpec, entry: ServingSpec) -> str:
    """The OpenAI base URL of a serving entry: through the global name when routing has one,
    else the stable version's Service inside the cluster."""
    if fleet.routing.domain is not None:
        return f"https://{fleet.routing.domain}{route_prefix(entry.name)}/v1"
    return f"in-cluster {entry.name}-{kubernetes_name(entry.version)}.{entry.name}:8000"


RULE_GROUPS = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"
ALERT_POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
ALERT_MANAGER = "aws:amp/alertManagerDefinition:AlertManagerDefinition"
UPTIME_CHECK = "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig"
GRAFANA_WORKSPACE = "aws:grafana/workspace:Workspace"
GRAFANA_DASHBOARD = "grafana:oss/dashboard:Dashboard"
GRAFANA_DATA_SOURCE = "grafana:oss/dataSource:DataSource"
MONITORING_DASHBOARD = "gcp:monitoring/dashboard:Dashboard"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def _built_alerts(plan: Plan) -> list[tuple[dict[str, str], bool]]:
    """Every alert the plan builds, as its rule labels, and whether it notifies anyone: the
    AMP rule groups' rules (routed when the region's workspace has an Alertmanager) and the
    Cloud Monitoring PromQL policies (routed when they name a channel)."""
    recording = plan.recording
    routed = {r.region for r in recording.of_type(ALERT_MANAGER)}
    found = []
    for namespace in recording.of_type(RULE_GROUPS):
        for group in yaml.safe_load(namespace.inputs["data"])["groups"]:
            found += [(rule["labels"], namespace.region in routed) for rule in group["rules"]]
    for policy in recording.of_type(ALERT_POLICY):
        condition = policy.inputs["conditions"][0].get("conditionPrometheusQueryLanguage")
        if condition is not None:
            found.append((condition["labels"], bool(policy.inputs.get("notificationChannels"))))
    return found + _uptime_alerts(plan)


def _uptime_alerts(plan: Plan) -> list[tuple[dict[str, str], bool]]:
    """The endpoint-down alert of every uptime check: Cloud Monitoring's, and the CloudWatch
    alarms on the regional entry's Route 53 health checks."""
    recording = plan.recording
    probed = [
        ("gcp", c.inputs["monitoredResource"]["labels"]["host"])
        for c in recording.of_type(UPTIME_CHECK)
    ]
    # Route 53's checks of a region (several serving entries: a calculated check) by their alarm.
    probed += [
        ("aws", alarm.inputs["alarmDescription"].split(":")[0])
        for alarm in recording.of_type(METRIC_ALARM)
        if alarm.inputs.get("namespace") == "AWS/Route53"
    ]
    fleet = plan.stack.fleet
    labels = {
        "region": "global",
        "alert_kind": "endpoint-down",
        "threshold": uptime_threshold(fleet),
        "severity": "page",
    }
    routed = fleet.observability.notify is not None
    return [({**labels, "cloud": cloud, "serving": host}, routed) for cloud, host in probed]


def _channel(plan: Plan) -> str:
    notify = plan.stack.fleet.observability.notify
    return f"{notify.kind} {notify.target}" if notify else "no channel (console only)"


def alerts_summary(plan: Plan) -> str | None:
    """One line: how many alerts, and where they go."""
    found = _built_alerts(plan)
    if not found:
        return None
    notify = plan.stack.fleet.observability.notify
    where = f"to {notify.kind} {notify.target}" if notify else "no notification channel"
    return f"alerts: {len(found)}, {where} (`llmfleet plan {plan.stack.name} --alerts` lists them)"


def dashboards_summary(plan: Plan) -> str | None:
    """One line: where the fleet's dashboards are (its one place to look)."""
    recording = plan.recording
    workspaces = recording.of_type(GRAFANA_WORKSPACE)
    if workspaces:
        sources = sorted(r.inputs["name"] for r in recording.of_type(GRAFANA_DATA_SOURCE))
        where = ", ".join(f"{w.inputs['name']} in {w.region}" for w in workspaces)
        return (
            f"dashboards: Amazon Managed Grafana {where} (sign-in through IAM Identity Center), "
            f"{len(recording.of_type(GRAFANA_DASHBOARD))} dashboards over "
            f"{', '.join(sources)}"
        )
    boards = recording.of_type(MONITORING_DASHBOARD)
    if boards:
        projects = sorted({b.inputs["project"] for b in boards})
        return f"dashboards: Cloud Monitoring, {len(boards)} in project {', '.join(projects)}"
    return None


def alerts_table(plan: Plan) -> Table:
    """Every alert with its threshold and channel, by cloud, region and serving entry."""
    table = Table(title="alerts", show_edge=False)
    for column in ("cloud / region", "watches", "alert", "threshold", "severity", "channel"):
        table.add_column(column)
    channel = _channel(plan)
    rows = sorted(
        (
            f"{labels['cloud']} {labels['region']}",
            labels.get("serving", "-"),
            labels["alert_kind"],
            labels["threshold"],
            labels["severity"],
            channel if routed else "no channel (console only)",
        )
        for labels, routed in _built_alerts(plan)
    )
    for row in rows:
        table.add_row(*row)
    return table


def print_report(
    plan: Plan,
    console: Console,
    *,
    tree: bool = False,
    types: bool = False,
    alerts: bool = False,
) -> None:
    """The plan as a person reads it: the summary, with the tree, type counts and the alert
    table on request."""
    if tree:
        console.print(resource_tree(plan))
    else:
        total = len(plan.recording.custom())
        console.print(f"[bold]stack {plan.stack.name}[/]: {total} resources", highlight=False)
    console.print(region_counts(plan))
    if types:
        console.print(type_counts(plan))
    console.print(node_pools(plan))
    if plan.stack.fleet.serving:
        console.print(serving(plan))
    if alerts:
        console.print(alerts_table(plan))
    else:
        summary = alerts_summary(plan)
        if summary is not None:
            console.print(summary, highlight=False, markup=False)
    where = dashboards_summary(plan)
    if where is not None:
        console.print(where, highlight=False, markup=False)
    if plan.violations:
        # Grouped by rule: one heading per rule, its level, then each resource it flags.
        by_rule: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
        for v in plan.violations:
            by_rule[(v["policy"], v["level"])].append(v)
        console.print(f"[bold]policy violations[/] ({len(plan.violations)}):")
        for (rule, level), found in by_rule.items():
            style = "red" if level == "mandatory" else "yellow"
            console.print(f"[{style}]{level}[/] [bold]{escape(rule)}[/] ({len(found)}):")
            for v in found:
                resource = v.get("urn", "").rsplit("::", 1)[-1]
                console.print(f"  {escape(resource)}: {escape(v['message'])}", highlight=False)
    else:
        console.print("[green]policy: no violations[/]")
    unpriced = len(plan.estimate.unpriced)
    if unpriced:
        console.print(f"{unpriced} unpriced items (see `llmfleet cost {plan.stack.name}`)")
    console.print(budget_summary(plan.estimate))

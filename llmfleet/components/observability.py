"""What the fleet alerts on, written once as PromQL for both clouds' managed Prometheus.

Every serving entry in every region it runs in gets the same alerts, with the stack file's
thresholds (``fleet.observability``, per-entry overrides applied); every region with spot pools
gets a burst of spot interruptions, and every EKS region its GPUs' XID errors (GKE's managed
DCGM exporter does not export them: ``SIGNALS``). An alert is a Prometheus alerting rule: Google
Cloud Monitoring evaluates it as a PromQL alert policy over Managed Service for Prometheus,
Amazon Managed Service for Prometheus as a rule in the region's workspace. Only the rendering
differs (llmfleet/components/gcp/monitoring.py, llmfleet/components/aws/monitoring.py); the
queries are the same.

With ``routing.domain``, the global endpoint and every serving region's ``<region>.<domain>``
are probed from several locations (``endpoints``, ``uptime_checker``) and page when they fail.

Queries select a region by the ``cluster`` label (GKE's managed collection sets it; the AMP
scraper's configuration adds it) and a serving entry by its namespace, which is the entry's
name on every cluster. They read only what vLLM, DCGM exporter and kube-state-metrics export
(tests/metrics lists them), plus Karpenter's controller metrics on EKS and, on GKE, a
log-based metric llmfleet creates (``gke_preemption_metric``). A signal one cloud's managed
collectors do not export is left out on that cloud, never queried in vain: ``SIGNALS`` says
which cloud has which.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from llmfleet.components import catalog
from llmfleet.components.k8s import scheduling
from llmfleet.components.k8s.gateway import health_path, route_prefix
from llmfleet.components.k8s.kube_state_metrics import exported_label
from llmfleet.components.spec import FleetSpec, RegionSpec, ServingSpec

Severity = Literal["page", "ticket"]

RATE_WINDOW = "5m"
"""Window of the rates and quantiles the latency and error alerts compare."""

EVALUATION_SECONDS = 60
"""How often each rule is evaluated."""

ALERT_KINDS: dict[str, str] = {
    "ttft-p95": "time to first token, 95th percentile, above the objective",
    "error-rate": "share of requests answered with a server error (HTTP 5xx) above the objective",
    "kv-cache-saturated": "a replica's KV cache stays nearly full: requests are preempted",
    "capacity-exhausted": "requests wait while the autoscaler already runs max_replicas",
    "gpu-pods-pending": "serving pods stay unschedulable: the pool's zones are out of GPUs "
    "(a stock-out) or the pool is at max_nodes",
    "gpus-idle": "replicas kept up by min_replicas served no request: GPUs paid for, idle",
    "xid-errors": "a GPU reported an XID error (driver or hardware fault)",
    "spot-interruptions": "the cloud took back several spot nodes within the hour: replicas "
    "restart elsewhere and capacity may be running out",
}
"""Every alert kind, with what it means; the first six are per serving entry and region."""

REGION_ALERTS = ("xid-errors", "spot-interruptions")
SERVING_ALERTS = tuple(kind for kind in ALERT_KINDS if kind not in REGION_ALERTS)

SPOT_INTERRUPTION_BURST = 3
"""Spot interruptions of one region within ``SPOT_INTERRUPTION_WINDOW`` that raise a ticket:
one is the price of spot, several in an hour mean the zones are reclaiming capacity (a stock-out
is likely next). A constant until the stack file's ``observability`` section grows a field."""
SPOT_INTERRUPTION_WINDOW = "1h"

SIGNALS: dict[str, tuple[str, ...]] = {
    "xid-errors": ("aws",),
    "nodes-by-capacity-type": ("aws", "gcp"),
    "spot-interruptions": ("aws", "gcp"),
}
"""The clouds whose managed collection exports each GPU-fault and capacity signal.

- XID errors: EKS runs NVIDIA's DCGM exporter chart with its default counters
  (tests/metrics/dcgm-exporter), which include ``DCGM_FI_DEV_XID_ERRORS``. GKE's managed DCGM
  package exports a fixed set of utilisation, memory, temperature, power, clock and profiling
  fields without it (XID errors reach only the nodes' kernel log), so GKE regions get no XID
  alert or chart rather than one that could never fire.
- Nodes by capacity type: Karpenter labels its node metrics with the node's ``capacity_type``
  (tests/metrics/karpenter.yaml); on GKE, whose managed kube-state-metrics has no node package,
  kube-state-metrics' node collector exports ``kube_node_labels`` with GKE's spot label and the
  llmfleet pool (llmfleet/components/gcp/metrics.py).
- Spot interruptions: Karpenter counts its interruption queue's messages by type; on GKE,
  preemptions are Compute Engine audit events counted by a log-based metric
  (``gke_preemption_metric``).
"""


@dataclass(frozen=True)
class Alert:
    """One alerting rule: a PromQL condition that fires after holding ``for_seconds``."""

    kind: str
    """One of ``ALERT_KINDS``."""
    region: RegionSpec
    """The region whose cluster it watches."""
    serving: str | None
    """The serving entry it watches; None for region-wide alerts."""
    expr: str
    """The PromQL condition: it returns series while the alert should fire."""
    for_seconds: int
    """How long the condition must hold."""
    threshold: str
    """The threshold in words, for people (``p95 > 2s``)."""
    severity: Severity
    """``page`` wakes someone; ``ticket`` waits for working hours."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels every notification carries (serving, region, cloud, pool, zones)."""

    @property
    def key(self) -> str:
        """``chat-ttft-p95``: unique in its region, part of resource names."""
        return f"{self.serving}-{self.kind}" if self.serving else self.kind

    @property
    def title(self) -> str:
        """``llm-prod us-east-1 chat: ttft-p95``."""
        scope = f" {self.serving}" if self.serving else ""
        return f"{self.labels['fleet']} {self.region.region}{scope}: {self.kind}"

    @property
    def summary(self) -> str:
        """What fired and against which threshold, for the notification."""
        return f"{self.title}: {ALERT_KINDS[self.kind]} ({self.threshold})"

    def rule(self) -> dict[str, Any]:
        """The alert as a Prometheus alerting rule."""
        return {
            "alert": self.key,
            "expr": self.expr,
            "for": f"{self.for_seconds}s",
            "labels": {
                "severity": self.severity,
                "alert_kind": self.kind,
                "threshold": self.threshold,
                **self.labels,
            },
            "annotations": {"summary": self.summary},
        }


def selector(cluster: str, namespace: str | None = None, **extra: str) -> str:
    """``{cluster="llm-prod-us-east-1",namespace="chat"}``."""
    labels = {"cluster": cluster, **({"namespace": namespace} if namespace else {}), **extra}
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _minutes(value: float) -> str:
    return f"{value:g}m"


def _serving_alerts(
    fleet: FleetSpec, region: RegionSpec, serving: ServingSpec, cluster: str
) -> Iterator[Alert]:
    spec = fleet.observability
    slo = spec.slo(serving.name)
    pool = fleet.serving_pool(serving, region)
    zones = ",".join(region.pool_zones(pool))
    zone_letters = ", ".join(z.removeprefix(region.region).lstrip("-") for z in zones.split(","))
    labels = {
        "fleet": fleet.name,
        "region": region.region,
        "cloud": region.cloud,
        "serving": serving.name,
        "pool": pool.name,
    }
    s = selector(cluster, serving.name)
    errors = selector(cluster, serving.name, status="5xx")
    hold = spec.for_minutes * 60
    at_max = serving.max_replicas * len(serving.versions())
    yield Alert(
        "ttft-p95",
        region,
        serving.name,
        "histogram_quantile(0.95, sum by (le) "
        f"(rate(vllm:time_to_first_token_seconds_bucket{s}[{RATE_WINDOW}]))) "
        f"> {slo.ttft_p95_seconds:g}",
        hold,
        f"p95 > {slo.ttft_p95_seconds:g}s for {_minutes(spec.for_minutes)}",
        "page",
        labels,
    )
    yield Alert(
        "error-rate",
        region,
        serving.name,
        f"sum(rate(http_requests_total{errors}[{RATE_WINDOW}])) / "
        f"sum(rate(http_requests_total{s}[{RATE_WINDOW}])) > {slo.error_rate:g}",
        hold,
        f"5xx > {slo.error_rate * 100:g}% for {_minutes(spec.for_minutes)}",
        "page",
        labels,
    )
    yield Alert(
        "kv-cache-saturated",
        region,
        serving.name,
        f"max(vllm:kv_cache_usage_perc{s}) > {slo.kv_cache_saturation:g}",
        hold,
        f"KV cache > {slo.kv_cache_saturation * 100:g}% for {_minutes(spec.for_minutes)}",
        "ticket",
        labels,
    )
    yield Alert(
        "capacity-exhausted",
        region,
        serving.name,
        # Replicas are counted by the servers exporting metrics (multi-node replicas: their
        # leader); with a canary both versions must be at their maximum.
        f"sum(vllm:num_requests_waiting{s}) > 0 and count(vllm:num_requests_running{s}) "
        f">= {at_max}",
        spec.capacity_exhausted_minutes * 60,
        f"queue > 0 at {at_max} replicas for {_minutes(spec.capacity_exhausted_minutes)}",
        "page",
        labels,
    )
    yield Alert(
        "gpu-pods-pending",
        region,
        serving.name,
        f"sum(kube_pod_status_unschedulable{s}) > 0",
        spec.pending_gpu_pod_minutes * 60,
        f"unschedulable for {_minutes(spec.pending_gpu_pod_minutes)} "
        f"(pool {pool.name}, zones {zone_letters})",
        "page",
        {**labels, "zones": zones},
    )
    yield Alert(
        "gpus-idle",
        region,
        serving.name,
        f"sum(max_over_time(vllm:num_requests_running{s}[{_minutes(spec.idle_gpu_minutes)}]))"
        f" == 0 and count(vllm:num_requests_running{s}) > 0",
        EVALUATION_SECONDS * 5,
        f"no request for {_minutes(spec.idle_gpu_minutes)} while replicas run "
        f"(min_replicas {serving.min_replicas})",
        "ticket",
        labels,
    )


def gke_preemption_metric(fleet: FleetSpec) -> str:
    """``llm_prod_gke_spot_preemptions``: the log-based metric counting preemptions of the
    fleet's GKE nodes (underscores only, so its PromQL name is its own)."""
    return f"{fleet.name}_gke_spot_preemptions".replace("-", "_")


def gke_preemption_filter(fleet: FleetSpec) -> str:
    """The Cloud Logging filter of the log-based metric: Compute Engine's audit event of a spot
    VM's preemption, for GKE nodes (VMs named ``gke-...``) in the fleet's GKE regions."""
    regions = "|".join(r.region for r in fleet.regions_of("gcp"))
    return (
        'resource.type="gce_instance"'
        ' AND protoPayload.methodName="compute.instances.preempted"'
        ' AND protoPayload.resourceName:"/instances/gke-"'
        f' AND resource.labels.zone=~"^({regions})-"'
    )


def _gke_preemptions(fleet: FleetSpec) -> str:
    """The log-based metric as PromQL names it (``logging.googleapis.com/user/<name>``)."""
    return f"logging_googleapis_com:user_{gke_preemption_metric(fleet)}"


def spot_interruptions(fleet: FleetSpec, region: RegionSpec, cluster: str) -> str:
    """Spot nodes the cloud took back from ``region`` within ``SPOT_INTERRUPTION_WINDOW``: the
    two-minute warnings Karpenter received (EKS), the preemptions Compute Engine logged (GKE)."""
    window = SPOT_INTERRUPTION_WINDOW
    if region.cloud == "aws":
        s = selector(cluster, message_type="spot_interrupted")
        return f"sum(increase(karpenter_interruption_received_messages_total{s}[{window}]))"
    s = '{monitored_resource="gce_instance",zone=~"' + region.region + '-.*"}'
    return f"sum(increase({_gke_preemptions(fleet)}{s}[{window}]))"


def has_spot(region: RegionSpec) -> bool:
    """Whether any accelerator pool of the region runs on spot capacity."""
    return any(p.capacity == "spot" for p in region.cluster.gpu_pools)


def _region_alerts(fleet: FleetSpec, region: RegionSpec, cluster: str) -> Iterator[Alert]:
    labels = {"fleet": fleet.name, "region": region.region, "cloud": region.cloud}
    gpus = any(catalog.accelerator(p.accelerator).kind == "gpu" for p in region.cluster.gpu_pools)
    if gpus and region.cloud in SIGNALS["xid-errors"]:
        yield Alert(
            "xid-errors",
            region,
            None,
            f"DCGM_FI_DEV_XID_ERRORS{selector(cluster)} > 0",
            0,
            "any XID",
            "page",
            labels,
        )
    if has_spot(region) and region.cloud in SIGNALS["spot-interruptions"]:
        yield Alert(
            "spot-interruptions",
            region,
            None,
            f"{spot_interruptions(fleet, region, cluster)} >= {SPOT_INTERRUPTION_BURST}",
            0,
            f">= {SPOT_INTERRUPTION_BURST} spot nodes taken back in {SPOT_INTERRUPTION_WINDOW}",
            "ticket",
            labels,
        )


def alerts(fleet: FleetSpec, region: RegionSpec, cluster: str) -> list[Alert]:
    """Every alert of one region's cluster ``cluster``: per serving entry running there, and
    the region's own (GPU faults, spot interruptions) where its cloud exports the signal."""
    found = [
        alert
        for serving in fleet.serving
        if region in fleet.serving_regions(serving)
        for alert in _serving_alerts(fleet, region, serving, cluster)
    ]
    return [*found, *_region_alerts(fleet, region, cluster)]


UPTIME_CHECKERS = ("gcp", "aws")
"""Which cloud probes the fleet's endpoints: the first of these the fleet serves from. GCP
uptime checks probe any URL from several continents, so a fleet with GCP regions checks its AWS
endpoints there too; an AWS-only fleet uses Route 53 health checks and, for the API with the key,
a CloudWatch Synthetics canary per serving region."""


@dataclass(frozen=True)
class Endpoint:
    """A hostname the fleet answers on: the global one or a region's."""

    scope: str
    """``global`` or the region's name."""
    host: str
    path: str | None
    """What is requested over HTTPS without the API key: vLLM's ``/health`` of an always-on
    serving entry through the gateway (``/<serving>/health``); None where every entry scales to
    zero (a check would keep a cold model warm): then TCP on 443."""
    api_path: str | None = None
    """An API request of the same entry that needs the fleet's API key (``/<serving>/v1/models``:
    gateway route, key sync and vLLM's authentication all answer), for checkers that can send
    the key; None with ``path``."""


API_KEY_HEADER = "Authorization"
"""The header vLLM reads the API key from (``Bearer <key>``) on its ``/v1`` routes."""


def endpoints(fleet: FleetSpec) -> list[Endpoint]:
    """The global endpoint ``<routing.domain>`` and each routed region's ``<region>.<domain>``
    (the names the regional entry answers on); none without a domain."""
    domain = fleet.routing.domain
    if domain is None:
        return []
    regional = [
        _endpoint(r.region, f"{r.region}.{domain}", fleet.served_in(r))
        for r in fleet.routed_regions()
    ]
    return [_endpoint("global", domain, fleet.serving), *regional]


def _endpoint(scope: str, host: str, entries: list[ServingSpec]) -> Endpoint:
    warm = [s for s in entries if s.min_replicas > 0]
    if not warm:
        return Endpoint(scope, host, None)
    name = warm[0].name
    return Endpoint(scope, host, health_path(name), f"{route_prefix(name)}/v1/models")


def uptime_checker(clouds: Iterable[str]) -> str | None:
    """The cloud (of ``clouds``, those the fleet serves from) that runs its uptime checks."""
    serving = set(clouds)
    return next((c for c in UPTIME_CHECKERS if c in serving), None)


def uptime_threshold(fleet: FleetSpec) -> str:
    minutes = fleet.observability.health_check_minutes
    return f"failing from several locations for {_minutes(minutes)}"


@dataclass(frozen=True)
class Panel:
    """One dashboard chart: PromQL queries plotted together, each a legend line."""

    title: str
    queries: tuple[str, ...]
    unit: str = ""


def replica_usd_per_hour(fleet: FleetSpec, serving: ServingSpec, region: RegionSpec) -> float:
    """What one replica of ``serving`` costs an hour in ``region``: its share of the pool's node
    price (spot where the pool is spot), over all its nodes, from the catalog the cost model
    prices with."""
    pool = fleet.serving_pool(serving, region)
    node = region.instance_type_for(pool)
    share = serving.accelerators_per_replica(pool) / node.accelerator_count
    return node.hourly_usd(pool.spot) * share


TTFT = "vllm:time_to_first_token_seconds"
TPOT = "vllm:inter_token_latency_seconds"
E2E = "vllm:e2e_request_latency_seconds"


def _quantiles(metric: str, s: str, by: str) -> tuple[str, ...]:
    return tuple(
        f"histogram_quantile({q}, sum by (le, {by}) (rate({metric}_bucket{s}[{RATE_WINDOW}])))"
        for q in (0.5, 0.95, 0.99)
    )


def serving_panels(
    fleet: FleetSpec, serving: ServingSpec, cluster_of: Mapping[str, str]
) -> list[Panel]:
    """The charts of one serving entry, one line per region (its cluster): latency percentiles,
    throughput, queue and replicas, KV cache and GPU use, and cost. ``cluster_of`` maps the
    regions whose metrics the dashboard reads to the cluster name their series carry."""
    regions = [r for r in fleet.serving_regions(serving) if r.region in cluster_of]
    clusters = "|".join(cluster_of[r.region] for r in regions)
    s = "{" + f'cluster=~"{clusters}",namespace="{serving.name}"' + "}"
    gpus = "{" + f'cluster=~"{clusters}"' + "}"
    by = "cluster"
    cost, per_million = [], []
    for region in regions:
        price = replica_usd_per_hour(fleet, serving, region)
        r = selector(cluster_of[region.region], serving.name)
        replicas = f"count(vllm:num_requests_running{r})"
        cost.append(f"{replicas} * {price:.4f}")
        tokens = f"sum(rate(vllm:generation_tokens_total{r}[1h])) * 3600 / 1e6"
        per_million.append(f"({replicas} * {price:.4f}) / ({tokens})")
    return [
        Panel("time to first token p50 / p95 / p99", _quantiles(TTFT, s, by), "s"),
        Panel("time per output token p50 / p95 / p99", _quantiles(TPOT, s, by), "s"),
        Panel("end-to-end latency p50 / p95 / p99", _quantiles(E2E, s, by), "s"),
        Panel(
            "tokens per second (prompt, generated)",
            (
                f"sum by ({by}) (rate(vllm:prompt_tokens_total{s}[{RATE_WINDOW}]))",
                f"sum by ({by}) (rate(vllm:generation_tokens_total{s}[{RATE_WINDOW}]))",
            ),
            "1/s",
        ),
        Panel(
            "queue depth and replicas",
            (
                f"sum by ({by}) (vllm:num_requests_waiting{s})",
                f"count by ({by}) (vllm:num_requests_running{s})",
            ),
        ),
        Panel("KV-cache use (max replica)", (f"max by ({by}) (vllm:kv_cache_usage_perc{s})",), "1"),
        # GPUs by cluster: how the DCGM exporter names the pod of a GPU differs by collector.
        Panel(
            "GPU utilisation of its clusters", (f"avg by ({by}) (DCGM_FI_DEV_GPU_UTIL{gpus})",), "%"
        ),
        Panel("cost per hour (USD, replicas x catalog price)", tuple(cost), "USD/h"),
        Panel("cost per million generated tokens (USD)", tuple(per_million), "USD"),
    ]


def fleet_panels(fleet: FleetSpec, cloud: str, clusters: Iterable[str]) -> list[Panel]:
    """The fleet view over ``clusters`` of one cloud (their metrics' store): every serving
    entry in every region (one line per cluster and namespace, the namespace being the entry),
    GPUs, and the capacity signals the cloud exports (``SIGNALS``)."""
    by = "cluster, namespace"
    names = "|".join(clusters)
    s = "{" + f'cluster=~"{names}"' + "}"
    panels = [
        Panel("time to first token p95", (_quantiles(TTFT, s, by)[1],), "s"),
        Panel("time per output token p95", (_quantiles(TPOT, s, by)[1],), "s"),
        Panel("end-to-end latency p95", (_quantiles(E2E, s, by)[1],), "s"),
        Panel(
            "generated tokens per second",
            (f"sum by ({by}) (rate(vllm:generation_tokens_total{s}[{RATE_WINDOW}]))",),
            "1/s",
        ),
        Panel("queue depth", (f"sum by ({by}) (vllm:num_requests_waiting{s})",)),
        Panel("replicas", (f"count by ({by}) (vllm:num_requests_running{s})",)),
        Panel("KV-cache use (max replica)", (f"max by ({by}) (vllm:kv_cache_usage_perc{s})",), "1"),
        Panel("GPU utilisation by cluster", (f"avg by (cluster) (DCGM_FI_DEV_GPU_UTIL{s})",), "%"),
        # Framebuffer in use over its size, on the fullest GPU: a model that leaves no room
        # for its KV cache shows here first.
        Panel(
            "GPU memory in use (fullest GPU)",
            (
                f"max by (cluster) (DCGM_FI_DEV_FB_USED{s} / "
                f"(DCGM_FI_DEV_FB_USED{s} + DCGM_FI_DEV_FB_FREE{s}))",
            ),
            "1",
        ),
        Panel(
            "GPU temperature (hottest GPU)", (f"max by (cluster) (DCGM_FI_DEV_GPU_TEMP{s})",), "Cel"
        ),
        Panel("servers up by region", (f"count by (cluster) (vllm:num_requests_running{s})",)),
    ]
    if cloud in SIGNALS["xid-errors"]:
        panels.append(Panel("GPU XID errors", (f"max by (cluster) (DCGM_FI_DEV_XID_ERRORS{s})",)))
    if cloud in SIGNALS["nodes-by-capacity-type"]:
        panels.append(
            Panel("accelerator nodes by capacity type", (_nodes_by_capacity(cloud, names),))
        )
    window = SPOT_INTERRUPTION_WINDOW
    if cloud == "aws":
        spot = "{" + f'cluster=~"{names}",message_type="spot_interrupted"' + "}"
        interrupted = (
            f"sum by (cluster) (increase(karpenter_interruption_received_messages_total{spot}"
            f"[{window}]))"
        )
    else:
        # Preemptions carry the VM's zone, not a cluster: one line per zone.
        vms = '{monitored_resource="gce_instance"}'
        interrupted = f"sum by (zone) (increase({_gke_preemptions(fleet)}{vms}[{window}]))"
    panels.append(Panel(f"spot interruptions per {window}", (interrupted,)))
    return panels


@dataclass(frozen=True)
class Dashboard:
    """One dashboard's charts, in sections: the fleet view has one per cloud (each cloud's store
    exports its own capacity signals), a serving entry's one over all its regions."""

    title: str
    sections: tuple[tuple[str | None, tuple[Panel, ...]], ...]
    """(cloud, its charts); cloud None: charts over every cloud's clusters."""

    @property
    def panels(self) -> list[Panel]:
        """Every chart, section after section."""
        return [panel for _, panels in self.sections for panel in panels]


def dashboards(fleet: FleetSpec, clusters: Mapping[str, Mapping[str, str]]) -> dict[str, Dashboard]:
    """Every dashboard over the regions ``clusters`` maps (by cloud) to their cluster names, by
    key: ``fleet`` (the fleet view) and each serving entry running in one of them. Each cloud's
    renderer draws the same charts."""
    cluster_of = {
        region: name for by_region in clusters.values() for region, name in by_region.items()
    }
    fleet_view = tuple(
        (cloud, tuple(fleet_panels(fleet, cloud, by_region.values())))
        for cloud, by_region in clusters.items()
    )
    found = {"fleet": Dashboard(f"{fleet.name} fleet", fleet_view)}
    for serving in fleet.serving:
        if any(r.region in cluster_of for r in fleet.serving_regions(serving)):
            panels = tuple(serving_panels(fleet, serving, cluster_of))
            found[serving.name] = Dashboard(f"{fleet.name} {serving.name}", ((None, panels),))
    return found


GKE_SPOT_LABEL = exported_label(scheduling.GKE_SPOT)
POOL_LABEL = exported_label(scheduling.POOL_LABEL)


def _nodes_by_capacity(cloud: str, clusters: str) -> str:
    """Accelerator nodes per cluster and ``capacity_type`` (``spot``, ``on-demand``,
    ``reserved``). Both clouds' exporters run two replicas, each exporting every node: nodes are
    counted by name first."""
    if cloud == "aws":
        # Karpenter manages exactly the accelerator pools.
        nodes = "{" + f'cluster=~"{clusters}",managed="true",resource_type="cpu"' + "}"
        return (
            "count by (cluster, capacity_type) (count by (cluster, capacity_type, node_name) "
            f"(karpenter_nodes_allocatable{nodes}))"
        )
    nodes = "{" + f'cluster=~"{clusters}",{POOL_LABEL}!="system"' + "}"
    per_node = f"count by (cluster, node, {GKE_SPOT_LABEL}) (kube_node_labels{nodes})"
    # GKE labels spot VMs only: a node without the label is on-demand.
    on_demand = f'label_replace({per_node}, "capacity_type", "on-demand", "{GKE_SPOT_LABEL}", "")'
    typed = f'label_replace({on_demand}, "capacity_type", "spot", "{GKE_SPOT_LABEL}", "true")'
    return f"count by (cluster, capacity_type) ({typed})"


def rule_groups(group: str, found: list[Alert]) -> str:
    """The alerts as a Prometheus rule file (``groups:``), one group evaluated every minute."""
    document = {
        "groups": [
            {
                "name": group,
                "interval": f"{EVALUATION_SECONDS}s",
                "rules": [alert.rule() for alert in found],
            }
        ]
    }
    return yaml.safe_dump(document, sort_keys=False, width=1000)

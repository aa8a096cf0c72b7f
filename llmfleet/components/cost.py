"""Monthly cost of a fleet at minimum and at maximum scale, priced from the catalog.

Cloud-neutral and engine-neutral: the estimate is computed from resources as the engine sees
them (type token and camelCase properties), so ``llmfleet plan`` (on its recording) and the
policy pack (on the resources of a preview) price the same objects the same way. Usage that no
resource states (how much the published model versions weigh, how many serving replicas stay up
while idle) comes in as ``Usage``, built from the fleet spec where there is one.

Minimum scale is what runs while idle: system nodes, the nodes serving ``min_replicas`` keep up,
control planes, gateways, keys, storage. Maximum scale adds every node pool at its limit. Every
line carries its quantity, unit price, source and date, so a reader can check it by hand; what
cannot be priced is listed in ``unpriced`` and never counted as $0.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from llmfleet.components import catalog
from llmfleet.components.k8s.scheduling import (
    KARPENTER_CAPACITY_TYPE,
    POOL_LABEL,
    accelerator_resource,
)

if TYPE_CHECKING:
    from llmfleet.components.spec import FleetSpec, ModelSpec

ACCELERATOR_NODES = "accelerator nodes"
SYSTEM_NODES = "system nodes"
NODE_DISKS = "node disks"
CONTROL_PLANES = "control planes"
NETWORK = "network"
KEYS = "keys"
MODEL_STORAGE = "model storage"
LOGS = "logs"
DATA_TRANSFER = "data transfer"
MONITORING = "monitoring"


@dataclass(frozen=True)
class Assumptions:
    """What the estimate assumes where no resource says; printed with every estimate."""

    hours_per_month: float = 730.0
    """Hours billed in a month (365 x 24 / 12), for everything priced by the hour."""
    default_model_gb: float = 50.0
    """Size of a model version whose spec gives neither ``weights_gib`` nor ``parameters_b``.
    Storage and transfer are billed per GB of 2^30 bytes, so a version's GiB are its GB."""
    log_gb_per_source: float = 10.0
    """GB a month each log source ingests: a CloudWatch log group, a GKE cluster's logs, a
    subnet's flow logs."""

    def describe(self) -> dict[str, str]:
        """Each assumption in words, for the report and the plan JSON."""
        return {
            "hours_per_month": f"{self.hours_per_month:g} hours a month for hourly prices",
            "model_gb": (
                "a version weighs its weights_gib, else parameters_b x its dtype's bytes, else "
                f"{self.default_model_gb:g} GB"
            ),
            "log_gb_per_source": (
                f"{self.log_gb_per_source:g} GB a month ingested per log group, GKE cluster or "
                "subnet with flow logs; stored for the group's retention"
            ),
            "transfer": (
                "every listed model version is copied once to every replica this month "
                "(the month it is published)"
            ),
            "serving": "each serving replica kept up while idle (min_replicas; 0 scales to zero "
            "behind the KEDA HTTP add-on) holds whole nodes of its pool",
        }


@dataclass(frozen=True)
class Resource:
    """A resource as the engine sees it: what the pricers read."""

    urn: str
    type: str
    name: str
    inputs: Mapping[str, Any]
    region: str | None = None
    cloud: str | None = None
    provider: str | None = None
    property_dependencies: Mapping[str, list[str]] = field(default_factory=dict)
    """Input name -> URNs of the resources its value came from, as the engine records them."""


@dataclass(frozen=True)
class ModelVersion:
    """One published model version and the size the estimate gives it."""

    name: str
    version: str
    gb: float
    basis: str
    """How ``gb`` was found, e.g. ``70.6B params in bf16``."""


@dataclass(frozen=True)
class Usage:
    """What the fleet spec says about use that no single resource states."""

    models: tuple[ModelVersion, ...] = ()
    storage_regions: tuple[tuple[str, str], ...] = ()
    """(cloud, region) of every region holding a copy of every model version."""
    serving_nodes: Mapping[tuple[str, str], int] = field(default_factory=dict)
    """(region, pool) -> nodes that serving ``min_replicas`` keep up."""
    on_demand_nodes: Mapping[tuple[str, str], int] = field(default_factory=dict)
    """(region, pool) -> of those, the nodes of ``on_demand_replicas`` on a spot pool: they
    always run, at the on-demand price."""

    @property
    def model_gb(self) -> float:
        return sum(m.gb for m in self.models)


@dataclass(frozen=True)
class Line:
    """One priced line: ``count`` of ``count_unit`` x ``hours`` x ``unit_usd``."""

    region: str
    kind: str
    item: str
    count_min: float
    count_max: float
    count_unit: str
    unit_usd: float
    per: str
    """hour, month, GB-month, GB or run: what ``unit_usd`` buys."""
    source: str
    date: str
    capacity: str | None = None
    """on-demand or spot, for nodes."""
    on_demand_unit_usd: float | None = None
    """The on-demand price of a spot line, for the spot savings."""
    resource: str | None = None
    instance_type: str | None = None
    """The node type of a node line."""
    accelerators_per_unit: int = 0
    """Accelerators on each node of a node line."""
    hours: float = 1.0
    """Hours a month for hourly prices, else 1."""

    def monthly(self, count: float) -> float:
        return round(count * self.hours * self.unit_usd, 2)

    @property
    def monthly_min(self) -> float:
        return self.monthly(self.count_min)

    @property
    def monthly_max(self) -> float:
        return self.monthly(self.count_max)

    def savings(self, count: float) -> float:
        """What spot saves on this line against on-demand."""
        if self.on_demand_unit_usd is None:
            return 0.0
        return round(count * self.hours * self.on_demand_unit_usd, 2) - self.monthly(count)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["monthly_usd"] = {"min": self.monthly_min, "max": self.monthly_max}
        return data


@dataclass(frozen=True)
class Unpriced:
    """Something the fleet will pay for that the estimate cannot price, and why."""

    region: str
    kind: str
    item: str
    reason: str
    resource: str | None = None


@dataclass
class Estimate:
    """Every line, what is unpriced, the assumptions, and the totals against the budget."""

    lines: list[Line]
    unpriced: list[Unpriced]
    assumptions: Assumptions
    budget_usd: float | None = None
    models: tuple[ModelVersion, ...] = ()
    """The published versions the storage and transfer lines are sized by."""

    @property
    def monthly_min(self) -> float:
        return round(sum(line.monthly_min for line in self.lines), 2)

    @property
    def monthly_max(self) -> float:
        return round(sum(line.monthly_max for line in self.lines), 2)

    @property
    def spot_savings(self) -> dict[str, float]:
        """What spot capacity saves against on-demand, at min and max scale."""
        return {
            "min": round(sum(line.savings(line.count_min) for line in self.lines), 2),
            "max": round(sum(line.savings(line.count_max) for line in self.lines), 2),
        }

    def totals_by(self, key: Callable[[Line], str]) -> dict[str, dict[str, float]]:
        totals: dict[str, dict[str, float]] = defaultdict(lambda: {"min": 0.0, "max": 0.0})
        for line in self.lines:
            total = totals[key(line)]
            total["min"] = round(total["min"] + line.monthly_min, 2)
            total["max"] = round(total["max"] + line.monthly_max, 2)
        return dict(sorted(totals.items()))

    @property
    def biggest_line(self) -> Line | None:
        return max(self.lines, key=lambda line: line.monthly_max, default=None)

    @property
    def headroom_usd(self) -> float | None:
        """Budget left at maximum scale (negative: the overrun)."""
        if self.budget_usd is None:
            return None
        return round(self.budget_usd - self.monthly_max, 2)

    @property
    def over_budget(self) -> bool:
        return self.headroom_usd is not None and self.headroom_usd < 0

    def overrun(self) -> str | None:
        """Why the estimate breaks the budget, naming the overrun and the biggest line."""
        if not self.over_budget:
            return None
        message = (
            f"estimated ${self.monthly_max:,.2f} a month at maximum scale exceeds the budget "
            f"${self.budget_usd:,.2f} by ${-self.headroom_usd:,.2f}"
        )
        biggest = self.biggest_line
        if biggest is not None:
            message += (
                f"; biggest line: {biggest.item} ({biggest.region}) "
                f"${biggest.monthly_max:,.2f} a month"
            )
        return message

    def to_json(self) -> dict[str, Any]:
        """The plan JSON's ``cost`` section."""
        biggest = self.biggest_line
        return {
            "monthly_usd": {"min": self.monthly_min, "max": self.monthly_max},
            "budget_usd": self.budget_usd,
            "headroom_usd": self.headroom_usd,
            "spot_savings_usd": self.spot_savings,
            "by_region": self.totals_by(lambda line: line.region),
            "by_kind": self.totals_by(lambda line: line.kind),
            "biggest_line": biggest.item if biggest else None,
            "lines": [line.to_json() for line in self.lines],
            "unpriced": [asdict(u) for u in self.unpriced],
            "assumptions": self.assumptions.describe(),
            "model_versions": [asdict(m) for m in self.models],
        }


# --- usage from the spec ------------------------------------------------------------------


def model_version(model: ModelSpec, assumptions: Assumptions) -> ModelVersion:
    """A version sized by its spec (``weights_gib``, or ``parameters_b`` x dtype bytes)."""
    if model.weights_gib is not None:
        basis = "weights_gib"
    elif model.parameters_b is not None:
        basis = f"{model.parameters_b:g}B params in {model.dtype}"
    else:
        return ModelVersion(model.name, model.version, assumptions.default_model_gb, "default")
    return ModelVersion(model.name, model.version, round(model.weights_size_gib(), 2), basis)


def usage_of(spec: FleetSpec, assumptions: Assumptions | None = None) -> Usage:
    """The usage a fleet spec states: published versions, storage regions, serving floors."""
    assumptions = assumptions or Assumptions()
    models = tuple(model_version(m, assumptions) for m in spec.models)
    storage = tuple((r.cloud, r.region) for r in spec.storage_regions())
    floors: dict[tuple[str, str], int] = defaultdict(int)
    on_demand: dict[tuple[str, str], int] = defaultdict(int)
    for serving in spec.serving:
        for region in spec.serving_regions(serving):
            pool = next(p for p in region.cluster.gpu_pools if p.name == serving.pool)
            per_node = region.instance_type_for(pool).accelerator_count
            replicas_per_node = max(1, per_node // (serving.tensor_parallel_size or per_node))
            # On-demand replicas do not share nodes with the spot ones: count them apart.
            pinned = serving.on_demand_replicas if pool.capacity == "spot" else 0
            pinned_nodes = math.ceil(pinned / replicas_per_node)
            nodes = pinned_nodes + math.ceil((serving.idle_replicas - pinned) / replicas_per_node)
            floors[(region.region, serving.pool)] += nodes
            if pinned_nodes:
                on_demand[(region.region, serving.pool)] += pinned_nodes
    return Usage(
        models=models,
        storage_regions=storage,
        serving_nodes=dict(floors),
        on_demand_nodes=dict(on_demand),
    )


# --- pricing resources --------------------------------------------------------------------


@dataclass
class _Context:
    resources: list[Resource]
    usage: Usage | None
    assumptions: Assumptions

    def __post_init__(self) -> None:
        self.by_urn = {r.urn: r for r in self.resources}

    def sources(self, r: Resource, prop: str, type_: str) -> list[Resource]:
        """The resources of ``type_`` that ``r``'s input ``prop`` takes values from."""
        found = (self.by_urn.get(urn) for urn in r.property_dependencies.get(prop, ()))
        return [s for s in found if s is not None and s.type == type_]

    def floor(self, region: str, pool: str | None) -> int:
        if self.usage is None or pool is None:
            return 0
        return self.usage.serving_nodes.get((region, pool), 0)

    def on_demand_floor(self, region: str, pool: str | None) -> int:
        if self.usage is None or pool is None:
            return 0
        return self.usage.on_demand_nodes.get((region, pool), 0)


Priced = Iterator[Line | Unpriced]


def _service_line(
    r: Resource,
    ctx: _Context,
    kind: str,
    item: str,
    cloud: str,
    key: str,
    count: float,
    count_unit: str,
) -> Line:
    price = catalog.service_price(cloud, key)
    return _line(r.region or "global", kind, item, price, count, count, count_unit, r.urn, ctx)


def _line(
    region: str,
    kind: str,
    item: str,
    price: catalog.ServicePrice,
    count_min: float,
    count_max: float,
    count_unit: str,
    resource: str | None,
    ctx: _Context,
) -> Line:
    return Line(
        region=region,
        kind=kind,
        item=item,
        count_min=count_min,
        count_max=count_max,
        count_unit=count_unit,
        unit_usd=price.usd,
        per=price.per,
        source=price.source,
        date=price.date,
        resource=resource,
        hours=ctx.assumptions.hours_per_month if price.per == "hour" else 1.0,
    )


def _get(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _number(value: Any) -> float | None:
    """A number, or a Kubernetes quantity (``16``, ``64Gi``, ``500m``) in base units (GiB)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti)?", value.strip())
    if not match:
        return None
    scale = {None: 1, "m": 1e-3, "Ki": 2**-20, "Mi": 2**-10, "Gi": 1, "Ti": 2**10}
    return float(match.group(1)) * scale[match.group(2)]


@dataclass(frozen=True)
class _NodeType:
    name: str
    on_demand: float
    spot: float | None
    accelerators: int
    accelerator_kind: str | None
    vcpu: int
    memory_gib: float
    source: str
    date: str


def _node_type(cloud: str, name: str) -> _NodeType | None:
    try:
        t = catalog.instance_type(cloud, name)
    except catalog.CatalogError:
        g = catalog.general_purpose_type(cloud, name)
        if g is None:
            return None
        return _NodeType(
            name,
            g.on_demand_usd_hour,
            None,
            0,
            None,
            g.vcpu,
            g.memory_gib,
            g.price_source,
            g.price_date,
        )
    kind = catalog.accelerator(t.accelerator).kind
    return _NodeType(
        name,
        t.on_demand_usd_hour,
        t.spot_usd_hour,
        t.accelerator_count,
        kind,
        t.vcpu,
        t.memory_gib,
        t.price_source,
        t.price_date,
    )


def _nodes(
    r: Resource,
    ctx: _Context,
    cloud: str,
    type_names: list[str],
    *,
    spot: bool,
    min_nodes: float,
    max_nodes: float | None,
    pool: str | None,
    region: str,
) -> Priced:
    label = f"pool {pool}" if pool else r.name
    types = [_node_type(cloud, name) for name in type_names]
    if not type_names or None in types:
        unknown = [n for n, t in zip(type_names, types, strict=True) if t is None]
        what = ", ".join(unknown) or "no instance type stated"
        yield Unpriced(region, SYSTEM_NODES, f"{label} nodes", f"no catalog price: {what}", r.urn)
        return
    if max_nodes is None:
        yield Unpriced(region, ACCELERATOR_NODES, f"{label} nodes", "no maximum size", r.urn)
        return
    # Several allowed types: the dearest one bounds the cost.
    node = max(types, key=lambda t: t.on_demand)
    kind = ACCELERATOR_NODES if node.accelerators else SYSTEM_NODES
    floor = min(max(min_nodes, ctx.floor(region, pool)), max_nodes)
    on_spot = spot and node.spot is not None
    # Nodes of on-demand replicas in a spot pool run at any scale, at the on-demand price.
    pinned = min(ctx.on_demand_floor(region, pool), floor) if on_spot else 0
    yield Line(
        region=region,
        kind=kind,
        item=f"{label}: {node.name}" + (" spot" if on_spot else " on-demand"),
        count_min=floor - pinned,
        count_max=max_nodes - pinned,
        count_unit="node",
        unit_usd=node.spot if on_spot else node.on_demand,
        per="hour",
        source=node.source,
        date=node.date,
        capacity="spot" if on_spot else "on-demand",
        on_demand_unit_usd=node.on_demand if on_spot else None,
        resource=r.urn,
        instance_type=node.name,
        accelerators_per_unit=node.accelerators,
        hours=ctx.assumptions.hours_per_month,
    )
    if pinned:
        yield Line(
            region=region,
            kind=kind,
            item=f"{label}: {node.name} on-demand (on_demand_replicas)",
            count_min=pinned,
            count_max=pinned,
            count_unit="node",
            unit_usd=node.on_demand,
            per="hour",
            source=node.source,
            date=node.date,
            capacity="on-demand",
            resource=r.urn,
            instance_type=node.name,
            accelerators_per_unit=node.accelerators,
            hours=ctx.assumptions.hours_per_month,
        )


def _disks(
    r: Resource,
    ctx: _Context,
    cloud: str,
    disk: tuple[float | None, str | None],
    lines: list[Line | Unpriced],
    pool: str,
) -> Priced:
    """Each node's boot disk (size GB, volume type), as many as the pool's nodes (``lines``:
    its node lines, spot and on-demand)."""
    node_lines = [line for line in lines if isinstance(line, Line)]
    if not node_lines:
        return
    nodes = node_lines[0]
    gb, volume_type = disk
    size = f"{gb:g}" if gb is not None else "?"
    item = f"pool {pool}: {size} GB {volume_type} disk per node"
    try:
        price = catalog.service_price(cloud, f"disk_{volume_type}")
    except catalog.CatalogError:
        price = None
    if gb is None or price is None:
        reason = "disk size unknown" if gb is None else f"no catalog price for {volume_type}"
        yield Unpriced(nodes.region, NODE_DISKS, item, reason, r.urn)
        return
    count_min = sum(line.count_min for line in node_lines) * gb
    count_max = sum(line.count_max for line in node_lines) * gb
    yield _line(nodes.region, NODE_DISKS, item, price, count_min, count_max, "GB", r.urn, ctx)


def _ebs(mappings: list[Any] | None) -> tuple[float | None, str | None]:
    """Size and type of the first (root) EBS volume of block-device mappings."""
    ebs = (mappings or [{}])[0].get("ebs") or {}
    return _number(ebs.get("volumeSize")), ebs.get("volumeType", "gp3")


def _eks_node_group(r: Resource, ctx: _Context) -> Priced:
    p = r.inputs
    scaling = p.get("scalingConfig") or {}
    pool = _get(p, "labels", POOL_LABEL) or r.name
    region = r.region or "global"
    lines = list(
        _nodes(
            r,
            ctx,
            "aws",
            list(p.get("instanceTypes") or []),
            spot=p.get("capacityType") == "SPOT",
            min_nodes=_number(scaling.get("minSize")) or 0,
            max_nodes=_number(scaling.get("maxSize")),
            pool=pool,
            region=region,
        )
    )
    yield from lines
    template = next(
        iter(ctx.sources(r, "launchTemplate", "aws:ec2/launchTemplate:LaunchTemplate")), None
    )
    if template is not None:
        disk = _ebs(template.inputs.get("blockDeviceMappings"))
    else:
        disk = (_number(p.get("diskSize", 20)), "gp3")  # EKS's default without a template
    yield from _disks(r, ctx, "aws", disk, lines, pool)


def _karpenter_node_pool(r: Resource, ctx: _Context) -> Priced:
    spec = r.inputs.get("spec") or {}
    template = spec.get("template") or {}
    pool = _get(template, "metadata", "labels", POOL_LABEL) or _get(r.inputs, "metadata", "name")
    requirements = {
        q.get("key"): q.get("values") or []
        for q in _get(template, "spec", "requirements") or []
        if q.get("operator") == "In"
    }
    zones = requirements.get("topology.kubernetes.io/zone") or []
    # Zone names end in a letter (us-east-1a); zone IDs (use1-az1) name no region.
    named = [z for z in zones if z[-1:].isalpha()]
    region = r.region or (named[0][:-1] if named else "global")
    names = list(requirements.get("node.kubernetes.io/instance-type") or [])
    limits = spec.get("limits") or {}
    max_nodes = None
    types = [t for t in (_node_type("aws", n) for n in names) if t is not None]
    if types and limits:
        per_node = {
            accelerator_resource("gpu"): min(t.accelerators for t in types),
            "cpu": min(t.vcpu for t in types),
            "memory": min(t.memory_gib for t in types),
        }
        bounds = [
            math.floor(_number(limits[key]) / size)
            for key, size in per_node.items()
            if size and _number(limits.get(key)) is not None
        ]
        max_nodes = min(bounds) if bounds else None
    lines = list(
        _nodes(
            r,
            ctx,
            "aws",
            names,
            spot="spot" in requirements.get(KARPENTER_CAPACITY_TYPE, ["on-demand"]),
            min_nodes=0,
            max_nodes=max_nodes,
            pool=pool,
            region=region,
        )
    )
    yield from lines
    class_name = _get(template, "spec", "nodeClassRef", "name")
    node_class = next(
        (
            c
            for c in ctx.resources
            if c.type == "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
            and c.provider == r.provider
            and _get(c.inputs, "metadata", "name") == class_name
        ),
        None,
    )
    mappings = _get(node_class.inputs, "spec", "blockDeviceMappings") if node_class else None
    yield from _disks(r, ctx, "aws", _ebs(mappings), lines, pool)


def _gke_node_pool(r: Resource, ctx: _Context) -> Priced:
    p = r.inputs
    config = p.get("nodeConfig") or {}
    zones = max(1, len(p.get("nodeLocations") or []))
    auto = p.get("autoscaling") or {}
    if "totalMaxNodeCount" in auto:
        low, high = auto.get("totalMinNodeCount", 0), auto["totalMaxNodeCount"]
    elif "maxNodeCount" in auto:
        low, high = auto.get("minNodeCount", 0) * zones, auto["maxNodeCount"] * zones
    else:
        fixed = p.get("nodeCount", p.get("initialNodeCount", 1)) * zones
        low, high = fixed, fixed
    pool = _get(config, "labels", POOL_LABEL) or p.get("name") or r.name
    region = r.region or "global"
    lines = list(
        _nodes(
            r,
            ctx,
            "gcp",
            [config.get("machineType", "e2-medium")],
            spot=bool(config.get("spot") or config.get("preemptible")),
            min_nodes=low,
            max_nodes=high,
            pool=pool,
            region=region,
        )
    )
    yield from lines
    disk = (_number(config.get("diskSizeGb", 100)), config.get("diskType", "pd-balanced"))
    yield from _disks(r, ctx, "gcp", disk, lines, pool)


def _eks_cluster(r: Resource, ctx: _Context) -> Priced:
    name = r.inputs.get("name") or r.name
    item = f"EKS {name}"
    yield _service_line(r, ctx, CONTROL_PLANES, item, "aws", "eks_control_plane", 1, "cluster")


def _gke_cluster(r: Resource, ctx: _Context) -> Priced:
    name = r.inputs.get("name") or r.name
    yield _service_line(r, ctx, CONTROL_PLANES, f"GKE {name}", "gcp", "gke_cluster", 1, "cluster")
    if _get(r.inputs, "loggingConfig", "enableComponents"):
        yield from _log_ingestion(r, ctx, "gcp", f"GKE {name} logs")


def _nat(cloud: str) -> Callable[[Resource, _Context], Priced]:
    def price(r: Resource, ctx: _Context) -> Priced:
        item = f"NAT {r.name}"
        yield _service_line(r, ctx, NETWORK, item, cloud, "nat_gateway", 1, "gateway")
        yield Unpriced(r.region or "global", NETWORK, item, "data processing per GB", r.urn)

    return price


def _vpc_endpoint(r: Resource, ctx: _Context) -> Priced:
    if r.inputs.get("vpcEndpointType") != "Interface":
        return  # Gateway endpoints (S3, DynamoDB) have no charge.
    zones = len(r.inputs.get("subnetIds") or []) or 1
    item = f"endpoint {r.inputs.get('serviceName', r.name)}"
    yield _service_line(r, ctx, NETWORK, item, "aws", "interface_endpoint", zones, "endpoint-AZ")
    yield Unpriced(r.region or "global", NETWORK, item, "data processing per GB", r.urn)


def _load_balancer(cloud: str | None) -> Callable[[Resource, _Context], Priced]:
    def price(r: Resource, ctx: _Context) -> Priced:
        on = cloud or r.cloud
        if r.type == "kubernetes:core/v1:Service" and _get(r.inputs, "spec", "type") != (
            "LoadBalancer"
        ):
            return
        item = f"load balancer {r.name}"
        if on not in catalog.CLOUDS:
            yield Unpriced(r.region or "global", NETWORK, item, "cloud unknown", r.urn)
            return
        yield _service_line(r, ctx, NETWORK, item, on, "load_balancer", 1, "load balancer")
        yield Unpriced(r.region or "global", NETWORK, item, "capacity units / data per GB", r.urn)

    return price


def _health_check(r: Resource, ctx: _Context) -> Priced:
    """A Route 53 health check: the basic check, plus HTTPS as an optional feature. Calculated
    checks (combining others) have no published fixed rate here."""
    item = f"health check {r.name}"
    kind = r.inputs.get("type")
    if kind == "CALCULATED":
        yield Unpriced("global", NETWORK, item, "calculated health check", r.urn)
        return
    yield _service_line(r, ctx, NETWORK, item, "aws", "route53_health_check", 1, "check")
    if kind == "HTTPS":
        yield _service_line(
            r, ctx, NETWORK, f"{item} (HTTPS)", "aws", "route53_health_check_feature", 1, "feature"
        )


def _dns_queries(r: Resource, ctx: _Context) -> Priced:
    """Routed records (latency, failover, geolocation) bill per million queries: usage."""
    inputs = r.inputs
    routed = inputs.get("setIdentifier") or inputs.get("routingPolicy")
    if routed:
        item = f"DNS queries {r.name}"
        yield Unpriced("global", NETWORK, item, "queries per million", r.urn)


def _unpriced(reason: str) -> Callable[[Resource, _Context], Priced]:
    def price(r: Resource, ctx: _Context) -> Priced:
        yield Unpriced(r.region or "global", NETWORK, r.name, reason, r.urn)

    return price


def _kms_key(cloud: str) -> Callable[[Resource, _Context], Priced]:
    def price(r: Resource, ctx: _Context) -> Priced:
        yield _service_line(r, ctx, KEYS, f"KMS key {r.name}", cloud, "kms_key", 1, "key")

    return price


def _log_ingestion(r: Resource, ctx: _Context, cloud: str, item: str) -> Priced:
    gb = ctx.assumptions.log_gb_per_source
    yield _service_line(r, ctx, LOGS, f"{item} ingestion", cloud, "log_ingestion", gb, "GB")


def _log_group(r: Resource, ctx: _Context) -> Priced:
    item = f"log group {r.inputs.get('name', r.name)}"
    yield from _log_ingestion(r, ctx, "aws", item)
    days = r.inputs.get("retentionInDays") or 0
    if not days:
        yield Unpriced(r.region or "global", LOGS, f"{item} storage", "kept forever", r.urn)
        return
    stored = round(ctx.assumptions.log_gb_per_source * days / 30, 1)
    yield _service_line(r, ctx, LOGS, f"{item} storage", "aws", "log_storage", stored, "GB")


def _subnetwork(r: Resource, ctx: _Context) -> Priced:
    if r.inputs.get("logConfig"):
        yield from _log_ingestion(r, ctx, "gcp", f"flow logs {r.name}")


def _transfer(r: Resource, ctx: _Context, cloud: str, item: str, key: str) -> Priced:
    if ctx.usage is None:
        yield Unpriced(r.region or "global", DATA_TRANSFER, item, "model volume unknown", r.urn)
        return
    gb = ctx.usage.model_gb
    yield _service_line(r, ctx, DATA_TRANSFER, item, cloud, key, gb, "GB")


def _s3_replication(r: Resource, ctx: _Context) -> Priced:
    for rule in r.inputs.get("rules") or []:
        if rule.get("status") != "Enabled":
            continue
        item = f"S3 replication {rule.get('id', r.name)}"
        yield from _transfer(r, ctx, "aws", item, "inter_region_transfer")
        if _get(rule, "destination", "replicationTime", "status") == "Enabled":
            yield from _transfer(r, ctx, "aws", f"{item} time control", "replication_time_control")


_CONTINENTS = {"us": "na", "northamerica": "na", "southamerica": "sa", "europe": "eu", "eu": "eu"}


def _continent(region: str | None) -> str | None:
    return _CONTINENTS.get(region.split("-")[0], region.split("-")[0]) if region else None


def _transfer_job(r: Resource, ctx: _Context) -> Priced:
    spec = r.inputs.get("transferSpec") or {}
    sink = r.region
    if "awsS3DataSource" in spec:
        item = f"S3 to GCS copy into {sink}"
        yield from _transfer(r, ctx, "aws", item, "internet_egress")
        return
    buckets = ctx.sources(r, "transferSpec", "gcp:storage/bucket:Bucket")
    source = next((b for b in buckets if b.region != sink), None)
    same = source is not None and _continent(source.region) == _continent(sink)
    key = "inter_region_transfer" if same else "intercontinental_transfer"
    origin = source.region if source else "another region"
    yield from _transfer(r, ctx, "gcp", f"GCS copy {origin} to {sink}", key)


def _gcs_bucket(r: Resource, ctx: _Context) -> Priced:
    if r.inputs.get("rpo") == "ASYNC_TURBO":
        yield from _transfer(r, ctx, "gcp", f"turbo replication {r.name}", "turbo_replication")


def _canary(r: Resource, ctx: _Context) -> Priced:
    """A Synthetics canary bills per run: its schedule's ``rate(N minutes)`` over the month.
    Other schedules (cron, hours) are unpriced rather than guessed."""
    item = f"canary {r.name}"
    expression = str(_get(r.inputs, "schedule", "expression") or "")
    match = re.fullmatch(r"rate\((\d+) minutes?\)", expression)
    if match is None or int(match.group(1)) == 0:
        yield Unpriced(r.region or "global", MONITORING, item, f"runs of {expression!r}", r.urn)
        return
    runs = ctx.assumptions.hours_per_month * 60 / int(match.group(1))
    yield _service_line(r, ctx, MONITORING, item, "aws", "synthetics_canary_run", runs, "runs")


def _usage_billed(what: str, reason: str) -> Callable[[Resource, _Context], Priced]:
    """A monitoring resource billed only by use, which no resource states."""

    def price(r: Resource, ctx: _Context) -> Priced:
        yield Unpriced(r.region or "global", MONITORING, f"{what} {r.name}", reason, r.urn)

    return price


_PRICERS: dict[str, Callable[[Resource, _Context], Priced]] = {
    "aws:eks/nodeGroup:NodeGroup": _eks_node_group,
    "kubernetes:karpenter.sh/v1:NodePool": _karpenter_node_pool,
    "gcp:container/nodePool:NodePool": _gke_node_pool,
    "aws:eks/cluster:Cluster": _eks_cluster,
    "gcp:container/cluster:Cluster": _gke_cluster,
    "aws:ec2/natGateway:NatGateway": _nat("aws"),
    "gcp:compute/routerNat:RouterNat": _nat("gcp"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer("aws"),
    "aws:alb/loadBalancer:LoadBalancer": _load_balancer("aws"),
    "gcp:compute/forwardingRule:ForwardingRule": _load_balancer("gcp"),
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": _load_balancer("gcp"),
    "kubernetes:core/v1:Service": _load_balancer(None),
    # A regional entry: the ALB (EKS) or the forwarding rule (GKE) its controller makes.
    "kubernetes:gateway.networking.k8s.io/v1:Gateway": _load_balancer(None),
    "aws:route53/healthCheck:HealthCheck": _health_check,
    "aws:route53/record:Record": _dns_queries,
    "gcp:dns/recordSet:RecordSet": _dns_queries,
    "gcp:compute/healthCheck:HealthCheck": _unpriced(
        "Cloud DNS health check of external endpoints"
    ),
    "gcp:compute/globalAddress:GlobalAddress": _unpriced("static external IP address"),
    "aws:kms/key:Key": _kms_key("aws"),
    "aws:kms/replicaKey:ReplicaKey": _kms_key("aws"),
    "gcp:kms/cryptoKey:CryptoKey": _kms_key("gcp"),
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "gcp:compute/subnetwork:Subnetwork": _subnetwork,
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": _s3_replication,
    "gcp:storage/transferJob:TransferJob": _transfer_job,
    "gcp:storage/bucket:Bucket": _gcs_bucket,
    "aws:amp/workspace:Workspace": _usage_billed(
        "AMP workspace", "samples ingested, stored and queried"
    ),
    "aws:amp/scraper:Scraper": _usage_billed("AMP managed collector", "samples collected"),
    "aws:sns/topic:Topic": _usage_billed("SNS topic", "notifications delivered"),
    # Users get their Grafana role in IAM Identity Center, which the stack file does not name.
    "aws:grafana/workspace:Workspace": _usage_billed(
        "Amazon Managed Grafana workspace", "active editor and viewer users a month"
    ),
    "gcp:monitoring/alertPolicy:AlertPolicy": _usage_billed(
        "alert policy", "conditions and time series returned per month"
    ),
    "gcp:logging/metric:Metric": _usage_billed(
        "log-based metric", "samples ingested as a user-defined metric"
    ),
    "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": _usage_billed(
        "uptime check", "check executions beyond the free allotment"
    ),
    "aws:synthetics/canary:Canary": _canary,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _usage_billed(
        "CloudWatch alarm", "per alarm metric a month"
    ),
}
"""What each priced resource type costs; every other type costs nothing by itself."""

PRICED_TYPES = frozenset(_PRICERS)


def _storage_lines(usage: Usage, ctx: _Context) -> Priced:
    gb = usage.model_gb
    if not gb:
        return
    for cloud, region in usage.storage_regions:
        price = catalog.service_price(cloud, "object_storage")
        item = f"{len(usage.models)} model versions, {gb:g} GB"
        yield _line(region, MODEL_STORAGE, item, price, gb, gb, "GB", None, ctx)


def estimate(
    resources: Iterable[Resource],
    usage: Usage | None = None,
    *,
    budget_usd: float | None = None,
    assumptions: Assumptions | None = None,
) -> Estimate:
    """Price ``resources`` (and ``usage``) at minimum and maximum scale."""
    ctx = _Context(list(resources), usage, assumptions or Assumptions())
    found: list[Line | Unpriced] = []
    for r in ctx.resources:
        pricer = _PRICERS.get(r.type)
        if pricer is not None:
            found.extend(pricer(r, ctx))
    if usage is not None:
        found.extend(_storage_lines(usage, ctx))
    lines = [x for x in found if isinstance(x, Line)]
    unpriced = [x for x in found if isinstance(x, Unpriced)]

    def order(x: Line | Unpriced) -> tuple[str, str, str]:
        return (x.region, x.kind, x.item)

    lines.sort(key=order)
    unpriced.sort(key=order)
    models = usage.models if usage is not None else ()
    return Estimate(lines, unpriced, ctx.assumptions, budget_usd, models)

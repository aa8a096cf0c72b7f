"""The fleet spec: a typed, cloud-neutral model of one stack's configuration.

A stack file holds the whole fleet under the structured key ``llmfleet:fleet``::

    config:
      llmfleet:fleet:
        name: llm-dev
        environment: dev
        regions:
          - {cloud: aws, region: us-east-1, cidr: 10.10.0.0/16}

This module is the only place configuration is validated. ``parse_fleet`` turns the raw mapping
into a ``FleetSpec`` or raises ``SpecError``, whose every line names the path in the stack file
(``fleet.regions[1].cidr``) and what is allowed there. Components take the parsed models and
never read ``pulumi.Config`` themselves.

One pass reports every independent problem: each model's rules collect all their violations
(``RuleViolations``), and rules that need only the raw input (a GCP region needs ``pods_cidr``)
still run when another field of the same model is invalid. A configuration a cloud would
refuse (a reserved name, an unreleased Kubernetes version, a TPU slice the generation cannot
form, a pods range too small for the nodes) is refused here, not at ``pulumi up``.
"""

from __future__ import annotations

import datetime
import difflib
import ipaddress
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from ipaddress import IPv4Network
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from llmfleet.components import catalog, gpu_fit
from llmfleet.components.k8s.scheduling import SYSTEM_POOL

Cloud = Literal["aws", "gcp"]
Environment = Literal["dev", "staging", "prod"]

DnsLabel = Annotated[
    str, StringConstraints(pattern=r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$", max_length=32)
]
"""Lowercase letters, digits and dashes, starting with a letter, 1-32 characters: safe as a
Kubernetes name, a GCP resource name prefix and an AWS name tag."""

FleetName = Annotated[
    str, StringConstraints(pattern=r"^[a-z]([-a-z0-9]{0,14}[a-z0-9])?$", max_length=16)
]
"""A DnsLabel of at most 16 characters: resource names prefix it to region names, and GKE
cluster names (``<fleet>-<region>``) are limited to 40 characters."""

LabelValue = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-_a-z0-9]{0,61}[a-z0-9])?$")]
"""A value that is valid both as an AWS tag and as a GCP label value."""

LabelKey = Annotated[str, StringConstraints(pattern=r"^[a-z]([-_a-z0-9]{0,61}[a-z0-9])?$")]
"""A key that is valid both as an AWS tag key and as a GCP label key."""

ALLOWED_RANGES = tuple(
    ipaddress.ip_network(r)
    for r in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)
"""Where fleet networks may live: RFC 1918 private space and RFC 6598 shared space."""

GCP_CONTROL_PLANE_RANGE = ipaddress.ip_network("172.16.0.0/16")
"""Where GKE private control planes get their /28s; region networks must stay clear of it."""


PublishedModels = Mapping[tuple[str, str], str]
"""(model name, version) -> the source that version was published from."""


class RuleViolation(ValueError):
    """A cross-field rule broken at ``loc``, relative to the model whose validator raised it."""

    def __init__(self, loc: tuple[str | int, ...], message: str):
        super().__init__(message)
        self.loc = loc
        self.message = message


class RuleViolations(ValueError):
    """Every rule a model's validator found broken, reported together."""

    def __init__(self, violations: list[RuleViolation]):
        super().__init__("; ".join(v.message for v in violations))
        self.violations = violations


def _raise_all(violations: Iterable[RuleViolation]) -> None:
    found = list(violations)
    if len(found) == 1:
        raise found[0]
    if found:
        raise RuleViolations(found)


def _did_you_mean(value: object, choices: Iterable[str]) -> str:
    """``did you mean 'gpu_pools'?`` when ``value`` is close to one of ``choices``, else ''."""
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.85)
    return f"did you mean '{close[0]}'?" if close else ""


def _not_one_of(problem: str, value: object, choices: Iterable[str]) -> str:
    """``<problem> (did you mean 'us-east-1'?); allowed: <choices>``."""
    options = sorted(choices)
    hint = _did_you_mean(value, options)
    return f"{problem}{f' ({hint})' if hint else ''}; allowed: {', '.join(options)}"


class SpecError(ValueError):
    """An invalid fleet configuration: one ``(path, message)`` per problem."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("\n".join(f"{path}: {message}" for path, message in problems))


class _Spec(BaseModel):
    # Field docstrings become the descriptions of `llmfleet schema`, which editors show.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, use_attribute_docstrings=True)

    @classmethod
    def _raw_rules(cls, data: dict[str, Any]) -> Iterator[RuleViolation]:
        """Rules that need only the raw mapping: parse_fleet runs them when validation failed,
        because an invalid field stops the model's own rules (see _raw_problems)."""
        return iter(())


def _chips(topology: str) -> int:
    return math.prod(int(side) for side in topology.split("x"))


def _private_rule(network: IPv4Network, loc: tuple[str | int, ...]) -> Iterator[RuleViolation]:
    if not any(network.subnet_of(allowed) for allowed in ALLOWED_RANGES):
        yield RuleViolation(
            loc,
            f"{network} is not private address space; allowed: "
            + ", ".join(map(str, ALLOWED_RANGES)),
        )


CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731)
CLOUDWATCH_RETENTION_DAYS += (1096, 1827, 2192, 2557, 2922, 3288, 3653)
"""The retention periods CloudWatch Logs accepts."""


class BudgetSpec(_Spec):
    """What the fleet may cost and how many accelerators it may run at most."""

    monthly_usd: float = Field(gt=0, allow_inf_nan=False)
    """Monthly budget in USD; the plan refuses a fleet whose maximum scale costs more."""
    max_accelerators: int = Field(default=64, ge=0)
    """Cap on GPUs / TPU chips across all pools at their maximum scale."""


class NetworkSpec(_Spec):
    """How a region's network behaves. Addresses live on the region itself."""

    nat: Literal["per-zone", "single"] | None = None
    """AWS NAT gateways: one per zone (survives a zone outage) or one shared (cheaper).
    Default: per-zone in prod, single otherwise."""
    private_endpoints: bool | None = None
    """Interface endpoints for ECR and STS so private nodes pull images and get credentials
    without the NAT. Default: on in prod and staging, off in dev."""
    flow_logs: bool = True
    """VPC flow logs (AWS to CloudWatch Logs, GCP subnet flow logs)."""
    flow_log_retention_days: int | None = None
    """How long AWS flow-log records are kept: a CloudWatch Logs retention period. Default:
    the fleet's log retention (365 days in prod, 90 otherwise)."""

    @field_validator("flow_log_retention_days")
    @classmethod
    def _cloudwatch_retention(cls, days: int | None) -> int | None:
        if days is not None and days not in CLOUDWATCH_RETENTION_DAYS:
            allowed = ", ".join(map(str, CLOUDWATCH_RETENTION_DAYS))
            raise RuleViolation((), f"{days} is not allowed; use one of {allowed}")
        return days


class GpuPoolSpec(_Spec):
    """A pool of accelerator nodes that scales between ``min_nodes`` and ``max_nodes``."""

    name: DnsLabel
    """Pool name, unique in the region; becomes the ``llmfleet.io/pool`` node label."""
    accelerator: str
    """Catalog accelerator name, e.g. ``nvidia-l4`` or ``tpu-v5e``."""
    count: int = Field(default=1, ge=1, le=256)
    """Accelerators per node (GPUs, or TPU chips per slice host)."""
    instance_type: str | None = None
    """Explicit instance / machine type overriding the catalog's choice."""
    min_nodes: int = Field(default=0, ge=0)
    """Nodes kept when idle; 0 lets the pool scale to zero."""
    max_nodes: int = Field(default=1, ge=1, le=1000)
    """Upper bound the autoscaler may reach."""
    spot: bool = False
    """Run on spot / preemptible capacity: the same as ``capacity: spot``."""
    capacity: catalog.CapacityKind | None = None
    """How nodes are obtained: ``on-demand``, ``spot``, ``flex-start`` (GKE Dynamic Workload
    Scheduler: a node as soon as capacity frees up, for at most seven days), ``reservation`` (a
    GCP reservation or an EC2 On-Demand Capacity Reservation) or ``capacity-block`` (an EC2
    Capacity Block for ML). The type must be sold that way (catalog). Default: ``spot`` with
    ``spot: true``, else ``on-demand``."""
    reservation: str | None = None
    """With ``reservation`` or ``capacity-block``: the GCP reservation name
    (``projects/<project>/reservations/<name>`` for one shared from another project) or the EC2
    capacity reservation ID (``cr-0123456789abcdef0``)."""
    on_demand_fallback: bool = True
    """With spot or an EC2 reservation: fall back to on-demand capacity when none is left
    (AWS Karpenter)."""
    tpu_topology: str | None = Field(default=None, pattern=r"^[1-9]\d{0,2}(x[1-9]\d{0,2}){1,2}$")
    """TPU slice topology (``2x4``); TPU pools only. A slice larger than one host is
    provisioned whole: the pool then always has the slice's hosts, whatever min/max_nodes say."""

    @model_validator(mode="after")
    def _min_not_above_max(self) -> GpuPoolSpec:
        if self.min_nodes > self.max_nodes:
            raise RuleViolation(
                ("min_nodes",), f"{self.min_nodes} is above max_nodes {self.max_nodes}"
            )
        return self

    @model_validator(mode="after")
    def _capacity(self) -> GpuPoolSpec:
        if self.capacity is None:
            self.capacity = "spot" if self.spot else "on-demand"
        elif self.spot and self.capacity != "spot":
            raise RuleViolation(
                ("capacity",), f"'{self.capacity}' contradicts spot: true; keep one of them"
            )
        self.spot = self.capacity == "spot"
        reserved = self.capacity in RESERVED_CAPACITY
        if reserved and self.reservation is None:
            raise RuleViolation(
                ("reservation",), f"required with capacity {self.capacity}: name the reservation"
            )
        if not reserved and self.reservation is not None:
            raise RuleViolation(
                ("reservation",),
                f"only with capacity {' or '.join(RESERVED_CAPACITY)}, not {self.capacity}",
            )
        if self.capacity == "flex-start" and self.min_nodes:
            raise RuleViolation(
                ("min_nodes",),
                "flex-start nodes come and go with free capacity: use 0 and let the pool scale",
            )
        return self


RESERVED_CAPACITY = ("reservation", "capacity-block")
"""Capacity kinds that consume a named reservation."""

GCP_RESERVATION = re.compile(
    r"^(projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/reservations/)?[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
)
AWS_RESERVATION = re.compile(r"^cr-[0-9a-f]{17}$")


class SystemPoolSpec(_Spec):
    """The always-on node pool for cluster add-ons (DNS, autoscaler, device plugin)."""

    instance_type: str | None = None
    """Default: the catalog's general-purpose type for the cloud."""
    min_nodes: int = Field(default=2, ge=1)
    max_nodes: int = Field(default=6, ge=1, le=100)

    @model_validator(mode="after")
    def _min_not_above_max(self) -> SystemPoolSpec:
        if self.min_nodes > self.max_nodes:
            raise RuleViolation(
                ("min_nodes",), f"{self.min_nodes} is above max_nodes {self.max_nodes}"
            )
        return self


KUBERNETES_VERSIONS: dict[Cloud, tuple[str, ...]] = {
    # EKS standard and extended support (1.31 left extended support on 2026-11-26).
    "aws": ("1.32", "1.33", "1.34", "1.35", "1.36", "1.37"),
    # GKE release channels Rapid, Regular and Stable.
    "gcp": ("1.33", "1.34", "1.35", "1.36", "1.37"),
}
"""Kubernetes minor versions each cloud offers for new clusters, as of 2026-11-29 (EKS:
docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html; GKE:
cloud.google.com/kubernetes-engine/docs/release-schedule). Update when a version is released or
leaves support."""


WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
Weekday = Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]

GKE_MIN_MAINTENANCE_HOURS_PER_32_DAYS = 48
"""GKE refuses maintenance windows that leave less than 48 hours of maintenance in 32 days."""


class MaintenanceWindowSpec(_Spec):
    """When node images and versions may roll: GKE auto-upgrades (recurring maintenance
    window) and Karpenter drift replacements (disruption budgets) happen only inside it."""

    days: list[Weekday] = Field(default_factory=lambda: ["SA", "SU"], min_length=1)
    """Weekdays the window opens on (``MO`` to ``SU``)."""
    start: str = Field(default="02:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    """Time of day the window opens, UTC (``HH:MM``)."""
    hours: int = Field(default=8, ge=4, le=24)
    """How long the window stays open; GKE needs at least 4 contiguous hours."""

    @field_validator("days")
    @classmethod
    def _days_unique(cls, days: list[str]) -> list[str]:
        if len(set(days)) != len(days):
            raise RuleViolation((), f"{', '.join(days)} repeats a day")
        return sorted(days, key=WEEKDAYS.index)

    @model_validator(mode="after")
    def _enough_for_gke(self) -> MaintenanceWindowSpec:
        if self.hours == 24 and len(self.days) == 7:
            raise RuleViolation(("hours",), "an always-open window is no window; use fewer hours")
        per_32_days = len(self.days) * self.hours * 32 / 7
        if per_32_days < GKE_MIN_MAINTENANCE_HOURS_PER_32_DAYS:
            raise RuleViolation(
                ("hours",),
                f"{len(self.days)} day(s) x {self.hours} h gives {per_32_days:.0f} h in 32 days; "
                f"GKE needs {GKE_MIN_MAINTENANCE_HOURS_PER_32_DAYS}: add days or hours",
            )
        return self


class MaintenanceExclusionSpec(_Spec):
    """A period in which GKE does not upgrade (a launch, a freeze)."""

    name: DnsLabel
    start: datetime.datetime
    """Start, RFC 3339 with a time zone (``2026-12-20T00:00:00Z``)."""
    end: datetime.datetime
    scope: Literal["NO_UPGRADES", "NO_MINOR_UPGRADES", "NO_MINOR_OR_NODE_UPGRADES"] = (
        "NO_MINOR_OR_NODE_UPGRADES"
    )
    """What GKE holds back: everything (at most 30 days), minor versions, or minor versions
    and node upgrades (security patches of the control plane still apply)."""

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceExclusionSpec:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise RuleViolation(("start",), "give a time zone, e.g. 2026-12-20T00:00:00Z")
        if self.end <= self.start:
            raise RuleViolation(("end",), f"{self.end.isoformat()} is not after start")
        if self.scope == "NO_UPGRADES" and self.end - self.start > datetime.timedelta(days=30):
            raise RuleViolation(("end",), "NO_UPGRADES lasts at most 30 days in GKE")
        return self


EKS_NODE_IMAGE = "al2023@v20260520"
"""The EKS-optimized AL2023 AMI release GPU nodes run by default: a release published for
every Kubernetes version llmfleet defaults to. Bumped deliberately, after the new release ran
outside prod; nodes then roll inside the maintenance window."""


class ClusterSpec(_Spec):
    """The region's Kubernetes cluster (EKS on AWS, regional GKE Standard on GCP)."""

    kubernetes_version: str = Field(default="1.35", pattern=r"^1\.\d{1,2}$")
    """Kubernetes minor version the cloud offers (``KUBERNETES_VERSIONS``), e.g. ``1.35``."""
    public_access_cidrs: list[IPv4Network] = Field(default_factory=list)
    """CIDRs allowed to reach the API server publicly; empty keeps the endpoint private."""
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = "REGULAR"
    """GKE release channel: how soon new versions reach the cluster (within the maintenance
    window and exclusions)."""
    node_image: str = Field(default=EKS_NODE_IMAGE, pattern=r"^al2023@(latest|v\d{8})$")
    """EKS: the EKS-optimized AL2023 AMI release of Karpenter's GPU nodes,
    ``al2023@vYYYYMMDD``, published for the cluster's Kubernetes version. ``al2023@latest``
    (new AMIs as soon as AWS publishes them) only outside prod."""
    eks_support: Literal["STANDARD", "EXTENDED"] | None = None
    """EKS support policy. ``EXTENDED``: a version past standard support keeps running (billed
    at the extended-support rate) until ``kubernetes_version`` is raised. ``STANDARD``: EKS
    upgrades the control plane itself at the end of standard support; raise
    ``kubernetes_version`` to the new version afterwards, or ``pulumi up`` tries to downgrade
    it. Default: EXTENDED in prod, STANDARD elsewhere."""
    maintenance_window: MaintenanceWindowSpec = Field(default_factory=MaintenanceWindowSpec)
    maintenance_exclusions: list[MaintenanceExclusionSpec] = Field(default_factory=list)
    """GKE: periods without upgrades."""
    system_pool: SystemPoolSpec = Field(default_factory=SystemPoolSpec)
    gpu_pools: list[GpuPoolSpec] = Field(default_factory=list)

    @field_validator("public_access_cidrs")
    @classmethod
    def _no_open_world(cls, cidrs: list[IPv4Network]) -> list[IPv4Network]:
        for i, cidr in enumerate(cidrs):
            if cidr.prefixlen == 0:
                raise RuleViolation(
                    (i,), "0.0.0.0/0 opens the API server to the internet; list your CIDRs"
                )
        return cidrs

    @model_validator(mode="after")
    def _pool_names_unique(self) -> ClusterSpec:
        seen: dict[str, int] = {}
        for i, pool in enumerate(self.gpu_pools):
            if pool.name == SYSTEM_POOL:
                raise RuleViolation(
                    ("gpu_pools", i, "name"), f"'{SYSTEM_POOL}' is the system pool's name"
                )
            if pool.name in seen:
                raise RuleViolation(
                    ("gpu_pools", i, "name"),
                    f"'{pool.name}' is already used by gpu_pools[{seen[pool.name]}]",
                )
            seen[pool.name] = i
        return self


class RegionSpec(_Spec):
    """One serving region: its network addresses, network behaviour and cluster."""

    cloud: Cloud
    region: str
    """Cloud region name from the catalog, e.g. ``us-east-1`` or ``us-central1``."""
    zones: int = Field(default=3, ge=1, le=6)
    """How many of the region's zones the network and cluster span."""
    cidr: IPv4Network
    """The region's network: the VPC (AWS, /16 to /20) or the node subnet (GCP, /16 to /24)."""
    pods_cidr: IPv4Network | None = None
    """GCP only, required there: secondary range for pod IPs (VPC-native GKE), /21 or larger."""
    services_cidr: IPv4Network | None = None
    """GCP only, required there: secondary range for Service cluster IPs, /24 or larger."""
    network: NetworkSpec = Field(default_factory=NetworkSpec)
    cluster: ClusterSpec = Field(default_factory=ClusterSpec)

    @property
    def key(self) -> str:
        """``aws-us-east-1``: unique in the fleet, used in child resource names."""
        return f"{self.cloud}-{self.region}"

    @property
    def zone_names(self) -> tuple[str, ...]:
        """The zones the region's network and cluster span, in catalog order."""
        return catalog.region(self.cloud, self.region).zones[: self.zones]

    def address_ranges(self) -> Iterator[tuple[str, IPv4Network]]:
        """Every range the region claims, with its field name."""
        yield "cidr", self.cidr
        if self.pods_cidr is not None:
            yield "pods_cidr", self.pods_cidr
        if self.services_cidr is not None:
            yield "services_cidr", self.services_cidr

    def instance_type_for(self, pool: GpuPoolSpec) -> catalog.InstanceType:
        """The catalog instance / machine type a pool of this region runs on."""
        if pool.instance_type is not None:
            return catalog.instance_type(self.cloud, pool.instance_type)
        return catalog.resolve(self.cloud, pool.accelerator, pool.count, self.region)

    def pool_zones(self, pool: GpuPoolSpec) -> tuple[str, ...]:
        """The zones a pool's nodes run in.

        On GCP: the cluster's zones that offer the pool's machine type (its GKE node locations),
        and only the first of them for a TPU slice, which lives in one zone. On AWS: the
        cluster's zones; Karpenter narrows them to the zone IDs offering the type, since zone
        names map to physical zones differently in every account.
        """
        machine = self.instance_type_for(pool)
        if self.cloud == "aws" or not machine.zones:
            return self.zone_names
        zones = catalog.zones_offering(machine, self.region, self.zone_names)
        if machine.tpu_topology is not None:
            return zones[:1]
        return zones

    def slice_hosts(self, pool: GpuPoolSpec) -> int:
        """Hosts of one TPU slice of the pool: 1 for GPU pools and single-host slices."""
        if pool.tpu_topology is None:
            return 1
        return max(1, _chips(pool.tpu_topology) // self.instance_type_for(pool).accelerator_count)

    def has_on_demand_capacity(self, pool: GpuPoolSpec) -> bool:
        """Whether pods pinned to on-demand nodes can get them in ``pool``: any pool that is not
        spot, or an AWS spot pool falling back to on-demand (one Karpenter NodePool allows
        both). A GKE spot node pool has spot nodes only."""
        if pool.capacity != "spot":
            return True
        return self.cloud == "aws" and pool.on_demand_fallback

    def pool_nodes(self, pool: GpuPoolSpec) -> tuple[int, int]:
        """The pool's (min, max) nodes: a multi-host TPU slice is provisioned whole, so it
        always has its hosts; every other pool scales between min_nodes and max_nodes."""
        hosts = self.slice_hosts(pool)
        if hosts > 1:
            return hosts, hosts
        return pool.min_nodes, pool.max_nodes

    def pool_max_accelerators(self, pool: GpuPoolSpec) -> int:
        """GPUs / TPU chips the pool runs at its maximum."""
        return self.pool_nodes(pool)[1] * self.instance_type_for(pool).accelerator_count

    def max_nodes(self) -> int:
        """Nodes the cluster reaches with every pool at its maximum, the system pool included."""
        pools = sum(self.pool_nodes(pool)[1] for pool in self.cluster.gpu_pools)
        return self.cluster.system_pool.max_nodes + pools

    @model_validator(mode="after")
    def _rules(self) -> RegionSpec:
        _raise_all(self._violations())
        return self

    def _violations(self) -> Iterator[RuleViolation]:
        region_known = self.region in catalog.regions(self.cloud)
        yield from self._region_rules()
        yield from self._kubernetes_version_rule()
        yield from self._address_rules()
        if region_known:
            # Pool types are offered per region: with an unknown region every pool would fail.
            yield from self._system_pool_rules()
            pools_ok = True
            for i, pool in enumerate(self.cluster.gpu_pools):
                found = list(self._pool_rules(pool, ("cluster", "gpu_pools", i)))
                pools_ok = pools_ok and not found
                yield from found
            if pools_ok:
                yield from self._pods_range_rule()

    @classmethod
    def _raw_rules(cls, data: dict[str, Any]) -> Iterator[RuleViolation]:
        if data.get("cloud") == "gcp":
            for field, largest in GCP_SECONDARY_RANGES.items():
                if data.get(field) is None:
                    yield _secondary_range_required(field, largest)

    def _region_rules(self) -> Iterator[RuleViolation]:
        known = catalog.regions(self.cloud)
        if self.region not in known:
            other = "gcp" if self.cloud == "aws" else "aws"
            if self.region in catalog.regions(other):
                problem = f"'{self.region}' is a region of {other}, not {self.cloud}"
                yield RuleViolation(("region",), f"{problem}; set cloud: {other}")
                return
            problem = f"'{self.region}' is not a known {self.cloud} region"
            yield RuleViolation(("region",), _not_one_of(problem, self.region, known))
            return
        available = len(known[self.region].zones)
        if self.cloud == "aws" and self.zones < 2:
            yield RuleViolation(
                ("zones",), f"{self.zones} is too few; EKS needs subnets in at least 2 zones"
            )
        if self.zones > available:
            yield RuleViolation(
                ("zones",), f"{self.region} has {available} zones in the catalog, not {self.zones}"
            )

    def _kubernetes_version_rule(self) -> Iterator[RuleViolation]:
        offered = KUBERNETES_VERSIONS[self.cloud]
        version = self.cluster.kubernetes_version
        if version not in offered:
            service = "EKS" if self.cloud == "aws" else "GKE"
            newest = max(offered, key=lambda v: int(v.split(".")[1]))
            when = "is not released on" if _minor(version) > _minor(newest) else "is no longer on"
            yield RuleViolation(
                ("cluster", "kubernetes_version"),
                f"'{version}' {when} {service}; use one of {', '.join(offered)}",
            )

    def _system_pool_rules(self) -> Iterator[RuleViolation]:
        chosen = self.cluster.system_pool.instance_type
        if chosen is None:
            return
        loc = ("cluster", "system_pool", "instance_type")
        general = catalog.general_purpose_types(self.cloud)
        if chosen in general:
            return
        try:
            carrying = catalog.instance_type(self.cloud, chosen)
        except catalog.CatalogError:
            problem = f"unknown {self.cloud} general-purpose type '{chosen}'"
            yield RuleViolation(loc, _not_one_of(problem, chosen, general))
            return
        yield RuleViolation(
            loc,
            f"{chosen} carries {carrying.accelerator_count} x {carrying.accelerator}; the system "
            f"pool runs add-ons on a general-purpose type; allowed: {', '.join(general)}",
        )

    def _pool_rules(self, pool: GpuPoolSpec, loc: tuple[str | int, ...]) -> Iterator[RuleViolation]:
        known = catalog.accelerators()
        if pool.accelerator not in known:
            yield RuleViolation(
                (*loc, "accelerator"),
                _not_one_of(f"unknown accelerator '{pool.accelerator}'", pool.accelerator, known),
            )
            return
        accelerator = known[pool.accelerator]
        if accelerator.kind == "tpu" and self.cloud != "gcp":
            yield RuleViolation(
                (*loc, "accelerator"), f"TPUs are only offered on gcp, not {self.cloud}"
            )
            return
        if pool.tpu_topology is not None and accelerator.kind != "tpu":
            yield RuleViolation((*loc, "tpu_topology"), "only for TPU pools")
            return
        machine = yield from self._pool_type_rules(pool, loc)
        if machine is None:
            return
        yield from self._capacity_rules(pool, machine, loc)
        if pool.tpu_topology is not None:
            yield from _topology_rules(pool.tpu_topology, accelerator, machine, loc)

    def _capacity_rules(
        self, pool: GpuPoolSpec, machine: catalog.InstanceType, loc: tuple[str | int, ...]
    ) -> Iterator[RuleViolation]:
        """The pool's capacity kind must be one the cloud sells its type as."""
        if pool.capacity not in machine.capacity:
            yield RuleViolation(
                (*loc, "capacity"),
                f"{machine.name} is not sold as {pool.capacity} capacity; it is offered as: "
                + ", ".join(machine.capacity),
            )
        if pool.reservation is None:
            return
        pattern, example = (
            (AWS_RESERVATION, "cr-0123456789abcdef0")
            if self.cloud == "aws"
            else (GCP_RESERVATION, "my-reservation or projects/<project>/reservations/<name>")
        )
        if not pattern.match(pool.reservation):
            yield RuleViolation(
                (*loc, "reservation"),
                f"'{pool.reservation}' is not a {self.cloud} reservation; use one like {example}",
            )

    def _pool_type_rules(
        self, pool: GpuPoolSpec, loc: tuple[str | int, ...]
    ) -> Iterator[RuleViolation]:
        """The pool's instance type checks; returns the type when it is usable."""
        if pool.instance_type is None:
            try:
                resolved = catalog.resolve(self.cloud, pool.accelerator, pool.count, self.region)
            except catalog.CatalogError as error:
                yield RuleViolation((*loc, "accelerator"), str(error))
                return None
            zones = list(self._pool_zone_rules(resolved, (*loc, "accelerator")))
            yield from zones
            return None if zones else resolved
        try:
            chosen = catalog.instance_type(self.cloud, pool.instance_type)
        except catalog.CatalogError as error:
            yield RuleViolation((*loc, "instance_type"), str(error))
            return None
        if (chosen.accelerator, chosen.accelerator_count) != (pool.accelerator, pool.count):
            yield RuleViolation(
                (*loc, "instance_type"),
                f"{chosen.name} carries {chosen.accelerator_count} x {chosen.accelerator}, "
                f"not {pool.count} x {pool.accelerator}",
            )
            return None
        if self.region not in chosen.regions:
            yield RuleViolation(
                (*loc, "instance_type"),
                f"{chosen.name} is not offered in {self.region}; offered in: "
                + ", ".join(chosen.regions),
            )
            return None
        zones = list(self._pool_zone_rules(chosen, (*loc, "instance_type")))
        yield from zones
        return None if zones else chosen

    def _pool_zone_rules(
        self, machine: catalog.InstanceType, loc: tuple[str | int, ...]
    ) -> Iterator[RuleViolation]:
        """GCP node pools take the cluster zones offering their machine type: there must be one.

        AWS zone names map to physical zones per account, so only Karpenter, at launch time,
        knows which of a cluster's zones offer a type.
        """
        if self.cloud != "gcp" or not machine.zones:
            return
        if catalog.zones_offering(machine, self.region, self.zone_names):
            return
        offered = machine.zones_in(self.region)
        known = catalog.region(self.cloud, self.region).zones
        reachable = [z for z in known if z in offered]
        hint = (
            f"set zones to {known.index(reachable[0]) + 1} or more to span one"
            if reachable
            else "choose another region"
        )
        yield RuleViolation(
            loc,
            f"{machine.name} is offered in {self.region} only in {', '.join(offered)}, none of "
            f"the cluster's zones ({', '.join(self.zone_names)}); {hint}",
        )

    def _pods_range_rule(self) -> Iterator[RuleViolation]:
        pods = self.pods_cidr
        if pods is None or pods.prefixlen > GCP_SECONDARY_RANGES["pods_cidr"]:
            return  # aws, or already refused
        # GKE gives every node a pod range of twice its pods, rounded up to a power of two.
        per_node = 2 ** math.ceil(math.log2(2 * GKE_MAX_PODS_PER_NODE))
        holds = pods.num_addresses // per_node
        needed = self.max_nodes()
        if needed > holds:
            prefix = 32 - math.ceil(math.log2(needed * per_node))
            yield RuleViolation(
                ("pods_cidr",),
                f"{pods} holds pod ranges for {holds} nodes at "
                f"{GKE_MAX_PODS_PER_NODE} pods per node (a /{32 - int(math.log2(per_node))} "
                f"each), but the cluster reaches {needed} nodes (system pool and every gpu pool "
                f"at max_nodes); use a /{prefix} or larger",
            )
        nodes_fit = self.cidr.num_addresses - 4  # GCP reserves four addresses per subnet
        if needed > nodes_fit:
            yield RuleViolation(
                ("cidr",),
                f"{self.cidr} has {nodes_fit} node addresses, but the cluster reaches {needed} "
                "nodes",
            )

    def _address_rules(self) -> Iterator[RuleViolation]:
        smallest = 20 if self.cloud == "aws" else 24
        if not 16 <= self.cidr.prefixlen <= smallest:
            yield RuleViolation(
                ("cidr",), f"/{self.cidr.prefixlen} is outside /16 to /{smallest} for {self.cloud}"
            )
        if self.cloud == "aws":
            for field in ("pods_cidr", "services_cidr"):
                if getattr(self, field) is not None:
                    yield RuleViolation(
                        (field,), "only for gcp regions; on aws pods take VPC addresses"
                    )
        else:
            yield from self._gcp_secondary_range_rules()
        for field, network in self.address_ranges():
            yield from _private_rule(network, (field,))
            if self.cloud == "gcp" and network.overlaps(GCP_CONTROL_PLANE_RANGE):
                yield RuleViolation(
                    (field,),
                    f"{network} overlaps {GCP_CONTROL_PLANE_RANGE}, kept for GKE control planes",
                )
        ranges = list(self.address_ranges())
        for i, (field, network) in enumerate(ranges):
            for other_field, other in ranges[:i]:
                if network.overlaps(other):
                    yield RuleViolation((field,), f"{network} overlaps {other_field} {other}")

    def _gcp_secondary_range_rules(self) -> Iterator[RuleViolation]:
        for field, largest in GCP_SECONDARY_RANGES.items():
            network = getattr(self, field)
            if network is None:
                yield _secondary_range_required(field, largest)
            elif network.prefixlen > largest:
                yield RuleViolation(
                    (field,), f"/{network.prefixlen} is too small; allowed: /{largest} or larger"
                )


GCP_SECONDARY_RANGES = {"pods_cidr": 21, "services_cidr": 24}
"""GKE's secondary ranges and the smallest prefix llmfleet allows for each."""

GKE_MAX_PODS_PER_NODE = 110
"""GKE Standard's default maximum pods per node, which sizes each node's pod range."""


def _secondary_range_required(field: str, largest: int) -> RuleViolation:
    return RuleViolation(
        (field,), f"required for gcp regions (a /{largest} or larger private range)"
    )


def _minor(version: str) -> int:
    return int(version.split(".")[1])


def _topology_rules(
    topology: str,
    accelerator: catalog.Accelerator,
    machine: catalog.InstanceType,
    loc: tuple[str | int, ...],
) -> Iterator[RuleViolation]:
    """A TPU slice shape the generation forms, on hosts it can be built from."""
    here = (*loc, "tpu_topology")
    shapes = accelerator.slice_topologies
    if topology not in shapes:
        yield RuleViolation(
            here,
            f"{accelerator.name} does not form a {topology} slice; its slice shapes: "
            + ", ".join(shapes),
        )
        return
    chips, per_host = _chips(topology), machine.accelerator_count
    if chips < per_host:
        yield RuleViolation(
            here, f"{topology} is {chips} chips, fewer than one {per_host}-chip {machine.name}"
        )
    elif chips == per_host and topology != machine.tpu_topology:
        yield RuleViolation(
            here, f"a {machine.name} host is a {machine.tpu_topology} slice, not {topology}"
        )
    elif chips > per_host and per_host != accelerator.multi_host_chips:
        yield RuleViolation(
            here,
            f"a {topology} slice spans several hosts, and {accelerator.name} builds those only "
            f"from {accelerator.multi_host_chips}-chip hosts (count: "
            f"{accelerator.multi_host_chips}), not {per_host}-chip {machine.name}",
        )


class StorageSpec(_Spec):
    """Model storage: a primary bucket and its replicas in the serving regions."""

    primary_region: str | None = None
    """Region (name) models are published to; default: the first region. With AWS regions in
    the fleet it must be an AWS region (GCS pulls from S3; nothing pushes from GCS to S3)."""
    replicas: list[str] | None = None
    """Regions that keep a copy; default: every other fleet region. Serving runs only in the
    primary region and its replicas, so pods never read weights across regions."""
    replication_time_control: bool = False
    """AWS S3 Replication Time Control (15-minute SLA, extra cost)."""
    replicate_deletes: bool = False
    """Replicate delete markers; off keeps replicas safe from an accidental delete."""
    noncurrent_version_days: int = Field(default=30, ge=1, le=3650)
    """How long overwritten object versions are kept before expiry."""


class ModelSpec(_Spec):
    """One immutable model version published to fleet storage."""

    name: DnsLabel
    version: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][-._a-z0-9]{0,31}$")]
    source: Annotated[str, StringConstraints(pattern=r"^(s3|gs|hf)://\S+$")]
    """Where the weights are published from: ``s3://``, ``gs://`` or ``hf://org/model``."""
    parameters_b: float | None = Field(default=None, gt=0, le=10000)
    """Parameter count in billions (``8`` for an 8B model); with ``dtype`` it sizes the
    weights for the GPU-fit check. A served model needs this or ``weights_gib``."""
    dtype: gpu_fit.WeightDtype = "bf16"
    """Dtype of the published weights: ``bf16``, ``fp8``, ``int8`` or ``int4``."""
    weights_gib: float | None = Field(default=None, gt=0)
    """Size of the weights in GiB, when known exactly; overrides parameters x dtype."""
    kv_cache_kib_per_token: float | None = Field(default=None, gt=0)
    """KV-cache size of one token in KiB: 2 x layers x KV heads x head size x KV dtype bytes
    / 1024 (from the model's config.json). Default: an estimate from ``parameters_b`` that is
    at or above the Llama 3 family's."""

    @property
    def sized(self) -> bool:
        """Whether the GPU-fit check can size this model."""
        return self.parameters_b is not None or self.weights_gib is not None

    def weights_size_gib(self) -> float:
        """GiB of weights one replica loads."""
        if self.weights_gib is not None:
            return self.weights_gib
        if self.parameters_b is None:
            raise ValueError(f"{self.name} {self.version} has neither parameters_b nor weights_gib")
        return gpu_fit.weights_gib(self.parameters_b, self.dtype)

    def kv_cache_gib(self, tokens: int) -> float:
        """GiB of KV cache ``tokens`` tokens of one sequence take."""
        per_token = self.kv_cache_kib_per_token
        if per_token is None:
            parameters_b = self.parameters_b
            if parameters_b is None:
                # Only the size is known: count the parameters it holds at the stated dtype.
                parameters_b = (
                    self.weights_size_gib() * gpu_fit.GIB / gpu_fit.DTYPE_BYTES[self.dtype] / 1e9
                )
            per_token = gpu_fit.default_kv_kib_per_token(parameters_b)
        return tokens * per_token / 2**20


class CanarySpec(_Spec):
    """A second model version served beside the stable one, taking a share of the requests."""

    version: str
    """Version of the serving entry's model to roll out; must be listed in ``models``."""
    weight: int = 10
    """Percentage of requests the canary takes, 1 to 99; the stable version takes the rest."""

    @field_validator("weight")
    @classmethod
    def _a_share(cls, weight: int) -> int:
        if not 1 <= weight <= 99:
            raise RuleViolation(
                (),
                f"{weight} is outside 1 to 99 (percent of requests to the canary); to finish a "
                "rollout set serving.version to the canary version and remove canary",
            )
        return weight


TENSOR_PARALLEL_SIZES = (1, 2, 4, 8)
"""Tensor-parallel degrees vLLM shards attention heads over on one node."""


MAX_REPLICAS = 1000
"""Replicas of one serving deployment in one region: beyond what any llmfleet pool holds."""

RESERVED_NAMESPACES = ("default", "nvidia")
"""Namespaces that exist in every cluster or that llmfleet's add-ons use."""

RESERVED_NAMESPACE_PREFIXES = ("kube-", "gke-", "gmp-")
"""Namespace prefixes Kubernetes (kube-) and GKE (gke-, gmp-) reserve for their own."""


class ServingSpec(_Spec):
    """A model-serving deployment (vLLM) on a GPU pool in one or more regions."""

    name: DnsLabel
    """Deployment name, unique in the fleet: its namespace and route name on every cluster."""
    model: str
    """Name of a model in ``models``."""
    version: str
    """Version of that model to serve (the stable version when a canary runs)."""
    pool: str
    """GPU pool name the deployment runs on."""
    regions: list[str] = Field(default_factory=list)
    """Regions to serve from; default: every region with the pool."""
    engine: Literal["vllm"] = "vllm"
    min_replicas: int = Field(default=1, ge=0, le=MAX_REPLICAS)
    """Replicas kept per region when idle. 0 scales to zero: requests then go through the KEDA
    HTTP add-on's interceptor, which holds the first one through a cold start of minutes (a
    node, the image, the weights); in prod that needs ``scale_to_zero: true``. Not with a
    canary."""
    max_replicas: int = Field(default=2, ge=1, le=MAX_REPLICAS)
    """Replicas per region the autoscaler may reach."""
    scale_to_zero: bool = False
    """Prod opt-in for ``min_replicas: 0``: accept minutes of cold start on the first request."""
    tensor_parallel_size: int | None = None
    """GPUs one vLLM process shards the model over: 1, 2, 4 or 8, dividing the pool's GPUs per
    node. Default: every GPU of the node."""
    nodes_per_replica: int = Field(default=1, ge=1, le=16)
    """Nodes one replica spans (pipeline parallel across nodes, a LeaderWorkerSet); above 1 each
    node gives all its GPUs to the replica."""
    max_model_len: int = Field(default=8192, ge=256, le=1048576)
    """Longest sequence (prompt + output tokens) served; the GPU-fit check reserves KV cache for
    one sequence of this length."""
    canary: CanarySpec | None = None
    """A second version taking ``weight`` percent of the requests; none: stable only."""
    on_demand_replicas: int = Field(default=0, ge=0, le=MAX_REPLICAS)
    """Replicas per region kept on on-demand nodes while the rest run on spot, so a wave of
    spot reclaims never takes the entry down. They always run: part of ``min_replicas`` (at
    most that) and of ``max_replicas``. On a pool that is not spot every replica is on-demand
    capacity already. A spot pool needs on-demand capacity for them: on AWS
    ``on_demand_fallback`` (the default); a GKE spot node pool has none. Default 0."""

    @field_validator("tensor_parallel_size")
    @classmethod
    def _tensor_parallel_degree(cls, size: int | None) -> int | None:
        if size is not None and size not in TENSOR_PARALLEL_SIZES:
            raise RuleViolation(
                (),
                f"{size} is not allowed; use one of {', '.join(map(str, TENSOR_PARALLEL_SIZES))}",
            )
        return size

    @field_validator("name")
    @classmethod
    def _not_a_reserved_namespace(cls, name: str) -> str:
        # The name is the deployment's namespace in every cluster.
        if name in RESERVED_NAMESPACES or name.startswith(RESERVED_NAMESPACE_PREFIXES):
            raise RuleViolation(
                (),
                f"'{name}' is a namespace Kubernetes, GKE or llmfleet keeps for itself (reserved: "
                f"{', '.join(RESERVED_NAMESPACES)} and names starting "
                f"{', '.join(RESERVED_NAMESPACE_PREFIXES)}); pick another name",
            )
        return name

    @property
    def idle_replicas(self) -> int:
        """Replicas that run per region while no request arrives: ``min_replicas``. At 0 the
        fleet installs the KEDA HTTP add-on on the entry's clusters, whose interceptor sees
        requests while no replica runs and wakes the first one."""
        return self.min_replicas

    @model_validator(mode="after")
    def _min_not_above_max(self) -> ServingSpec:
        if self.min_replicas > self.max_replicas:
            raise RuleViolation(
                ("min_replicas",), f"{self.min_replicas} is above max_replicas {self.max_replicas}"
            )
        return self

    @model_validator(mode="after")
    def _canary_is_another_version(self) -> ServingSpec:
        if self.canary is not None and self.canary.version == self.version:
            raise RuleViolation(
                ("canary", "version"), f"'{self.version}' is already the stable version"
            )
        return self

    @model_validator(mode="after")
    def _on_demand_within_replicas(self) -> ServingSpec:
        pinned = self.on_demand_replicas
        if pinned and pinned >= self.max_replicas:
            raise RuleViolation(
                ("on_demand_replicas",),
                f"{pinned} is not below max_replicas {self.max_replicas}: no replica would run "
                "on spot; lower on_demand_replicas, raise max_replicas or serve from an "
                "on-demand pool",
            )
        if pinned > self.min_replicas:
            raise RuleViolation(
                ("on_demand_replicas",),
                f"{pinned} is above min_replicas {self.min_replicas}: on-demand replicas always "
                "run; lower on_demand_replicas or raise min_replicas",
            )
        return self

    @model_validator(mode="after")
    def _no_canary_at_zero(self) -> ServingSpec:
        # At zero the route goes to the HTTP add-on's interceptor, which picks one version by
        # the header the route rule sets: a weighted split between versions cannot pass it.
        if self.canary is not None and self.min_replicas == 0:
            raise RuleViolation(
                ("canary",),
                f"a canary needs running replicas to split traffic over, but min_replicas is 0 "
                f"(scale to zero); set min_replicas: 1 while {self.canary.version} rolls out, "
                "or remove canary",
            )
        return self

    def tensor_parallel(self, pool: GpuPoolSpec) -> int:
        """The tensor-parallel degree on ``pool``: the explicit one or every GPU of a node."""
        return self.tensor_parallel_size or pool.count

    def accelerators_per_replica(self, pool: GpuPoolSpec) -> int:
        """Accelerators one replica holds over all its nodes."""
        return self.tensor_parallel(pool) * self.nodes_per_replica

    def versions(self) -> list[str]:
        """The versions served: the stable one, then the canary."""
        return [self.version] + ([self.canary.version] if self.canary else [])


def latency_regions(regions: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The AWS region Route 53 measures each ``(cloud, region)``'s latency from, for one name:
    an AWS region its own, a GCP region the nearest one (``catalog.nearest_aws_regions``) no
    other region of the set takes, since Route 53 holds one latency record per AWS region and
    name. ValueError when every nearby one is taken."""
    regions = list(regions)
    taken = {region for cloud, region in regions if cloud == "aws"}
    chosen = {region: region for region in taken}
    for cloud, region in regions:
        if cloud == "aws":
            continue
        nearest = catalog.nearest_aws_regions(region)
        free = [r for r in nearest if r not in taken]
        if not free:
            raise ValueError(
                f"{region}: every AWS region near it ({', '.join(nearest)}) already measures "
                "another of the fleet's regions, and Route 53 takes one latency record per AWS "
                "region"
            )
        chosen[region] = free[0]
        taken.add(free[0])
    return chosen


class RoutingSpec(_Spec):
    """The one global endpoint in front of every region's serving deployments."""

    domain: str | None = Field(
        default=None, pattern=r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
    )
    """DNS name of the global endpoint; each serving region answers on ``<region>.<domain>``
    too, both over HTTPS only. None: no public entry (models answer inside their clusters)."""
    policy: Literal["latency", "failover"] = "latency"
    """Route to the nearest healthy region, or to the first region while it is healthy."""
    dns: Literal["route53", "cloud-dns"] | None = None
    """Where ``zone`` lives. Default: route53 when the fleet has AWS regions, else cloud-dns."""
    zone: str | None = Field(
        default=None, pattern=r"^(Z[A-Z0-9]{1,31}|[a-z]([-a-z0-9]{0,61}[a-z0-9])?)$"
    )
    """The existing DNS zone holding ``domain``: a Route 53 hosted zone ID (``Z0123...``) or a
    Cloud DNS managed zone name (in ``gcp_project``). Records and certificate validation go
    there; llmfleet never creates or deletes the zone."""

    @model_validator(mode="after")
    def _zone_with_domain(self) -> RoutingSpec:
        if self.domain is not None and self.zone is None:
            raise RuleViolation(
                ("zone",),
                f"required with domain {self.domain}: name the existing Route 53 hosted zone ID "
                "or Cloud DNS managed zone that holds it",
            )
        return self

    def regional_name(self, region: str) -> str:
        """``us-east-1.llm.example.com``: the name one region answers on."""
        if self.domain is None:
            raise ValueError("routing.domain is not set: the fleet has no public names")
        return f"{region}.{self.domain}"

    def hostnames(self, region: str) -> list[str]:
        """The names a region's entry answers on and its certificate covers: its own, then the
        global one."""
        return [self.regional_name(region), str(self.domain)]


def _fraction(value: float) -> float:
    """A share between 0 and 1 (``0.01`` is 1 %), refused with what it means when outside."""
    if not 0 <= value <= 1:
        raise RuleViolation((), f"{value:g} is outside 0 to 1: give a fraction, e.g. 0.05 for 5 %")
    return value


def _positive(value: float) -> float:
    if value <= 0:
        raise RuleViolation((), f"{value:g} is not above 0: give seconds above 0, e.g. 2.5")
    return value


class SloSpec(_Spec):
    """A serving entry's own objectives, overriding the fleet-wide ones it names."""

    ttft_p95_seconds: float | None = Field(default=None, allow_inf_nan=False)
    """Time to first token the 95th percentile must stay under, in seconds."""
    error_rate: float | None = Field(default=None, allow_inf_nan=False)
    """Share of requests answered with a server error (HTTP 5xx) allowed, 0 to 1."""
    kv_cache_saturation: float | None = Field(default=None, allow_inf_nan=False)
    """KV-cache use (0 to 1) above which a replica counts as saturated."""

    @field_validator("ttft_p95_seconds")
    @classmethod
    def _positive_seconds(cls, value: float | None) -> float | None:
        return value if value is None else _positive(value)

    @field_validator("error_rate", "kv_cache_saturation")
    @classmethod
    def _fractions(cls, value: float | None) -> float | None:
        return value if value is None else _fraction(value)


class NotifySpec(_Spec):
    """Where alerts go: exactly one channel.

    ``email`` and ``webhook`` reach alerts of both clouds (on AWS through an SNS topic the fleet
    creates and subscribes them to); ``sns_topic_arn`` only AWS alerts and ``pubsub_topic`` only
    GCP alerts, so each is refused for a fleet with regions on the other cloud."""

    email: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
    )
    """An address (an on-call list) that receives every alert."""
    sns_topic_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$"
    )
    """An existing SNS topic (your paging integration subscribes to it); its access policy
    must let ``aps.amazonaws.com`` publish."""
    pubsub_topic: str | None = Field(
        default=None,
        pattern=r"^projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/topics/[A-Za-z][-A-Za-z0-9_.~+%]{2,254}$",
    )
    """An existing Pub/Sub topic, ``projects/<project>/topics/<name>``; llmfleet lets Cloud
    Monitoring's notification agent publish to it."""
    webhook: str | None = Field(default=None, pattern=r"^https://[^\s/]+(/\S*)?$")
    """An HTTPS endpoint receiving each alert as JSON (the AWS side confirms an SNS
    subscription first). Keep tokens out of the URL: it is stored in plain text."""

    @model_validator(mode="after")
    def _exactly_one(self) -> NotifySpec:
        given = [name for name in NOTIFY_KINDS if getattr(self, name) is not None]
        if len(given) != 1:
            found = ", ".join(given) or "none"
            raise RuleViolation(
                (), f"give exactly one of {', '.join(NOTIFY_KINDS)} (found: {found})"
            )
        return self

    @property
    def kind(self) -> str:
        """Which channel this is: ``email``, ``sns_topic_arn``, ``pubsub_topic`` or ``webhook``."""
        return next(name for name in NOTIFY_KINDS if getattr(self, name) is not None)

    @property
    def target(self) -> str:
        """The address, topic or URL alerts are sent to."""
        return str(getattr(self, self.kind))


NOTIFY_KINDS = ("email", "sns_topic_arn", "pubsub_topic", "webhook")

UPTIME_ALARM_REGION = "us-east-1"
"""Where an AWS-only fleet's uptime alarms live: Route 53 health-check metrics are there only."""
"""The channel kinds a stack file may name, in the order messages list them."""


class ObservabilitySpec(_Spec):
    """Service-level objectives every serving deployment is alerted on, and where alerts go.

    Every threshold has a default suited to interactive chat serving; ``serving`` overrides the
    latency, error and KV-cache objectives per serving entry."""

    ttft_p95_seconds: float = Field(default=2.0, allow_inf_nan=False)
    """Alert when the 95th percentile of time to first token stays above this many seconds
    for ``for_minutes``, per serving entry and region."""
    error_rate: float = Field(default=0.01, allow_inf_nan=False)
    """Alert when more than this share (0 to 1) of requests end in a server error (HTTP 5xx)
    for ``for_minutes``, per serving entry and region."""
    kv_cache_saturation: float = Field(default=0.95, allow_inf_nan=False)
    """Alert when a replica's KV-cache use (0 to 1) stays above this for ``for_minutes``:
    requests get preempted and recomputed."""
    for_minutes: int = Field(default=5, ge=1, le=1440)
    """How long a latency, error or KV-cache condition must hold before it alerts."""
    capacity_exhausted_minutes: int = Field(default=10, ge=1, le=1440)
    """Alert when requests wait while the autoscaler runs ``max_replicas`` for this long."""
    pending_gpu_pod_minutes: int = Field(default=15, ge=1, le=1440)
    """Alert when a serving pod stays Pending this long: the pool's zones have no capacity (a
    stock-out) or the pool hit its ``max_nodes``."""
    idle_gpu_minutes: int = Field(default=120, ge=10, le=10080)
    """Alert when replicas kept up by ``min_replicas`` served no request for this long: GPUs
    paid for and idle."""
    health_check_minutes: int = Field(default=3, ge=1, le=60)
    """Alert when a region's endpoint fails its uptime check for this long (with
    ``routing.domain``)."""
    notify: NotifySpec | None = None
    """Where alerts go. Required in prod; elsewhere alerts without a channel are only seen in
    each cloud's console."""
    serving: dict[str, SloSpec] = Field(default_factory=dict)
    """Per serving entry (by name): objectives replacing the fleet-wide ones."""

    @field_validator("ttft_p95_seconds")
    @classmethod
    def _positive_seconds(cls, value: float) -> float:
        return _positive(value)

    @field_validator("error_rate", "kv_cache_saturation")
    @classmethod
    def _fractions(cls, value: float) -> float:
        return _fraction(value)

    def slo(self, serving: str) -> ServingSlo:
        """The objectives of one serving entry: its overrides, else the fleet-wide ones."""
        own = self.serving.get(serving) or SloSpec()
        return ServingSlo(
            ttft_p95_seconds=(
                own.ttft_p95_seconds if own.ttft_p95_seconds is not None else self.ttft_p95_seconds
            ),
            error_rate=own.error_rate if own.error_rate is not None else self.error_rate,
            kv_cache_saturation=(
                own.kv_cache_saturation
                if own.kv_cache_saturation is not None
                else self.kv_cache_saturation
            ),
        )


class ServingSlo(BaseModel):
    """The objectives in force for one serving entry (overrides applied)."""

    ttft_p95_seconds: float
    error_rate: float
    kv_cache_saturation: float


class FleetSpec(_Spec):
    """A whole fleet: every region, its storage, models, serving and global routing."""

    name: FleetName
    """Fleet name: prefix of every resource name (at most 16 characters)."""
    environment: Environment
    """``prod`` turns on the production defaults (per-zone NAT, deletion protection)."""
    owner: LabelValue
    """Team that owns the fleet; tagged on every resource."""
    cost_center: LabelValue
    """Cost centre the fleet is billed to; tagged on every resource."""
    tags: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    """Extra tags / labels for every resource."""
    gcp_project: str | None = Field(default=None, pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")
    """GCP project every GCP resource is created in; required when a region is on gcp."""
    budget: BudgetSpec
    regions: list[RegionSpec] = Field(min_length=1)
    storage: StorageSpec = Field(default_factory=StorageSpec)
    models: list[ModelSpec] = Field(default_factory=list)
    serving: list[ServingSpec] = Field(default_factory=list)
    routing: RoutingSpec = Field(default_factory=RoutingSpec)
    observability: ObservabilitySpec = Field(default_factory=ObservabilitySpec)
    """Alert thresholds (SLOs) and the notification channel."""

    @property
    def protect(self) -> bool:
        """Whether stateful resources are protected from deletion (prod and staging)."""
        return self.environment != "dev"

    @property
    def log_retention_days(self) -> int:
        """Days audit and flow logs are kept: a year in prod (the policy pack's minimum)."""
        return 365 if self.environment == "prod" else 90

    def labels(self) -> dict[str, str]:
        """Tags for AWS resources and labels for GCP resources (valid for both)."""
        return {**self.own_labels(), **self.tags}

    def own_labels(self) -> dict[str, str]:
        """The labels the fleet sets itself, whatever fleet.tags says."""
        return {
            "llmfleet-fleet": self.name,
            "environment": self.environment,
            "owner": self.owner,
            "cost-center": self.cost_center,
            "managed-by": "llmfleet",
        }

    def regions_of(self, cloud: Cloud) -> list[RegionSpec]:
        """The fleet's regions on ``cloud``, in stack-file order."""
        return [r for r in self.regions if r.cloud == cloud]

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> FleetSpec:
        _raise_all(self._violations(info))
        return self

    def _violations(self, info: ValidationInfo) -> Iterator[RuleViolation]:
        yield from self._regions_unique()
        yield from self._gcp_project_rules()
        yield from self._reserved_name_rules()
        yield from self._tag_rules()
        yield from self._networks_disjoint()
        yield from self._pools_within_cap()
        storage = list(self._storage_in_fleet())
        yield from storage
        yield from self._model_versions_unique()
        yield from self._published_versions_immutable(info)
        yield from self._serving_references(storage_ok=not storage)
        yield from self._scale_to_zero_opt_in()
        yield from self._cloud_dns_needs_a_project()
        yield from self._cloud_dns_only_on_gcp()
        yield from self._route53_latency_records_fit()
        yield from self._node_images_pinned_in_prod()
        yield from self._observability_rules()

    @classmethod
    def _raw_rules(cls, data: dict[str, Any]) -> Iterator[RuleViolation]:
        regions = data.get("regions")
        on_gcp = isinstance(regions, list) and any(
            isinstance(r, dict) and r.get("cloud") == "gcp" for r in regions
        )
        if on_gcp and data.get("gcp_project") is None:
            yield _gcp_project_required()

    def _regions_unique(self) -> Iterator[RuleViolation]:
        seen: dict[str, int] = {}
        for i, region in enumerate(self.regions):
            # A region name is unique across clouds too, so a region name alone identifies it.
            if region.region in seen:
                yield RuleViolation(
                    ("regions", i, "region"),
                    f"'{region.region}' is already fleet.regions[{seen[region.region]}]",
                )
            seen[region.region] = i

    def _gcp_project_rules(self) -> Iterator[RuleViolation]:
        if self.gcp_project is None:
            if self.regions_of("gcp"):
                yield _gcp_project_required()
            return
        for word in GCP_PROJECT_RESTRICTED:
            if word in self.gcp_project:
                yield RuleViolation(
                    ("gcp_project",),
                    f"'{self.gcp_project}' contains '{word}', which GCP does not allow in "
                    f"project ids (restricted: {', '.join(GCP_PROJECT_RESTRICTED)})",
                )

    def _reserved_name_rules(self) -> Iterator[RuleViolation]:
        # The fleet name starts every bucket name: S3 and GCS reserve some names.
        if self.regions_of("aws"):
            for prefix in S3_RESERVED_PREFIXES:
                if self.name.startswith(prefix):
                    yield RuleViolation(
                        ("name",),
                        f"'{self.name}' starts with '{prefix}', which S3 reserves for bucket "
                        "names (the fleet name starts every bucket name)",
                    )
        if self.regions_of("gcp"):
            if self.name.startswith("goog"):
                yield RuleViolation(
                    ("name",),
                    f"'{self.name}' starts with 'goog', which GCS refuses in bucket names "
                    "(the fleet name starts every bucket name)",
                )
            elif GOOGLE_LIKE.search(self.name):
                yield RuleViolation(
                    ("name",),
                    f"'{self.name}' contains '{GOOGLE_LIKE.search(self.name).group()}'; GCS "
                    "refuses bucket names containing 'google' or a close misspelling",
                )

    def _tag_rules(self) -> Iterator[RuleViolation]:
        own = self.own_labels()
        for key in self.tags:
            if key in own:
                yield RuleViolation(
                    ("tags", key),
                    f"'{key}' is a tag the fleet sets itself ({key}: {own[key]}); "
                    "remove it from fleet.tags",
                )
        clouds = sorted({r.cloud for r in self.regions})
        for cloud in clouds:
            limit, added = TAG_LIMITS[cloud]
            room = limit - len(own) - added
            if len(self.tags) > room:
                kind = "tags" if cloud == "aws" else "labels"
                yield RuleViolation(
                    ("tags",),
                    f"{len(self.tags)} tags, but at most {room} fit: {cloud} allows {limit} "
                    f"{kind} per resource, the fleet sets {len(own)} itself and its components "
                    f"add up to {added} more",
                )

    def _networks_disjoint(self) -> Iterator[RuleViolation]:
        claimed: list[tuple[str, IPv4Network]] = []
        for i, region in enumerate(self.regions):
            for field, network in region.address_ranges():
                for owner, other in claimed:
                    if network.overlaps(other):
                        yield RuleViolation(("regions", i, field), f"overlaps {owner} {other}")
            claimed.extend(
                (f"fleet.regions[{i}].{field}", network)
                for field, network in region.address_ranges()
            )

    def max_accelerators(self) -> int:
        """Accelerators the fleet runs with every pool at its maximum (a multi-host TPU slice
        counts every chip of its topology)."""
        return sum(
            region.pool_max_accelerators(pool)
            for region in self.regions
            for pool in region.cluster.gpu_pools
        )

    def _pools_within_cap(self) -> Iterator[RuleViolation]:
        cap = self.budget.max_accelerators
        total = 0
        for i, region in enumerate(self.regions):
            for j, pool in enumerate(region.cluster.gpu_pools):
                total += region.pool_max_accelerators(pool)
                if total > cap:
                    field = "tpu_topology" if region.slice_hosts(pool) > 1 else "max_nodes"
                    yield RuleViolation(
                        ("regions", i, "cluster", "gpu_pools", j, field),
                        f"pools reach {total} accelerators at maximum scale by this one, above "
                        f"budget.max_accelerators {cap}",
                    )
                    return

    def _storage_in_fleet(self) -> Iterator[RuleViolation]:
        primary = self.storage.primary_region
        names = [r.region for r in self.regions]
        if primary is not None and primary not in names:
            yield RuleViolation(
                ("storage", "primary_region"),
                _not_one_of(f"'{primary}' is not a fleet region", primary, names),
            )
            return
        if self.regions_of("aws") and self.storage_primary.cloud != "aws":
            yield RuleViolation(
                ("storage", "primary_region"),
                f"'{self.storage_primary.region}' is on gcp but the fleet has aws regions; put the "
                "primary on aws (GCS pulls from S3, nothing pushes from GCS to S3)",
            )
        for i, name in enumerate(self.storage.replicas or []):
            if name not in names:
                yield RuleViolation(
                    ("storage", "replicas", i),
                    _not_one_of(f"'{name}' has no cluster in this fleet", name, names),
                )
            elif name == self.storage_primary.region:
                yield RuleViolation(("storage", "replicas", i), f"'{name}' is the primary region")

    @property
    def storage_primary(self) -> RegionSpec:
        """The region models are published to."""
        name = self.storage.primary_region or self.regions[0].region
        return next(r for r in self.regions if r.region == name)

    def storage_regions(self) -> list[RegionSpec]:
        """The regions holding a copy of every model version, the primary first."""
        replicas = self.storage.replicas
        primary = self.storage_primary
        others = [
            r
            for r in self.regions
            if r is not primary and (replicas is None or r.region in replicas)
        ]
        return [primary, *others]

    def _model_versions_unique(self) -> Iterator[RuleViolation]:
        seen: dict[tuple[str, str], int] = {}
        for i, model in enumerate(self.models):
            key = (model.name, model.version)
            if key in seen:
                yield RuleViolation(
                    ("models", i, "version"),
                    f"{model.name} {model.version} is already fleet.models[{seen[key]}]",
                )
            seen[key] = i

    def _published_versions_immutable(self, info: ValidationInfo) -> Iterator[RuleViolation]:
        published: PublishedModels = (info.context or {}).get("published") or {}
        for i, model in enumerate(self.models):
            source = published.get((model.name, model.version))
            if source is not None and source != model.source:
                yield RuleViolation(
                    ("models", i, "source"),
                    f"{model.name} {model.version} was published from {source}; a published "
                    "version is immutable: publish the new weights as a new version",
                )

    def _serving_references(self, storage_ok: bool) -> Iterator[RuleViolation]:
        versions = {(m.name, m.version) for m in self.models}
        by_region = {r.region: r for r in self.regions}
        stored = {r.region for r in self.storage_regions()} if storage_ok else None
        names: set[str] = set()
        for i, serving in enumerate(self.serving):
            if serving.name in names:
                yield RuleViolation(("serving", i, "name"), f"'{serving.name}' is already used")
            names.add(serving.name)
            if (serving.model, serving.version) not in versions:
                listed = ", ".join(sorted(f"{n} {v}" for n, v in versions)) or "none"
                yield RuleViolation(
                    ("serving", i, "version"),
                    f"{serving.model} {serving.version} is not in fleet.models; listed: {listed}",
                )
            for j, name in enumerate(serving.regions):
                region = by_region.get(name)
                if region is None:
                    yield RuleViolation(
                        ("serving", i, "regions", j),
                        _not_one_of(f"'{name}' is not a fleet region", name, by_region),
                    )
                    continue
                pools = [p.name for p in region.cluster.gpu_pools]
                if serving.pool not in pools:
                    yield RuleViolation(
                        ("serving", i, "regions", j),
                        f"{name} has no gpu pool '{serving.pool}' (its pools: "
                        f"{', '.join(pools) or 'none'}); drop the region or add the pool there",
                    )
            if (
                serving.canary is not None
                and (serving.model, serving.canary.version) not in versions
            ):
                listed = ", ".join(sorted(f"{n} {v}" for n, v in versions))
                yield RuleViolation(
                    ("serving", i, "canary", "version"),
                    f"{serving.model} {serving.canary.version} is not in fleet.models; add it "
                    f"there first; listed: {listed}",
                )
            pools = {p.name for r in self.regions for p in r.cluster.gpu_pools}
            if serving.pool not in pools:
                problem = f"no fleet region has a gpu pool '{serving.pool}'"
                yield RuleViolation(
                    ("serving", i, "pool"),
                    _not_one_of(problem, serving.pool, pools) if pools else problem,
                )
            for region in self.serving_regions(serving):
                yield from self._on_demand_capacity(i, serving, region)
                if stored is not None and region.region not in stored:
                    yield RuleViolation(
                        ("serving", i, "regions"),
                        f"{region.region} holds no model copy (storage.replicas); serving "
                        "there would read weights across regions",
                    )

    def _on_demand_capacity(
        self, i: int, serving: ServingSpec, region: RegionSpec
    ) -> Iterator[RuleViolation]:
        if not serving.on_demand_replicas:
            return
        pool = self.serving_pool(serving, region)
        if region.has_on_demand_capacity(pool):
            return
        fix = (
            "set on_demand_fallback: true on the pool"
            if region.cloud == "aws"
            else "serve from an on-demand pool (a GKE spot node pool has spot nodes only)"
        )
        yield RuleViolation(
            ("serving", i, "on_demand_replicas"),
            f"{serving.on_demand_replicas} on-demand replicas, but pool '{pool.name}' in "
            f"{region.region} has no on-demand capacity (spot only); {fix}, or set "
            "on_demand_replicas: 0",
        )

    def model(self, name: str, version: str) -> ModelSpec:
        """The listed model ``name`` at ``version``."""
        return next(m for m in self.models if (m.name, m.version) == (name, version))

    def serving_pool(self, serving: ServingSpec, region: RegionSpec) -> GpuPoolSpec:
        """The pool ``serving`` runs on in ``region``."""
        return next(p for p in region.cluster.gpu_pools if p.name == serving.pool)

    def serving_fit(
        self, serving: ServingSpec, region: RegionSpec, version: str | None = None
    ) -> gpu_fit.Fit:
        """How one replica of ``serving`` (at ``version``, default the stable one) fits its
        accelerators in ``region``."""
        model = self.model(serving.model, version or serving.version)
        pool = self.serving_pool(serving, region)
        return gpu_fit.fit(
            model.weights_size_gib(),
            model.kv_cache_gib(serving.max_model_len),
            pool.accelerator,
            serving.accelerators_per_replica(pool),
        )

    @model_validator(mode="after")
    def _serving_fits(self) -> FleetSpec:
        for i, serving in enumerate(self.serving):
            for version in serving.versions():
                model = self.model(serving.model, version)
                if not model.sized:
                    j = self.models.index(model)
                    raise RuleViolation(
                        ("models", j, "parameters_b"),
                        f"{model.name} {model.version} is served by '{serving.name}': give "
                        "parameters_b (and dtype) or weights_gib so its GPU fit can be checked",
                    )
            for region in self.serving_regions(serving):
                self._check_parallelism(i, serving, region)
                for version in serving.versions():
                    self._check_fit(i, serving, region, version)
        return self

    def _check_parallelism(self, i: int, serving: ServingSpec, region: RegionSpec) -> None:
        pool = self.serving_pool(serving, region)
        size = serving.tensor_parallel(pool)
        if pool.count % size:
            allowed = [n for n in TENSOR_PARALLEL_SIZES if pool.count % n == 0]
            raise RuleViolation(
                ("serving", i, "tensor_parallel_size"),
                f"{size} does not divide the {pool.count} accelerators per node of pool "
                f"'{pool.name}' in {region.region}; use one of {', '.join(map(str, allowed))}",
            )
        if serving.nodes_per_replica > 1 and size != pool.count:
            raise RuleViolation(
                ("serving", i, "tensor_parallel_size"),
                f"a replica spanning {serving.nodes_per_replica} nodes takes whole nodes: use "
                f"{pool.count} (every accelerator of a '{pool.name}' node) or leave it unset",
            )
        hosts = pool.max_nodes * (pool.count // size) // serving.nodes_per_replica
        if serving.max_replicas > hosts:
            raise RuleViolation(
                ("serving", i, "max_replicas"),
                f"{serving.max_replicas} replicas of {serving.accelerators_per_replica(pool)} "
                f"accelerators do not fit pool '{pool.name}' in {region.region} "
                f"({pool.max_nodes} nodes x {pool.count}); lower max_replicas to {hosts} or raise "
                "the pool's max_nodes",
            )

    def _check_fit(self, i: int, serving: ServingSpec, region: RegionSpec, version: str) -> None:
        fit = self.serving_fit(serving, region, version)
        if fit.fits:
            return
        model = self.model(serving.model, version)
        pool = self.serving_pool(serving, region)
        weights = model.weights_size_gib()
        kv_cache = model.kv_cache_gib(serving.max_model_len)
        per_replica = serving.accelerators_per_replica(pool)
        fitting = gpu_fit.smallest_fitting(region.cloud, region.region, weights, kv_cache)
        fix = (
            f"the smallest fit in {region.cloud} {region.region} is {fitting.accelerator} x"
            f"{fitting.accelerator_count} ({fitting.name})"
            if fitting is not None
            else f"no single {region.cloud} {region.region} node holds it: span nodes with "
            "nodes_per_replica"
        )
        raise RuleViolation(
            ("serving", i, "pool"),
            f"{model.name} {version} needs {fit.need_gib:.1f} GiB per replica (weights "
            f"{weights:.1f} + KV cache {kv_cache:.1f} for max_model_len {serving.max_model_len} + "
            f"runtime {per_replica * gpu_fit.RUNTIME_OVERHEAD_GIB:.0f}) but {per_replica} x "
            f"{pool.accelerator} of pool '{pool.name}' in {region.region} give "
            f"{fit.usable_gib:.1f} GiB at vLLM's {gpu_fit.GPU_MEMORY_UTILIZATION:.0%} memory "
            f"utilisation; {fix}, or use a smaller dtype or max_model_len",
        )

    def _scale_to_zero_opt_in(self) -> Iterator[RuleViolation]:
        if self.environment != "prod":
            return
        for i, serving in enumerate(self.serving):
            if serving.min_replicas == 0 and not serving.scale_to_zero:
                yield RuleViolation(
                    ("serving", i, "min_replicas"),
                    "0 scales a prod deployment to zero and its first request waits minutes for "
                    "a cold start; set scale_to_zero: true to accept that, or min_replicas: 1",
                )

    @property
    def dns(self) -> Literal["route53", "cloud-dns"]:
        """Where the global endpoint's records live."""
        if self.routing.dns is not None:
            return self.routing.dns
        return "route53" if self.regions_of("aws") else "cloud-dns"

    def _cloud_dns_needs_a_project(self) -> Iterator[RuleViolation]:
        if self.routing.domain is not None and self.dns == "cloud-dns" and not self.gcp_project:
            yield RuleViolation(
                ("routing", "dns"),
                "cloud-dns needs gcp_project (the project of the managed zone); use route53 "
                "or set gcp_project",
            )

    def _cloud_dns_only_on_gcp(self) -> Iterator[RuleViolation]:
        # Cloud DNS health-checks external endpoints by IP address; an AWS region's entry is an
        # ALB, known by a DNS name only.
        if self.routing.domain is not None and self.dns == "cloud-dns" and self.regions_of("aws"):
            yield RuleViolation(
                ("routing", "dns"),
                "cloud-dns health-checks IP addresses only, and the AWS regions' entries are "
                "load balancers known by name: use route53 (the default with AWS regions)",
            )

    def latency_routed(self) -> list[list[RegionSpec]]:
        """The sets of regions sharing a latency-routed name: every routed region under the
        latency policy (or a failover with one region); under failover with more than two, the
        standby regions after the first."""
        routed = self.routed_regions()
        if self.routing.policy == "failover" and len(routed) > 1:
            return [routed[1:]] if len(routed) > 2 else []
        return [routed] if routed else []

    def _route53_latency_records_fit(self) -> Iterator[RuleViolation]:
        if self.dns != "route53":
            return
        for regions in self.latency_routed():
            try:
                latency_regions((r.cloud, r.region) for r in regions)
            except ValueError as error:
                yield RuleViolation(
                    ("routing", "policy"),
                    f"{error}; serve from fewer regions near it, or use policy: failover",
                )

    def routed_regions(self) -> list[RegionSpec]:
        """The regions with a public entry: every serving region once ``routing.domain`` is
        set, in stack-file order."""
        if self.routing.domain is None:
            return []
        served = {r.region for s in self.serving for r in self.serving_regions(s)}
        return [r for r in self.regions if r.region in served]

    def served_in(self, region: RegionSpec) -> list[ServingSpec]:
        """The serving entries running in ``region``, in stack-file order."""
        return [
            s for s in self.serving if region.region in {r.region for r in self.serving_regions(s)}
        ]

    def serving_regions(self, serving: ServingSpec) -> list[RegionSpec]:
        """The regions a serving deployment runs in (its list, or every region with its pool)."""
        return [
            r
            for r in self.regions
            if (not serving.regions or r.region in serving.regions)
            and serving.pool in {p.name for p in r.cluster.gpu_pools}
        ]

    def _node_images_pinned_in_prod(self) -> Iterator[RuleViolation]:
        if self.environment != "prod":
            return
        for i, region in enumerate(self.regions):
            if region.cloud == "aws" and region.cluster.node_image.endswith("@latest"):
                yield RuleViolation(
                    ("regions", i, "cluster", "node_image"),
                    f"{region.cluster.node_image} lets AWS roll any new AMI onto prod GPU nodes; "
                    f"pin a release such as {EKS_NODE_IMAGE}",
                )

    def _observability_rules(self) -> Iterator[RuleViolation]:
        spec = self.observability
        notify = spec.notify
        if notify is None and self.environment == "prod":
            yield RuleViolation(
                ("observability", "notify"),
                "required in prod: name where alerts go, e.g. notify: {email: oncall@example.com}"
                f" (one of {', '.join(NOTIFY_KINDS)})",
            )
        if notify is not None:
            only = {"sns_topic_arn": "aws", "pubsub_topic": "gcp"}.get(notify.kind)
            other = [r.region for r in self.regions if only is not None and r.cloud != only]
            if other:
                yield RuleViolation(
                    ("observability", "notify", notify.kind),
                    f"reaches only {only} alerts, but {', '.join(other)} run elsewhere; use "
                    "email or webhook, which reach both clouds",
                )
        if (
            notify is not None
            and notify.kind == "sns_topic_arn"
            and self.routing.domain is not None
            and not self.regions_of("gcp")
            and notify.target.split(":")[3] != UPTIME_ALARM_REGION
        ):
            yield RuleViolation(
                ("observability", "notify", "sns_topic_arn"),
                f"uptime alarms of routing.domain live in {UPTIME_ALARM_REGION} (where Route 53 "
                f"publishes health-check metrics) and notify only a topic there; use a "
                f"{UPTIME_ALARM_REGION} topic, or email or webhook",
            )
        names = [s.name for s in self.serving]
        for name in spec.serving:
            if name not in names:
                yield RuleViolation(
                    ("observability", "serving", name),
                    _not_one_of(f"'{name}' is not a serving entry", name, names),
                )

    @model_validator(mode="after")
    def _apply_environment_defaults(self) -> FleetSpec:
        for region in self.regions:
            if region.cluster.eks_support is None:
                region.cluster.eks_support = (
                    "EXTENDED" if self.environment == "prod" else "STANDARD"
                )
            net = region.network
            if net.nat is None:
                net.nat = "per-zone" if self.environment == "prod" else "single"
            if net.private_endpoints is None:
                net.private_endpoints = self.environment != "dev"
            if net.flow_log_retention_days is None:
                net.flow_log_retention_days = self.log_retention_days
        return self


def _gcp_project_required() -> RuleViolation:
    return RuleViolation(
        ("gcp_project",), "required when a region is on gcp, e.g. 'llm-prod-serving'"
    )


GCP_PROJECT_RESTRICTED = ("google", "null", "undefined", "ssl")
"""Strings GCP refuses inside a project id."""

S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
"""Bucket-name prefixes S3 reserves."""

GOOGLE_LIKE = re.compile(r"g[o0]{2}g[l1]e")
"""'google' and the close misspellings GCS refuses in bucket names (g00gle, goog1e)."""

TAG_LIMITS: dict[Cloud, tuple[int, int]] = {"aws": (50, 6), "gcp": (64, 6)}
"""Per cloud: tags (AWS) / labels (GCP) one resource may carry, and how many of them the
fleet's components and the cloud's controllers add beside the fleet's own labels (AWS:
Karpenter tags each instance it launches with six, e.g. karpenter.sh/nodepool and Name; GCP:
GKE adds its goog-k8s-* labels to node VMs)."""


def _path(loc: tuple[str | int, ...]) -> str:
    path = "fleet"
    for part in loc:
        if part == KEY_LOC:
            continue  # a mapping key's problem: the path already ends at the key
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


KEY_LOC = "[key]"
"""What pydantic appends to the location of an invalid mapping key (fleet.tags.Team.[key])."""

_PYDANTIC_NOISE = re.compile(r"^(Value error|Assertion failed), ")


def _problems(error: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for detail in error.errors(include_url=False):
        loc = tuple(detail["loc"])
        cause = detail.get("ctx", {}).get("error")
        if isinstance(cause, RuleViolation):
            problems.append((_path(loc + cause.loc), cause.message))
        elif isinstance(cause, RuleViolations):
            problems.extend((_path(loc + v.loc), v.message) for v in cause.violations)
        else:
            problems.append((_path(loc), _message(detail, loc)))
    return problems


def _message(detail: Any, loc: tuple[str | int, ...]) -> str:
    """Pydantic's message for one error, in the stack file's words."""
    kind, shown = detail["type"], _shown(detail["input"])
    if kind == "extra_forbidden":
        hint = _did_you_mean(loc[-1], _fields_at(loc[:-1]))
        return f"unknown field ({hint})" if hint else "unknown field"
    if kind == "ip_v4_network":
        return f"{shown} is not a network address; use one like 10.0.0.0/16 (host bits zero)"
    if kind == "string_pattern_mismatch":
        return f"{shown} is not allowed; {_PATTERN_HINTS[_pattern_field(loc)]}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{shown} is not a mapping; write its fields as 'key: value' lines below it"
    return _PYDANTIC_NOISE.sub("", detail["msg"])


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _pattern_field(loc: tuple[str | int, ...]) -> str:
    if loc[-1] == KEY_LOC:
        return "tag key"
    if len(loc) >= 2 and loc[-2] == "tags":
        return "tag value"
    field = loc[-1]
    return field if field in _PATTERN_HINTS else "name"


def _fields_at(loc: tuple[str | int, ...]) -> list[str]:
    """The field names of the model at ``loc`` (list indexes skipped), for typo suggestions."""
    model: type[BaseModel] | None = FleetSpec
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        model = _model_in(field.annotation) if field else None
    return list(model.model_fields) if model else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


_LABEL = "lowercase letters, digits, '-' and '_', at most 63"
_PATTERN_HINTS = {
    "name": "use lowercase letters, digits and '-', starting with a letter and ending with a "
    "letter or digit, e.g. 'llm-prod' or 'h100-spot'",
    "owner": f"use {_LABEL}, starting and ending with a letter or digit, e.g. 'ml-platform'",
    "cost_center": f"use {_LABEL}, starting and ending with a letter or digit, e.g. 'cc-1234'",
    "tag key": f"use {_LABEL}, starting with a letter, e.g. 'team' or 'data_class' (no ':' "
    "or capitals; AWS reserves the 'aws:' prefix)",
    "tag value": f"use {_LABEL}, starting and ending with a letter or digit, e.g. 'search' or "
    "'pci-dss'",
    "gcp_project": "use the project id: 6-30 lowercase letters, digits and '-', starting with a "
    "letter and not ending with '-', e.g. 'llm-prod-serving'",
    "version": "use lowercase letters, digits, '.', '_' and '-', starting with a letter or "
    "digit, at most 32, e.g. 'v1' or '2024-06-01'",
    "tpu_topology": "use chips per side joined by 'x', e.g. '2x4' or '4x4'",
    "domain": "use a lowercase DNS name of two or more labels, e.g. 'llm.example.com'",
    "kubernetes_version": "use a minor version, e.g. '1.35'",
    "start": "use a 24-hour UTC time HH:MM, e.g. '02:00'",
    "node_image": "use al2023@latest or a pinned AMI release al2023@vYYYYMMDD, e.g. "
    "'al2023@v20251110'",
    "zone": "use a Route 53 hosted zone ID, e.g. 'Z0123456789ABCDEFGHIJ', or a Cloud DNS managed "
    "zone name, e.g. 'llm-example-com'",
    "email": "use an email address, e.g. 'oncall-ml@example.com'",
    "sns_topic_arn": "use an SNS topic ARN, e.g. 'arn:aws:sns:us-east-1:123456789012:llm-alerts'",
    "pubsub_topic": "use projects/<project>/topics/<name>, e.g. "
    "'projects/llm-prod-serving/topics/llm-alerts'",
    "webhook": "use an https:// URL, e.g. 'https://alerts.example.com/llmfleet'",
    "source": "use s3://bucket/path, gs://bucket/path or hf://org/model, e.g. "
    "'hf://meta-llama/Meta-Llama-3-8B-Instruct'",
}


def read_published_models(document: Any, origin: str = "models.lock.yaml") -> PublishedModels:
    """The ledger of published model versions: ``{name: {version: source}}``.

    Raises SpecError naming ``origin`` when the document has another shape.
    """
    if document is None:
        return {}
    if not isinstance(document, dict) or not all(
        isinstance(versions, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in versions.items())
        for versions in document.values()
    ):
        raise SpecError([(origin, "expected {model name: {version: source}}")])
    return {
        (name, str(version)): source
        for name, versions in document.items()
        for version, source in versions.items()
    }


def parse_fleet(raw: Any, published: PublishedModels | None = None) -> FleetSpec:
    """Validate the ``llmfleet:fleet`` mapping of a stack file into a FleetSpec.

    ``published`` maps (model name, version) to the source each version was published from
    (stacks/models.lock.yaml); a listed version must keep its source.
    Raises SpecError listing every problem with its path in the stack file.
    """
    if not isinstance(raw, dict):
        raise SpecError([("fleet", "must be a mapping (the llmfleet:fleet key of the stack)")])
    try:
        return FleetSpec.model_validate(raw, context={"published": published or {}})
    except ValidationError as error:
        found = _problems(error) + _raw_problems(raw)
        raise SpecError(list(dict.fromkeys(found))) from None


def _raw_problems(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """The raw-input rules of the fleet and its regions: an invalid field elsewhere in a model
    stops that model's rules, and these problems are independent of it."""
    found = [(_path(v.loc), v.message) for v in FleetSpec._raw_rules(raw)]
    regions = raw.get("regions")
    for i, region in enumerate(regions if isinstance(regions, list) else []):
        if isinstance(region, dict):
            found += [
                (_path(("regions", i, *v.loc)), v.message) for v in RegionSpec._raw_rules(region)
            ]
    return found

"""Accelerator catalog: the one source of truth for accelerator facts and prices.

Users name accelerators (``nvidia-h100-80gb``), not SKUs. The catalog maps each accelerator to
the instance types (AWS) and machine types (GCP) that carry it, with their shape, the regions
that offer them and on-demand / spot prices, each price with its public source and date. It
also lists the cloud regions (and their zones) llmfleet knows about.

Accelerators exist only in some zones of a region. ``data/zones.yaml`` lists, for each type,
the zones of each of its regions that offer it (zone names on GCP, zone IDs on AWS), with the
source each list comes from; ``tools/refresh_zones.py`` rebuilds it.

It also prices what is not an accelerator (general-purpose system nodes, control planes,
network, keys, storage, logs, data transfer) for the cost model, each price with its source.

The data lives in ``data/catalog.yaml`` and ``data/zones.yaml`` beside this module and is loaded
once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml

Cloud = Literal["aws", "gcp"]
CLOUDS: tuple[Cloud, ...] = ("aws", "gcp")

CapacityKind = Literal["on-demand", "spot", "flex-start", "reservation", "capacity-block"]
CAPACITY_KINDS: tuple[CapacityKind, ...] = (
    "on-demand",
    "spot",
    "flex-start",
    "reservation",
    "capacity-block",
)
"""How nodes are obtained: plain on-demand; spot / preemptible; flex-start (GKE Dynamic Workload
Scheduler: a node when capacity frees up, for at most seven days); a named reservation (GCP
reservation, EC2 On-Demand Capacity Reservation); an EC2 Capacity Block for ML."""

_DATA = Path(__file__).parent / "data" / "catalog.yaml"
_ZONES = Path(__file__).parent / "data" / "zones.yaml"


@dataclass(frozen=True)
class Accelerator:
    """A cloud-neutral accelerator model."""

    name: str
    """Catalog name, e.g. ``nvidia-h100-80gb`` or ``tpu-v5e``."""
    kind: Literal["gpu", "tpu"]
    memory_gib: int
    """Memory of one accelerator (HBM / GDDR), GiB."""
    description: str
    slice_topologies: tuple[str, ...] = ()
    """TPUs: the slice shapes the generation forms (``2x4``), smallest first."""
    multi_host_chips: int | None = None
    """TPUs: chips per host of the machine type multi-host slices are built from."""


@dataclass(frozen=True)
class Region:
    """A cloud region and the zones llmfleet may spread a cluster over (in preference order)."""

    cloud: Cloud
    name: str
    zones: tuple[str, ...]


@dataclass(frozen=True)
class InstanceType:
    """One AWS instance type or GCP machine type carrying an accelerator."""

    cloud: Cloud
    name: str
    """``p5.48xlarge``, ``a3-highgpu-8g``, ``ct5lp-hightpu-4t``."""
    accelerator: str
    accelerator_count: int
    """Accelerators (GPUs, TPU chips) on one node."""
    vcpu: int
    memory_gib: float
    local_nvme_gib: int
    """Instance-store NVMe usable for a model cache (0 when the type has none)."""
    regions: tuple[str, ...]
    on_demand_usd_hour: float
    spot_usd_hour: float | None
    """None where the cloud offers no spot / preemptible capacity for the type."""
    price_source: str
    """Public page the prices come from."""
    price_date: str
    """ISO date the prices were read (us-east-1 / us-central1 list prices)."""
    gke_accelerator: str | None = None
    """GKE ``guest_accelerator`` type (``nvidia-l4``) for GPU machine types attached that way."""
    tpu_topology: str | None = None
    """TPU slice topology (``2x4``) for TPU machine types."""
    capacity: tuple[CapacityKind, ...] = ()
    """The capacity kinds the cloud sells the type as (A3 Ultra: never plain on-demand)."""
    zones: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """``(region, zones offering the type)`` per region: zone names on GCP (``us-central1-b``),
    zone IDs on AWS (``use1-az1``, the same physical zone in every account, unlike zone names).
    Empty when the catalog holds no per-zone data for the type."""
    zone_source: str | None = None
    """Key of ``zone_sources()`` naming where ``zones`` comes from."""

    def zones_in(self, region: str) -> tuple[str, ...]:
        """The zones (GCP) or zone IDs (AWS) of ``region`` offering the type; empty when none do
        or the catalog holds no per-zone data for the type."""
        return dict(self.zones).get(region, ())

    @property
    def gpu_memory_gib(self) -> int:
        """Total accelerator memory on one node."""
        return accelerator(self.accelerator).memory_gib * self.accelerator_count

    def hourly_usd(self, spot: bool) -> float:
        """Price of one node per hour, spot where asked and offered."""
        if spot and self.spot_usd_hour is not None:
            return self.spot_usd_hour
        return self.on_demand_usd_hour


@dataclass(frozen=True)
class ZoneSource:
    """Where a type's per-zone offerings come from."""

    url: str
    read: str
    """ISO date the offerings were read."""
    licence: str | None = None
    """Licence of the data set, where it is one (SkyPilot's catalog: Apache-2.0)."""


class CatalogError(LookupError):
    """A lookup for something the catalog does not hold; the message lists what it does."""


@dataclass(frozen=True)
class _Catalog:
    accelerators: dict[str, Accelerator]
    regions: dict[tuple[Cloud, str], Region]
    instance_types: dict[tuple[Cloud, str], InstanceType]
    defaults: dict[Cloud, dict[str, str]]
    zone_sources: dict[str, ZoneSource]


@cache
def _raw() -> dict:
    return yaml.safe_load(_DATA.read_text())


@cache
def _catalog() -> _Catalog:
    raw = _raw()
    accelerators = {
        name: Accelerator(
            name=name, **{**fields, "slice_topologies": tuple(fields.get("slice_topologies", ()))}
        )
        for name, fields in raw["accelerators"].items()
    }
    regions = {
        (cloud, name): Region(cloud=cloud, name=name, zones=tuple(zones))
        for cloud in CLOUDS
        for name, zones in raw["regions"][cloud].items()
    }
    zones = yaml.safe_load(_ZONES.read_text())
    instance_types = {}
    for cloud in CLOUDS:
        for name, fields in raw["instance_types"][cloud].items():
            fields = dict(fields)
            fields["regions"] = tuple(fields["regions"])
            fields["capacity"] = tuple(fields["capacity"])
            offered = zones[cloud].get(name)
            if offered is not None:
                by_region = offered["zone_ids" if cloud == "aws" else "zones"]
                fields["zones"] = tuple((r, tuple(z)) for r, z in by_region.items())
                fields["zone_source"] = offered["source"]
            instance_types[(cloud, name)] = InstanceType(cloud=cloud, name=name, **fields)
    sources = {name: ZoneSource(**fields) for name, fields in zones["sources"].items()}
    return _Catalog(accelerators, regions, instance_types, raw["defaults"], sources)


def accelerators() -> dict[str, Accelerator]:
    """Every accelerator the catalog knows, by name."""
    return dict(_catalog().accelerators)


def accelerator(name: str) -> Accelerator:
    """The accelerator called ``name``."""
    found = _catalog().accelerators.get(name)
    if found is None:
        known = ", ".join(sorted(accelerators()))
        raise CatalogError(f"unknown accelerator '{name}'; known: {known}")
    return found


def regions(cloud: Cloud) -> dict[str, Region]:
    """The regions of ``cloud`` llmfleet knows, by name."""
    return {name: r for (c, name), r in _catalog().regions.items() if c == cloud}


def region(cloud: Cloud, name: str) -> Region:
    """The ``cloud`` region called ``name``."""
    found = _catalog().regions.get((cloud, name))
    if found is None:
        raise CatalogError(
            f"unknown {cloud} region '{name}'; known: {', '.join(sorted(regions(cloud)))}"
        )
    return found


def instance_type(cloud: Cloud, name: str) -> InstanceType:
    """The ``cloud`` instance / machine type called ``name``."""
    found = _catalog().instance_types.get((cloud, name))
    if found is None:
        known = sorted(n for (c, n) in _catalog().instance_types if c == cloud)
        raise CatalogError(f"unknown {cloud} instance type '{name}'; known: {', '.join(known)}")
    return found


def instance_types(cloud: Cloud, accelerator_name: str | None = None) -> list[InstanceType]:
    """The ``cloud`` types carrying ``accelerator_name`` (all when None), smallest first."""
    found = [
        t
        for (c, _), t in _catalog().instance_types.items()
        if c == cloud and (accelerator_name is None or t.accelerator == accelerator_name)
    ]
    return sorted(found, key=lambda t: (t.accelerator_count, t.on_demand_usd_hour, t.name))


def resolve(cloud: Cloud, accelerator_name: str, count: int, region_name: str) -> InstanceType:
    """The cheapest ``cloud`` type in ``region_name`` with exactly ``count`` of the accelerator.

    Raises CatalogError naming what exists (counts offered, regions offered) when nothing fits.
    """
    accelerator(accelerator_name)
    candidates = instance_types(cloud, accelerator_name)
    if not candidates:
        offered = sorted({t.accelerator for t in instance_types(cloud)})
        raise CatalogError(
            f"accelerator '{accelerator_name}' is not offered on {cloud}; "
            f"{cloud} offers: {', '.join(offered)}"
        )
    with_count = [t for t in candidates if t.accelerator_count == count]
    if not with_count:
        counts = sorted({t.accelerator_count for t in candidates})
        raise CatalogError(
            f"{cloud} offers '{accelerator_name}' with {', '.join(map(str, counts))} per node, "
            f"not {count}"
        )
    in_region = [t for t in with_count if region_name in t.regions]
    if not in_region:
        offered = sorted({r for t in with_count for r in t.regions})
        raise CatalogError(
            f"'{accelerator_name}' x{count} is not offered in {cloud} {region_name}; "
            f"offered in: {', '.join(offered)}"
        )
    return min(in_region, key=lambda t: (t.on_demand_usd_hour, t.name))


def zone_sources() -> dict[str, ZoneSource]:
    """The sources of per-zone offerings, by the key types name in ``zone_source``."""
    return dict(_catalog().zone_sources)


def zones_offering(machine: InstanceType, region: str, zones: Sequence[str]) -> tuple[str, ...]:
    """The zones among ``zones`` (GCP zone names, in their order) that offer ``machine``.

    A GKE node pool fails as a whole when one of its locations lacks its machine type, so its
    locations are exactly these.
    """
    offered = set(machine.zones_in(region))
    return tuple(zone for zone in zones if zone in offered)


def default_system_instance_type(cloud: Cloud) -> str:
    """The general-purpose type for a cluster's system node pool."""
    return _catalog().defaults[cloud]["system_instance_type"]


@dataclass(frozen=True)
class GeneralPurposeType:
    """A general-purpose instance / machine type (system pools), on-demand only."""

    cloud: Cloud
    name: str
    vcpu: int
    memory_gib: float
    on_demand_usd_hour: float
    price_source: str
    price_date: str


@dataclass(frozen=True)
class ServicePrice:
    """The list price of one non-accelerator item in a cloud's reference region."""

    cloud: Cloud
    item: str
    """Catalog key, e.g. ``nat_gateway`` or ``object_storage``."""
    usd: float
    per: Literal["hour", "month", "GB-month", "GB", "run"]
    """What ``usd`` buys: an hour or a month of one item, a GB stored a month, a GB moved, or
    one run (of a scheduled check)."""
    source: str
    date: str


def general_purpose_type(cloud: Cloud, name: str) -> GeneralPurposeType | None:
    """The general-purpose ``cloud`` type called ``name``; None when the catalog has no price."""
    fields = _raw()["general_purpose_types"][cloud].get(name)
    return GeneralPurposeType(cloud=cloud, name=name, **fields) if fields else None


def general_purpose_types(cloud: Cloud) -> tuple[str, ...]:
    """Names of the general-purpose ``cloud`` types the catalog holds (system pools), sorted."""
    return tuple(sorted(_raw()["general_purpose_types"][cloud]))


def service_price(cloud: Cloud, item: str) -> ServicePrice:
    """The price of ``item`` on ``cloud``."""
    fields = _raw()["service_prices"][cloud].get(item)
    if fields is None:
        known = ", ".join(sorted(_raw()["service_prices"][cloud]))
        raise CatalogError(f"no {cloud} price for '{item}'; priced: {known}")
    return ServicePrice(cloud=cloud, item=item, **fields)


def nearest_aws_regions(gcp_region: str) -> tuple[str, ...]:
    """The AWS regions nearest to ``gcp_region`` by location, nearest first: where Route 53
    may measure its latency from."""
    found = _raw()["nearest_aws_regions"].get(gcp_region)
    if found is None:
        known = ", ".join(sorted(_raw()["nearest_aws_regions"]))
        raise CatalogError(
            f"no nearest AWS region known for gcp region {gcp_region}; known: {known}"
        )
    return tuple(found)

"""The catalog as tables: ``llmfleet accelerators`` and ``llmfleet regions``.

For each accelerator and node size, the instance type llmfleet picks (the one a pool of that
accelerator and count resolves to, per region), its accelerator memory, on-demand and spot
prices, and where it is offered; prices carry the date they were read, and old ones are flagged.
SkyPilot's ``sky show-gpus`` is the model.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date

from rich.table import Table

from llmfleet.components import catalog
from llmfleet.stackfile import UsageError

STALE_AFTER_DAYS = 180
"""Prices read longer ago than this are flagged: list prices move a few times a year."""


@dataclass(frozen=True)
class Offer:
    """One instance type llmfleet picks for an accelerator and count, and where it picks it."""

    accelerator: str
    count: int
    """Accelerators per node."""
    cloud: str
    instance_type: str
    accelerator_memory_gib: int
    """Accelerator memory of one node (all its GPUs / TPU chips)."""
    vcpu: int
    memory_gib: float
    on_demand_usd_hour: float
    spot_usd_hour: float | None
    """None where the cloud sells no spot capacity of the type."""
    regions: tuple[str, ...]
    """Regions where a pool of this accelerator and count resolves to this type."""
    zones: tuple[str, ...]
    """Zones (GCP) or zone IDs (AWS) of those regions offering the type, where known."""
    price_date: str
    """ISO date the prices were read."""
    price_source: str


def offers(
    name: str | None = None, cloud: str | None = None, region: str | None = None
) -> list[Offer]:
    """What pools would run on, cheapest first; filtered by accelerator, cloud and region."""
    if name is not None and name not in catalog.accelerators():
        try:
            catalog.accelerator(name)
        except catalog.CatalogError as error:
            raise UsageError(str(error)) from None
    clouds = [cloud] if cloud else list(catalog.CLOUDS)
    if region is not None:
        _check_region(region, clouds)
    picked: dict[tuple[str, str, int, str], list[str]] = defaultdict(list)
    for c in clouds:
        for machine in catalog.instance_types(c, name):
            for r in machine.regions:
                if region is not None and r != region:
                    continue
                chosen = catalog.resolve(c, machine.accelerator, machine.accelerator_count, r)
                key = (c, chosen.accelerator, chosen.accelerator_count, chosen.name)
                if r not in picked[key]:
                    picked[key].append(r)
    found = [
        _offer(c, type_name, sorted(regions)) for (c, _, _, type_name), regions in picked.items()
    ]
    return sorted(found, key=lambda o: (o.on_demand_usd_hour, o.cloud, o.instance_type))


def _check_region(region: str, clouds: list[str]) -> None:
    if not any(region in catalog.regions(c) for c in clouds):
        known = ", ".join(sorted({r for c in clouds for r in catalog.regions(c)}))
        raise UsageError(f"unknown region '{region}'; known: {known}")


def _offer(cloud: str, type_name: str, regions: list[str]) -> Offer:
    machine = catalog.instance_type(cloud, type_name)
    return Offer(
        accelerator=machine.accelerator,
        count=machine.accelerator_count,
        cloud=cloud,
        instance_type=machine.name,
        accelerator_memory_gib=machine.gpu_memory_gib,
        vcpu=machine.vcpu,
        memory_gib=machine.memory_gib,
        on_demand_usd_hour=machine.on_demand_usd_hour,
        spot_usd_hour=machine.spot_usd_hour,
        regions=tuple(regions),
        zones=tuple(z for r in regions for z in machine.zones_in(r)),
        price_date=machine.price_date,
        price_source=machine.price_source,
    )


def offer_json(offer: Offer) -> dict:
    return {**asdict(offer), "regions": list(offer.regions), "zones": list(offer.zones)}


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.2f}"


def offers_table(found: list[Offer], *, show_zones: bool) -> Table:
    """One row per picked type, cheapest first."""
    table = Table(title="accelerators (USD per node-hour)", show_edge=False)
    for column in ("accelerator", "count", "cloud", "instance type", "accel. memory"):
        table.add_column(column, justify="right" if column == "count" else "left")
    for column in ("vCPU", "memory", "on-demand", "spot"):
        table.add_column(column, justify="right")
    table.add_column("zones" if show_zones else "regions")
    table.add_column("price date")
    for o in found:
        table.add_row(
            o.accelerator,
            str(o.count),
            o.cloud,
            o.instance_type,
            f"{o.accelerator_memory_gib} GiB",
            str(o.vcpu),
            f"{o.memory_gib:g} GiB",
            _usd(o.on_demand_usd_hour),
            _usd(o.spot_usd_hour),
            ", ".join(o.zones if show_zones else o.regions) or "-",
            o.price_date,
        )
    return table


def accelerator_summary() -> Table:
    """Every accelerator with its node sizes per cloud and its cheapest node, cheapest first."""
    table = Table(
        title="accelerators (llmfleet accelerators NAME for types and prices)", show_edge=False
    )
    for column in ("accelerator", "kind", "memory", "aws counts", "gcp counts", "from"):
        table.add_column(column, justify="right" if column == "from" else "left")
    rows = []
    for name, accel in catalog.accelerators().items():
        counts = {
            cloud: sorted({t.accelerator_count for t in catalog.instance_types(cloud, name)})
            for cloud in catalog.CLOUDS
        }
        types = [t for cloud in catalog.CLOUDS for t in catalog.instance_types(cloud, name)]
        cheapest = min(t.on_demand_usd_hour for t in types)
        rows.append((cheapest, name, accel, counts))
    for cheapest, name, accel, counts in sorted(rows, key=lambda row: (row[0], row[1])):
        table.add_row(
            name,
            accel.kind,
            f"{accel.memory_gib} GiB",
            ", ".join(map(str, counts["aws"])) or "-",
            ", ".join(map(str, counts["gcp"])) or "-",
            f"{_usd(cheapest)}/h",
        )
    return table


def stale_prices(found: list[Offer], today: date) -> list[str]:
    """One warning per price date older than STALE_AFTER_DAYS, naming its source."""
    dates: dict[tuple[str, str], list[str]] = defaultdict(list)
    for o in found:
        dates[(o.price_date, o.price_source)].append(o.instance_type)
    warnings = []
    for (read, source), types in sorted(dates.items()):
        age = (today - date.fromisoformat(read)).days
        if age > STALE_AFTER_DAYS:
            warnings.append(
                f"prices of {', '.join(sorted(set(types)))} were read {read} ({age} days ago, "
                f"over {STALE_AFTER_DAYS}) from {source}: check them there"
            )
    return warnings


def regions_json(cloud: str | None = None) -> list[dict]:
    """Every catalog region with its zones and the accelerators offered there."""
    found = []
    for c in [cloud] if cloud else catalog.CLOUDS:
        for name, region in sorted(catalog.regions(c).items()):
            types = catalog.instance_types(c)
            offered = sorted({t.accelerator for t in types if name in t.regions})
            found.append(
                {"cloud": c, "region": name, "zones": list(region.zones), "accelerators": offered}
            )
    return found


def regions_table(cloud: str | None = None) -> Table:
    table = Table(title="regions", show_edge=False)
    for column in ("cloud", "region", "zones", "accelerators"):
        table.add_column(column)
    for row in regions_json(cloud):
        zones, offered = ", ".join(row["zones"]), ", ".join(row["accelerators"]) or "-"
        table.add_row(row["cloud"], row["region"], zones, offered)
    return table

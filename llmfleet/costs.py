"""The cost estimate as a table: each line's quantity, unit price and monthly figure."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from llmfleet.components.cost import Estimate, Line

_PER = {"hour": "/h", "month": "/month", "GB-month": "/GB-month", "GB": "/GB", "run": "/run"}


def usd(value: float) -> str:
    return f"${value:,.2f}"


def _quantity(line: Line) -> str:
    low, high = f"{line.count_min:g}", f"{line.count_max:g}"
    count = low if low == high else f"{low}-{high}"
    hours = f" x {line.hours:g} h" if line.per == "hour" else ""
    unit = line.count_unit if line.count_unit == "GB" or high == "1" else f"{line.count_unit}s"
    return f"{count} {unit}{hours}"


def _unit_price(line: Line) -> str:
    return f"${line.unit_usd:g}{_PER[line.per]}"


def cost_table(estimate: Estimate, title: str) -> Table:
    """Every line with its quantity, unit price and monthly cost at min and max scale."""
    table = Table(title=title, show_edge=False)
    for column in ("region", "kind", "item", "capacity", "quantity", "unit price"):
        table.add_column(column)
    table.add_column("monthly min", justify="right")
    table.add_column("monthly max", justify="right")
    for line in estimate.lines:
        table.add_row(
            line.region,
            line.kind,
            escape(line.item),
            line.capacity or "",
            _quantity(line),
            _unit_price(line),
            usd(line.monthly_min),
            usd(line.monthly_max),
        )
    table.add_section()
    for region, total in estimate.totals_by(lambda line: line.region).items():
        table.add_row(region, "total", "", "", "", "", usd(total["min"]), usd(total["max"]))
    table.add_section()
    table.add_row(
        "[bold]all regions[/]",
        "[bold]total[/]",
        "",
        "",
        "",
        "",
        f"[bold]{usd(estimate.monthly_min)}[/]",
        f"[bold]{usd(estimate.monthly_max)}[/]",
    )
    return table


def print_cost(estimate: Estimate, console: Console, title: str = "monthly cost") -> None:
    """The table, spot savings, budget and headroom, what is unpriced and the assumptions."""
    console.print(cost_table(estimate, title))
    savings = estimate.spot_savings
    console.print(
        f"spot savings against on-demand: {usd(savings['min'])} at min scale, "
        f"{usd(savings['max'])} at max scale"
    )
    if estimate.unpriced:
        console.print("[yellow]unpriced[/] (not counted in the totals):")
        grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
        for u in estimate.unpriced:
            grouped[(u.kind, u.reason)].append(f"{u.item} ({u.region})")
        for (kind, reason), items in grouped.items():
            console.print(f"  {kind}, {reason}: {escape(', '.join(items))}", highlight=False)
    console.print("assumptions:")
    for text in estimate.assumptions.describe().values():
        console.print(f"  {text}", highlight=False)
    for m in estimate.models:
        console.print(f"  {m.name} {m.version}: {m.gb:g} GB ({m.basis})", highlight=False)
    console.print(budget_summary(estimate))


def budget_summary(estimate: Estimate) -> str:
    """One line: the totals against the budget, the headroom or the overrun."""
    span = f"cost: {usd(estimate.monthly_min)} to {usd(estimate.monthly_max)} a month"
    if estimate.budget_usd is None:
        return span
    if estimate.over_budget:
        return f"{span}: [red]over budget[/]: {escape(estimate.overrun() or '')}"
    return (
        f"{span} (budget {usd(estimate.budget_usd)}, headroom {usd(estimate.headroom_usd)} "
        "at max scale): [green]within budget[/]"
    )

"""What changed between two plans: resources added, removed and changed, and the cost change.

Resources are matched by URN, as the engine matches them. A changed resource lists the input
paths that differ (``spec.limits.nvidia.com/gpu: 4 -> 6``), so one edit to a stack file reads
as the few lines it causes, not as a diff of the whole plan JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmfleet.stackfile import UsageError

_OPTIONS = ("parent", "provider", "protect")
"""Resource options whose change matters for review (a new parent means a new URN anyway)."""

_MISSING = object()


@dataclass(frozen=True)
class Change:
    """One input path (or option) of a resource with its old and new value."""

    path: str
    """Dotted input path, e.g. ``spec.limits.nvidia.com/gpu``; options as ``(protect)``."""
    old: Any
    """The previous value; absent when the path is new."""
    new: Any
    """The planned value; absent when the path was removed."""


@dataclass(frozen=True)
class ChangedResource:
    """A resource present in both plans whose inputs or options differ."""

    resource: dict[str, Any]
    """The resource as the new plan JSON has it."""
    changes: list[Change]
    """Every differing path, in path order."""


@dataclass
class PlanDiff:
    """The difference between an earlier plan JSON and the current one."""

    added: list[dict[str, Any]] = field(default_factory=list)
    """Resources only the current plan has, in plan order."""
    removed: list[dict[str, Any]] = field(default_factory=list)
    """Resources only the earlier plan had, in its order."""
    changed: list[ChangedResource] = field(default_factory=list)
    """Resources in both whose inputs or options differ, in plan order."""
    cost: dict[str, tuple[float, float]] = field(default_factory=dict)
    """``min`` / ``max`` monthly cost: (earlier, current), where both plans priced it."""

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.cost_changed)

    @property
    def cost_changed(self) -> bool:
        return any(old != new for old, new in self.cost.values())


def read_plan(path: Path) -> dict[str, Any]:
    """A plan JSON written by ``llmfleet plan --json``; a usage error when it is not one."""
    try:
        body = json.loads(path.read_text())
    except OSError as error:
        raise UsageError(f"--compare-to {path}: cannot read: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise UsageError(
            f"--compare-to {path}: not JSON (line {error.lineno}): {error.msg}"
        ) from None
    if not isinstance(body, dict) or not isinstance(body.get("resources"), list):
        raise UsageError(f"--compare-to {path}: not a plan JSON (no 'resources' list)")
    return body


def compare(old: dict[str, Any], new: dict[str, Any]) -> PlanDiff:
    """Match resources by URN and list what differs, and the cost change."""
    before = {r["urn"]: r for r in old["resources"]}
    after = {r["urn"]: r for r in new["resources"]}
    diff = PlanDiff(
        added=[r for urn, r in after.items() if urn not in before],
        removed=[r for urn, r in before.items() if urn not in after],
    )
    for urn, resource in after.items():
        if urn in before:
            changes = _option_changes(before[urn], resource)
            changes += _differences(before[urn].get("inputs"), resource.get("inputs"), "")
            if changes:
                diff.changed.append(ChangedResource(resource, changes))
    old_cost = (old.get("cost") or {}).get("monthly_usd") or {}
    new_cost = (new.get("cost") or {}).get("monthly_usd") or {}
    diff.cost = {
        k: (old_cost[k], new_cost[k]) for k in ("min", "max") if k in old_cost and k in new_cost
    }
    return diff


def _option_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    return [
        Change(f"({option})", old.get(option), new.get(option))
        for option in _OPTIONS
        if old.get(option) != new.get(option)
    ]


def _differences(old: Any, new: Any, path: str) -> list[Change]:
    """Leaf paths whose values differ; a list that changed length differs as a whole."""
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[Change] = []
        for key in sorted(set(old) | set(new)):
            found += _differences(
                old.get(key, _MISSING), new.get(key, _MISSING), f"{path}.{key}" if path else key
            )
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        found = []
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            found += _differences(a, b, f"{path}[{index}]")
        return found
    return [] if old == new else [Change(path or "(inputs)", old, new)]


def _value(value: Any) -> str:
    if value is _MISSING:
        return "(none)"
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


def _where(resource: dict[str, Any]) -> str:
    return f"{resource.get('cloud') or '-'} {resource.get('region') or 'global'}"


def _kind(resource: dict[str, Any]) -> str:
    return resource["type"].rsplit(":", 1)[-1]


def describe(diff: PlanDiff) -> list[str]:
    """One line per added, removed or changed resource, then the cost change."""
    if diff.empty:
        return ["no changes"]
    lines = [f"+ {_kind(r)} {r['name']} ({_where(r)})" for r in diff.added]
    lines += [f"- {_kind(r)} {r['name']} ({_where(r)})" for r in diff.removed]
    for item in diff.changed:
        r = item.resource
        paths = ", ".join(f"{c.path} {_value(c.old)} -> {_value(c.new)}" for c in item.changes)
        lines.append(f"~ {_kind(r)} {r['name']} ({_where(r)}): {paths}")
    counts = (
        f"{len(diff.added)} to add, {len(diff.changed)} to change, {len(diff.removed)} to delete"
    )
    lines.append(counts)
    if diff.cost:
        span = ", ".join(
            f"{scale} ${old:,.2f} -> ${new:,.2f} ({new - old:+,.2f})"
            for scale, (old, new) in diff.cost.items()
        )
        lines.append(f"monthly cost: {span}")
    return lines

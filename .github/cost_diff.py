"""Markdown cost change between two `llmfleet cost --json` estimates (base branch -> PR)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _lines(estimate: dict) -> dict[tuple[str, str, str], dict]:
    return {(x["region"], x["kind"], x["item"]): x["monthly_usd"] for x in estimate["lines"]}


def main(base_path: str, head_path: str, stack: str) -> None:
    head = json.loads(Path(head_path).read_text())
    print(f"### llmfleet cost: {stack}\n")
    if not Path(base_path).is_file():
        total = head["monthly_usd"]
        print(f"New stack: ${total['min']:,.2f} to ${total['max']:,.2f} a month.")
        return
    base = json.loads(Path(base_path).read_text())
    print("| | base | this PR | change |\n|---|---:|---:|---:|")
    for scale in ("min", "max"):
        old, new = base["monthly_usd"][scale], head["monthly_usd"][scale]
        print(f"| monthly at {scale} scale | ${old:,.2f} | ${new:,.2f} | ${new - old:+,.2f} |")
    old_lines, new_lines = _lines(base), _lines(head)
    changed = [
        (key, old_lines.get(key, {"max": 0.0})["max"], new_lines.get(key, {"max": 0.0})["max"])
        for key in sorted(set(old_lines) | set(new_lines))
        if old_lines.get(key) != new_lines.get(key)
    ]
    if changed:
        print("\n| region | kind | item | max before | max after |\n|---|---|---|---:|---:|")
        for (region, kind, item), old, new in changed:
            print(f"| {region} | {kind} | {item} | ${old:,.2f} | ${new:,.2f} |")
    else:
        print("\nNo line changed.")


if __name__ == "__main__":
    main(*sys.argv[1:4])

"""The users' CI workflow: every example stack planned offline, the cost diff it publishes."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from tests.conftest import REPO

WORKFLOW = REPO / ".github" / "workflows" / "llmfleet.yml"


def test_every_example_stack_is_planned_without_credentials():
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    stacks = sorted(
        p.name[len("Pulumi.") : -len(".yaml")] for p in (REPO / "stacks").glob("Pulumi.*.yaml")
    )
    assert sorted(jobs["plan"]["strategy"]["matrix"]["stack"]) == stacks
    assert "id-token" not in jobs["plan"].get("permissions", {})
    steps = " ".join(str(s.get("run", "")) for s in jobs["plan"]["steps"])
    assert "llmfleet plan" in steps and "llmfleet cost" in steps
    preview = " ".join(str(s.get("run", "")) for s in jobs["preview"]["steps"])
    assert "--policy-pack policies --policy-pack-config policies/" in preview
    assert jobs["preview"]["permissions"]["id-token"] == "write"
    assert "secrets." not in WORKFLOW.read_text()


def test_cost_diff_names_the_changed_lines(tmp_path):
    line = {
        "region": "us-east-1",
        "kind": "network",
        "item": "NAT a",
        "monthly_usd": {"min": 1.0, "max": 1.0},
    }
    base = {"monthly_usd": {"min": 1.0, "max": 1.0}, "lines": [line]}
    more = {**line, "item": "NAT b"}
    head = {"monthly_usd": {"min": 2.0, "max": 2.0}, "lines": [line, more]}
    (tmp_path / "base.json").write_text(json.dumps(base))
    (tmp_path / "head.json").write_text(json.dumps(head))
    out = subprocess.run(
        [
            sys.executable,
            str(REPO / ".github" / "cost_diff.py"),
            str(tmp_path / "base.json"),
            str(tmp_path / "head.json"),
            "dev",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "| monthly at max scale | $1.00 | $2.00 | $+1.00 |" in out
    assert "| us-east-1 | network | NAT b | $0.00 | $1.00 |" in out
    assert "NAT a" not in out

"""`plan --compare-to OLD.json`: what changed, one line per resource, and the cost change."""

from __future__ import annotations

import copy
import json

from llmfleet.cli import main
from llmfleet.compare import Change, compare, describe
from tests.conftest import DEV_FLEET
from tests.llmfleet.test_cli import make_project, stack_text


def resource(name: str, **inputs) -> dict:
    return {
        "urn": f"urn:pulumi:s::p::aws:ec2/vpc:Vpc::{name}",
        "type": "aws:ec2/vpc:Vpc",
        "name": name,
        "parent": None,
        "cloud": "aws",
        "region": "us-east-1",
        "provider": None,
        "protect": False,
        "inputs": inputs,
    }


def plan_json(*resources: dict, cost: tuple[float, float] = (10.0, 20.0)) -> dict:
    return {
        "resources": list(resources),
        "cost": {"monthly_usd": {"min": cost[0], "max": cost[1]}},
    }


def test_added_removed_and_changed_resources_by_urn():
    old = plan_json(resource("a", cidrBlock="10.0.0.0/16"), resource("gone"))
    new = plan_json(resource("a", cidrBlock="10.1.0.0/16"), resource("new"), cost=(10.0, 25.5))
    diff = compare(old, new)
    assert [r["name"] for r in diff.added] == ["new"]
    assert [r["name"] for r in diff.removed] == ["gone"]
    assert [c.changes for c in diff.changed] == [
        [Change("cidrBlock", "10.0.0.0/16", "10.1.0.0/16")]
    ]
    assert describe(diff) == [
        "+ Vpc new (aws us-east-1)",
        "- Vpc gone (aws us-east-1)",
        '~ Vpc a (aws us-east-1): cidrBlock "10.0.0.0/16" -> "10.1.0.0/16"',
        "1 to add, 1 to change, 1 to delete",
        "monthly cost: min $10.00 -> $10.00 (+0.00), max $20.00 -> $25.50 (+5.50)",
    ]


def test_nested_paths_added_keys_options_and_resized_lists():
    old = resource("a", spec={"limits": {"cpu": 16}, "zones": ["a", "b"]}, tags={"x": "1"})
    new = copy.deepcopy(old) | {"protect": True}
    new["inputs"] = {"spec": {"limits": {"cpu": 16, "gpu": 2}, "zones": ["a"]}, "tags": {"x": "1"}}
    [changed] = compare(plan_json(old), plan_json(new)).changed
    assert changed.changes == [
        Change("(protect)", False, True),
        Change("spec.limits.gpu", changed.changes[1].old, 2),
        Change("spec.zones", ["a", "b"], ["a"]),
    ]
    assert "spec.limits.gpu (none) -> 2" in describe(compare(plan_json(old), plan_json(new)))[0]


def test_same_plan_has_no_changes():
    body = plan_json(resource("a", cidrBlock="10.0.0.0/16"))
    assert describe(compare(body, copy.deepcopy(body))) == ["no changes"]


def pool_fleet(max_nodes: int) -> dict:
    fleet = copy.deepcopy(DEV_FLEET)
    fleet["regions"][0]["cluster"] = {
        # Spot: the policy pack wants non-production accelerator pools on spot.
        "gpu_pools": [
            {"name": "l4", "accelerator": "nvidia-l4", "max_nodes": max_nodes, "spot": True}
        ]
    }
    return fleet


def test_one_pool_edit_reads_as_one_line(tmp_path, capsys):
    project = make_project(tmp_path, {"dev": stack_text(pool_fleet(2))})
    old = tmp_path / "old.json"
    assert main(["plan", "dev", "-C", str(project), "--json", str(old)]) == 0
    (project / "stacks" / "Pulumi.dev.yaml").write_text(stack_text(pool_fleet(3)))
    capsys.readouterr()
    assert main(["plan", "dev", "-C", str(project), "--compare-to", str(old)]) == 0
    out = capsys.readouterr().out
    changes = out[out.index(f"changes since {old}") :].splitlines()[1:]
    assert changes[0].startswith("~ NodePool llm-dev-aws-us-east-1-cluster-karpenter-l4 ")
    assert "spec.limits.nvidia.com/gpu 2 -> 3" in changes[0]
    assert changes[1] == "0 to add, 1 to change, 0 to delete"
    assert changes[2].startswith("monthly cost: min ")
    assert len(changes) == 3


def test_a_file_that_is_not_a_plan_exits_2_before_planning(tmp_path, capsys):
    bad = tmp_path / "old.json"
    bad.write_text(json.dumps({"stack": "dev"}))
    assert main(["plan", "dev", "--compare-to", str(bad)]) == 2
    captured = capsys.readouterr()
    assert f"--compare-to {bad}: not a plan JSON (no 'resources' list)" in captured.err
    assert captured.out == ""

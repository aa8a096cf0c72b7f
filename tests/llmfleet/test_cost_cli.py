"""`llmfleet cost` and the plan's cost section: one estimate, checkable by hand."""

from __future__ import annotations

import json

import pytest
import yaml

from llmfleet.cli import main
from tests.conftest import REPO
from tests.llmfleet.test_cli import EXAMPLE_STACKS, make_project

HOURS = 730


@pytest.fixture(scope="module")
def estimates(tmp_path_factory) -> dict[str, tuple[int, dict, dict]]:
    """Each example stack's `llmfleet cost --json` and `llmfleet plan --json` cost section."""
    folder = tmp_path_factory.mktemp("cost")
    found = {}
    for stack in EXAMPLE_STACKS:
        cost_file, plan_file = folder / f"{stack}-cost.json", folder / f"{stack}-plan.json"
        code = main(["cost", stack, "--json", str(cost_file), "--project", str(REPO)])
        main(["plan", stack, "--no-tree", "--json", str(plan_file), "--project", str(REPO)])
        found[stack] = (
            code,
            json.loads(cost_file.read_text()),
            json.loads(plan_file.read_text())["cost"],
        )
    return found


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_cost_and_plan_agree_to_the_cent(estimates, stack):
    code, by_cost, by_plan = estimates[stack]
    assert code == 0
    assert by_cost == by_plan


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_example_stacks_cost_something_within_their_budget(estimates, stack):
    _, estimate, _ = estimates[stack]
    monthly = estimate["monthly_usd"]
    assert 0 < monthly["min"] < monthly["max"] <= estimate["budget_usd"]
    assert estimate["headroom_usd"] == round(estimate["budget_usd"] - monthly["max"], 2)
    assert sum(line["monthly_usd"]["max"] for line in estimate["lines"]) == pytest.approx(
        monthly["max"], abs=0.005
    )


def test_dev_total_from_the_catalog_prices(estimates):
    """The dev stack by hand: us-east-1 list prices from llmfleet/components/data/catalog.yaml."""
    _, estimate, _ = estimates["dev"]
    fixed = (
        0.10 * HOURS  # EKS control plane
        + 0.045 * HOURS  # one NAT gateway
        # five KMS keys: models, cluster, flow logs, metrics (AMP and alert topic), Grafana
        + 5 * 1.00
        + 2 * (10 * 0.50 + 30 * 0.03)  # two log groups: 10 GB ingested, 90 days kept
        + 14.96 * 0.023  # llama-3-8b v1: 8.03B params in bf16 = 14.96 GiB in S3
    )
    system_min = 2 * 0.2016 * HOURS + 2 * 100 * 0.08  # m7i.xlarge + 100 GB gp3 each
    system_max = 3 * 0.2016 * HOURS + 3 * 100 * 0.08
    l4_max = 4 * 0.4129 * HOURS + 4 * 100 * 0.08  # g6.xlarge spot, scales from zero
    # chat scales to zero behind the KEDA HTTP add-on: no L4 node while idle.
    assert estimate["monthly_usd"]["min"] == pytest.approx(fixed + system_min, abs=0.02)
    assert estimate["monthly_usd"]["max"] == pytest.approx(fixed + system_max + l4_max, abs=0.02)
    assert estimate["spot_savings_usd"]["max"] == pytest.approx(
        4 * (0.8048 - 0.4129) * HOURS, abs=0.01
    )
    reasons = {u["item"].split(" llm-")[0]: u["reason"] for u in estimate["unpriced"]}
    assert reasons == {
        "NAT": "data processing per GB",
        "AMP workspace": "samples ingested, stored and queried",
        "AMP managed collector": "samples collected",
        "Amazon Managed Grafana workspace": "active editor and viewer users a month",
    }


def test_a_one_dollar_dev_exits_1_naming_the_overrun_and_the_biggest_line(tmp_path, capsys):
    document = yaml.safe_load((REPO / "stacks" / "Pulumi.dev.yaml").read_text())
    document["config"]["llmfleet:fleet"]["budget"]["monthly_usd"] = 1
    project = make_project(tmp_path, {"broke": yaml.safe_dump(document)})
    (project / "stacks" / "models.lock.yaml").write_text(
        (REPO / "stacks" / "models.lock.yaml").read_text()
    )
    assert main(["plan", "broke", "--no-tree", "--project", str(project)]) == 1
    out = capsys.readouterr().out
    assert "over budget" in out
    assert "exceeds the budget $1.00 by $1,82" in out
    assert "biggest line: pool l4-spot: g6.xlarge spot (us-east-1) $1,205.67 a month" in out
    assert main(["cost", "broke", "--project", str(project)]) == 1

"""`llmfleet plan` and the fleet's alerts: one summary line by default, the whole table (threshold
and channel of every alert) with --alerts."""

from __future__ import annotations

import pytest

from llmfleet.cli import main
from llmfleet.plan import make_plan
from llmfleet.report import alerts_summary, alerts_table
from llmfleet.stackfile import find_project, load_stack
from tests.conftest import REPO


@pytest.fixture(scope="module")
def plans():
    project = find_project(REPO)
    return {name: make_plan(project, load_stack(project, name)) for name in ("prod-aws", "hybrid")}


def rows(table) -> list[tuple[str, ...]]:
    columns = [list(c.cells) for c in table.columns]
    return list(zip(*columns, strict=True))


def test_every_alert_with_its_threshold_and_channel(plans):
    found = rows(alerts_table(plans["prod-aws"]))
    fleet = plans["prod-aws"].stack.fleet
    expected = sum(7 for _ in fleet.regions) + 6  # chat-large everywhere + XID, frontier once
    assert len(found) == expected == 27
    assert (
        "aws us-east-1",
        "frontier",
        "ttft-p95",
        "p95 > 2s for 5m",
        "page",
        "email oncall-ml@example.com",
    ) in found
    assert found[0][:5] == ("aws eu-north-1", "-", "xid-errors", "any XID", "page")


def test_without_a_channel_the_table_says_so(plans):
    found = rows(alerts_table(plans["hybrid"]))
    assert {row[5] for row in found} == {"no channel (console only)"}
    # 6 per serving entry and region, spot interruptions in each (spot pools), XID errors on
    # EKS only (GKE's managed DCGM exports none), and an uptime check of each of the three names.
    kinds = {(row[0], row[2]) for row in found if row[1] == "-"}
    assert kinds == {
        ("aws us-east-1", "xid-errors"),
        ("aws us-east-1", "spot-interruptions"),
        ("gcp us-central1", "spot-interruptions"),
    }
    assert sorted(row[1] for row in found if row[2] == "endpoint-down") == [
        "llm.example.com",
        "us-central1.llm.example.com",
        "us-east-1.llm.example.com",
    ]
    assert alerts_summary(plans["hybrid"]) == (
        "alerts: 18, no notification channel (`llmfleet plan hybrid --alerts` lists them)"
    )


def test_the_default_report_prints_one_line_and_the_flag_the_table(capsys):
    assert main(["plan", "prod-aws", "--project", str(REPO)]) == 0
    out = capsys.readouterr().out
    assert "alerts: 27, to email oncall-ml@example.com" in out
    assert "capacity-exhausted" not in out
    assert main(["plan", "prod-aws", "--project", str(REPO), "--alerts"]) == 0
    out = capsys.readouterr().out
    assert "capacity-exhausted" in out and "alerts: 27," not in out

"""`llmfleet plan` says where a fleet's dashboards are: Amazon Managed Grafana for any fleet
with AWS regions (a mixed fleet's GCP regions included), Cloud Monitoring for a GCP-only one."""

from __future__ import annotations

import pytest

from llmfleet.cli import main
from llmfleet.plan import make_plan
from llmfleet.report import dashboards_summary
from llmfleet.stackfile import find_project, load_stack
from tests.conftest import REPO


@pytest.fixture(scope="module")
def plans():
    project = find_project(REPO)
    return {name: make_plan(project, load_stack(project, name)) for name in ("prod-gcp", "hybrid")}


def test_a_mixed_fleet_looks_at_grafana_over_both_clouds(plans):
    assert dashboards_summary(plans["hybrid"]) == (
        "dashboards: Amazon Managed Grafana llm-hybrid in us-east-1 (sign-in through IAM "
        "Identity Center), 2 dashboards over llm-hybrid aws us-east-1, "
        "llm-hybrid gcp llm-hybrid-serving, llm-hybrid route53 health"
    )


def test_a_gcp_only_fleet_looks_at_cloud_monitoring(plans):
    assert dashboards_summary(plans["prod-gcp"]) == (
        "dashboards: Cloud Monitoring, 3 in project llm-prod-serving"
    )


def test_the_plan_prints_where_to_look(capsys):
    assert main(["plan", "dev", "--project", str(REPO)]) == 0
    out = capsys.readouterr().out
    assert "dashboards: Amazon Managed Grafana llm-dev in us-east-1" in out

"""Amazon Managed Grafana for fleets with AWS regions: one workspace, a role that reads only the
fleet's AMP workspaces, a data source per region (and GCP's managed Prometheus in a mixed
fleet), and the fleet's dashboards written through a secret, content-named token."""

from __future__ import annotations

import json

import pulumi
import pytest

from llmfleet.components.aws.grafana import (
    CLOUDWATCH,
    GRAFANA_VERSION,
    TOKEN_SECONDS,
    content_hash,
    health_source,
    render_dashboards,
    with_health,
)
from llmfleet.components.aws.monitoring import QUERY_ACTIONS
from llmfleet.components.fleet import Fleet
from llmfleet.components.gcp.grafana_reader import GcpGrafanaReader
from llmfleet.components.grafana_dashboards import (
    AMAZON_PROMETHEUS,
    CLOUD_MONITORING,
    MIXED,
    DataSource,
)
from llmfleet.components.spec import parse_fleet
from llmfleet.plan import run_program
from llmfleet.stackfile import find_project, load_stack
from tests.components.aws.test_monitoring import aws_dev
from tests.components.test_observability import CREATED, SELECTED, created_metrics, unpublished
from tests.conftest import REPO

WORKSPACE = "aws:grafana/workspace:Workspace"
SERVICE_ACCOUNT = "aws:grafana/workspaceServiceAccount:WorkspaceServiceAccount"
TOKEN = "aws:grafana/workspaceServiceAccountToken:WorkspaceServiceAccountToken"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
KEY = "aws:kms/key:Key"
AMP = "aws:amp/workspace:Workspace"
PROVIDER = "pulumi:providers:grafana"
DATA_SOURCE = "grafana:oss/dataSource:DataSource"
DASHBOARD = "grafana:oss/dashboard:Dashboard"
FOLDER = "grafana:oss/folder:Folder"
READER = "llmfleet:gcp:GrafanaReader"
GCP_ACCOUNT = "gcp:serviceaccount/account:Account"
GCP_KEY = "gcp:serviceaccount/key:Key"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"


@pytest.fixture(scope="module")
def stacks():
    project = find_project(REPO)
    found = {}
    for name in ("dev", "prod-aws", "prod-gcp", "hybrid"):
        stack = load_stack(project, name)
        recording = run_program(project, stack)
        CREATED.update(created_metrics(recording))  # GKE preemptions: a log-based metric
        found[name] = (stack.fleet, recording)
    return found


def grafana_of(rec):
    (component,) = rec.of_type("llmfleet:aws:ManagedGrafana")
    return component


def boards(rec) -> dict[str, dict]:
    return {
        json.loads(r.inputs["configJson"])["title"]: json.loads(r.inputs["configJson"])
        for r in rec.of_type(DASHBOARD)
    }


def charts(board: dict) -> list[dict]:
    """The time series panels (not the rows between sections)."""
    return [p for p in board["panels"] if p["type"] == "timeseries"]


def targets(board: dict) -> list[dict]:
    """The PromQL targets (managed Prometheus), not the health checks read from CloudWatch."""
    return [t for p in charts(board) for t in p["targets"] if t["datasource"]["type"] != CLOUDWATCH]


def expr(target: dict) -> str:
    return target.get("expr") or target["promQLQuery"]["expr"]


@pytest.mark.parametrize("stack", ["dev", "prod-aws", "hybrid"])
def test_a_fleet_with_aws_regions_gets_one_workspace_in_its_first_aws_region(stacks, stack):
    fleet, rec = stacks[stack]
    (workspace,) = rec.of_type(WORKSPACE)
    assert workspace.region == fleet.regions_of("aws")[0].region == "us-east-1"
    assert workspace.inputs["name"] == fleet.name
    assert workspace.inputs["accountAccessType"] == "CURRENT_ACCOUNT"
    assert workspace.inputs["authenticationProviders"] == ["AWS_SSO"]
    assert workspace.inputs["permissionType"] == "CUSTOMER_MANAGED"
    assert workspace.inputs["grafanaVersion"] == GRAFANA_VERSION == "12.4"
    assert workspace.inputs["tags"] == {**fleet.labels(), "Name": f"{fleet.name}-grafana-workspace"}


def test_a_gcp_only_fleet_keeps_cloud_monitoring(stacks):
    _, rec = stacks["prod-gcp"]
    grafana = [r for r in rec.resources if "grafana" in r.type.lower()]
    assert grafana == []
    assert rec.of_type(READER) == []


def test_the_workspace_is_encrypted_with_its_own_rotating_key_and_protected_in_prod(stacks):
    _, rec = stacks["prod-aws"]
    (workspace,) = rec.of_type(WORKSPACE)
    key = next(k for k in rec.of_type(KEY) if k.outputs["arn"] == workspace.inputs["kmsKeyId"])
    assert key.parent == workspace.parent
    assert key.inputs["enableKeyRotation"] is True
    assert workspace.protect and key.protect


def test_the_workspace_role_trusts_only_grafana_for_this_account(stacks):
    _, rec = stacks["prod-aws"]
    (workspace,) = rec.of_type(WORKSPACE)
    role = next(r for r in rec.of_type(ROLE) if r.outputs["arn"] == workspace.inputs["roleArn"])
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "grafana.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


@pytest.mark.parametrize("stack", ["dev", "prod-aws"])
def test_the_workspace_role_queries_only_the_fleets_amp_workspaces(stacks, stack):
    _, rec = stacks[stack]
    grafana = grafana_of(rec)
    (policy,) = [p for p in rec.of_type(ROLE_POLICY) if p.parent == grafana.urn]
    statement, *others = json.loads(policy.inputs["policy"])["Statement"]
    # Only a routed fleet's role reads CloudWatch too (its health checks' metrics).
    assert others == []
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == list(QUERY_ACTIONS)
    assert statement["Resource"] == sorted(w.outputs["arn"] for w in rec.of_type(AMP))
    assert all(":aps:" in arn and "*" not in arn for arn in statement["Resource"])


@pytest.mark.parametrize("stack", ["dev", "prod-aws", "hybrid"])
def test_one_sigv4_data_source_per_aws_region_reads_its_amp_workspace(stacks, stack):
    fleet, rec = stacks[stack]
    amp = {w.region: w for w in rec.of_type(AMP)}
    sources = [s for s in rec.of_type(DATA_SOURCE) if s.inputs["type"] == AMAZON_PROMETHEUS]
    assert sorted(s.inputs["name"] for s in sources) == sorted(
        f"{fleet.name} aws {r.region}" for r in fleet.regions_of("aws")
    )
    for source in sources:
        region = source.inputs["name"].rsplit(" ", 1)[1]
        assert source.inputs["url"] == amp[region].outputs["prometheusEndpoint"]
        assert json.loads(source.inputs["jsonDataEncoded"]) == {
            "httpMethod": "POST",
            "sigV4Auth": True,
            "sigV4AuthType": "ec2_iam_role",
            "sigV4Region": region,
        }
        assert "secureJsonDataEncoded" not in source.inputs  # the workspace role signs


def test_a_mixed_fleet_reads_gcp_through_a_monitoring_viewer_key(stacks):
    fleet, rec = stacks["hybrid"]
    (reader,) = rec.of_type(READER)
    (account,) = [a for a in rec.of_type(GCP_ACCOUNT) if a.parent == reader.urn]
    (key,) = [k for k in rec.of_type(GCP_KEY) if k.parent == reader.urn]
    grants = [
        m for m in rec.of_type(PROJECT_MEMBER) if m.inputs["member"] == account.outputs["member"]
    ]
    assert [(g.inputs["role"], g.inputs["project"]) for g in grants] == [
        ("roles/monitoring.viewer", fleet.gcp_project)
    ]
    (source,) = [s for s in rec.of_type(DATA_SOURCE) if s.inputs["type"] == CLOUD_MONITORING]
    assert json.loads(source.inputs["jsonDataEncoded"]) == {
        "authenticationType": "jwt",
        "clientEmail": account.outputs["email"],
        "defaultProject": fleet.gcp_project,
        "tokenUri": "https://oauth2.googleapis.com/token",
    }
    private_key = json.loads(source.inputs["secureJsonDataEncoded"])["privateKey"]
    assert private_key.startswith("-----BEGIN PRIVATE KEY-----")
    assert key.urn in source.dependencies


@pytest.mark.parametrize("stack", ["dev", "prod-aws", "hybrid"])
def test_grafana_objects_are_written_through_the_workspace_provider(stacks, stack):
    _, rec = stacks[stack]
    (workspace,) = rec.of_type(WORKSPACE)
    (token,) = rec.of_type(TOKEN)
    (provider,) = rec.of_type(PROVIDER)
    assert provider.inputs["url"] == f"https://{workspace.outputs['endpoint']}"
    assert provider.inputs["auth"] == token.outputs["key"]
    for type_ in (DATA_SOURCE, DASHBOARD, FOLDER):
        assert all(r.provider == provider.urn for r in rec.of_type(type_))


@pytest.mark.parametrize("stack", ["dev", "prod-aws", "hybrid"])
def test_the_token_is_an_admin_one_named_after_the_content_for_30_days(stacks, stack):
    fleet, rec = stacks[stack]
    (account,) = rec.of_type(SERVICE_ACCOUNT)
    (token,) = rec.of_type(TOKEN)
    assert account.inputs["grafanaRole"] == "ADMIN"
    assert token.inputs["secondsToLive"] == TOKEN_SECONDS == 30 * 24 * 3600
    assert token.inputs["serviceAccountId"] == account.outputs["serviceAccountId"]
    assert token.inputs["name"].startswith(f"{fleet.name}-pulumi-")
    # A re-mint by --replace keeps the name, which the workspace holds once.
    assert token.delete_before_replace


def test_the_content_hash_changes_with_the_dashboards_and_only_then(stacks):
    fleet, rec = stacks["prod-aws"]
    sources = [
        DataSource(
            f"{fleet.name} aws {r.region}",
            AMAZON_PROMETHEUS,
            f"{fleet.name}-amp-{r.region}",
            "aws",
            {r.region: f"{fleet.name}-{r.region}"},
        )
        for r in fleet.regions
    ]
    rendered = render_dashboards(fleet, sources)
    digest = content_hash(sources, rendered)
    assert digest == content_hash(sources, render_dashboards(fleet, sources))
    assert content_hash(sources[:1], render_dashboards(fleet, sources[:1])) != digest
    (token,) = rec.of_type(TOKEN)
    assert token.inputs["name"] == f"{fleet.name}-pulumi-{digest}"


def test_the_provider_token_and_the_gcp_key_stay_secret(run):
    aws_only = parse_fleet(aws_dev(None))
    hybrid = load_stack(find_project(REPO), "hybrid").fleet

    def program():
        fleet = Fleet(aws_only.name, aws_only)
        pulumi.export("auth", pulumi.Output.from_input(fleet.grafana.auth.is_secret()))
        reader = GcpGrafanaReader("reader", hybrid, hybrid.regions_of("gcp"))
        secure = pulumi.Output.from_input(reader.source.secure_json_data)
        pulumi.export("gcp_key", pulumi.Output.from_input(secure.is_secret()))

    rec = run(program)
    assert rec.exports == {"auth": True, "gcp_key": True}


@pytest.mark.parametrize("stack", ["dev", "prod-aws", "hybrid"])
def test_a_fleet_view_and_one_dashboard_per_serving_entry(stacks, stack):
    fleet, rec = stacks[stack]
    assert set(boards(rec)) == {f"{fleet.name} fleet"} | {
        f"{fleet.name} {s.name}" for s in fleet.serving
    }
    assert all(b["editable"] is False for b in boards(rec).values())
    (folder,) = rec.of_type(FOLDER)
    assert {d.inputs["folder"] for d in rec.of_type(DASHBOARD)} == {folder.inputs["uid"]}


@pytest.mark.parametrize("stack", ["dev", "prod-aws", "hybrid"])
def test_every_dashboard_query_names_published_metrics(stacks, stack):
    _, rec = stacks[stack]
    for title, board in boards(rec).items():
        for target in targets(board):
            assert SELECTED.findall(expr(target)), (title, target)
            assert unpublished(expr(target)) == [], (title, target)


@pytest.mark.parametrize("stack", ["dev", "prod-aws", "hybrid"])
def test_every_target_names_a_data_source_the_workspace_has(stacks, stack):
    _, rec = stacks[stack]
    uids = {s.inputs["uid"]: s.inputs["type"] for s in rec.of_type(DATA_SOURCE)}
    for board in boards(rec).values():
        for target in targets(board):
            assert uids[target["datasource"]["uid"]] == target["datasource"]["type"]


def test_panels_spanning_regions_query_every_regions_workspace(stacks):
    fleet, rec = stacks["prod-aws"]
    board = boards(rec)["llm-prod fleet"]
    for chart in charts(board):
        assert chart["datasource"] == MIXED
        assert {t["datasource"]["uid"] for t in chart["targets"]} == {
            f"llm-prod-amp-{r.region}" for r in fleet.regions
        }
    # A one-region fleet needs no Mixed data source.
    _, dev = stacks["dev"]
    assert all(
        p["datasource"]["uid"] == "llm-dev-amp-us-east-1"
        for p in boards(dev)["llm-dev chat"]["panels"]
    )


def test_a_mixed_fleets_dashboards_cover_its_gcp_regions(stacks):
    _, rec = stacks["hybrid"]
    chat = boards(rec)["llm-hybrid chat"]
    for chart in charts(chat):
        clouds = {t["datasource"]["type"] for t in chart["targets"]}
        assert clouds == {AMAZON_PROMETHEUS, CLOUD_MONITORING}, chart["title"]
        gcp = [t for t in chart["targets"] if t["datasource"]["type"] == CLOUD_MONITORING]
        assert all("llm-hybrid-us-central1" in expr(t) for t in gcp)
        assert all(t["promQLQuery"]["projectName"] == "llm-hybrid-serving" for t in gcp)
    # The fleet view: a row per cloud, each cloud's charts (its own signals) on its data sources.
    fleet = boards(rec)["llm-hybrid fleet"]["panels"]
    rows = [i for i, p in enumerate(fleet) if p["type"] == "row"]
    assert [fleet[i]["title"] for i in rows] == ["aws", "gcp", "endpoints"]
    sections = {"aws": fleet[rows[0] + 1 : rows[1]], "gcp": fleet[rows[1] + 1 : rows[2]]}
    for cloud, kind in (("aws", AMAZON_PROMETHEUS), ("gcp", CLOUD_MONITORING)):
        assert {t["datasource"]["type"] for p in sections[cloud] for t in p["targets"]} == {kind}
    titles = {cloud: [p["title"] for p in found] for cloud, found in sections.items()}
    assert "accelerator nodes by capacity type" in titles["aws"]
    assert "accelerator nodes by capacity type" in titles["gcp"]
    assert "GPU XID errors" in titles["aws"] and "GPU XID errors" not in titles["gcp"]
    assert "spot interruptions per 1h" in titles["gcp"]


def test_legends_carry_region_and_cloud(stacks):
    _, rec = stacks["prod-aws"]
    board = boards(rec)["llm-prod chat-large"]
    cost = next(p for p in charts(board) if p["title"].startswith("cost per hour"))
    assert sorted(t["legendFormat"] for t in cost["targets"]) == [
        "llm-prod-eu-north-1 (aws)",
        "llm-prod-us-east-1 (aws)",
        "llm-prod-us-west-2 (aws)",
    ]


def test_a_routed_fleets_view_ends_with_each_regions_route53_health(stacks):
    _, rec = stacks["hybrid"]
    check_ids = {
        region: next(c.outputs["id"] for c in rec.of_type(HEALTH_CHECK) if f"-{region}-" in c.name)
        for region in ("us-east-1", "us-central1")
    }
    *_, header, health = boards(rec)["llm-hybrid fleet"]["panels"]
    assert (header["type"], header["title"]) == ("row", "endpoints")
    assert health["gridPos"] == {"x": 0, "y": header["gridPos"]["y"] + 1, "w": 24, "h": 8}
    assert health["fieldConfig"]["defaults"] == {"unit": "percent", "min": 0, "max": 100}
    (source,) = [s for s in rec.of_type(DATA_SOURCE) if s.inputs["type"] == CLOUDWATCH]
    assert health["datasource"] == {"type": CLOUDWATCH, "uid": source.inputs["uid"]}
    assert json.loads(source.inputs["jsonDataEncoded"]) == {
        "authType": "ec2_iam_role",
        "defaultRegion": "us-east-1",
    }
    lines = {t["label"]: t for t in health["targets"]}
    assert set(lines) == {"us-east-1.llm.example.com", "us-central1.llm.example.com"}
    for region, check_id in check_ids.items():
        line = lines[f"{region}.llm.example.com"]
        assert line["dimensions"] == {"HealthCheckId": [check_id]}
        assert line["datasource"] == health["datasource"]
        assert (line["namespace"], line["metricName"]) == (
            "AWS/Route53",
            "HealthCheckPercentageHealthy",
        )
        # Route 53 publishes health-check metrics in us-east-1 only.
        assert (line["region"], line["statistic"], line["matchExact"]) == (
            "us-east-1",
            "Average",
            True,
        )


def test_only_a_routed_fleets_role_reads_cloudwatch_metric_data(stacks):
    _, rec = stacks["hybrid"]
    grafana = grafana_of(rec)
    (policy,) = [p for p in rec.of_type(ROLE_POLICY) if p.parent == grafana.urn]
    amp, cloudwatch = json.loads(policy.inputs["policy"])["Statement"]
    assert amp["Action"] == list(QUERY_ACTIONS)
    assert amp["Resource"] == sorted(w.outputs["arn"] for w in rec.of_type(AMP))
    assert cloudwatch == {
        "Effect": "Allow",
        "Action": ["cloudwatch:GetMetricData"],
        "Resource": "*",
    }
    for stack in ("dev", "prod-aws"):
        sources = stacks[stack][1].of_type(DATA_SOURCE)
        assert [s for s in sources if s.inputs["type"] == CLOUDWATCH] == []


def test_other_health_checks_change_the_token_name(stacks):
    fleet, _ = stacks["hybrid"]
    health = health_source(fleet).source
    board = {"panels": [{"type": "timeseries", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8}}]}

    def digest(check_id: str) -> str:
        shown = with_health(fleet, board, health, {"us-east-1": check_id})
        return content_hash([health], {"fleet": shown})

    assert digest("hc-1") == digest("hc-1") != digest("hc-2")

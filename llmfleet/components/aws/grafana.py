"""Amazon Managed Grafana: the one place to look at a fleet with AWS serving regions.

One workspace per fleet, in its first AWS serving region, signed into through AWS IAM Identity
Center (``AWS_SSO``): Identity Center must be enabled in the account (or its organization)
before the workspace is created, and people get their Grafana role (viewer, editor, admin) by
assignment there, not in the stack file. The workspace's data is encrypted with a customer key
of its own.

Grafana reads each EKS region's Amazon Managed Service for Prometheus workspace as its own
identity: a role only ``grafana.amazonaws.com`` acting for this account may assume, that may
query the fleet's AMP workspaces and nothing else (customer-managed permissions). GCP regions
are read through the data source the GCP side describes (llmfleet/components/gcp/
grafana_reader.py), so a fleet spanning both clouds has every region on the same dashboards.

With a Route 53 global endpoint, the fleet view ends with the endpoint's regional health: the
share of Route 53's health checkers that find each region's entry healthy, which Route 53
publishes to CloudWatch in us-east-1 (``HealthCheckPercentageHealthy``). Grafana reads it through
a CloudWatch data source as the same role, which may then also read CloudWatch metrics: reading
metrics has no resource-level permission in IAM, so that grant is for every metric of the
account (and only with a routed fleet).

Data sources and dashboards are code, written through the Grafana API by the Grafana provider
with a token of a workspace service account. Such a token lives at most 30 days, and renewing it
on a schedule would need a time-dependent input, which would make every plan differ. Instead its
name carries a hash of what the provider writes (``content_hash``): every change to the data
sources or dashboards mints a fresh token before the provider uses it, and an unchanged fleet
makes no Grafana call. Anything else that calls Grafana more than 30 days after the last change
(``pulumi refresh``, ``pulumi destroy``, a rotated GCP key) needs a fresh token first:
``pulumi up --replace <token URN>`` (docs/DESIGN.md, Observability).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumiverse_grafana as grafana

from llmfleet.components.aws import iam
from llmfleet.components.aws.cluster import KEY_DELETION_WINDOW_DAYS
from llmfleet.components.aws.component import AwsComponent
from llmfleet.components.aws.monitoring import QUERY_ACTIONS, UPTIME_REGION
from llmfleet.components.contracts import DashboardSource
from llmfleet.components.grafana_dashboards import (
    PANEL_HEIGHT,
    PANEL_WIDTH,
    DataSource,
    bottom,
    dashboard,
    row,
    timeseries,
    uid,
)
from llmfleet.components.observability import dashboards
from llmfleet.components.spec import FleetSpec, RegionSpec

GRAFANA_VERSION = "12.4"
"""Grafana 12.4: the first Amazon Managed Grafana version with the Amazon Managed Service for
Prometheus data source (AMG 12 dropped SigV4 from the core Prometheus one), and Cloud
Monitoring's PromQL queries."""

SERVICE = "grafana.amazonaws.com"

ACCOUNT_ACCESS = "CURRENT_ACCOUNT"
"""Data sources of this account only (not an organization's)."""

AUTHENTICATION = ("AWS_SSO",)
"""People sign in through AWS IAM Identity Center."""

PERMISSIONS = "CUSTOMER_MANAGED"
"""The workspace assumes the role made here; AMG creates no roles or policies of its own."""

SERVICE_ACCOUNT_ROLE = "ADMIN"
"""What the provider's service account may do in Grafana: creating data sources takes an
organization admin."""

TOKEN_SECONDS = 30 * 24 * 3600
"""The longest lifetime AMG gives a service account token (30 days)."""

CLOUDWATCH = "cloudwatch"
"""Grafana's Amazon CloudWatch data source."""

HEALTH_ACTIONS = ("cloudwatch:GetMetricData",)
"""What the workspace role may do with CloudWatch to chart the health checks: read metric data
(IAM allows no narrower resource than ``*`` for it)."""

HEALTH_METRIC = "HealthCheckPercentageHealthy"
"""Route 53's share (0-100) of its health checkers that find the endpoint healthy."""

FOLDER = "llmfleet"
"""The folder (title suffix and uid part) holding the fleet's dashboards."""


def trust_policy(account_id: str) -> str:
    """Only Amazon Managed Grafana, acting for this account, assumes the workspace role."""
    return iam.trust_policy(
        {"Service": SERVICE}, condition={"StringEquals": {"aws:SourceAccount": account_id}}
    )


def query_policy(workspace_arns: Sequence[str], health: bool = False) -> str:
    """The workspace role reads the fleet's AMP workspaces, nothing else; with ``health``, also
    CloudWatch metric data (the Route 53 health checks)."""
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": list(QUERY_ACTIONS), "Resource": sorted(workspace_arns)}
    ]
    if health:
        statements.append({"Effect": "Allow", "Action": list(HEALTH_ACTIONS), "Resource": "*"})
    return iam.policy_document(*statements)


def health_source(fleet: FleetSpec) -> DashboardSource:
    """CloudWatch in us-east-1, where Route 53 publishes its health checks' metrics, read as the
    workspace's role (``ec2_iam_role``, "Workspace IAM Role" in AMG)."""
    return DashboardSource(
        source=DataSource(
            name=f"{fleet.name} route53 health",
            type=CLOUDWATCH,
            uid=uid(fleet.name, "health"),
            cloud="aws",
            clusters={},
        ),
        url=None,
        json_data={"authType": "ec2_iam_role", "defaultRegion": UPTIME_REGION},
    )


def health_panel(
    fleet: FleetSpec, source: DataSource, check_ids: Mapping[str, str], panel_id: int, y: int
) -> dict[str, Any]:
    """Each routed region's health check (``check_ids`` by region): the share of Route 53's
    checkers finding ``<region>.<domain>`` healthy, one line per region, across the grid."""
    targets = [
        {
            "refId": f"R{i}",
            "datasource": source.ref,
            "queryMode": "Metrics",
            "metricQueryType": 0,
            "metricEditorMode": 0,
            "region": UPTIME_REGION,
            "namespace": "AWS/Route53",
            "metricName": HEALTH_METRIC,
            "dimensions": {"HealthCheckId": [check_id]},
            "matchExact": True,
            "statistic": "Average",
            "period": "60",
            "label": f"{region}.{fleet.routing.domain}",
        }
        for i, (region, check_id) in enumerate(sorted(check_ids.items()))
    ]
    return timeseries(
        "regional health: Route 53 health checkers finding the entry healthy",
        source.ref,
        targets,
        {"unit": "percent", "min": 0, "max": 100},
        panel_id,
        {"x": 0, "y": y, "w": 2 * PANEL_WIDTH, "h": PANEL_HEIGHT},
    )


def with_health(
    fleet: FleetSpec, board: dict[str, Any], source: DataSource, check_ids: Mapping[str, str]
) -> dict[str, Any]:
    """The fleet view with the regional health chart at its end (under a row of its own when
    the view is in rows)."""
    panels = list(board["panels"])
    y = bottom(panels)
    if any(p["type"] == "row" for p in panels):
        panels.append(row("endpoints", len(panels) + 1, y))
        y += 1
    panels.append(health_panel(fleet, source, check_ids, len(panels) + 1, y))
    return {**board, "panels": panels}


def content_hash(sources: Sequence[DataSource], boards: Mapping[str, Any]) -> str:
    """A digest of what the provider writes to Grafana: the data sources it creates and the
    dashboards' JSON. It changes exactly when a deployment has something to write."""
    text = json.dumps(
        {"sources": [asdict(s) for s in sources], "dashboards": boards}, sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def render_dashboards(fleet: FleetSpec, sources: Sequence[DataSource]) -> dict[str, dict]:
    """The fleet view and one dashboard per serving entry over ``sources``' clusters, as Grafana
    dashboard JSON by key (``fleet`` or the entry's name)."""
    clusters: dict[str, dict[str, str]] = {}
    for source in sources:
        clusters.setdefault(source.cloud, {}).update(source.clusters)
    tags = (fleet.name, FOLDER)
    return {
        key: dashboard(uid(fleet.name, key), board, sources, (*tags, key))
        for key, board in dashboards(fleet, clusters).items()
    }


class AmazonManagedGrafana(AwsComponent):
    """The fleet's Grafana workspace, the identity it reads metrics as, and its data sources and
    dashboards."""

    workspace: aws.grafana.Workspace
    role: aws.iam.Role
    """What Grafana queries AMP as."""
    token: aws.grafana.WorkspaceServiceAccountToken
    """The provider's credential."""
    auth: pulumi.Output[str]
    """The token's key, as a secret (state and plan files keep it encrypted)."""
    provider: grafana.Provider
    data_sources: dict[str, grafana.oss.DataSource]
    """By data source name."""
    dashboards: dict[str, grafana.oss.Dashboard]
    """``fleet`` and one per serving entry, by name."""

    def __init__(
        self,
        name: str,
        fleet: FleetSpec,
        region: RegionSpec,
        sources: Sequence[DashboardSource],
        health_checks: Mapping[str, pulumi.Input[str]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``health_checks``: the global endpoint's Route 53 health check ids by region (none
        without a Route 53 endpoint)."""
        super().__init__("llmfleet:aws:ManagedGrafana", name, fleet.labels(), opts)
        self._name = name
        self._fleet = fleet
        self._region = region.region
        health = health_source(fleet) if health_checks else None
        written = [*sources, *([health] if health else [])]
        rendered = render_dashboards(fleet, [s.source for s in sources])
        boards = self._with_health(rendered, health, health_checks)
        account_id, partition = iam.caller_account(self)
        self.role = self._role(
            account_id, [s.query_arn for s in sources if s.query_arn], health is not None
        )
        self.workspace = aws.grafana.Workspace(
            f"{name}-workspace",
            name=fleet.name,
            description=f"Dashboards of the {fleet.name} serving fleet (llmfleet)",
            account_access_type=ACCOUNT_ACCESS,
            authentication_providers=list(AUTHENTICATION),
            permission_type=PERMISSIONS,
            role_arn=self.role.arn,
            grafana_version=GRAFANA_VERSION,
            kms_key_id=self._key(account_id, partition).arn,
            region=self._region,
            tags=self._tags(f"{name}-workspace"),
            opts=self._child(protect=fleet.protect),
        )
        views = [s.source for s in written]
        self.token = self._token(boards.apply(lambda b: content_hash(views, b)))
        url = self.workspace.endpoint.apply(lambda host: f"https://{host}")
        # The provider schema marks the key secret too; stating it keeps it so everywhere.
        self.auth = pulumi.Output.secret(self.token.key)
        self.provider = grafana.Provider(
            f"{name}-provider",
            url=url,
            auth=self.auth,
            opts=self._child(),
        )
        self.data_sources = {s.source.name: self._data_source(s) for s in written}
        folder = grafana.oss.Folder(
            f"{name}-folder",
            title=f"{fleet.name} ({FOLDER})",
            uid=uid(fleet.name, FOLDER),
            opts=self._child(provider=self.provider),
        )
        self.dashboards = {
            key: grafana.oss.Dashboard(
                f"{name}-dashboard-{key}",
                config_json=boards.apply(lambda b, key=key: json.dumps(b[key], sort_keys=True)),
                folder=folder.uid,
                overwrite=True,
                opts=self._child(
                    provider=self.provider, depends_on=list(self.data_sources.values())
                ),
            )
            for key in rendered
        }
        self.register_outputs(
            {"url": url, "workspace_id": self.workspace.id, "token": self.token.name}
        )

    def _with_health(
        self,
        rendered: dict[str, dict],
        health: DashboardSource | None,
        check_ids: Mapping[str, pulumi.Input[str]],
    ) -> pulumi.Output[dict[str, dict]]:
        """The dashboards as written: ``rendered``, the fleet view ending with the regional
        health chart when there are health checks to show."""

        # An apply hands the JSON on as one value; Output.from_input would make an Output of
        # every value in it (thousands of tasks: most of a small fleet's plan time).
        def written(ids: Mapping[str, str]) -> dict[str, dict]:
            if health is None:
                return rendered
            fleet_view = with_health(self._fleet, rendered["fleet"], health.source, ids)
            return {**rendered, "fleet": fleet_view}

        return pulumi.Output.all(**check_ids).apply(written)

    def _key(self, account_id: pulumi.Output[str], partition: pulumi.Output[str]) -> aws.kms.Key:
        """The workspace's key: the account administers it; Amazon Managed Grafana uses it
        through grants it makes as the deploying principal."""
        return aws.kms.Key(
            f"{self._name}-key",
            description=f"Amazon Managed Grafana workspace of {self._fleet.name}",
            enable_key_rotation=True,
            deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
            policy=pulumi.Output.all(partition, account_id).apply(
                lambda v: iam.policy_document(iam.account_root_admin_statement(v[0], v[1]))
            ),
            region=self._region,
            tags=self._tags(f"{self._name}-key"),
            opts=self._child(protect=self._fleet.protect),
        )

    def _role(
        self,
        account_id: pulumi.Output[str],
        workspace_arns: list[pulumi.Input[str]],
        health: bool,
    ) -> aws.iam.Role:
        name = f"{self._name}-role"
        role = aws.iam.Role(
            name,
            description=f"Amazon Managed Grafana of {self._fleet.name}: queries its AMP workspaces",
            assume_role_policy=account_id.apply(trust_policy),
            tags=self._tags(name),
            opts=self._child(),
        )
        aws.iam.RolePolicy(
            name,
            role=role.id,
            policy=pulumi.Output.all(*workspace_arns).apply(
                lambda arns: query_policy(arns, health)
            ),
            opts=self._child(),
        )
        return role

    def _token(self, digest: pulumi.Input[str]) -> aws.grafana.WorkspaceServiceAccountToken:
        """The provider's token, named after ``digest`` so new content mints a new one."""
        account = aws.grafana.WorkspaceServiceAccount(
            f"{self._name}-pulumi",
            name=f"{self._fleet.name}-pulumi",
            grafana_role=SERVICE_ACCOUNT_ROLE,
            workspace_id=self.workspace.id,
            region=self._region,
            opts=self._child(),
        )
        return aws.grafana.WorkspaceServiceAccountToken(
            f"{self._name}-token",
            name=pulumi.Output.concat(f"{self._fleet.name}-pulumi-", digest),
            seconds_to_live=TOKEN_SECONDS,
            service_account_id=account.service_account_id,
            workspace_id=self.workspace.id,
            region=self._region,
            # Token names are unique in the workspace, and a re-mint (``--replace``) keeps the
            # name: the old token goes first.
            opts=self._child(delete_before_replace=True),
        )

    def _data_source(self, source: DashboardSource) -> grafana.oss.DataSource:
        view = source.source
        secure = source.secure_json_data
        return grafana.oss.DataSource(
            f"{self._name}-{view.uid.removeprefix(f'{self._fleet.name}-')}",
            name=view.name,
            uid=view.uid,
            type=view.type,
            url=source.url,
            json_data_encoded=pulumi.Output.from_input(source.json_data).apply(
                lambda data: json.dumps(data, sort_keys=True)
            ),
            secure_json_data_encoded=(
                pulumi.Output.secret(secure).apply(lambda data: json.dumps(data, sort_keys=True))
                if secure is not None
                else None
            ),
            opts=self._child(provider=self.provider),
        )

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
from llmfleet.components.aws.monitoring import QUERY_ACTIONS
from llmfleet.components.contracts import DashboardSource
from llmfleet.components.grafana_dashboards import DataSource, dashboard, uid
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

FOLDER = "llmfleet"
"""The folder (title suffix and uid part) holding the fleet's dashboards."""


def trust_policy(account_id: str) -> str:
    """Only Amazon Managed Grafana, acting for this account, assumes the workspace role."""
    return iam.trust_policy(
        {"Service": SERVICE}, condition={"StringEquals": {"aws:SourceAccount": account_id}}
    )


def query_policy(workspace_arns: Sequence[str]) -> str:
    """The workspace role reads the fleet's AMP workspaces, nothing else."""
    return iam.policy_document(
        {"Effect": "Allow", "Action": list(QUERY_ACTIONS), "Resource": sorted(workspace_arns)}
    )


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
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmfleet:aws:ManagedGrafana", name, fleet.labels(), opts)
        self._name = name
        self._fleet = fleet
        self._region = region.region
        views = [s.source for s in sources]
        boards = render_dashboards(fleet, views)
        account_id, partition = iam.caller_account(self)
        self.role = self._role(account_id, [s.query_arn for s in sources if s.query_arn])
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
        self.token = self._token(content_hash(views, boards))
        url = self.workspace.endpoint.apply(lambda host: f"https://{host}")
        # The provider schema marks the key secret too; stating it keeps it so everywhere.
        self.auth = pulumi.Output.secret(self.token.key)
        self.provider = grafana.Provider(
            f"{name}-provider",
            url=url,
            auth=self.auth,
            opts=self._child(),
        )
        self.data_sources = {s.source.name: self._data_source(s) for s in sources}
        folder = grafana.oss.Folder(
            f"{name}-folder",
            title=f"{fleet.name} ({FOLDER})",
            uid=uid(fleet.name, FOLDER),
            opts=self._child(provider=self.provider),
        )
        self.dashboards = {
            key: grafana.oss.Dashboard(
                f"{name}-dashboard-{key}",
                config_json=json.dumps(board, sort_keys=True),
                folder=folder.uid,
                overwrite=True,
                opts=self._child(
                    provider=self.provider, depends_on=list(self.data_sources.values())
                ),
            )
            for key, board in boards.items()
        }
        self.register_outputs(
            {"url": url, "workspace_id": self.workspace.id, "token": self.token.name}
        )

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
        self, account_id: pulumi.Output[str], workspace_arns: list[pulumi.Input[str]]
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
            policy=pulumi.Output.all(*workspace_arns).apply(query_policy),
            opts=self._child(),
        )
        return role

    def _token(self, digest: str) -> aws.grafana.WorkspaceServiceAccountToken:
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
            name=f"{self._fleet.name}-pulumi-{digest}",
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

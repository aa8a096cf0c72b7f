"""Google Managed Service for Prometheus as a data source of the fleet's Grafana (Amazon Managed
Grafana, which runs outside Google Cloud).

Grafana's Google Cloud Monitoring data source runs PromQL against the project's managed
Prometheus, authenticated with a key of a service account made for it alone, which may read
monitoring data of the fleet's project and nothing else (``roles/monitoring.viewer``). The key
is a long-lived credential: Pulumi keeps it as a secret, Grafana encrypts it in its database,
and ``pulumi up --replace`` of the key rotates it. The alternative Google documents, its data
source syncer, keeps no key in Grafana but is a CronJob (every 10 minutes) writing a one-hour
OAuth token into the data source with a Grafana service account token that never expires,
which Amazon Managed Grafana does not issue (30 days at most): it would need a workload and a
token rotation of its own (docs/DESIGN.md, Observability). Organizations that forbid service account
keys (``iam.disableServiceAccountKeyCreation``) must exempt the project or leave GCP regions
to Cloud Monitoring's dashboards.
"""

from __future__ import annotations

import base64
import json

import pulumi
import pulumi_gcp as gcp

from llmfleet.components.contracts import DashboardSource
from llmfleet.components.gcp.cluster import ACCOUNT_ID_MAX, cluster_name
from llmfleet.components.gcp.component import GcpComponent
from llmfleet.components.gcp.metrics import VIEWER_ROLE
from llmfleet.components.gcp.project import IAM, MONITORING, RESOURCE_MANAGER
from llmfleet.components.grafana_dashboards import CLOUD_MONITORING, DataSource, uid
from llmfleet.components.naming import fit_name
from llmfleet.components.spec import FleetSpec, RegionSpec

TOKEN_URI = "https://oauth2.googleapis.com/token"
"""Where the data source exchanges its signed JWT for an access token."""


def private_key(credentials_file: str) -> str:
    """The PEM private key of a service account key's credentials file (base64 JSON, as the
    provider returns it)."""
    return json.loads(base64.b64decode(credentials_file))["private_key"]


class GcpGrafanaReader(GcpComponent):
    """A service account that may read the project's monitoring data, and its key, for the
    fleet's Grafana."""

    APIS = (IAM, MONITORING, RESOURCE_MANAGER)

    account: gcp.serviceaccount.Account
    key: gcp.serviceaccount.Key
    source: DashboardSource
    """The Cloud Monitoring data source reading the fleet's GKE regions."""

    def __init__(
        self,
        name: str,
        fleet: FleetSpec,
        regions: list[RegionSpec],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmfleet:gcp:GrafanaReader", name, fleet.gcp_project, opts)
        project = self._project
        self.account = gcp.serviceaccount.Account(
            f"{name}-account",
            project=project,
            account_id=fit_name(f"{fleet.name}-grafana", ACCOUNT_ID_MAX),
            display_name=f"Grafana of {fleet.name}: reads monitoring data",
            opts=self._child(),
        )
        viewer = gcp.projects.IAMMember(
            f"{name}-viewer",
            project=project,
            role=VIEWER_ROLE,
            member=self.account.member,
            opts=self._child(),
        )
        self.key = gcp.serviceaccount.Key(
            f"{name}-key",
            service_account_id=self.account.name,
            opts=self._child(depends_on=[viewer]),
        )
        self.source = DashboardSource(
            source=DataSource(
                name=f"{fleet.name} gcp {project}",
                type=CLOUD_MONITORING,
                uid=uid(fleet.name, "gmp"),
                cloud="gcp",
                clusters={r.region: cluster_name(fleet, r) for r in regions},
                project=project,
            ),
            url=None,
            json_data={
                "authenticationType": "jwt",
                "defaultProject": project,
                "clientEmail": self.account.email,
                "tokenUri": TOKEN_URI,
            },
            secure_json_data=pulumi.Output.secret(
                self.key.private_key.apply(lambda key: {"privateKey": private_key(key)})
            ),
        )
        self.register_outputs({"account": self.account.email})

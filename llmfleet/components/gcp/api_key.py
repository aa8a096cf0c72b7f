"""The fleet's API key in GCP Secret Manager, readable by the region's secret-sync controller.

llmfleet creates the secret, replicated only in the region, but never its value: an operator
adds a version with ``gcloud secrets versions add``, so the key appears in no stack file,
plan, manifest or output.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from llmfleet.components.gcp.cluster import GcpCluster
from llmfleet.components.gcp.component import GcpComponent
from llmfleet.components.gcp.project import RESOURCE_MANAGER, SECRET_MANAGER
from llmfleet.components.gcp.storage import workload_identity_principal
from llmfleet.components.k8s import secrets
from llmfleet.components.spec import FleetSpec, RegionSpec

ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"


def api_key_id(fleet: FleetSpec, region: RegionSpec) -> str:
    """``llm-prod-api-key-us-central1``: the secret's id in the project."""
    return f"{fleet.name}-api-key-{region.region}"


class GcpApiKey(GcpComponent):
    """The API-key secret of one region and the sync controller's read access to it."""

    APIS = (SECRET_MANAGER, RESOURCE_MANAGER)

    secret: gcp.secretmanager.Secret
    grant: gcp.secretmanager.SecretIamMember

    def __init__(
        self,
        name: str,
        fleet: FleetSpec,
        region: RegionSpec,
        cluster: GcpCluster,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmfleet:gcp:ApiKey", name, fleet.gcp_project, opts)
        project = fleet.gcp_project
        self.secret = gcp.secretmanager.Secret(
            f"{name}-secret",
            project=project,
            secret_id=api_key_id(fleet, region),
            replication=gcp.secretmanager.SecretReplicationArgs(
                user_managed=gcp.secretmanager.SecretReplicationUserManagedArgs(
                    replicas=[
                        gcp.secretmanager.SecretReplicationUserManagedReplicaArgs(
                            location=region.region
                        )
                    ]
                )
            ),
            deletion_protection=fleet.protect,
            labels=fleet.labels(),
            opts=self._child(protect=fleet.protect),
        )
        project_number = gcp.organizations.get_project_output(
            project_id=project, opts=self._invoke()
        ).number
        self.grant = gcp.secretmanager.SecretIamMember(
            f"{name}-reader",
            project=project,
            secret_id=self.secret.secret_id,
            role=ACCESSOR_ROLE,
            member=pulumi.Output.all(cluster.workload_pool, project_number).apply(
                lambda v: workload_identity_principal(
                    v[0], v[1], secrets.NAMESPACE, secrets.SERVICE_ACCOUNT
                )
            ),
            opts=self._child(),
        )
        self.store = {"gcpsm": {"projectID": project}}
        self.register_outputs({"secret_id": self.secret.secret_id})

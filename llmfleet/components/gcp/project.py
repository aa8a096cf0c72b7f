"""The GCP APIs a fleet's resources need, enabled by the stack itself.

A resource whose API is off in the project fails on ``pulumi up`` (``SERVICE_DISABLED``), so
the stack enables what its components use instead of asking for a manual ``gcloud services
enable``. ``GcpProjectApis`` is the stack's one component per GCP project holding a
``gcp.projects.Service`` per API, each created the first time a component needing it is built
(``GcpComponent.APIS``). A project shared by two fleets of one stack gets each Service once.

Enabling an API is idempotent, so a Service also adopts an API that is already on. Destroying a
stack never turns an API off (``disable_on_destroy=False``, ``disable_dependent_services=False``):
other stacks and hand-made resources in the project may use it.

Enabling APIs needs the Service Usage API itself, which cannot enable itself; it is on in every
project created in the console or with gcloud.
"""

from __future__ import annotations

import weakref

import pulumi
import pulumi_gcp as gcp

from llmfleet.components.component import Component

COMPUTE = "compute.googleapis.com"
"""VPC, subnets, firewall rules, Cloud Router and NAT; GKE nodes are Compute Engine VMs."""
CONTAINER = "container.googleapis.com"
"""GKE clusters and node pools."""
CONTAINER_FILESYSTEM = "containerfilesystem.googleapis.com"
"""GKE image streaming (``gcfs_config``) on accelerator nodes."""
BINARY_AUTHORIZATION = "binaryauthorization.googleapis.com"
"""The project singleton policy GKE clusters enforce (``binary_authorization``)."""
CLOUD_KMS = "cloudkms.googleapis.com"
"""Key rings, keys and their IAM members (etcd secrets, boot disks, buckets)."""
IAM = "iam.googleapis.com"
"""Service accounts and their IAM members."""
IAM_CREDENTIALS = "iamcredentials.googleapis.com"
"""Kubernetes service accounts acting as Google service accounts (KEDA's metrics reader)."""
RESOURCE_MANAGER = "cloudresourcemanager.googleapis.com"
"""Project IAM members and the project lookup (its number names the Google service agents)."""
STORAGE = "storage.googleapis.com"
"""Model buckets, their IAM members and the Cloud Storage service agent."""
STORAGE_TRANSFER = "storagetransfer.googleapis.com"
"""Transfer jobs filling replica buckets (and the GCP primary from S3), and their agent."""
SECRET_MANAGER = "secretmanager.googleapis.com"
"""The API-key secret of each serving region and its accessor."""
MONITORING = "monitoring.googleapis.com"
"""GKE system metrics, managed Prometheus (DCGM, vLLM) and the queries KEDA makes."""
LOGGING = "logging.googleapis.com"
"""GKE system and workload logs."""
CERTIFICATE_MANAGER = "certificatemanager.googleapis.com"
"""Certificates, DNS authorizations and certificate maps of the regional entries."""
DNS = "dns.googleapis.com"
"""Records in a Cloud DNS managed zone (``routing.dns: cloud-dns``)."""


class GcpProjectApis(Component):
    """The APIs of one GCP project the stack's resources use, one ``gcp.projects.Service``
    each, added as components ask for them."""

    services: dict[str, gcp.projects.Service]
    """By API (``container.googleapis.com``)."""

    def __init__(self, name: str, project: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llmfleet:gcp:ProjectApis", name, None, opts)
        self._name = name
        self._project = project
        self.services = {}
        self.register_outputs({"project": project})

    def enabled(self, apis: tuple[str, ...]) -> list[gcp.projects.Service]:
        """The Services of ``apis``, created on first use: what a resource using them waits for."""
        for api in apis:
            if api not in self.services:
                self.services[api] = gcp.projects.Service(
                    f"{self._name}-{api.removesuffix('.googleapis.com')}",
                    project=self._project,
                    service=api,
                    # Other stacks and hand-made resources of the project may use the API.
                    disable_on_destroy=False,
                    disable_dependent_services=False,
                    opts=self._child(),
                )
        return [self.services[api] for api in apis]


_by_stack: weakref.WeakKeyDictionary[pulumi.Resource, dict[str, GcpProjectApis]] = (
    weakref.WeakKeyDictionary()
)
_outside_a_stack: dict[str, GcpProjectApis] = {}


def project_apis(project: str) -> GcpProjectApis:
    """The running stack's ``GcpProjectApis`` of ``project`` (``<project>-apis``), made on first
    use: APIs belong to the project, not to one fleet or component."""
    root = pulumi.runtime.get_root_resource()
    known = _outside_a_stack if root is None else _by_stack.setdefault(root, {})
    if project not in known:
        known[project] = GcpProjectApis(f"{project}-apis", project)
    return known[project]

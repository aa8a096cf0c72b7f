"""GCP regional entries: the GKE Gateway controller behind a global external Application Load
Balancer per serving cluster, with a reserved address and Certificate Manager certificates.

The class is ``gke-l7-global-external-managed``: Google's front ends terminate TLS and send
straight to pod IPs (container-native load balancing), which is what the serving
NetworkPolicy admits (``gcp.network.HEALTH_CHECK_RANGES``). Each cluster's Gateway takes a
reserved global IPv4 address, so DNS records point at a value Pulumi knows before the
controller runs. The certificate covers ``<region>.<domain>`` and ``<domain>``, authorised by
DNS (Certificate Manager DNS authorizations whose CNAME records go into the fleet's zone,
Route 53 or Cloud DNS alike) and bound to the Gateway through a certificate map.

GKE's load balancer health-checks backends on ``/`` unless told otherwise, and gives a request
30 seconds: a HealthCheckPolicy points it at vLLM's ``/health`` and a GCPBackendPolicy allows
long generations.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp

from llmfleet.components.contracts import (
    CertificateRecord,
    DnsTarget,
    DnsZone,
    RegionalEntry,
    ServingCluster,
)
from llmfleet.components.gcp.cluster import GcpCluster
from llmfleet.components.gcp.component import GcpComponent
from llmfleet.components.gcp.project import CERTIFICATE_MANAGER, COMPUTE
from llmfleet.components.k8s.gateway import (
    GATEWAY_API,
    GATEWAY_NAME,
    Backend,
    BackendPolicy,
    GatewayObject,
)
from llmfleet.components.naming import fit_name
from llmfleet.components.spec import FleetSpec, RegionSpec

GATEWAY_CLASS = "gke-l7-global-external-managed"
"""GKE's global external Application Load Balancer class (Envoy-based, advanced traffic
management: weighted backends and URL rewrites)."""

CERTMAP_ANNOTATION = "networking.gke.io/certmap"

REQUEST_TIMEOUT_SECONDS = 600
"""A whole non-streamed generation must fit (the backend default is 30 seconds)."""


def _service(backend: Backend) -> dict[str, str]:
    return {"group": "", "kind": "Service", "name": backend.name}


HEALTH_CHECK = BackendPolicy(
    api_version="networking.gke.io/v1",
    kind="HealthCheckPolicy",
    spec=lambda backend: {
        "default": {
            "checkIntervalSec": 10,
            "timeoutSec": 5,
            "healthyThreshold": 1,
            "unhealthyThreshold": 3,
            "config": {
                "type": "HTTP",
                # Each endpoint is a pod IP: the check goes to the pod's port, vLLM's /health.
                "httpHealthCheck": {
                    "portSpecification": "USE_FIXED_PORT",
                    "port": backend.health_port,
                    "requestPath": backend.health_path,
                },
            },
        },
        "targetRef": _service(backend),
    },
)
"""GKE checks ``/`` on the serving port unless told: vLLM answers 404 there."""

BACKEND_SETTINGS = BackendPolicy(
    api_version="networking.gke.io/v1",
    kind="GCPBackendPolicy",
    spec=lambda backend: {
        "default": {"timeoutSec": REQUEST_TIMEOUT_SECONDS},
        "targetRef": _service(backend),
    },
)

NAME_MAX = 63


def _authorization(
    resource: str, fleet: FleetSpec, domain: str, opts: pulumi.ResourceOptions
) -> gcp.certificatemanager.DnsAuthorization:
    """Certificate Manager's proof of control over ``domain`` (a CNAME in the fleet's zone)."""
    return gcp.certificatemanager.DnsAuthorization(
        resource,
        name=fit_name(f"{fleet.name}-{domain.replace('.', '-')}", NAME_MAX),
        domain=domain,
        description=f"{domain}: certificates of {fleet.name}'s regional entries",
        project=fleet.gcp_project,
        labels=fleet.labels(),
        opts=opts,
    )


def _record(authorization: gcp.certificatemanager.DnsAuthorization) -> CertificateRecord:
    record = authorization.dns_resource_records.apply(lambda records: records[0])
    return CertificateRecord(
        name=record.apply(lambda r: r.name),
        type=record.apply(lambda r: r.type),
        value=record.apply(lambda r: r.data),
    )


class GcpEdge(GcpComponent):
    """The fleet's GCP regional entries and the DNS authorization of the global name they share
    (one per domain and project)."""

    APIS = (CERTIFICATE_MANAGER,)

    global_authorization: gcp.certificatemanager.DnsAuthorization

    def __init__(
        self, name: str, fleet: FleetSpec, zone: DnsZone, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llmfleet:gcp:Edge", name, fleet.gcp_project, opts)
        self._name = name
        self._fleet = fleet
        self._zone = zone
        domain = str(fleet.routing.domain)
        self.global_authorization = _authorization(f"{name}-global", fleet, domain, self._child())
        self._global_record = zone.validation_record(
            f"{name}-global-validation", _record(self.global_authorization)
        )
        self.register_outputs({"global_authorization": self.global_authorization.id})

    def entry(
        self, name: str, region: RegionSpec, cluster: ServingCluster, opts: pulumi.ResourceOptions
    ) -> RegionalEntry:
        if not isinstance(cluster, GcpCluster):
            raise TypeError(f"{region.key}: a GCP regional entry needs a GKE cluster")
        return GcpEntry(name, self, region, opts)


class GcpEntry(GcpComponent):
    """One GKE cluster's entry: reserved address, certificate map and the Gateway's settings."""

    APIS = (CERTIFICATE_MANAGER, COMPUTE)

    address: gcp.compute.GlobalAddress
    certificate: gcp.certificatemanager.Certificate
    certificate_map: gcp.certificatemanager.CertificateMap

    gateway_class = GATEWAY_CLASS
    class_controller = None
    infrastructure = None
    backend_policies = (HEALTH_CHECK, BACKEND_SETTINGS)

    def __init__(
        self,
        name: str,
        edge: GcpEdge,
        region: RegionSpec,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        fleet = edge._fleet
        super().__init__("llmfleet:gcp:RegionalEntry", name, fleet.gcp_project, opts)
        self._region = region.region
        hostnames = fleet.routing.hostnames(region.region)
        regional = _authorization(f"{name}-authorization", fleet, hostnames[0], self._child())
        validation = edge._zone.validation_record(f"{name}-validation", _record(regional))
        labels = fleet.labels()
        project = fleet.gcp_project
        prefix = f"{fleet.name}-{region.region}"
        self.certificate = gcp.certificatemanager.Certificate(
            f"{name}-certificate",
            name=fit_name(f"{prefix}-entry", NAME_MAX),
            description=f"{', '.join(hostnames)} ({fleet.name})",
            project=project,
            managed=gcp.certificatemanager.CertificateManagedArgs(
                domains=hostnames,
                dns_authorizations=[regional.id, edge.global_authorization.id],
            ),
            labels=labels,
            opts=self._child(depends_on=[validation, edge._global_record]),
        )
        self.certificate_map = gcp.certificatemanager.CertificateMap(
            f"{name}-certificate-map",
            name=fit_name(f"{prefix}-entry", NAME_MAX),
            description=f"Certificates of {fleet.name}'s entry in {region.region}",
            project=project,
            labels=labels,
            opts=self._child(),
        )
        entries = [
            gcp.certificatemanager.CertificateMapEntry(
                f"{name}-certificate-map-{kind}",
                name=fit_name(f"{prefix}-{kind}", NAME_MAX),
                map=self.certificate_map.name,
                hostname=hostname,
                certificates=[self.certificate.id],
                project=project,
                labels=labels,
                opts=self._child(),
            )
            for kind, hostname in zip(("regional", "global"), hostnames, strict=True)
        ]
        self.address = gcp.compute.GlobalAddress(
            f"{name}-address",
            name=fit_name(f"{prefix}-entry", NAME_MAX),
            description=f"Entry of {fleet.name} in {region.region}: {', '.join(hostnames)}",
            address_type="EXTERNAL",
            ip_version="IPV4",
            project=project,
            labels=labels,
            opts=self._child(),
        )
        # Google's front ends accept TLS 1.0 by default: TLS 1.2 and modern ciphers only.
        tls = gcp.compute.SSLPolicy(
            f"{name}-tls",
            name=fit_name(f"{prefix}-entry", NAME_MAX),
            description=f"TLS of {fleet.name}'s entry in {region.region}",
            profile="MODERN",
            min_tls_version="TLS_1_2",
            project=project,
            opts=self._child(),
        )
        self.objects = (
            GatewayObject(
                "networking.gke.io/v1",
                "GCPGatewayPolicy",
                "llmfleet-tls",
                tls.name.apply(
                    lambda policy: {
                        "default": {"sslPolicy": policy},
                        "targetRef": {
                            "group": GATEWAY_API,
                            "kind": "Gateway",
                            "name": GATEWAY_NAME,
                        },
                    }
                ),
            ),
        )
        self.addresses = [{"type": "NamedAddress", "value": self.address.name}]
        self.annotations: dict[str, Any] = {CERTMAP_ANNOTATION: self.certificate_map.name}
        self.ready = [self.address, tls, *entries]
        self.register_outputs(
            {"address": self.address.address, "certificate_map": self.certificate_map.name}
        )

    def dns_target(self, gateway: pulumi.Resource) -> DnsTarget:
        # The reserved address is known before the controller runs: nothing to wait for.
        return DnsTarget(region=self._region, ip=self.address.address)

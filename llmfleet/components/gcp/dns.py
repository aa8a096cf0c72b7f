"""The fleet's names in an existing Cloud DNS managed zone (GCP-only fleets): certificate
authorization records, each region's ``<region>.<domain>`` and the health-checked global
``<domain>``.

The zone is the user's (``routing.zone``, a managed zone in ``gcp_project``): records go into
it, the zone is never created or deleted. Cloud DNS health-checks external endpoints by IP
address, through one global health check per record set, run from three Google Cloud regions:
the global record lists each region's reserved address as a health-checked target, and Cloud DNS
answers only with healthy ones:

- ``latency``: a geolocation policy, one item per region (the caller's nearest healthy region);
- ``failover``: primary/backup, the first region as primary and the others as backup geos.

The check asks ``https://<domain>/<serving>/health`` of the first always-on model served in
every routed region (vLLM's /health through the route); with none, it checks TCP on 443.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_gcp as gcp

from llmfleet.components.contracts import CertificateRecord, DnsTarget
from llmfleet.components.gcp.component import GcpComponent
from llmfleet.components.gcp.project import COMPUTE, DNS
from llmfleet.components.k8s.gateway import HTTPS_PORT, health_path
from llmfleet.components.naming import fit_name
from llmfleet.components.spec import FleetSpec

VALIDATION_TTL = 300
REGIONAL_TTL = 60
GLOBAL_TTL = 30
"""Short: a region that fails its checks leaves resolvers' caches quickly."""

CHECK_INTERVAL_SECONDS = 30
"""The shortest interval a health check with source regions may take."""

CHECKER_REGIONS = ("us-central1", "europe-west4", "asia-southeast1")
"""Where checks run from when the fleet has fewer than three GCP regions of its own; Cloud DNS
takes exactly three."""


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else f"{name}."


def checker_regions(fleet: FleetSpec) -> list[str]:
    """Three regions to check from: the fleet's routed regions first, then defaults."""
    regions = [r.region for r in fleet.routed_regions()]
    for default in CHECKER_REGIONS:
        if default not in regions:
            regions.append(default)
    return regions[:3]


class CloudDnsZone(GcpComponent):
    """``llmfleet.components.contracts.DnsZone`` on Cloud DNS: the managed zone
    ``routing.zone`` in ``gcp_project``, and the certificate authorization records in it."""

    APIS = (DNS,)

    def __init__(
        self, name: str, fleet: FleetSpec, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llmfleet:gcp:DnsZone", name, fleet.gcp_project, opts)
        if fleet.routing.zone is None:
            raise ValueError("routing.zone is not set")
        self.zone = fleet.routing.zone
        self.project = fleet.gcp_project
        self.register_outputs({"zone": self.zone})

    def validation_record(self, name: str, record: CertificateRecord) -> gcp.dns.RecordSet:
        return gcp.dns.RecordSet(
            name,
            managed_zone=self.zone,
            project=self.project,
            name=record.name.apply(_fqdn),
            type=record.type,
            rrdatas=[record.value],
            ttl=VALIDATION_TTL,
            opts=self._child(),
        )

    def endpoint(
        self,
        name: str,
        fleet: FleetSpec,
        targets: Sequence[DnsTarget],
        opts: pulumi.ResourceOptions,
    ) -> CloudDnsEndpoint:
        return CloudDnsEndpoint(name, fleet, self, targets, opts)


class CloudDnsEndpoint(GcpComponent):
    """Regional names, the health check and the global name in one managed zone."""

    APIS = (DNS, COMPUTE)

    regional_records: dict[str, gcp.dns.RecordSet]
    health_check: gcp.compute.HealthCheck
    global_record: gcp.dns.RecordSet

    def __init__(
        self,
        name: str,
        fleet: FleetSpec,
        zone: CloudDnsZone,
        targets: Sequence[DnsTarget],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmfleet:gcp:GlobalEndpoint", name, fleet.gcp_project, opts)
        self._name = name
        self._fleet = fleet
        self._zone = zone
        for target in targets:
            if target.ip is None:
                raise ValueError(f"{target.region}: Cloud DNS points only at IP addresses")
        self.regional_records = {
            t.region: gcp.dns.RecordSet(
                f"{name}-{t.region}",
                managed_zone=zone.zone,
                project=zone.project,
                name=_fqdn(fleet.routing.regional_name(t.region)),
                type="A",
                rrdatas=[t.ip],
                ttl=REGIONAL_TTL,
                opts=self._child(),
            )
            for t in targets
        }
        self.health_check = self._health_check()
        self.global_record = gcp.dns.RecordSet(
            f"{name}-global",
            managed_zone=zone.zone,
            project=zone.project,
            name=_fqdn(str(fleet.routing.domain)),
            type="A",
            ttl=GLOBAL_TTL,
            routing_policy=self._routing(targets),
            opts=self._child(),
        )
        self.register_outputs(
            {"domain": fleet.routing.domain, "health_check": self.health_check.id}
        )

    def _checked_path(self) -> str | None:
        regions = self._fleet.routed_regions()
        for serving in self._fleet.serving:
            everywhere = all(
                serving.name in {s.name for s in self._fleet.served_in(r)} for r in regions
            )
            if serving.min_replicas >= 1 and everywhere:
                return health_path(serving.name)
        return None

    def _health_check(self) -> gcp.compute.HealthCheck:
        fleet = self._fleet
        path = self._checked_path()
        kind = (
            {
                "https_health_check": gcp.compute.HealthCheckHttpsHealthCheckArgs(
                    port=HTTPS_PORT, request_path=path, host=fleet.routing.domain
                )
            }
            if path
            else {"tcp_health_check": gcp.compute.HealthCheckTcpHealthCheckArgs(port=HTTPS_PORT)}
        )
        return gcp.compute.HealthCheck(
            f"{self._name}-health",
            name=fit_name(f"{fleet.name}-global-entry", 63),
            description=f"Regional entries of {fleet.routing.domain}",
            project=fleet.gcp_project,
            check_interval_sec=CHECK_INTERVAL_SECONDS,
            timeout_sec=10,
            healthy_threshold=2,
            unhealthy_threshold=3,
            source_regions=checker_regions(fleet),
            opts=self._child(),
            **kind,
        )

    def _routing(self, targets: Sequence[DnsTarget]) -> gcp.dns.RecordSetRoutingPolicyArgs:
        geos = [
            gcp.dns.RecordSetRoutingPolicyGeoArgs(
                location=t.region,
                health_checked_targets=gcp.dns.RecordSetRoutingPolicyGeoHealthCheckedTargetsArgs(
                    external_endpoints=[t.ip]
                ),
            )
            for t in targets
        ]
        if self._fleet.routing.policy == "failover" and len(targets) > 1:
            primary, *backups = targets
            return gcp.dns.RecordSetRoutingPolicyArgs(
                health_check=self.health_check.id,
                primary_backup=gcp.dns.RecordSetRoutingPolicyPrimaryBackupArgs(
                    primary=gcp.dns.RecordSetRoutingPolicyPrimaryBackupPrimaryArgs(
                        external_endpoints=[primary.ip]
                    ),
                    backup_geos=[
                        gcp.dns.RecordSetRoutingPolicyPrimaryBackupBackupGeoArgs(
                            location=t.region,
                            health_checked_targets=gcp.dns.RecordSetRoutingPolicyPrimaryBackupBackupGeoHealthCheckedTargetsArgs(
                                external_endpoints=[t.ip]
                            ),
                        )
                        for t in backups
                    ],
                    # Nothing goes to the backups while the primary is healthy.
                    trickle_ratio=0,
                ),
            )
        return gcp.dns.RecordSetRoutingPolicyArgs(health_check=self.health_check.id, geos=geos)

"""The fleet's names in an existing Route 53 hosted zone: certificate validation records, each
region's ``<region>.<domain>`` and the health-checked global ``<domain>``.

The zone is the user's (``routing.zone``, a hosted zone ID): records go into it, the zone is
never created or deleted. Route 53 answers for AWS-only, GCP-only and mixed fleets alike: an
AWS region's name is an alias of its ALB, a GCP region's an A record of its reserved address.

Each region is health-checked through its own name over HTTPS, on vLLM's ``/health`` of every
always-on model it serves (``/<serving>/health``, through the route, as a client would reach
it); a region serving several is healthy only when all of them answer (a calculated check).
Models that scale to zero are left out (a cold model is not an unhealthy region, and a check
every 30 seconds would keep it warm); a region serving only those is checked at TCP level on
443. The global name is:

- ``latency``: one latency record per region (a GCP region measured from the nearest AWS
  region), each tied to its region's check: Route 53 answers with the nearest healthy region;
- ``failover``: the first region as PRIMARY with its check, and as SECONDARY the second region,
  or with more regions ``standby.<domain>``, a latency set of the others.

Global records alias the regional names in the same zone, so a region's address lives in one
record.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from llmfleet.components.aws.component import AwsComponent
from llmfleet.components.contracts import CertificateRecord, DnsTarget
from llmfleet.components.k8s.gateway import HTTPS_PORT, health_path
from llmfleet.components.spec import FleetSpec, latency_regions

VALIDATION_TTL = 300
REGIONAL_TTL = 60
"""A GCP region's A record; alias records take their target's TTL."""

CHECK_INTERVAL_SECONDS = 30
FAILURE_THRESHOLD = 3
"""A region leaves the answer after about 90 seconds of failed checks."""

STANDBY = "standby"
"""``standby.<domain>``: the failover policy's secondary with more than two regions."""


class Route53Zone(AwsComponent):
    """``llmfleet.components.contracts.DnsZone`` on Route 53: the hosted zone ``routing.zone``,
    and the certificate validation records in it."""

    def __init__(
        self, name: str, fleet: FleetSpec, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llmfleet:aws:DnsZone", name, fleet.labels(), opts)
        if fleet.routing.zone is None:
            raise ValueError("routing.zone is not set")
        self.zone_id = fleet.routing.zone
        self.register_outputs({"zone_id": self.zone_id})

    def validation_record(self, name: str, record: CertificateRecord) -> aws.route53.Record:
        return aws.route53.Record(
            name,
            zone_id=self.zone_id,
            name=record.name,
            type=record.type,
            records=[record.value],
            ttl=VALIDATION_TTL,
            opts=self._child(),
        )

    def endpoint(
        self,
        name: str,
        fleet: FleetSpec,
        targets: Sequence[DnsTarget],
        opts: pulumi.ResourceOptions,
    ) -> Route53Endpoint:
        return Route53Endpoint(name, fleet, self, targets, opts)


class Route53Endpoint(AwsComponent):
    """Regional names, their health checks and the global name in one hosted zone."""

    regional_records: dict[str, aws.route53.Record]
    """``<region>.<domain>`` by region."""
    health_checks: dict[str, aws.route53.HealthCheck]
    """The check each region's global record is tied to, by region."""
    global_records: dict[str, aws.route53.Record]
    """The global name's record of each region (or the failover pair), by region."""

    def __init__(
        self,
        name: str,
        fleet: FleetSpec,
        zone: Route53Zone,
        targets: Sequence[DnsTarget],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmfleet:aws:GlobalEndpoint", name, fleet.labels(), opts)
        self._name = name
        self._fleet = fleet
        self._zone = zone
        regions = {r.region: r for r in fleet.regions}
        self._clouds = {t.region: regions[t.region].cloud for t in targets}
        self._measured_from: dict[str, str] = {}
        self.regional_records = {t.region: self._regional(t) for t in targets}
        self.health_checks = {t.region: self._health_check(t.region) for t in targets}
        domain = str(fleet.routing.domain)
        order = [t.region for t in targets]
        self.global_records = {}
        if fleet.routing.policy == "failover" and len(order) > 1:
            self._failover(domain, order)
        else:
            self._latency(domain, order, "global")
        self.register_outputs(
            {
                "domain": domain,
                "regional_names": {r: rec.fqdn for r, rec in self.regional_records.items()},
                "health_checks": {r: c.id for r, c in self.health_checks.items()},
            }
        )

    def _regional(self, target: DnsTarget) -> aws.route53.Record:
        resource = f"{self._name}-{target.region}"
        name = self._fleet.routing.regional_name(target.region)
        if target.alias_name is not None:
            return aws.route53.Record(
                resource,
                zone_id=self._zone.zone_id,
                name=name,
                type="A",
                aliases=[
                    aws.route53.RecordAliasArgs(
                        name=target.alias_name,
                        zone_id=target.alias_zone_id,
                        evaluate_target_health=True,
                    )
                ],
                opts=self._child(),
            )
        return aws.route53.Record(
            resource,
            zone_id=self._zone.zone_id,
            name=name,
            type="A",
            records=[target.ip],
            ttl=REGIONAL_TTL,
            opts=self._child(),
        )

    def _health_check(self, region: str) -> aws.route53.HealthCheck:
        fleet = self._fleet
        spec = next(r for r in fleet.regions if r.region == region)
        fqdn = fleet.routing.regional_name(region)
        always_on = [s.name for s in fleet.served_in(spec) if s.min_replicas >= 1]
        if not always_on:
            return self._check(f"{self._name}-{region}-health", fqdn, None)
        checks = [
            self._check(f"{self._name}-{region}-{serving}-health", fqdn, health_path(serving))
            for serving in always_on
        ]
        if len(checks) == 1:
            return checks[0]
        return aws.route53.HealthCheck(
            f"{self._name}-{region}-health",
            type="CALCULATED",
            child_healthchecks=[c.id for c in checks],
            # The region answers for every model it serves: each must be up.
            child_health_threshold=len(checks),
            reference_name=f"{region}-all"[:64],
            tags=self._tags(f"{fqdn} all models"),
            opts=self._child(),
        )

    def _check(self, resource: str, fqdn: str, path: str | None) -> aws.route53.HealthCheck:
        https = {"resource_path": path, "enable_sni": True} if path else {}
        return aws.route53.HealthCheck(
            resource,
            type="HTTPS" if path else "TCP",
            fqdn=fqdn,
            port=HTTPS_PORT,
            request_interval=CHECK_INTERVAL_SECONDS,
            failure_threshold=FAILURE_THRESHOLD,
            tags=self._tags(f"{fqdn}{path or ':443'}"),
            opts=self._child(),
            **https,
        )

    def _alias(self, region: str) -> list[aws.route53.RecordAliasArgs]:
        return [
            aws.route53.RecordAliasArgs(
                name=self._fleet.routing.regional_name(region),
                zone_id=self._zone.zone_id,
                # The region's own health check decides; the target's answer is not a signal.
                evaluate_target_health=False,
            )
        ]

    def _latency(self, name: str, regions: Sequence[str], kind: str) -> None:
        measured_from = latency_regions([(self._clouds[r], r) for r in regions])
        for region in regions:
            self.global_records[region] = aws.route53.Record(
                f"{self._name}-{kind}-{region}",
                zone_id=self._zone.zone_id,
                name=name,
                type="A",
                set_identifier=region,
                latency_routing_policies=[
                    aws.route53.RecordLatencyRoutingPolicyArgs(region=measured_from[region])
                ],
                health_check_id=self.health_checks[region].id,
                aliases=self._alias(region),
                # An alias needs its target record in the zone first.
                opts=self._child(depends_on=[self.regional_records[region]]),
            )

    def _failover(self, domain: str, regions: Sequence[str]) -> None:
        primary, *others = regions
        standby = others[0]
        secondary_alias = self._alias(standby)
        after: list[pulumi.Resource] = [self.regional_records[standby]]
        if len(others) > 1:
            standby_name = f"{STANDBY}.{domain}"
            self._latency(standby_name, others, STANDBY)
            secondary_alias = [
                aws.route53.RecordAliasArgs(
                    name=standby_name,
                    zone_id=self._zone.zone_id,
                    # Healthy while any standby region's check passes.
                    evaluate_target_health=True,
                )
            ]
            after = [self.global_records[r] for r in others]
        # With one standby region the SECONDARY carries its check; with several, the standby
        # set's own records do.
        secondary_check = self.health_checks[standby].id if len(others) == 1 else None
        pairs = (
            (
                "PRIMARY",
                primary,
                self._alias(primary),
                self.health_checks[primary].id,
                [self.regional_records[primary]],
            ),
            ("SECONDARY", standby, secondary_alias, secondary_check, after),
        )
        for role, region, aliases, check, depends in pairs:
            record = aws.route53.Record(
                f"{self._name}-global-{role.lower()}",
                zone_id=self._zone.zone_id,
                name=domain,
                type="A",
                set_identifier=role.lower(),
                failover_routing_policies=[aws.route53.RecordFailoverRoutingPolicyArgs(type=role)],
                health_check_id=check,
                aliases=aliases,
                opts=self._child(depends_on=depends),
            )
            if check is not None:
                self.global_records[region] = record

"""A Mermaid flowchart of a planned fleet (``llmfleet plan STACK --diagram FILE``).

What the picture shows, and where each part comes from:

- clouds and regions as nested subgraphs (the spec's regions, in stack-file order);
- each region's cluster (the recorded EKS / GKE cluster) and its node pools with their
  accelerators, type, node range, capacity and zones (the spec, as the node-pool table shows
  them);
- the model buckets (recorded S3 / GCS buckets of the fleet's model storage; buckets that only
  receive access logs are left out), replication between them (recorded S3 replication rules
  and Storage Transfer jobs, the cross-cloud job included) and, for a bucket spanning two
  regions, its turbo replication;
- the serving deployments per region (the spec: model, version, canary, replicas), with the
  pool they run on and the bucket they load weights from;
- the fleet's Grafana (the recorded Amazon Managed Grafana workspace) in its region, with how
  many dashboards it holds, and which clusters' metrics it reads (dotted edges);
- with ``routing.domain``, the global endpoint and, per region, the recorded DNS health checks
  (Route 53 or Compute health checks naming ``<region>.<domain>`` or placed in the region) and
  how many DNS records the plan makes for the domain.

The output is deterministic (spec order, then sorted names), node ids are sanitised and every
label is quoted, so GitHub renders it and a test can compare it byte for byte.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from llmfleet.components.gcp.storage import PREDEFINED_DUAL_REGIONS
from llmfleet.components.spec import FleetSpec, RegionSpec
from llmfleet.plan import Plan
from llmfleet.recorder import RecordedResource, Recording
from llmfleet.report import capacity_label, pool_zones_label

CLOUD_NAMES = {"aws": "AWS", "gcp": "Google Cloud"}
CLUSTER_TYPES = {"aws:eks/cluster:Cluster": "EKS", "gcp:container/cluster:Cluster": "GKE"}
BUCKET_TYPES = {"aws:s3/bucket:Bucket": "S3", "gcp:storage/bucket:Bucket": "GCS"}
MODEL_STORAGE = ("llmfleet:aws:ModelStorage", "llmfleet:gcp:ModelStorage")
"""Components whose buckets hold the fleet's models."""
S3_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
S3_LOGGING = "aws:s3/bucketLogging:BucketLogging"
TRANSFER_JOB = "gcp:storage/transferJob:TransferJob"
DNS_RECORD_TYPES = ("aws:route53/record:Record", "gcp:dns/recordSet:RecordSet")
HEALTH_CHECK_PREFIXES = ("aws:route53/", "gcp:compute/", "gcp:dns/")
"""Packages whose ``...HealthCheck`` resources check a regional entry for DNS routing."""
DNS_NAMES = {"route53": "Route 53", "cloud-dns": "Cloud DNS"}
GRAFANA_WORKSPACE = "aws:grafana/workspace:Workspace"
GRAFANA_DASHBOARD = "grafana:oss/dashboard:Dashboard"


def node_id(*parts: str) -> str:
    """A Mermaid node id: letters, digits and underscores only, never a keyword (``end``)."""
    return "_".join(re.sub(r"[^A-Za-z0-9]+", "_", part).strip("_") for part in parts)


def label(*lines: str) -> str:
    """A quoted Mermaid label; ``"`` is written as the entity Mermaid reads back."""
    text = "<br/>".join(lines)
    return '"' + text.replace('"', "#quot;") + '"'


@dataclass
class Bucket:
    resource: RecordedResource
    name: str
    cloud: str
    region: str
    id: str = ""
    regions: list[str] = field(default_factory=list)
    """The fleet regions the bucket lives in (two for a dual-region bucket)."""
    primary: bool = False
    """Whether models are published to it (the fleet's storage primary)."""


@dataclass
class _Lines:
    lines: list[str] = field(default_factory=list)
    depth: int = 1

    def add(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)

    def subgraph(self, id_: str, title: str) -> None:
        self.add(f"subgraph {id_}[{label(title)}]")
        self.depth += 1

    def end(self) -> None:
        self.depth -= 1
        self.add("end")


def fleet_diagram(plan: Plan) -> str:
    """The plan as a Mermaid flowchart (the text of a ```mermaid block, newline-terminated)."""
    fleet = plan.stack.fleet
    recording = plan.recording
    buckets = model_buckets(recording, fleet)
    out = _Lines(["flowchart LR"])
    for cloud in dict.fromkeys(r.cloud for r in fleet.regions):
        out.subgraph(node_id(cloud), CLOUD_NAMES[cloud])
        for region in fleet.regions_of(cloud):
            _region(out, plan, region, buckets)
        for bucket in buckets:
            if bucket.cloud == cloud and len(bucket.regions) != 1:
                out.add(_bucket_node(bucket))
        out.end()
    edges = [
        *_storage_edges(recording, buckets),
        *_serving_edges(fleet, buckets),
        *_dashboard_edges(recording, fleet),
    ]
    if fleet.routing.domain is not None:
        _endpoint(out, edges, recording, fleet)
    for edge in edges:
        out.add(edge)
    return "\n".join(out.lines) + "\n"


# --- regions ---------------------------------------------------------------------------------


def _region(out: _Lines, plan: Plan, region: RegionSpec, buckets: list[Bucket]) -> None:
    fleet = plan.stack.fleet
    out.subgraph(node_id(region.key), region.region)
    cluster = _cluster(plan.recording, region)
    if cluster is not None:
        kind = CLUSTER_TYPES[cluster.type]
        name = cluster.outputs.get("name") or cluster.inputs.get("name") or cluster.name
        out.add(f"{node_id(region.key, 'cluster')}[{label(f'{kind} cluster {name}')}]")
    for pool in region.cluster.gpu_pools:
        chosen = region.instance_type_for(pool)
        low, high = region.pool_nodes(pool)
        zones = pool_zones_label(region, pool)
        out.add(
            f"{node_id(region.key, 'pool', pool.name)}["
            + label(
                f"pool {pool.name}: {chosen.accelerator_count} x {chosen.accelerator}",
                f"{chosen.name}, {low}-{high} nodes, {capacity_label(region, pool)}",
                f"zones {zones}",
            )
            + "]"
        )
        if cluster is not None:
            out.add(
                f"{node_id(region.key, 'cluster')} --- {node_id(region.key, 'pool', pool.name)}"
            )
    for bucket in buckets:
        if bucket.regions == [region.region]:
            out.add(_bucket_node(bucket))
    for workspace in plan.recording.of_type(GRAFANA_WORKSPACE):
        if workspace.region == region.region:
            boards = len(plan.recording.of_type(GRAFANA_DASHBOARD))
            out.add(
                f"{_grafana_id(workspace)}(["
                + label(f"Grafana {workspace.inputs['name']}", f"{boards} dashboards")
                + "])"
            )
    for serving in fleet.serving:
        if region in fleet.serving_regions(serving):
            canary = serving.canary
            versions = f"{serving.model} {serving.version}"
            if canary is not None:
                versions += f", canary {canary.version} {canary.weight}%"
            replicas = f"{serving.idle_replicas}-{serving.max_replicas} replicas"
            out.add(
                f"{_serving_id(region, serving.name)}("
                + label(f"serving {serving.name}", versions, replicas)
                + ")"
            )
    out.end()


def _cluster(recording: Recording, region: RegionSpec) -> RecordedResource | None:
    found = [
        r
        for type_ in CLUSTER_TYPES
        for r in recording.of_type(type_)
        if r.cloud == region.cloud and r.region == region.region
    ]
    return found[0] if found else None


def _serving_id(region: RegionSpec, serving: str) -> str:
    return node_id(region.key, "serving", serving)


def _grafana_id(workspace: RecordedResource) -> str:
    return node_id("grafana", workspace.inputs["name"])


def _dashboard_edges(recording: Recording, fleet: FleetSpec) -> list[str]:
    """The fleet's Grafana reads the metrics of every serving region's cluster."""
    served = [r for r in fleet.regions if any(r in fleet.serving_regions(s) for s in fleet.serving)]
    return [
        f"{_grafana_id(workspace)} -.->|{label('metrics')}| {node_id(region.key, 'cluster')}"
        for workspace in recording.of_type(GRAFANA_WORKSPACE)
        for region in served
        if _cluster(recording, region) is not None
    ]


# --- storage ---------------------------------------------------------------------------------


def model_buckets(recording: Recording, fleet: FleetSpec) -> list[Bucket]:
    """The buckets of the fleet's model storage, in stack-file region order then by name;
    buckets that only receive access logs are not model storage."""
    log_targets = {r.inputs.get("targetBucket") for r in recording.of_type(S3_LOGGING)}
    in_storage: list[RecordedResource] = []
    for component in recording.resources:
        if component.type in MODEL_STORAGE:
            in_storage += [r for r in recording.descendants(component) if r.type in BUCKET_TYPES]
    order = {r.region: i for i, r in enumerate(fleet.regions)}
    buckets = []
    for resource in in_storage:
        name = resource.inputs.get("bucket") or resource.outputs.get("name") or resource.name
        if name in log_targets:
            continue
        bucket = Bucket(
            resource=resource, name=name, cloud=resource.cloud or "", region=resource.region or ""
        )
        bucket.regions = _bucket_regions(resource, fleet)
        primary = fleet.storage_primary
        bucket.primary = bucket.cloud == primary.cloud and primary.region in bucket.regions
        bucket.id = node_id(bucket.cloud, "bucket", resource.name)
        buckets.append(bucket)
    return sorted(buckets, key=lambda b: (min((order[r] for r in b.regions), default=99), b.name))


def _bucket_regions(resource: RecordedResource, fleet: FleetSpec) -> list[str]:
    """The fleet regions of a bucket: its own region, or a dual-region's two data locations
    (named in ``customPlacementConfig``, or the regions of a predefined pair)."""
    regions = [r.region for r in fleet.regions if r.cloud == resource.cloud]
    if resource.region in regions:
        return [resource.region]
    placement = resource.inputs.get("customPlacementConfig") or {}
    located = {loc.lower() for loc in placement.get("dataLocations") or []}
    location = str(resource.inputs.get("location", "")).upper()
    for pair, name in PREDEFINED_DUAL_REGIONS.items():
        if name == location:
            located |= pair
    return [r for r in regions if r in located]


def _bucket_node(bucket: Bucket) -> str:
    # The physical name is the cloud's to compute (an account id, a random suffix): not shown.
    kind = BUCKET_TYPES[bucket.resource.type]
    lines = [f"{kind} model bucket" + (", primary" if bucket.primary else "")]
    location = bucket.resource.inputs.get("location")
    if len(bucket.regions) != 1 and location:
        lines.append(f"location {location}")
    if bucket.resource.inputs.get("rpo") == "ASYNC_TURBO":
        lines.append("turbo replication between " + " and ".join(bucket.regions))
    return f"{bucket.id}[({label(*lines)})]"


def _storage_edges(recording: Recording, buckets: list[Bucket]) -> list[str]:
    by_name = {b.name: b for b in buckets}
    edges: list[tuple[str, str, str]] = []
    for config in sorted(recording.of_type(S3_REPLICATION), key=lambda r: r.name):
        source = by_name.get(config.inputs.get("bucket", ""))
        for rule in config.inputs.get("rules") or []:
            destination = rule.get("destination") or {}
            target = by_name.get(str(destination.get("bucket", "")).rsplit(":", 1)[-1])
            if source and target:
                rtc = (destination.get("replicationTime") or {}).get("status") == "Enabled"
                how = "S3 replication, RTC 15 min" if rtc else "S3 replication"
                edges.append((source.id, target.id, how))
    for job in sorted(recording.of_type(TRANSFER_JOB), key=lambda r: r.name):
        spec = job.inputs.get("transferSpec") or {}
        target = by_name.get((spec.get("gcsDataSink") or {}).get("bucketName", ""))
        from_s3 = spec.get("awsS3DataSource")
        source_spec = from_s3 or spec.get("gcsDataSource") or {}
        source = by_name.get(source_spec.get("bucketName", ""))
        if source and target:
            every = _interval((job.inputs.get("schedule") or {}).get("repeatInterval"))
            how = "Storage Transfer" + (", cross-cloud" if from_s3 else "") + every
            edges.append((source.id, target.id, how))
    return [f"{a} ==>|{label(how)}| {b}" for a, b, how in edges]


def _interval(repeat: Any) -> str:
    """``3600s`` -> ``, every 1 h``."""
    if not isinstance(repeat, str) or not repeat.endswith("s"):
        return ""
    seconds = int(float(repeat[:-1]))
    if seconds % 3600 == 0:
        return f", every {seconds // 3600} h"
    return f", every {seconds // 60} min"


def _serving_edges(fleet: FleetSpec, buckets: list[Bucket]) -> list[str]:
    edges = []
    for serving in fleet.serving:
        for region in fleet.serving_regions(serving):
            serving_id = _serving_id(region, serving.name)
            edges.append(f"{node_id(region.key, 'pool', serving.pool)} --> {serving_id}")
            home = next((b for b in buckets if region.region in b.regions), None)
            if home is not None and home.cloud == region.cloud:
                edges.append(f"{home.id} -.->|{label('weights')}| {serving_id}")
    return edges


# --- the global endpoint -------------------------------------------------------------------


def _endpoint(out: _Lines, edges: list[str], recording: Recording, fleet: FleetSpec) -> None:
    domain = fleet.routing.domain or ""
    records = [r for r in recording.custom() if r.type in DNS_RECORD_TYPES and _names(r, domain)]
    zone = f"{DNS_NAMES[fleet.dns]} zone {fleet.routing.zone}"
    lines = [domain, f"{fleet.routing.policy} routing", zone]
    if records:
        lines.append(f"{len(records)} DNS records")
    endpoint = node_id("endpoint", domain)
    out.add(f"{endpoint}{{{{{label(*lines)}}}}}")
    checks = _health_checks(recording, fleet)
    for region in _served_regions(fleet):
        entry = f"{region.region}.{domain}"
        targets = [
            _serving_id(region, s.name) for s in fleet.serving if region in fleet.serving_regions(s)
        ]
        found = checks.get(region.region, [])
        if not found:
            edges.extend(f"{endpoint} -->|{label(entry)}| {t}" for t in targets)
            continue
        for check in found:
            check_id = node_id(region.key, "health", check.name)
            kind = check.type.rsplit(":", 1)[-1]
            out.add(f"{check_id}([{label(f'{kind} {entry}', _check_detail(check))}])")
            edges.append(f"{endpoint} -->|{label(entry)}| {check_id}")
            edges.extend(f"{check_id} --> {t}" for t in targets)


def _served_regions(fleet: FleetSpec) -> list[RegionSpec]:
    served = {r.region for s in fleet.serving for r in fleet.serving_regions(s)}
    return [r for r in fleet.regions if r.region in served]


def _names(resource: RecordedResource, text: str) -> bool:
    """Whether ``resource``'s inputs mention ``text`` (a domain or a regional entry name)."""
    return text in json.dumps(resource.inputs, sort_keys=True)


def _health_checks(recording: Recording, fleet: FleetSpec) -> dict[str, list[RecordedResource]]:
    """Per fleet region, the DNS health checks of its entry: those naming ``<region>.<domain>``
    in their inputs, else those the plan places in the region."""
    checks: dict[str, list[RecordedResource]] = {}
    for resource in sorted(recording.custom(), key=lambda r: r.name):
        kind = resource.type.rsplit(":", 1)[-1]
        if not (kind.endswith("HealthCheck") and resource.type.startswith(HEALTH_CHECK_PREFIXES)):
            continue
        region = _region_of_check(resource, fleet)
        if region is not None:
            checks.setdefault(region, []).append(resource)
    return checks


def _region_of_check(resource: RecordedResource, fleet: FleetSpec) -> str | None:
    named = [
        r.region for r in fleet.regions if _names(resource, f"{r.region}.{fleet.routing.domain}")
    ]
    if len(named) == 1:
        return named[0]
    placed = [r.region for r in fleet.regions if r.region == resource.region]
    return placed[0] if placed else None


def _check_detail(check: RecordedResource) -> str:
    """How the check probes: protocol, path and interval where the inputs say."""
    inputs = check.inputs
    parts: Iterable[Any] = (
        inputs.get("type"),
        inputs.get("resourcePath"),
        f"every {inputs['requestInterval']} s" if inputs.get("requestInterval") else None,
        f"every {inputs['checkIntervalSec']} s" if inputs.get("checkIntervalSec") else None,
    )
    detail = ", ".join(str(p) for p in parts if p)
    return detail or "health check"

"""Export every Kubernetes object of a plan as YAML, one folder per cluster, for review and GitOps.

- Values only the cloud knows after ``pulumi up`` (ids, ARNs, endpoints, the account id) are
  written as visible placeholders such as ``<computed: aws:kms/key:Key llm-dev-...-key .arn>``,
  never as the realistic stand-ins the offline mocks invent.
- Helm releases become Flux ``HelmRelease`` objects with a ``HelmRepository`` per chart source,
  which Flux applies as they are.
- Collection configuration that is not a Kubernetes object is exported beside the cluster's
  objects too: the scrape configuration of each AMP managed collector
  (``amp-scraper-<alias>.yaml``), so a review sees what EKS collects as it sees GKE's
  PodMonitorings.
- Files an earlier export wrote that the plan no longer has are removed; files llmfleet did not
  write are left alone (the export keeps its own list in ``.llmfleet-export``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from llmfleet.mock_outputs.aws import ACCOUNT_ID
from llmfleet.recorder import RecordedResource, Recording

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
AMP_SCRAPER = "aws:amp/scraper:Scraper"
INDEX = ".llmfleet-export"
"""Lists the files the last export wrote, relative to the export folder, one per line."""
EXPORTED = re.compile(r"[a-z0-9][a-z0-9.-]*/[a-z0-9][a-z0-9.-]*\.yaml")
"""An index entry the export may remove: <cluster>/<file>, never a path outside the folder."""
FLUX_NAMESPACE = "flux-system"
FLUX_INTERVAL = "10m"
GENERATED = re.compile(r"(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]{7,}")
"""What the clouds generate and users do not write: a run of 7+ hex digits (ids, hashes in
endpoints, key ids). Outputs without one (a region, tags, a release's status) echo known values."""


ORIGIN_KEYS = ("id", "arn", "endpoint", "selfLink")
"""Outputs that name the resource itself, preferred when several resources output a value."""


def kubernetes_objects(recording: Recording) -> list[RecordedResource]:
    """Kubernetes objects (not providers, not Helm releases) in plan order."""
    return [
        r
        for r in recording.resources
        if r.type.startswith("kubernetes:") and r.type != HELM_RELEASE and r.custom
    ]


def manifest(resource: RecordedResource) -> dict[str, Any]:
    """The object as `kubectl apply` would take it."""
    inputs = dict(resource.inputs)
    api_version = inputs.pop("apiVersion", None)
    kind = inputs.pop("kind", None)
    if api_version is None or kind is None:
        # Typed resources carry their group/version/kind only in the type token.
        _, group_version, kind_token = resource.type.split(":")
        group, _, version = group_version.rpartition("/")
        group = "" if group in ("core", "") else group
        api_version = api_version or (f"{group}/{version}" if group else version)
        kind = kind or kind_token
    return {"apiVersion": api_version, "kind": kind, **inputs}


def computed_values(recording: Recording) -> dict[str, str]:
    """Strings the clouds compute, mapped to the placeholder naming where each comes from.

    A resource's outputs that are not its inputs and carry a generated part are computed by
    its provider (ids, ARNs, endpoints); the account id comes from the caller-identity lookup.
    """
    found: dict[str, str] = {ACCOUNT_ID: "<computed: aws account id>"}
    outputs = [
        (key not in ORIGIN_KEYS, r, key, value)
        for r in recording.resources
        if r.custom
        for key, value in r.outputs.items()
        if key not in r.inputs
    ]
    # A value several resources output (a key's ARN on its alias) is named after its origin.
    for _, r, key, value in sorted(outputs, key=lambda o: o[0]):
        for text in _strings(value):
            if GENERATED.search(text):
                found.setdefault(text, f"<computed: {r.type} {r.name} .{key}>")
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def with_placeholders(value: Any, computed: dict[str, str]) -> Any:
    """``value`` with every computed string in it replaced by its placeholder."""
    if isinstance(value, dict):
        return {k: with_placeholders(v, computed) for k, v in value.items()}
    if isinstance(value, list):
        return [with_placeholders(v, computed) for v in value]
    if isinstance(value, str) and computed:
        # One pass, longest first: an ARN holds the account id, which has its own placeholder.
        pattern = "|".join(map(re.escape, sorted(computed, key=len, reverse=True)))
        return re.sub(pattern, lambda match: computed[match.group(0)], value)
    return value


@dataclass(frozen=True)
class ChartSource:
    """Where a chart comes from: a Helm repository or an OCI registry path."""

    name: str
    url: str
    oci: bool


def _chart_source(inputs: dict[str, Any]) -> tuple[ChartSource, str]:
    """The release's chart source and the chart's name in it."""
    chart = inputs["chart"]
    if chart.startswith("oci://"):
        url, _, name = chart.rpartition("/")
        return ChartSource(_slug(url.removeprefix("oci://")), url, oci=True), name
    url = (inputs.get("repositoryOpts") or {}).get("repo", "")
    return ChartSource(_slug(re.sub(r"^https?://", "", url)), url, oci=False), chart


def helm_repository(source: ChartSource) -> dict[str, Any]:
    """A Flux HelmRepository for a chart source."""
    spec: dict[str, Any] = {"interval": "1h", "url": source.url}
    if source.oci:
        spec["type"] = "oci"
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": {"name": source.name, "namespace": FLUX_NAMESPACE},
        "spec": spec,
    }


def helm_release(resource: RecordedResource) -> tuple[dict[str, Any], ChartSource]:
    """A Helm release as a Flux HelmRelease pinned to the same chart version and values."""
    inputs = resource.inputs
    source, chart = _chart_source(inputs)
    name = inputs.get("name") or resource.name
    spec: dict[str, Any] = {
        "interval": FLUX_INTERVAL,
        "releaseName": name,
        "chart": {
            "spec": {
                "chart": chart,
                "version": inputs.get("version"),
                "sourceRef": {
                    "kind": "HelmRepository",
                    "name": source.name,
                    "namespace": FLUX_NAMESPACE,
                },
            }
        },
        "install": {"createNamespace": bool(inputs.get("createNamespace"))},
    }
    if inputs.get("values"):
        spec["values"] = inputs["values"]
    body = {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": inputs.get("namespace") or "default"},
        "spec": spec,
    }
    return body, source


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip("-")


def _cluster_folder(recording: Recording, resource: RecordedResource) -> str:
    """``aws-us-east-1``: the cloud and region of the cluster whose provider applies it."""
    provider = recording.by_urn.get(resource.provider or "")
    if provider is None:
        return "default"
    return _slug(f"{provider.cloud}-{provider.region}")


def _file_name(body: dict[str, Any]) -> str:
    metadata = body.get("metadata") or {}
    parts = [body["kind"], metadata.get("namespace", ""), metadata.get("name", "")]
    return _slug("-".join(p for p in parts if p)) + ".yaml"


def documents(recording: Recording) -> dict[str, dict[str, Any]]:
    """Every file of the export, ``<cluster>/<kind>-<namespace>-<name>.yaml``, to its object."""
    computed = computed_values(recording)
    objects = {r.urn for r in kubernetes_objects(recording)}
    files: dict[str, dict[str, Any]] = {}
    for resource in recording.resources:
        if resource.type == AMP_SCRAPER:
            folder = _slug(f"{resource.cloud}-{resource.region}")
            name = _slug(f"amp-scraper-{resource.inputs.get('alias') or resource.name}")
            body = yaml.safe_load(resource.inputs["scrapeConfiguration"])
            files[f"{folder}/{name}.yaml"] = body
            continue
        if resource.type == HELM_RELEASE:
            release, source = helm_release(resource)
            bodies = [release, helm_repository(source)]
        elif resource.urn in objects:
            bodies = [manifest(resource)]
        else:
            continue
        folder = _cluster_folder(recording, resource)
        for body in bodies:
            files[f"{folder}/{_file_name(body)}"] = with_placeholders(body, computed)
    return dict(sorted(files.items()))


def export_manifests(recording: Recording, directory: Path) -> int:
    """Write every document of the export under ``directory``, remove what an earlier export
    wrote that is gone, and return how many files were written."""
    files = documents(recording)
    index = directory / INDEX
    earlier = index.read_text().splitlines() if index.is_file() else []
    for relative in earlier:
        if relative not in files and EXPORTED.fullmatch(relative):
            stale = directory / relative
            stale.unlink(missing_ok=True)
            if stale.parent != directory and not any(stale.parent.iterdir()):
                stale.parent.rmdir()
    for relative, body in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(body, sort_keys=False))
    directory.mkdir(parents=True, exist_ok=True)
    index.write_text("".join(f"{relative}\n" for relative in files))
    return len(files)

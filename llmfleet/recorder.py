"""Run a Pulumi program in-process under the mock runtime and record every resource.

The recording monitor wraps Pulumi's ``MockMonitor``: for each ``RegisterResource`` it keeps
what the engine would see (type, name, parent, provider, dependencies, protect and the
camelCase inputs), while ``ProviderMocks`` answers with the outputs real providers compute
(see ``llmfleet.mock_outputs``), so values wired from one resource into another reach the plan
with their dependency edges intact.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from llmfleet import mock_outputs
from llmfleet import pulumi_internals as sdk

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass
class RecordedResource:
    """One registered resource as the engine (and the policy pack) would see it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    dependencies: list[str]
    protect: bool
    inputs: dict[str, Any]
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    """Input name -> URNs that input's value came from, as the SDK sends them to the engine."""
    outputs: dict[str, Any] = field(default_factory=dict)
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    """Former names of the resource (``pulumi.Alias(name=...)``) that state follows."""
    cloud: str | None = None
    region: str | None = None
    secret_inputs: list[str] = field(default_factory=list)
    """Dotted paths of the inputs the program marked secret (``httpCheck.headers.Authorization``):
    Pulumi encrypts them in the state."""

    @property
    def is_cloud_object(self) -> bool:
        """A cloud or Kubernetes resource: not a component, the stack or a provider."""
        return self.custom and not self.type.startswith("pulumi:")

    def to_json(self) -> dict[str, Any]:
        """The resource in the plan JSON shape of docs/DESIGN.md."""
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "cloud": self.cloud,
            "region": self.region,
            "dependencies": self.dependencies,
            "propertyDependencies": self.property_dependencies,
            "provider": self.provider,
            "protect": self.protect,
            "inputs": self.inputs,
        }


@dataclass
class Recording:
    """Every resource a program registered (parents first, siblings by name) and its exports."""

    resources: list[RecordedResource]
    exports: dict[str, Any]

    def __post_init__(self) -> None:
        self.by_urn = {r.urn: r for r in self.resources}

    def of_type(self, type_: str) -> list[RecordedResource]:
        """Resources of one type token, e.g. ``aws:ec2/vpc:Vpc``."""
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> RecordedResource:
        """The single resource of ``type_`` (named ``name`` when given); fails otherwise."""
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_)]
            raise LookupError(f"expected one {type_} named {name!r}, found {names}")
        return found[0]

    def children(self, parent: RecordedResource | str) -> list[RecordedResource]:
        """Direct children of a resource."""
        urn = parent if isinstance(parent, str) else parent.urn
        return [r for r in self.resources if r.parent == urn]

    def descendants(self, parent: RecordedResource | str) -> list[RecordedResource]:
        """Every resource below ``parent`` in the parent tree."""
        urn = parent if isinstance(parent, str) else parent.urn
        below: list[RecordedResource] = []
        for child in self.children(urn):
            below.append(child)
            below.extend(self.descendants(child))
        return below

    def custom(self) -> list[RecordedResource]:
        """Cloud and Kubernetes resources: no components, no stack, no providers."""
        return [r for r in self.resources if r.is_cloud_object]


class ProviderMocks(pulumi.runtime.Mocks):
    """Mocks answering with provider-shaped outputs for resources and invokes."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        if not args.custom:
            return "", {}
        return mock_outputs.resource_outputs(args.typ, args.name, args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        return mock_outputs.invoke_result(args.token, args.args)


def _provider_urn(reference: str) -> str | None:
    # A provider reference is "<provider urn>::<provider id>".
    return reference.rsplit("::", 1)[0] if reference else None


def _is_stack(urn: str) -> bool:
    # The root stack is every resource's implicit parent; the plan shows top-level as null.
    return not urn or urn.split("::")[2].split("$")[-1] == STACK_TYPE


def _secret_paths(value: Any, path: str = "") -> list[str]:
    """The dotted paths of the secrets in a deserialized input value."""
    if isinstance(value, Mapping):
        if value.get(sdk.SIGNATURE_KEY) == sdk.SECRET_SIGNATURE:
            return [path]
        return [p for k, v in value.items() for p in _secret_paths(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in _secret_paths(v, f"{path}.{i}")]
    return []


def _plain(value: Any) -> Any:
    """Unwrap secrets and drop unknowns so recorded inputs are plain JSON values."""
    if isinstance(value, Mapping):
        if value.get(sdk.SIGNATURE_KEY) == sdk.SECRET_SIGNATURE:
            return _plain(value.get("value"))
        return {k: _plain(v) for k, v in value.items() if v != sdk.UNKNOWN}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value if v != sdk.UNKNOWN]
    if isinstance(value, pulumi.Resource):
        return None
    if isinstance(value, float) and value.is_integer():
        # The engine carries every number as a double; 3.0 was the integer 3 it was given.
        return int(value)
    return value


class RecordingMonitor(sdk.MockMonitor):
    """A MockMonitor that keeps what every RegisterResource request carried."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.recorded: list[RecordedResource] = []
        self._lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The URN the engine gives: the parent's whole qualified type chain, then ``type_``.

        ``MockMonitor`` keeps only the parent's last type and prefixes top-level resources with
        the stack's type; the engine does neither, and a URN golden file must pin real URNs
        (a grandparent's type is part of a resource's identity).
        """
        qualified = type_
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != STACK_TYPE:
                qualified = f"{parent_type}${type_}"
        return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{qualified}::{name}"

    def RegisterResource(self, request):
        if request.type == STACK_TYPE:
            return super().RegisterResource(request)
        # Mirrors MockMonitor.RegisterResource, keeping the request's inputs on the way.
        sdk.ensure_event_loop()
        inputs = sdk.deserialize_properties(request.object)
        custom = bool(request.custom)
        id_, state = self.mocks.new_resource(
            pulumi.runtime.MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=inputs,
                provider=request.provider,
                resource_id=request.importId,
                custom=custom,
            )
        )
        urn = self.make_urn(request.parent, request.type, request.name)
        self.resources[urn] = sdk.ResourceRegistration(urn, id_, state)
        resource = RecordedResource(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=custom,
            parent=None if _is_stack(request.parent) else request.parent,
            provider=_provider_urn(request.provider),
            dependencies=sorted(set(request.dependencies)),
            property_dependencies={
                name: sorted(set(deps.urns))
                for name, deps in sorted(request.propertyDependencies.items())
                if deps.urns
            },
            protect=bool(request.protect),
            inputs=_plain(inputs),
            outputs=state,
            retain_on_delete=bool(request.retainOnDelete),
            delete_before_replace=bool(request.deleteBeforeReplace),
            ignore_changes=list(request.ignoreChanges),
            aliases=[alias.spec.name for alias in request.aliases if alias.spec.name],
            secret_inputs=_secret_paths(inputs),
        )
        with self._lock:
            self.recorded.append(resource)
        properties = sdk.sync_await(sdk.serialize_properties(state, {}))
        return sdk.RegisterResourceResponse(urn=urn, id=id_, object=properties)


def record(
    program: Callable[[], Any],
    *,
    project: str = "llmfleet",
    stack: str = "test",
    config: Mapping[str, str] | None = None,
) -> Recording:
    """Run ``program`` under the mock runtime and return what it registered.

    ``set_mocks`` is process-global: recordings run one at a time, each on fresh settings.
    """
    mocks = ProviderMocks()
    monitor = RecordingMonitor(mocks)
    sdk.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(dict(config or {}))
    with sdk.without_source_positions():
        sdk.sync_await(sdk.run_program(program))
    root = sdk.ROOT.get()
    exports = _resolved_exports(root)
    resources = _canonical_order(monitor.recorded)
    _place(resources)
    return Recording(resources=resources, exports=exports)


def _canonical_order(resources: list[RecordedResource]) -> list[RecordedResource]:
    """Parents before children, siblings by name and type: the same program gives the same list.

    Registration order depends on when each Output resolves, which varies between runs; plans,
    reports and exports are read in pull requests, so they must not.
    """
    children: dict[str | None, list[RecordedResource]] = {}
    known = {r.urn for r in resources}
    for r in resources:
        children.setdefault(r.parent if r.parent in known else None, []).append(r)
    ordered: list[RecordedResource] = []
    pending = sorted(children.get(None, []), key=_sibling_key, reverse=True)
    while pending:
        resource = pending.pop()
        ordered.append(resource)
        pending.extend(sorted(children.get(resource.urn, []), key=_sibling_key, reverse=True))
    return ordered


def _sibling_key(resource: RecordedResource) -> tuple[str, str]:
    return (resource.name, resource.type)


def _resolved_exports(root: Any) -> dict[str, Any]:
    outputs = getattr(root, "outputs", None) or {}
    resolved: dict[str, Any] = {}
    for key, value in outputs.items():
        future = pulumi.Output.from_input(value).future()
        resolved[key] = _plain(sdk.sync_await(future))
    return resolved


GLOBAL = "global"

GLOBAL_SERVICES = ("aws:route53/", "gcp:dns/")
"""DNS answers from everywhere: its records and health checks belong to no region."""


def _direct_region(resource: RecordedResource) -> str | None:
    """The region a cloud resource names in its own inputs, if any."""
    inputs = resource.inputs
    if resource.type.startswith(GLOBAL_SERVICES):
        return GLOBAL
    if resource.type.startswith("aws:"):
        return inputs.get("region")
    if resource.type.startswith("gcp:"):
        for key in ("region", "location", "zone"):
            value = inputs.get(key)
            if isinstance(value, str) and value:
                return _gcp_region_of(value)
    return None


def _gcp_region_of(location: str) -> str:
    """``us-central1-a`` -> ``us-central1``; ``us-central1`` and multi-regions unchanged."""
    parts = location.lower().split("-")
    if len(parts) == 3 and len(parts[2]) == 1:
        return "-".join(parts[:2])
    return location.lower()


def _own_cloud(resource: RecordedResource) -> str | None:
    """``aws:ec2/vpc:Vpc`` and ``llmfleet:aws:Network`` are aws; other tokens name no cloud."""
    package, module = resource.type.split(":")[:2]
    if package in ("aws", "gcp"):
        return package
    if package == "llmfleet" and module in ("aws", "gcp"):
        return module
    return None


def _place(resources: list[RecordedResource]) -> None:
    """Give every resource its cloud and region.

    A resource's own inputs name its region where it has one. Components take the one region
    their subtree lives in (``global`` when it spans several). Resources with no region of
    their own (IAM roles, a cluster's Kubernetes provider) take the region of their nearest
    ancestor whose subtree has resources of their cloud in one region; Kubernetes objects take
    the region of their cluster's provider. What is left is ``global``.
    """
    by_urn = {r.urn: r for r in resources}
    children: dict[str, list[RecordedResource]] = {}
    for r in resources:
        if r.parent:
            children.setdefault(r.parent, []).append(r)
        r.cloud = _own_cloud(r)
        r.region = _direct_region(r)

    subtree: dict[str, frozenset[tuple[str | None, str]]] = {}

    def placements(r: RecordedResource) -> frozenset[tuple[str | None, str]]:
        """(cloud, region) of every resource at or below ``r`` that names its region."""
        if r.urn not in subtree:
            found = {(r.cloud, r.region)} if r.region else set()
            for child in children.get(r.urn, ()):
                found |= placements(child)
            subtree[r.urn] = frozenset(found)
        return subtree[r.urn]

    def single(values: set) -> str | None:
        return next(iter(values)) if len(values) == 1 else None

    def home(r: RecordedResource) -> frozenset[tuple[str | None, str]]:
        parent = by_urn.get(r.parent) if r.parent else None
        while parent is not None:
            # Global services (DNS) say nothing about the region of their neighbours.
            found = {
                p
                for p in placements(parent)
                if (r.cloud is None or p[0] == r.cloud) and p[1] != GLOBAL
            }
            if found:
                return frozenset(found)
            parent = by_urn.get(parent.parent) if parent.parent else None
        return frozenset()

    for r in resources:
        if r.region is not None or r.type.startswith("kubernetes:"):
            continue
        found = placements(r) or home(r)
        r.cloud = r.cloud or single({cloud for cloud, _ in found})
        r.region = single({region for _, region in found}) or GLOBAL
    for r in resources:
        if r.type.startswith("kubernetes:"):
            cluster = by_urn.get(r.provider) if r.provider else None
            r.cloud = cluster.cloud if cluster else None
            r.region = cluster.region if cluster else GLOBAL

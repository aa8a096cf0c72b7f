"""Cost limits: allowed types, pool sizes, the stack's accelerators and monthly budget, spot
and scale to zero outside production. Limits come from the pack config (defaults below)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
)

from llmfleet.components import catalog
from llmfleet.components import cost as cost_model
from llmfleet.policies.rules import (
    ENVIRONMENT,
    Setting,
    environment,
    get,
    items,
    resource_rule,
    setting,
    stack_rule,
)

NODE_POOL_TYPES = (
    "aws:eks/nodeGroup:NodeGroup",
    "kubernetes:karpenter.sh/v1:NodePool",
    "gcp:container/nodePool:NodePool",
)

ALLOWED_ACCELERATORS = Setting(
    "allowedAccelerators",
    {"type": "array", "items": {"type": "string"}},
    [],
    "Catalog accelerator names pools may carry; empty: every accelerator in the catalog.",
)
ALLOWED_INSTANCE_TYPES = Setting(
    "allowedInstanceTypes",
    {"type": "array", "items": {"type": "string"}},
    [],
    "Instance / machine types pools may use; empty: every type the catalog prices.",
)
MAX_NODES_PER_POOL = Setting(
    "maxNodesPerPool", {"type": "integer", "minimum": 1}, 64, "Largest size of one node pool."
)
MAX_ACCELERATORS = Setting(
    "maxAccelerators",
    {"type": "integer", "minimum": 0},
    64,
    "Accelerators (GPUs, TPU chips) every pool of the stack holds together at maximum scale.",
)
MONTHLY_BUDGET = Setting(
    "monthlyBudgetUsd",
    {"type": "number", "exclusiveMinimum": 0},
    10000,
    "Most the stack may cost a month at maximum scale, priced from the llmfleet catalog.",
)
MODEL_GB = Setting(
    "publishedModelGb",
    {"type": "number", "minimum": 0},
    0,
    "GB of published model versions, to price storage replication; 0: transfers unpriced.",
)


def _pool_types(args: ResourceValidationArgs) -> tuple[str, list[str]]:
    """(cloud, instance types) a pool resource may launch."""
    props = args.props
    if args.resource_type == "aws:eks/nodeGroup:NodeGroup":
        return "aws", [str(t) for t in items(props.get("instanceTypes"))]
    if args.resource_type == "gcp:container/nodePool:NodePool":
        machine = get(props, "nodeConfig", "machineType")
        return "gcp", [machine] if machine else []
    for requirement in items(get(props, "spec", "template", "spec", "requirements")):
        if requirement.get("key") == "node.kubernetes.io/instance-type":
            return "aws", [str(v) for v in items(requirement.get("values"))]
    return "aws", []


def _accelerator_of(cloud: str, type_name: str) -> str | None:
    try:
        return catalog.instance_type(cloud, type_name).accelerator
    except catalog.CatalogError:
        return None


def _known(cloud: str, type_name: str) -> bool:
    return (
        _accelerator_of(cloud, type_name) is not None
        or catalog.general_purpose_type(cloud, type_name) is not None
    )


def _allowed_types(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in NODE_POOL_TYPES:
        return
    config = args.get_config()
    cloud, types = _pool_types(args)
    if not types and args.resource_type == "kubernetes:karpenter.sh/v1:NodePool":
        report("NodePool does not restrict node.kubernetes.io/instance-type: any type may launch")
    allowed_types = setting(config, ALLOWED_INSTANCE_TYPES)
    allowed_accelerators = setting(config, ALLOWED_ACCELERATORS)
    for name in types:
        accelerator = _accelerator_of(cloud, name)
        if allowed_types and name not in allowed_types:
            report(f"instance type {name} is not allowed; allowed: {', '.join(allowed_types)}")
        elif not allowed_types and not _known(cloud, name):
            report(f"instance type {name} is not in the llmfleet catalog (it cannot be priced)")
        if accelerator and allowed_accelerators and accelerator not in allowed_accelerators:
            report(
                f"accelerator {accelerator} ({name}) is not allowed; allowed: "
                f"{', '.join(allowed_accelerators)}"
            )


allowed_instance_types = resource_rule(
    "allowed-instance-types",
    "Node pools use only allowed accelerators and instance types (by default: the catalog's).",
    _allowed_types,
    ALLOWED_ACCELERATORS,
    ALLOWED_INSTANCE_TYPES,
)


def _resource(args: ResourceValidationArgs | PolicyResource) -> cost_model.Resource:
    props = args.props
    region = props.get("region") or props.get("location")
    return cost_model.Resource(
        urn=args.urn,
        type=args.resource_type,
        name=args.name,
        inputs=props,
        region=region if isinstance(region, str) else None,
        property_dependencies={
            name: [d.urn for d in deps]
            for name, deps in (getattr(args, "property_dependencies", None) or {}).items()
        },
    )


def _pool_nodes(args: ResourceValidationArgs | PolicyResource) -> list[cost_model.Line]:
    estimate = cost_model.estimate([_resource(args)])
    return [line for line in estimate.lines if line.count_unit == "node"]


def _max_nodes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in NODE_POOL_TYPES:
        return
    limit = setting(args.get_config(), MAX_NODES_PER_POOL)
    lines = _pool_nodes(args)
    if args.resource_type == "kubernetes:karpenter.sh/v1:NodePool" and not lines:
        report("NodePool has no limits the catalog can turn into a node count")
    for line in lines:
        if line.count_max > limit:
            report(f"pool reaches {line.count_max:g} nodes; at most {limit} allowed")


max_nodes_per_pool = resource_rule(
    "max-nodes-per-pool",
    "No node pool grows beyond the configured number of nodes (Karpenter: its limits).",
    _max_nodes,
    MAX_NODES_PER_POOL,
)


def _stack_accelerators(args: StackValidationArgs, report: ReportViolation) -> None:
    limit = setting(args.get_config(), MAX_ACCELERATORS)
    total = 0.0
    for resource in args.resources:
        if resource.resource_type in NODE_POOL_TYPES:
            total += sum(
                line.count_max * line.accelerators_per_unit for line in _pool_nodes(resource)
            )
    if total > limit:
        report(f"pools hold {total:g} accelerators at maximum scale; at most {limit} allowed")


max_accelerators_per_stack = stack_rule(
    "max-accelerators-per-stack",
    "All node pools together hold at most the configured number of accelerators at maximum scale.",
    _stack_accelerators,
    MAX_ACCELERATORS,
)


def stack_estimate(
    resources: list[PolicyResource], config: Mapping[str, Any] | None
) -> cost_model.Estimate:
    """The catalog estimate of a stack's resources, as the engine passes them."""
    gb = setting(config, MODEL_GB)
    usage = (
        cost_model.Usage(models=(cost_model.ModelVersion("published", "all", gb, "config"),))
        if gb
        else None
    )
    return cost_model.estimate(
        [_resource(r) for r in resources],
        usage,
        budget_usd=setting(config, MONTHLY_BUDGET),
    )


def _budget(args: StackValidationArgs, report: ReportViolation) -> None:
    overrun = stack_estimate(list(args.resources), args.get_config()).overrun()
    if overrun:
        report(overrun)


monthly_budget = stack_rule(
    "monthly-budget",
    "The stack's estimated monthly cost at maximum scale (node groups, Karpenter NodePool "
    "limits, GKE autoscaling, control planes, gateways, keys, logs) is within the budget.",
    _budget,
    MONTHLY_BUDGET,
    MODEL_GB,
)


def _is_accelerator_pool(args: ResourceValidationArgs) -> bool:
    cloud, types = _pool_types(args)
    guest = items(get(args.props, "nodeConfig", "guestAccelerators"))
    return bool(guest) or any(_accelerator_of(cloud, t) for t in types)


def _spot_outside_prod(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in NODE_POOL_TYPES or not _is_accelerator_pool(args):
        return
    if environment(args.props, args.get_config()) == "prod":
        return
    for line in _pool_nodes(args):
        if line.capacity != "spot":
            report("non-production accelerator pool is not on spot capacity")
        if line.count_min > 0:
            report(f"non-production accelerator pool keeps {line.count_min:g} nodes: min 0")


nonprod_spot_scale_to_zero = resource_rule(
    "nonprod-spot-scale-to-zero",
    "Outside production, accelerator pools run on spot capacity and scale to zero.",
    _spot_outside_prod,
    ENVIRONMENT,
)

POLICIES = [
    allowed_instance_types,
    max_nodes_per_pool,
    max_accelerators_per_stack,
    monthly_budget,
    nonprod_spot_scale_to_zero,
]

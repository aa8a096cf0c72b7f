"""What every rule module shares: reading engine properties and declaring config.

Rules read the engine's camelCase properties. During a preview some values are unknown: the
engine's property proxy raises on reading one and reports the policy as advisory for that
resource, so rules read plainly and never guess a value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

Check = Callable[[ResourceValidationArgs, ReportViolation], None]
StackCheck = Callable[[StackValidationArgs, ReportViolation], None]


@dataclass(frozen=True)
class Setting:
    """One config property of a rule: its JSON schema and documented default."""

    name: str
    schema: dict[str, Any]
    default: Any
    description: str

    def property(self) -> dict[str, Any]:
        return {**self.schema, "default": self.default, "description": self.description}


def schema(*settings: Setting) -> PolicyConfigSchema | None:
    if not settings:
        return None
    return PolicyConfigSchema(properties={s.name: s.property() for s in settings})


def setting(config: Mapping[str, Any] | None, s: Setting) -> Any:
    """The configured value of ``s``, or its default (the engine fills defaults in too)."""
    value = (config or {}).get(s.name)
    return s.default if value is None else value


def resource_rule(
    name: str, description: str, check: Check, *settings: Setting
) -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name=name, description=description, validate=check, config_schema=schema(*settings)
    )


def stack_rule(
    name: str, description: str, check: StackCheck, *settings: Setting
) -> StackValidationPolicy:
    return StackValidationPolicy(
        name=name, description=description, validate=check, config_schema=schema(*settings)
    )


def get(value: Any, *path: str | int) -> Any:
    """``value[path[0]][path[1]]...``, None where a step is missing."""
    for key in path:
        if isinstance(key, int):
            if not isinstance(value, list | tuple) or len(value) <= key:
                return None
        elif not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def items(value: Any) -> list[Any]:
    """A list property as a list (absent: empty)."""
    return list(value) if isinstance(value, list | tuple) else []


def on(value: Any) -> bool:
    """True for true and for the string "true" (launch-template EBS flags are strings)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def label(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


ENVIRONMENT = Setting(
    "environment",
    {"type": "string"},
    "",
    "Environment of the stack (dev, staging, prod); empty: read each resource's `environment` "
    "tag or label.",
)


def environment(props: Mapping[str, Any], config: Mapping[str, Any] | None) -> str:
    """The stack's environment from config, else the resource's own environment tag/label."""
    configured = setting(config, ENVIRONMENT)
    if configured:
        return configured
    for key in ("tags", "labels", "resourceLabels"):
        value = get(props, key, "environment")
        if isinstance(value, str):
            return value
    return get(props, "spec", "tags", "environment") or ""


def of_type(resources: Iterable[PolicyResource], *types: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in types]


def referencing(
    resources: Iterable[PolicyResource], target: PolicyResource, prop: str, *types: str
) -> list[PolicyResource]:
    """Resources of ``types`` whose input ``prop`` takes its value from ``target``."""
    return [
        r
        for r in of_type(resources, *types)
        if any(d.urn == target.urn for d in r.property_dependencies.get(prop, []))
    ]

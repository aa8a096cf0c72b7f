"""Helpers that run rules through the public pulumi_policy types, as the engine does."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)


def _options() -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=None,
    )


def engine(value: Any) -> Any:
    """``value`` as the engine hands it to a rule: deserialized, so its strings are new objects.

    A rule must compare what it reads by value; the literals of a test module may be the very
    objects of the rule module's (CPython interns identifier-like constants), the engine's never.
    """
    return json.loads(json.dumps(value))


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:test::llmfleet::{type_}::{name}"


def check(
    policy: ResourceValidationPolicy,
    type_: str,
    props: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
) -> list[str]:
    """The messages ``policy`` reports on one resource."""
    messages: list[str] = []
    args = ResourceValidationArgs(
        resource_type=engine(type_),
        props=engine(props),
        urn=urn(type_, "r"),
        name="r",
        opts=_options(),
        provider=None,
        config=engine(config or {}),
    )
    policy.validate(args, lambda message, _urn=None: messages.append(message))
    return messages


def resource(
    type_: str,
    name: str,
    props: Mapping[str, Any],
    property_dependencies: Mapping[str, list[PolicyResource]] | None = None,
) -> PolicyResource:
    deps = dict(property_dependencies or {})
    return PolicyResource(
        resource_type=engine(type_),
        props=engine(props),
        urn=urn(type_, name),
        name=name,
        opts=_options(),
        provider=None,
        parent=None,
        dependencies=[d for found in deps.values() for d in found],
        property_dependencies=deps,
    )


def check_stack(
    policy: StackValidationPolicy,
    resources: list[PolicyResource],
    config: Mapping[str, Any] | None = None,
) -> list[str]:
    """The messages ``policy`` reports on a stack of resources."""
    messages: list[str] = []
    args = StackValidationArgs(resources=resources, config=engine(config or {}))
    policy.validate(args, lambda message, _urn=None: messages.append(message))
    return messages

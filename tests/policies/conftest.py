"""Helpers that run rules through the public pulumi_policy types, as the engine does."""

from __future__ import annotations

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
        resource_type=type_,
        props=props,
        urn=urn(type_, "r"),
        name="r",
        opts=_options(),
        provider=None,
        config=config or {},
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
        resource_type=type_,
        props=props,
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
    args = StackValidationArgs(resources=resources, config=config or {})
    policy.validate(args, lambda message, _urn=None: messages.append(message))
    return messages

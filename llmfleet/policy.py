"""Evaluate the policy pack's own rule objects on a recording, offline."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from llmfleet.recorder import RecordedResource, Recording


def _validation_args(resource: RecordedResource) -> ResourceValidationArgs:
    options = PolicyResourceOptions(
        protect=resource.protect,
        ignore_changes=resource.ignore_changes,
        delete_before_replace=resource.delete_before_replace,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.parent,
    )
    return ResourceValidationArgs(
        resource_type=resource.type,
        props=resource.inputs,
        urn=resource.urn,
        name=resource.name,
        opts=options,
        provider=None,
    )


def evaluate(
    recording: Recording,
    policies: list[ResourceValidationPolicy],
    default_level: EnforcementLevel,
) -> list[dict[str, str]]:
    """Every violation the policies report on the recorded resources."""
    violations: list[dict[str, str]] = []
    for policy in policies:
        level = (policy.enforcement_level or default_level).value
        if level == EnforcementLevel.DISABLED.value:
            continue
        for resource in recording.custom():
            reports: list[tuple[str, str | None]] = []
            policy.validate(
                _validation_args(resource),
                lambda message, urn=None, reports=reports: reports.append((message, urn)),
            )
            violations.extend(
                {"policy": policy.name, "level": level, "urn": urn or resource.urn, "message": m}
                for m, urn in reports
            )
    return violations

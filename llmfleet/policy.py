"""Evaluate the policy pack's own rule objects on a recording, offline.

Resource rules see each cloud resource; stack rules see them all at once, each with its
``dependencies`` and ``property_dependencies`` as the engine gives them. Each rule's config
is its schema's defaults, overlaid by the pack config file (``policies/<environment>.json``,
the file ``pulumi preview --policy-pack-config`` takes) and by what the stack file states
(budget, accelerator cap, environment).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from llmfleet.recorder import RecordedResource, Recording

Policy = ResourceValidationPolicy | StackValidationPolicy


def _options(resource: RecordedResource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=resource.protect,
        ignore_changes=resource.ignore_changes,
        delete_before_replace=resource.delete_before_replace,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.parent,
    )


def _validation_args(
    resource: RecordedResource, options: PolicyResourceOptions, config: Mapping[str, Any]
) -> ResourceValidationArgs:
    return ResourceValidationArgs(
        resource_type=resource.type,
        props=resource.inputs,
        urn=resource.urn,
        name=resource.name,
        opts=options,
        provider=None,
        config=config,
    )


def policy_resources(recording: Recording) -> list[PolicyResource]:
    """The cloud resources as a stack rule gets them: parents and dependencies as objects."""
    recorded = recording.custom()
    built: dict[str, PolicyResource] = {}
    for r in recorded:
        built[r.urn] = PolicyResource(
            resource_type=r.type,
            props=r.inputs,
            urn=r.urn,
            name=r.name,
            opts=_options(r),
            provider=None,
            parent=None,
            dependencies=[],
            property_dependencies={},
        )
    for r in recorded:
        found = built[r.urn]
        found.parent = built.get(r.parent) if r.parent else None
        found.dependencies = [built[u] for u in r.dependencies if u in built]
        found.property_dependencies = {
            name: [built[u] for u in urns if u in built]
            for name, urns in r.property_dependencies.items()
        }
    return list(built.values())


def read_pack_config(path: Path) -> dict[str, Any]:
    """A ``--policy-pack-config`` file: {policy name: level or {enforcementLevel, ...}}."""
    if not path.is_file():
        return {}
    return json.loads(path.read_text())


def rule_config(policy: Policy, pack_config: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict:
    """One rule's config: schema defaults, then the pack config file, then the stack's values."""
    schema = policy.config_schema.properties if policy.config_schema else {}
    config = {name: spec.get("default") for name, spec in schema.items()}
    entry = pack_config.get(policy.name)
    if isinstance(entry, Mapping):
        config.update({k: v for k, v in entry.items() if k in schema})
    config.update({k: v for k, v in overlay.items() if k in schema and v is not None})
    return config


def enforcement(policy: Policy, pack_config: Mapping[str, Any], default: EnforcementLevel) -> str:
    entry = pack_config.get(policy.name, pack_config.get("all"))
    if isinstance(entry, Mapping):
        entry = entry.get("enforcementLevel")
    if isinstance(entry, str):
        return entry
    return (policy.enforcement_level or default).value


def evaluate(
    recording: Recording,
    policies: list[Policy],
    default_level: EnforcementLevel,
    pack_config: Mapping[str, Any] | None = None,
    overlay: Mapping[str, Any] | None = None,
) -> list[dict[str, str]]:
    """Every violation the resource and stack rules report on the recording."""
    pack_config, overlay = pack_config or {}, overlay or {}
    violations: list[dict[str, str]] = []
    stack = None
    # Every resource rule sees every resource: its options are built once, not once per rule.
    resources = [(r, _options(r)) for r in recording.custom()]
    for policy in policies:
        level = enforcement(policy, pack_config, default_level)
        if level == EnforcementLevel.DISABLED.value:
            continue
        config = rule_config(policy, pack_config, overlay)

        def report(
            message: str, urn: str | None = None, *, at: str = "", name=policy.name, level=level
        ) -> None:
            violations.append(
                {"policy": name, "level": level, "urn": urn or at, "message": message}
            )

        if isinstance(policy, StackValidationPolicy):
            stack = stack if stack is not None else policy_resources(recording)
            policy.validate(StackValidationArgs(resources=stack, config=config), report)
            continue
        for resource, options in resources:
            policy.validate(
                _validation_args(resource, options, config),
                lambda message, urn=None, at=resource.urn: report(message, urn, at=at),
            )
    return violations

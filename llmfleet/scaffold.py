"""``llmfleet init``: a new stack file from a few choices, valid and plannable as written.

Address ranges are allocated so no two regions overlap: each AWS region gets a /16 from
10.10.0.0 on; each GCP region a /20 for nodes and one for services from 10.40.0.0 on, and a /14
for pods from 10.128.0.0 on. The file is validated before it is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from llmfleet.components.spec import parse_fleet
from llmfleet.provider_config import AWS_REGION, GCP_PROJECT
from llmfleet.stackfile import FLEET_KEY, Project, UsageError

SCHEMA_LINE = "# yaml-language-server: $schema=../schema/stack.schema.json"


@dataclass(frozen=True)
class PoolChoice:
    """One ``--aws`` / ``--gcp`` value: ``REGION:ACCELERATOR[:COUNT]``."""

    cloud: str
    region: str
    accelerator: str
    count: int


def parse_choice(cloud: str, text: str) -> PoolChoice:
    """``us-east-1:nvidia-l4`` or ``us-central1:nvidia-a100-80gb:2``; a usage error otherwise."""
    match = re.fullmatch(r"([a-z0-9-]+):([a-z0-9-]+)(?::([1-9]\d*))?", text)
    if match is None:
        raise UsageError(f"--{cloud} {text}: expected REGION:ACCELERATOR[:COUNT]")
    region, accelerator, count = match.groups()
    return PoolChoice(cloud, region, accelerator, int(count or 1))


def _pool(choice: PoolChoice, spot: bool) -> dict[str, Any]:
    short = choice.accelerator.removeprefix("nvidia-")
    name = f"{short}-x{choice.count}" if choice.count > 1 else short
    return {
        "name": name,
        "accelerator": choice.accelerator,
        "count": choice.count,
        "min_nodes": 0,
        "max_nodes": 2,
        "spot": spot,
    }


def fleet_document(
    stack: str,
    choices: list[PoolChoice],
    *,
    environment: str,
    budget_usd: float,
    owner: str,
    cost_center: str,
    gcp_project: str | None,
    notify_email: str | None = None,
) -> dict[str, Any]:
    """The stack file's mapping: provider config and the fleet."""
    if not choices:
        raise UsageError("give at least one --aws or --gcp REGION:ACCELERATOR")
    if environment == "prod" and notify_email is None:
        raise UsageError("--notify EMAIL is required with --environment prod (where alerts go)")
    on_gcp = any(c.cloud == "gcp" for c in choices)
    if on_gcp and gcp_project is None:
        raise UsageError("--gcp-project is required with --gcp (the project GCP regions live in)")
    regions: dict[tuple[str, str], dict[str, Any]] = {}
    counts = {"aws": 0, "gcp": 0}
    spot = environment != "prod"
    for choice in choices:
        key = (choice.cloud, choice.region)
        if key not in regions:
            regions[key] = _region(choice.cloud, choice.region, counts[choice.cloud], environment)
            counts[choice.cloud] += 1
        regions[key]["cluster"]["gpu_pools"].append(_pool(choice, spot))
    max_accelerators = sum(
        pool["count"] * pool["max_nodes"]
        for region in regions.values()
        for pool in region["cluster"]["gpu_pools"]
    )
    fleet: dict[str, Any] = {
        "name": f"llm-{stack}",
        "environment": environment,
        "owner": owner,
        "cost_center": cost_center,
    }
    if gcp_project is not None:
        fleet["gcp_project"] = gcp_project
    fleet["budget"] = {"monthly_usd": budget_usd, "max_accelerators": max_accelerators}
    fleet["regions"] = list(regions.values())
    if notify_email is not None:
        fleet["observability"] = {"notify": {"email": notify_email}}
    config: dict[str, Any] = {}
    aws = [c.region for c in choices if c.cloud == "aws"]
    if aws:
        config[AWS_REGION] = aws[0]
    if on_gcp:
        config[GCP_PROJECT] = gcp_project
    config[FLEET_KEY] = fleet
    return {"config": config}


def _region(cloud: str, region: str, index: int, environment: str) -> dict[str, Any]:
    zones = 3 if environment == "prod" else 2
    if cloud == "aws":
        addresses = {"cidr": f"10.{10 + index}.0.0/16"}
    else:
        addresses = {
            "cidr": f"10.{40 + index}.0.0/20",
            "pods_cidr": f"10.{128 + 4 * index}.0.0/14",
            "services_cidr": f"10.{40 + index}.16.0/20",
        }
    return {
        "cloud": cloud,
        "region": region,
        "zones": zones,
        **addresses,
        "cluster": {"gpu_pools": []},
    }


def write_stack(project: Project, stack: str, document: dict[str, Any], *, force: bool) -> Path:
    """Validate the fleet, then write stacks/Pulumi.<stack>.yaml (over a file only if forced)."""
    parse_fleet(document["config"][FLEET_KEY])
    path = project.stack_file(stack)
    if path.exists() and not force:
        raise UsageError(f"{path} exists; pick another stack name or pass --force to replace it")
    header = (
        f"{SCHEMA_LINE}\n# Written by `llmfleet init`. Check it with `llmfleet validate {stack}`, "
        f"plan it with `llmfleet plan {stack}`.\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(document, sort_keys=False))
    return path

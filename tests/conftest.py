"""Shared fixtures: fleet configs and one mocks dispatcher for every test.

``pulumi.runtime.set_mocks`` is process-global, so every test that builds resources goes
through ``record`` (llmfleet.recorder), which installs the one recording mocks dispatcher the
offline plan uses too, runs the program and returns what it registered.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmfleet.components.spec import FleetSpec, parse_fleet
from llmfleet.recorder import Recording, record

REPO = Path(__file__).resolve().parents[1]
SCHEMAS = Path(__file__).resolve().parent / "schemas"
"""Upstream CRD schemas vendored unchanged (tests/schemas/README.md: source, release, licence)."""

DEV_FLEET: dict[str, Any] = {
    "name": "llm-dev",
    "environment": "dev",
    "owner": "ml-platform",
    "cost_center": "cc-1234",
    "budget": {"monthly_usd": 5000, "max_accelerators": 8},
    "regions": [{"cloud": "aws", "region": "us-east-1", "zones": 2, "cidr": "10.10.0.0/16"}],
}

PROD_FLEET: dict[str, Any] = {
    "name": "llm-prod",
    "environment": "prod",
    "owner": "ml-platform",
    "cost_center": "cc-1234",
    "gcp_project": "llm-prod-serving",
    "budget": {"monthly_usd": 500000, "max_accelerators": 128},
    "observability": {"notify": {"email": "oncall-ml@example.com"}},
    "regions": [
        {"cloud": "aws", "region": "us-east-1", "zones": 3, "cidr": "10.20.0.0/16"},
        {"cloud": "aws", "region": "us-west-2", "zones": 3, "cidr": "10.21.0.0/16"},
        {
            "cloud": "gcp",
            "region": "us-central1",
            "zones": 3,
            "cidr": "10.30.0.0/20",
            "pods_cidr": "10.128.0.0/14",
            "services_cidr": "10.30.16.0/20",
        },
        {
            "cloud": "gcp",
            "region": "europe-west4",
            "zones": 3,
            "cidr": "10.31.0.0/20",
            "pods_cidr": "10.132.0.0/14",
            "services_cidr": "10.31.16.0/20",
        },
    ],
}


@pytest.fixture
def dev_config() -> dict[str, Any]:
    """A one-region AWS dev fleet as a raw stack-file mapping (a fresh copy per test)."""
    return copy.deepcopy(DEV_FLEET)


@pytest.fixture
def prod_config() -> dict[str, Any]:
    """A prod fleet over two AWS and two GCP regions, as a raw stack-file mapping."""
    return copy.deepcopy(PROD_FLEET)


@pytest.fixture(scope="session")
def dev_fleet() -> FleetSpec:
    """DEV_FLEET parsed (shared: tests read it, never change it)."""
    return parse_fleet(copy.deepcopy(DEV_FLEET))


@pytest.fixture(scope="session")
def prod_fleet() -> FleetSpec:
    """PROD_FLEET parsed (shared: tests read it, never change it)."""
    return parse_fleet(copy.deepcopy(PROD_FLEET))


@pytest.fixture
def run() -> Callable[..., Recording]:
    """Run a program (a zero-argument callable building resources) under the recording mocks."""
    return record


@pytest.fixture(scope="module")
def recorded() -> Callable[[str, Callable[[], Any]], Recording]:
    """Record a program once per module under a key: ``recorded("prod", program)``.

    Recording is the slow part of a test; tests that only read a recording share it.
    """
    cache: dict[str, Recording] = {}

    def recorded_once(key: str, program: Callable[[], Any]) -> Recording:
        if key not in cache:
            cache[key] = record(program)
        return cache[key]

    return recorded_once


PLAN_RESOURCE_KEYS = {
    "propertyDependencies",
    "urn",
    "type",
    "name",
    "parent",
    "cloud",
    "region",
    "dependencies",
    "provider",
    "protect",
    "inputs",
}
"""The keys of a resource in the plan JSON (docs/DESIGN.md)."""


@pytest.fixture
def schemas_dir() -> Path:
    """tests/schemas: upstream CRDs, one folder per project (README.md lists them)."""
    return SCHEMAS

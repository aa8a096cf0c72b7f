"""Every namespace llmfleet makes enforces the restricted Pod Security Standard, except the
NVIDIA agents' (they need host access to the driver, and say so)."""

from __future__ import annotations

import pytest

from llmfleet.components.fleet import Fleet
from llmfleet.recorder import record
from llmfleet.stackfile import find_project, load_stack
from tests.conftest import REPO
from tests.llmfleet.test_cli import EXAMPLE_STACKS

NAMESPACE = "kubernetes:core/v1:Namespace"
PRIVILEGED = {"nvidia"}
"""Namespaces allowed to run privileged pods: the device plugin and DCGM exporter."""


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_every_namespace_but_the_nvidia_agents_is_restricted(stack):
    spec = load_stack(find_project(REPO), stack).fleet
    namespaces = record(lambda: Fleet(spec.name, spec)).of_type(NAMESPACE)
    assert namespaces
    for namespace in namespaces:
        metadata = namespace.inputs["metadata"]
        if metadata["name"] in PRIVILEGED:
            continue
        assert metadata["labels"]["pod-security.kubernetes.io/enforce"] == "restricted", (
            f"{stack}: namespace {metadata['name']} is not restricted"
        )

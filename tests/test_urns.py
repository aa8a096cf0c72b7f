"""Stable URNs: every example stack's resource URNs and protect flags, pinned.

A URN is a resource's identity in Pulumi state: a change of name, type or parent makes
``pulumi up`` delete the old resource and create a new one (a new cluster, an empty bucket).
This test fails, printing a diff, whenever a change alters any URN or protect flag of the
example stacks.

When the change is on purpose (resources added, or moved with ``aliases`` so state follows
them), regenerate the golden files and commit them with the change:

    LLMFLEET_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_urns.py

A moved or renamed resource needs ``pulumi.ResourceOptions(aliases=[...])`` naming its old
parent or name; the diff then shows the new URN, and the alias keeps ``pulumi up`` from
replacing it.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from llmfleet.plan import run_program
from llmfleet.stackfile import find_project, load_stack
from tests.conftest import REPO

GOLDEN = Path(__file__).parent / "golden" / "urns"
UPDATE = os.environ.get("LLMFLEET_UPDATE_GOLDEN") == "1"
EXAMPLE_STACKS = ["dev", "prod-aws", "prod-gcp", "hybrid"]


def urn_lines(stack: str) -> list[str]:
    """One line per resource, sorted: its URN, then `protect` when it is protected."""
    project = find_project(REPO)
    recording = run_program(project, load_stack(project, stack))
    return sorted(f"{r.urn}{'  protect' if r.protect else ''}" for r in recording.resources)


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_urns_and_protect_flags_match_the_golden_file(stack):
    golden = GOLDEN / f"{stack}.txt"
    actual = urn_lines(stack)
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text("\n".join(actual) + "\n")
    expected = golden.read_text().splitlines()
    diff = "\n".join(
        difflib.unified_diff(
            expected, actual, f"golden/urns/{stack}.txt", f"stack {stack} now", lineterm=""
        )
    )
    assert not diff, (
        f"URNs or protect flags of stack {stack} changed (pulumi up would replace or unprotect "
        "these resources). Add aliases for moved resources; if the change is on purpose run "
        f"LLMFLEET_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_urns.py and commit:\n{diff}"
    )

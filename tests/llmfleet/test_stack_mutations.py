"""Mutated example stacks never produce a traceback: the exit code is always 0, 1 or 2.

Hypothesis edits the example stack files the way people break them: a field deleted, a value of
another type, numbers far out of range, random unicode, an unknown key, stray bytes. Each file
goes through the whole CLI (``main(argv)`` in-process). The program is a stand-in that builds
nothing, so the check stays fast on two cores; the real program runs for the few mutations that
keep a stack valid (the second test), because a full plan takes seconds.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from llmfleet.cli import main
from llmfleet.components.spec import SpecError, parse_fleet
from tests.conftest import REPO
from tests.llmfleet.test_cli import make_project

EXAMPLES = {
    name: yaml.safe_load((REPO / "stacks" / f"Pulumi.{name}.yaml").read_text())
    for name in ("dev", "prod-aws", "prod-gcp", "hybrid")
}

STAND_IN_PROGRAM = "import pulumi\npulumi.export('planned', True)\n"
"""Builds nothing: validation, reading and error handling are what the first test exercises."""


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value in the document (mapping keys and list indexes)."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*prefix, i))
    return found


NUMBERS = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 2**63, 10**19, 0.5, -0.0]),
)
VALUES = st.one_of(
    NUMBERS,
    st.text(max_size=20),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@st.composite
def mutated_stack(draw: st.DrawFn) -> tuple[str, bytes]:
    """An example stack file with one to three mutations."""
    name = draw(st.sampled_from(sorted(EXAMPLES)))
    document = copy_of(EXAMPLES[name])
    for _ in range(draw(st.integers(1, 3))):
        # Mostly inside the fleet, sometimes the stack file's other keys or its root.
        paths = _paths(document)
        inside = [p for p in paths if p[:2] == ("config", "llmfleet:fleet")]
        path = draw(st.sampled_from(inside if inside and draw(st.integers(0, 4)) else paths))
        kind = draw(st.sampled_from(["delete", "replace", "number", "unicode", "unknown key"]))
        document = _mutate(document, path, kind, draw)
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False).encode()
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.binary(min_size=1, max_size=3)) + text[at:]
    return name, text


def copy_of(document: Any) -> Any:
    return yaml.safe_load(yaml.safe_dump(document))


def _mutate(document: Any, path: tuple, kind: str, draw: st.DrawFn) -> Any:
    if kind == "unknown key":
        target = _at(document, path)
        if isinstance(target, dict):
            key = draw(st.text(min_size=1, max_size=12) | st.integers() | st.booleans())
            target[key] = draw(VALUES)
            return document
        kind = "replace"
    if not path:
        return None if kind == "delete" else draw(VALUES)
    parent, last = _at(document, path[:-1]), path[-1]
    if kind == "delete":
        del parent[last]
    else:
        strategy = {
            "replace": VALUES,
            "number": NUMBERS,
            "unicode": st.text(min_size=1, max_size=30),
        }[kind]
        parent[last] = draw(strategy)
    return document


def _at(document: Any, path: tuple) -> Any:
    for part in path:
        document = document[part]
    return document


def run_cli(project: Path, stack: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["plan", stack, "--project", str(project), "--no-tree"])
    return code, err.getvalue()


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated_stack())
def test_a_mutated_stack_never_prints_a_traceback(mutated: tuple[str, bytes]):
    name, text = mutated
    with tempfile.TemporaryDirectory() as folder:
        project = make_project(Path(folder), {}, program=STAND_IN_PROGRAM)
        (project / "stacks" / f"Pulumi.{name}.yaml").write_bytes(text)
        code, err = run_cli(project, name)
    assert "Traceback" not in err
    assert code in (0, 1, 2), err
    if code == 2:
        assert err.strip(), "a refusal says why"


POOL_EDITS = st.fixed_dictionaries(
    {
        "max_nodes": st.integers(1, 3),
        "min_nodes": st.integers(0, 1),
        "spot": st.booleans(),
    }
)


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(EXAMPLES)), POOL_EDITS, st.floats(1, 1e7, allow_nan=False))
def test_a_valid_mutation_plans_with_the_real_program(name: str, edits: dict, budget: float):
    document = copy_of(EXAMPLES[name])
    fleet = document["config"]["llmfleet:fleet"]
    fleet["budget"]["monthly_usd"] = budget
    for region in fleet["regions"]:
        for pool in region.get("cluster", {}).get("gpu_pools", []):
            pool.update(edits)
    for serving in fleet.get("serving", []):
        serving.update(min_replicas=1, max_replicas=1)  # fits any pool of one node
    try:
        parse_fleet(copy_of(fleet))
    except SpecError:
        assume(False)  # only what validation passes is planned
    with tempfile.TemporaryDirectory() as folder:
        stacks = {name: yaml.safe_dump(document, sort_keys=False)}
        project = make_project(Path(folder), stacks)
        code, err = run_cli(project, name)
    assert "Traceback" not in err
    assert code in (0, 1), err

"""`llmfleet schema`: the committed schema matches the models, accepts every example stack and
refuses known-bad stack files."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from jsonschema import Draft202012Validator

from llmfleet.cli import main
from llmfleet.schema import SCHEMA_PATH
from tests.conftest import REPO
from tests.llmfleet.test_cli import EXAMPLE_STACKS

SCHEMA_LINE = "# yaml-language-server: $schema=../schema/stack.schema.json"


@pytest.fixture(scope="module")
def emitted() -> dict:
    from llmfleet.schema import stack_schema

    return stack_schema()


@pytest.fixture(scope="module")
def validator(emitted) -> Draft202012Validator:
    Draft202012Validator.check_schema(emitted)
    return Draft202012Validator(emitted)


def example(stack: str) -> dict:
    return yaml.safe_load((REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text())


def test_committed_schema_is_what_the_command_prints(capsys):
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == (REPO / SCHEMA_PATH).read_text(), (
        "regenerate it: llmfleet schema > schema/stack.schema.json"
    )


def test_descriptions_come_from_field_docstrings(emitted):
    budget = emitted["$defs"]["BudgetSpec"]["properties"]["max_accelerators"]
    assert (
        budget["description"] == "Cap on GPUs / TPU chips across all pools at their maximum scale."
    )
    accelerator = emitted["$defs"]["GpuPoolSpec"]["properties"]["accelerator"]
    assert "nvidia-l4" in accelerator["enum"]


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_example_stacks_validate_and_point_at_the_schema(validator, stack):
    text = (REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text()
    assert text.splitlines()[0] == SCHEMA_LINE
    assert (REPO / "stacks" / SCHEMA_LINE.split("=")[1]).resolve() == REPO / SCHEMA_PATH
    assert list(validator.iter_errors(example(stack))) == []


def _typo(doc):
    pool = doc["config"]["llmfleet:fleet"]["regions"][0]["cluster"]
    pool["gpu_pool"] = pool.pop("gpu_pools")


def _bad_environment(doc):
    doc["config"]["llmfleet:fleet"]["environment"] = "qa"


def _unknown_accelerator(doc):
    doc["config"]["llmfleet:fleet"]["regions"][0]["cluster"]["gpu_pools"][0]["accelerator"] = "b200"


def _zero_count(doc):
    doc["config"]["llmfleet:fleet"]["regions"][0]["cluster"]["gpu_pools"][0]["count"] = 0


def _no_fleet(doc):
    del doc["config"]["llmfleet:fleet"]


def _no_budget(doc):
    del doc["config"]["llmfleet:fleet"]["budget"]


@pytest.mark.parametrize(
    ("breaks", "message"),
    [
        (_typo, "Additional properties are not allowed ('gpu_pool' was unexpected)"),
        (_bad_environment, "'qa' is not one of ['dev', 'staging', 'prod']"),
        (_unknown_accelerator, "'b200' is not one of"),
        (_zero_count, "0 is less than the minimum of 1"),
        (_no_fleet, "'llmfleet:fleet' is a required property"),
        (_no_budget, "'budget' is a required property"),
    ],
)
def test_known_bad_files_are_refused(validator, breaks, message):
    doc = copy.deepcopy(example("dev"))
    breaks(doc)
    errors = [e.message for e in validator.iter_errors(doc)]
    assert any(message in e for e in errors), errors


def test_schema_is_json_on_stdout(capsys):
    main(["schema"])
    assert json.loads(capsys.readouterr().out)["$schema"].startswith("https://json-schema.org/")

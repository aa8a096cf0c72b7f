"""Provider config: aws:region and gcp:project present where the fleet needs them, and agreeing."""

from __future__ import annotations

import copy

import pytest
import yaml

from llmfleet.cli import main
from tests.conftest import PROD_FLEET
from tests.llmfleet.test_cli import make_project


def stack(config: dict) -> str:
    return yaml.safe_dump({"config": {**config, "llmfleet:fleet": copy.deepcopy(PROD_FLEET)}})


@pytest.mark.parametrize(
    ("config", "problems"),
    [
        (
            {"gcp:project": "llm-prod-serving"},
            [
                "config.aws:region: missing: the fleet has AWS regions; "
                "pulumi config set aws:region us-east-1 --stack s"
            ],
        ),
        (
            {"aws:region": "eu-west-1", "gcp:project": "llm-prod-serving"},
            ["config.aws:region: 'eu-west-1' is not an AWS region of the fleet; "
             "use one of us-east-1, us-west-2"],
        ),
        (
            {"aws:region": "us-west-2"},
            [
                "config.gcp:project: missing: the fleet has GCP regions; "
                "pulumi config set gcp:project llm-prod-serving --stack s"
            ],
        ),
        (
            {"aws:region": "us-west-2", "gcp:project": "other-project"},
            ["config.gcp:project: 'other-project' differs from fleet.gcp_project "
             "'llm-prod-serving'; the provider and the fleet must use one project"],
        ),
    ],
)  # fmt: skip
@pytest.mark.parametrize("command", ["plan", "validate"])
def test_missing_or_disagreeing_provider_config_exits_2(
    tmp_path, capsys, config, problems, command
):
    project = make_project(tmp_path, {"s": stack(config)})
    assert main([command, "s", "-C", str(project)]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines()[1:] == [f"  {p}" for p in problems]
    assert captured.out == ""


def test_agreeing_provider_config_validates(tmp_path, capsys):
    config = {"aws:region": "us-west-2", "gcp:project": "llm-prod-serving"}
    project = make_project(tmp_path, {"s": stack(config)})
    assert main(["validate", "s", "-C", str(project)]) == 0

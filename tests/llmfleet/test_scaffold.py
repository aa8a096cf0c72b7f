"""`llmfleet init`: stack files that validate against the schema and plan clean as written."""

from __future__ import annotations

import json
from ipaddress import ip_network

import pytest
import yaml
from jsonschema import Draft202012Validator

from llmfleet.cli import main
from llmfleet.schema import stack_schema
from tests.llmfleet.test_cli import make_project


@pytest.mark.parametrize(
    "choices",
    [
        ["--aws", "us-east-1:nvidia-l4"],
        ["--aws", "us-east-1:nvidia-l4", "--gcp", "us-central1:nvidia-l4"],
        [
            "--aws", "us-west-2:nvidia-l4",
            "--aws", "us-west-2:nvidia-l4:4",
            "--aws", "eu-central-1:nvidia-l4",
            "--gcp", "europe-west4:nvidia-a100-80gb:2",
            "--gcp", "us-central1:tpu-v5e:4",
        ],
    ],
)  # fmt: skip
def test_init_writes_a_stack_that_plans_clean(tmp_path, capsys, choices):
    project = make_project(tmp_path, {})
    args = ["init", "new", "-C", str(project), *choices, "--budget", "200000"]
    assert main([*args, "--gcp-project", "my-llm-project"]) == 0
    path = project / "stacks" / "Pulumi.new.yaml"
    assert f"wrote {path}" in capsys.readouterr().out
    document = yaml.safe_load(path.read_text())
    assert list(Draft202012Validator(stack_schema()).iter_errors(document)) == []
    fleet = document["config"]["llmfleet:fleet"]
    if any(r["cloud"] == "gcp" for r in fleet["regions"]):
        assert document["config"]["gcp:project"] == fleet["gcp_project"] == "my-llm-project"
    out_json = tmp_path / "plan.json"
    assert main(["plan", "new", "-C", str(project), "--json", str(out_json)]) == 0
    assert json.loads(out_json.read_text())["policy"]["violations"] == []


def test_ranges_do_not_overlap(tmp_path):
    project = make_project(tmp_path, {})
    choices = ["--aws", "us-east-1:nvidia-l4", "--aws", "us-west-2:nvidia-l4"]
    choices += ["--gcp", "us-central1:nvidia-l4", "--gcp", "europe-west4:nvidia-l4"]
    main(["init", "x", "-C", str(project), *choices, "--gcp-project", "p-12345", "--budget", "9e4"])
    regions = yaml.safe_load((project / "stacks" / "Pulumi.x.yaml").read_text())["config"][
        "llmfleet:fleet"
    ]["regions"]
    ranges = [
        ip_network(r[key])
        for r in regions
        for key in ("cidr", "pods_cidr", "services_cidr")
        if key in r
    ]
    assert len(ranges) == 8
    for i, a in enumerate(ranges):
        for b in ranges[i + 1 :]:
            assert not a.overlaps(b), (a, b)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--aws", "us-east-1"], "--aws us-east-1: expected REGION:ACCELERATOR[:COUNT]"),
        (["--gcp", "us-central1:nvidia-l4"], "--gcp-project is required with --gcp"),
        ([], "give at least one --aws or --gcp REGION:ACCELERATOR"),
        (["--aws", "us-east-1:nvidia-b300"], "unknown accelerator 'nvidia-b300'"),
        (
            ["--aws", "us-east-1:nvidia-l4", "--environment", "prod"],
            "--notify EMAIL is required with --environment prod (where alerts go)",
        ),
    ],
)
def test_bad_choices_exit_2_and_write_nothing(tmp_path, capsys, args, message):
    project = make_project(tmp_path, {})
    assert main(["init", "new", "-C", str(project), *args, "--budget", "1000"]) == 2
    assert message in capsys.readouterr().err
    assert not (project / "stacks" / "Pulumi.new.yaml").exists()


def test_an_existing_stack_is_kept_unless_forced(tmp_path, capsys):
    project = make_project(tmp_path, {"dev": "config: {}\n"})
    args = ["init", "dev", "-C", str(project), "--aws", "us-east-1:nvidia-l4", "--budget", "5000"]
    assert main(args) == 2
    assert "Pulumi.dev.yaml exists; pick another stack name or pass --force" in (
        capsys.readouterr().err
    )
    assert main([*args, "--force"]) == 0
    assert "llmfleet:fleet" in (project / "stacks" / "Pulumi.dev.yaml").read_text()


def test_a_prod_stack_names_its_alert_channel(tmp_path):
    project = make_project(tmp_path, {})
    args = ["init", "p", "-C", str(project), "--aws", "us-east-1:nvidia-l4", "--budget", "9e4"]
    assert main([*args, "--environment", "prod", "--notify", "oncall@example.com"]) == 0
    fleet = yaml.safe_load((project / "stacks" / "Pulumi.p.yaml").read_text())["config"][
        "llmfleet:fleet"
    ]
    assert fleet["observability"] == {"notify": {"email": "oncall@example.com"}}

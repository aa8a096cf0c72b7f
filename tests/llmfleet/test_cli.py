"""`llmfleet plan`: exit codes, messages and the plan JSON contract of docs/DESIGN.md."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import yaml

from llmfleet.cli import main
from llmfleet.stackfile import find_project, load_stack
from tests.conftest import DEV_FLEET, PLAN_RESOURCE_KEYS, REPO

EXAMPLE_STACKS = ["dev", "prod-aws", "prod-gcp", "hybrid"]


def make_project(tmp_path: Path, stacks: dict[str, str], program: str | None = None) -> Path:
    """A throwaway Pulumi project: the real program unless ``program`` replaces it."""
    (tmp_path / "Pulumi.yaml").write_text(
        "name: llmfleet\nruntime: python\nmain: stacks/\nstackConfigDir: stacks\n"
    )
    folder = tmp_path / "stacks"
    folder.mkdir()
    source = program or (REPO / "stacks" / "__main__.py").read_text()
    (folder / "__main__.py").write_text(textwrap.dedent(source))
    for name, text in stacks.items():
        (folder / f"Pulumi.{name}.yaml").write_text(text)
    return tmp_path


def stack_text(fleet: dict) -> str:
    """A stack file for ``fleet`` with the provider config it needs (aws:region, gcp:project)."""
    config = {}
    regions = fleet.get("regions") if isinstance(fleet.get("regions"), list) else []
    clouds = {r.get("cloud"): r.get("region") for r in reversed(regions) if isinstance(r, dict)}
    if "aws" in clouds:
        config["aws:region"] = clouds["aws"]
    if "gcp" in clouds and "gcp_project" in fleet:
        config["gcp:project"] = fleet["gcp_project"]
    return yaml.safe_dump({"config": {**config, "llmfleet:fleet": fleet}})


def plan(project: Path, stack: str, *args: str) -> int:
    """`llmfleet plan`; when it refuses the stack file (exit 2), `validate` must refuse it alike."""
    runs = {}
    for command in (["validate", stack], ["plan", stack, *args]):
        with redirect_stdout(io.StringIO()) as out, redirect_stderr(io.StringIO()) as err:
            code = main([*command, "--project", str(project)])
        runs[command[0]] = (code, out.getvalue(), err.getvalue())
    code, out, err = runs["plan"]
    if code == 2 and not err.startswith("error: --"):
        assert runs["validate"] == (2, "", err)
    sys.stdout.write(out)
    sys.stderr.write(err)
    return code


class TestUsageAndConfigErrors:
    def test_unknown_stack_lists_the_available_ones(self, capsys):
        assert plan(REPO, "staging") == 2
        err = capsys.readouterr().err
        assert "unknown stack 'staging'" in err
        assert "available stacks: dev, hybrid, prod-aws, prod-gcp" in err

    def test_unreadable_yaml_names_file_and_line(self, tmp_path, capsys):
        project = make_project(tmp_path, {"bad": "config:\n  llmfleet:fleet: [\n"})
        assert plan(project, "bad") == 2
        err = capsys.readouterr().err
        assert "Pulumi.bad.yaml: invalid YAML at line 3" in err

    def test_stack_without_fleet_key(self, tmp_path, capsys):
        project = make_project(tmp_path, {"empty": "config:\n  aws:region: us-east-1\n"})
        assert plan(project, "empty") == 2
        assert "config has no 'llmfleet:fleet' key" in capsys.readouterr().err

    def test_invalid_config_prints_every_path_and_builds_nothing(self, tmp_path, capsys):
        fleet = {**DEV_FLEET, "environment": "qa"}
        fleet["regions"] = [{**DEV_FLEET["regions"][0], "cidr": "8.8.0.0/16"}]
        project = make_project(tmp_path, {"bad": stack_text(fleet)})
        out_json = tmp_path / "plan.json"
        assert plan(project, "bad", "--json", str(out_json)) == 2
        captured = capsys.readouterr()
        assert "invalid configuration in stack 'bad'" in captured.err
        assert "fleet.environment: Input should be 'dev', 'staging' or 'prod'" in captured.err
        assert "fleet.regions[0].cidr: 8.8.0.0/16 is not private address space" in captured.err
        assert not out_json.exists()
        assert captured.out == ""

    @pytest.mark.parametrize(
        ("change", "path", "message"),
        [
            (
                {"gpu_pools": [{"name": "g", "accelerator": "nvidia-b200"}]},
                "fleet.regions[0].cluster.gpu_pools[0].accelerator",
                "unknown accelerator 'nvidia-b200'",
            ),
            (
                {"gpu_pools": [{"name": "g", "accelerator": "nvidia-a100-80gb", "count": 8}]},
                "fleet.regions[0].cluster.gpu_pools[0].accelerator",
                "is not offered in aws us-east-2",
            ),
            (
                {"gpu_pools": [{"name": "g", "accelerator": "tpu-v5e", "count": 4}]},
                "fleet.regions[0].cluster.gpu_pools[0].accelerator",
                "TPUs are only offered on gcp, not aws",
            ),
            (
                {"gpu_pools": [{"name": "g", "accelerator": "nvidia-l4", "min_nodes": 3}]},
                "fleet.regions[0].cluster.gpu_pools[0].min_nodes",
                "3 is above max_nodes 1",
            ),
            (
                {"gpu_pools": [{"name": "g", "accelerator": "nvidia-l4", "max_nodes": 9}]},
                "fleet.regions[0].cluster.gpu_pools[0].max_nodes",
                "above budget.max_accelerators 8",
            ),
            (
                {
                    "gpu_pools": [
                        {
                            "name": "g",
                            "accelerator": "nvidia-l4",
                            "capacity": "capacity-block",
                            "reservation": "cr-0123456789abcdef0",
                        }
                    ]
                },
                "fleet.regions[0].cluster.gpu_pools[0].capacity",
                "g6.xlarge is not sold as capacity-block capacity; it is offered as: on-demand, "
                "spot, reservation",
            ),
        ],
    )
    def test_bad_pools_exit_2_with_their_path(self, tmp_path, capsys, change, path, message):
        fleet = {**DEV_FLEET, "regions": [{**DEV_FLEET["regions"][0], "region": "us-east-2"}]}
        fleet["regions"][0]["cluster"] = change
        project = make_project(tmp_path, {"bad": stack_text(fleet)})
        assert plan(project, "bad") == 2
        err = capsys.readouterr().err
        assert f"{path}: " in err
        assert message in err

    @pytest.mark.parametrize(
        ("pool", "zones", "path", "message"),
        [
            (
                {"name": "h200", "accelerator": "nvidia-h200", "count": 8},
                3,
                "fleet.regions[0].cluster.gpu_pools[0].capacity",
                "a3-ultragpu-8g is not sold as on-demand capacity; it is offered as: spot, "
                "flex-start, reservation",
            ),
            (
                {"name": "v6e", "accelerator": "tpu-v6e", "count": 4},
                1,
                "fleet.regions[0].cluster.gpu_pools[0].accelerator",
                "ct6e-standard-4t is offered in us-central1 only in us-central1-b, none of the "
                "cluster's zones (us-central1-a); set zones to 2 or more to span one",
            ),
        ],
    )
    def test_bad_gcp_capacity_exits_2_naming_the_alternatives(
        self, tmp_path, capsys, pool, zones, path, message
    ):
        region = {
            "cloud": "gcp",
            "region": "us-central1",
            "zones": zones,
            "cidr": "10.30.0.0/20",
            "pods_cidr": "10.128.0.0/14",
            "services_cidr": "10.30.16.0/20",
            "cluster": {"gpu_pools": [pool]},
        }
        fleet = {**DEV_FLEET, "gcp_project": "llm-dev-project", "regions": [region]}
        project = make_project(tmp_path, {"bad": stack_text(fleet)})
        assert plan(project, "bad") == 2
        err = capsys.readouterr().err
        assert f"{path}: {message}" in " ".join(err.split())

    @pytest.mark.parametrize(
        ("storage", "path", "message"),
        [
            ({"primary_region": "eu-west-1"}, "fleet.storage.primary_region", "not a fleet"),
            ({"replicas": ["us-west-2"]}, "fleet.storage.replicas[0]", "has no cluster"),
        ],
    )
    def test_bad_storage_exits_2(self, tmp_path, capsys, storage, path, message):
        project = make_project(tmp_path, {"bad": stack_text({**DEV_FLEET, "storage": storage})})
        assert plan(project, "bad") == 2
        err = capsys.readouterr().err
        assert f"{path}: '" in err
        assert message in err

    def test_changing_a_published_model_exits_2(self, tmp_path, capsys):
        fleet = {**DEV_FLEET, "models": [{"name": "m", "version": "v1", "source": "hf://new"}]}
        project = make_project(tmp_path, {"dev": stack_text(fleet)})
        (project / "stacks" / "models.lock.yaml").write_text("m: {v1: 'hf://old'}\n")
        assert plan(project, "dev") == 2
        assert "fleet.models[0].source: m v1 was published from hf://old" in capsys.readouterr().err

    def test_missing_stack_lists_the_stacks(self, capsys):
        assert main(["plan", "-C", str(REPO)]) == 2
        err = capsys.readouterr().err
        assert "no stack given (llmfleet plan -s STACK); stacks: dev, hybrid, prod-aws" in err

    def test_unknown_option_is_a_usage_error(self):
        with pytest.raises(SystemExit) as exited:
            main(["plan", "dev", "--frobnicate"])
        assert exited.value.code == 2

    def test_no_traceback_from_the_installed_command(self):
        done = subprocess.run(
            [sys.executable, "-m", "llmfleet.cli", "plan", "nope", "--project", str(REPO)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 2
        assert "Traceback" not in done.stderr
        assert "unknown stack 'nope'" in done.stderr


class TestPolicyExitCode:
    def test_a_mandatory_violation_exits_1_and_is_in_the_json(self, tmp_path, capsys):
        program = """
            import pulumi_aws as aws
            aws.ec2.Vpc("hand-made", cidr_block="10.9.0.0/16", region="us-east-1", tags={})
        """
        project = make_project(tmp_path, {"dev": stack_text(DEV_FLEET)}, program=program)
        out_json = tmp_path / "plan.json"
        assert plan(project, "dev", "--json", str(out_json)) == 1
        violations = json.loads(out_json.read_text())["policy"]["violations"]
        assert [(v["policy"], v["level"]) for v in violations] == [
            ("required-ownership-tags", "mandatory")
        ]
        assert "required-ownership-tags" in capsys.readouterr().out


@pytest.fixture(scope="module")
def example_plans(tmp_path_factory) -> dict[str, tuple[int, dict]]:
    """Each example stack planned once, with its exit code and JSON."""
    plans = {}
    for stack in EXAMPLE_STACKS:
        out_json = tmp_path_factory.mktemp(stack) / "plan.json"
        with redirect_stdout(io.StringIO()) as out:
            code = main(
                ["plan", stack, "--project", str(REPO), "--json", str(out_json), "--no-tree"]
            )
        plans[stack] = (code, json.loads(out_json.read_text()), out.getvalue())
    return plans


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
class TestExampleStacks:
    def test_shows_every_pool_with_its_resolved_type(self, example_plans, stack):
        out = example_plans[stack][2]
        rows = {tuple(cell.strip() for cell in line.split("│")) for line in out.splitlines()}
        fleet = load_stack(find_project(REPO), stack).fleet
        for region in fleet.regions:
            for pool in region.cluster.gpu_pools:
                chosen = region.instance_type_for(pool)
                assert (
                    f"{region.cloud} {region.region}",
                    pool.name,
                    f"{chosen.accelerator_count} x {chosen.accelerator}",
                    chosen.name,
                    f"{pool.min_nodes}-{pool.max_nodes}",
                ) in {row[:5] for row in rows}

    def test_cloud_inputs_use_only_fields_the_provider_knows(self, example_plans, stack):
        _, body, _ = example_plans[stack]
        unknown = [
            key
            for r in body["resources"]
            if r["type"].startswith(("aws:", "gcp:"))
            for key in _untranslated_keys(r["inputs"], r["type"])
        ]
        assert unknown == []

    def test_plans_clean(self, example_plans, stack):
        code, body, _ = example_plans[stack]
        assert body["policy"]["violations"] == []
        assert code == 0

    def test_json_has_the_design_shape(self, example_plans, stack):
        _, body, _ = example_plans[stack]
        assert set(body) == {"stack", "resources", "policy", "cost"}
        assert body["stack"] == stack
        design = {"monthly_usd", "budget_usd", "by_region", "lines", "unpriced"}
        assert design <= set(body["cost"])
        assert set(body["cost"]["monthly_usd"]) == {"min", "max"}
        for resource in body["resources"]:
            assert set(resource) == PLAN_RESOURCE_KEYS

    def test_every_resource_has_a_cloud_and_region(self, example_plans, stack):
        _, body, _ = example_plans[stack]
        resources = [r for r in body["resources"] if r["type"] != "llmfleet:fleet:Fleet"]
        assert resources
        for resource in resources:
            assert resource["cloud"] in ("aws", "gcp"), resource["urn"]
            assert resource["region"], resource["urn"]

    def test_every_resource_of_a_region_carries_that_region(self, example_plans, stack):
        _, body, _ = example_plans[stack]
        by_urn = {r["urn"]: r for r in body["resources"]}
        stacks = [r for r in body["resources"] if r["type"] == "llmfleet:fleet:RegionStack"]
        assert stacks
        for region_stack in stacks:
            below = [r for r in body["resources"] if _under(r, region_stack["urn"], by_urn)]
            assert below
            assert {r["region"] for r in below} == {region_stack["region"]}

    def test_only_storage_replication_the_global_endpoint_and_grafana_cross_regions(
        self, example_plans, stack
    ):
        _, body, _ = example_plans[stack]
        by_urn = {r["urn"]: r for r in body["resources"]}
        # Replication copies between regions; the global name points at every region, and the
        # zone holds the validation records of every region's certificate; the fleet's Grafana
        # reads every region's metrics (one place to look).
        crossing = (":ModelStorage", ":GlobalEndpoint", ":DnsZone", ":ManagedGrafana")
        storage = [r["urn"] for r in body["resources"] if r["type"].endswith(crossing)]
        for resource in body["resources"]:
            if any(_under(resource, urn, by_urn) for urn in storage):
                continue
            for urn in resource["dependencies"]:
                other = by_urn[urn]["region"]
                assert other in (resource["region"], "global"), (resource["urn"], urn)

    def test_serving_identities_read_their_own_region_copy(self, example_plans, stack):
        _, body, _ = example_plans[stack]
        by_urn = {r["urn"]: r for r in body["resources"]}
        readers = [
            r
            for r in body["resources"]
            if r["type"]
            in ("aws:iam/rolePolicy:RolePolicy", "gcp:storage/bucketIAMMember:BucketIAMMember")
            and r["name"].endswith(("-models", "-reader"))
        ]
        assert readers
        for reader in readers:
            for urn in reader["dependencies"]:
                assert by_urn[urn]["region"] in (reader["region"], "global")


FREE_FORM_INPUTS = {"tags", "labels", "resourceLabels", "userLabels"}
"""Cloud inputs that are maps of the user's own keys, not provider fields."""


def _untranslated_keys(value, path: str) -> list[str]:
    """Nested input keys still in snake_case: the SDK camelCases every field it knows, so these
    are fields the provider does not have (a typo fails at `pulumi up`, not under mocks)."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if "_" in key:
                found.append(f"{path}.{key}")
            if key not in FREE_FORM_INPUTS:
                found.extend(_untranslated_keys(item, f"{path}.{key}"))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(_untranslated_keys(item, f"{path}[{i}]"))
    return found


def _under(resource: dict, ancestor: str, by_urn: dict) -> bool:
    parent = resource["parent"]
    while parent:
        if parent == ancestor:
            return True
        parent = by_urn[parent]["parent"]
    return False


def test_same_stack_gives_the_same_bytes(tmp_path):
    # Separate processes with different hash seeds: set order and Output resolution order vary.
    outputs = []
    for seed in ("1", "2"):
        out_json = tmp_path / f"plan-{seed}.json"
        command = ["plan", "hybrid", "--project", str(REPO), "--json", str(out_json)]
        done = subprocess.run(
            [sys.executable, "-m", "llmfleet.cli", *command],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        outputs.append((out_json.read_bytes(), done.stdout.replace(str(out_json), "FILE")))
    assert outputs[0] == outputs[1]


class TestSummaryFirst:
    def test_default_is_a_short_summary(self, capsys):
        assert main(["plan", "prod-aws", "-C", str(REPO)]) == 0
        out = capsys.readouterr().out
        assert out.startswith("stack prod-aws: ")
        assert "resources by cloud and region" in out
        assert "node pools" in out
        assert "policy: no violations" in out
        assert "cost: " in out
        assert "resources by type" not in out
        assert "└──" not in out
        assert len(out.splitlines()) < 40

    def test_tree_and_types_on_request(self, capsys):
        assert main(["plan", "dev", "-C", str(REPO), "--tree", "--types"]) == 0
        out = capsys.readouterr().out
        assert out.startswith("stack dev — ")
        assert "└──" in out
        assert "resources by type" in out
        assert "aws:ec2/vpc:Vpc" in out


class TestPulumiConventions:
    def test_stack_flag_cwd_and_qualified_names_agree(self, capsys):
        outputs = []
        for args in (
            ["plan", "dev", "--project", str(REPO)],
            ["plan", "-s", "dev", "-C", str(REPO)],
            ["plan", "--stack", "acme/llmfleet/dev", "--cwd", str(REPO / "stacks")],
            ["-C", str(REPO), "plan", "llmfleet/dev"],
        ):
            assert main(args) == 0
            outputs.append(capsys.readouterr().out)
        assert outputs.count(outputs[0]) == 4

    def test_a_qualified_name_of_another_project_is_refused(self, capsys):
        assert main(["plan", "-s", "acme/other/dev", "-C", str(REPO)]) == 2
        assert "names project 'other', but" in capsys.readouterr().err

    def test_two_different_stacks_are_refused(self, capsys):
        assert main(["validate", "dev", "-s", "hybrid", "-C", str(REPO)]) == 2
        assert "two stacks given: 'dev' and -s 'hybrid'" in capsys.readouterr().err

    def test_version(self, capsys):
        with pytest.raises(SystemExit) as exited:
            main(["--version"])
        assert exited.value.code == 0
        assert capsys.readouterr().out.startswith("llmfleet 0.")

    @pytest.mark.parametrize(("color", "escapes"), [("always", True), ("never", False)])
    def test_color(self, capsys, color, escapes):
        assert main(["validate", "dev", "-C", str(REPO), "--color", color]) == 0
        assert ("\x1b[" in capsys.readouterr().out) is escapes

    def test_stacks_lists_the_stack_files(self, capsys):
        assert main(["stacks", "-C", str(REPO)]) == 0
        assert capsys.readouterr().out.split() == EXAMPLE_STACKS_SORTED


EXAMPLE_STACKS_SORTED = sorted(EXAMPLE_STACKS)


class TestJsonToStdout:
    def test_json_on_stdout_and_the_report_on_stderr(self, capsys):
        assert main(["plan", "dev", "-C", str(REPO), "--json", "-"]) == 0
        captured = capsys.readouterr()
        body = json.loads(captured.out)
        assert body["stack"] == "dev"
        assert "node pools" in captured.err
        assert "plan written" not in captured.err


def test_markdown_report_for_pull_requests(capsys):
    assert main(["plan", "dev", "-C", str(REPO), "--format", "markdown", "--tree"]) == 0
    out = capsys.readouterr().out
    assert "**node pools**" in out
    assert "| cloud / region | pool | accelerators | type | nodes | capacity |" in out
    assert "| aws us-east-1 | l4-spot | 1 x nvidia-l4 | g6.xlarge | 0-4 |" in out
    assert "policy: no violations" in out
    assert "```\nstack dev — " in out
    assert "\x1b[" not in out and "[green]" not in out

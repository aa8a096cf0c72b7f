"""`llmfleet plan` refuses every invalid serving and routing input with exit 2, before it
builds anything, and names the field and the fix."""

from __future__ import annotations

import copy

import pytest

from llmfleet.cli import main
from llmfleet.stackfile import find_project, load_stack
from tests.conftest import DEV_FLEET, REPO
from tests.llmfleet.test_cli import make_project, plan, stack_text

MODELS = [
    {"name": "llama-8b", "version": "v1", "source": "hf://meta/8b", "parameters_b": 8},
    {"name": "llama-8b", "version": "v2", "source": "hf://meta/8b-2", "parameters_b": 8},
    {"name": "llama-70b", "version": "v1", "source": "hf://meta/70b", "parameters_b": 70},
]


def fleet(**serving) -> dict:
    config = copy.deepcopy(DEV_FLEET)
    config["regions"][0]["cluster"] = {
        "gpu_pools": [{"name": "l4", "accelerator": "nvidia-l4", "count": 1, "max_nodes": 4}]
    }
    config["models"] = MODELS
    config["serving"] = [
        {"name": "chat", "model": "llama-8b", "version": "v1", "pool": "l4", **serving}
    ]
    return config


def prod(**serving) -> dict:
    return {
        **fleet(**serving),
        "environment": "prod",
        "observability": {"notify": {"email": "oncall-ml@example.com"}},
    }


def with_second_region(config: dict) -> dict:
    config["regions"].append({"cloud": "aws", "region": "us-west-2", "cidr": "10.11.0.0/16"})
    return config


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            fleet(model="llama-70b"),
            "fleet.serving[0].pool: llama-70b v1 needs ",
        ),
        (
            fleet(tensor_parallel_size=4),
            "fleet.serving[0].tensor_parallel_size: 4 does not divide the 1 accelerators per "
            "node of pool 'l4' in us-east-1; use one of 1",
        ),
        (
            fleet(canary={"version": "v2", "weight": 100}),
            "fleet.serving[0].canary.weight: 100 is outside 1 to 99",
        ),
        (
            fleet(canary={"version": "v9", "weight": 10}),
            "fleet.serving[0].canary.version: llama-8b v9 is not in fleet.models; add it there "
            "first",
        ),
        (
            prod(min_replicas=0),
            "fleet.serving[0].min_replicas: 0 scales a prod deployment to zero and its first "
            "request waits minutes for a cold start; set scale_to_zero: true",
        ),
        (
            with_second_region(fleet(regions=["us-east-1", "us-west-2"])),
            "fleet.serving[0].regions[1]: us-west-2 has no gpu pool 'l4' (its pools: none); "
            "drop the region or add the pool there",
        ),
        (
            {**fleet(), "routing": {"domain": "llm.example.com"}},
            "fleet.routing.zone: required with domain llm.example.com: name the existing Route "
            "53 hosted zone ID or Cloud DNS managed zone that holds it",
        ),
    ],
    ids=[
        "model-does-not-fit",
        "tensor-parallel-above-node",
        "canary-weight",
        "canary-version",
        "prod-scale-to-zero",
        "pool-not-in-region",
        "domain-without-zone",
    ],
)
def test_invalid_serving_exits_2_naming_field_and_fix(tmp_path, capsys, config, expected):
    project = make_project(tmp_path, {"bad": stack_text(config)})
    out_json = tmp_path / "plan.json"
    assert plan(project, "bad", "--json", str(out_json)) == 2
    captured = capsys.readouterr()
    assert expected in captured.err
    assert "Traceback" not in captured.err
    assert not out_json.exists()


def test_model_that_does_not_fit_names_the_smallest_fit(tmp_path, capsys):
    project = make_project(tmp_path, {"bad": stack_text(fleet(model="llama-70b"))})
    assert plan(project, "bad") == 2
    assert "the smallest fit in aws us-east-1 is nvidia-l40s x4 (g6e.12xlarge)" in (
        capsys.readouterr().err
    )


def example(stack: str):
    project = find_project(REPO)
    return load_stack(project, stack).fleet


def test_example_stacks_serve_real_models_sized_to_their_gpus():
    dev = example("dev")
    (chat,) = dev.serving
    assert (chat.model, chat.min_replicas) == ("llama-3-8b-instruct", 0)
    assert dev.serving_pool(chat, dev.regions[0]).accelerator == "nvidia-l4"
    prod_aws = example("prod-aws")
    large = next(s for s in prod_aws.serving if s.model == "llama-3-70b-instruct")
    pool = prod_aws.serving_pool(large, prod_aws.regions[0])
    assert (pool.accelerator, pool.count) == ("nvidia-h100-80gb", 8)
    assert any(s.nodes_per_replica == 2 for s in prod_aws.serving)
    assert any(s.canary is not None for s in example("prod-gcp").serving)
    for stack in ("dev", "prod-aws", "prod-gcp", "hybrid"):
        fleet = example(stack)
        for entry in fleet.serving:
            for region in fleet.serving_regions(entry):
                assert fleet.serving_fit(entry, region).fits


def test_plan_prints_the_serving_table(capsys):
    assert main(["plan", "prod-gcp", "--project", str(REPO)]) == 0
    out = capsys.readouterr().out
    assert "serving" in out
    assert "v2 10%" in out
    assert "GiB" in out

"""The component package: the schema the SDK infers offline, and the components it hosts."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.provider.experimental.analyzer import Analyzer
from pulumi.provider.experimental.schema import generate_schema

from llmfleet.components import package
from tests.conftest import DEV_FLEET, PROD_FLEET

TOKENS = {f"llmfleet:index:{c}" for c in ("Fleet", "Network", "Cluster", "ModelStorage")}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    """The package schema, inferred as `pulumi package add` infers it (no CLI, no network)."""
    result = Analyzer(package.PACKAGE).analyze(package.COMPONENTS)
    return generate_schema(
        package.PACKAGE,
        "0.1.0",
        None,
        result["component_definitions"],
        result["type_definitions"],
        sorted(result["dependencies"], key=lambda d: d.name),
    ).to_json()


def test_type_tokens(schema):
    assert set(schema["resources"]) == TOKENS
    assert set(schema["types"]) == {"llmfleet:index:FleetConfig", "llmfleet:index:Budget"}
    for resource in schema["resources"].values():
        assert resource["isComponent"] is True
        assert resource["description"]


def test_inputs_required_flags_and_descriptions(schema):
    expected = {
        "Fleet": ({"fleet"}, set()),
        "Network": ({"fleet", "region"}, set()),
        "Cluster": (
            {"fleet", "region", "networkId", "subnetIds"},
            {"podsRangeName", "servicesRangeName"},
        ),
        "ModelStorage": ({"fleet"}, set()),
    }
    for name, (required, optional) in expected.items():
        resource = schema["resources"][f"llmfleet:index:{name}"]
        inputs = resource["inputProperties"]
        assert set(inputs) == required | optional, name
        assert set(resource["requiredInputs"]) == required, name
        for key, prop in inputs.items():
            assert prop.get("description"), f"{name}.{key} has no description"
        assert inputs["fleet"]["$ref"] == "#/types/llmfleet:index:FleetConfig"


def test_ids_wired_from_other_resources_are_inputs_and_shape_is_plain(schema):
    cluster = schema["resources"]["llmfleet:index:Cluster"]["inputProperties"]
    assert "plain" not in cluster["networkId"]
    assert "plain" not in cluster["subnetIds"]
    assert cluster["region"]["plain"] is True  # a resource's name must be known to register it


def test_fleet_config_is_the_stack_file_shape(schema):
    config = schema["types"]["llmfleet:index:FleetConfig"]
    keys = {"name", "environment", "owner", "costCenter", "budget", "regions"}
    assert set(config["required"]) == keys
    assert set(config["properties"]) == keys | {
        "gcpProject",
        "tags",
        "storage",
        "models",
        "serving",
        "routing",
    }
    for key, prop in config["properties"].items():
        assert prop.get("description"), f"FleetConfig.{key} has no description"
    budget = schema["types"]["llmfleet:index:Budget"]
    assert budget["properties"]["monthlyUsd"]["type"] == "number"
    assert budget["properties"]["maxAccelerators"]["type"] == "integer"


def test_outputs(schema):
    outputs = {
        name: set(schema["resources"][f"llmfleet:index:{name}"]["properties"])
        for name in ("Fleet", "Network", "Cluster", "ModelStorage")
    }
    assert outputs == {
        "Fleet": {"endpoints", "kubeconfigs", "modelUris"},
        "Network": {"networkId", "subnetIds", "podsRangeName", "servicesRangeName"},
        "Cluster": {"endpoint", "kubeconfig"},
        "ModelStorage": {"primaryBucket", "writer"},
    }
    for resource in schema["resources"].values():
        for key, prop in resource["properties"].items():
            assert prop.get("description"), key


def test_leaf_components_compose_a_region(run):
    fleet = copy.deepcopy(DEV_FLEET)

    def program() -> None:
        network = package.Network("net", {"fleet": fleet, "region": "us-east-1"})
        package.Cluster(
            "eks",
            {
                "fleet": fleet,
                "region": "us-east-1",
                "network_id": network.network_id,
                "subnet_ids": network.subnet_ids,
            },
        )
        package.ModelStorage("models", {"fleet": fleet})

    recording = run(program)
    cluster = recording.one("aws:eks/cluster:Cluster")
    # The package component wraps the library's, so every rule and price still applies.
    assert "llmfleet:index:Cluster$llmfleet:aws:Cluster$aws:eks/cluster:Cluster" in cluster.urn
    subnets = recording.of_type("aws:ec2/subnet:Subnet")
    private = {s.outputs["id"] for s in subnets if "private" in s.name}
    assert set(cluster.inputs["vpcConfig"]["subnetIds"]) == private
    assert recording.one("llmfleet:index:ModelStorage")
    assert recording.of_type("aws:s3/bucket:Bucket")


def test_gcp_cluster_needs_its_ranges_and_unknown_regions_are_named(run):
    fleet = copy.deepcopy(PROD_FLEET)

    def program() -> None:
        with pytest.raises(ValueError, match="needs pods_range_name, services_range_name"):
            package.Cluster(
                "gke",
                {"fleet": fleet, "region": "us-central1", "network_id": "n", "subnet_ids": ["s"]},
            )
        with pytest.raises(ValueError, match=r"region 'mars-1' is not in fleet\.regions"):
            package.Network("net", {"fleet": fleet, "region": "mars-1"})

    run(program)


# --- the README's programs match the schema ------------------------------------------------

README = Path(__file__).resolve().parents[2] / "README.md"


def _block(language: str) -> str:
    """The README's one code block in ``language`` after the consumption section."""
    text = README.read_text().split("## How to consume llmfleet", 1)[1]
    (block,) = re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)
    return block


def _top_level_keys(body: str) -> set[str]:
    """Keys of a TypeScript object literal body, outer level only (``a: 1, b`` -> a, b)."""
    depth, keys, token = 0, set(), ""
    for char in re.sub(r'"[^"]*"', '""', body) + ",":
        if char in "{[(":
            depth += 1
        elif char in "}])":
            depth -= 1
        if depth == 0 and char in ",:":
            name = token.strip().split()[-1] if token.strip() else ""
            if char == ":" or re.fullmatch(r"\w+", name):
                keys.add(name)
            token = "" if char == "," else token
        if char == ",":
            token = ""
        elif depth == 0 and char != ":":
            token += char
        elif char == ":":
            token = "\0"  # skip the value
    return {k for k in keys if k and "\0" not in k}


def test_the_typescript_example_matches_the_schema(schema):
    code = _block("typescript")
    variables = {}
    for var, component, body in re.findall(
        r"const (\w+) = new llmfleet\.(\w+)\(\"[^\"]+\", \{(.*?)\}\);", code, flags=re.S
    ):
        resource = schema["resources"][f"llmfleet:index:{component}"]
        keys = _top_level_keys(body)
        assert keys <= set(resource["inputProperties"]), (component, keys)
        assert set(resource["requiredInputs"]) <= keys, (component, keys)
        variables[var] = resource
    assert {r["description"] for r in variables.values()} and len(variables) == 4
    for var, output in re.findall(r"\b(all|net|eks|models)\.(\w+)", code):
        assert output in variables[var]["properties"], f"{var}.{output}"
    fleet = re.search(r"const fleet = \{(.*?)\n\};", code, flags=re.S).group(1)
    config = schema["types"]["llmfleet:index:FleetConfig"]
    assert set(config["required"]) <= _top_level_keys(fleet) <= set(config["properties"])


def test_the_yaml_example_matches_the_schema(schema):
    program = yaml.safe_load(_block("yaml"))
    config = schema["types"]["llmfleet:index:FleetConfig"]
    fleet = program["variables"]["fleet"]
    assert set(config["required"]) <= set(fleet) <= set(config["properties"])
    assert set(fleet["budget"]) == set(schema["types"]["llmfleet:index:Budget"]["properties"])
    for name, resource in program["resources"].items():
        component = schema["resources"][resource["type"]]
        properties = set(resource["properties"])
        assert properties <= set(component["inputProperties"]), name
        assert set(component["requiredInputs"]) <= properties, name
    outputs = re.findall(r"\$\{(\w+)\.(\w+)\}", _block("yaml"))
    for var, output in outputs:
        component = schema["resources"][program["resources"][var]["type"]]
        assert output in component["properties"], f"{var}.{output}"

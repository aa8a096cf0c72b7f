"""`llmfleet plan --diagram`: a Mermaid flowchart of the fleet, one test per element kind."""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from llmfleet.cli import main
from llmfleet.diagram import fleet_diagram, label, node_id
from llmfleet.plan import make_plan
from llmfleet.recorder import RecordedResource, Recording
from llmfleet.stackfile import find_project, load_stack
from tests.conftest import REPO
from tests.llmfleet.test_cli import make_project, stack_text

ID = r"[A-Za-z0-9_]+"
NODE = re.compile(rf"^\s*({ID})(\[\(|\(\[|\{{\{{|\[|\()\"")
EDGE = re.compile(rf"^\s*({ID}) (-->|---|==>|-\.->)(\|\"[^\"]*\"\|)? ({ID})$")


@pytest.fixture(scope="module")
def diagrams() -> dict[str, str]:
    """Each example stack's diagram, as ``plan --diagram`` writes it."""
    project = find_project(REPO)
    return {s: fleet_diagram(make_plan(project, load_stack(project, s))) for s in EXAMPLES}


EXAMPLES = ["dev", "prod-aws", "prod-gcp", "hybrid"]


def draw(tmp_path: Path, fleet: dict, stack: str = "test") -> str:
    project = make_project(tmp_path, {stack: stack_text(fleet)})
    target = tmp_path / "fleet.mmd"
    assert main(["plan", stack, "--diagram", str(target), "-C", str(project)]) == 0
    return target.read_text()


def hybrid_config() -> dict:
    return yaml.safe_load((REPO / "stacks" / "Pulumi.hybrid.yaml").read_text())["config"][
        "llmfleet:fleet"
    ]


# --- the README and determinism ----------------------------------------------------------


def test_the_readme_shows_the_hybrid_diagram_the_command_writes(tmp_path, capsys, diagrams):
    target = tmp_path / "hybrid.mmd"
    assert main(["plan", "hybrid", "--diagram", str(target), "-C", str(REPO)]) == 0
    assert f"diagram written to {target}" in capsys.readouterr().out
    readme = (REPO / "README.md").read_text()
    shown = re.findall(r"```mermaid\n(.*?)```", readme, flags=re.S)
    assert shown == [target.read_text()]
    # Same input, same bytes: a second, separate plan draws the same picture.
    assert diagrams["hybrid"] == target.read_text()


@pytest.mark.parametrize("stack", EXAMPLES)
def test_the_diagram_is_valid_mermaid(diagrams, stack):
    lines = diagrams[stack].splitlines()
    assert lines[0] == "flowchart LR"
    declared: set[str] = set()
    depth = 0
    for line in lines[1:]:
        text = line.strip()
        if text.startswith("subgraph "):
            match = re.fullmatch(rf"subgraph ({ID})\[\"[^\"]+\"\]", text)
            assert match, line
            declared.add(match.group(1))
            depth += 1
        elif text == "end":
            depth -= 1
            assert depth >= 0
        elif (edge := EDGE.match(line)) is not None:
            assert edge.group(1) in declared, line
            assert edge.group(4) in declared, line
        else:
            node = NODE.match(line)
            assert node, line
            assert node.group(1) not in declared, f"declared twice: {line}"
            declared.add(node.group(1))
            # Quoted label, closed by the bracket that opened it.
            closing = {"[(": '")]', "([": '"])', "{{": '"}}', "[": '"]', "(": '")'}
            assert text.endswith(closing[node.group(2)]), line
            assert '"' not in text[len(node.group(0).strip()) : -len(closing[node.group(2)])]
    assert depth == 0
    assert "end" not in declared


def test_ids_are_sanitised_and_labels_quoted():
    assert node_id("aws", "us-east-1", "pool", "l4.x") == "aws_us_east_1_pool_l4_x"
    assert node_id("endpoint", "llm.example.com") == "endpoint_llm_example_com"
    assert label('say "hi"', "next") == '"say #quot;hi#quot;<br/>next"'


# --- element kinds -----------------------------------------------------------------------


def test_clouds_hold_their_regions_as_subgraphs(diagrams):
    lines = diagrams["hybrid"].splitlines()
    assert lines[1] == '    subgraph aws["AWS"]'
    assert lines[2] == '        subgraph aws_us_east_1["us-east-1"]'
    gcp = lines.index('    subgraph gcp["Google Cloud"]')
    assert lines[gcp + 1] == '        subgraph gcp_us_central1["us-central1"]'


def test_each_region_shows_its_cluster(diagrams):
    assert '    aws_us_east_1_cluster["EKS cluster llm-hybrid-us-east-1"]' in diagrams["hybrid"]
    assert '    gcp_us_central1_cluster["GKE cluster llm-hybrid-us-central1"]' in diagrams["hybrid"]


def test_pools_show_accelerators_type_nodes_capacity_and_zones(diagrams):
    text = diagrams["prod-gcp"]
    assert (
        '    gcp_europe_west4_pool_h100["pool h100: 8 x nvidia-h100-80gb<br/>a3-highgpu-8g, '
        '0-4 nodes, on-demand<br/>zones b, c"]'
    ) in text
    assert "    gcp_europe_west4_cluster --- gcp_europe_west4_pool_h100" in text
    assert '<br/>zones a, b, c (zone IDs az1, az2, az4, az6)"]' in diagrams["hybrid"]


def test_model_buckets_are_drawn_and_access_log_buckets_are_not(diagrams):
    text = diagrams["prod-aws"]
    assert (
        '    aws_bucket_llm_prod_aws_models_bucket_us_east_1[("S3 model bucket, primary")]' in text
    )
    assert '[("S3 model bucket")]' in text
    assert "access_logs" not in text
    assert text.count("S3 model bucket") == 3


def test_s3_replication_shows_replication_time_control(diagrams):
    assert (
        '    aws_bucket_llm_prod_aws_models_bucket_us_east_1 ==>|"S3 replication, RTC 15 min"| '
        "aws_bucket_llm_prod_aws_models_bucket_us_west_2"
    ) in diagrams["prod-aws"]


def test_transfer_jobs_between_gcs_buckets_and_across_clouds(diagrams):
    assert (
        '    gcp_bucket_llm_prod_gcp_models_us_central1 ==>|"Storage Transfer, every 1 h"| '
        "gcp_bucket_llm_prod_gcp_models_europe_west4"
    ) in diagrams["prod-gcp"]
    assert (
        "    aws_bucket_llm_hybrid_aws_models_bucket_us_east_1 ==>|"
        '"Storage Transfer, cross-cloud, every 1 h"| gcp_bucket_llm_hybrid_gcp_models_us_central1'
    ) in diagrams["hybrid"]


def test_a_dual_region_bucket_sits_in_its_cloud_and_feeds_both_regions(tmp_path):
    fleet = copy.deepcopy(hybrid_config())
    fleet["regions"] = [
        fleet["regions"][1],
        {
            **fleet["regions"][1],
            "region": "us-east1",
            "cidr": "10.61.0.0/20",
            "pods_cidr": "10.76.0.0/14",
            "services_cidr": "10.61.16.0/20",
        },
    ]
    text = draw(tmp_path, fleet)
    bucket = "gcp_bucket_llm_hybrid_gcp_models_nam4"
    assert (
        f'        {bucket}[("GCS model bucket, primary<br/>location NAM4<br/>'
        'turbo replication between us-central1 and us-east1")]'
    ) in text.splitlines()
    assert f'    {bucket} -.->|"weights"| gcp_us_central1_serving_chat' in text
    assert f'    {bucket} -.->|"weights"| gcp_us_east1_serving_chat' in text
    assert "==>" not in text


def test_serving_shows_model_version_canary_and_replicas_on_its_pool(diagrams):
    text = diagrams["prod-gcp"]
    assert (
        '            gcp_us_central1_serving_chat("serving chat<br/>llama-3-8b-instruct v1, '
        'canary v2 10%<br/>1-4 replicas")'
    ) in text
    assert "    gcp_us_central1_pool_l4 --> gcp_us_central1_serving_chat" in text
    assert (
        '    gcp_bucket_llm_prod_gcp_models_us_central1 -.->|"weights"| '
        "gcp_us_central1_serving_chat"
    ) in text


def test_no_endpoint_without_a_domain(diagrams):
    assert "endpoint" not in diagrams["prod-gcp"]


@pytest.fixture(scope="module")
def routed(tmp_path_factory):
    """The hybrid stack with a global endpoint, planned."""
    fleet = hybrid_config()
    fleet["routing"] = {"domain": "llm.example.com", "zone": "Z0123456789ABC"}
    project = make_project(tmp_path_factory.mktemp("routed"), {"hybrid": stack_text(fleet)})
    found = find_project(project)
    return make_plan(found, load_stack(found, "hybrid"))


def _without_dns(plan):
    kept = [
        r
        for r in plan.recording.resources
        if not r.type.endswith("HealthCheck")
        and r.type not in ("aws:route53/record:Record", "gcp:dns/recordSet:RecordSet")
    ]
    return dataclasses.replace(plan, recording=Recording(kept, plan.recording.exports))


def _resource(type_: str, logical: str, region: str, **inputs) -> RecordedResource:
    return RecordedResource(
        urn=f"urn:pulumi:hybrid::llmfleet::{type_}::{logical}",
        type=type_,
        name=logical,
        custom=True,
        parent=None,
        provider=None,
        dependencies=[],
        protect=False,
        inputs=inputs,
        cloud=type_.split(":")[0],
        region=region,
    )


def test_without_recorded_health_checks_the_endpoint_routes_to_each_regions_entry(routed):
    text = fleet_diagram(_without_dns(routed))
    assert (
        '    endpoint_llm_example_com{{"llm.example.com<br/>latency routing<br/>'
        'Route 53 zone Z0123456789ABC"}}'
    ) in text
    assert (
        '    endpoint_llm_example_com -->|"us-east-1.llm.example.com"| aws_us_east_1_serving_chat'
    ) in text
    assert (
        '    endpoint_llm_example_com -->|"us-central1.llm.example.com"| '
        "gcp_us_central1_serving_chat"
    ) in text


def test_recorded_health_checks_and_records_sit_between_endpoint_and_regions(routed):
    plan = _without_dns(routed)
    extra = [
        _resource(
            "aws:route53/healthCheck:HealthCheck",
            "hc-east",
            "global",
            fqdn="us-east-1.llm.example.com",
            type="HTTPS",
            resourcePath="/health",
            requestInterval=10,
        ),
        _resource(
            "gcp:compute/healthCheck:HealthCheck", "hc-central", "us-central1", checkIntervalSec=5
        ),
        _resource("aws:route53/record:Record", "rec-a", "global", name="llm.example.com"),
        _resource("aws:route53/record:Record", "rec-b", "global", name="llm.example.com"),
        _resource("aws:route53/record:Record", "other", "global", name="other.example.org"),
    ]
    recording = Recording([*plan.recording.resources, *extra], {})
    text = fleet_diagram(dataclasses.replace(plan, recording=recording))
    assert 'Route 53 zone Z0123456789ABC<br/>2 DNS records"}}' in text
    check = "aws_us_east_1_health_hc_east"
    assert (
        f'    {check}(["HealthCheck us-east-1.llm.example.com<br/>HTTPS, /health, every 10 s"])'
    ) in text
    assert f'    endpoint_llm_example_com -->|"us-east-1.llm.example.com"| {check}' in text
    assert f"    {check} --> aws_us_east_1_serving_chat" in text
    assert "    gcp_us_central1_health_hc_central --> gcp_us_central1_serving_chat" in text
    assert (
        'endpoint_llm_example_com -->|"us-east-1.llm.example.com"| aws_us_east_1_serving'
        not in text
    )


# --- the command line --------------------------------------------------------------------


def test_diagram_to_standard_output_moves_the_report_to_standard_error(capsys, diagrams):
    assert main(["plan", "hybrid", "--diagram", "-", "-C", str(REPO)]) == 0
    captured = capsys.readouterr()
    assert captured.out == diagrams["hybrid"]
    assert "stack hybrid" in captured.err


def test_json_and_diagram_cannot_both_take_standard_output(capsys):
    assert main(["plan", "hybrid", "--json", "-", "--diagram", "-", "-C", str(REPO)]) == 2
    err = capsys.readouterr().err
    assert "--json - and --diagram - both want standard output; give one a FILE" in err
    assert "Traceback" not in err


def test_a_folder_as_diagram_file_is_a_usage_error(tmp_path, capsys):
    assert main(["plan", "hybrid", "--diagram", str(tmp_path), "-C", str(REPO)]) == 2
    err = capsys.readouterr().err
    assert (
        f"--diagram {tmp_path}: is a folder; give a file name such as {tmp_path}/fleet.mmd" in err
    )
    assert "Traceback" not in err


def test_the_fleets_grafana_sits_in_its_region_and_reads_every_serving_cluster(diagrams):
    text = diagrams["hybrid"]
    lines = text.splitlines()
    node = '            grafana_llm_hybrid(["Grafana llm-hybrid<br/>2 dashboards"])'
    assert node in lines
    # Inside the us-east-1 subgraph: after it opens, before the next region opens.
    opened = lines.index('        subgraph aws_us_east_1["us-east-1"]')
    assert opened < lines.index(node) < lines.index('    subgraph gcp["Google Cloud"]')
    assert '    grafana_llm_hybrid -.->|"metrics"| aws_us_east_1_cluster' in lines
    assert '    grafana_llm_hybrid -.->|"metrics"| gcp_us_central1_cluster' in lines
    # A GCP-only fleet looks at Cloud Monitoring: no Grafana in its picture.
    assert "grafana" not in diagrams["prod-gcp"]

"""Bad stack files, one table: each is refused through the CLI with its exit code and a message.

Every class of issue 11 has several cases: file encodings, YAML the way Pulumi reads it, Pulumi
secrets, output paths, TPU slices and the accelerator cap, the system pool type, Kubernetes
versions, address ranges too small for the nodes, tag limits, names a cloud reserves,
non-finite budgets, serving limits, human pattern messages, and every independent problem of
one file reported in one run. Every refusal happens before anything is planned, so no case
runs the program.
"""

from __future__ import annotations

import codecs
import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmfleet.cli import main
from tests.llmfleet.test_cli import make_project

AWS_FLEET: dict[str, Any] = {
    "name": "llm-dev",
    "environment": "dev",
    "owner": "ml-platform",
    "cost_center": "cc-1234",
    "budget": {"monthly_usd": 5000, "max_accelerators": 8},
    "regions": [
        {
            "cloud": "aws",
            "region": "us-east-1",
            "zones": 2,
            "cidr": "10.10.0.0/16",
            "cluster": {
                "gpu_pools": [{"name": "l4", "accelerator": "nvidia-l4", "max_nodes": 4}],
            },
        }
    ],
    "models": [
        {
            "name": "llama",
            "version": "v1",
            "source": "hf://meta-llama/Llama-3-8B",
            "parameters_b": 8,
            "dtype": "fp8",
        }
    ],
    "serving": [{"name": "chat", "model": "llama", "version": "v1", "pool": "l4"}],
}

GCP_FLEET: dict[str, Any] = {
    "name": "llm-prod",
    "environment": "prod",
    "owner": "ml-platform",
    "cost_center": "cc-1234",
    "gcp_project": "llm-prod-serving",
    "budget": {"monthly_usd": 500000, "max_accelerators": 64},
    "regions": [
        {
            "cloud": "gcp",
            "region": "us-central1",
            "cidr": "10.40.0.0/20",
            "pods_cidr": "10.64.0.0/14",
            "services_cidr": "10.40.16.0/20",
            "cluster": {
                "gpu_pools": [
                    {"name": "v5e", "accelerator": "tpu-v5e", "count": 4, "max_nodes": 2},
                ],
            },
        }
    ],
}


def edit(base: dict[str, Any], changes: dict[str, Any] | None = None, *drop: str) -> dict:
    """A copy of ``base`` with dotted paths (``regions.0.cidr``) set to values or dropped."""
    fleet = copy.deepcopy(base)
    for path, value in (changes or {}).items():
        *parents, last = _parts(path)
        node = fleet
        for part in parents:
            node = node[part]
        node[last] = value
    for path in drop:
        *parents, last = _parts(path)
        node = fleet
        for part in parents:
            node = node[part]
        del node[last]
    return fleet


def _parts(path: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in path.split(".")]


def stack(fleet: Any) -> bytes:
    document = {"config": {"llmfleet:fleet": fleet}}
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode()


def pool(**fields: Any) -> dict[str, Any]:
    return {"name": "tpu", "accelerator": "tpu-v5e", "count": 4, **fields}


def gcp_pools(*pools: dict[str, Any], **budget: Any) -> dict:
    changes: dict[str, Any] = {"regions.0.cluster.gpu_pools": list(pools)}
    changes.update({f"budget.{k}": v for k, v in budget.items()})
    return edit(GCP_FLEET, changes)


@dataclass
class Case:
    """One bad stack file: its bytes, extra command-line arguments, the exit code and the
    fragments its message must contain."""

    file: bytes
    fragments: list[str]
    code: int = 2
    args: list[str] = field(default_factory=list)


UTF8_TEXT = stack(edit(AWS_FLEET, {"owner": "équipe-ml"})).decode()
"""Decodes to a fleet whose owner is refused: proof the non-ASCII text was read correctly."""

CASES: dict[str, Case] = {
    # --- encodings: decode what is unambiguous, refuse the rest with a clear message
    "latin-1": Case(
        UTF8_TEXT.encode("latin-1"),
        ["is not UTF-8: byte 0xe9 at line", "Latin-1 / Windows-1252 that is 'é'", "as UTF-8"],
    ),
    "windows-1252 quote": Case(
        stack(AWS_FLEET).replace(b"ml-platform", b"\x93ml\x94"),
        ["is not UTF-8: byte 0x93", "'“'"],
    ),
    "utf-16 with BOM decodes": Case(
        UTF8_TEXT.encode("utf-16"), ["fleet.owner: 'équipe-ml' is not allowed"]
    ),
    "utf-16-be with BOM decodes": Case(
        codecs.BOM_UTF16_BE + UTF8_TEXT.encode("utf-16-be"),
        ["fleet.owner: 'équipe-ml' is not allowed"],
    ),
    "utf-8 with BOM decodes": Case(
        codecs.BOM_UTF8 + UTF8_TEXT.encode(), ["fleet.owner: 'équipe-ml' is not allowed"]
    ),
    "utf-16-le without BOM": Case(
        UTF8_TEXT.encode("utf-16-le"), ["UTF-16 (little-endian) without a byte-order mark"]
    ),
    "utf-16-be without BOM": Case(
        UTF8_TEXT.encode("utf-16-be"), ["UTF-16 (big-endian) without a byte-order mark"]
    ),
    "utf-32": Case(UTF8_TEXT.encode("utf-32"), ["is UTF-32, which Pulumi cannot read"]),
    # --- YAML as Pulumi reads it
    "duplicate fleet field": Case(
        stack(AWS_FLEET) + b"    name: other\n",
        ["invalid YAML at line", "duplicate key 'name' (first at line", "Pulumi refuses"],
    ),
    "duplicate config key": Case(
        b"config:\n  aws:region: us-east-1\n  aws:region: us-west-2\n",
        ["duplicate key 'aws:region' (first at line 2)"],
    ),
    "duplicate pool field": Case(
        b"config:\n  llmfleet:fleet:\n    regions:\n      - {cloud: aws, cloud: gcp}\n",
        ["line 4", "duplicate key 'cloud'"],
    ),
    "two documents": Case(
        stack(AWS_FLEET) + b"---\n" + stack(AWS_FLEET),
        ["expected a single document in the stream, but found another document"],
    ),
    "unclosed list": Case(
        b"config:\n  llmfleet:fleet: [\n", ["invalid YAML at line 3", "expected the node content"]
    ),
    "tab indentation": Case(b"config:\n\tllmfleet:fleet: {}\n", ["invalid YAML at line 2"]),
    "not a mapping": Case(b"- just\n- a list\n", ["expected a mapping with a 'config' key"]),
    "fleet key typo": Case(
        b"config:\n  llmfleet:flet: {}\n", ["no 'llmfleet:fleet' key", "'llmfleet:flet'?"]
    ),
    "fleet is a list": Case(b"config:\n  llmfleet:fleet: [a]\n", ["fleet: must be a mapping"]),
    # --- Pulumi secure values cannot be planned offline
    "secure fleet": Case(
        b"config:\n  llmfleet:fleet:\n    secure: v1:abc==\n",
        ["fleet is a Pulumi secret", "cannot reach offline", "pulumi config get llmfleet:fleet"],
    ),
    "secure tag": Case(
        stack(edit(AWS_FLEET, {"tags": {"team": {"secure": "v1:xyz"}}})),
        ["fleet.tags.team is a Pulumi secret", "plain config"],
    ),
    "secure region field": Case(
        stack(edit(AWS_FLEET, {"regions.0.cidr": {"secure": "v1:xyz"}})),
        ["fleet.regions[0].cidr is a Pulumi secret"],
    ),
    # --- output paths: exit 2 before the plan runs
    "export onto a file": Case(
        stack(AWS_FLEET),
        ["--export-manifests", "is an existing file; give a folder"],
        args=["--export-manifests", "{tmp}/stacks/Pulumi.case.yaml"],
    ),
    "export under a file": Case(
        stack(AWS_FLEET),
        ["is a file, not a folder"],
        args=["--export-manifests", "{tmp}/stacks/Pulumi.case.yaml/out"],
    ),
    "export to an unwritable place": Case(
        stack(AWS_FLEET), ["cannot write in /proc"], args=["--export-manifests", "/proc/out"]
    ),
    "json onto a folder": Case(
        stack(AWS_FLEET), ["--json", "is a folder"], args=["--json", "{tmp}/stacks"]
    ),
    # --- TPU slices: counted against the cap, and only shapes the generation forms
    "tpu slice above the cap": Case(
        stack(gcp_pools(pool(tpu_topology="16x16"), max_accelerators=8)),
        ["gpu_pools[0].tpu_topology: pools reach 256 accelerators", "max_accelerators 8"],
    ),
    "tpu slices add up above the cap": Case(
        stack(
            gcp_pools(
                pool(name="a", tpu_topology="4x4"),
                pool(name="b", tpu_topology="4x8"),
                max_accelerators=40,
            )
        ),
        ["gpu_pools[1].tpu_topology: pools reach 48 accelerators"],
    ),
    "0x0": Case(
        stack(gcp_pools(pool(tpu_topology="0x0"))),
        ["tpu_topology: '0x0' is not allowed", "e.g. '2x4'"],
    ),
    "3-D on v5e": Case(
        stack(gcp_pools(pool(tpu_topology="2x2x2"))),
        ["tpu-v5e does not form a 2x2x2 slice", "1x1, 2x2, 2x4, 4x4"],
    ),
    "3-D on v6e": Case(
        stack(gcp_pools(pool(accelerator="tpu-v6e", tpu_topology="4x4x4"))),
        ["tpu-v6e does not form a 4x4x4 slice"],
    ),
    "shape not in the list": Case(
        stack(gcp_pools(pool(tpu_topology="4x2"))), ["does not form a 4x2 slice"]
    ),
    "multi-host on 1-chip hosts": Case(
        stack(gcp_pools(pool(count=1, tpu_topology="4x4"))),
        ["a 4x4 slice spans several hosts", "only from 4-chip hosts", "ct5lp-hightpu-1t"],
    ),
    "multi-host on 8-chip hosts": Case(
        stack(gcp_pools(pool(count=8, tpu_topology="4x8"))),
        ["only from 4-chip hosts (count: 4), not 8-chip ct5lp-hightpu-8t"],
    ),
    "slice smaller than a host": Case(
        stack(gcp_pools(pool(count=8, tpu_topology="2x2"))),
        ["2x2 is 4 chips, fewer than one 8-chip ct5lp-hightpu-8t"],
    ),
    "topology on a GPU pool": Case(
        stack(gcp_pools(pool(accelerator="nvidia-l4", count=1, tpu_topology="2x2"))),
        ["tpu_topology: only for TPU pools"],
    ),
    # --- the system pool's type comes from the catalog's general-purpose types
    "system pool type unknown": Case(
        stack(edit(AWS_FLEET, {"regions.0.cluster.system_pool": {"instance_type": "m9.huge"}})),
        ["system_pool.instance_type: unknown aws general-purpose type 'm9.huge'", "m7i.xlarge"],
    ),
    "system pool type typo": Case(
        stack(edit(AWS_FLEET, {"regions.0.cluster.system_pool": {"instance_type": "m7i.xlarg"}})),
        ["(did you mean 'm7i.xlarge'?)"],
    ),
    "system pool on a GPU type": Case(
        stack(edit(AWS_FLEET, {"regions.0.cluster.system_pool": {"instance_type": "g6.xlarge"}})),
        ["g6.xlarge carries 1 x nvidia-l4; the system pool runs add-ons on a general-purpose"],
    ),
    "system pool with a gcp type on aws": Case(
        stack(
            edit(AWS_FLEET, {"regions.0.cluster.system_pool": {"instance_type": "e2-standard-4"}})
        ),
        ["unknown aws general-purpose type 'e2-standard-4'"],
    ),
    # --- Kubernetes versions the cloud offers
    "unreleased on EKS": Case(
        stack(edit(AWS_FLEET, {"regions.0.cluster.kubernetes_version": "1.39"})),
        ["kubernetes_version: '1.39' is not released on EKS; use one of 1.32"],
    ),
    "unreleased on GKE": Case(
        stack(edit(GCP_FLEET, {"regions.0.cluster.kubernetes_version": "1.38"})),
        ["'1.38' is not released on GKE"],
    ),
    "retired on EKS": Case(
        stack(edit(AWS_FLEET, {"regions.0.cluster.kubernetes_version": "1.28"})),
        ["'1.28' is no longer on EKS"],
    ),
    "not a minor version": Case(
        stack(edit(AWS_FLEET, {"regions.0.cluster.kubernetes_version": "1.35.2"})),
        ["'1.35.2' is not allowed; use a minor version, e.g. '1.35'"],
    ),
    "version as a number": Case(
        stack(edit(AWS_FLEET, {"regions.0.cluster.kubernetes_version": 1.35})),
        ["kubernetes_version: Input should be a valid string"],
    ),
    # --- address ranges that cannot hold the nodes
    "pods range too small": Case(
        stack(
            edit(
                GCP_FLEET,
                {
                    "regions.0.pods_cidr": "10.64.0.0/21",
                    "regions.0.cluster.gpu_pools": [
                        {"name": "l4", "accelerator": "nvidia-l4", "max_nodes": 20}
                    ],
                },
            )
        ),
        ["pods_cidr: 10.64.0.0/21 holds pod ranges for 8 nodes at 110 pods per node", "26 nodes"],
    ),
    "pods range too small by the system pool": Case(
        stack(
            edit(
                GCP_FLEET,
                {
                    "regions.0.pods_cidr": "10.64.0.0/21",
                    "regions.0.cluster.system_pool": {"max_nodes": 9},
                },
                "regions.0.cluster.gpu_pools",
            )
        ),
        ["holds pod ranges for 8 nodes", "reaches 9 nodes", "use a /20 or larger"],
    ),
    "node subnet too small": Case(
        stack(
            edit(
                GCP_FLEET,
                {
                    "regions.0.cidr": "10.40.0.0/24",
                    "regions.0.cluster.gpu_pools": [
                        {"name": "l4", "accelerator": "nvidia-l4", "max_nodes": 300}
                    ],
                    "budget.max_accelerators": 1000,
                },
            )
        ),
        ["regions[0].cidr: 10.40.0.0/24 has 252 node addresses", "reaches 306 nodes"],
    ),
    # --- tags: limits per resource and the fleet's own
    "too many tags for aws": Case(
        stack(edit(AWS_FLEET, {"tags": {f"t{i}": "x" for i in range(40)}})),
        ["fleet.tags: 40 tags, but at most 39 fit: aws allows 50 tags", "sets 5 itself"],
    ),
    "too many labels for gcp": Case(
        stack(edit(GCP_FLEET, {"tags": {f"t{i}": "x" for i in range(60)}})),
        ["60 tags, but at most 53 fit: gcp allows 64 labels"],
    ),
    "tag overrides the owner": Case(
        stack(edit(AWS_FLEET, {"tags": {"owner": "someone-else"}})),
        ["fleet.tags.owner: 'owner' is a tag the fleet sets itself"],
    ),
    "aws: tag prefix": Case(
        stack(edit(AWS_FLEET, {"tags": {"aws:team": "x"}})),
        ["fleet.tags.aws:team: 'aws:team' is not allowed", "AWS reserves the 'aws:' prefix"],
    ),
    # --- names a cloud reserves
    "goog prefix on gcp": Case(
        stack(edit(GCP_FLEET, {"name": "googley"})), ["fleet.name: 'googley' starts with 'goog'"]
    ),
    "google inside on gcp": Case(
        stack(edit(GCP_FLEET, {"name": "my-google-llm"})), ["contains 'google'"]
    ),
    "g00gle misspelling on gcp": Case(
        stack(edit(GCP_FLEET, {"name": "llm-g00gle"})), ["contains 'g00gle'"]
    ),
    "xn-- on aws": Case(
        stack(edit(AWS_FLEET, {"name": "xn--llm"})), ["starts with 'xn--', which S3 reserves"]
    ),
    "sthree- on aws": Case(stack(edit(AWS_FLEET, {"name": "sthree-llm"})), ["'sthree-'"]),
    "google in the project id": Case(
        stack(edit(GCP_FLEET, {"gcp_project": "google-llm-x"})),
        ["gcp_project: 'google-llm-x' contains 'google'"],
    ),
    "ssl in the project id": Case(
        stack(edit(GCP_FLEET, {"gcp_project": "llm-ssl-prod"})), ["contains 'ssl'"]
    ),
    "serving in kube-system": Case(
        stack(edit(AWS_FLEET, {"serving.0.name": "kube-system"})),
        ["serving[0].name: 'kube-system' is a namespace"],
    ),
    "serving in default": Case(
        stack(edit(AWS_FLEET, {"serving.0.name": "default"})), ["'default' is a namespace"]
    ),
    # --- budgets
    "infinite budget": Case(
        stack(AWS_FLEET).replace(b"monthly_usd: 5000", b"monthly_usd: .inf"),
        ["budget.monthly_usd: Input should be a finite number"],
    ),
    "NaN budget": Case(
        stack(AWS_FLEET).replace(b"monthly_usd: 5000", b"monthly_usd: .nan"),
        ["finite number"],
    ),
    "overflowing budget": Case(
        stack(AWS_FLEET).replace(b"monthly_usd: 5000", b"monthly_usd: 1e999"),
        ["finite number"],
    ),
    "budget as words": Case(
        stack(edit(AWS_FLEET, {"budget.monthly_usd": "a lot"})), ["valid number"]
    ),
    "negative accelerator cap": Case(
        stack(edit(AWS_FLEET, {"budget.max_accelerators": -1})),
        ["budget.max_accelerators: Input should be greater than or equal to 0"],
    ),
    # --- serving limits that cannot hold
    "quintillions of replicas": Case(
        stack(edit(AWS_FLEET, {"serving.0.max_replicas": 10**19})),
        ["serving[0].max_replicas: Input should be less than or equal to 1000"],
    ),
    "replicas above the pool": Case(
        stack(edit(AWS_FLEET, {"serving.0.max_replicas": 9})),
        ["serving[0].max_replicas: 9 replicas", "do not fit pool 'l4' in us-east-1"],
    ),
    "tensor parallel above the node": Case(
        stack(edit(AWS_FLEET, {"serving.0.tensor_parallel_size": 8})),
        ["tensor_parallel_size: 8 does not divide the 1 accelerators", "use one of 1"],
    ),
    "tensor parallel degree": Case(
        stack(edit(AWS_FLEET, {"serving.0.tensor_parallel_size": 3})),
        ["tensor_parallel_size: 3 is not allowed; use one of 1, 2, 4, 8"],
    ),
    "min replicas above the cap": Case(
        stack(edit(AWS_FLEET, {"serving.0.min_replicas": 5000})),
        ["serving[0].min_replicas: Input should be less than or equal to 1000"],
    ),
    # --- pattern errors read as hints with an example
    "tag key with capitals": Case(
        stack(edit(AWS_FLEET, {"tags": {"Team": "x"}})),
        ["fleet.tags.Team: 'Team' is not allowed", "e.g. 'team'"],
    ),
    "tag value with spaces": Case(
        stack(edit(AWS_FLEET, {"tags": {"team": "Search Team"}})),
        ["fleet.tags.team: 'Search Team' is not allowed", "e.g. 'search'"],
    ),
    "gcp project with underscores": Case(
        stack(edit(GCP_FLEET, {"gcp_project": "My_Project"})),
        ["gcp_project: 'My_Project' is not allowed", "e.g. 'llm-prod-serving'"],
    ),
    "model version": Case(
        stack(edit(AWS_FLEET, {"models.0.version": "V1 final"})),
        ["models[0].version: 'V1 final' is not allowed", "e.g. 'v1'"],
    ),
    "tpu topology words": Case(
        stack(gcp_pools(pool(tpu_topology="2 by 4"))), ["'2 by 4' is not allowed", "e.g. '2x4'"]
    ),
    "routing domain as a URL": Case(
        stack(edit(AWS_FLEET, {"routing": {"domain": "https://llm.example.com"}})),
        ["routing.domain: 'https://llm.example.com' is not allowed", "e.g. 'llm.example.com'"],
    ),
    "routing domain without a zone": Case(
        stack(edit(AWS_FLEET, {"routing": {"domain": "llm.example.com"}})),
        [
            "routing.zone: required with domain llm.example.com",
            "name the existing Route 53 hosted zone ID or Cloud DNS managed zone",
        ],
    ),
    "routing on cloud-dns with AWS regions": Case(
        stack(
            edit(
                AWS_FLEET,
                {"routing": {"domain": "llm.example.com", "zone": "llm", "dns": "cloud-dns"}},
            )
        ),
        ["routing.dns: cloud-dns health-checks IP addresses only", "use route53"],
    ),
    "maintenance start": Case(
        stack(edit(AWS_FLEET, {"regions.0.cluster.maintenance_window": {"start": "25:00"}})),
        ["maintenance_window.start: '25:00' is not allowed", "e.g. '02:00'"],
    ),
    "node image": Case(
        stack(edit(AWS_FLEET, {"regions.0.cluster.node_image": "ubuntu-22.04"})),
        ["node_image: 'ubuntu-22.04' is not allowed", "e.g. 'al2023@v20251110'"],
    ),
    "fleet name": Case(
        stack(edit(AWS_FLEET, {"name": "LLM"})), ["fleet.name: 'LLM' is not allowed", "e.g."]
    ),
    # --- every independent problem at once, and the nearest field name for a typo
    "gcp ranges and project in one run": Case(
        stack(
            edit(
                AWS_FLEET,
                {"regions.0": {"cloud": "gcp", "region": "us-central1", "cidr": "10.40.0.0/20"}},
                "models",
                "serving",
            )
        ),
        [
            "fleet.gcp_project: required when a region is on gcp",
            "fleet.regions[0].pods_cidr: required for gcp regions",
            "fleet.regions[0].services_cidr: required for gcp regions",
        ],
    ),
    "ranges reported beside a bad zone count": Case(
        stack(edit(GCP_FLEET, {"gcp_project": None, "regions.0.zones": 9}, "regions.0.pods_cidr")),
        [
            "fleet.regions[0].zones: Input should be less than or equal to 6",
            "fleet.regions[0].pods_cidr: required for gcp regions",
            "fleet.gcp_project: required when a region is on gcp",
        ],
    ),
    "prod rules in one run": Case(
        stack(
            edit(
                AWS_FLEET,
                {
                    "environment": "prod",
                    "serving.0.min_replicas": 0,
                    "regions.0.cluster.node_image": "al2023@latest",
                    "tags": {"owner": "someone"},
                },
            )
        ),
        [
            "fleet.tags.owner: 'owner' is a tag the fleet sets itself",
            "fleet.serving[0].min_replicas: 0 scales a prod deployment to zero",
            "fleet.regions[0].cluster.node_image: al2023@latest lets AWS roll any new AMI",
        ],
    ),
    "typo gpu_pool": Case(
        stack(edit(AWS_FLEET, {"regions.0.cluster.gpu_pool": []})),
        ["fleet.regions[0].cluster.gpu_pool: unknown field (did you mean 'gpu_pools'?)"],
    ),
    "typo regoins": Case(
        stack(edit(AWS_FLEET, {"regoins": []})), ["fleet.regoins: unknown field", "'regions'?"]
    ),
    "typo max-nodes": Case(
        stack(edit(AWS_FLEET, {"regions.0.cluster.gpu_pools.0.max-nodes": 3})),
        ["gpu_pools[0].max-nodes: unknown field (did you mean 'max_nodes'?)"],
    ),
    "typo accelerator value": Case(
        stack(edit(AWS_FLEET, {"regions.0.cluster.gpu_pools.0.accelerator": "nvidia-l5"})),
        ["unknown accelerator 'nvidia-l5' (did you mean 'nvidia-l4'?)"],
    ),
    "region on the wrong cloud": Case(
        stack(edit(AWS_FLEET, {"regions.0.region": "us-central1"})),
        ["'us-central1' is a region of gcp, not aws; set cloud: gcp"],
    ),
    "several pools wrong at once": Case(
        stack(
            gcp_pools(
                pool(name="a", tpu_topology="2x2x2"),
                pool(name="b", accelerator="tpu-v7"),
                pool(name="c", count=1, tpu_topology="2x4"),
            )
        ),
        ["gpu_pools[0].tpu_topology", "gpu_pools[1].accelerator", "gpu_pools[2].tpu_topology"],
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_bad_stack_file_exits_with_its_code_and_message(tmp_path: Path, capsys, case: Case):
    project = make_project(tmp_path, {})
    (project / "stacks" / "Pulumi.case.yaml").write_bytes(case.file)
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in case.args]
    code = main(["plan", "case", "--project", str(project), *args])
    captured = capsys.readouterr()
    assert code == case.code, captured.err
    assert captured.out == ""
    assert "Traceback" not in captured.err
    message = " ".join(captured.err.split())  # rich wraps long lines
    for fragment in case.fragments:
        assert fragment in message


FILE_CASES = {name: case for name, case in CASES.items() if not case.args}


@pytest.mark.parametrize("case", FILE_CASES.values(), ids=FILE_CASES.keys())
def test_validate_refuses_a_bad_stack_file_as_plan_does(tmp_path: Path, capsys, case: Case):
    project = make_project(tmp_path, {})
    (project / "stacks" / "Pulumi.case.yaml").write_bytes(case.file)
    code = main(["validate", "case", "--project", str(project)])
    captured = capsys.readouterr()
    assert code == case.code, captured.err
    assert "Traceback" not in captured.err
    message = " ".join(captured.err.split())
    for fragment in case.fragments:
        assert fragment in message

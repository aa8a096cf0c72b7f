"""`--export-manifests`: every Kubernetes object of a plan as YAML, one folder per cluster."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from llmfleet.cli import main
from tests.conftest import REPO
from tests.k8s_schemas import validate_custom_resource


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("manifests")
    code = main(
        ["plan", "hybrid", "--project", str(REPO), "--no-tree", "--export-manifests", str(folder)]
    )
    assert code == 0
    return folder


def documents(folder: Path) -> dict[str, dict]:
    return {
        path.name: yaml.safe_load(path.read_text())
        for path in folder.glob("*.yaml")
        if path.name != "helm-releases.yaml"
    }


def test_one_folder_per_cluster_with_objects(exported):
    # The GKE cluster itself creates no Kubernetes objects (GKE installs GPU drivers); its
    # folder holds the serving objects.
    assert sorted(p.name for p in exported.iterdir()) == ["aws-us-east-1", "gcp-us-central1"]


def test_karpenter_objects_are_exported_and_valid(exported, schemas_dir):
    docs = documents(exported / "aws-us-east-1")
    crds = {
        "NodePool": schemas_dir / "karpenter" / "karpenter.sh_nodepools.yaml",
        "EC2NodeClass": schemas_dir / "karpenter" / "karpenter.k8s.aws_ec2nodeclasses.yaml",
    }
    kinds = sorted(d["kind"] for d in docs.values() if d["kind"] in crds)
    assert kinds == ["EC2NodeClass", "EC2NodeClass", "NodePool", "NodePool"]
    for doc in docs.values():
        if doc["kind"] in crds:
            validate_custom_resource(doc, crds[doc["kind"]])


def test_numbers_stay_integers(exported):
    pool = documents(exported / "aws-us-east-1")["nodepool-h100.yaml"]
    assert pool["spec"]["limits"]["nvidia.com/gpu"] == 16
    assert isinstance(pool["spec"]["limits"]["nvidia.com/gpu"], int)


def test_helm_releases_are_listed_with_pinned_charts(exported):
    releases = yaml.safe_load((exported / "aws-us-east-1" / "helm-releases.yaml").read_text())
    versions = {r["name"]: r["version"] for r in releases}
    assert versions["karpenter"] == "1.14.1"
    assert versions["karpenter-crd"] == "1.14.1"
    assert all(versions.values())

"""`--export-manifests`: every Kubernetes object of a plan as YAML, one folder per cluster."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from llmfleet.cli import main
from llmfleet.manifests import INDEX
from llmfleet.mock_outputs.aws import ACCOUNT_ID
from tests.conftest import REPO
from tests.k8s_schemas import validate_custom_resource, vendored_crds
from tests.test_urns import EXAMPLE_STACKS

BUILT_IN_GROUPS = {"", "apps", "policy", "networking.k8s.io", "rbac.authorization.k8s.io"}
"""API groups of the core kinds kubernetes-validate covers."""
FLUX = ("helmrelease-", "helmrepository-")
"""Files of the Flux objects Helm releases are exported as (not created in the cluster)."""


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
        if not path.name.startswith(("helmrelease-", "helmrepository-", "amp-scraper-"))
    }


def test_one_folder_per_cluster_with_objects(exported):
    # The GKE cluster itself creates no Kubernetes objects (GKE installs GPU drivers); its
    # folder holds the serving objects.
    assert sorted(p.name for p in exported.iterdir() if p.is_dir()) == [
        "aws-us-east-1",
        "gcp-us-central1",
    ]


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


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_every_exported_custom_resource_validates_against_its_vendored_crd(
    stack, tmp_path, schemas_dir
):
    assert main(["plan", stack, "--project", str(REPO), "--export-manifests", str(tmp_path)]) == 0
    crds = vendored_crds(schemas_dir)
    checked = set()
    for path in sorted(tmp_path.glob("*/*.yaml")):
        if path.name.startswith(FLUX):
            continue
        doc = yaml.safe_load(path.read_text())
        if "apiVersion" not in doc:
            continue  # not a Kubernetes object: a config exported for review (AMP scraper)
        group = doc["apiVersion"].rpartition("/")[0]
        if group in BUILT_IN_GROUPS:
            continue
        crd = crds.get((group, doc["kind"]))
        assert crd is not None, f"{path}: no vendored CRD for {doc['apiVersion']} {doc['kind']}"
        validate_custom_resource(doc, crd)
        checked.add(doc["kind"])
    # Every stack serves, so each syncs its API key and autoscales.
    assert {"ClusterSecretStore", "ExternalSecret", "ScaledObject"} <= checked


def test_numbers_stay_integers(exported):
    pool = documents(exported / "aws-us-east-1")["nodepool-h100.yaml"]
    assert pool["spec"]["limits"]["nvidia.com/gpu"] == 16
    assert isinstance(pool["spec"]["limits"]["nvidia.com/gpu"], int)


def test_helm_releases_are_flux_objects_with_pinned_charts(exported):
    folder = exported / "aws-us-east-1"
    releases = {
        d["metadata"]["name"]: d
        for d in (yaml.safe_load(p.read_text()) for p in folder.glob("helmrelease-*.yaml"))
    }
    karpenter = releases["karpenter"]
    assert karpenter["apiVersion"] == "helm.toolkit.fluxcd.io/v2"
    assert karpenter["metadata"]["namespace"] == "kube-system"
    chart = karpenter["spec"]["chart"]["spec"]
    assert (chart["chart"], chart["version"]) == ("karpenter", "1.14.1")
    source = chart["sourceRef"]
    repository = yaml.safe_load(
        (folder / f"helmrepository-flux-system-{source['name']}.yaml").read_text()
    )
    assert repository["kind"] == source["kind"] == "HelmRepository"
    assert repository["spec"] == {
        "interval": "1h",
        "url": "oci://public.ecr.aws/karpenter",
        "type": "oci",
    }
    assert all(r["spec"]["chart"]["spec"]["version"] for r in releases.values())


def test_cloud_computed_values_are_visible_placeholders(exported):
    text = "\n".join(p.read_text() for p in exported.rglob("*.yaml"))
    assert ACCOUNT_ID not in text
    assert ".eks.amazonaws.com" not in text
    assert "<computed: aws:eks/cluster:Cluster" in text
    node_class = documents(exported / "aws-us-east-1")["ec2nodeclass-h100.yaml"]
    kms = node_class["spec"]["blockDeviceMappings"][0]["ebs"]["kmsKeyID"]
    assert kms.startswith("<computed: aws:kms/key:Key ") and kms.endswith(" .arn>")


def test_count_printed_is_files_written_and_stale_files_go(tmp_path, capsys):
    folder = tmp_path / "out"
    mine = folder / "aws-us-east-1" / "mine.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("kept: true\n")
    stale = folder / "gcp-europe-west4" / "namespace-old.yaml"
    stale.parent.mkdir()
    stale.write_text("kind: Namespace\n")
    (folder / INDEX).write_text("gcp-europe-west4/namespace-old.yaml\n../outside.yaml\n")
    (tmp_path / "outside.yaml").write_text("kept: true\n")
    args = ["plan", "dev", "--project", str(REPO), "--export-manifests", str(folder)]
    assert main(args) == 0
    written = sorted(str(p.relative_to(folder)) for p in folder.rglob("*.yaml"))
    written.remove("aws-us-east-1/mine.yaml")
    assert f"{len(written)} files written to {folder}" in capsys.readouterr().out
    assert (folder / INDEX).read_text().splitlines() == written
    assert not stale.parent.exists()
    assert mine.exists() and (tmp_path / "outside.yaml").exists()


def test_gke_collection_objects_are_valid_pod_monitorings(exported, schemas_dir):
    docs = documents(exported / "gcp-us-central1")
    monitors = [d for d in docs.values() if d["kind"] == "PodMonitoring"]
    assert sorted(m["metadata"]["namespace"] for m in monitors) == ["chat", "kube-state-metrics"]
    for monitor in monitors:
        validate_custom_resource(
            monitor,
            schemas_dir / "prometheus-engine" / "monitoring.googleapis.com_podmonitorings.yaml",
        )


def test_eks_collection_is_the_managed_collectors_scrape_configuration(exported):
    (path,) = (exported / "aws-us-east-1").glob("amp-scraper-*.yaml")
    assert path.name == "amp-scraper-llm-hybrid-us-east-1.yaml"
    config = yaml.safe_load(path.read_text())
    jobs = [job["job_name"] for job in config["scrape_configs"]]
    assert jobs == ["vllm", "dcgm-exporter", "kube-state-metrics", "karpenter"]

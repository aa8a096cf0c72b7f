"""The LeaderWorkerSet controller: from its upstream chart, where a replica spans nodes."""

from __future__ import annotations

import re

import pytest

from llmfleet.components.fleet import Fleet
from llmfleet.components.k8s.leaderworkerset import LWS
from llmfleet.components.spec import parse_fleet
from llmfleet.recorder import record
from tests.components.k8s.test_serving import LWS as LWS_TYPE
from tests.components.k8s.test_serving import config
from tests.conftest import SCHEMAS

RELEASE = "kubernetes:helm.sh/v3:Release"


@pytest.fixture(scope="module")
def rec():
    spec = parse_fleet(config())
    return record(lambda: Fleet(spec.name, spec))


def lws_releases(rec) -> list:
    return [r for r in rec.of_type(RELEASE) if r.inputs["chart"] == LWS.chart]


def test_controller_only_on_clusters_serving_across_nodes(rec):
    # frontier (two H100 nodes per replica) serves from us-east-1 only.
    assert [r.region for r in lws_releases(rec)] == ["us-east-1"]
    assert [r.region for r in rec.of_type("llmfleet:k8s:LeaderWorkerSetController")] == [
        "us-east-1"
    ]


def test_chart_is_upstreams_oci_chart_pinned_to_the_vendored_crd_release(rec):
    (release,) = lws_releases(rec)
    assert release.inputs["chart"] == "oci://registry.k8s.io/lws/charts/lws"
    assert release.inputs["version"] == "0.10.0"
    assert "repositoryOpts" not in release.inputs
    assert release.inputs["namespace"] == "lws-system"
    row = next(
        line for line in (SCHEMAS / "README.md").read_text().splitlines() if "| lws/ |" in line
    )
    assert re.search(rf"\| v{re.escape(LWS.version)} \|", row), row


def test_controller_runs_on_the_system_pool_under_restricted_pod_security(rec):
    (release,) = lws_releases(rec)
    values = release.inputs["values"]
    assert values["nodeSelector"] == {"llmfleet.io/pool": "system"}
    assert values["replicaCount"] == 2
    assert values["podSecurityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (namespace,) = [
        r
        for r in rec.of_type("kubernetes:core/v1:Namespace")
        if r.inputs["metadata"]["name"] == "lws-system"
    ]
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == (
        "restricted"
    )


def test_leader_worker_sets_wait_for_the_controller(rec):
    (release,) = lws_releases(rec)
    (lws,) = rec.of_type(LWS_TYPE)
    assert release.urn in lws.dependencies
    # Single-node Deployments on the same cluster do not wait for it.
    for deployment in rec.of_type("kubernetes:apps/v1:Deployment"):
        assert release.urn not in deployment.dependencies

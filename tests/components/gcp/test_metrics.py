"""Managed metrics of a GKE region: KEDA's read access (tests/components/k8s/test_autoscaling.py)
and the node state GKE's managed packages leave out, collected once by managed collection."""

from __future__ import annotations

import pytest

from llmfleet.components.fleet import Fleet
from llmfleet.components.k8s import kube_state_metrics
from llmfleet.components.spec import parse_fleet
from llmfleet.manifests import manifest
from llmfleet.recorder import record
from tests.components.gcp.test_monitoring import gcp_only
from tests.conftest import SCHEMAS
from tests.k8s_schemas import validate_custom_resource

RELEASE = "kubernetes:helm.sh/v3:Release"
POD_MONITORING = "kubernetes:monitoring.googleapis.com/v1:PodMonitoring"
NAMESPACE = "kubernetes:core/v1:Namespace"


@pytest.fixture(scope="module")
def rec():
    spec = parse_fleet(gcp_only({"email": "oncall@example.com"}))
    return record(lambda: Fleet(spec.name, spec))


def in_region(rec, type_: str, region: str) -> list:
    return [r for r in rec.of_type(type_) if r.region == region]


@pytest.mark.parametrize("region", ["us-central1", "europe-west4"])
def test_kube_state_metrics_exports_only_node_labels_telling_capacity_and_pool(rec, region):
    (release,) = [
        r for r in in_region(rec, RELEASE, region) if r.inputs["chart"] == "kube-state-metrics"
    ]
    values = release.inputs["values"]
    # Pods and deployments come from GKE's managed package: never collected twice.
    assert values["collectors"] == ["nodes"]
    assert values["metricLabelsAllowlist"] == ["nodes=[cloud.google.com/gke-spot,llmfleet.io/pool]"]
    assert values["replicas"] == 2 and values["podDisruptionBudget"] == {"minAvailable": 1}
    assert values["nodeSelector"] == {"llmfleet.io/pool": "system"}
    assert release.inputs["namespace"] == "kube-state-metrics"
    (namespace,) = [
        n
        for n in in_region(rec, NAMESPACE, region)
        if n.inputs["metadata"]["name"] == "kube-state-metrics"
    ]
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == (
        "restricted"
    )


@pytest.mark.parametrize("region", ["us-central1", "europe-west4"])
def test_a_pod_monitoring_hands_it_to_managed_collection(rec, region):
    (release,) = [
        r for r in in_region(rec, RELEASE, region) if r.inputs["chart"] == "kube-state-metrics"
    ]
    (monitor,) = [
        m
        for m in in_region(rec, POD_MONITORING, region)
        if m.inputs["metadata"]["namespace"] == kube_state_metrics.NAMESPACE
    ]
    spec = monitor.inputs["spec"]
    # The chart's pod labels and its container port.
    assert spec["selector"] == {"matchLabels": {"app.kubernetes.io/name": "kube-state-metrics"}}
    assert [e["port"] for e in spec["endpoints"]] == ["http"]
    assert release.urn in monitor.dependencies
    validate_custom_resource(
        manifest(monitor),
        SCHEMAS / "prometheus-engine" / "monitoring.googleapis.com_podmonitorings.yaml",
    )


def test_exported_labels_are_sanitised_like_kube_state_metrics_does():
    assert kube_state_metrics.exported_label("cloud.google.com/gke-spot") == (
        "label_cloud_google_com_gke_spot"
    )
    assert kube_state_metrics.exported_label("llmfleet.io/pool") == "label_llmfleet_io_pool"

"""Autoscaling: KEDA on queue depth and KV cache, over each cloud's metrics pipeline."""

from __future__ import annotations

import pytest

from llmfleet.components.fleet import Fleet
from llmfleet.components.k8s.autoscaling import (
    KEDA,
    MetricsSource,
    scaled_object_spec,
    triggers,
)
from llmfleet.components.spec import parse_fleet
from llmfleet.manifests import manifest
from llmfleet.recorder import record
from tests.components.k8s.test_serving import config
from tests.conftest import SCHEMAS
from tests.k8s_schemas import validate_custom_resource

SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
TRIGGER_AUTH = "kubernetes:keda.sh/v1alpha1:TriggerAuthentication"
POD_MONITORING = "kubernetes:monitoring.googleapis.com/v1:PodMonitoring"
RELEASE = "kubernetes:helm.sh/v3:Release"
KEDA_CRDS = SCHEMAS / "keda"


@pytest.fixture(scope="module")
def rec():
    fleet = config()
    fleet["serving"][0]["min_replicas"] = 0
    fleet["serving"][0]["scale_to_zero"] = True
    spec = parse_fleet(fleet)
    return record(lambda: Fleet(spec.name, spec))


def scaled(rec, region: str, name: str):
    (found,) = [
        r
        for r in rec.of_type(SCALED_OBJECT)
        if r.region == region and r.inputs["metadata"]["name"] == name
    ]
    return found


def test_every_served_version_has_a_scaled_object_valid_against_keda(rec):
    objects = rec.of_type(SCALED_OBJECT)
    assert len(objects) == len(rec.of_type("kubernetes:apps/v1:Deployment")) + len(
        rec.of_type("kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet")
    )
    for resource in objects:
        validate_custom_resource(manifest(resource), KEDA_CRDS / "keda.sh_scaledobjects.yaml")
    for resource in rec.of_type(TRIGGER_AUTH):
        validate_custom_resource(
            manifest(resource), KEDA_CRDS / "keda.sh_triggerauthentications.yaml"
        )


def test_scales_on_queue_depth_and_kv_cache_of_its_own_pods(rec):
    spec = scaled(rec, "us-east-1", "chat-v2").inputs["spec"]
    queries = {t["name"]: t["metadata"]["query"] for t in spec["triggers"]}
    assert queries == {
        "queue-depth": 'sum(vllm:num_requests_waiting{namespace="chat",pod=~"chat-v2-.*"})',
        "kv-cache": 'sum(vllm:kv_cache_usage_perc{namespace="chat",pod=~"chat-v2-.*"})',
    }
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "chat-v2",
    }
    assert spec["maxReplicaCount"] == 2


def test_multi_node_servers_scale_their_leader_worker_set(rec):
    spec = scaled(rec, "us-east-1", "frontier-v1").inputs["spec"]
    assert spec["scaleTargetRef"]["kind"] == "LeaderWorkerSet"


def test_cooldowns_fit_gpu_cold_starts(rec):
    spec = scaled(rec, "us-east-1", "chat-v1").inputs["spec"]
    behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] >= 600
    assert spec["initialCooldownPeriod"] >= 600


def test_no_scaled_object_with_zero_minimum_lacks_a_wake_up_trigger(rec):
    # chat opts into scale to zero, but no wake-up trigger exists yet: its floor stays 1.
    for resource in rec.of_type(SCALED_OBJECT):
        spec = resource.inputs["spec"]
        if spec["minReplicaCount"] == 0:
            assert any(t["type"] != "prometheus" for t in spec["triggers"])
    assert scaled(rec, "us-east-1", "chat-v1").inputs["spec"]["minReplicaCount"] == 1


def test_zero_minimum_is_kept_with_a_wake_up_trigger():
    wake = [{"type": "metrics-api", "metadata": {"targetValue": "1"}}]
    source = MetricsSource(server_address="http://prometheus")
    spec = scaled_object_spec(
        target={"apiVersion": "apps/v1", "kind": "Deployment", "name": "chat-v1"},
        min_replicas=0,
        max_replicas=4,
        startup_seconds=600,
        trigger_list=triggers("chat", "chat-v1", source, None, wake),
        wake_up=True,
    )
    assert spec["minReplicaCount"] == 0
    assert spec["triggers"][-1] == wake[0]


def test_eks_reads_an_in_cluster_prometheus(rec):
    spec = scaled(rec, "us-west-2", "chat-v1").inputs["spec"]
    trigger = spec["triggers"][0]
    assert trigger["metadata"]["serverAddress"].startswith("http://prometheus-server.monitoring")
    assert "authenticationRef" not in trigger
    charts = {
        r.inputs["chart"]: r.inputs["version"]
        for r in rec.of_type(RELEASE)
        if r.region == "us-west-2"
    }
    assert charts["keda"] == KEDA.version == "2.20.2"
    assert "prometheus" in charts


def test_gke_reads_managed_prometheus_through_workload_identity(rec):
    spec = scaled(rec, "europe-west4", "chat-v1").inputs["spec"]
    trigger = spec["triggers"][0]
    assert trigger["metadata"]["serverAddress"] == (
        "https://monitoring.googleapis.com/v1/projects/llm-prod-serving/location/global/prometheus"
    )
    assert trigger["authenticationRef"] == {"name": "chat-metrics"}
    (auth,) = [r for r in rec.of_type(TRIGGER_AUTH) if r.region == "europe-west4"]
    assert auth.inputs["spec"] == {"podIdentity": {"provider": "gcp"}}
    monitors = [r for r in rec.of_type(POD_MONITORING) if r.region == "europe-west4"]
    assert monitors and monitors[0].inputs["spec"]["endpoints"][0]["port"] == "http"
    (keda,) = [
        r
        for r in rec.of_type("gcp:serviceaccount/account:Account")
        if r.region == "europe-west4" and r.name.endswith("-keda")
    ]
    (viewer,) = [
        r
        for r in rec.of_type("gcp:projects/iAMMember:IAMMember")
        if r.region == "europe-west4" and keda.urn in r.dependencies
    ]
    assert viewer.inputs["role"] == "roles/monitoring.viewer"
    (binding,) = [
        r
        for r in rec.of_type("gcp:serviceaccount/iAMMember:IAMMember")
        if r.region == "europe-west4" and r.name.endswith("keda-workload-identity")
    ]
    assert binding.inputs["member"].endswith("[keda/keda-operator]")
    (release,) = [
        r
        for r in rec.of_type(RELEASE)
        if r.region == "europe-west4" and r.inputs["chart"] == "keda"
    ]
    annotations = release.inputs["values"]["serviceAccount"]["operator"]["annotations"]
    assert annotations["iam.gke.io/gcp-service-account"] == keda.outputs["email"]
    charts = [r.inputs["chart"] for r in rec.of_type(RELEASE) if r.region == "europe-west4"]
    assert "prometheus" not in charts

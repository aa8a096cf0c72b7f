"""Autoscaling: KEDA on queue depth and KV cache, over each cloud's metrics pipeline."""

from __future__ import annotations

import pytest

from llmfleet.components.fleet import Fleet
from llmfleet.components.k8s.autoscaling import (
    HTTP_ADD_ON,
    KEDA,
    MetricsSource,
    WakeUp,
    scaled_object_spec,
    triggers,
)
from llmfleet.components.k8s.serving import cold_start_seconds
from llmfleet.components.spec import parse_fleet
from llmfleet.manifests import manifest
from llmfleet.plan import run_program
from llmfleet.recorder import record
from llmfleet.stackfile import find_project, load_stack
from tests.components.k8s.test_serving import LWS as LWS_TYPE
from tests.components.k8s.test_serving import config
from tests.conftest import REPO, SCHEMAS
from tests.k8s_schemas import validate_custom_resource

SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
TRIGGER_AUTH = "kubernetes:keda.sh/v1alpha1:TriggerAuthentication"
POD_MONITORING = "kubernetes:monitoring.googleapis.com/v1:PodMonitoring"
RELEASE = "kubernetes:helm.sh/v3:Release"
INTERCEPTOR_ROUTE = "kubernetes:http.keda.sh/v1beta1:InterceptorRoute"
REFERENCE_GRANT = "kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
KEDA_CRDS = SCHEMAS / "keda"
GATEWAY_CRDS = SCHEMAS / "gateway-api"
INTERCEPTOR_ROUTE_CRD = SCHEMAS / "keda-http-add-on" / "http.keda.sh_interceptorroutes.yaml"


def zero_config() -> dict:
    """test_serving's fleet with chat-tpu (GKE, us-central1) and the multi-node frontier (EKS,
    us-east-1) scaling to zero; chat keeps its canary and one replica."""
    fleet = config()
    for serving in fleet["serving"][1:]:
        serving |= {"min_replicas": 0, "scale_to_zero": True}
    return fleet


@pytest.fixture(scope="module")
def spec():
    return parse_fleet(zero_config())


@pytest.fixture(scope="module")
def rec(spec):
    return record(lambda: Fleet(spec.name, spec))


@pytest.fixture(scope="module")
def servers(spec):
    built = {}
    record(lambda: built.setdefault("fleet", Fleet(spec.name, spec)))
    return built["fleet"].model_servers


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


def wake_up_problems(recording) -> list[str]:
    """Every ScaledObject with a zero minimum that no request could wake: it needs an
    ``external-push`` trigger to the HTTP add-on's scaler naming an InterceptorRoute of its
    namespace on the same cluster, or always-running on-demand replicas of the same version
    whose queue depth its queries read."""
    routes = {
        (r.provider, r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"])
        for r in recording.of_type(INTERCEPTOR_ROUTE)
    }
    always_on = {
        (r.provider, r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"])
        for type_ in ("kubernetes:apps/v1:Deployment", LWS_TYPE)
        for r in recording.of_type(type_)
        if r.inputs["spec"]["replicas"] >= 1
    }
    problems = []
    for resource in recording.of_type(SCALED_OBJECT):
        spec, metadata = resource.inputs["spec"], resource.inputs["metadata"]
        if spec["minReplicaCount"] != 0:
            continue
        on_demand = f"{spec['scaleTargetRef']['name']}-on-demand"
        if (resource.provider, metadata["namespace"], on_demand) in always_on and any(
            on_demand.removesuffix("-on-demand") in t["metadata"].get("query", "")
            for t in spec["triggers"]
        ):
            continue
        woken = [
            t
            for t in spec["triggers"]
            if t["type"] == "external-push"
            and t["metadata"]["scalerAddress"] == WakeUp(ready=[]).scaler_address
            and (resource.provider, metadata["namespace"], t["metadata"]["interceptorRoute"])
            in routes
        ]
        if not woken:
            problems.append(resource.urn)
    return problems


def test_no_scaled_object_with_zero_minimum_lacks_a_wake_up_trigger(rec):
    assert wake_up_problems(rec) == []
    at_zero = {
        (r.region, r.inputs["metadata"]["name"])
        for r in rec.of_type(SCALED_OBJECT)
        if r.inputs["spec"]["minReplicaCount"] == 0
    }
    assert at_zero == {("us-central1", "chat-tpu-v1"), ("us-east-1", "frontier-v1")}
    assert scaled(rec, "us-east-1", "chat-v1").inputs["spec"]["minReplicaCount"] == 1


@pytest.mark.parametrize("stack", ["dev", "prod-aws", "prod-gcp", "hybrid"])
def test_no_example_stack_has_a_zero_minimum_without_a_wake_up_trigger(stack):
    project = find_project(REPO)
    recording = run_program(project, load_stack(project, stack))
    assert wake_up_problems(recording) == []
    if stack == "dev":
        # dev's chat really scales to zero.
        (chat,) = recording.of_type(SCALED_OBJECT)
        assert chat.inputs["spec"]["minReplicaCount"] == 0


def test_wake_up_trigger_shares_the_scaled_object_with_queue_depth(rec):
    spec = scaled(rec, "us-east-1", "frontier-v1").inputs["spec"]
    assert [t["name"] for t in spec["triggers"]] == ["queue-depth", "kv-cache", "wake-up"]
    assert spec["triggers"][-1] == {
        "type": "external-push",
        "name": "wake-up",
        "metadata": {
            "scalerAddress": "keda-add-ons-http-external-scaler.keda:9090",
            "interceptorRoute": "frontier-v1",
        },
    }
    # Even with metrics unreachable, a woken entry keeps one replica rather than none.
    assert spec["fallback"]["replicas"] == 1


def test_zero_minimum_without_a_wake_up_trigger_keeps_one_replica():
    source = MetricsSource(server_address="http://prometheus")
    spec = scaled_object_spec(
        target={"apiVersion": "apps/v1", "kind": "Deployment", "name": "chat-v1"},
        min_replicas=0,
        max_replicas=4,
        startup_seconds=600,
        trigger_list=triggers("chat", "chat-v1", source, None),
        wake_up=False,
    )
    assert spec["minReplicaCount"] == 1


def test_http_add_on_only_on_clusters_with_an_entry_at_zero(rec):
    with_add_on = sorted(
        r.region for r in rec.of_type(RELEASE) if r.inputs["chart"] == HTTP_ADD_ON.name
    )
    assert with_add_on == ["us-central1", "us-east-1"]
    (release,) = [
        r
        for r in rec.of_type(RELEASE)
        if r.region == "us-east-1" and r.inputs["chart"] == HTTP_ADD_ON.name
    ]
    assert release.inputs["version"] == "0.15.0"
    assert release.inputs["repositoryOpts"] == {"repo": "https://kedacore.github.io/charts"}
    assert release.inputs["namespace"] == "keda"
    values = release.inputs["values"]
    for component in ("operator", "scaler", "interceptor"):
        assert values[component]["nodeSelector"] == {"llmfleet.io/pool": "system"}
    # The keda namespace enforces restricted pod security, which the chart's defaults fail.
    assert values["podSecurityContext"]["runAsNonRoot"] is True
    assert values["podSecurityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (keda,) = [
        r
        for r in rec.of_type(RELEASE)
        if r.region == "us-east-1" and r.inputs["chart"] == KEDA.name
    ]
    assert keda.urn in release.dependencies


def test_interceptor_route_holds_requests_through_a_cold_start(rec, spec):
    (route,) = [r for r in rec.of_type(INTERCEPTOR_ROUTE) if r.region == "us-central1"]
    body = manifest(route)
    validate_custom_resource(body, INTERCEPTOR_ROUTE_CRD)
    assert body["metadata"] == {**body["metadata"], "name": "chat-tpu-v1", "namespace": "chat-tpu"}
    assert body["spec"]["target"] == {"service": "chat-tpu-v1", "port": 8000}
    assert body["spec"]["rules"] == [
        {"headers": [{"name": "x-llmfleet-route", "value": "chat-tpu/chat-tpu-v1"}]}
    ]
    model = spec.model("llama-8b", "v1")
    assert body["spec"]["timeouts"]["readiness"] == f"{cold_start_seconds(model)}s"
    assert cold_start_seconds(model) >= 1020  # a node (7 min) plus at least 10 min of startup


def test_every_interceptor_route_and_grant_validates(rec):
    assert len(rec.of_type(INTERCEPTOR_ROUTE)) == 2
    for resource in rec.of_type(INTERCEPTOR_ROUTE):
        validate_custom_resource(manifest(resource), INTERCEPTOR_ROUTE_CRD)
    grants = rec.of_type(REFERENCE_GRANT)
    assert len(grants) == 2
    for resource in grants:
        validate_custom_resource(
            manifest(resource), GATEWAY_CRDS / "gateway.networking.k8s.io_referencegrants.yaml"
        )


def test_route_of_an_entry_at_zero_goes_through_the_interceptor(rec, servers):
    frontier = servers["frontier"]["us-east-1"]
    (backend,) = frontier.route_backends()
    assert backend == {
        "group": "",
        "kind": "Service",
        "name": "keda-add-ons-http-interceptor-proxy",
        "namespace": "keda",
        "port": 8080,
        "weight": 100,
    }
    assert frontier.route_filters() == [
        {
            "type": "RequestHeaderModifier",
            "requestHeaderModifier": {
                "set": [{"name": "x-llmfleet-route", "value": "frontier/frontier-v1"}]
            },
        }
    ]
    # The entry's HTTPRoute (in its namespace) may use the interceptor Service.
    (grant,) = [r for r in rec.of_type(REFERENCE_GRANT) if r.region == "us-east-1"]
    assert grant.inputs["metadata"]["namespace"] == "keda"
    assert grant.inputs["spec"] == {
        "from": [
            {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "frontier"}
        ],
        "to": [{"group": "", "kind": "Service", "name": "keda-add-ons-http-interceptor-proxy"}],
    }


def test_a_route_rule_from_the_servers_parts_is_a_valid_http_route(servers):
    frontier = servers["frontier"]["us-east-1"]
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "frontier", "namespace": "frontier"},
        "spec": {
            "parentRefs": [{"name": "gateway", "namespace": "gateway"}],
            "rules": [
                {"backendRefs": frontier.route_backends(), "filters": frontier.route_filters()}
            ],
        },
    }
    validate_custom_resource(route, GATEWAY_CRDS / "gateway.networking.k8s.io_httproutes.yaml")


def test_entries_with_replicas_route_straight_to_their_services(servers):
    chat = servers["chat"]["us-east-1"]
    assert [b["name"] for b in chat.route_backends()] == ["chat-v1", "chat-v2"]
    assert chat.route_filters() == []


def test_network_policy_admits_the_interceptor_only_where_it_routes(rec):
    def peers(region: str, namespace: str) -> list[dict]:
        (policy,) = [
            r
            for r in rec.of_type(NETWORK_POLICY)
            if r.region == region and r.inputs["metadata"]["namespace"] == namespace
        ]
        return policy.inputs["spec"]["ingress"][0]["from"]

    interceptor = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}},
        "podSelector": {
            "matchLabels": {
                "app.kubernetes.io/name": "http-add-on",
                "app.kubernetes.io/component": "interceptor",
            }
        },
    }
    assert interceptor in peers("us-east-1", "frontier")
    assert interceptor in peers("us-central1", "chat-tpu")
    assert interceptor not in peers("us-east-1", "chat")


def test_eks_reads_amazon_managed_prometheus_through_pod_identity(rec):
    spec = scaled(rec, "us-west-2", "chat-v1").inputs["spec"]
    trigger = spec["triggers"][0]
    (workspace,) = [
        r for r in rec.of_type("aws:amp/workspace:Workspace") if r.region == "us-west-2"
    ]
    # KEDA appends /api/v1/query: the address has no trailing slash.
    assert trigger["metadata"]["serverAddress"] == workspace.outputs["prometheusEndpoint"].rstrip(
        "/"
    )
    assert trigger["metadata"]["awsRegion"] == "us-west-2"
    assert trigger["authenticationRef"] == {"name": "chat-metrics"}
    (auth,) = [r for r in rec.of_type(TRIGGER_AUTH) if r.region == "us-west-2"]
    assert auth.inputs["spec"] == {"podIdentity": {"provider": "aws"}}
    (association,) = [
        r
        for r in rec.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if r.region == "us-west-2" and r.inputs["serviceAccount"] == "keda-operator"
    ]
    assert association.inputs["namespace"] == "keda"
    releases = {r.inputs["chart"]: r for r in rec.of_type(RELEASE) if r.region == "us-west-2"}
    assert releases["keda"].inputs["version"] == KEDA.version == "2.20.2"
    # KEDA's pods start after the association, or they get no credentials.
    assert association.urn in releases["keda"].dependencies
    assert "prometheus" not in releases


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
    for monitor in rec.of_type(POD_MONITORING):
        validate_custom_resource(
            manifest(monitor),
            SCHEMAS / "prometheus-engine" / "monitoring.googleapis.com_podmonitorings.yaml",
        )
    # Only managed collection needs them; EKS's in-cluster Prometheus scrapes annotated pods.
    assert {r.region for r in rec.of_type(POD_MONITORING)} == {"us-central1", "europe-west4"}
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

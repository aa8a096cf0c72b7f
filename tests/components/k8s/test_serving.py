"""ModelServer: vLLM per serving entry and cluster, the same contract on EKS and GKE."""

from __future__ import annotations

import copy
import json

import kubernetes_validate
import pytest

from llmfleet.components.fleet import Fleet
from llmfleet.components.k8s import scheduling
from llmfleet.components.k8s.serving import (
    MODEL_READER,
    VLLM_GPU_IMAGE,
    VLLM_TPU_IMAGE,
    startup_budget_seconds,
)
from llmfleet.components.spec import parse_fleet
from llmfleet.manifests import manifest
from llmfleet.recorder import record
from tests.conftest import PROD_FLEET, SCHEMAS
from tests.k8s_schemas import validate_custom_resource

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
NAMESPACE = "kubernetes:core/v1:Namespace"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
LWS = "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet"

L4 = {"name": "l4", "accelerator": "nvidia-l4", "count": 1, "max_nodes": 4, "spot": True}
H100 = {"name": "h100", "accelerator": "nvidia-h100-80gb", "count": 8, "max_nodes": 4}
V5E = {"name": "v5e", "accelerator": "tpu-v5e", "count": 4, "max_nodes": 2}
MODELS = [
    {"name": "llama-8b", "version": "v1", "source": "hf://meta/8b", "parameters_b": 8.03},
    {"name": "llama-8b", "version": "v2", "source": "hf://meta/8b-2", "parameters_b": 8.03},
    {
        "name": "llama-405b",
        "version": "v1",
        "source": "hf://meta/405b",
        "parameters_b": 405,
        "dtype": "fp8",
    },
]


def config() -> dict:
    fleet = copy.deepcopy(PROD_FLEET)
    pools = {
        "us-east-1": [L4, H100],
        "us-west-2": [L4],
        "us-central1": [L4, V5E],
        "europe-west4": [L4],
    }
    for region in fleet["regions"]:
        region["cluster"] = {"gpu_pools": pools[region["region"]]}
    fleet["models"] = MODELS
    fleet["serving"] = [
        {
            "name": "chat",
            "model": "llama-8b",
            "version": "v1",
            "pool": "l4",
            "canary": {"version": "v2", "weight": 10},
        },
        {"name": "chat-tpu", "model": "llama-8b", "version": "v1", "pool": "v5e"},
        {
            "name": "frontier",
            "model": "llama-405b",
            "version": "v1",
            "pool": "h100",
            "nodes_per_replica": 2,
            "max_replicas": 2,
            "max_model_len": 16384,
        },
    ]
    return fleet


@pytest.fixture(scope="module")
def spec():
    return parse_fleet(config())


@pytest.fixture(scope="module")
def rec(spec):
    return record(lambda: Fleet(spec.name, spec))


def in_region(rec, type_: str, region: str) -> list:
    return [r for r in rec.of_type(type_) if r.region == region]


def named(rec, type_: str, region: str, name: str):
    (found,) = [r for r in in_region(rec, type_, region) if r.inputs["metadata"]["name"] == name]
    return found


def pod(deployment) -> dict:
    return deployment.inputs["spec"]["template"]["spec"]


def container(deployment) -> dict:
    return pod(deployment)["containers"][0]


def test_one_server_per_serving_entry_and_region(rec, spec):
    servers = rec.of_type("llmfleet:k8s:ModelServer")
    expected = sorted((s.name, r.region) for s in spec.serving for r in spec.serving_regions(s))
    assert len(servers) == len(expected)
    namespaces = [
        (n.inputs["metadata"]["name"], n.region)
        for n in rec.of_type(NAMESPACE)
        if n.inputs["metadata"]["labels"].get("app.kubernetes.io/name") == "vllm"
    ]
    assert sorted(namespaces) == expected


def test_stable_and_canary_run_side_by_side_each_on_its_own_weights(rec):
    for region in ("us-east-1", "us-central1"):
        stable = named(rec, DEPLOYMENT, region, "chat-v1")
        canary = named(rec, DEPLOYMENT, region, "chat-v2")
        assert container(stable)["args"][0].endswith("/models/llama-8b/v1/")
        assert container(canary)["args"][0].endswith("/models/llama-8b/v2/")
        assert named(rec, SERVICE, region, "chat-v1") and named(rec, SERVICE, region, "chat-v2")


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2", "us-central1", "europe-west4"])
def test_weights_stream_from_the_pods_own_region(rec, region):
    args = container(named(rec, DEPLOYMENT, region, "chat-v1"))["args"]
    uri = args[0]
    assert uri.startswith(("s3://", "gs://"))
    assert region in uri
    assert args[1:3] == ["--load-format", "runai_streamer"]


def test_gpu_requests_equal_limits_equal_gpus_per_replica(rec):
    resources = container(named(rec, DEPLOYMENT, "us-east-1", "chat-v1"))["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == "1"
    assert resources["requests"]["memory"] == resources["limits"]["memory"]


def test_tpu_pool_serves_through_vllms_tpu_build_with_the_slice(rec):
    deployment = named(rec, DEPLOYMENT, "us-central1", "chat-tpu-v1")
    c = container(deployment)
    assert c["image"] == VLLM_TPU_IMAGE.reference
    assert c["resources"]["limits"]["google.com/tpu"] == "4"
    assert c["args"][c["args"].index("--tensor-parallel-size") + 1] == "4"
    assert pod(deployment)["tolerations"] == [scheduling.accelerator_toleration("tpu")]


def test_server_image_is_pinned_by_digest(rec):
    image = container(named(rec, DEPLOYMENT, "us-east-1", "chat-v1"))["image"]
    assert image == VLLM_GPU_IMAGE.reference
    assert "@sha256:" in image


def test_placement_follows_the_scheduling_contract(rec):
    spec_ = pod(named(rec, DEPLOYMENT, "us-west-2", "chat-v1"))
    assert spec_["affinity"] == scheduling.pool_affinity("l4", "nvidia-l4")
    assert spec_["tolerations"] == [scheduling.accelerator_toleration("gpu")]
    (spread,) = spec_["topologySpreadConstraints"]
    assert spread["topologyKey"] == "topology.kubernetes.io/zone"
    assert spread["labelSelector"]["matchLabels"]["llmfleet.io/version"] == "v1"


def test_shared_memory_is_memory_backed(rec):
    volumes = {v["name"]: v for v in pod(named(rec, DEPLOYMENT, "us-east-1", "chat-v1"))["volumes"]}
    assert volumes["shm"]["emptyDir"]["medium"] == "Memory"
    mounts = container(named(rec, DEPLOYMENT, "us-east-1", "chat-v1"))["volumeMounts"]
    assert {"name": "shm", "mountPath": "/dev/shm"} in mounts


def test_probes_cover_a_multi_minute_load_and_drain_on_stop(rec, spec):
    deployment = named(rec, DEPLOYMENT, "us-east-1", "chat-v1")
    c = container(deployment)
    startup = c["startupProbe"]
    budget = startup["periodSeconds"] * startup["failureThreshold"]
    assert budget >= startup_budget_seconds(spec.models[0]) >= 600
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"]["path"] == "/health"
    assert c["lifecycle"]["preStop"]["sleep"]["seconds"] > 0
    assert (
        pod(deployment)["terminationGracePeriodSeconds"]
        > c["lifecycle"]["preStop"]["sleep"]["seconds"]
    )


def test_pods_run_restricted(rec):
    deployment = named(rec, DEPLOYMENT, "europe-west4", "chat-v1")
    pod_security = pod(deployment)["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container(deployment)["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["readOnlyRootFilesystem"] is True
    writable = {m["mountPath"] for m in container(deployment)["volumeMounts"]}
    assert {"/tmp", "/cache"} <= writable
    namespace = named(rec, NAMESPACE, "europe-west4", "chat")
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == (
        "restricted"
    )


def test_pods_run_as_the_read_only_model_identity_after_its_grant(rec):
    for region in ("us-east-1", "us-central1"):
        deployment = named(rec, DEPLOYMENT, region, "chat-v1")
        assert pod(deployment)["serviceAccountName"] == MODEL_READER
        grant_types = {rec.by_urn[d].type for d in deployment.dependencies}
        assert grant_types & {
            "aws:eks/podIdentityAssociation:PodIdentityAssociation",
            "gcp:storage/bucketIAMMember:BucketIAMMember",
        }


def test_api_key_comes_from_a_synced_secret(rec):
    deployment = named(rec, DEPLOYMENT, "us-east-1", "chat-v1")
    (key,) = [e for e in container(deployment)["env"] if e["name"] == "VLLM_API_KEY"]
    assert key["valueFrom"]["secretKeyRef"] == {"name": "chat-api-key", "key": "api-key"}
    synced = [
        r
        for r in in_region(rec, EXTERNAL_SECRET, "us-east-1")
        if r.inputs["metadata"]["namespace"] == "chat"
    ]
    assert len(synced) == 1
    assert synced[0].inputs["spec"]["target"]["name"] == "chat-api-key"


def test_one_disruption_budget_per_version(rec):
    for version in ("v1", "v2"):
        budget = named(rec, PDB, "us-west-2", f"chat-{version}")
        assert budget.inputs["spec"]["maxUnavailable"] == 1
        assert budget.inputs["spec"]["selector"]["matchLabels"]["llmfleet.io/version"] == version


def test_network_policy_admits_only_the_gateway_and_the_scraper(rec):
    aws = named(rec, NETWORK_POLICY, "us-east-1", "chat-ingress").inputs["spec"]
    (rule,) = aws["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]
    blocks = [p["ipBlock"]["cidr"] for p in rule["from"] if "ipBlock" in p]
    # The ALB's public subnets and the private subnets the AMP collector scrapes from, all
    # inside 10.20.0.0/16 and none the whole VPC.
    assert blocks and all(b.startswith("10.20.") and not b.endswith("/16") for b in blocks)
    assert len(blocks) == 6  # three zones, public and private
    assert not [p for p in rule["from"] if "namespaceSelector" in p]
    gcp = named(rec, NETWORK_POLICY, "us-central1", "chat-ingress").inputs["spec"]
    peers = gcp["ingress"][0]["from"]
    assert {"ipBlock": {"cidr": "35.191.0.0/16"}} in peers
    assert {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gmp-system"}}
    } in peers


def test_services_are_cluster_internal(rec):
    service = named(rec, SERVICE, "us-east-1", "chat-v1").inputs["spec"]
    assert service["type"] == "ClusterIP"
    assert service["selector"]["llmfleet.io/version"] == "v1"


@pytest.fixture(scope="module")
def lws(rec):
    """The one multi-node server: frontier on us-east-1's H100 pool."""
    (found,) = in_region(rec, LWS, "us-east-1")
    return found


class TestMultiNode:
    def test_a_replica_spanning_nodes_is_a_leader_worker_set(self, lws):
        template = lws.inputs["spec"]["leaderWorkerTemplate"]
        assert template["size"] == 2
        leader = template["leaderTemplate"]["spec"]["containers"][0]
        command = leader["args"][0]
        assert "--tensor-parallel-size 8" in command
        assert "--pipeline-parallel-size 2" in command
        assert leader["resources"]["limits"]["nvidia.com/gpu"] == "8"
        worker = template["workerTemplate"]["spec"]["containers"][0]
        assert worker["resources"]["limits"]["nvidia.com/gpu"] == "8"

    def test_leader_worker_set_validates_against_its_crd(self, lws):
        validate_custom_resource(
            manifest(lws), SCHEMAS / "lws" / "leaderworkerset.x-k8s.io_leaderworkersets.yaml"
        )

    def test_only_the_leader_takes_requests(self, rec):
        selector = named(rec, SERVICE, "us-east-1", "frontier-v1").inputs["spec"]["selector"]
        assert selector["leaderworkerset.sigs.k8s.io/worker-index"] == "0"


def test_every_core_object_validates_strictly(rec, spec):
    version = spec.regions[0].cluster.kubernetes_version
    kinds = (DEPLOYMENT, SERVICE, PDB, NETWORK_POLICY, NAMESPACE, SERVICE_ACCOUNT)
    checked = 0
    for type_ in kinds:
        for resource in rec.of_type(type_):
            body = json.loads(json.dumps(manifest(resource)))
            kubernetes_validate.validate(body, f"{version}.0", strict=True)
            checked += 1
    assert checked > 20


def test_no_secret_value_anywhere_in_the_plan(rec):
    text = json.dumps([r.inputs for r in rec.resources], default=str)
    assert "secretString" not in text
    assert not rec.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert not rec.of_type("gcp:secretmanager/secretVersion:SecretVersion")
    assert not rec.of_type("kubernetes:core/v1:Secret")


def test_server_component_has_no_cloud_branches():
    source = (SCHEMAS.parents[1] / "llmfleet" / "components" / "k8s" / "serving.py").read_text()
    for cloud_word in ("aws", "gcp", "eks", "gke"):
        assert f'== "{cloud_word}"' not in source.lower()


@pytest.fixture(scope="module")
def servers(spec):
    built = {}
    record(lambda: built.setdefault("fleet", Fleet(spec.name, spec)))
    return built["fleet"].model_servers


def test_route_backends_split_stable_and_canary_by_weight(servers):
    chat = servers["chat"]["us-east-1"]
    assert chat.route_backends() == [
        {
            "group": "",
            "kind": "Service",
            "name": "chat-v1",
            "namespace": "chat",
            "port": 8000,
            "weight": 90,
        },
        {
            "group": "",
            "kind": "Service",
            "name": "chat-v2",
            "namespace": "chat",
            "port": 8000,
            "weight": 10,
        },
    ]
    assert chat.route_filters() == []


def test_without_a_canary_the_stable_version_takes_every_request(servers):
    (only,) = servers["chat-tpu"]["us-central1"].route_backends()
    assert (only["name"], only["weight"]) == ("chat-tpu-v1", 100)


@pytest.fixture(scope="module")
def on_demand_spec():
    """chat on a spot L4 pool (AWS, on-demand fallback): one of its replicas on on-demand."""
    fleet = copy.deepcopy(PROD_FLEET)
    fleet["regions"] = fleet["regions"][:1]
    fleet["regions"][0]["cluster"] = {"gpu_pools": [L4]}
    fleet["models"] = MODELS[:1]
    fleet["serving"] = [
        {
            "name": "chat",
            "model": "llama-8b",
            "version": "v1",
            "pool": "l4",
            "min_replicas": 1,
            "max_replicas": 4,
            "on_demand_replicas": 1,
        }
    ]
    return parse_fleet(fleet)


class TestOnDemandReplicas:
    @pytest.fixture(scope="class")
    @classmethod
    def rec(cls, on_demand_spec):
        return record(lambda: Fleet(on_demand_spec.name, on_demand_spec))

    def test_a_fixed_workload_on_on_demand_nodes(self, rec):
        pinned = named(rec, DEPLOYMENT, "us-east-1", "chat-v1-on-demand")
        assert pinned.inputs["spec"]["replicas"] == 1
        assert pinned.inputs["spec"]["selector"]["matchLabels"] == {
            "llmfleet.io/serving": "chat",
            "llmfleet.io/version": "v1",
            "llmfleet.io/on-demand": "true",
        }
        assert pod(pinned)["affinity"] == scheduling.pool_affinity(
            "l4", "nvidia-l4", on_demand=True
        )
        (term,) = pod(pinned)["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"
        ]["nodeSelectorTerms"]
        assert {"key": "karpenter.sh/capacity-type", "operator": "NotIn", "values": ["spot"]} in (
            term["matchExpressions"]
        )
        assert {"key": "cloud.google.com/gke-spot", "operator": "NotIn", "values": ["true"]} in (
            term["matchExpressions"]
        )
        # No autoscaler owns its count: Pulumi keeps it at on_demand_replicas.
        assert "spec.replicas" not in pinned.ignore_changes

    def test_the_rest_scale_on_spot_from_zero(self, rec):
        elastic = named(rec, DEPLOYMENT, "us-east-1", "chat-v1")
        assert elastic.inputs["spec"]["replicas"] == 0
        assert pod(elastic)["affinity"] == scheduling.pool_affinity("l4", "nvidia-l4")
        (scaled,) = [
            r
            for r in in_region(rec, "kubernetes:keda.sh/v1alpha1:ScaledObject", "us-east-1")
            if r.inputs["metadata"]["name"] == "chat-v1"
        ]
        assert scaled.inputs["spec"]["minReplicaCount"] == 0
        assert scaled.inputs["spec"]["maxReplicaCount"] == 3
        # The on-demand pods' queue depth is what wakes the spot part: the query reads them.
        queries = [t["metadata"]["query"] for t in scaled.inputs["spec"]["triggers"]]
        assert all('pod=~"chat-v1-.*"' in q for q in queries)
        assert not rec.of_type("kubernetes:http.keda.sh/v1beta1:InterceptorRoute")

    def test_service_budget_and_spread_cover_both(self, rec):
        pinned = named(rec, DEPLOYMENT, "us-east-1", "chat-v1-on-demand")
        labels = pinned.inputs["spec"]["template"]["metadata"]["labels"]
        service = named(rec, SERVICE, "us-east-1", "chat-v1").inputs["spec"]["selector"]
        budget = named(rec, PDB, "us-east-1", "chat-v1").inputs["spec"]["selector"]
        assert service.items() <= labels.items()
        assert budget["matchLabels"].items() <= labels.items()

    def test_valid_core_objects(self, rec, on_demand_spec):
        version = on_demand_spec.regions[0].cluster.kubernetes_version
        pinned = named(rec, DEPLOYMENT, "us-east-1", "chat-v1-on-demand")
        body = json.loads(json.dumps(manifest(pinned)))
        kubernetes_validate.validate(body, f"{version}.0", strict=True)

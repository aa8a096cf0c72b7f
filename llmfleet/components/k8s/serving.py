"""A vLLM model server for one serving entry on one cluster, written once for EKS and GKE.

Per served version (the stable one and, during a rollout, the canary) the component makes a
Deployment of vLLM's OpenAI-compatible server, or a LeaderWorkerSet when a replica spans nodes,
and a ClusterIP Service the region's route splits traffic over. Around them: the namespace
(restricted pod security), the read-only ``model-reader`` service account the cloud grants
bucket access to, a PodDisruptionBudget per version and a NetworkPolicy that admits only the
gateway and the metrics scraper.

On a spot pool, ``on_demand_replicas`` of each version run in a second, fixed-size workload
pinned to on-demand nodes (``<version>-on-demand``, the same pods to the Service, the budget
and the spread); the autoscaled workload runs the rest on spot. Their selectors overlap, which
is safe: each ReplicaSet owns its pods by controller reference.

An entry with ``min_replicas: 0`` on a cluster running the KEDA HTTP add-on scales to zero:
its route goes to the add-on's interceptor (which holds requests while the first replica
starts) and an InterceptorRoute per version tells the interceptor where to send them.

Everything cloud-specific arrives as data: the weights URI (``s3://`` or ``gs://``, streamed by
vLLM's Run:ai Model Streamer), the environment the streamer needs, the peers the NetworkPolicy
admits and the grant resources the pods must wait for. Placement comes from the shared
scheduling contract (llmfleet/components/k8s/scheduling.py).
"""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from llmfleet.components import catalog
from llmfleet.components.component import Component
from llmfleet.components.k8s import autoscaling, scheduling, secrets
from llmfleet.components.k8s.namespace import restricted_namespace
from llmfleet.components.spec import GpuPoolSpec, ModelSpec, ServingSpec

MODEL_READER = "model-reader"
"""Kubernetes service account, in each serving namespace, allowed to read model weights."""

PORT = 8000
"""vLLM's HTTP port: the OpenAI API, /health and /metrics."""


@dataclass(frozen=True)
class ServerImage:
    """A vLLM server image pinned by tag and digest."""

    repository: str
    tag: str
    digest: str | None
    """``sha256:...`` of the multi-arch index; None where no digest was verified."""
    source: str
    """Where the tag (and digest) were read."""

    @property
    def reference(self) -> str:
        pinned = f"{self.repository}:{self.tag}"
        return f"{pinned}@{self.digest}" if self.digest else pinned


VLLM_GPU_IMAGE = ServerImage(
    "docker.io/vllm/vllm-openai",
    "v0.19.0",
    "sha256:d9a5c1c1614c959fde8d2a4d68449db184572528a6055afdd0caf1e66fb51504",
    "https://hub.docker.com/r/vllm/vllm-openai/tags?name=v0.19.0",
)
"""vLLM's CUDA build of the OpenAI-compatible server."""

VLLM_TPU_IMAGE = ServerImage(
    "docker.io/vllm/vllm-tpu",
    "v0.19.0",
    None,
    "https://hub.docker.com/r/vllm/vllm-tpu/tags?name=v0.19.0",
)
"""vLLM's TPU build (tpu-inference, JAX/XLA), same server and flags as the CUDA build."""

IMAGES: dict[scheduling.AcceleratorKind, ServerImage] = {
    "gpu": VLLM_GPU_IMAGE,
    "tpu": VLLM_TPU_IMAGE,
}

STREAMER_CONCURRENCY = 16
"""Parallel byte-range reads of the Run:ai Model Streamer from the bucket."""

STREAM_GIB_PER_SECOND = 0.5
"""Conservative streaming rate from a regional bucket into accelerator memory, for the startup
probe budget (the streamer reaches several GiB/s on 100 Gbit/s nodes)."""

ENGINE_START_SECONDS = 300
"""Engine start beside the weights: CUDA graph capture / XLA compilation, KV-cache allocation."""

NODE_START_SECONDS = 420
"""An accelerator node from nothing: the autoscaler's decision, instance launch and boot, the
device plugin advertising the accelerators and the image pull (Karpenter and GKE take two to
seven minutes for GPU nodes)."""

DRAIN_SECONDS = 15
"""preStop pause: the endpoint leaves the gateway's backends before vLLM gets SIGTERM."""

GRACE_SECONDS = 180
"""Termination grace: the drain plus time for in-flight generations to finish (uvicorn stops
accepting on SIGTERM and completes open requests)."""

ON_DEMAND_LABEL = "llmfleet.io/on-demand"
"""Pod label of the replicas pinned to on-demand nodes: their workload's selector adds it."""

HOST_SHARE = 0.8
"""Share of a node's CPU and memory the serving pods of a node request; the rest is left to
the kubelet, system daemons and the device plugin."""


def kubernetes_name(text: str) -> str:
    """``v1.2_rc`` -> ``v1-2-rc``: a version as a DNS label part."""
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def startup_budget_seconds(model: ModelSpec) -> int:
    """Seconds a pod may take from start to healthy: weights streamed at the conservative rate
    plus engine start, at least ten minutes."""
    stream = model.weights_size_gib() / STREAM_GIB_PER_SECOND
    return max(600, math.ceil((stream + ENGINE_START_SECONDS) / 60) * 60)


def cold_start_seconds(model: ModelSpec) -> int:
    """Seconds from the first request at zero replicas to a ready one: a node, then the pod's
    startup budget. The interceptor holds requests that long."""
    return NODE_START_SECONDS + startup_budget_seconds(model)


@dataclass
class ModelServerArgs:
    """One serving entry on one cluster, with what the cloud side provides."""

    serving: ServingSpec
    """The serving entry."""
    pool: GpuPoolSpec
    """The pool it runs on in this region."""
    instance: catalog.InstanceType
    """The pool's node type: sizes CPU, memory and /dev/shm of each pod."""
    models: Mapping[str, ModelSpec]
    """Each served version's model, by version."""
    weights: Mapping[str, pulumi.Input[str]]
    """Each served version's weights URI in this region's bucket, by version."""
    provider: kubernetes.Provider
    """The cluster's Kubernetes provider."""
    api_key: pulumi.Input[str]
    """Key of the fleet's API key in the cluster's ClusterSecretStore
    (llmfleet/components/k8s/secrets)."""
    admit_from: Sequence[Mapping[str, Any]]
    """NetworkPolicy peers allowed to reach the server: the gateway's data plane and the
    metrics scraper."""
    weights_env: Mapping[str, str] = field(default_factory=dict)
    """Environment the model streamer needs for this region's store (``AWS_REGION``)."""
    reader_grants: Sequence[pulumi.Resource] = ()
    """The cloud grants of bucket access to ``model-reader``: pods start after them."""
    metrics: autoscaling.MetricsSource | None = None
    """Where the cluster's Prometheus answers; None: no autoscaler (fixed replicas)."""
    autoscaler_ready: Sequence[pulumi.Resource] = ()
    """What ScaledObjects wait for: KEDA and its cloud identity."""
    wake_up: autoscaling.WakeUp | None = None
    """The cluster's KEDA HTTP add-on. An entry with ``min_replicas: 0`` scales to zero only
    with it (its route then goes through the add-on's interceptor); without it the entry keeps
    one replica."""
    after: Sequence[pulumi.Resource] = ()
    """Cluster add-ons the servers need first: the secret store, the LeaderWorkerSet
    controller."""


class ModelServer(Component):
    """vLLM servers of one serving entry on one cluster: one workload and Service per version."""

    namespace: kubernetes.core.v1.Namespace
    service_account: kubernetes.core.v1.ServiceAccount
    workloads: dict[str, pulumi.CustomResource]
    """Deployment or LeaderWorkerSet by served version (on a spot pool: its spot replicas)."""
    on_demand_workloads: dict[str, pulumi.CustomResource]
    """By served version, the fixed workload of its on-demand replicas (spot pools with
    ``on_demand_replicas``)."""
    services: dict[str, kubernetes.core.v1.Service]
    """ClusterIP Service by served version (the route's backends)."""
    disruption_budgets: dict[str, kubernetes.policy.v1.PodDisruptionBudget]
    network_policy: kubernetes.networking.v1.NetworkPolicy
    api_key: kubernetes.apiextensions.CustomResource
    """The ExternalSecret keeping the namespace's API-key Secret in sync with the cloud's."""
    scaled_objects: dict[str, kubernetes.apiextensions.CustomResource]
    """KEDA ScaledObject by served version."""
    interceptor_routes: dict[str, kubernetes.apiextensions.CustomResource]
    """The KEDA HTTP add-on's InterceptorRoute by served version (scale-to-zero entries)."""
    reference_grants: list[kubernetes.apiextensions.CustomResource]
    """ReferenceGrants letting the entry's HTTPRoute reach ``route_backends`` in other
    namespaces (the interceptor's); the route waits for them."""

    def __init__(
        self, name: str, args: ModelServerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llmfleet:k8s:ModelServer", name, None, opts)
        self._name = name
        self._args = args
        serving = args.serving
        self._wake_up = (
            args.wake_up if serving.min_replicas == 0 and args.metrics is not None else None
        )
        """The HTTP add-on this entry scales to zero on, if it does."""
        self._on_demand = serving.on_demand_replicas if args.pool.capacity == "spot" else 0
        """Replicas per version pinned to on-demand nodes (none where the pool is not spot:
        every replica is on-demand capacity there already)."""
        self.kind = catalog.accelerator(args.pool.accelerator).kind
        self.namespace = restricted_namespace(
            f"{name}-namespace",
            serving.name,
            self._child(),
            {"pod-security.kubernetes.io/enforce-version": "latest", **self._labels()},
        )
        self.service_account = kubernetes.core.v1.ServiceAccount(
            f"{name}-model-reader",
            metadata=self._metadata(MODEL_READER),
            # The cloud identity comes from Pod Identity (EKS) or Workload Identity (GKE),
            # neither of which needs the API token mounted.
            automount_service_account_token=False,
            opts=self._child(),
        )
        self.api_key = secrets.external_secret(
            f"{name}-api-key",
            serving.name,
            self.api_key_secret,
            args.api_key,
            self._child(depends_on=[self.namespace, *args.after]),
        )
        self.workloads = {}
        self.on_demand_workloads = {}
        self.services = {}
        self.disruption_budgets = {}
        for version in serving.versions():
            self.workloads[version] = self._workload(version)
            if self._on_demand:
                self.on_demand_workloads[version] = self._workload(version, on_demand=True)
            self.services[version] = self._service(version)
            self.disruption_budgets[version] = self._disruption_budget(version)
        self.reference_grants = []
        self.interceptor_routes = (
            self._interceptor_routes(self._wake_up) if self._wake_up is not None else {}
        )
        self.network_policy = self._network_policy()
        self.scaled_objects = self._autoscale(args.metrics) if args.metrics is not None else {}
        self.register_outputs(
            {
                "namespace": serving.name,
                "services": {v: s.metadata.name for v, s in self.services.items()},
            }
        )

    # --- names and labels ---------------------------------------------------------------

    def _child(self, **options: Any) -> pulumi.ResourceOptions:
        """Options of a child: parented to the server, on the cluster's provider."""
        return super()._child(provider=self._args.provider, **options)

    def _labels(self) -> dict[str, str]:
        return {
            "app.kubernetes.io/name": "vllm",
            "app.kubernetes.io/instance": self._args.serving.name,
            "app.kubernetes.io/managed-by": "llmfleet",
        }

    def _selector(self, version: str | None = None) -> dict[str, str]:
        """Pods of the serving entry, or of one of its versions."""
        selector = {"llmfleet.io/serving": self._args.serving.name}
        if version is not None:
            selector["llmfleet.io/version"] = kubernetes_name(version)
        return selector

    def workload_name(self, version: str) -> str:
        """``chat-v1``: the Deployment / LeaderWorkerSet and Service of one version."""
        return f"{self._args.serving.name}-{kubernetes_name(version)}"

    def _metadata(self, name: str, version: str | None = None) -> dict[str, Any]:
        labels = {**self._labels(), **self._selector(version)}
        return {"name": name, "namespace": self._args.serving.name, "labels": labels}

    @property
    def api_key_secret(self) -> str:
        """The Secret in the serving namespace holding the API key."""
        return f"{self._args.serving.name}-api-key"

    @property
    def multi_node(self) -> bool:
        return self._args.serving.nodes_per_replica > 1

    @property
    def scales_to_zero(self) -> bool:
        """Whether the entry runs no replica while idle: ``min_replicas: 0``, an autoscaler and
        the cluster's HTTP add-on to wake it."""
        return self._wake_up is not None

    def _route_key(self, version: str) -> str:
        """``chat/chat-v1``: the value of the routing header that picks one version's
        InterceptorRoute."""
        return f"{self._args.serving.name}/{self.workload_name(version)}"

    def route_backends(self) -> list[dict[str, Any]]:
        """Gateway API ``backendRefs`` of the region's HTTPRoute rule for this entry, whose
        route lives in the entry's namespace: the stable version's Service and, during a
        rollout, the canary's, weighted by the canary share so the weights always sum to 100.
        A scale-to-zero entry (no canary: the spec refuses one) goes to the HTTP add-on's
        interceptor instead, which a ReferenceGrant in the add-on's namespace allows."""
        serving = self._args.serving
        wake_up = self._wake_up
        if wake_up is not None:
            return [
                {
                    "group": "",
                    "kind": "Service",
                    "name": wake_up.service,
                    "namespace": wake_up.namespace,
                    "port": wake_up.port,
                    "weight": 100,
                }
            ]
        canary = serving.canary.weight if serving.canary else 0
        weights = {serving.version: 100 - canary}
        if serving.canary:
            weights[serving.canary.version] = canary
        return [
            {
                "group": "",
                "kind": "Service",
                "name": self.workload_name(version),
                "namespace": serving.name,
                "port": PORT,
                "weight": weight,
            }
            for version, weight in weights.items()
        ]

    def route_health(self) -> tuple[int, str]:
        """Pod port and path the gateway's load balancer checks ``route_backends`` on: vLLM's
        /health, or for a scale-to-zero entry the interceptor's readiness on its admin port
        (the proxy port answers only routed requests)."""
        if self._wake_up is not None:
            return self._wake_up.health_port, self._wake_up.health_path
        return PORT, "/health"

    def route_filters(self) -> list[dict[str, Any]]:
        """Gateway API filters the route rule must apply before these backends: none for the
        Services, which take the request as the client sent it; for the interceptor, the
        routing header naming the entry's InterceptorRoute (set, so a client cannot pick
        another entry's route)."""
        if self._wake_up is None:
            return []
        header = {
            "name": autoscaling.ROUTE_HEADER,
            "value": self._route_key(self._args.serving.version),
        }
        return [{"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [header]}}]

    # --- the pod ------------------------------------------------------------------------

    def _accelerators_per_pod(self) -> int:
        return self._args.serving.tensor_parallel(self._args.pool)

    def _host_share(self) -> float:
        """Share of the node one pod takes: its accelerators over the node's."""
        return self._accelerators_per_pod() / self._args.instance.accelerator_count

    def _resources(self) -> dict[str, Any]:
        instance = self._args.instance
        share = self._host_share() * HOST_SHARE
        accelerators = str(self._accelerators_per_pod())
        resource = scheduling.accelerator_resource(self.kind)
        memory = f"{max(1, math.floor(instance.memory_gib * share))}Gi"
        cpu = str(max(1, math.floor(instance.vcpu * share)))
        return {
            # Accelerators and memory are never overcommitted; CPU may burst (no CPU limit, so
            # tokenization and the API server are not throttled).
            "requests": {resource: accelerators, "cpu": cpu, "memory": memory},
            "limits": {resource: accelerators, "memory": memory},
        }

    def _shm_gib(self) -> int:
        """/dev/shm for tensor-parallel workers (NCCL, shared tensors): an eighth of the pod's
        memory, 2 to 64 GiB. It counts against the pod's memory limit."""
        share = self._args.instance.memory_gib * self._host_share() * HOST_SHARE
        return int(min(64, max(2, share // 8)))

    def _server_args(self, version: str) -> list[pulumi.Input[str]]:
        serving = self._args.serving
        args: list[pulumi.Input[str]] = [
            self._args.weights[version],
            "--load-format",
            "runai_streamer",
            "--model-loader-extra-config",
            json.dumps({"concurrency": STREAMER_CONCURRENCY}),
            # Stable and canary answer to the same model name: the split is invisible to callers.
            "--served-model-name",
            serving.name,
            "--tensor-parallel-size",
            str(serving.tensor_parallel(self._args.pool)),
            "--max-model-len",
            str(serving.max_model_len),
            "--port",
            str(PORT),
        ]
        if self.multi_node:
            args += [
                "--pipeline-parallel-size",
                str(serving.nodes_per_replica),
                "--distributed-executor-backend",
                "ray",
            ]
        return args

    def _env(self) -> list[dict[str, Any]]:
        cache = {
            "HOME": "/cache",
            "XDG_CACHE_HOME": "/cache",
            "HF_HOME": "/cache/huggingface",
            "VLLM_CACHE_ROOT": "/cache/vllm",
            # Weights come from the regional bucket only, never from a public hub.
            "HF_HUB_OFFLINE": "1",
            "VLLM_NO_USAGE_STATS": "1",
            **self._args.weights_env,
        }
        return [{"name": k, "value": v} for k, v in cache.items()] + [
            {
                "name": "VLLM_API_KEY",
                "valueFrom": {
                    "secretKeyRef": {"name": self.api_key_secret, "key": secrets.API_KEY_FIELD}
                },
            }
        ]

    def _probes(self, version: str) -> dict[str, Any]:
        health = {"path": "/health", "port": "http"}
        budget = startup_budget_seconds(self._args.models[version])
        return {
            "startupProbe": {
                "httpGet": health,
                "periodSeconds": 10,
                "failureThreshold": budget // 10,
            },
            "readinessProbe": {
                "httpGet": health,
                "periodSeconds": 5,
                "failureThreshold": 3,
            },
            "livenessProbe": {
                "httpGet": health,
                "periodSeconds": 15,
                "timeoutSeconds": 5,
                "failureThreshold": 4,
            },
        }

    def _container(self, version: str, *, serve: bool = True) -> dict[str, Any]:
        image = IMAGES[self.kind]
        container: dict[str, Any] = {
            "name": "vllm",
            "image": image.reference,
            "imagePullPolicy": "IfNotPresent",
            "resources": self._resources(),
            "env": self._env(),
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "runAsNonRoot": True,
                "capabilities": {"drop": ["ALL"]},
            },
            "volumeMounts": [
                {"name": "cache", "mountPath": "/cache"},
                {"name": "tmp", "mountPath": "/tmp"},
                {"name": "shm", "mountPath": "/dev/shm"},
            ],
        }
        if serve:
            container |= {
                "command": ["vllm", "serve"],
                "args": self._server_args(version),
                "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
                "lifecycle": {"preStop": {"sleep": {"seconds": DRAIN_SECONDS}}},
                **self._probes(version),
            }
        return container

    def _pod_spec(
        self, version: str, container: dict[str, Any], *, on_demand: bool
    ) -> dict[str, Any]:
        pool = self._args.pool
        return {
            "serviceAccountName": MODEL_READER,
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": GRACE_SECONDS,
            "enableServiceLinks": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 1000,
                "runAsGroup": 1000,
                "fsGroup": 1000,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "affinity": scheduling.pool_affinity(pool.name, pool.accelerator, on_demand=on_demand),
            "tolerations": [scheduling.accelerator_toleration(self.kind)],
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "topology.kubernetes.io/zone",
                    # A zone out of GPUs must not stop scale-out in the others; the scheduler
                    # still spreads wherever capacity allows.
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": self._selector(version)},
                }
            ],
            "containers": [container],
            "volumes": [
                {"name": "cache", "emptyDir": {}},
                {"name": "tmp", "emptyDir": {}},
                {
                    "name": "shm",
                    "emptyDir": {"medium": "Memory", "sizeLimit": f"{self._shm_gib()}Gi"},
                },
            ],
        }

    def _pod_template(
        self, version: str, *, serve: bool = True, on_demand: bool = False
    ) -> dict[str, Any]:
        labels = {**self._labels(), **self._selector(version)}
        if on_demand:
            labels[ON_DEMAND_LABEL] = "true"
        annotations = {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(PORT),
            "prometheus.io/path": "/metrics",
        }
        container = self._container(version, serve=serve)
        return {
            "metadata": {"labels": labels, "annotations": annotations},
            "spec": self._pod_spec(version, container, on_demand=on_demand),
        }

    # --- workloads ----------------------------------------------------------------------

    def _workload(self, version: str, *, on_demand: bool = False) -> pulumi.CustomResource:
        """The version's autoscaled workload or, with ``on_demand``, the fixed one of its
        on-demand replicas."""
        depends_on = [
            self.namespace,
            self.service_account,
            self.api_key,
            *self._args.reader_grants,
            *self._args.after,
        ]
        suffix = "-on-demand" if on_demand else ""
        if on_demand:
            opts = self._child(depends_on=depends_on)
            replicas = self._on_demand
        else:
            # The autoscaler owns the replica count once the workload exists.
            opts = self._child(depends_on=depends_on, ignore_changes=["spec.replicas"])
            elastic_min = self._args.serving.min_replicas - self._on_demand
            # Start one replica unless on-demand ones already serve.
            replicas = max(elastic_min, 0 if self._on_demand else 1)
        name = self.workload_name(version) + suffix
        resource = f"{self._name}-{kubernetes_name(version)}{suffix}"
        metadata = self._metadata(name, version)
        if on_demand:
            metadata["labels"][ON_DEMAND_LABEL] = "true"
        if self.multi_node:
            return kubernetes.apiextensions.CustomResource(
                resource,
                api_version="leaderworkerset.x-k8s.io/v1",
                kind="LeaderWorkerSet",
                metadata=metadata,
                spec=self._leader_worker_spec(version, replicas, on_demand=on_demand),
                opts=opts,
            )
        selector = self._selector(version) | ({ON_DEMAND_LABEL: "true"} if on_demand else {})
        return kubernetes.apps.v1.Deployment(
            resource,
            metadata=metadata,
            spec={
                "replicas": replicas,
                "selector": {"matchLabels": selector},
                # A new pod must be ready before an old one goes: capacity never dips.
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
                },
                "progressDeadlineSeconds": startup_budget_seconds(self._args.models[version]) + 300,
                "template": self._pod_template(version, on_demand=on_demand),
            },
            opts=opts,
        )

    def _leader_worker_spec(
        self, version: str, replicas: int, *, on_demand: bool
    ) -> dict[str, Any]:
        """Leader and workers of one replica: vLLM over Ray, tensor parallel inside each node
        and pipeline parallel across the ``nodes_per_replica`` nodes."""
        serving = self._args.serving
        leader = self._pod_template(version, on_demand=on_demand)
        leader_container = leader["spec"]["containers"][0]
        leader_container["command"] = ["/bin/sh", "-c"]
        leader_container["args"] = [
            pulumi.Output.all(*self._server_args(version)).apply(
                lambda args: (
                    "ray start --head --port=6379 && "
                    # vLLM places pipeline stages on the Ray cluster it finds: wait for every node.
                    "until [ $(ray list nodes --filter state=ALIVE --format yaml | grep -c node_id)"
                    f" -ge {serving.nodes_per_replica} ]; do sleep 5; done && exec vllm serve "
                    + " ".join(shlex.quote(a) for a in args)
                )
            )
        ]
        worker = self._pod_template(version, serve=False, on_demand=on_demand)
        worker_container = worker["spec"]["containers"][0]
        worker_container["command"] = ["/bin/sh", "-c"]
        worker_container["args"] = [
            "exec ray start --address=$(LWS_LEADER_ADDRESS):6379 --block",
        ]
        return {
            "replicas": replicas,
            "startupPolicy": "LeaderCreated",
            "rolloutStrategy": {
                "type": "RollingUpdate",
                "rollingUpdateConfiguration": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "leaderWorkerTemplate": {
                "size": serving.nodes_per_replica,
                "restartPolicy": "RecreateGroupOnPodRestart",
                "leaderTemplate": leader,
                "workerTemplate": worker,
            },
        }

    def _service(self, version: str) -> kubernetes.core.v1.Service:
        selector = self._selector(version)
        if self.multi_node:
            # Only the leader serves HTTP; workers run the remote pipeline stages.
            selector = {**selector, "leaderworkerset.sigs.k8s.io/worker-index": "0"}
        return kubernetes.core.v1.Service(
            f"{self._name}-{kubernetes_name(version)}",
            metadata=self._metadata(self.workload_name(version), version),
            spec={
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
            },
            opts=self._child(depends_on=[self.namespace]),
        )

    def _disruption_budget(self, version: str) -> kubernetes.policy.v1.PodDisruptionBudget:
        return kubernetes.policy.v1.PodDisruptionBudget(
            f"{self._name}-{kubernetes_name(version)}",
            metadata=self._metadata(self.workload_name(version), version),
            spec={
                # One replica at a time: a node drain or upgrade never takes the whole version
                # down, and a single replica (or zero) never blocks a drain forever.
                "maxUnavailable": 1,
                "selector": {"matchLabels": self._selector(version)},
            },
            opts=self._child(depends_on=[self.namespace]),
        )

    def _network_policy(self) -> kubernetes.networking.v1.NetworkPolicy:
        peers = [dict(peer) for peer in self._args.admit_from]
        if self._wake_up is not None:
            # The gateway reaches the pods through the add-on's interceptor.
            peers.append(self._wake_up.peer())
        ingress: list[dict[str, Any]] = [
            {
                "from": peers,
                "ports": [{"protocol": "TCP", "port": PORT}],
            }
        ]
        if self.multi_node:
            # Leader and workers of a replica talk Ray and NCCL on ports Ray picks.
            ingress.append({"from": [{"podSelector": {"matchLabels": self._selector()}}]})
        return kubernetes.networking.v1.NetworkPolicy(
            f"{self._name}-ingress",
            metadata=self._metadata(f"{self._args.serving.name}-ingress"),
            spec={
                "podSelector": {"matchLabels": self._selector()},
                "policyTypes": ["Ingress"],
                "ingress": ingress,
            },
            opts=self._child(depends_on=[self.namespace]),
        )

    # --- autoscaling ----------------------------------------------------------------------

    def _interceptor_routes(
        self, wake_up: autoscaling.WakeUp
    ) -> dict[str, kubernetes.apiextensions.CustomResource]:
        """Per version, the InterceptorRoute sending requests that carry its routing header to
        the version's Service, holding them through a cold start; plus the ReferenceGrant that
        lets the entry's HTTPRoute use the interceptor Service in the add-on's namespace."""
        namespace = self._args.serving.name
        grant = kubernetes.apiextensions.CustomResource(
            f"{self._name}-interceptor-grant",
            api_version="gateway.networking.k8s.io/v1beta1",
            kind="ReferenceGrant",
            metadata={
                "name": f"{namespace}-to-interceptor",
                "namespace": wake_up.namespace,
                "labels": {**self._labels(), **self._selector()},
            },
            spec={
                "from": [
                    {
                        "group": "gateway.networking.k8s.io",
                        "kind": "HTTPRoute",
                        "namespace": namespace,
                    }
                ],
                "to": [{"group": "", "kind": "Service", "name": wake_up.service}],
            },
            opts=self._child(depends_on=list(wake_up.ready)),
        )
        self.reference_grants.append(grant)
        routes = {}
        for version in self._args.serving.versions():
            name = self.workload_name(version)
            model = self._args.models[version]
            header = {"name": autoscaling.ROUTE_HEADER, "value": self._route_key(version)}
            routes[version] = kubernetes.apiextensions.CustomResource(
                f"{self._name}-{kubernetes_name(version)}-interceptor-route",
                api_version="http.keda.sh/v1beta1",
                kind="InterceptorRoute",
                metadata=self._metadata(name, version),
                spec={
                    "target": {"service": name, "port": PORT},
                    "rules": [{"headers": [header]}],
                    "scalingMetric": {
                        "concurrency": {"targetValue": autoscaling.CONCURRENCY_PER_REPLICA}
                    },
                    "timeouts": {
                        # Requests wait through a whole cold start instead of failing.
                        "readiness": f"{cold_start_seconds(model)}s",
                        "responseHeader": f"{autoscaling.RESPONSE_HEADER_SECONDS}s",
                    },
                },
                opts=self._child(depends_on=[self.namespace, *wake_up.ready]),
            )
        return routes

    def _autoscale(
        self, metrics: autoscaling.MetricsSource
    ) -> dict[str, kubernetes.apiextensions.CustomResource]:
        args = self._args
        namespace = args.serving.name
        after: list[pulumi.Resource] = [self.namespace, *args.autoscaler_ready]
        auth = None
        if metrics.pod_identity is not None:
            auth = f"{namespace}-metrics"
            after.append(
                kubernetes.apiextensions.CustomResource(
                    f"{self._name}-metrics-auth",
                    api_version="keda.sh/v1alpha1",
                    kind="TriggerAuthentication",
                    metadata=self._metadata(auth),
                    spec={"podIdentity": {"provider": metrics.pod_identity}},
                    opts=self._child(depends_on=[self.namespace]),
                )
            )
        if metrics.pod_monitoring:
            kubernetes.apiextensions.CustomResource(
                f"{self._name}-pod-monitoring",
                api_version="monitoring.googleapis.com/v1",
                kind="PodMonitoring",
                metadata=self._metadata(f"{namespace}-vllm"),
                spec={
                    "selector": {"matchLabels": self._selector()},
                    "endpoints": [
                        {
                            "port": "http",
                            "path": "/metrics",
                            "interval": f"{autoscaling.POLLING_SECONDS}s",
                        }
                    ],
                },
                opts=self._child(depends_on=[self.namespace]),
            )
        scaled = {}
        for version, workload in self.workloads.items():
            name = self.workload_name(version)
            api_version, kind = (
                ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet")
                if self.multi_node
                else ("apps/v1", "Deployment")
            )
            route = self.interceptor_routes.get(version)
            wake_up = self._wake_up.trigger(name) if self._wake_up is not None else None
            # The on-demand replicas are the fixed part; this scales the rest. Their queue
            # depth (the queries select them too) wakes the spot part from zero.
            spec = autoscaling.scaled_object_spec(
                target={"apiVersion": api_version, "kind": kind, "name": name},
                min_replicas=args.serving.min_replicas - self._on_demand,
                max_replicas=args.serving.max_replicas - self._on_demand,
                startup_seconds=startup_budget_seconds(args.models[version]),
                trigger_list=autoscaling.triggers(namespace, name, metrics, auth, wake_up),
                wake_up=wake_up is not None or self._on_demand > 0,
            )
            waits = [workload, *after, *([route] if route is not None else [])]
            scaled[version] = kubernetes.apiextensions.CustomResource(
                f"{self._name}-{kubernetes_name(version)}-autoscaler",
                api_version="keda.sh/v1alpha1",
                kind="ScaledObject",
                metadata=self._metadata(name, version),
                spec=spec,
                opts=self._child(depends_on=waits),
            )
        return scaled

"""Queue-depth autoscaling of model servers with KEDA, on a metrics pipeline each cloud runs.

vLLM exports how many requests wait for a slot (``vllm:num_requests_waiting``) and how full
its KV cache is (``vllm:kv_cache_usage_perc``): the two signals that say a replica is
saturated, long before CPU or GPU utilisation does. KEDA reads them from the cloud's managed
Prometheus (Google Managed Service for Prometheus through Workload Identity, Amazon Managed
Service for Prometheus with SigV4 through Pod Identity) and drives each served version's replica
count between the entry's bounds.

Cooldowns fit GPU cold starts: scale-up reacts at once, scale-down waits minutes, and a fresh
replica is never judged before it could have loaded its weights. Scaling to zero needs a
wake-up trigger that exists while no replica runs; a metric only the server exports vanishes
with the last replica and could never bring the first one back. Clusters serving an entry with
``min_replicas: 0`` run the KEDA HTTP add-on for that: the gateway sends the entry's requests
through the add-on's interceptor, which holds them while the first replica starts, and the
add-on's scaler reports them to KEDA as an ``external-push`` trigger of the entry's own
ScaledObject (beside queue depth and KV cache: KEDA refuses two ScaledObjects on one workload).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from llmfleet.components.component import Component
from llmfleet.components.k8s import scheduling
from llmfleet.components.k8s.helm import HelmChart, helm_release
from llmfleet.components.k8s.namespace import restricted_namespace

KEDA = HelmChart("keda", "https://kedacore.github.io/charts", "2.20.2")
"""KEDA, the chart and CRD release the vendored ScaledObject schema comes from."""
KEDA_NAMESPACE = "keda"
KEDA_OPERATOR = "keda-operator"
"""KEDA's operator service account: the identity it queries a managed Prometheus with."""

HTTP_ADD_ON = HelmChart("keda-add-ons-http", "https://kedacore.github.io/charts", "0.15.0")
"""The KEDA HTTP add-on (interceptor, scaler, operator), the release the vendored
InterceptorRoute schema comes from; its end-to-end tests run on KEDA 2.20, the KEDA pinned
above."""
INTERCEPTOR_SERVICE = f"{HTTP_ADD_ON.name}-interceptor-proxy"
"""The interceptor's proxy Service (chart name + ``interceptor.proxy.service``)."""
INTERCEPTOR_PORT = 8080
"""The interceptor's proxy port (chart default ``interceptor.proxy.port``)."""
INTERCEPTOR_ADMIN_PORT = 9090
"""The interceptor's admin port (chart default ``interceptor.admin.port``): ``/readyz`` is the
readiness external load balancers check (503 while the interceptor drains)."""
SCALER_ADDRESS = f"{HTTP_ADD_ON.name}-external-scaler.{KEDA_NAMESPACE}:9090"
"""The add-on's external scaler (chart name + ``scaler.service``, ``scaler.grpcPort``)."""
INTERCEPTOR_POD_LABELS = {
    "app.kubernetes.io/name": "http-add-on",
    "app.kubernetes.io/component": "interceptor",
}
"""Labels of the interceptor's pods (the chart's selector): the peer a model server admits."""
ROUTE_HEADER = "x-llmfleet-route"
"""Request header the gateway sets to the InterceptorRoute it means: the interceptor picks the
backend by it (a core Gateway API filter, so every gateway implementation can set it)."""
CONCURRENCY_PER_REPLICA = 16
"""In-flight requests per replica the add-on's scaler reports as the target: it only matters
until queue depth takes over, since vLLM batches far more than that."""
RESPONSE_HEADER_SECONDS = 900
"""How long the interceptor waits for a response's headers once the request is sent: a long
non-streamed generation sends none until it is done."""

QUEUE_PER_REPLICA = 4
"""Waiting requests per replica the autoscaler holds the version at: above it, add replicas."""
KV_CACHE_PER_REPLICA = 0.8
"""KV-cache use per replica the autoscaler holds the version at."""
POLLING_SECONDS = 15
SCALE_DOWN_WINDOW_SECONDS = 600
"""A replica takes minutes to come back: scale down only after ten quiet minutes."""
IDLE_SECONDS = 1800
"""With scale to zero, the last replica goes after half an hour without requests."""


@dataclass(frozen=True)
class MetricsSource:
    """Where the cluster's Prometheus answers queries and how KEDA authenticates."""

    server_address: pulumi.Input[str]
    """Prometheus query API base URL."""
    pod_identity: str | None = None
    """KEDA pod-identity provider (``gcp``, ``aws``) KEDA authenticates with; None: none."""
    metadata: Mapping[str, str] = field(default_factory=dict)
    """Extra prometheus-trigger metadata of the endpoint (``awsRegion``)."""
    pod_monitoring: bool = False
    """Whether serving namespaces need a PodMonitoring (Google Managed Prometheus collects only
    what PodMonitorings select); AMP's collector finds the servers by its scrape
    configuration."""
    operator_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Annotations of KEDA's operator service account binding it to its cloud identity."""


@dataclass(frozen=True)
class WakeUp:
    """The KEDA HTTP add-on on one cluster: where the gateway sends requests of scale-to-zero
    entries, and the trigger that brings their first replica up."""

    ready: Sequence[pulumi.Resource]
    """What an InterceptorRoute and a ScaledObject with the trigger wait for: the add-on's CRDs
    and scaler."""
    namespace: str = KEDA_NAMESPACE
    """Namespace of the interceptor Service (the route's backend needs a ReferenceGrant there)."""
    service: str = INTERCEPTOR_SERVICE
    port: int = INTERCEPTOR_PORT
    health_port: int = INTERCEPTOR_ADMIN_PORT
    """Where a load balancer in front of the interceptor checks it (``health_path``)."""
    health_path: str = "/readyz"
    scaler_address: str = SCALER_ADDRESS

    def trigger(self, route: str) -> dict[str, Any]:
        """The ``external-push`` trigger that reports the requests the interceptor holds or
        proxies for InterceptorRoute ``route`` (in the ScaledObject's namespace): active from
        the first request, with no replica running."""
        return {
            "type": "external-push",
            "name": "wake-up",
            "metadata": {"scalerAddress": self.scaler_address, "interceptorRoute": route},
        }

    def peer(self) -> dict[str, Any]:
        """The NetworkPolicy peer of the interceptor's pods."""
        return {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": self.namespace}},
            "podSelector": {"matchLabels": dict(INTERCEPTOR_POD_LABELS)},
        }


def http_add_on_release(
    resource: str,
    provider: kubernetes.Provider,
    parent: pulumi.Resource,
    keda: kubernetes.helm.v3.Release,
) -> WakeUp:
    """The KEDA HTTP add-on beside KEDA, on the system pool, passing restricted pod security
    (the chart's defaults set neither ``runAsNonRoot`` nor a seccomp profile)."""
    system = scheduling.pool_node_selector(scheduling.SYSTEM_POOL)
    release = helm_release(
        resource,
        HTTP_ADD_ON,
        {
            "operator": {"nodeSelector": system},
            "scaler": {"nodeSelector": system, "replicas": 2},
            "interceptor": {
                "nodeSelector": system,
                "replicas": {"min": 2},
                "topologySpreadConstraints": [
                    {
                        "maxSkew": 1,
                        "topologyKey": "topology.kubernetes.io/zone",
                        "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": dict(INTERCEPTOR_POD_LABELS)},
                    }
                ],
            },
            "podSecurityContext": {
                "runAsNonRoot": True,
                "runAsUser": 1000,
                "runAsGroup": 1000,
                "fsGroup": 1000,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
        },
        KEDA_NAMESPACE,
        # The add-on's interceptor is scaled by a ScaledObject: KEDA's CRDs come first.
        pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=[keda]),
    )
    return WakeUp(ready=[release])


def keda_release(
    resource: str,
    provider: kubernetes.Provider,
    parent: pulumi.Resource,
    operator_annotations: Mapping[str, pulumi.Input[str]],
    identity: Sequence[pulumi.Resource] = (),
) -> kubernetes.helm.v3.Release:
    """KEDA in its own namespace, on the system pool; its pods start after ``identity`` (Pod
    Identity gives credentials only to pods created after the association)."""
    opts = pulumi.ResourceOptions(parent=parent, provider=provider)
    namespace = restricted_namespace(f"{resource}-namespace", KEDA_NAMESPACE, opts)
    system = scheduling.pool_node_selector(scheduling.SYSTEM_POOL)
    return helm_release(
        resource,
        KEDA,
        {
            "nodeSelector": system,
            "serviceAccount": {
                "operator": {"name": KEDA_OPERATOR, "annotations": dict(operator_annotations)}
            },
            "operator": {"replicaCount": 2},
            "metricsServer": {"replicaCount": 2},
            "podDisruptionBudget": {
                "operator": {"minAvailable": 1},
                "metricServer": {"minAvailable": 1},
            },
        },
        namespace.metadata.name,
        pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(identity))),
    )


def _selector(namespace: str, workload: str) -> str:
    return f'namespace="{namespace}",pod=~"{workload}-.*"'


def triggers(
    namespace: str,
    workload: str,
    metrics: MetricsSource,
    auth: str | None,
    wake_up: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """KEDA triggers of one served version: queue depth and KV cache per replica, plus the
    wake-up triggers that keep working at zero replicas."""
    selector = _selector(namespace, workload)
    queries = {
        "queue-depth": (f"sum(vllm:num_requests_waiting{{{selector}}})", QUEUE_PER_REPLICA),
        "kv-cache": (f"sum(vllm:kv_cache_usage_perc{{{selector}}})", KV_CACHE_PER_REPLICA),
    }
    found = []
    for name, (query, target) in queries.items():
        trigger: dict[str, Any] = {
            "type": "prometheus",
            "name": name,
            "metricType": "AverageValue",
            "metadata": {
                "serverAddress": metrics.server_address,
                "query": query,
                "threshold": str(target),
                **metrics.metadata,
            },
        }
        if auth is not None:
            trigger["authenticationRef"] = {"name": auth}
        found.append(trigger)
    return found + ([dict(wake_up)] if wake_up is not None else [])


def scaled_object_spec(
    *,
    target: Mapping[str, str],
    min_replicas: int,
    max_replicas: int,
    startup_seconds: int,
    trigger_list: list[dict[str, Any]],
    wake_up: bool,
) -> dict[str, Any]:
    """The ScaledObject spec of one served version.

    ``min_replicas`` 0 is kept only with a wake-up trigger (``wake_up``: one of
    ``trigger_list`` stays active while no replica runs); without one the floor is 1.
    """
    floor = min_replicas if (min_replicas > 0 or wake_up) else 1
    return {
        "scaleTargetRef": dict(target),
        "minReplicaCount": floor,
        "maxReplicaCount": max_replicas,
        "pollingInterval": POLLING_SECONDS,
        "cooldownPeriod": IDLE_SECONDS,
        # A new workload is not scaled to zero before its first replica could have loaded.
        "initialCooldownPeriod": startup_seconds,
        # Metrics unreachable three times: hold the floor (at least one replica) instead of
        # guessing.
        "fallback": {"failureThreshold": 3, "replicas": max(1, floor)},
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                "behavior": {
                    "scaleUp": {
                        "stabilizationWindowSeconds": 0,
                        "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}],
                    },
                    "scaleDown": {
                        "stabilizationWindowSeconds": SCALE_DOWN_WINDOW_SECONDS,
                        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 300}],
                    },
                }
            }
        },
        "triggers": trigger_list,
    }


@dataclass
class ClusterAutoscalingArgs:
    provider: kubernetes.Provider
    """The cluster's Kubernetes provider."""
    managed_metrics: MetricsSource
    """The cloud's managed Prometheus endpoint."""
    identity: Sequence[pulumi.Resource] = ()
    """Grants KEDA's operator needs to query ``managed_metrics``: KEDA waits for them."""
    wake_up: bool = False
    """Install the KEDA HTTP add-on: the cluster serves an entry that scales to zero."""


class ClusterAutoscaling(Component):
    """KEDA on one cluster, reading the cloud's managed Prometheus; the KEDA HTTP add-on where
    an entry scales to zero."""

    metrics: MetricsSource
    keda: kubernetes.helm.v3.Release
    wake_up: WakeUp | None
    """The HTTP add-on, where installed."""

    def __init__(
        self, name: str, args: ClusterAutoscalingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llmfleet:k8s:ClusterAutoscaling", name, None, opts)
        self.metrics = args.managed_metrics
        self.keda = keda_release(
            f"{name}-keda",
            args.provider,
            self,
            self.metrics.operator_annotations,
            args.identity,
        )
        self.ready: list[pulumi.Resource] = [self.keda, *args.identity]
        """What a ScaledObject waits for: KEDA's CRDs and the operator's cloud identity."""
        self.wake_up = (
            http_add_on_release(f"{name}-http-add-on", args.provider, self, self.keda)
            if args.wake_up
            else None
        )
        self.register_outputs({"prometheus": self.metrics.server_address})

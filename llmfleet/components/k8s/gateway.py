"""A cluster's regional entry, written once for EKS and GKE: one Gateway API Gateway and one
HTTPRoute per served model.

The Gateway listens on HTTPS only (port 443, no plain-HTTP listener) for the region's name and
the fleet's global name; its class, address and certificates come from the cloud as data
(``llmfleet.components.contracts.RegionalEntry``). Each serving entry gets an HTTPRoute in its
own namespace: a client addresses a model by path prefix, ``https://<name>/<serving>/v1/...``,
and the route strips ``/<serving>`` before the request reaches vLLM, so an OpenAI client's
``base_url`` is ``https://<name>/<serving>/v1``. The backends and any extra filters come from
the model server itself (``ModelServer.route_backends`` / ``route_filters``: the stable and
canary Services weighted by the canary share, or a wake-up proxy in another namespace, whose
ReferenceGrant the server makes and the route waits for).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from llmfleet.components.component import Component
from llmfleet.components.k8s.namespace import restricted_namespace
from llmfleet.components.k8s.serving import ModelServer

GATEWAY_API = "gateway.networking.k8s.io"
GATEWAY_API_VERSION = f"{GATEWAY_API}/v1"

GATEWAY_NAMESPACE = "llmfleet-gateway"
"""Namespace of each cluster's Gateway and the objects its implementation reads."""

GATEWAY_NAME = "llmfleet"
LISTENER = "https"
HTTPS_PORT = 443

ROUTED_NAMESPACES = {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/managed-by": "llmfleet"}
"""Labels of the serving namespaces whose HTTPRoutes the Gateway admits (ModelServer sets
them); routes from any other namespace are ignored."""

WAIT_FOR_ADDRESS = "jsonpath={.status.addresses[0].value}"
"""``pulumi.com/waitFor``: the Gateway counts as created once its implementation has published
the load balancer's address, so DNS records made from it never race the controller."""


def route_prefix(serving: str) -> str:
    """``/chat``: the path prefix that addresses one serving entry through the gateway."""
    return f"/{serving}"


def health_path(serving: str) -> str:
    """``/chat/health``: vLLM's /health of one serving entry, through the gateway (vLLM answers
    it without the API key)."""
    return f"{route_prefix(serving)}/health"


@dataclass(frozen=True)
class GatewayObject:
    """A custom object the Gateway's implementation reads, created beside the Gateway in its
    namespace (AWS Load Balancer Controller parameters)."""

    api_version: str
    kind: str
    name: str
    spec: pulumi.Input[Mapping[str, Any]]


@dataclass(frozen=True)
class Backend:
    """A Service a route sends to, and how its pods answer the load balancer's health check."""

    name: str
    namespace: str
    health_port: int
    """The pods' port the check goes to (vLLM's 8000; a wake-up proxy's admin port)."""
    health_path: str


@dataclass(frozen=True)
class BackendPolicy:
    """An object the implementation needs beside every backend Service (a health check, load
    balancer settings), named after the Service."""

    api_version: str
    kind: str
    spec: Callable[[Backend], Mapping[str, Any]]
    """The object's spec for one backend (it names its target Service itself)."""


@dataclass
class RegionalGatewayArgs:
    """One cluster's Gateway: its names, what the cloud supplies and the model servers."""

    hostnames: Sequence[str]
    """The names it answers on: the region's own, then the fleet's global one."""
    gateway_class: str
    """The GatewayClass of the cluster's implementation."""
    servers: Mapping[str, ModelServer]
    """The model servers on this cluster, by serving name: one HTTPRoute each."""
    provider: kubernetes.Provider
    """The cluster's Kubernetes provider."""
    class_controller: str | None = None
    """Create the GatewayClass with this controller name; None: the cluster provides it."""
    addresses: Sequence[Mapping[str, pulumi.Input[str]]] = ()
    """``spec.addresses`` of the Gateway (a reserved address)."""
    annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Annotations of the Gateway (a certificate map)."""
    infrastructure: Mapping[str, Any] | None = None
    """``spec.infrastructure`` of the Gateway (a parameters reference)."""
    objects: Sequence[GatewayObject] = ()
    """Objects the implementation reads, created before the Gateway."""
    backend_policies: Sequence[BackendPolicy] = ()
    """Policies every backend Service gets (health check, timeouts)."""
    after: Sequence[pulumi.Resource] = ()
    """What the Gateway waits for: the controller, issued certificates."""


class RegionalGateway(Component):
    """The Gateway of one cluster and an HTTPRoute per model server."""

    namespace: kubernetes.core.v1.Namespace
    gateway: kubernetes.apiextensions.CustomResource
    routes: dict[str, kubernetes.apiextensions.CustomResource]
    """HTTPRoute by serving name."""
    backend_policies: dict[str, kubernetes.apiextensions.CustomResource]
    """By ``namespace/service/kind``."""

    def __init__(
        self, name: str, args: RegionalGatewayArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llmfleet:k8s:RegionalGateway", name, None, opts)
        self._name = name
        self._args = args
        self.namespace = restricted_namespace(
            f"{name}-namespace",
            GATEWAY_NAMESPACE,
            self._child(),
            {"app.kubernetes.io/managed-by": "llmfleet"},
        )
        before = [self.namespace, *args.after]
        if args.class_controller is not None:
            before.append(
                kubernetes.apiextensions.CustomResource(
                    f"{name}-class",
                    api_version=GATEWAY_API_VERSION,
                    kind="GatewayClass",
                    metadata={"name": args.gateway_class},
                    spec={"controllerName": args.class_controller},
                    opts=self._child(depends_on=list(args.after)),
                )
            )
        before += [
            kubernetes.apiextensions.CustomResource(
                f"{name}-{obj.name}",
                api_version=obj.api_version,
                kind=obj.kind,
                metadata={"name": obj.name, "namespace": GATEWAY_NAMESPACE},
                spec=obj.spec,
                opts=self._child(depends_on=[self.namespace, *args.after]),
            )
            for obj in args.objects
        ]
        self.gateway = kubernetes.apiextensions.CustomResource(
            f"{name}-gateway",
            api_version=GATEWAY_API_VERSION,
            kind="Gateway",
            metadata={
                "name": GATEWAY_NAME,
                "namespace": GATEWAY_NAMESPACE,
                "annotations": {**args.annotations, "pulumi.com/waitFor": WAIT_FOR_ADDRESS},
            },
            spec=self._gateway_spec(),
            opts=self._child(depends_on=before),
        )
        self.backend_policies = {}
        self.routes = {
            serving: self._route(serving, server) for serving, server in args.servers.items()
        }
        self.register_outputs(
            {
                "gateway": self.gateway.metadata,
                "routes": sorted(self.routes),
                "hostnames": list(args.hostnames),
            }
        )

    def _child(self, **options: Any) -> pulumi.ResourceOptions:
        # Every object goes to the region's cluster.
        return super()._child(provider=self._args.provider, **options)

    def _gateway_spec(self) -> dict[str, Any]:
        args = self._args
        spec: dict[str, Any] = {
            "gatewayClassName": args.gateway_class,
            # HTTPS only: no plain-HTTP listener exists to fall back to. Certificates are bound
            # by the implementation's own means (a certificate map, load balancer parameters).
            "listeners": [
                {
                    "name": LISTENER,
                    "protocol": "HTTPS",
                    "port": HTTPS_PORT,
                    "allowedRoutes": {
                        "kinds": [{"group": GATEWAY_API, "kind": "HTTPRoute"}],
                        "namespaces": {
                            "from": "Selector",
                            "selector": {"matchLabels": dict(ROUTED_NAMESPACES)},
                        },
                    },
                }
            ],
        }
        if args.addresses:
            spec["addresses"] = [dict(a) for a in args.addresses]
        if args.infrastructure is not None:
            spec["infrastructure"] = dict(args.infrastructure)
        return spec

    def _route(self, serving: str, server: ModelServer) -> kubernetes.apiextensions.CustomResource:
        backends = server.route_backends()
        after: list[pulumi.Resource] = [server.namespace, *server.services.values()]
        after += self._cross_namespace(serving, server, backends)
        after += self._backend_policies(backends, server)
        return kubernetes.apiextensions.CustomResource(
            f"{self._name}-{serving}-route",
            api_version=GATEWAY_API_VERSION,
            kind="HTTPRoute",
            metadata={
                "name": serving,
                "namespace": serving,
                "labels": {"app.kubernetes.io/managed-by": "llmfleet"},
            },
            spec={
                "parentRefs": [
                    {
                        "group": GATEWAY_API,
                        "kind": "Gateway",
                        "name": GATEWAY_NAME,
                        "namespace": GATEWAY_NAMESPACE,
                        "sectionName": LISTENER,
                    }
                ],
                "hostnames": list(self._args.hostnames),
                "rules": [
                    {
                        "matches": [
                            {"path": {"type": "PathPrefix", "value": route_prefix(serving)}}
                        ],
                        "filters": [
                            {
                                "type": "URLRewrite",
                                "urlRewrite": {
                                    "path": {
                                        "type": "ReplacePrefixMatch",
                                        "replacePrefixMatch": "/",
                                    }
                                },
                            },
                            *server.route_filters(),
                        ],
                        "backendRefs": backends,
                    }
                ],
            },
            opts=self._child(depends_on=[self.gateway, *after]),
        )

    def _cross_namespace(
        self, serving: str, server: ModelServer, backends: Sequence[Mapping[str, Any]]
    ) -> list[pulumi.Resource]:
        """What a route to backends in other namespaces waits for: the server's ReferenceGrants
        there (Gateway API refuses a cross-namespace backend without the target namespace's
        consent) and its wake-up proxy routes."""
        crossing = sorted(
            {b["namespace"] for b in backends if b.get("namespace", serving) != serving}
        )
        if crossing and not server.reference_grants:
            raise ValueError(
                f"serving '{serving}' routes to namespace {', '.join(crossing)} without a "
                "ReferenceGrant there"
            )
        return [*server.reference_grants, *server.interceptor_routes.values()]

    def _backend_policies(
        self, backends: Sequence[Mapping[str, Any]], server: ModelServer
    ) -> list[pulumi.Resource]:
        """Each of the implementation's policies once per backend Service (two routes may share
        a backend)."""
        port, path = server.route_health()
        made = []
        for ref in backends:
            backend = Backend(ref["name"], ref["namespace"], port, path)
            for policy in self._args.backend_policies:
                key = f"{backend.namespace}/{backend.name}/{policy.kind}"
                if key not in self.backend_policies:
                    self.backend_policies[key] = kubernetes.apiextensions.CustomResource(
                        f"{self._name}-{backend.namespace}-{backend.name}-{policy.kind.lower()}",
                        api_version=policy.api_version,
                        kind=policy.kind,
                        metadata={"name": backend.name, "namespace": backend.namespace},
                        spec=policy.spec(backend),
                        opts=self._child(depends_on=[server.namespace]),
                    )
                made.append(self.backend_policies[key])
        return made

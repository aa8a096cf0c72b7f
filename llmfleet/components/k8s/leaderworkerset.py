"""The LeaderWorkerSet controller on clusters that serve a model across nodes.

A replica spanning nodes is a LeaderWorkerSet (a leader pod and its workers, created, restarted
and scaled as one group); the controller from the project's upstream chart reconciles them. Its
chart carries the CRD release the vendored schema in tests/schemas/lws comes from, so the
objects the tests validate are the objects this controller accepts.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

from llmfleet.components.component import Component
from llmfleet.components.k8s import scheduling
from llmfleet.components.k8s.helm import HelmChart, helm_release
from llmfleet.components.k8s.namespace import restricted_namespace

LWS = HelmChart("lws", None, "0.10.0", chart="oci://registry.k8s.io/lws/charts/lws")
"""The LeaderWorkerSet chart (controller v0.10.0, CRD ``leaderworkerset.x-k8s.io/v1``)."""
NAMESPACE = "lws-system"
"""The controller's namespace (the one upstream installs into)."""


@dataclass
class LeaderWorkerSetControllerArgs:
    provider: kubernetes.Provider
    """The cluster's Kubernetes provider."""


class LeaderWorkerSetController(Component):
    """The LeaderWorkerSet controller and its CRDs on one cluster, on the system pool."""

    release: kubernetes.helm.v3.Release
    """What a LeaderWorkerSet waits for: the CRD and the controller's webhook."""

    def __init__(
        self,
        name: str,
        args: LeaderWorkerSetControllerArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmfleet:k8s:LeaderWorkerSetController", name, None, opts)
        namespace = restricted_namespace(
            f"{name}-namespace", NAMESPACE, self._child(provider=args.provider)
        )
        self.release = helm_release(
            f"{name}-controller",
            LWS,
            {
                # Two managers with leader election: a drained system node never stops
                # reconciling (or the admission webhook every LeaderWorkerSet passes).
                "replicaCount": 2,
                "nodeSelector": scheduling.pool_node_selector(scheduling.SYSTEM_POOL),
                # The chart sets runAsNonRoot but no seccomp profile, which restricted needs.
                "podSecurityContext": {
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
            },
            namespace.metadata.name,
            self._child(provider=args.provider),
        )
        self.register_outputs({"chart_version": LWS.version})

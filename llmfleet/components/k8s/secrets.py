"""External Secrets Operator on a cluster: syncs the fleet's API key from the cloud's secret
store into each serving namespace, through the controller's workload identity (no static keys).

The cloud side (llmfleet/components/aws/api_key.py, llmfleet/components/gcp/api_key.py) makes
the secret and grants the controller's service account read access to it; this module
installs the controller from its upstream chart and the ClusterSecretStore pointing at that store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from llmfleet.components.component import Component
from llmfleet.components.k8s import scheduling
from llmfleet.components.k8s.helm import HelmChart, helm_release
from llmfleet.components.k8s.namespace import restricted_namespace

EXTERNAL_SECRETS = HelmChart("external-secrets", "https://charts.external-secrets.io", "2.4.1")
"""External Secrets Operator chart (serves ``external-secrets.io/v1``)."""

NAMESPACE = "external-secrets"
"""Namespace of the controller."""
SERVICE_ACCOUNT = "external-secrets"
"""The controller's service account (the chart's default name); the cloud grants it reads."""
STORE = "llmfleet-secrets"
"""Name of the ClusterSecretStore serving namespaces read the API key through."""
API_KEY_FIELD = "api-key"
"""Key of the API key in the synced Secret."""


@dataclass
class SecretSyncArgs:
    provider: kubernetes.Provider
    """The cluster's Kubernetes provider."""
    store: Mapping[str, Any]
    """The ClusterSecretStore ``spec.provider``: ``{"aws": {...}}`` or ``{"gcpsm": {...}}``,
    with no ``auth`` block, so the controller authenticates as its own workload identity."""
    identity: Sequence[pulumi.Resource] = ()
    """The cloud grants to the controller's service account: the store waits for them."""


class SecretSync(Component):
    """The External Secrets controller and the cluster's store of the fleet's API key."""

    release: kubernetes.helm.v3.Release
    store: kubernetes.apiextensions.CustomResource

    def __init__(
        self, name: str, args: SecretSyncArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llmfleet:k8s:SecretSync", name, None, opts)
        namespace = restricted_namespace(
            f"{name}-namespace", NAMESPACE, self._child(provider=args.provider)
        )
        self.release = helm_release(
            f"{name}-external-secrets",
            EXTERNAL_SECRETS,
            {
                "installCRDs": True,
                "serviceAccount": {"name": SERVICE_ACCOUNT},
                "replicaCount": 2,
                "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
                # The controller runs on the system pool, never on accelerator nodes.
                "nodeSelector": scheduling.pool_node_selector(scheduling.SYSTEM_POOL),
            },
            namespace.metadata.name,
            self._child(provider=args.provider, depends_on=list(args.identity)),
        )
        self.store = kubernetes.apiextensions.CustomResource(
            f"{name}-store",
            api_version="external-secrets.io/v1",
            kind="ClusterSecretStore",
            metadata={"name": STORE},
            spec={"provider": dict(args.store)},
            opts=self._child(provider=args.provider, depends_on=[self.release]),
        )
        self.register_outputs({"store": STORE})


def external_secret(
    resource: str,
    namespace: str,
    secret_name: str,
    remote_key: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> kubernetes.apiextensions.CustomResource:
    """An ExternalSecret keeping Secret ``namespace/secret_name`` equal to ``remote_key`` of
    the cluster's store, under ``API_KEY_FIELD``."""
    return kubernetes.apiextensions.CustomResource(
        resource,
        api_version="external-secrets.io/v1",
        kind="ExternalSecret",
        metadata={"name": secret_name, "namespace": namespace},
        spec={
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": STORE},
            "target": {"name": secret_name, "creationPolicy": "Owner"},
            "data": [{"secretKey": API_KEY_FIELD, "remoteRef": {"key": remote_key}}],
        },
        opts=opts,
    )

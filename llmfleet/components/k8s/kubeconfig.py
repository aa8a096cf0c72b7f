"""Kubeconfigs whose user runs a credential plugin (``aws eks get-token``,
``gke-gcloud-auth-plugin``) for a short-lived token on every call: no static credentials, and no
dependence on whatever kubeconfig the machine running Pulumi happens to have."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"
"""The credential plugin protocol both cloud plugins speak."""


def exec_kubeconfig(
    cluster_name: str,
    server: str,
    ca_data: str | None,
    command: str,
    args: Sequence[str] = (),
    *,
    install_hint: str | None = None,
    interactive_mode: str | None = None,
    provide_cluster_info: bool = False,
) -> str:
    """A kubeconfig (JSON) with one cluster, one context and one user, all named
    ``cluster_name``, whose user runs ``command args...`` for its token.

    ``server`` is the API server URL and ``ca_data`` its base64 PEM CA bundle (None for a
    server with a publicly trusted certificate, such as GKE's DNS-based endpoint). The keyword
    arguments are the plugin's optional settings: ``install_hint`` is shown when ``command`` is
    missing, ``interactive_mode`` (``Never``) keeps the plugin from prompting, and
    ``provide_cluster_info`` passes the cluster entry to the plugin.
    """
    plugin: dict[str, Any] = {"apiVersion": EXEC_API_VERSION, "command": command}
    if args:
        plugin["args"] = list(args)
    if install_hint is not None:
        plugin["installHint"] = install_hint
    if interactive_mode is not None:
        plugin["interactiveMode"] = interactive_mode
    if provide_cluster_info:
        plugin["provideClusterInfo"] = True
    cluster: dict[str, str] = {"server": server}
    if ca_data is not None:
        cluster["certificate-authority-data"] = ca_data
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster_name, "cluster": cluster}],
            "contexts": [
                {"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}
            ],
            "current-context": cluster_name,
            "users": [{"name": cluster_name, "user": {"exec": plugin}}],
        },
        indent=2,
    )

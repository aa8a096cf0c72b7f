"""exec_kubeconfig: one cluster, context and user, the user running a credential plugin."""

from __future__ import annotations

import json

from llmfleet.components.k8s.kubeconfig import EXEC_API_VERSION, exec_kubeconfig


def test_the_one_context_binds_the_cluster_to_the_plugin_user_and_is_current():
    config = json.loads(exec_kubeconfig("c1", "https://api.example", "Q0E=", "plugin"))
    assert config["apiVersion"] == "v1"
    assert config["kind"] == "Config"
    assert config["clusters"] == [
        {
            "name": "c1",
            "cluster": {"server": "https://api.example", "certificate-authority-data": "Q0E="},
        }
    ]
    assert config["contexts"] == [{"name": "c1", "context": {"cluster": "c1", "user": "c1"}}]
    assert config["current-context"] == "c1"
    assert config["users"] == [
        {"name": "c1", "user": {"exec": {"apiVersion": EXEC_API_VERSION, "command": "plugin"}}}
    ]


def test_plugin_settings_appear_only_when_given():
    config = json.loads(
        exec_kubeconfig(
            "c1",
            "https://api.example",
            "Q0E=",
            "plugin",
            ("get-token", "--cluster", "c1"),
            install_hint="install the plugin",
            interactive_mode="Never",
            provide_cluster_info=True,
        )
    )
    (user,) = config["users"]
    assert user["user"] == {
        "exec": {
            "apiVersion": EXEC_API_VERSION,
            "command": "plugin",
            "args": ["get-token", "--cluster", "c1"],
            "installHint": "install the plugin",
            "interactiveMode": "Never",
            "provideClusterInfo": True,
        }
    }

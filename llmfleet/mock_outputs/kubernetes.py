"""Outputs of pulumi-kubernetes resources, in the provider's shape."""

from __future__ import annotations

from typing import Any


def defaults(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Kubernetes objects echo their manifest; the id is ``namespace/name``."""
    metadata = dict(inputs.get("metadata") or {})
    metadata.setdefault("name", name)
    namespace = metadata.get("namespace")
    object_id = f"{namespace}/{metadata['name']}" if namespace else metadata["name"]
    if type_.startswith("pulumi:providers:"):
        return {"id": f"{name}-provider"}
    return {"id": object_id, "metadata": metadata}


OUTPUTS: dict[str, Any] = {
    "kubernetes:helm.sh/v3:Release": lambda name, inputs: {
        "status": {
            "name": inputs.get("name") or name,
            "namespace": inputs.get("namespace") or "default",
            "status": "deployed",
            "version": inputs.get("version") or "",
        }
    },
}

INVOKES: dict[str, Any] = {}

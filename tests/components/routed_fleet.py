"""Fleets with a global endpoint, shared by the regional entry and DNS tests."""

from __future__ import annotations

import copy
from typing import Any

from tests.conftest import PROD_FLEET

DOMAIN = "llm.example.com"
HOSTED_ZONE = "Z0123456789ABC"
MANAGED_ZONE = "llm-example"

L4 = {"name": "l4", "accelerator": "nvidia-l4", "count": 1, "max_nodes": 4}
MODELS = [
    {"name": "llama-8b", "version": "v1", "source": "hf://meta/8b", "parameters_b": 8.03},
    {"name": "llama-8b", "version": "v2", "source": "hf://meta/8b-2", "parameters_b": 8.03},
]
CHAT = {
    "name": "chat",
    "model": "llama-8b",
    "version": "v1",
    "pool": "l4",
    "canary": {"version": "v2", "weight": 10},
}
BATCH = {
    "name": "batch",
    "model": "llama-8b",
    "version": "v1",
    "pool": "l4",
    "regions": ["us-east-1", "us-central1"],
    "min_replicas": 0,
    "scale_to_zero": True,
}


def routed(
    policy: str = "latency",
    *,
    clouds: tuple[str, ...] = ("aws", "gcp"),
    dns: str | None = None,
    serving: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """PROD_FLEET's regions on ``clouds`` with an L4 pool each, ``chat`` (a 10 % canary)
    everywhere, ``batch`` (scaling to zero) in two regions and ``llm.example.com``."""
    fleet = copy.deepcopy(PROD_FLEET)
    fleet["regions"] = [r for r in fleet["regions"] if r["cloud"] in clouds]
    for region in fleet["regions"]:
        region["cluster"] = {"gpu_pools": [L4]}
    names = {r["region"] for r in fleet["regions"]}
    batch = {**BATCH, "regions": [r for r in BATCH["regions"] if r in names]}
    fleet["models"] = copy.deepcopy(MODELS)
    fleet["serving"] = serving if serving is not None else [CHAT, batch]
    zone = (
        HOSTED_ZONE
        if (dns or ("route53" if "aws" in clouds else "cloud-dns")) == "route53"
        else MANAGED_ZONE
    )
    fleet["routing"] = {"domain": DOMAIN, "policy": policy, "zone": zone}
    if dns:
        fleet["routing"]["dns"] = dns
    return fleet

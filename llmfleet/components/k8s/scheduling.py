"""The scheduling contract every llmfleet cluster keeps, on EKS and GKE alike.

Node pools carry these labels and taints; serving workloads select and tolerate them. Both
sides import this one module, so a pod written once lands on the right nodes of either cloud.
"""

from __future__ import annotations

from typing import Any, Literal

from llmfleet.components import catalog

POOL_LABEL = "llmfleet.io/pool"
"""Node label naming the pool a node belongs to (a spec pool name, or ``system``)."""
ACCELERATOR_LABEL = "llmfleet.io/accelerator"
"""Node label naming the catalog accelerator a node carries (``nvidia-l4``, ``tpu-v5e``)."""
SYSTEM_POOL = "system"
"""Pool of every cluster's always-on add-on nodes; reserved as a pool name."""

KARPENTER_CAPACITY_TYPE = "karpenter.sh/capacity-type"
"""Label Karpenter puts on every node it launches (``spot``, ``on-demand``, ``reserved``); also
the NodePool requirement choosing them (EKS)."""
GKE_SPOT = "cloud.google.com/gke-spot"
"""Label GKE puts on spot VMs (``"true"``); other nodes lack it."""
SPOT_NODE_LABELS = {KARPENTER_CAPACITY_TYPE: "spot", GKE_SPOT: "true"}
"""How each cloud marks a spot node. The clouds set these themselves; llmfleet only reads
them, to keep on-demand replicas off spot nodes."""

AcceleratorKind = Literal["gpu", "tpu"]

ACCELERATOR_RESOURCES: dict[AcceleratorKind, str] = {
    "gpu": "nvidia.com/gpu",
    "tpu": "google.com/tpu",
}
"""Extended resource a pod requests per accelerator, by kind."""

TAINT_VALUE = "present"
"""Value of the accelerator taint on both clouds (GKE's own value for the GPU taint it sets)."""

MODEL_CACHE_VERSIONS = 2
"""Model versions a node's disk holds at once: the one serving and the one rolling out."""


def accelerator_resource(kind: AcceleratorKind) -> str:
    """The extended resource name of one accelerator of ``kind``."""
    return ACCELERATOR_RESOURCES[kind]


def accelerator_taint(kind: AcceleratorKind) -> dict[str, str]:
    """The NoSchedule taint that keeps pods not asking for accelerators off accelerator nodes.

    Kubernetes spelling (``NoSchedule``); GKE's node-pool API spells the effect ``NO_SCHEDULE``.
    """
    return {"key": accelerator_resource(kind), "value": TAINT_VALUE, "effect": "NoSchedule"}


def accelerator_toleration(kind: AcceleratorKind) -> dict[str, str]:
    """The toleration of ``accelerator_taint(kind)`` a serving pod carries."""
    return {"key": accelerator_resource(kind), "operator": "Exists", "effect": "NoSchedule"}


def pool_node_labels(pool: str, accelerator: str) -> dict[str, str]:
    """The labels every node of an accelerator pool carries."""
    return {POOL_LABEL: pool, ACCELERATOR_LABEL: accelerator}


def system_node_labels() -> dict[str, str]:
    """The labels every node of a cluster's system pool carries."""
    return {POOL_LABEL: SYSTEM_POOL}


def pool_node_selector(pool: str) -> dict[str, str]:
    """The node selector that pins a workload to one pool."""
    return {POOL_LABEL: pool}


def pool_affinity(pool: str, accelerator: str, *, on_demand: bool = False) -> dict[str, Any]:
    """Required node affinity for a pool's nodes carrying ``accelerator``; with ``on_demand``,
    only those no cloud marks as spot (``NotIn`` also matches nodes without the label, so one
    term serves EKS and GKE)."""
    expressions = [
        {"key": POOL_LABEL, "operator": "In", "values": [pool]},
        {"key": ACCELERATOR_LABEL, "operator": "In", "values": [accelerator]},
    ]
    if on_demand:
        expressions += [
            {"key": key, "operator": "NotIn", "values": [value]}
            for key, value in SPOT_NODE_LABELS.items()
        ]
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": expressions}]
            }
        }
    }


def model_cache_gib(instance: catalog.InstanceType) -> int:
    """Disk a node sets aside for model weights beside its images, in GiB.

    Weights fit in accelerator memory, so a cache of that size per version holds every model
    the node can serve. Types with local NVMe keep the cache there instead: 0 on the boot disk.
    """
    if instance.local_nvme_gib:
        return 0
    return MODEL_CACHE_VERSIONS * instance.gpu_memory_gib

"""Whether a model fits the accelerators of one serving replica, and what would fit instead.

vLLM claims ``gpu_memory_utilization`` of every accelerator's memory at start-up, loads the
weights (split over the tensor- and pipeline-parallel ranks), keeps some for the CUDA context,
activations and CUDA graphs, and refuses to start unless the rest holds the KV cache of at least
one sequence of ``max_model_len`` tokens. The check here is that arithmetic, done before anything
is deployed, so a model that cannot start fails the plan instead of crash-looping on a GPU node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from llmfleet.components import catalog

WeightDtype = Literal["bf16", "fp8", "int8", "int4"]

DTYPE_BYTES: dict[str, float] = {"bf16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}
"""Bytes per parameter of each weight dtype."""

GPU_MEMORY_UTILIZATION = 0.9
"""vLLM's default ``--gpu-memory-utilization``: the share of each accelerator it takes."""

RUNTIME_OVERHEAD_GIB = 2.0
"""Per accelerator: CUDA / XLA context, activation peak and CUDA graphs of vLLM's engine."""

GIB = 2**30


def weights_gib(parameters_b: float, dtype: WeightDtype) -> float:
    """Size of the weights of a ``parameters_b`` billion-parameter model in ``dtype``."""
    return parameters_b * 1e9 * DTYPE_BYTES[dtype] / GIB


def default_kv_kib_per_token(parameters_b: float) -> float:
    """KV-cache bytes per token (KiB) of a grouped-query-attention transformer of this size.

    Fitted on the Llama 3 family (bf16 KV cache, 8 KV heads of 128): 8B keeps 128 KiB per
    token, 70B 320 KiB, 405B 504 KiB; the estimate is at or above each.
    """
    return max(128.0, 4.6 * parameters_b)


@dataclass(frozen=True)
class Fit:
    """Memory one replica needs and has, GiB."""

    need_gib: float
    """Weights + KV cache of one ``max_model_len`` sequence + runtime overhead."""
    usable_gib: float
    """Accelerator memory vLLM may use: count x memory x ``GPU_MEMORY_UTILIZATION``."""

    @property
    def margin_gib(self) -> float:
        """Memory left for more concurrent sequences' KV cache (negative: does not fit)."""
        return self.usable_gib - self.need_gib

    @property
    def fits(self) -> bool:
        return self.margin_gib >= 0


def fit(weights: float, kv_cache: float, accelerator: str, count: int) -> Fit:
    """How ``weights`` + ``kv_cache`` GiB fit ``count`` accelerators of one replica."""
    memory = catalog.accelerator(accelerator).memory_gib
    return Fit(
        need_gib=weights + kv_cache + count * RUNTIME_OVERHEAD_GIB,
        usable_gib=count * memory * GPU_MEMORY_UTILIZATION,
    )


def smallest_fitting(
    cloud: catalog.Cloud, region: str, weights: float, kv_cache: float
) -> catalog.InstanceType | None:
    """The catalog type in ``region`` with the least accelerator memory (then the cheapest) on
    whose accelerators one replica fits; None when no single node of the region holds it."""
    fitting = [
        t
        for t in catalog.instance_types(cloud)
        if region in t.regions and fit(weights, kv_cache, t.accelerator, t.accelerator_count).fits
    ]
    if not fitting:
        return None
    return min(fitting, key=lambda t: (t.gpu_memory_gib, t.on_demand_usd_hour, t.name))

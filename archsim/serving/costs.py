"""Per-operator costs the serving loop charges: NPU GEMMs (systolic model), vector work, PIM attention.

Everything here is a pure function of shapes, cached where the serving loop asks the same question
every layer: GEMM compute cycles come from ``SystolicArray.gemm_cost`` (the Numba loop-nest kernel)
with N split evenly over the NPU's arrays; PIM attention cycles from ``PimDevice.run`` (the command-level
PIM kernel) over the requests' actual context lengths and channels.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from archsim.hw.pim import PimCost, PimDevice
from archsim.hw.systolic import GemmShape, SystolicArray
from archsim.serving.decoder import DecoderShape, Gemm


@dataclass
class NpuCosts:
    """Cycle costs on an NPU of ``len(arrays)`` identical systolic arrays plus ``vector_lanes`` SIMD lanes."""

    array: SystolicArray
    n_arrays: int
    vector_lanes: int
    _gemm_cache: dict = field(default_factory=dict)

    @property
    def peak_macs_per_cycle(self) -> int:
        """MACs per cycle of all arrays together."""
        return self.n_arrays * self.array.peak_macs_per_cycle

    def gemm_cycles(self, m: int, gemm: Gemm) -> int:
        """Compute cycles (no memory stalls: weights arrive by DMA) of an M×N×K GEMM split over the arrays."""
        key = (m, gemm.n, gemm.k)
        hit = self._gemm_cache.get(key)
        if hit is None:
            n_per = -(-gemm.n // self.n_arrays)
            hit = self.array.gemm_cost(GemmShape(m, n_per, gemm.k)).compute_cycles
            self._gemm_cache[key] = hit
        return hit

    def vector_cycles(self, elements: float, ops_per_element: float = 1.0) -> int:
        """Cycles of elementwise / reduction work on all vector lanes."""
        return int(math.ceil(elements * ops_per_element / self.vector_lanes))

    def gemv_compute_cycles(self, macs: float) -> int:
        """Compute cycles of attention GEMVs on the arrays (one output row per array row per cycle)."""
        return int(math.ceil(macs / (self.n_arrays * self.array.params.rows)))


@dataclass(frozen=True)
class AttentionCost:
    """PIM cost of one sub-batch's attention in one layer: logit (K·q) and attend (V^T·p) phases."""

    logit: PimCost
    attend: PimCost


def pim_attention(device: PimDevice, shape: DecoderShape, context: np.ndarray, channel: np.ndarray) -> AttentionCost:
    """Attention of requests with ``context`` tokens (incl. the new one) whose KV lives on ``channel``.

    Each request's K (context × head_dim, keys packed into rows) and V^T (head_dim × context, chunked
    rows) sit in its channel's banks; one GEMV per head per phase.
    """
    logit = device.run(device.gemv_jobs(context, shape.head_dim, channel, repeats=shape.heads))
    attend = device.run(device.gemv_jobs(shape.head_dim, context, channel, repeats=shape.heads))
    return AttentionCost(logit, attend)

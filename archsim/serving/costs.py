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
    vector_unit_lanes: int = 0          # lanes of one vector unit (0: all lanes form one unit)
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


def neupims_gemm_cycles(m: int, gemm: Gemm, npu: NpuCosts, preload_waits: bool) -> tuple[int, int]:
    """(first-pass, later-passes) cycles of an M×N×K weight GEMM as NeuPIMs' simulator times it.

    casys-kaist/NeuPIMs (MatMul.cc, both branches): the whole GEMM is one tile; tokens go in 128-row passes
    (loop order tokens → K → N, MatMul.cc:195-197) and weights are loaded only in the first pass (:213), so
    weight streaming overlaps only the first pass. Each pass issues, per 128-deep K slice, one GEMM_PRELOAD and
    ceil(N/128) − 1 GEMMs of ``rows / arrays`` cycles (size 128/8 = 16, :320). Issue rules:
    NeuPIMSystolicWS.cc (main, npu+pim) starts a PRELOAD 128 cycles after the previous instruction
    (:439-448); SystolicWS.cc (npu-only) makes it wait for the previous one's finish, 271 = 128+128+16−1
    cycles (:266, :363) — ``preload_waits``. The pipeline fill (255) and the last instruction (270) are
    added once. The first pass also has to stream the weights (the caller takes the max with that)."""
    p = npu.array.params
    size = max(1, p.rows // max(1, npu.n_arrays))
    k_slices = -(-gemm.k // p.rows)
    n_tiles = -(-gemm.n // p.cols)
    preload = p.rows + p.cols + size - 1 if preload_waits else p.rows
    per_pass = k_slices * (preload + (n_tiles - 1) * size)
    passes = -(-m // p.rows)
    fill, drain = p.rows + p.cols - 1, p.rows + p.cols - 2 + size
    return fill + per_pass, (passes - 1) * per_pass + drain


@dataclass(frozen=True)
class AttentionCost:
    """PIM cost of one sub-batch's attention in one layer: logit (K·q) and attend (V^T·p) phases."""

    logit: PimCost
    attend: PimCost


# --- NPU-only attention as NeuPIMs' simulator executes it -------------------------------------------
# casys-kaist/NeuPIMs, branch ``npu-only`` (commit 57617ee, the repo's NPU-only baseline; configs/system_configs/
# npu-fusion.json: run_mode "npu", kernel_fusion true). ModelProgram.cc:23-39 builds the end-to-end program and
# fused_attn_block (ModelProgram.cc:508-560) runs decode attention as one FusedMHA operator. Its structure:
#
# * FusedMHA.cc:77-94 — one tile per request; FusedMHA.cc:253-266 — heads_per_tile = min(nh/TP,
#   (spad_size/2) / per-head bytes), and Common.cc:176 sets spad_size = sram_size (134,218 KB), so every
#   request's tile holds all of its nh/TP heads.
# * FusedMHA.cc:110-221 — per head: MOVIN q, K, V; GEMM_PRELOAD q·K^T with size = q_len·seq_len/8 (line 180,
#   is_gemv); SOFTMAX on the logits; then one GEMM_PRELOAD per `for (ii = 0; ii < seq_len + 127; ii += 128)`
#   step (line 202, size = q_len·dk/8, line 206) for p·V; MOVOUT.
# * SystolicWS.cc:266 — a GEMM instruction takes core_height + core_width + size − 1 cycles;
#   SystolicWS.cc:345-366 — a GEMM_PRELOAD starts 8 cycles after issue (is_gemv) on an empty pipeline, else
#   at the previous instruction's *finish* cycle: GEMV instructions are fully serialised, each paying the
#   255-cycle array fill/drain.
# * SystolicWS.cc:285-288 — SOFTMAX = 2·add_tree_iter·add_tree_latency + ceil(n/128)·(add+exp+mul latency)
#   (all latencies 1 in systolic_ws_128x128_dev.json; add_tree_iter from SystolicWS.cc:301-312).
# * SystolicWS.cc:473-481 — the EX queue issues in order (the out-of-order variant at 461-471 is commented
#   out); the softmax reads the logit GEMM's accumulator output and p·V reads the softmax output
#   (Core::can_issue_compute), so each head's chain q·K^T → softmax → p·V runs back to back, and the next
#   head's q·K^T queues behind the previous head's last p·V GEMV.
# * Core.cc:47-80 — two scratchpad halves: request r+1's tile (its MOVINs) is issued once request r−1's tile
#   has finished loading and computing, so KV loads of the next request overlap the current one's compute.
#   MOVIN addresses are streamed as 64-B accesses over all channels (Common.cc:77-90), i.e. at up to the
#   full 1,024 GB/s.
FUSED_MHA_GEMV_ISSUE = 8          # SystolicWS.cc:347-348 (is_gemv start on an empty pipeline)
FUSED_MHA_ARRAY_SHARE = 8         # FusedMHA.cc:180,206 (size / 8: the eight arrays share one GEMV)


def _add_tree_iterations(n: np.ndarray, width: int) -> np.ndarray:
    """SystolicWS::calculate_add_tree_iterations (SystolicWS.cc:301-312), vectorised."""
    n = np.asarray(n, dtype=np.int64)
    total = np.zeros_like(n)
    cur = n.copy()
    active = np.ones_like(n, dtype=bool)
    while active.any():
        small = active & (cur <= width)
        total[small] += 1
        active &= ~small
        nxt = -(-cur // width)
        total[active] += nxt[active]
        cur = np.where(active, nxt, cur)
    return total


def fused_mha_head_cycles(seq_len: np.ndarray, head_dim: int, rows: int, cols: int, lanes: int) -> np.ndarray:
    """Cycles of one head's q·K^T → softmax → p·V chain for decode requests (q_len 1) of ``seq_len`` keys.

    ``rows``/``cols`` are one systolic array's (core_height/core_width) and ``lanes`` one vector unit's
    width (vector_core_width); see the block comment above for the file/line each term follows.
    """
    L = np.asarray(seq_len, dtype=np.int64)
    fill = rows + cols - 1                                               # SystolicWS.cc:266
    logit = fill + L // FUSED_MHA_ARRAY_SHARE                            # FusedMHA.cc:180
    softmax = 2 * _add_tree_iterations(L, lanes) + 3 * (-(-L // lanes))  # SystolicWS.cc:285-288
    n_attend = -(-(L + 127) // 128)                                      # FusedMHA.cc:202
    attend = FUSED_MHA_GEMV_ISSUE + n_attend * (fill + head_dim // FUSED_MHA_ARRAY_SHARE)  # :206, :345-366
    return logit + softmax + attend


def fused_mha_cycles(context: np.ndarray, heads: int, head_dim: int, word_bytes: int, rows: int, cols: int,
                     lanes: int, dram_bytes_per_cycle: float) -> tuple[int, float]:
    """(cycles, KV bytes) of one layer's NPU-only decode attention over requests with ``context`` keys.

    Requests are tiles in order; within a tile the heads run serially (in-order EX queue); two tiles are
    in flight (Core.cc:47-80), so request r+1's loads (q, K, V of all heads) overlap request r's compute:
    load(r+1) starts when compute(r−1) ends, compute(r+1) starts at max(end of compute(r), end of load(r+1)).
    """
    L = np.asarray(context, dtype=np.int64)
    comp = heads * fused_mha_head_cycles(L, head_dim, rows, cols, lanes)
    load_bytes = heads * (2 * L * head_dim + head_dim) * word_bytes      # MOVIN q, K, V (FusedMHA.cc:150-172)
    load = load_bytes / dram_bytes_per_cycle
    end_comp_prev2 = 0.0   # compute end of tile r-2 (frees the scratchpad half tile r reuses)
    end_comp_prev = 0.0    # compute end of tile r-1
    t = FUSED_MHA_GEMV_ISSUE
    for c, ld in zip(comp.tolist(), load.tolist()):
        end_load = end_comp_prev2 + ld
        start = max(end_comp_prev, end_load)
        end = start + c
        end_comp_prev2, end_comp_prev = end_comp_prev, end
    t += end_comp_prev
    return int(math.ceil(t)), float(load_bytes.sum())


def pim_attention(device: PimDevice, shape: DecoderShape, context: np.ndarray, channel: np.ndarray) -> AttentionCost:
    """Attention of requests with ``context`` tokens (incl. the new one) whose KV lives on ``channel``.

    Each request's K sits token-major with its heads concatenated in a row (``head_concat_jobs``) and its
    V^T (head_dim × context, one V^T row per bank row even when short, chunked when long; one GEMV per
    head) in its channel's banks, as NeuPIMs lays them out (PIMTensor.cc KEY/VALUE).
    """
    logit = device.run(device.head_concat_jobs(context, shape.heads, shape.head_dim, channel))
    attend = device.run(device.gemv_jobs(shape.head_dim, context, channel, repeats=shape.heads,
                                         pack_short_rows=False))
    return AttentionCost(logit, attend)

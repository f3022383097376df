"""The weight-stationary cores of NeuPIMs' public simulator (casys-kaist/NeuPIMs), for comparisons with it.

Two dataflows, one per core class of the simulator's branches:

* ``neupims_ws`` — ``NeuPIMSystolicWS`` (branches main and npu+pim): a GEMM_PRELOAD issues 128 cycles after
  the previous instruction (NeuPIMSystolicWS.cc:437-448);
* ``onnxim_ws`` — ``SystolicWS`` (branch npu-only): a GEMM_PRELOAD waits for the previous instruction's
  finish, 271 = 128 + 128 + 16 − 1 cycles (SystolicWS.cc:266, :363).

The arrays of a NeuPIMs NPU work in lock step on every instruction (an instruction of ``size`` rows takes
``size / arrays`` cycles on each of them, MatMul.cc:320, FusedMHA.cc:180, :206), so ``split`` gives every
array the whole op (``dims["lockstep"] = n``, MACs and bytes apportioned) and each share lasts as long as the
whole op on ``n`` lock-stepped arrays.

* **Weight GEMMs** (``neupims_gemm_cycles``): the whole GEMM is one tile; tokens go in 128-row passes (loop
  order tokens → K → N, MatMul.cc:195-197) and weights are loaded only in the first pass (:213), so the
  weight stream overlaps only the first pass: two phases, the first streaming the weights.
* **Decode attention** (q·K^T and p·V on the NPU, the npu-only branch's FusedMHA; ``fused_mha_head_cycles``):
  every GEMV instruction is serialised and pays the array fill; the softmax between them runs on the vector
  units as any softmax does. ``fused_mha_cycles`` is the whole fused operator as the simulator times it
  (softmax and the double-buffered KV loads included), checked against a run of it in
  tests/test_neupims_peer.py.
"""
from __future__ import annotations

import math

import numpy as np

from archsim.hw.dataflows import DramScales, register_dataflow
from archsim.hw.shares import Split
from archsim.hw.demand import Demand, Phase
from archsim.hw.shares import apportion
from archsim.trace import TraceOp

FUSED_MHA_GEMV_ISSUE = 8          # SystolicWS.cc:347-348 (is_gemv start on an empty pipeline)


def neupims_gemm_cycles(m: int, n: int, k: int, rows: int, cols: int, arrays: int,
                        preload_waits: bool) -> tuple[int, int]:
    """(first-pass, later-passes) cycles of an M×N×K weight GEMM on ``arrays`` lock-stepped R×C arrays.

    Each 128-row pass issues, per R-deep K slice, one GEMM_PRELOAD and ceil(N/C) − 1 GEMMs of ``R / arrays``
    cycles (size 128/8 = 16). A PRELOAD starts R cycles after the previous instruction, or (``preload_waits``)
    at its finish, R + C + size − 1 cycles. The pipeline fill (R + C − 1) and the last instruction's drain
    are added once; the first pass also has to stream the weights (its own phase)."""
    size = max(1, rows // max(1, arrays))
    k_slices = -(-k // rows)
    n_tiles = -(-n // cols)
    preload = rows + cols + size - 1 if preload_waits else rows
    per_pass = k_slices * (preload + (n_tiles - 1) * size)
    passes = -(-m // rows)
    fill, drain = rows + cols - 1, rows + cols - 2 + size
    return fill + per_pass, (passes - 1) * per_pass + drain


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


def fused_mha_logit_cycles(seq_len, rows: int, cols: int, arrays: int) -> np.ndarray:
    """Cycles of one head's q·K^T GEMV over ``seq_len`` keys: array fill R + C − 1 plus L / arrays
    (FusedMHA.cc:180, SystolicWS.cc:266)."""
    L = np.asarray(seq_len, dtype=np.int64)
    return rows + cols - 1 + L // arrays


def fused_mha_attend_cycles(seq_len, head_dim: int, rows: int, cols: int, arrays: int) -> np.ndarray:
    """Cycles of one head's p·V: one GEMV per 128 keys (FusedMHA.cc:202), each fill + head_dim / arrays
    (:206), serialised (SystolicWS.cc:345-366), after the 8-cycle GEMV issue."""
    L = np.asarray(seq_len, dtype=np.int64)
    n_attend = -(-(L + 127) // 128)
    return FUSED_MHA_GEMV_ISSUE + n_attend * (rows + cols - 1 + head_dim // arrays)


def fused_mha_softmax_cycles(seq_len, lanes: int) -> np.ndarray:
    """SOFTMAX = 2·add_tree_iter + 3·ceil(L / lanes) cycles (SystolicWS.cc:285-288, all latencies 1)."""
    L = np.asarray(seq_len, dtype=np.int64)
    return 2 * _add_tree_iterations(L, lanes) + 3 * (-(-L // lanes))


def fused_mha_head_cycles(seq_len: np.ndarray, head_dim: int, rows: int, cols: int, lanes: int,
                          arrays: int = 8) -> np.ndarray:
    """Cycles of one head's q·K^T → softmax → p·V chain for decode requests of ``seq_len`` keys."""
    return (fused_mha_logit_cycles(seq_len, rows, cols, arrays) + fused_mha_softmax_cycles(seq_len, lanes)
            + fused_mha_attend_cycles(seq_len, head_dim, rows, cols, arrays))


def fused_mha_cycles(context: np.ndarray, heads: int, head_dim: int, word_bytes: int, rows: int, cols: int,
                     lanes: int, dram_bytes_per_cycle: float, arrays: int = 8) -> tuple[int, float]:
    """(cycles, KV bytes) of one layer's FusedMHA over decode requests with ``context`` keys, as the npu-only
    branch runs it: requests are tiles in order, a tile's heads run serially (in-order EX queue), and two
    tiles are in flight (Core.cc:47-80), so request r+1's loads (q, K, V of all heads, FusedMHA.cc:150-172)
    overlap request r's compute."""
    L = np.asarray(context, dtype=np.int64)
    comp = heads * fused_mha_head_cycles(L, head_dim, rows, cols, lanes, arrays)
    load_bytes = heads * (2 * L * head_dim + head_dim) * word_bytes
    load = load_bytes / dram_bytes_per_cycle
    end_comp_prev2 = end_comp_prev = 0.0
    for c, ld in zip(comp.tolist(), load.tolist()):
        end_load = end_comp_prev2 + ld
        start = max(end_comp_prev, end_load)
        end_comp_prev2, end_comp_prev = end_comp_prev, start + c
    return int(math.ceil(FUSED_MHA_GEMV_ISSUE + end_comp_prev)), float(load_bytes.sum())


class NeupimsWs:
    """A NeuPIMs simulator core (see module docstring)."""

    def __init__(self, name: str, preload_waits: bool):
        self.name = name
        self.preload_waits = preload_waits

    def split(self, array, op: TraceOp, n: int) -> Split:
        from dataclasses import replace

        fields = ("macs", "flops", "input_bytes", "weight_bytes", "output_bytes", "kv_cache_bytes", "params")
        portions = {f: apportion(getattr(op, f), [1.0] * n) for f in fields}
        shares = tuple(replace(op, dims={**op.dims, "lockstep": n}, **{f: portions[f][i] for f in fields})
                       for i in range(n))
        return Split(shares, None)

    def demand(self, array, op: TraceOp, scales: DramScales) -> Demand:
        p = array.params
        arrays = op.dims.get("lockstep", 1)
        dram = p.dram
        if op.kv_cache_bytes and op.seq_lens:
            per_request = op.dim("B") // len(op.seq_lens) * op.dim("M")    # query heads of each request
            lens = np.asarray(op.seq_lens, np.int64)
            if op.ragged_dim == "N":
                per_head = fused_mha_logit_cycles(lens, p.rows, p.cols, arrays)
            else:
                per_head = fused_mha_attend_cycles(lens, op.dim("N"), p.rows, p.cols, arrays)
            cycles = int(per_request * per_head.sum())
            streamed = op.kv_cache_bytes + (op.input_bytes - op.kv_cache_bytes) * scales.input
            phases = (Phase(cycles, ((dram, float(streamed)),) if streamed else ()),)
            traffic = {f"{dram}.kv.read": float(op.kv_cache_bytes),
                       f"{p.ifmap_sram}.kv_fill.write": float(op.kv_cache_bytes)}   # K/V land in the scratchpad
        else:
            first, rest = neupims_gemm_cycles(op.dim("M") * op.dim("B", 1), op.dim("N"), op.dim("K"), p.rows,
                                              p.cols, arrays, self.preload_waits)
            weights = op.weight_bytes * scales.weight
            moved = op.input_bytes * scales.input + op.output_bytes * scales.output
            first_streams = tuple((dram, float(b)) for b in (weights + moved,) if b)
            phases = (Phase(first, first_streams), Phase(rest))
            cycles = first + rest
            traffic = {f"{dram}.filter.read": float(weights), f"{dram}.ifmap.read": op.input_bytes * scales.input,
                       f"{dram}.ofmap.write": op.output_bytes * scales.output,
                       # what crosses DRAM lands in (or leaves) the operand SRAMs: fills are SRAM writes
                       f"{p.filter_sram}.filter_fill.write": float(weights),
                       f"{p.ifmap_sram}.ifmap_fill.write": op.input_bytes * scales.input,
                       f"{p.ofmap_sram}.ofmap_drain.read": op.output_bytes * scales.output}
        pe = array.peak_macs_per_cycle
        return Demand(phases, compute_cycles=cycles, macs=op.macs,
                      utilization=op.macs / (cycles * pe) if cycles else 0.0,
                      traffic_bytes={k: v for k, v in traffic.items() if v},
                      actions={"mac": op.macs, "pe_register": op.macs} if op.macs else {})

    def pe_register_bits(self, operand_bits: int, accumulator_bits: int) -> int:
        return operand_bits + accumulator_bits


NEUPIMS_WS = register_dataflow(NeupimsWs("neupims_ws", preload_waits=False))
ONNXIM_WS = register_dataflow(NeupimsWs("onnxim_ws", preload_waits=True))

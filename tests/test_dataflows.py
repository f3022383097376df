"""Dataflows of the systolic kind: a registry, SCALE-Sim's fold mapping, NeuPIMs' simulator cores, shares."""
from pathlib import Path

import numpy as np
import pytest
import yaml

from archsim.config import build_arch, load_arch
from archsim.errors import ConfigError
from archsim.hw.dataflows import dataflow_names, get_dataflow
from archsim.hw.dataflows.neupims_ws import fused_mha_cycles, fused_mha_head_cycles, neupims_gemm_cycles
from archsim.serving.presets import BASELINE_PROFILES
from archsim.sim.run import build_engines
from archsim.trace import TraceOp

PEER = Path(__file__).parent / "fixtures" / "neupims_peer"
RUNS = yaml.safe_load((PEER / "golden.yaml").read_text())["runs"]


def array_arch(dataflow="ws", **sram):
    return build_arch({"name": "a", "clock_ghz": 1.0,
                       "engines": {"npu": {"kind": "systolic", "rows": 8, "cols": 8, "dataflow": dataflow,
                                           "ifmap_sram": "s", "filter_sram": "s", "ofmap_sram": "s", "dram": "d"}},
                       "memories": {"s": {"kind": "sram", "capacity_kib": 64, **sram},
                                    "d": {"kind": "dram", "bandwidth_gbps": 8}}}, "a.yaml")


def gemm(m, n, k):
    return TraceOp(0, "g", "gemm", {"M": m, "N": n, "K": k}, macs=m * n * k, input_bytes=m * k, weight_bytes=k * n,
                   output_bytes=m * n)


def test_every_shipped_dataflow_is_registered_and_an_unknown_one_is_a_located_error():
    assert {"os", "ws", "is", "rs", "neupims_ws", "onnxim_ws"} <= set(dataflow_names())
    with pytest.raises(ConfigError, match=r"a.yaml: engines.npu.dataflow: bad value; got 'xs'"):
        array_arch("xs")


def test_resident_operands_are_neither_fetched_nor_waited_for():
    array = build_engines(array_arch())["npu"]
    op = gemm(64, 64, 64)
    cold = array.demand(op)
    warm = array.demand(op, resident=frozenset({"input", "weight", "output"}))
    assert cold.bytes_of("d") == 64 * 64 * 3 and warm.bytes_of("d") == 0
    assert warm.cycles == warm.compute_cycles < cold.cycles and warm.macs == cold.macs


def test_shares_add_up_and_a_broadcast_input_is_fetched_once_for_all_units():
    array = build_engines(array_arch())["npu"]
    op = gemm(32, 64, 16)
    split = array.split(op, 4)
    assert split.broadcast == "input" and sum(s.macs for s in split.shares) == op.macs
    assert [s.dim("N") for s in split.shares] == [16] * 4
    alone = array.demand(split.shares[0])
    shared = array.demand(split.shares[0], broadcast="input", shares=4)
    assert shared.bytes_of("d", "read") == alone.bytes_of("d", "read") - 32 * 16 * 3 / 4


def test_neupims_gemm_passes_follow_the_simulators_issue_rules():
    # NeuPIMSystolicWS: PRELOAD 128 cycles after the previous instruction; SystolicWS: after its finish (271)
    first, rest = neupims_gemm_cycles(256, 3072, 4096, 128, 128, 8, preload_waits=False)
    k_slices, n_tiles = 4096 // 128, 3072 // 128
    per_pass = k_slices * (128 + (n_tiles - 1) * 16)
    assert (first, rest) == (255 + per_pass, per_pass + 254 + 16)
    waits = neupims_gemm_cycles(256, 3072, 4096, 128, 128, 8, preload_waits=True)
    assert waits[0] - 255 == k_slices * (271 + (n_tiles - 1) * 16)


def test_neupims_qkv_gemm_on_the_engine_is_within_10_percent_of_the_simulator():
    """QKV of one GPT3-7B TP4 layer, 256 requests, weights streamed in the first pass (neupims_sim)."""
    arch = BASELINE_PROFILES["neupims_sim"].arch("NPU+PIM")
    array = build_engines(arch)["sa0"]
    qkv = TraceOp(0, "qkv", "gemm", {"B": 1, "M": 256, "N": 3072, "K": 4096}, macs=256 * 3072 * 4096,
                  input_bytes=256 * 4096 * 2, weight_bytes=3072 * 4096 * 2, output_bytes=256 * 3072 * 2)
    shares = array.split(qkv, 8).shares
    d = array.demand(shares[0], resident=frozenset({"input", "output"}))
    assert [p.cycles for p in d.phases] == list(neupims_gemm_cycles(256, 3072, 4096, 128, 128, 8, False))
    # eight lock-stepped shares stream the weights together over the 948.7 GB/s port during the first pass
    stream = 3072 * 4096 * 2 / 948.72
    ours = max(d.phases[0].cycles, stream) + d.phases[1].cycles
    assert ours == pytest.approx(RUNS["npu_pim_bs256"]["op_cycles"]["attn.QKVgen"], rel=0.10)


def test_fused_mha_head_cycles_follow_neupims_npu_only_branch():
    # L = 65: q·K^T GEMV (128+128-1) + 65//8; softmax 2·1 + 3·1; p·V: 8 + ceil(192/128)=2 GEMVs × (255 + 64//8)
    assert fused_mha_head_cycles(np.array([65]), 64, 128, 128, 128)[0] == (255 + 8) + 5 + (8 + 2 * 263)
    # L = 300: add tree 3 + 1 iterations, 3 vector iterations, ceil(427/128) = 4 p·V GEMVs
    assert fused_mha_head_cycles(np.array([300]), 64, 128, 128, 128)[0] == (255 + 37) + (8 + 9) + (8 + 4 * 263)


def test_fused_mha_double_buffers_loads_behind_compute():
    ctx = np.full(16, 300)
    per_req = 14 * int(fused_mha_head_cycles(np.array([300]), 64, 128, 128, 128)[0])
    cyc, nbytes = fused_mha_cycles(ctx, 14, 64, 2, 128, 128, 128, 1024.0)
    first_load = 14 * (2 * 300 * 64 + 64) * 2 / 1024.0
    assert nbytes == 16 * 14 * (2 * 300 * 64 + 64) * 2
    assert cyc == int(np.ceil(8 + first_load + 16 * per_req))          # compute-bound: only the first load shows
    slow, _ = fused_mha_cycles(ctx, 14, 64, 2, 128, 128, 128, 1.0)       # bandwidth-bound: loads dominate
    assert slow >= nbytes / 2                                             # at most two loads in flight


def test_neupims_ws_runs_ragged_attention_as_serialised_gemvs_on_lock_stepped_arrays():
    arch = load_arch(Path(__file__).parents[1] / "arch_configs" / "npu_only.yaml",
                     [(f"engines.sa{i}.dataflow", "onnxim_ws") for i in range(8)])
    array = build_engines(arch)["sa0"]
    lens = (300, 65)
    qk = TraceOp(0, "qk", "gemv", {"B": 2 * 8, "M": 1, "N": 300, "K": 128}, macs=8 * 128 * 365,
                 input_bytes=8 * 128 * 2 * 2 + 8 * 128 * 365 * 2, kv_cache_bytes=8 * 128 * 365 * 2,
                 seq_lens=lens, ragged_dim="N")
    share = array.split(qk, 8).shares[0]
    assert share.dims["lockstep"] == 8 and sum(s.macs for s in array.split(qk, 8).shares) == qk.macs
    d = array.demand(share, resident=frozenset({"input"}))
    assert d.cycles == 8 * sum(255 + n // 8 for n in lens)               # 8 heads per request, one GEMV each
    assert get_dataflow("onnxim_ws").pe_register_bits(16, 32) == 48

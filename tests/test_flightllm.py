"""FlightLLM on the one engine: FPGA resources, DSP chains, instruction streams, and the authors' profiler.

Goldens (tests/fixtures/flightllm/, README there): per-module instruction counts and busy times and the
end-to-end time the FlightLLM artifact's InstProfiler computed for LLaMA2-7B decode steps and prefills on
its VHK158 configuration, and one decode step's instruction stream with each module's first start times.
archsim's numbers are computed from its own compiler and engine, never typed in.
"""
from __future__ import annotations

import csv
import os
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from archsim.config import load_arch
from archsim.errors import ConfigError, WorkloadError
from archsim.hw.fpga import MODULES, Instruction, dsp_chain_tile, resource_use
from archsim.mapping.fpga_compile import (CompileOptions, compile_decode, compile_prefill, decode_kv_bytes,
                                          decode_weight_bytes, read_artifact_masks)
from archsim.mapping.fpga_streams import coalesce, read_artifact_stream, run_stream
from archsim.sim.run import build_engines
from archsim.workload import load_workload

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "flightllm"
VHK158 = ROOT / "arch_configs" / "vhk158_flightllm.yaml"
U280 = ROOT / "arch_configs" / "u280_flightllm.yaml"
ARTIFACT = Path(os.environ.get("FLIGHTLLM_ARTIFACT", "/tmp/fl_peer/profile"))
TOL = 0.02


def _golden(name="modules.csv"):
    rows = defaultdict(dict)
    with open(FIX / name) as f:
        for r in csv.DictReader(f):
            rows[(r["stage"], int(r["tokens"]))][r["module"]] = r
    return rows


GOLD = _golden()


@pytest.fixture(scope="module")
def vhk158():
    arch = load_arch(VHK158)
    return arch.engines["flightllm"], build_engines(arch)["flightllm"]


def _decode(context, layers=None):
    o = ["phase=decode", "batch=1", f"context={context}"] + ([f"layers={layers}"] if layers else [])
    return load_workload("llama2_7b", o)


def _prefill(tokens, layers=None):
    o = ["phase=prefill", "batch=1", f"seq_len={tokens}"] + ([f"layers={layers}"] if layers else [])
    return load_workload("llama2_7b", o)


def _check_against(gold, r):
    for m in MODULES:
        g = gold[m]
        assert r.instructions[m] == int(g["instructions"]), m
        want = float(g["busy_ms"]) / 1e3
        assert r.busy_s[m] == pytest.approx(want, rel=TOL, abs=1e-9), m
    assert r.total_s == pytest.approx(float(gold["LD"]["total_ms"]) / 1e3, rel=TOL)


# ------------------------------------------------------------------------------------------- profiler goldens
@pytest.mark.parametrize("context", sorted(t for s, t in GOLD if s == "decode"))
def test_decode_step_matches_the_profiler_per_module(vhk158, context):
    params, model = vhk158
    stream = compile_decode(_decode(context), params.design, CompileOptions.artifact())
    _check_against(GOLD[("decode", context)], run_stream(model, stream))


@pytest.mark.slow
def test_prefill_matches_the_profiler_with_dense_causal_attention(vhk158):
    params, model = vhk158
    gold = _golden("modules_causal.csv")
    for (stage, tokens), g in sorted(gold.items()):
        stream = compile_prefill(_prefill(tokens), params.design, CompileOptions.artifact())
        _check_against(g, run_stream(model, stream))


@pytest.mark.slow
@pytest.mark.skipif(not (ARTIFACT / ".compiler_output/ir_output/attention_mask").is_dir(),
                    reason="needs the FlightLLM artifact's sparse attention layouts (FLIGHTLLM_ARTIFACT)")
def test_prefill_matches_the_profiler_with_the_artifacts_sparse_attention(vhk158):
    params, model = vhk158
    masks = read_artifact_masks(ARTIFACT / ".compiler_output/ir_output/attention_mask", 32)
    for (stage, tokens), g in sorted(GOLD.items()):
        if stage == "prefill":
            stream = compile_prefill(_prefill(tokens), params.design, CompileOptions.artifact(), masks)
            _check_against(g, run_stream(model, stream))


def test_compiled_stream_equals_the_artifacts_instruction_for_instruction(vhk158):
    params, _ = vhk158
    theirs = read_artifact_stream(FIX / "stream_decode_512.jsonl.gz")
    ours = compile_decode(_decode(512), params.design, CompileOptions.artifact())
    assert len(ours) == len(theirs)
    # the artifact names all three fused RoPE ops after the first (eltwise_mul); archsim's third is the add.
    # Both are one-pass SFU ops, so the timing is the same; everything else must be identical.
    strip = lambda i: (i.module, i.wait, i.release, i.bytes, i.channels, i.cross_channel,   # noqa: E731
                       round(i.hbm_bytes_per_byte, 9), i.zero_fill, i.k_blocks, i.density,
                       "eltwise" if i.misc_op.startswith("eltwise") else i.misc_op)
    bad = [k for k, (a, b) in enumerate(zip(ours, theirs)) if strip(a) != strip(b)]
    assert not bad, f"{len(bad)} instructions differ, first {bad[0]}: {ours[bad[0]]} vs {theirs[bad[0]]}"
    renamed = Counter((a.misc_op, b.misc_op) for a, b in zip(ours, theirs) if a.misc_op != b.misc_op)
    assert set(renamed) == {("eltwise_add", "eltwise_mul")} and renamed[("eltwise_add", "eltwise_mul")] == 32 * 2 * 8


def test_artifact_stream_starts_where_the_profiler_starts_each_instruction(vhk158):
    _, model = vhk158
    stream = read_artifact_stream(FIX / "stream_decode_512.jsonl.gz")
    r = run_stream(model, stream, keep_times=True, layered=False)
    per_module = {}
    counter = Counter()
    for i, inst in enumerate(stream):
        per_module[i] = counter[inst.module]
        counter[inst.module] += 1
    want = {}
    with open(FIX / "starts_decode_512.csv") as f:
        for row in csv.DictReader(f):
            want[(row["module"], int(row["index"]))] = float(row["start_ms"]) / 1e3
    checked = 0
    for first, module, start, _end in r.times:
        key = (module, per_module[first])
        if key in want:
            assert start == pytest.approx(want[key], rel=1e-6, abs=2e-9), key   # ticks round up per task
            checked += 1
    assert checked > 500
    _check_against(GOLD[("decode", 512)], r)


# ------------------------------------------------------------------------------------------- engine semantics
def test_layer_by_layer_run_equals_the_whole_stream(vhk158):
    params, model = vhk158
    for stream in (compile_decode(_decode(300, layers=2), params.design, CompileOptions.artifact()),
                   compile_prefill(_prefill(128, layers=1), params.design, CompileOptions.artifact())):
        whole = run_stream(model, stream, layered=False)
        layered = run_stream(model, stream)
        assert layered.total_s == pytest.approx(whole.total_s, rel=1e-9)
        for m in MODULES:
            assert layered.busy_s[m] == pytest.approx(whole.busy_s[m], rel=1e-9, abs=1e-15)


def test_a_consumer_never_starts_before_its_producers_release(vhk158):
    params, model = vhk158
    stream = compile_decode(_decode(200, layers=1), params.design, CompileOptions.artifact())
    r = run_stream(model, stream, coalesced=False, keep_times=True, layered=False)
    times = {i: (s, e) for i, _, s, e in r.times}
    released, waited = defaultdict(list), defaultdict(list)
    for i, inst in enumerate(stream):
        for c in inst.release:
            released[(inst.module, c)].append(times[i][1])
        for p in inst.wait:
            waited[(p, inst.module)].append(times[i][0])
    assert waited
    for pair, starts in waited.items():
        ends = released[pair]
        assert len(ends) >= len(starts), pair
        for k, start in enumerate(starts):       # the k-th consumer takes the k-th token
            assert start >= ends[k] - 1e-15, pair
    for m in MODULES:                            # a module runs one instruction at a time, in order
        spans = sorted((times[i] for i, x in enumerate(stream) if x.module == m))
        assert all(a[1] <= b[0] + 1e-15 for a, b in zip(spans, spans[1:]))


def test_coalesced_runs_only_hold_token_free_instructions_inside():
    a = Instruction("LD", wait=("MV",))
    b = Instruction("LD")
    c = Instruction("LD", release=("MV",))
    d = Instruction("MV", wait=("LD",), release=("LD",))
    runs = coalesce([a, b, d, c, b, a])
    assert [len(r.instructions) for _, r in runs] == [3, 1, 1, 1]      # a b c | d | b | a
    assert [i for i, _ in runs] == [0, 2, 4, 5]
    for _, r in runs:
        assert all(not x.wait for x in r.instructions[1:]) and all(not x.release for x in r.instructions[:-1])


def test_hbm_time_is_never_below_bytes_over_peak(vhk158):
    params, model = vhk158
    for ctx in (64, 1024):
        for opts in (CompileOptions.artifact(), CompileOptions()):
            stream = compile_decode(_decode(ctx), params.design, opts)
            r = run_stream(model, stream)
            assert r.total_s >= r.hbm_bytes / (params.device.hbm.total_gbps * 1e9)
            assert r.busy_s["LD"] + r.busy_s["ST"] >= r.hbm_bytes / (params.device.hbm.total_gbps * 1e9)
    for inst in (Instruction("LD", bytes=1 << 20, channels=8, hbm_bytes_per_byte=0.5),
                 Instruction("ST", bytes=4096, cross_channel=True)):
        peak = inst.channels * params.device.hbm.channel_gbps * 1e9 * model.speedup
        assert model.seconds(inst) >= inst.hbm_bytes / peak


def test_decode_bytes_per_token_are_weights_at_their_bits_plus_kv(vhk158):
    params, _ = vhk158
    ctx = 768
    for bits, dens in ((4, {"q_proj": 0.7, "k_proj": 0.7}), (8, {}), (3, {"down_proj": 0.5})):
        opts = CompileOptions(weight_bits=bits, densities=dens)
        stream = compile_decode(_decode(ctx), params.design, opts)
        moved = Counter()
        for i in stream:
            moved[i.what] += i.hbm_bytes
        # LLaMA2-7B: 32 layers of q, k, v, o (4096 x 4096) and gate, up, down (4096 x 11008), lm_head 4096 x 32000
        h, inter = 4096, 11008
        params_of = {"q_proj": h * h, "k_proj": h * h, "v_proj": h * h, "o_proj": h * h, "gate_proj": h * inter,
                     "up_proj": h * inter, "down_proj": inter * h}
        weights = (32 * sum(n * dens.get(p, 1.0) for p, n in params_of.items()) + h * 32000) * bits / 8
        kv = 2 * 32 * ctx * h                  # K and V, INT8, every layer
        assert moved["weight"] == pytest.approx(weights, rel=1e-12)
        assert moved["kv"] == pytest.approx(kv, rel=1e-12)
        assert decode_weight_bytes(_decode(ctx), opts) == pytest.approx(weights, rel=1e-12)
        assert decode_kv_bytes(_decode(ctx)) == kv
        assert moved["kv_reload"] == 0         # archsim's own setting: the cache is read once


def test_always_on_chip_decode_keeps_fused_activations_off_hbm(vhk158):
    params, model = vhk158
    on = compile_decode(_decode(512), params.design, CompileOptions())
    off = compile_decode(_decode(512), params.design, CompileOptions(always_on_chip=False))
    act = lambda s: sum(i.hbm_bytes for i in s if i.what == "act")     # noqa: E731
    assert act(off) > act(on)
    assert sum(i.module == "SYS" for i in off) > sum(i.module == "SYS" for i in on)
    r_on, r_off = run_stream(model, on), run_stream(model, off)
    assert r_off.total_s > r_on.total_s
    assert r_on.bandwidth_utilization > r_off.bandwidth_utilization


def _opt(phase, length, model="opt_125m", layers=2):
    key = "context" if phase == "decode" else "seq_len"
    return load_workload(model, [f"phase={phase}", "batch=1", f"{key}={length}", f"layers={layers}"])


def test_opt_decode_streams_weights_biases_and_kv_with_relu_and_layernorm_and_no_rope(vhk158):
    """OPT-class decoders (FlightLLM's second model): fc1 -> ReLU -> fc2, LayerNorm, learned positions (no RoPE),
    a bias on every projection."""
    params, model = vhk158
    ctx, bits, dens = 320, 4, {"q_proj": 0.7, "fc1": 0.5}
    opts = CompileOptions(weight_bits=bits, densities=dens)
    for name, h, inter, vocab in (("opt_125m", 768, 3072, 50272), ("opt_6p7b", 4096, 16384, 50272)):
        trace = _opt("decode", ctx, name)
        stream = compile_decode(trace, params.design, opts)
        moved = Counter()
        for i in stream:
            moved[i.what] += i.hbm_bytes
        per_layer = {"q_proj": h * h, "k_proj": h * h, "v_proj": h * h, "o_proj": h * h, "fc1": h * inter,
                     "fc2": inter * h}
        weights = (2 * sum(n * dens.get(p, 1.0) for p, n in per_layer.items()) + h * vocab) * bits / 8
        assert moved["weight"] == pytest.approx(weights, rel=1e-12)
        assert decode_weight_bytes(trace, opts) == pytest.approx(weights, rel=1e-12)
        assert moved["bias"] == 2 * 4 * (4 * h + inter + h)            # INT32 biases of q, k, v, o, fc1, fc2
        assert moved["kv"] == decode_kv_bytes(trace) == 2 * 2 * ctx * h
        misc = Counter(i.misc_op for i in stream if i.module == "MISC")
        assert misc["relu"] > 0 and misc["layernorm"] == 2 * 2 + 1 and misc["RMSlayernorm"] == 0
        assert misc["silu"] == 0 and misc["eltwise_mul"] == 0             # no SwiGLU product, no RoPE
    llama = Counter(i.misc_op for i in compile_decode(_decode(ctx, layers=2), params.design, opts) if i.module == "MISC")
    assert llama["eltwise_mul"] > 0 and llama["silu"] > 0 and llama["relu"] == 0


def test_opt_runs_under_archsim_run_in_both_phases_and_gpt2s_vocabulary_is_padded_to_the_block(vhk158):
    from archsim.sim.run import simulate

    params, _ = vhk158
    arch = load_arch(VHK158)
    for trace in (_opt("decode", 200), _opt("prefill", 128)):
        result = simulate(arch, trace)
        assert result.latency_ms > 0
        assert {"layers.0.mlp.fc1", "layers.0.mlp.fc2", "lm_head"} <= set(result.ops.name)
    gpt2 = load_workload("gpt2", ["phase=decode", "batch=1", "context=64", "layers=1"])
    stream = compile_decode(gpt2, params.design, CompileOptions(weight_bits=8))
    head = sum(i.hbm_bytes for i in stream if i.what == "weight" and i.module == "LD") - (4 * 768 * 768 + 2 * 768 * 3072)
    assert head == 768 * 50272                          # 50,257 columns padded to the 16-element block


def test_what_the_compiler_does_not_lower_is_refused_by_name(vhk158):
    params, _ = vhk158
    cases = ((load_workload("llama3_8b", ["phase=decode", "layers=1"]), r"grouped-query attention \(32 query heads, 8 KV"),
             (load_workload("llama2_7b", ["phase=decode", "batch=2", "layers=1"]), "not batch 1.*2 sequences"),
             (load_workload("opt_125m", ["phase=prefill", "batch=3", "seq_len=64", "layers=1"]), "not batch 1.*3 seq"),
             (load_workload("llama2_7b", ["phase=decode", "decode_tokens=4", "layers=1"]), "decode step of 4 tokens"),
             (load_workload("bert_base", ["layers=1"]), "LLaMA-class.*OPT/GPT-2-class"))
    for trace, message in cases:
        with pytest.raises(WorkloadError, match=message):
            compile_decode(trace, params.design)


def test_compile_options_are_checked(vhk158):
    params, _ = vhk158
    with pytest.raises(ValueError, match="density of q_proj"):
        CompileOptions(densities={"q_proj": 1.5})
    with pytest.raises(ConfigError, match=r"engines\.flightllm\.compiler\.densities.*density of q_proj"):
        load_arch(VHK158, ["engines.flightllm.compiler.densities.q_proj=1.5"])
    with pytest.raises(ConfigError, match=r"engines\.flightllm\.compiler\.densities.*not a projection"):
        load_arch(VHK158, ["engines.flightllm.compiler.densities.qkv=0.5"])
    with pytest.raises(ConfigError, match=r"engines\.flightllm\.compiler\.always_on_chip"):
        load_arch(VHK158, ["engines.flightllm.compiler.always_on_chip=maybe"])
    with pytest.raises(ConfigError, match=r"engines\.flightllm\.compiler\.fuse"):
        load_arch(VHK158, ["engines.flightllm.compiler.fuse=true"])
    with pytest.raises(WorkloadError, match="LLaMA-class"):
        compile_decode(load_workload("resnet18"), params.design)


def test_artifact_stream_reader_names_bad_input(tmp_path):
    p = tmp_path / "s.jsonl"
    p.write_text('{"TYPE": "XX"}\n')
    with pytest.raises(ConfigError, match="TYPE"):
        read_artifact_stream(p)
    p.write_text('{"TYPE": "MV", "WAIT_LIST": ["LD"]}\n')
    with pytest.raises(ConfigError, match="MV.K"):
        read_artifact_stream(p)


# ------------------------------------------------------------------------------------------- resources
def test_shipped_designs_fit_their_devices():
    for path in (VHK158, U280):
        p = load_arch(path).engines["flightllm"]
        use = {u.resource.split()[0]: u for u in resource_use(p.device, p.design)}
        assert all(u.used <= u.available for u in use.values())
    u280 = load_arch(U280).engines["flightllm"]
    dsps = [u for u in resource_use(u280.device, u280.design) if "DSP48E2" in u.resource][0]
    assert dsps.used == 6345            # 3 cores x (4,096 MACs / 2 per DSP48E2 + 67 SFU DSPs): the paper's count


@pytest.mark.parametrize("override, key, resource", [
    ("engines.flightllm.design.mm_parallel.m=256", "engines.flightllm.design.mm_parallel", "DSP48E2"),
    ("engines.flightllm.design.cores=4", "engines.flightllm.design.cores", "SLRs"),
    ("engines.flightllm.design.buffers.a_depth=16384", "engines.flightllm.design.buffers", "on-chip RAM"),
    ("engines.flightllm.design.chain_dsps=256", "engines.flightllm.design.chain_dsps", "cascade"),
])
def test_a_design_over_budget_is_refused_naming_resource_and_excess(override, key, resource):
    with pytest.raises(ConfigError) as e:
        load_arch(U280, [override])
    msg = str(e.value)
    assert e.value.key_path == key
    assert resource in msg and "over by" in msg and "u280_flightllm.yaml" in msg


# ------------------------------------------------------------------------------------------- DSP chains
def test_sparse_nm_is_never_slower_than_dense_for_the_same_tile():
    p = load_arch(U280).engines["flightllm"]
    rng = np.random.default_rng(7)
    for _ in range(60):
        m = int(rng.choice([1, 2, 16, 128]))
        k = int(rng.choice([16, 48, 256, 4096]))
        n = int(rng.choice([16, 64, 512]))
        nm = f"{int(rng.choice([1, 2, 4, 8, 16]))}:16"
        sparse_op, dense_op = ("spmv", "gemv") if m == 1 else ("spmm", "gemm")
        dense = dsp_chain_tile(dense_op, m, k, n, p.device, p.design)
        sparse = dsp_chain_tile(sparse_op, m, k, n, p.device, p.design, nm=nm)
        fixed = dsp_chain_tile(sparse_op, m, k, n, p.device, p.design, nm=nm, configurable=False)
        assert sparse.cycles <= dense.cycles, (m, k, n, nm)
        assert fixed.cycles == dense.cycles                      # a fixed chain multiplies the zeros too
        assert sparse.useful_macs == fixed.useful_macs
        assert sparse.utilization >= fixed.utilization - 1e-12


def test_dsp_chain_counts_macs_and_reduction_nodes():
    p = load_arch(U280).engines["flightllm"]
    g = dsp_chain_tile("gemm", 128, 4096, 16, p.device, p.design)
    assert g.useful_macs == 128 * 4096 * 16
    chains = p.design.mm_parallel.macs // (p.design.chain_dsps * 2)
    assert g.cycles >= 128 * 4096 * 16 / (chains * p.design.chain_dsps * 2)
    assert 0.9 < g.utilization <= 1
    # 2:16 of a 16-long K: 2 non-zeros per column; reduction nodes let one 16-DSP chain emit 8 outputs a pass
    short = dsp_chain_tile("spmm", 128, 16, 16, p.device, p.design, nm="2:16")
    fixed = dsp_chain_tile("spmm", 128, 16, 16, p.device, p.design, nm="2:16", configurable=False)
    assert short.cycles - p.design.chain_dsps <= (fixed.cycles - p.design.chain_dsps) / 8 + 1
    # packed activations overflow past 8 DSPs: the OAU splits every 16-DSP cascade once
    assert g.splits > 0 and dsp_chain_tile("gemv", 1, 4096, 512, p.device, p.design).splits == 0
    # SDDMM computes only the mask's blocks
    mask = np.tril(np.ones((2, 2), np.uint8))
    s = dsp_chain_tile("sddmm", 128, 128, 128, p.device, p.design, block_mask=mask, block=64)
    assert s.useful_macs == 3 * 64 * 64 * 128
    with pytest.raises(ValueError, match="matrix-vector"):
        dsp_chain_tile("gemv", 4, 16, 16, p.device, p.design)
    with pytest.raises(ValueError, match="N:M"):
        dsp_chain_tile("spmm", 4, 16, 16, p.device, p.design, nm="17:16")


@pytest.mark.slow
def test_reproduce_flightllm_quick_writes_its_tables(tmp_path):
    import experiments.flightllm as exp

    assert exp.main(["--quick", "--out", str(tmp_path)]) == 0
    with open(tmp_path / "flightllm_headline.csv") as f:
        rows = {r["metric"]: r for r in csv.DictReader(f)}
    assert set(exp.PAPER) <= set(rows)
    assert all(float(rows[k]["archsim"]) > 0 for k in exp.PAPER)
    for model, want in exp.ENERGY_BREAKDOWN.items():           # both of the paper's models, each GPU series
        for gpu in want:
            assert float(rows[f"{model} U280 energy vs {gpu} (secondary source)"]["archsim"]) > 1
    assert (tmp_path / "flightllm.png").stat().st_size > 10_000

"""SN40L: the RDU kind, the fusion pass, three tiers, launch orchestration, CoE serving (issue 15)."""
from __future__ import annotations

import csv
import math
from dataclasses import replace
from pathlib import Path

import pytest

from archsim.config import load_arch
from archsim.errors import ConfigError
from archsim.hw.demand import Demand, Phase
from archsim.hw.tiers import TierCapacityError
from archsim.mapping.fusion import group_kernels, hbm_bytes, run_kernels
from archsim.serving.coe import CoEOptions, ExpertCache, footprint_nodes, serve_coe
from archsim.sim.engine import pipeline_demand
from archsim.sim.run import build_engines
from archsim.workload import load_workload
from archsim.workload.fftconv import fftconv_trace, monarch_radices
from archsim.workload.training import training_step

ROOT = Path(__file__).resolve().parents[1]
CFG = ROOT / "arch_configs"


@pytest.fixture(scope="module")
def node():
    return load_arch(CFG / "sn40l.yaml")


@pytest.fixture(scope="module")
def socket():
    return load_arch(CFG / "sn40l_socket.yaml")


def _traces():
    small = ["tp=8", "layers=1"]
    return {
        "decode": load_workload("mistral_7b", ["phase=decode", "seq_len=2048"] + small),
        "prefill": load_workload("llama2_7b", ["phase=prefill", "seq_len=1024"] + small),
        "train": training_step(load_workload("llama2_7b", ["phase=prefill", "seq_len=512"] + small)),
    }


def test_rdu_peak_and_sram_come_from_the_yaml(node):
    rdu = build_engines(node)["rdu"]
    assert rdu.peak_macs_per_cycle * 2 * rdu.clock_ghz == pytest.approx(638e3)     # 638 TFLOPS
    assert rdu.sram_bytes == 520 * 2**20
    assert node.engines["rdu"].sockets == 8


@pytest.mark.parametrize("name", ["decode", "prefill", "train"])
def test_fusion_never_increases_hbm_traffic(node, name):
    trace = _traces()[name]
    fused = run_kernels(node, trace, "fused")
    unfused = run_kernels(node, trace, "unfused")
    assert fused.hbm_bytes <= unfused.hbm_bytes
    assert len(fused.kernels) < len(unfused.kernels)
    # what the engine's records moved is what the placement rule says
    assert fused.hbm_bytes == pytest.approx(hbm_bytes(fused.kernels, trace))
    assert unfused.hbm_bytes == pytest.approx(hbm_bytes(unfused.kernels, trace))


def test_fusion_never_increases_hbm_traffic_of_fftconv(socket):
    trace = fftconv_trace(seq_len=2**12, channels=4)
    fused, unfused = run_kernels(socket, trace, "fused"), run_kernels(socket, trace, "unfused")
    assert len(fused.kernels) == 1
    assert fused.hbm_bytes < unfused.hbm_bytes / 5


@pytest.mark.parametrize("name", ["decode", "prefill", "train"])
def test_a_fused_kernels_time_is_at_least_its_compute_and_bandwidth_bounds(node, name):
    run = run_kernels(node, _traces()[name], "fused")
    rdu = build_engines(node)["rdu"]
    hbm_per_cycle = 1800 * 0.85 / node.clock_ghz
    ops = run.result.ops
    hbm_cols = [c for c in ops.columns if c.startswith("bytes.hbm.")]
    for k in run.kernels:
        rec = ops[ops["op_id"].isin(k.ids)]
        span = rec["end_cycle"].max() - rec["start_cycle"].min()
        assert (rec["start_cycle"] == rec["start_cycle"].iloc[0]).all()        # one pipeline task
        compute_bound = sum(op.macs for op in k.ops) / rdu.peak_macs_per_cycle
        bandwidth_bound = rec[hbm_cols].fillna(0).to_numpy().sum() / hbm_per_cycle
        assert span >= math.floor(compute_bound) and span >= math.floor(bandwidth_bound), k.name


def test_unfused_kernels_write_intermediates_to_hbm_and_read_them_back(node):
    trace = _traces()["prefill"]
    run = run_kernels(node, trace, "unfused")
    ops = run.result.ops.set_index("op_id")
    for op in trace.ops:
        if op.id in ops.index and op.output_bytes:
            assert ops.loc[op.id, "bytes.hbm.output.write"] == op.output_bytes


def test_hardware_orchestration_saves_the_launch_overhead_difference_per_kernel(node):
    trace = _traces()["decode"]
    so = run_kernels(node, trace, "fused", orchestration="software")
    ho = run_kernels(node, trace, "fused", orchestration="hardware")
    step = run_kernels(node, trace, "fused", orchestration="hardware", continues_program=True)
    p = node.engines["rdu"]
    per_kernel = (p.launch_overhead_so_us - p.launch_overhead_ho_us) * 1e3 * node.clock_ghz
    n = len(so.kernels)
    assert n > 1
    # the host launches a program's first kernel either way; the AGCUs the rest
    assert so.result.total_cycles - ho.result.total_cycles == pytest.approx((n - 1) * per_kernel, abs=n)
    # a step of a program already running on chip (the next decode step) has no host launch
    assert so.result.total_cycles - step.result.total_cycles == pytest.approx(n * per_kernel, abs=n)


def test_a_one_kernel_program_takes_the_same_time_under_both_orchestrations(socket):
    trace = fftconv_trace(channels=8)
    so = run_kernels(socket, trace, "fused", orchestration="software")
    ho = run_kernels(socket, trace, "fused", orchestration="hardware")
    assert len(so.kernels) == 1 and so.result.total_cycles == ho.result.total_cycles


def test_a_tier_over_capacity_fails_naming_the_tier_and_the_shortfall(node):
    trace = load_workload("llama3_405b", ["phase=decode", "seq_len=128", "tp=8", "layers=126"])
    with pytest.raises(TierCapacityError, match=r"tier 'hbm' over capacity.*short by [\d,]+ bytes"):
        run_kernels(node, trace, "fused")
    with pytest.raises(TierCapacityError, match=r"tier 'ddr' over capacity.*short by"):
        serve_coe(node, CoEOptions(experts=1100, batch=1, output_tokens=1))


def test_expert_switch_time_is_bytes_over_link_bandwidth_plus_latency(node):
    dgx = load_arch(CFG / "dgx_a100.yaml")
    g = serve_coe(dgx, CoEOptions(batch=1, output_tokens=1))
    link = dgx.links["host_link"]
    assert g.switch_bytes == 8 * g.expert_bytes_per_device                  # one host link for the DGX
    expect = g.switch_bytes / (link.bandwidth_gbps * 1e9) + link.latency_ns * 1e-9
    assert g.switch_seconds == [pytest.approx(expect, abs=1 / (dgx.clock_ghz * 1e9))]
    s = serve_coe(node, CoEOptions(batch=1, output_tokens=1))
    ddr = node.memories["ddr"]
    expect = s.switch_bytes / (ddr.bandwidth_gbps * ddr.efficiency * 1e9) + ddr.latency_ns * 1e-9
    assert s.switch_seconds == [pytest.approx(expect, abs=1 / (node.clock_ghz * 1e9))]
    # the node copies 8 sockets' shares at once: over 1 TB/s (§I)
    assert 8 * s.switch_bytes / s.switch_seconds[0] >= 0.99e12


def test_expert_cache_evicts_the_least_recently_used():
    cache = ExpertCache(2)
    assert cache.access(1) == (False, None)
    assert cache.access(2) == (False, None)
    assert cache.access(1) == (True, None)
    assert cache.access(3) == (False, 2)
    assert cache.resident == (1, 3)


def test_coe_cache_hits_skip_the_copy_and_occupancy_stays_within_capacity(node):
    warm = serve_coe(node, CoEOptions(experts=4, batch=2, output_tokens=1, batches=2, warm=True, cache_experts=4))
    assert warm.misses == 0 and warm.switch_seconds == []
    cold = serve_coe(node, CoEOptions(experts=6, batch=3, output_tokens=1, batches=2, cache_experts=2))
    assert cold.misses + cold.hits == 6 and len(cold.switch_seconds) == cold.misses
    cap = 2 * cold.expert_bytes_per_device
    levels = [s.bytes for s in cold.result.tier_occupancy]
    assert levels and max(levels) <= cap and min(levels) >= 0
    assert cold.seconds > warm.seconds


def test_host_overheads_add_once_per_request_and_once_per_batch(node):
    opts = CoEOptions(experts=6, batch=3, output_tokens=1, batches=2, cache_experts=3)
    base = serve_coe(node, opts)
    host = serve_coe(node, replace(opts, request_overhead_us=100.0, batch_overhead_us=250.0))
    cycle = 1 / (node.clock_ghz * 1e9)
    assert host.seconds - base.seconds == pytest.approx(6 * 100e-6 + 2 * 250e-6, abs=8 * cycle)
    # the router's span excludes the batch's host work; its expert pairs include the request's
    assert host.router_seconds == pytest.approx(base.router_seconds, abs=cycle)
    assert [h - b for h, b in zip(host.expert_seconds, base.expert_seconds)] == pytest.approx([100e-6] * 6, abs=cycle)
    with pytest.raises(ValueError, match="bad CoE options"):
        serve_coe(node, replace(opts, batch_overhead_us=-1.0))


def test_footprint_of_850_experts(node):
    assert footprint_nodes(node, 850) == 1
    assert footprint_nodes(load_arch(CFG / "dgx_h100.yaml"), 850) == 19


def test_pipeline_fill_cycles_are_paid_once():
    work = Demand((Phase(1000),))
    network = Demand((Phase(1100),), fill_cycles=1000)          # 1000 latency + 100 streaming
    d = pipeline_demand([work, network], [1.0, 1.0], 10)
    # first item: 100 + (1000 + 10) ; then 9 more items at the slowest per-item time (100)
    assert d.cycles == 100 + 1010 + 9 * 100


def test_fusion_cuts_a_kernel_at_the_layer_boundary_and_keeps_stages_within_pcus(node):
    trace = load_workload("llama2_7b", ["phase=decode", "seq_len=512", "tp=8", "layers=2"])
    kernels = group_kernels(trace, "fused", pcus=1040, sram_bytes=520 * 2**20)
    assert [k.name for k in kernels] == ["embed", "layers.0", "layers.1", "head"]
    tiny = group_kernels(trace, "fused", pcus=4, sram_bytes=520 * 2**20)
    assert all(len(k.ops) <= 4 for k in tiny)


def test_fftconv_and_training_workloads():
    assert monarch_radices(2**20, 3) == (128, 128, 64)
    t = fftconv_trace(seq_len=2**10, channels=2, order=2)
    gemms = [op for op in t.ops if op.kind == "gemm"]
    assert len(gemms) == 4 and all(op.macs == 4 * 2 * 2**10 * 32 for op in gemms)
    fwd = load_workload("llama2_7b", ["phase=prefill", "seq_len=128", "tp=8", "layers=1"])
    step = training_step(fwd)
    matrix = lambda tr: sum(op.macs for op in tr.ops)    # noqa: E731
    assert matrix(step) == 3 * matrix(fwd)
    with pytest.raises(ValueError):
        monarch_radices(1000, 2)


def test_bad_rdu_yaml_fails_with_a_config_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"extends: {CFG / 'sn40l.yaml'}\nengines:\n  rdu: {{orchestration: magic}}\n")
    with pytest.raises(ConfigError, match="orchestration"):
        load_arch(bad)
    arch = load_arch(CFG / "sn40l.yaml")
    wrong = replace(arch, engines={**arch.engines, "rdu": arch.engines["rdu"].model_copy(update={"hbm": "nowhere"})})
    with pytest.raises(ConfigError, match="engines.rdu.hbm"):
        build_engines(wrong)


def test_sn40l_experiment_runs_quick(tmp_path):
    import runpy

    module = runpy.run_path(str(ROOT / "experiments" / "sn40l.py"), run_name="archsim_reproduce")
    assert module["main"](["--quick", "--out", str(tmp_path)]) == 0
    rows = list(csv.DictReader(open(tmp_path / "sn40l.csv")))
    sections = {r["section"] for r in rows}
    assert {"fusion", "HO vs SO", "Llama 3.1", "CoE"} <= sections
    assert (tmp_path / "sn40l.png").stat().st_size > 0


def test_energy_of_fused_and_unfused_runs_prices_the_rdu_and_the_tiers(node):
    from archsim.energy import EnergySpec, estimate_energy

    spec = EnergySpec(node_nm=7, dram_standard={"hbm": "HBM2", "ddr": "DDR4"}, include_static=False)
    trace = _traces()["prefill"]
    energy = {}
    for mode in ("fused", "unfused"):
        comp = estimate_energy(run_kernels(node, trace, mode).result, node, spec).per_component.set_index("component")
        energy[mode] = comp["dynamic_pj"]
    assert energy["fused"]["rdu"] == pytest.approx(energy["unfused"]["rdu"])        # same MACs and lane ops
    assert energy["fused"]["hbm"] < energy["unfused"]["hbm"]                         # intermediates stay on chip

"""Multi-tier memory: DMA times from the DRAM model, capacities, conservation, staging, located errors."""
import math

import pytest

from archsim.config import build_arch, load_arch
from archsim.errors import ConfigError
from archsim.hw.dram.model import transfer
from archsim.hw.dram.standards import get_standard
from archsim.hw.tiers import TierCapacityError, build_tiers, dram_transfer_ns
from archsim.mapping.tier_plan import After, Fetch, Produce, TierPlan, weight_staging_plan, weight_tensor
from archsim.sim.run import simulate
from archsim.trace import Trace, TraceOp

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def tiered_arch(sram_kib=256, hbm_devices=1, **tiers):
    return {
        "name": "tiered", "clock_ghz": 1.0,
        "engines": {"npu": {"kind": "systolic", "rows": 16, "cols": 16, "dataflow": "os", "ifmap_sram": "s",
                            "filter_sram": "s", "ofmap_sram": "s", "dram": "hbm"},
                    "vec": {"kind": "vector", "lanes": 16, "dram": "hbm"}},
        "memories": {"s": {"kind": "sram", "capacity_kib": sram_kib, "banks": 16, "word_bytes": 16},
                     "hbm": {"kind": "dram", "standard": "HBM2", "capacity_gib": 1},
                     "ddr": {"kind": "dram", "standard": "DDR4_3200", "capacity_gib": 4},
                     "tiers": {"kind": "tiers", "order": ["s", "hbm", "ddr"],
                               "devices": {"hbm": hbm_devices}, **tiers}},
    }


def staged(arch, trace, **options):
    """``simulate`` with the weights staged through the tiers (``weight_staging_plan`` with ``options``)."""
    return simulate(arch, trace, tier_options=options)


def gemm(i, m, n, k, deps=()):
    return TraceOp(i, f"g{i}", "gemm", {"M": m, "N": n, "K": k}, macs=m * n * k,
                   input_bytes=m * k, weight_bytes=k * n, output_bytes=m * n, deps=tuple(deps))


def mlp_trace(layers=4, d=256, m=32):
    return Trace("mlp", tuple(gemm(i, m, d, d, [i - 1] if i else []) for i in range(layers)))


def test_transfer_time_equals_the_dram_model_for_the_same_bytes():
    system = build_tiers(build_arch(tiered_arch()))
    std = get_standard("HBM2")
    for n in (64, 4096, 100_000, 1 << 20):
        stats = transfer(std, n)
        assert system.transfer_cycles("hbm", "s", n) == math.ceil(stats.total_cycles * std.tck_ns * 1.0 - 1e-9)


def test_simulated_staging_transfer_lasts_the_dram_model_time():
    arch = build_arch(tiered_arch())
    result = staged(arch, mlp_trace(layers=1), home="hbm")
    (t,) = result.tier_transfers
    std = get_standard("HBM2")
    assert (t.src, t.dst, t.bytes) == ("hbm", "s", 256 * 256)
    assert t.end_cycle - t.start_cycle == math.ceil(transfer(std, 256 * 256).total_cycles * std.tck_ns - 1e-9)


def test_a_transfer_is_striped_over_the_devices_of_a_dram_tier():
    system = build_tiers(build_arch(tiered_arch(hbm_devices=4)))
    assert system.side_ns("hbm", 4 << 20, False) == pytest.approx(dram_transfer_ns("HBM2", 1 << 20))


def test_transfers_larger_than_the_simulated_cap_extend_linearly():
    cap = 256 * 1024
    t1, t2 = dram_transfer_ns("DDR4_3200", cap, False, cap), dram_transfer_ns("DDR4_3200", cap // 2, False, cap)
    t4 = dram_transfer_ns("DDR4_3200", 4 * cap, False, cap)
    assert t4 == pytest.approx(t1 + 3 * cap * (t1 - t2) / (cap // 2))
    assert t4 == pytest.approx(dram_transfer_ns("DDR4_3200", 4 * cap), rel=0.02)


def test_a_link_slower_than_both_tiers_sets_the_transfer_time():
    data = tiered_arch()
    data["links"] = {"slow": {"src": "hbm", "dst": "s", "bandwidth_gbps": 1.0, "latency_ns": 10}}
    system = build_tiers(build_arch(data))
    assert system.transfer_ns("s", "hbm", 1000) == pytest.approx(1010.0)   # one link serves both ways


def test_placing_more_than_a_tier_holds_is_a_capacity_error():
    arch = build_arch(tiered_arch(sram_kib=16))
    big = Trace("big", (gemm(0, 8, 256, 256),))   # 64 KiB of weights
    with pytest.raises(TierCapacityError, match="'s'"):
        staged(arch, big, home="hbm")
    data = tiered_arch()
    data["memories"]["hbm"]["capacity_gib"] = 1 / 2**20   # 1 KiB of HBM, 1 MiB... weights go to DDR instead
    result = staged(build_arch(data), mlp_trace(layers=2))
    assert set(t.src for t in result.tier_transfers) == {"ddr"}
    from archsim.mapping import MAPPERS   # a plan forcing HBM overflows at placement
    from archsim.sim.run import build_engines
    arch = build_arch(data)
    schedule = MAPPERS["by_kind"](mlp_trace(layers=2), build_engines(arch))
    with pytest.raises(TierCapacityError, match="fit in none"):
        weight_staging_plan(schedule, build_tiers(arch), home="hbm")
    plan = TierPlan({"w0": 4096}, {"w0": "hbm"}, {0: (Fetch("w0", "s"),)})
    with pytest.raises(TierCapacityError, match="overflows placing 'w0'"):
        simulate(arch, mlp_trace(layers=2), tier_plan=plan)


def test_bytes_per_tier_add_up():
    trace = mlp_trace(layers=6)
    result = staged(build_arch(tiered_arch()), trace, home=["hbm", "ddr"])
    table = result.tier_traffic.set_index("tier")
    weights = sum(op.weight_bytes for op in trace.ops)
    assert table.read_bytes.sum() == table.write_bytes.sum() == weights
    assert table.loc["s", "write_bytes"] == weights
    assert table.loc["hbm", "read_bytes"] + table.loc["ddr", "read_bytes"] == weights
    # staged copies are freed after their op: the fast tier ends empty, the homes keep the weights
    assert table.loc["s", "final_bytes"] == 0
    assert table.loc["hbm", "final_bytes"] + table.loc["ddr", "final_bytes"] == weights


def test_an_op_never_starts_before_its_staged_inputs_arrive():
    trace = mlp_trace(layers=6)
    result = staged(build_arch(tiered_arch()), trace, home="ddr")
    ops = result.ops.set_index("op_id")
    arrivals = {t.tensor: t.end_cycle for t in result.tier_transfers if t.dst == "s"}
    for op in trace.ops:
        assert ops.loc[op.id, "start_cycle"] >= arrivals[weight_tensor(op.id)]


def test_occupancy_never_exceeds_capacity_even_when_staging_must_wait():
    trace = mlp_trace(layers=8)     # 64 KiB of weights per op, SRAM holds two of them
    result = staged(build_arch(tiered_arch(sram_kib=128)), trace, home="hbm", buffers=4)
    occ = result.occupancy
    caps = result.tier_capacity_bytes
    assert (occ.bytes >= 0).all()
    for tier, cap in caps.items():
        assert occ[occ.tier == tier].bytes.max() <= cap
    assert occ[occ.tier == "s"].bytes.max() == 128 * 1024   # it did fill up


def test_double_buffering_overlaps_loads_with_compute():
    trace = mlp_trace(layers=8, d=256, m=256)
    arch = build_arch(tiered_arch())
    one = staged(arch, trace, home="ddr", buffers=1)
    two = staged(arch, trace, home="ddr", buffers=2)
    assert two.total_cycles < one.total_cycles
    # single-buffered, every load starts only after the previous op ended
    ops = one.ops.set_index("op_id")
    for t in one.tier_transfers:
        if t.consumer_op > 0:
            assert t.start_cycle >= ops.loc[t.consumer_op - 1, "end_cycle"]


def test_tier_results_are_deterministic_and_in_the_summary():
    arch = build_arch(tiered_arch())
    a = staged(arch, mlp_trace(), home="ddr")
    b = staged(arch, mlp_trace(), home="ddr")
    assert a.tier_transfers == b.tier_transfers and a.tier_occupancy == b.tier_occupancy
    assert a.summary()["tiers"]["s"]["write"] == sum(op.weight_bytes for op in mlp_trace().ops)


@pytest.mark.parametrize("change, key", [
    (lambda t: t.update(order=["s", "nope"]), "memories.tiers.order.1"),
    (lambda t: t.update(order=["s", "hbm", "s"]), "memories.tiers.order.2"),
    (lambda t: t.update(devices={"s": 2}), "memories.tiers.devices.s"),
    (lambda t: t.update(dma_channels={"ddr": 0}), "memories.tiers.dma_channels.ddr"),
])
def test_bad_tier_references_are_located_config_errors(change, key):
    data = tiered_arch()
    change(data["memories"]["tiers"])
    with pytest.raises(ConfigError) as err:
        build_tiers(build_arch(data, "x.yaml"))
    assert err.value.file == "x.yaml" and err.value.key_path == key


def test_bad_tier_schema_values_are_located_config_errors():
    data = tiered_arch()
    data["memories"]["tiers"]["order"] = ["s"]
    with pytest.raises(ConfigError) as err:
        build_arch(data, "x.yaml")
    assert err.value.key_path == "memories.tiers.order"
    data = tiered_arch()
    data["memories"]["tiers"]["ordr"] = ["s", "hbm"]
    with pytest.raises(ConfigError, match="memories.tiers.ordr: unknown key"):
        build_arch(data, "x.yaml")


def test_an_architecture_without_tiers_says_so():
    data = tiered_arch()
    del data["memories"]["tiers"]
    with pytest.raises(ConfigError, match="no 'kind: tiers' memory"):
        build_tiers(build_arch(data, "x.yaml"))


def test_sn40l_like_weights_in_ddr_or_hbm_are_staged_to_sram():
    arch = load_arch(ROOT / "arch_configs" / "sn40l_like.yaml")
    system = build_tiers(arch)
    assert [t.name for t in system.tiers] == ["pmu_sram", "hbm", "ddr"]
    assert system.tier("pmu_sram").capacity_bytes == 520 * 2**20
    assert system.tier("hbm").capacity_bytes == 64 * 2**30
    assert system.tier("ddr").capacity_bytes == 1536 * 2**30
    trace = mlp_trace(layers=4, d=2048, m=16)     # decode-like: 8 MiB of weights per op
    from_hbm = staged(arch, trace, home="hbm")
    from_ddr = staged(arch, trace, home="ddr")
    assert {t.src for t in from_hbm.tier_transfers} == {"hbm"}
    assert {t.src for t in from_ddr.tier_transfers} == {"ddr"}
    # HBM (~1.7 TB/s sustained) stages the next op's 4 MiB while the current one computes: ops run back to
    # back; DDR (~175 GB/s sustained) cannot keep up: every op waits for its weights
    hbm_ops, ddr_ops = from_hbm.ops, from_ddr.ops
    assert (hbm_ops.start_cycle.iloc[1:].values == hbm_ops.end_cycle.iloc[:-1].values).all()
    arrivals = [t.end_cycle for t in from_ddr.tier_transfers]
    assert list(ddr_ops.start_cycle) == arrivals
    assert from_ddr.total_cycles > 2 * from_hbm.total_cycles
    hbm_rate = 4 * 2**22 / sum(t.end_cycle - t.start_cycle for t in from_hbm.tier_transfers) * 1.6
    ddr_rate = 4 * 2**22 / sum(t.end_cycle - t.start_cycle for t in from_ddr.tier_transfers) * 1.6
    assert 1500 < hbm_rate < 1800 and 150 < ddr_rate < 200     # GB/s


def test_a_spilled_activation_is_stored_freed_and_fetched_back():
    arch = build_arch(tiered_arch())
    # op 0 writes a0 into SRAM, which is spilled to HBM; op 2 needs it back (op 1 runs in between)
    plan = TierPlan({"a0": 8192, "w1": 65536}, {"w1": "hbm"},
                    fetch={1: (Fetch("w1", "s"),), 2: (Fetch("a0", "s"),)}, produce={0: (Produce("a0", "s"),)},
                    after={0: (After("store", "a0", "hbm"), After("free", "a0", "s"))}, buffers=1)
    result = simulate(arch, mlp_trace(layers=3), tier_plan=plan)
    store, fetch = [t for t in result.tier_transfers if t.tensor == "a0"]
    assert (store.src, store.dst, fetch.src, fetch.dst) == ("s", "hbm", "hbm", "s")
    ops = result.ops.set_index("op_id")
    assert store.start_cycle >= ops.loc[0, "end_cycle"] and ops.loc[2, "start_cycle"] >= fetch.end_cycle
    table = result.tier_traffic.set_index("tier")
    assert table.loc["s", "final_bytes"] == 0 and table.loc["hbm", "final_bytes"] == 8192 + 65536
    assert table.read_bytes.sum() == table.write_bytes.sum() == 2 * 8192 + 65536


def test_dma_channels_let_copies_between_two_tiers_run_at_once():
    trace = mlp_trace(layers=4)
    one = staged(build_arch(tiered_arch()), trace, home="hbm", buffers=4)
    two = staged(build_arch(tiered_arch(dma_channels={"s": 2, "hbm": 2})), trace, home="hbm", buffers=4)

    def overlapping(result):
        ts = sorted(result.tier_transfers, key=lambda t: t.start_cycle)
        return any(b.start_cycle < a.end_cycle for a, b in zip(ts, ts[1:]))

    assert not overlapping(one) and overlapping(two)
    assert sum(t.bytes for t in two.tier_transfers) == sum(t.bytes for t in one.tier_transfers)


def test_a_tier_copy_over_a_declared_link_pays_the_link_energy_too():
    from archsim.energy import EnergySpec, estimate_energy

    energy = EnergySpec(dram_standard={"ddr": "DDR4"}, link_length_mm={"hbm_s": 5.0})
    spec = tiered_arch()
    spec["links"] = {"hbm_s": {"src": "hbm", "dst": "s", "bandwidth_gbps": 64}}
    arch = build_arch(spec)
    result = staged(arch, mlp_trace(layers=2), home="hbm")
    report = estimate_energy(result, arch, energy)
    link = report.per_op[report.per_op.component == "hbm_s"]
    staged_bits = 8 * sum(t.bytes for t in result.tier_transfers)
    assert link["count"].sum() == staged_bits and (link["energy_pj"] > 0).all()
    plain = build_arch(tiered_arch())
    no_link = estimate_energy(staged(plain, mlp_trace(layers=2), home="hbm"), plain, energy)
    assert "hbm_s" not in set(no_link.per_op.component)

"""Energy model: conservation, no silent defaults, cited rows, explicit scaling."""
import math

import pytest

from archsim.config import build_arch
from archsim.energy import EnergyError, EnergySpec, estimate_area, estimate_energy, load_table
from archsim.energy.dram import dram_energy
from archsim.energy.scaling import area_factor, energy_factor
from archsim.energy.sram import sram_access
from archsim.errors import ConfigError
from archsim.sim.run import simulate
from archsim.trace import Trace, TraceOp

SPEC = EnergySpec(dram_standard={"d": "DDR4"})


def arch_dict(**npu):
    engine = {"kind": "systolic", "rows": 8, "cols": 8, "dataflow": "ws", "ifmap_sram": "s",
              "filter_sram": "s", "ofmap_sram": "s", "dram": "d", **npu}
    return {"name": "t", "clock_ghz": 1.0,
            "engines": {"npu": engine, "vec": {"kind": "vector", "lanes": 16, "dram": "d"}},
            "memories": {"s": {"kind": "sram", "capacity_kib": 64}, "d": {"kind": "dram", "bandwidth_gbps": 16}}}


def trace():
    g = lambda i, m, n, k, deps=(): TraceOp(i, f"g{i}", "gemm", {"M": m, "N": n, "K": k}, macs=m * n * k,
                                            input_bytes=m * k, weight_bytes=k * n, output_bytes=m * n,
                                            deps=tuple(deps))
    e = lambda i, n, deps: TraceOp(i, f"e{i}", "elementwise", {"elements": n}, flops=n, input_bytes=n,
                                   output_bytes=n, deps=tuple(deps))
    return Trace("chain", (g(0, 64, 32, 48), e(1, 64 * 32, [0]), g(2, 64, 16, 32, [1]), e(3, 64 * 16, [2])))


@pytest.fixture(scope="module")
def run():
    arch = build_arch(arch_dict())
    return arch, simulate(arch, trace())


def test_sum_of_per_op_energy_equals_per_component_dynamic_total(run):
    arch, result = run
    report = estimate_energy(result, arch, SPEC)
    per_op = report.per_op.groupby("component").energy_pj.sum()
    comps = report.per_component.set_index("component")
    for comp, row in comps.iterrows():
        assert per_op.get(comp, 0.0) == pytest.approx(row.dynamic_pj, rel=1e-12)
    assert report.by_op().energy_pj.sum() == pytest.approx(report.dynamic_pj, rel=1e-12)
    assert report.total_pj == pytest.approx(comps.dynamic_pj.sum() + comps.static_pj.sum())


def test_mac_energy_is_counted_once_per_simulated_mac(run):
    arch, result = run
    per_op = estimate_energy(result, arch, SPEC).per_op
    macs = per_op[(per_op.component == "npu") & (per_op.action.str.startswith("mac["))]
    assert macs["count"].sum() == result.total_macs
    # int8 multiply 0.2 pJ + int32 accumulate 0.1 pJ at the table's own node (45 nm, 0.9 V)
    assert macs.pj_per_unit.iloc[0] == pytest.approx(0.3)


def test_memory_bits_priced_equal_result_traffic(run):
    arch, result = run
    per_op = estimate_energy(result, arch, SPEC).per_op
    comps = result.components.set_index("component")
    reads = per_op[(per_op.component == "d") & (per_op.action == "read")]["count"].sum()
    assert reads == pytest.approx(8 * comps.loc["d", "read_bytes"])


def test_dram_without_a_standard_is_an_error_naming_the_memory(run):
    arch, result = run
    with pytest.raises(EnergyError, match=r"memories\.d: DRAM energy needs its standard"):
        estimate_energy(result, arch, EnergySpec())


def test_missing_dtype_entry_is_an_error_naming_component_and_action(run):
    arch, result = run
    with pytest.raises(EnergyError, match=r"engines\.npu.*bf16"):
        estimate_energy(result, arch, EnergySpec(engine_dtype={"npu": "bf16"}, dram_standard={"d": "DDR4"}))
    with pytest.raises(EnergyError, match=r"component 'mult' action 'op' dtype 'int4'"):
        load_table().find("mult", "op", dtype="int4")


def test_unknown_dram_standard_is_an_error(run):
    arch, result = run
    with pytest.raises(EnergyError, match=r"memories\.d: DRAM standard 'DDR9'"):
        estimate_energy(result, arch, EnergySpec(dram_standard={"d": "DDR9"}))


def test_every_shipped_kind_prices_itself_and_an_unknown_component_is_an_error():
    from archsim.hw import registry
    for category in ("engine", "memory"):
        for kind in registry.kinds(category):
            assert registry.lookup(category, kind).pricer is not None, kind
    with pytest.raises(EnergyError, match="no entry for component 'dsp'"):
        load_table().rows_of("dsp", "op")


def test_strict_mode_refuses_placeholder_rows(run):
    arch, result = run
    lax = estimate_energy(result, arch, SPEC)
    assert "sram.leak" in lax.placeholders
    with pytest.raises(EnergyError, match="placeholder"):
        estimate_energy(result, arch, EnergySpec(dram_standard={"d": "DDR4"}, strict=True))


def test_every_row_cites_a_known_source_and_states_node_and_width():
    table = load_table()
    for row in table.rows:
        assert row.node_nm > 0 and row.vdd_v > 0 and row.word_bits > 0
        assert row.provenance == "placeholder" or row.source in table.sources
    for std in table.dram_standards.values():
        assert std.source in table.sources and std.file


def test_table_row_without_source_is_rejected(tmp_path):
    bad = tmp_path / "t.yaml"
    bad.write_text("sources: {}\nrows:\n  - {component: add, action: op, dtype: int8, value: 0.03, unit: pJ,"
                   " word_bits: 8, node_nm: 45, vdd_v: 0.9, provenance: published}\n")
    with pytest.raises(ConfigError, match=r"rows\[0\]\.source"):
        load_table(bad)


def test_sram_rows_convert_64_bit_access_to_per_bit():
    table = load_table()
    assert sram_access(table, "read", 8).pj_per_bit == pytest.approx(10 / 64)
    assert sram_access(table, "read", 1024).pj_per_bit == pytest.approx(100 / 64)
    mid = sram_access(table, "read", 128)
    assert mid.method == "interpolated" and 20 / 64 < mid.pj_per_bit < 100 / 64
    with pytest.raises(EnergyError, match="outside"):
        sram_access(table, "read", 1024 * 1024)


def test_sram_energy_uses_one_bank_capacity():
    a = build_arch(arch_dict())
    d = arch_dict()
    d["memories"]["s"]["banks"] = 8
    b = build_arch(d)
    ea, eb = (estimate_area(x, SPEC) for x in (a, b))
    from archsim.energy.prices import price_arch
    pa = price_arch(a, SPEC, load_table()).price("s", "read").pj_per_unit
    pb = price_arch(b, SPEC, load_table()).price("s", "read").pj_per_unit
    assert pb < pa
    assert ea.set_index("component").loc["s", "area_um2"] == eb.set_index("component").loc["s", "area_um2"]


def test_dram_energies_follow_the_idd_formulas():
    ddr4 = dram_energy(load_table().dram_standards["DDR4"])
    # VDD*(IDD4R-IDD3N)*burst(4 tCK)*tCK / (BL*width) = 1.2*92*4*0.833/64
    assert ddr4.read_pj_per_bit == pytest.approx(1.2 * 92 * 4 * 0.833 / 64)
    assert ddr4.device_gbps == pytest.approx(2.4, rel=1e-3)
    hbm2 = dram_energy(load_table().dram_standards["HBM2"])
    assert hbm2.devices_for(256) == 8
    assert hbm2.activate_pj_per_row_bit == pytest.approx(1.2 * (65 * 48 - (55 * 34 + 40 * 14)) / (64 * 128))


def test_node_scaling_is_explicit_and_monotonic():
    assert energy_factor(45, 0.9, 45, 0.9) == 1.0
    assert energy_factor(45, 0.9, 7, 0.7) < energy_factor(45, 0.9, 16, 0.8) < 1.0
    assert energy_factor(45, 0.9, 45, 1.0) > 1.0
    assert area_factor(45, 7) == pytest.approx(0.059)
    with pytest.raises(ValueError):
        energy_factor(45, 0.9, 3, 0.7)


def test_smaller_node_lowers_energy_and_area(run):
    arch, result = run
    big = estimate_energy(result, arch, SPEC)
    small = estimate_energy(result, arch, EnergySpec(node_nm=16, vdd_v=0.8, dram_standard={"d": "DDR4"}))
    comps_b, comps_s = (r.per_component.set_index("component") for r in (big, small))
    assert comps_s.loc["npu", "dynamic_pj"] < comps_b.loc["npu", "dynamic_pj"]
    assert comps_s.loc["npu", "area_um2"] < comps_b.loc["npu", "area_um2"]
    # DRAM is not scaled with the logic node
    assert comps_s.loc["d", "dynamic_pj"] == pytest.approx(comps_b.loc["d", "dynamic_pj"])


def test_static_energy_is_power_times_makespan(run):
    arch, result = run
    report = estimate_energy(result, arch, SPEC)
    npu = report.per_component.set_index("component").loc["npu"]
    assert npu.static_pj == pytest.approx(npu.static_mw * result.total_cycles / result.clock_ghz)
    assert not math.isnan(report.area_mm2) and report.area_mm2 > 0


def test_link_without_length_is_an_error_and_with_length_is_charged():
    d = arch_dict()
    d["links"] = {"n2v": {"src": "npu", "dst": "vec", "bandwidth_gbps": 8.0}}
    arch = build_arch(d)
    result = simulate(arch, trace())
    with pytest.raises(EnergyError, match=r"links\.n2v"):
        estimate_energy(result, arch, SPEC)
    spec = EnergySpec(dram_standard={"d": "DDR4"}, link_length_mm={"n2v": 2.0})
    per_op = estimate_energy(result, arch, spec).per_op
    link = per_op[per_op.component == "n2v"]
    assert link["count"].sum() == 8 * sum(t.bytes for t in result.transfers if t.kind == "link")


def test_spec_from_dict_rejects_unknown_keys():
    with pytest.raises(ConfigError, match=r"energy\.nodes"):
        EnergySpec.from_dict({"nodes": 7}, "sweep.yaml")
    assert EnergySpec.from_dict({"node_nm": 7, "vdd_v": 0.7}).node_nm == 7

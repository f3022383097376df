"""Honest counts: an op moves its own dtype unless its engine declares a conversion (and the run says so);
DRAM fills of operand SRAMs are SRAM writes, priced; an engine's in-memory traffic is labelled as such."""
import pytest

from archsim.config import build_arch, load_arch
from archsim.energy import EnergySpec, estimate_energy
from archsim.errors import ConfigError
from archsim.report import format_summary
from archsim.sim.run import simulate
from archsim.trace import Trace, TraceOp


def arch(**npu):
    engine = {"kind": "systolic", "rows": 8, "cols": 8, "dataflow": "ws", "ifmap_sram": "i", "filter_sram": "f",
              "ofmap_sram": "o", "dram": "d", **npu}
    return build_arch({"name": "t", "clock_ghz": 1.0, "engines": {"npu": engine},
                       "memories": {"i": {"kind": "sram", "capacity_kib": 64}, "f": {"kind": "sram", "capacity_kib": 64},
                                    "o": {"kind": "sram", "capacity_kib": 64},
                                    "d": {"kind": "dram", "bandwidth_gbps": 16, "energy_standard": "DDR4"}}})


def gemm(dtype: str, word: int) -> Trace:
    m, n, k = 64, 32, 48
    return Trace("g", (TraceOp(0, "g0", "gemm", {"M": m, "N": n, "K": k}, dtype=dtype, macs=m * n * k,
                               input_bytes=m * k * word, weight_bytes=k * n * word, output_bytes=m * n * word),))


def dram_filter_bytes(result) -> float:
    """Weight bytes read from DRAM: by the op itself, or prefetched into the filter SRAM by DMA before it ran."""
    prefetched = sum(t.bytes for t in result.transfers if t.src == "d" and t.dst == "f")
    return float(result.ops["bytes.d.filter.read"].sum()) + prefetched


def test_an_array_moves_each_ops_own_dtype():
    fp16, int8 = simulate(arch(), gemm("fp16", 2)), simulate(arch(), gemm("int8", 1))
    assert dram_filter_bytes(fp16) == 48 * 32 * 2          # the weights, read once, in fp16
    assert dram_filter_bytes(int8) == 48 * 32
    assert fp16.summary()["dtypes"] == ["fp16"] and "dtype_conversions" not in fp16.summary()


def test_a_quantising_array_says_so_and_moves_its_own_words():
    r = simulate(arch(compute_dtype="int8"), gemm("fp16", 2))
    assert dram_filter_bytes(r) == 48 * 32
    assert r.summary()["dtype_conversions"] == {"npu": {"fp16->int8": 1}}
    assert r.ops.compute_dtype.tolist() == ["int8"] and r.ops.dtype.tolist() == ["fp16"]
    assert "npu converts 1 ops fp16->int8" in format_summary(r)


def test_word_bytes_on_an_array_is_rejected_with_the_replacement_named():
    with pytest.raises(ConfigError, match="compute_dtype"):
        arch(word_bytes=2)
    with pytest.raises(ConfigError, match=r"engines\.npu\.compute_dtype"):
        arch(compute_dtype="int7")


def test_dram_fills_are_sram_writes_and_are_priced():
    a = arch()
    r = simulate(a, gemm("int8", 1))
    op = r.ops.iloc[0]
    assert op["bytes.f.filter_fill.write"] == op["bytes.d.filter.read"]
    assert op["bytes.i.ifmap_fill.write"] == op["bytes.d.ifmap.read"] > 0
    assert op["bytes.o.ofmap_drain.read"] == op["bytes.d.ofmap.write"] > 0
    comps = r.components.set_index("component")
    assert comps.loc["f", "write_bytes"] == dram_filter_bytes(r) > 0     # by the op or by a prefetch DMA
    assert comps.loc["i", "write_bytes"] == op["bytes.d.ifmap.read"]
    per_op = estimate_energy(r, a, EnergySpec()).per_op
    for sram in ("i", "f"):
        writes = per_op[(per_op.component == sram) & (per_op.action == "write")]
        assert writes.energy_pj.sum() > 0 and writes["count"].sum() == 8 * comps.loc[sram, "write_bytes"]


def test_mac_energy_follows_the_dtype_the_array_ran():
    spec = EnergySpec(include_static=False)
    int8 = estimate_energy(simulate(arch(), gemm("int8", 1)), arch(), spec).per_op
    fp16 = estimate_energy(simulate(arch(), gemm("fp16", 2)), arch(), spec).per_op
    mac = lambda df: df[df.action.str.startswith("mac[")]
    assert mac(int8).action.unique().tolist() == ["mac[int8]"] and mac(fp16).action.unique().tolist() == ["mac[fp16]"]
    assert mac(fp16).energy_pj.sum() > mac(int8).energy_pj.sum()


def test_a_pims_in_bank_bytes_are_its_own_row_not_a_second_memory(arch_dir):
    pim_gpt = load_arch(arch_dir / "pim_gpt.yaml")
    r = simulate(pim_gpt, "gpt2", workload_overrides=["phase=decode", "layers=1"])
    comps = r.components.set_index("component")
    assert not any("." in c for c in comps.index)
    assert comps.loc["pim", "own_memory"] == "banks" and comps.loc["pim", "write_bytes"] == 0
    assert comps.loc["pim", "read_bytes"] == pytest.approx(r.ops[r.ops.engine == "pim"]["bytes.pim.banks.read"].sum())
    assert "not bus traffic" in format_summary(r)

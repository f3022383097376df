"""The event engine: dependencies are honoured, MACs are conserved, results convert to tables."""
import json

import pytest

from archsim.config import build_arch
from archsim.report import write_result
from archsim.sim.run import simulate
from archsim.trace import Trace, TraceOp


def arch_dict(**npu):
    engine = {"kind": "systolic", "rows": 8, "cols": 8, "dataflow": "ws", "ifmap_sram": "s",
              "filter_sram": "s", "ofmap_sram": "s", "dram": "d", **npu}
    return {
        "name": "t", "clock_ghz": 1.0,
        "engines": {"npu": engine, "vec": {"kind": "vector", "lanes": 16, "dram": "d"}},
        "memories": {"s": {"kind": "sram", "capacity_kib": 64}, "d": {"kind": "dram", "bandwidth_gbps": 16}},
    }


def gemm(i, m, n, k, deps=()):
    return TraceOp(i, f"g{i}", "gemm", {"M": m, "N": n, "K": k}, macs=m * n * k,
                   input_bytes=m * k, weight_bytes=k * n, output_bytes=m * n, deps=tuple(deps))


def elementwise(i, elements, deps=()):
    return TraceOp(i, f"e{i}", "elementwise", {"elements": elements}, flops=elements,
                   input_bytes=elements, output_bytes=elements, deps=tuple(deps))


def chain_trace():
    return Trace("chain", (gemm(0, 64, 32, 48), elementwise(1, 64 * 32, [0]), gemm(2, 64, 16, 32, [1]),
                           elementwise(3, 64 * 16, [2])))


def test_ops_start_after_their_dependencies_finish():
    result = simulate(build_arch(arch_dict()), chain_trace())
    ops = result.ops.set_index("op_id")
    for op in chain_trace().ops:
        for dep in op.deps:
            assert ops.loc[op.id, "start_cycle"] >= ops.loc[dep, "end_cycle"]


def test_macs_simulated_equal_macs_in_the_trace():
    trace = chain_trace()
    result = simulate(build_arch(arch_dict()), trace)
    assert result.total_macs == trace.total_macs


def test_gemms_go_to_the_array_and_elementwise_to_the_vector_unit():
    ops = simulate(build_arch(arch_dict()), chain_trace()).ops.set_index("op_id")
    assert list(ops.engine) == ["npu", "vec", "npu", "vec"]


def test_independent_ops_on_different_engines_overlap():
    trace = Trace("par", (gemm(0, 256, 64, 256), elementwise(1, 1 << 16)))
    ops = simulate(build_arch(arch_dict()), trace).ops.set_index("op_id")
    assert ops.loc[1, "start_cycle"] < ops.loc[0, "end_cycle"]


def test_makespan_is_at_least_the_roofline_bound():
    trace = chain_trace()
    result = simulate(build_arch(arch_dict()), trace)
    compute_bound = sum(op.macs for op in trace.ops) / 64
    dram = result.components.set_index("component").loc["d"]
    bandwidth_bound = (dram.read_bytes + dram.write_bytes) / 16.0
    assert result.total_cycles >= max(compute_bound, bandwidth_bound)


def test_link_between_engines_delays_the_consumer():
    arch = arch_dict()
    no_link = simulate(build_arch(arch), chain_trace())
    arch["links"] = {"npu_to_vec": {"src": "npu", "dst": "vec", "bandwidth_gbps": 1.0, "latency_ns": 100}}
    linked = simulate(build_arch(arch), chain_trace())
    assert linked.total_cycles > no_link.total_cycles
    links = [t for t in linked.transfers if t.kind == "link"]
    assert [t.producer_op for t in links] == [0, 2]
    # 64x32 bytes at 1 byte/cycle + 100 cycles latency
    first = links[0]
    assert first.end_cycle - first.start_cycle == 64 * 32 + 100


def test_engine_clock_scales_its_ops_to_the_arch_clock():
    # an engine at half the architecture clock takes two architecture cycles per engine cycle
    slow = simulate(build_arch(arch_dict(clock_ghz=0.5)), Trace("g", (gemm(0, 64, 64, 64),)))
    op = slow.records[0]
    assert op.end_cycle - op.start_cycle == 2 * op.total_cycles


def test_same_inputs_give_identical_results():
    a = simulate(build_arch(arch_dict()), chain_trace())
    b = simulate(build_arch(arch_dict()), chain_trace())
    assert a.ops.equals(b.ops) and a.summary() == b.summary()


def test_result_tables_and_files(tmp_path):
    result = simulate(build_arch(arch_dict()), chain_trace())
    ops = result.ops
    assert len(ops) == 4 and {"engine", "start_cycle", "end_cycle", "macs", "utilization"} <= set(ops.columns)
    assert any(c.startswith("bytes.d.") for c in ops.columns)
    comps = result.components.set_index("component")
    assert comps.loc["npu", "macs"] == 64 * 32 * 48 + 64 * 16 * 32
    assert 0 < comps.loc["npu", "mac_utilization"] <= 1
    # per-component byte totals equal the sums over ops plus what DMA (the weight prefetch) read
    dma = sum(t.bytes for t in result.transfers if t.src == "d")
    assert dma == sum(op.weight_bytes for op in chain_trace().ops)
    assert comps.loc["d", "read_bytes"] == pytest.approx(
        ops[[c for c in ops.columns if c.startswith("bytes.d.") and c.endswith(".read")]].sum().sum() + dma)
    paths = write_result(result, tmp_path / "out")
    assert {p.name for p in paths} == {"ops.csv", "components.csv", "summary.json"}
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["total_cycles"] == result.total_cycles and summary["total_macs"] == result.total_macs


def test_op_no_engine_can_run_is_a_mapping_error():
    from archsim.errors import MappingError

    arch = arch_dict()
    del arch["engines"]["vec"]
    with pytest.raises(MappingError, match="elementwise"):
        simulate(build_arch(arch), chain_trace())

"""Tiling ops that do not fit the scratchpad (archsim.mapping.tiling)."""
import json
from dataclasses import replace

import pytest

from archsim.errors import MappingError
from archsim.mapping import MAPPERS, Schedule
from archsim.mapping.checker import ScheduleError, check_plan, check_schedule
from archsim.mapping.greedy import greedy_plan
from archsim.mapping.tensors import tensor_view
from archsim.mapping.tiling import check_tiling, op_footprints, tile_trace
from archsim.sim.result import plan_offchip_bytes
from archsim.trace import Trace, TraceOp


def conv(i, name, deps, h=16, c=8, f=8, r=3, stride=1, groups=1, input_bytes=None):
    oh = (h + 2 * (r // 2) - r) // stride + 1
    macs = oh * oh * f * r * r * (c // groups)
    dims = {"N": 1, "H": h, "W": h, "C": c, "R": r, "S": r, "F": f, "stride_h": stride, "stride_w": stride,
            "pad_h": r // 2, "pad_w": r // 2, "groups": groups, "OH": oh, "OW": oh}
    return TraceOp(i, name, "conv2d", dims, macs=macs, flops=2 * macs,
                   input_bytes=h * h * c if input_bytes is None else input_bytes,
                   weight_bytes=r * r * (c // groups) * f, output_bytes=oh * oh * f, deps=deps, params=r * r * c * f)


def small_cnn():
    """conv(input) -> conv -> add(conv0, conv1) -> gemm head: 2 KiB activations, every op but the head
    larger than a 3,000 B scratchpad."""
    ops = (conv(0, "c0", ()), conv(1, "c1", (0,)),
           TraceOp(2, "add", "elementwise", {"elements": 2048}, flops=2048, input_bytes=4096, output_bytes=2048,
                   deps=(0, 1)),
           TraceOp(3, "fc", "gemm", {"B": 1, "M": 1, "N": 10, "K": 2048}, macs=20480, flops=40960,
                   input_bytes=2048, weight_bytes=20480, output_bytes=10, deps=(2,)))
    return Trace("small_cnn", ops)


class _Any:
    def supports(self, op):
        return True


ENGINES = {"any": _Any()}


def _tiles_of(tiled, op_id):
    return tiled.tiles_of(op_id)


def test_a_tiled_ops_tiles_sum_to_its_macs_and_bytes():
    trace = small_cnn()
    tiled = tile_trace(trace, 3000)
    assert set(tiled.splits) == {0, 1, 2}
    for op in trace.ops[:3]:
        parts = _tiles_of(tiled, op.id)
        assert len(parts) > 1
        assert sum(p.macs for p in parts) == op.macs
        assert sum(p.flops for p in parts) == op.flops
        assert sum(p.output_bytes for p in parts) == op.output_bytes
        assert sum(p.input_bytes for p in parts) >= op.input_bytes
        assert all(p.weight_bytes == op.weight_bytes for p in parts)   # row tiles share the weights
    # a 3x3 conv's row tiles read halo rows: more input than the op
    c1 = _tiles_of(tiled, 1)
    assert sum(p.input_bytes for p in c1) > trace.ops[1].input_bytes
    assert sum(p.dims["OH"] for p in c1) == 16 and all(p.dims["H"] <= p.dims["OH"] + 2 for p in c1)
    check_tiling(tiled)
    # every tile (and every other op) fits
    assert tensor_view(tiled).min_capacity <= 3000


def test_ops_that_fit_are_not_tiled():
    trace = small_cnn()
    assert tile_trace(trace, max(op_footprints(trace).values())) is trace


def test_weights_force_a_column_split_when_one_row_with_all_weights_does_not_fit():
    op = TraceOp(0, "big", "gemm", {"B": 1, "M": 4, "N": 64, "K": 64}, macs=4 * 64 * 64, flops=2 * 4 * 64 * 64,
                 input_bytes=256, weight_bytes=4096, output_bytes=256)
    trace = Trace("g", (op,))
    tiled = tile_trace(trace, 1500, include_weights=True)
    rows, cols = tiled.splits[0]
    assert cols > 1
    parts = tiled.ops
    assert sum(p.macs for p in parts) == op.macs and sum(p.output_bytes for p in parts) == op.output_bytes
    view = tensor_view(tiled, include_weights=True)
    weights = [t for t in view.tensors if t.role == "weight"]
    assert len(weights) == cols and sum(t.size for t in weights) == op.weight_bytes
    assert view.min_capacity <= 1500


def test_a_strided_1x1_conv_tiles_read_all_input_rows_and_a_depthwise_conv_splits_channels():
    down = conv(0, "down", (), h=16, c=8, f=16, r=1, stride=2)
    dw = conv(1, "dw", (0,), h=8, c=16, f=16, r=3, groups=16, input_bytes=8 * 8 * 16)
    trace = Trace("t", (down, dw))
    tiled = tile_trace(trace, 400)
    check_tiling(tiled)
    assert sum(p.input_bytes for p in _tiles_of(tiled, 0)) >= down.input_bytes
    assert tensor_view(tiled).min_capacity <= 400


def test_an_op_that_cannot_be_tiled_small_enough_is_a_mapping_error():
    with pytest.raises(MappingError, match="cannot be tiled"):
        tile_trace(small_cnn(), 100)


@pytest.mark.parametrize("mapper", ["belady", "lru", "cosma", "cosma_dc"])
def test_every_tiled_schedule_passes_the_checker(mapper):
    trace = small_cnn()
    schedule = MAPPERS[mapper](trace, ENGINES, capacity_bytes=3000, time_limit_s=20)
    assert schedule.tiled and schedule.original_trace is trace
    traffic = check_schedule(schedule)
    assert traffic == schedule.memory_plan.traffic
    assert traffic.tiling > 0 and traffic.compulsory_store == 10
    assert sum(e.op.macs for e in schedule.entries) == trace.total_macs


def test_ilp_and_belady_succeed_on_a_graph_with_an_oversized_op_and_the_ilp_is_no_worse():
    trace = small_cnn()
    # with weights the head (20 KiB of weights) is split into column blocks; the convs and the add by rows
    ilp = MAPPERS["cosma"](trace, ENGINES, capacity_bytes=4500, include_weights=True, time_limit_s=20)
    greedy = MAPPERS["belady"](trace, ENGINES, capacity_bytes=4500, include_weights=True)
    assert ilp.trace.splits[3][1] > 1 and set(ilp.trace.splits) == {0, 1, 2, 3}
    assert ilp.memory_plan.traffic.non_compulsory <= greedy.memory_plan.traffic.non_compulsory
    assert ilp.memory_plan.traffic.tiling == greedy.memory_plan.traffic.tiling
    assert ilp.memory_plan.info.status == "optimal"


def test_checker_rejects_a_slice_loaded_before_its_source_is_stored():
    trace = small_cnn()
    schedule = MAPPERS["belady"](trace, ENGINES, capacity_bytes=3000)
    view = tensor_view(schedule.trace)
    plan = schedule.memory_plan
    viewed = next(t.id for t in view.tensors if t.viewed)
    steps = [replace(s, actions=tuple(a for a in s.actions if not (a.kind == "store" and a.tensor == viewed)))
             for s in plan.steps]
    bad = replace(plan, steps=tuple(steps), traffic=type(plan.traffic)())
    with pytest.raises(ScheduleError, match="before DRAM holds its source"):
        check_plan(view, bad)


def test_checker_rejects_tiles_that_do_not_sum_to_their_op():
    schedule = MAPPERS["belady"](small_cnn(), ENGINES, capacity_bytes=3000)
    tiled = schedule.trace
    first = next(op for op in tiled.ops if op.id in tiled.tiles)
    broken = replace(tiled, ops=tuple(replace(op, macs=op.macs + 1) if op is first else op for op in tiled.ops))
    with pytest.raises(ScheduleError, match="macs"):
        check_schedule(replace(schedule, trace=broken))


def test_tiled_schedule_round_trips_through_json():
    trace = small_cnn()
    schedule = MAPPERS["belady"](trace, ENGINES, capacity_bytes=3000)
    data = json.loads(json.dumps(schedule.to_dict()))
    assert data["tiling"]["splits"] and {t["of"] for t in data["tiling"]["tiles"]} == {0, 1, 2}
    back = Schedule.from_dict(data, trace)
    assert [e.op for e in back.entries] == [e.op for e in schedule.entries]
    assert check_schedule(back) == schedule.memory_plan.traffic


def test_greedy_plan_of_an_untiled_view_still_names_m_r():
    with pytest.raises(MappingError, match="M_R"):
        greedy_plan(tensor_view(small_cnn()), [0, 1, 2, 3], 3000)


def test_resnet18_on_the_edge_npu_runs_with_cosma_and_moves_the_plans_bytes(repo):
    """`archsim run arch_configs/edge_32x32_os.yaml resnet18 --mapper cosma`: 96 KiB of working SRAM, where
    22 of the 31 ops do not fit untiled."""
    from archsim.config import load_arch
    from archsim.mapping.program import ProgramBuilder
    from archsim.sim.run import build_engines, run_program
    from archsim.workload import load_workload

    arch = load_arch(repo / "arch_configs" / "edge_32x32_os.yaml")
    engines = build_engines(arch)
    trace = load_workload("resnet18", [])
    schedule = MAPPERS["cosma"](trace, engines, time_limit_s=20)
    traffic = check_schedule(schedule)
    assert schedule.tiled and traffic.tiling > 0 and schedule.memory_plan.info.gap == 0.0
    builder = ProgramBuilder(arch, engines)
    builder.add_schedule(schedule)
    result = run_program(builder.take(), arch, engines, trace.name)
    assert sum(r.macs for r in result.records) == trace.total_macs
    assert plan_offchip_bytes(result) == {"load": traffic.load, "store": traffic.store}

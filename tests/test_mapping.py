"""Memory plans: the tensor view, the checker, the greedy baselines, Schedule JSON and plan execution."""
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archsim.config import build_arch
from archsim.errors import MappingError
from archsim.mapping import MAPPERS, Schedule
from archsim.mapping.checker import ScheduleError, check_plan, check_schedule
from archsim.mapping.greedy import POLICIES, find_gap, greedy_plan
from archsim.mapping.memplan import Action
from archsim.mapping.synthetic import random_dag_trace, trace_from_edges
from archsim.mapping.tensors import tensor_view
from archsim.sim.result import plan_offchip_bytes
from archsim.sim.run import simulate
from archsim.trace import Trace, TraceOp


def fork_trace():
    """a(10) -> b(10), a -> c(1), (b, c) -> d(1): M_R = 20; at 20 B one tensor must be spilled."""
    return trace_from_edges("fork", [10, 10, 1, 1], [[], [0], [0], [1, 2]])


def sim_arch():
    return build_arch({
        "name": "t", "clock_ghz": 1.0,
        "engines": {"vec": {"kind": "vector", "lanes": 16, "dram": "d"}},
        "memories": {"d": {"kind": "dram", "bandwidth_gbps": 16}},
    })


# --- tensor view

def test_each_op_output_is_one_tensor_read_by_its_dependents():
    view = tensor_view(fork_trace())
    a = view.writes[0][0]
    assert view.tensor(a).size == 10 and set(view.tensor(a).consumers) == {1, 2}
    assert view.reads[3] == (view.writes[1][0], view.writes[2][0])


def test_input_bytes_beyond_the_producers_are_an_offchip_input_tensor():
    trace = trace_from_edges("in", [4, 4], [[], [0]], inputs=[6, 2])
    view = tensor_view(trace)
    extra = [view.tensor(t) for t in view.reads[1] if view.tensor(t).role == "input"]
    assert [t.size for t in extra] == [2] and extra[0].starts_offchip
    assert view.compulsory_load_bytes == 8 and view.compulsory_store_bytes == 4


def test_weights_are_tensors_only_when_asked():
    trace = trace_from_edges("w", [4], [[]], inputs=[4], weights=[16])
    assert len(tensor_view(trace).tensors) == 2
    view = tensor_view(trace, include_weights=True)
    assert sorted(t.role for t in view.tensors) == ["activation", "input", "weight"]
    assert view.min_capacity == 24


def test_min_capacity_is_the_largest_op_footprint():
    assert tensor_view(fork_trace()).min_capacity == 20


def test_zoo_trace_tensor_view_covers_every_op(repo):
    from archsim.workload import load_workload

    trace = load_workload("resnet18")
    view = tensor_view(trace)
    assert set(view.op_ids) == {op.id for op in trace.ops}
    assert view.compulsory_load_bytes == 3 * 224 * 224  # the int8 image


# --- allocator and greedy baselines

def test_first_fit_takes_the_lowest_gap_and_best_fit_the_tightest():
    sizes = [4, 4, 2]
    resident = {0: 0, 1: 10}       # gaps [4, 10) of 6 and [14, 16) of 2
    assert find_gap(resident, sizes, 2, 16, "first") == 4
    assert find_gap(resident, sizes, 2, 16, "best") == 14
    assert find_gap(resident, sizes, 7, 16, "first") is None


def test_greedy_spills_in_trace_order_at_the_tightest_budget():
    plan = greedy_plan(tensor_view(fork_trace()), [0, 1, 2, 3], 20, "belady")
    # at op 2, a (read now) and b (read by op 3) fill 20 B: Belady spills b (store + reload)
    assert plan.traffic.non_compulsory == 20
    assert plan.traffic.compulsory_store == 1


def test_least_cost_replacement_evicts_the_cheapest_gap_where_belady_evicts_the_furthest_use():
    """A(10) B(4) C(4) fill 18 of 20 B; op 3 needs 2 + 8 B. Belady frees A (read last, by op 5): spill + reload
    20 B; the least-cost decision frees B and C instead (read next, by op 4, but 2 x (4 + 4) = 16 B)."""
    trace = trace_from_edges("cheap", [10, 4, 4, 8, 1, 1], [[], [], [], [], [1, 2, 3], [0, 4]], [2, 2, 2, 2, 0, 0])
    view = tensor_view(trace)
    evicted = {}
    for policy in ("belady", "least_cost"):
        plan = greedy_plan(view, range(6), 20, policy)
        step3 = plan.steps[3]
        evicted[policy] = {view.tensor(a.tensor).producer for a in step3.actions if a.kind == "store"}
        assert check_plan(view, plan).non_compulsory == plan.traffic.non_compulsory
    assert evicted == {"belady": {0}, "least_cost": {1, 2}}


def test_greedy_needs_no_spill_when_everything_fits():
    plan = greedy_plan(tensor_view(fork_trace()), [0, 1, 2, 3], 21, "lru", "best")
    assert plan.traffic.non_compulsory == 0


def test_scratchpad_smaller_than_an_op_is_a_mapping_error():
    with pytest.raises(MappingError, match="M_R"):
        greedy_plan(tensor_view(fork_trace()), [0, 1, 2, 3], 19)


# --- checker

@pytest.fixture
def fork_plan():
    view = tensor_view(fork_trace())
    return view, greedy_plan(view, [0, 1, 2, 3], 20, "belady")


def _edit_step(plan, t, **changes):
    steps = list(plan.steps)
    steps[t] = replace(steps[t], **changes)
    return replace(plan, steps=tuple(steps))


def test_checker_accepts_a_greedy_plan_and_recounts_its_traffic(fork_plan):
    view, plan = fork_plan
    assert check_plan(view, plan) == plan.traffic


def test_checker_rejects_an_input_that_is_not_resident(fork_plan):
    view, plan = fork_plan
    t = next(i for i, s in enumerate(plan.steps) if any(a.kind == "load" for a in s.actions))
    bad = _edit_step(plan, t, actions=tuple(a for a in plan.steps[t].actions if a.kind != "load"))
    with pytest.raises(ScheduleError, match="not resident"):
        check_plan(view, replace(bad, traffic=type(plan.traffic)()))


def test_checker_rejects_overlapping_tensors(fork_plan):
    view, plan = fork_plan
    (tid, _), = plan.steps[1].outputs
    with pytest.raises(ScheduleError, match="overlaps"):
        check_plan(view, _edit_step(plan, 1, outputs=((tid, 5),)))


def test_checker_rejects_a_tensor_beyond_the_capacity(fork_plan):
    view, plan = fork_plan
    (tid, _), = plan.steps[0].outputs
    with pytest.raises(ScheduleError, match="outside"):
        check_plan(view, _edit_step(plan, 0, outputs=((tid, 15),)))


def test_checker_rejects_a_smaller_claimed_capacity(fork_plan):
    view, plan = fork_plan
    with pytest.raises(ScheduleError, match="outside"):
        check_plan(view, replace(plan, capacity=15))


def test_checker_rejects_an_op_before_its_dependency(fork_plan):
    view, plan = fork_plan
    steps = list(plan.steps)
    steps[0], steps[1] = steps[1], steps[0]
    with pytest.raises(ScheduleError, match="before its dependency"):
        check_plan(view, replace(plan, steps=tuple(steps)))


def test_checker_rejects_a_model_output_never_stored(fork_plan):
    view, plan = fork_plan
    bad = replace(plan, final_actions=tuple(a for a in plan.final_actions if a.kind != "store"),
                  traffic=type(plan.traffic)())
    with pytest.raises(ScheduleError, match="never stored"):
        check_plan(view, bad)


def test_checker_rejects_a_reload_of_a_tensor_never_stored(fork_plan):
    view, plan = fork_plan
    t = next(i for i, s in enumerate(plan.steps) if any(a.kind == "store" for a in s.actions))
    bad = _edit_step(plan, t, actions=tuple(a for a in plan.steps[t].actions if a.kind != "store"))
    with pytest.raises(ScheduleError, match="DRAM does not hold"):
        check_plan(view, replace(bad, traffic=type(plan.traffic)()))


def test_checker_rejects_a_wrong_traffic_claim(fork_plan):
    view, plan = fork_plan
    with pytest.raises(ScheduleError, match="claims traffic"):
        check_plan(view, replace(plan, traffic=replace(plan.traffic, reload=0)))


def test_checker_rejects_a_free_of_a_tensor_not_resident(fork_plan):
    view, plan = fork_plan
    bad = _edit_step(plan, 0, actions=(Action("free", 3),))
    with pytest.raises(ScheduleError, match="not resident"):
        check_plan(view, bad)


# --- property: greedy plans always pass the checker

@st.composite
def random_dags(draw):
    n = draw(st.integers(2, 9))
    outputs, deps, inputs = [], [], []
    for i in range(n):
        outputs.append(draw(st.integers(1, 12)))
        deps.append(sorted(draw(st.sets(st.integers(0, i - 1), max_size=3))) if i else [])
        inputs.append(draw(st.integers(0, 8)) if not deps[-1] else 0)
    return trace_from_edges("h", outputs, deps, inputs)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_dags(), st.integers(0, 40), st.sampled_from(POLICIES), st.sampled_from(["first", "best"]),
       st.randoms(use_true_random=False))
def test_greedy_plans_of_any_topological_order_pass_the_checker(trace, slack, policy, fit, rng):
    view = tensor_view(trace)
    order, done, pending = [], set(), list(view.op_ids)
    while pending:  # a random topological order
        ready = [v for v in pending if set(view.deps[v]) <= done]
        v = rng.choice(ready)
        order.append(v)
        done.add(v)
        pending.remove(v)
    plan = greedy_plan(view, order, view.min_capacity + slack, policy, fit)
    traffic = check_plan(view, plan)
    assert traffic.compulsory == view.compulsory_load_bytes + view.compulsory_store_bytes
    assert traffic.non_compulsory >= 0


# --- Schedules, JSON and execution

def test_schedule_round_trips_through_json(fork_plan):
    import json

    trace = fork_trace()
    schedule = MAPPERS["belady"](trace, {"vec": _Vec()}, capacity_bytes=20)
    back = Schedule.from_dict(json.loads(json.dumps(schedule.to_dict())), trace)
    assert replace(back.memory_plan, info=None) == replace(schedule.memory_plan, info=None)
    assert back.memory_plan.info.method == schedule.memory_plan.info.method
    assert [e.op.id for e in back.entries] == [0, 1, 2, 3]
    assert check_schedule(back) == schedule.memory_plan.traffic


class _Vec:
    def supports(self, op):
        return True


@pytest.mark.parametrize("mapper", ["cosma", "cosma_dc", "belady", "lru"])
def test_simulated_offchip_bytes_equal_the_plans(mapper):
    trace = random_dag_trace(3, 14, max_bytes=4096)
    capacity = tensor_view(trace).min_capacity
    result = simulate(sim_arch(), trace, mapper=mapper, mapper_options={"capacity_bytes": capacity})
    schedule = MAPPERS[mapper](trace, {"vec": _Vec()}, capacity_bytes=capacity)
    traffic = schedule.memory_plan.traffic
    moved = plan_offchip_bytes(result)
    assert moved == {"load": traffic.compulsory_load + traffic.reload,
                     "store": traffic.compulsory_store + traffic.spill_store}


def test_ops_start_after_their_steps_loads_finish():
    trace = random_dag_trace(4, 10, max_bytes=2048)
    result = simulate(sim_arch(), trace, mapper="belady",
                      mapper_options={"capacity_bytes": tensor_view(trace).min_capacity})
    start = {r.op_id: r.start_cycle for r in result.records}
    loads = [t for t in result.transfers if t.link.endswith(".load")]
    assert loads and all(start[t.consumer_op] >= t.end_cycle for t in loads)


def test_by_kind_schedules_carry_no_memory_plan_and_move_no_plan_bytes():
    trace = Trace("one", (TraceOp(0, "e", "elementwise", {"elements": 8}, input_bytes=8, output_bytes=8),))
    result = simulate(sim_arch(), trace)
    assert plan_offchip_bytes(result) == {"load": 0, "store": 0}


def test_checker_rejects_entries_that_disagree_with_the_plan_order():
    schedule = MAPPERS["belady"](fork_trace(), {"vec": _Vec()}, capacity_bytes=20)
    entries = schedule.entries
    swapped = (entries[0], entries[2], entries[1], entries[3])  # still topological, but not the plan's order
    with pytest.raises(ScheduleError, match="order"):
        check_schedule(replace(schedule, entries=swapped))


# --- partitioning for unlike engines

class _Costly:
    """A stand-in engine: ``cycles[kind]`` per op, at ``clock_ghz``."""

    def __init__(self, cycles, clock_ghz=1.0):
        self.cycles, self.clock_ghz = cycles, clock_ghz

    def supports(self, op):
        return op.kind in self.cycles

    def demand(self, op, **_):
        from archsim.hw.demand import single_phase

        c = self.cycles[op.kind]
        return single_phase(c, compute_cycles=c)


def _kinds_trace(kinds, chain=True):
    return Trace("k", tuple(TraceOp(i, f"o{i}", k, {"elements": 1}, output_bytes=1000,
                                    deps=(i - 1,) if chain and i else ()) for i, k in enumerate(kinds)))


def test_partition_sends_each_op_to_the_engine_that_finishes_it_first():
    from archsim.mapping.partition import partition

    engines = {"npu": _Costly({"gemm": 10, "gemv": 100}), "pim": _Costly({"gemv": 20}),
               "vec": _Costly({"softmax": 5, "gemm": 1000})}
    placed = partition(_kinds_trace(["gemm", "gemv", "softmax", "gemm"]), engines)
    assert [p.engine for p in placed] == ["npu", "pim", "vec", "npu"]
    assert placed[-1].finish_ns == 10 + 20 + 5 + 10


def test_partition_spreads_independent_ops_over_engines_that_can_run_them():
    from archsim.mapping.partition import partition

    engines = {"a": _Costly({"gemm": 10}), "b": _Costly({"gemm": 12})}
    placed = partition(_kinds_trace(["gemm"] * 4, chain=False), engines)
    assert sorted(p.engine for p in placed) == ["a", "a", "b", "b"]


def test_partition_counts_transfers_between_engines():
    from archsim.mapping.partition import partition

    engines = {"npu": _Costly({"gemm": 10, "gemv": 30}), "pim": _Costly({"gemv": 20})}
    # moving 1000 B at 100 GB/s costs 10 ns, so the gemv stays on the NPU (30 < 10 + 20 + 5)
    placed = partition(_kinds_trace(["gemm", "gemv"]), engines, transfer_gbps=100, transfer_latency_ns=5)
    assert placed[1].engine == "npu"


def test_partition_mapper_runs_in_the_simulator():
    result = simulate(build_arch({
        "name": "t", "clock_ghz": 1.0,
        "engines": {"npu": {"kind": "systolic", "rows": 8, "cols": 8, "dataflow": "ws", "ifmap_sram": "s",
                            "filter_sram": "s", "ofmap_sram": "s", "dram": "d"},
                    "vec": {"kind": "vector", "lanes": 16, "dram": "d"}},
        "memories": {"s": {"kind": "sram", "capacity_kib": 64}, "d": {"kind": "dram", "bandwidth_gbps": 16}},
    }), random_dag_trace(1, 6), mapper="partition")
    assert {r.engine for r in result.records} == {"vec"}

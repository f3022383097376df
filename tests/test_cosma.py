"""The COSMA ILP, divide-and-conquer and the budgets: known optima, bounds against the heuristics."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archsim.mapping.budgets import budgets, peak_footprint
from archsim.mapping.checker import check_plan
from archsim.mapping.cosma import cosma_plan
from archsim.mapping.divide import divide_and_conquer_plan, live_bytes_across, segment_cuts
from archsim.mapping.greedy import FITS, POLICIES, greedy_plan
from archsim.mapping.solver import HighsBackend, Milp
from archsim.mapping.synthetic import nas_cell_trace, random_dag_trace, trace_from_edges
from archsim.mapping.tensors import tensor_view


def fork_view():
    """a(10) -> b(10), a -> c(1), (b, c) -> d(1). Any order holds 21 B at some step, so at 20 B one
    tensor must leave: the cheapest is c (1 B stored + 1 B reloaded) with the order a, c, b, d."""
    return tensor_view(trace_from_edges("fork", [10, 10, 1, 1], [[], [0], [0], [1, 2]]))


def best_greedy(view, capacity, orders=None):
    orders = orders or [view.op_ids]
    return min(greedy_plan(view, o, capacity, p, f).traffic.non_compulsory
               for o in orders for p in POLICIES for f in FITS)


# --- solver wrapper

def test_solver_reports_optimum_bound_and_zero_gap():
    m = Milp()
    a, b = m.var(cost=3), m.var(cost=2)
    m.add({a: 1, b: 1}, lower=1)
    m.offset = 5
    r = HighsBackend().solve(m, 5)
    assert r.status == "optimal" and r.objective == 7 and r.bound == 7 and r.gap == 0


def test_solver_reports_infeasible_models():
    m = Milp()
    a = m.var()
    m.add({a: 1}, lower=2)
    r = HighsBackend().solve(m, 5)
    assert r.status == "infeasible" and not r.has_solution


# --- the ILP on hand-solved graphs

def test_ilp_finds_the_hand_solved_optimum_and_proves_it():
    plan = cosma_plan(fork_view(), 20, time_limit_s=10)
    assert plan.traffic.non_compulsory == 2
    assert plan.order == (0, 2, 1, 3)
    assert plan.info.status == "optimal" and plan.info.gap == 0


def test_ilp_needs_no_spill_when_the_peak_fits():
    assert cosma_plan(fork_view(), 21, time_limit_s=10).traffic.non_compulsory == 0


def test_ilp_beats_trace_order_belady_on_the_fork():
    assert best_greedy(fork_view(), 20) == 20 > cosma_plan(fork_view(), 20).traffic.non_compulsory


def test_ilp_reports_compulsory_traffic_separately():
    view = tensor_view(trace_from_edges("w", [4, 4], [[], [0]], inputs=[6, 0], weights=[3, 5]),
                       include_weights=True)
    plan = cosma_plan(view, view.min_capacity)
    assert plan.traffic.compulsory_load == 6 + 3 + 5 and plan.traffic.compulsory_store == 4
    assert plan.traffic.non_compulsory == 0


def test_ilp_places_tensors_to_avoid_fragmentation_on_resnet18():
    from archsim.workload import load_workload

    view = tensor_view(load_workload("resnet18"))
    capacity = view.min_capacity  # = the trace order's peak; first-fit fragments and spills
    assert peak_footprint(view, view.op_ids) == capacity
    assert best_greedy(view, capacity) > 0
    plan = cosma_plan(view, capacity, time_limit_s=20)
    assert plan.traffic.non_compulsory == 0 and plan.info.status == "optimal"


def test_solver_time_limit_is_respected():
    view = tensor_view(nas_cell_trace(0, cells=3))
    plan = cosma_plan(view, view.min_capacity, time_limit_s=1.0)
    check_plan(view, plan)
    assert plan.info.seconds < 1.0 + 3.0  # model building and the greedy seed on top of the solver's limit
    assert plan.info.status in ("time_limit", "optimal")
    assert plan.traffic.non_compulsory <= best_greedy(view, view.min_capacity)


# --- properties on random DAGs

@st.composite
def small_dags(draw):
    n = draw(st.integers(2, 7))
    outputs, deps, inputs = [], [], []
    for i in range(n):
        outputs.append(draw(st.integers(1, 9)))
        deps.append(sorted(draw(st.sets(st.integers(0, i - 1), max_size=3))) if i else [])
        inputs.append(draw(st.integers(0, 6)) if not deps[-1] else 0)
    return trace_from_edges("h", outputs, deps, inputs)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_dags(), st.floats(0, 1))
def test_ilp_is_optimal_and_no_worse_than_any_heuristic(trace, where):
    view = tensor_view(trace)
    peak = peak_footprint(view, view.op_ids)
    capacity = view.min_capacity + int(where * (peak - view.min_capacity))
    plan = cosma_plan(view, capacity, time_limit_s=20)
    traffic = check_plan(view, plan)
    assert plan.info.status == "optimal" and plan.info.gap == 0
    assert traffic.compulsory == view.compulsory_load_bytes + view.compulsory_store_bytes
    assert traffic.non_compulsory <= best_greedy(view, capacity)
    dc = divide_and_conquer_plan(view, capacity, segment_ops=3, time_limit_s=20)
    assert dc.traffic.non_compulsory >= traffic.non_compulsory  # the ILP optimum bounds every plan


# --- divide and conquer

def test_cuts_fall_where_the_fewest_bytes_are_live():
    view = fork_view()
    # after op 0: a; after op 1: a and b; after op 2: b and c
    assert live_bytes_across(view, [0, 1, 2, 3]) == [0, 10, 20, 11, 0]
    assert segment_cuts(view, [0, 1, 2, 3], 2) == [1]


def test_divide_and_conquer_matches_the_ilp_on_a_random_dag():
    view = tensor_view(random_dag_trace(7, 24, window=3))
    capacity = view.min_capacity + 8
    ilp = cosma_plan(view, capacity, time_limit_s=20)
    dc = divide_and_conquer_plan(view, capacity, segment_ops=8, time_limit_s=20)
    assert ilp.info.status == "optimal"
    assert dc.info.subproblems == 3
    assert dc.traffic.non_compulsory <= 1.05 * ilp.traffic.non_compulsory + 1
    assert dc.traffic.non_compulsory <= best_greedy(view, capacity)


def test_divide_and_conquer_handles_a_thousand_op_graph():
    from archsim.workload import load_workload

    view = tensor_view(load_workload("gpt3_175b", ["seq_len=32", "dtype=int8"]))
    assert len(view.op_ids) > 1000
    plan = divide_and_conquer_plan(view, view.min_capacity, segment_ops=40, time_limit_s=40)
    check_plan(view, plan)
    assert plan.info.subproblems > 20
    assert plan.traffic.non_compulsory <= best_greedy(view, view.min_capacity)


# --- budgets

def test_budgets_order_m_r_m_h_m_p():
    view = tensor_view(random_dag_trace(2, 12, window=4))
    b = budgets(view, time_limit_s=10)
    assert b.m_r <= b.m_h <= b.m_p <= peak_footprint(view, view.op_ids)
    assert b.m_p == peak_footprint(view, b.mpmf_order) and b.m_p_optimal


def test_ilp_removes_every_spill_at_m_p():
    view = tensor_view(random_dag_trace(5, 12, window=4))
    b = budgets(view, time_limit_s=10)
    plan = cosma_plan(view, b.m_p, time_limit_s=20, order=b.mpmf_order)
    assert plan.traffic.non_compulsory == 0 and plan.info.status == "optimal"

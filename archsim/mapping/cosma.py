"""COSMA: op schedule, scratchpad allocation and tensor replacement as one integer linear program.

The formulation follows COSMA (Li, Gupta, Malik, arXiv 2311.18246, Eq. 1-12) on the execution model of
``archsim.mapping.memplan`` — one op per step; per tensor ``a`` and step ``t`` binaries

* ``X[v,t]`` op ``v`` runs at ``t`` (COSMA's C: its output tensor is created),
* ``P[a,t]`` ``a`` stays resident from ``t-1``, ``R[a,t]`` it is retrieved (loaded) at ``t``,
* ``S[a,t]`` it is spilled (stored, then dropped) at ``t``; ``resident(a,t) = X + P + R``,

a continuous base address ``L[a,t]`` (exact: sizes are integers, so flooring a solution's addresses keeps
it feasible) and one ordering binary per pair of tensors that can be resident together. Constraints:
one op per step and dependencies first; one action per tensor and step; keep or spill only what was
resident; retrieve only what DRAM holds; an op's inputs resident when it runs; the capacity and pairwise
non-overlap (big-M = capacity); an address fixed while a tensor stays resident. Objective: spill plus
reload bytes (non-compulsory traffic; the compulsory first loads are subtracted as a constant).

Two additions keep it small and make it reusable: time windows (an op with ``a`` ancestors and ``d``
descendants can only run at steps ``a .. n-1-d``; a tensor's variables exist only inside its lifetime
window), and a *segment* form — an initial scratchpad state, ops that run later, and a reload charge for
live tensors left off-chip at the end — which divide-and-conquer (``archsim.mapping.divide``) chains.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Sequence

from archsim.errors import MappingError
from archsim.mapping.checker import check_plan
from archsim.mapping.greedy import (FITS, POLICIES, PlannerState, advance_state, check_capacity, greedy_steps,
                                    initial_state, release_all)
from archsim.mapping.memplan import Action, MemoryPlan, SolveInfo, StepPlan, tensor_table
from archsim.mapping.solver import HighsBackend, Milp, MilpBackend, MilpResult
from archsim.mapping.tensors import TensorView


@dataclass(frozen=True)
class SegmentResult:
    """Steps the ILP (or its fallback) chose for a segment, the solve outcome and ``objective`` /
    ``bound`` in non-compulsory bytes (the bound includes the end-of-segment reload charge)."""

    steps: tuple[StepPlan, ...]
    solve: MilpResult | None
    objective: float
    bound: float
    used_ilp: bool


def cosma_plan(view: TensorView, capacity: int, time_limit_s: float = 60.0, order: Sequence[int] | None = None,
               backend: MilpBackend | None = None, seed: MemoryPlan | None = None) -> MemoryPlan:
    """The COSMA-optimal memory plan of ``view`` for ``capacity`` bytes, within ``time_limit_s`` seconds.

    The best greedy plan of ``order`` (default: trace order) — or ``seed`` (e.g. a divide-and-conquer plan)
    when it is cheaper — seeds the solver, so the result is never worse than either; ``info`` reports the
    solver status, incumbent, bound and gap (bytes of non-compulsory traffic).
    """
    check_capacity(view, capacity)
    order = list(view.op_ids if order is None else order)
    t0 = time.perf_counter()
    state = initial_state(view)
    seeds = [seed.steps] if seed is not None else []
    seg = solve_segment(view, order, capacity, state.copy(), set(), time_limit_s, backend, seeds=seeds)
    end = advance_state(state, seg.steps)
    plan = MemoryPlan(capacity, seg.steps, tuple(release_all(view, end)), tensor_table(view))
    plan = replace(plan, traffic=check_plan(view, plan))
    status = seg.solve.status if seg.solve is not None else "no_solver_solution"
    bound = seg.bound if seg.used_ilp else math.nan
    obj = float(plan.traffic.non_compulsory)
    gap = 0.0 if obj <= bound + 1e-6 else (obj - bound) / max(obj, 1.0) if not math.isnan(bound) else math.nan
    info = SolveInfo("cosma-ilp" if seg.used_ilp else "cosma-ilp(greedy incumbent)", status, obj, bound, gap,
                     time.perf_counter() - t0, 1)
    return replace(plan, info=info)


def best_greedy_steps(view: TensorView, order: Sequence[int], capacity: int, state: PlannerState,
                      later: set[int], positions: dict[int, int] | None = None) -> tuple[list[StepPlan], float]:
    """The cheapest greedy (policy x fit) steps of ``order`` from ``state``, priced like the segment ILP:
    non-compulsory bytes plus a reload for each live tensor left off-chip at the end (bytes)."""
    best = None
    for policy in POLICIES:
        for fit in FITS:
            trial = state.copy()
            steps = greedy_steps(view, order, capacity, policy, fit, trial, positions)
            cost = segment_cost(view, order, state, later, steps)
            if best is None or cost < best[1]:
                best = (steps, cost)
    return best


def segment_cost(view: TensorView, order: Sequence[int], state: PlannerState, later: set[int],
                 steps: Sequence[StepPlan]) -> float:
    """What the segment ILP's objective charges for ``steps`` (bytes): loads and stores of non-outputs, minus
    the segment's compulsory first loads, plus a reload per live tensor not resident at the end."""
    cost = 0
    for step in steps:
        for a in step.actions:
            if a.kind == "load" or (a.kind == "store" and not view.tensor(a.tensor).is_output):
                cost += view.tensor(a.tensor).size
    end = advance_state(state, steps)
    for a in _relevant(view, order, state):
        if any(c in later for c in view.tensor(a).consumers) and a not in end.resident:
            cost += view.tensor(a).size
    return cost - _compulsory(view, order, later)


def _relevant(view: TensorView, order: Sequence[int], state: PlannerState) -> list[int]:
    """Tensors a segment's ILP models: those its ops touch and those resident at its start."""
    return sorted({a for v in order for a in view.touched(v)} | set(state.resident))


def _compulsory(view: TensorView, order: Sequence[int], later: set[int]) -> int:
    """Bytes of the off-chip tensors whose first reader is in the segment (their first load is compulsory)."""
    seg = set(order)
    total = 0
    for a in {a for v in order for a in view.reads[v]}:
        t = view.tensor(a)
        if t.starts_offchip and all(c in seg or c in later for c in t.consumers):
            total += t.size
    return total


def solve_segment(view: TensorView, order: Sequence[int], capacity: int, state: PlannerState, later: set[int],
                  time_limit_s: float, backend: MilpBackend | None = None,
                  positions: dict[int, int] | None = None,
                  seeds: Sequence[Sequence[StepPlan]] = ()) -> SegmentResult:
    """Solve the ILP for the ops ``order`` (a topologically ordered segment) starting from ``state``, with
    ``later`` the ops that run after the segment. Seeds the solver with the cheapest of the greedy steps and
    ``seeds`` (other plans of the same ops from the same state) and returns whichever is cheaper of the
    seed and the ILP's incumbent."""
    if positions is None:
        positions = {v: i for i, v in enumerate(order)}
        for i, v in enumerate(sorted(later, key=view.op_ids.index)):
            positions[v] = len(order) + i
    deadline = time.perf_counter() + time_limit_s   # the limit covers building the ILP, not only solving it
    seed, seed_cost = best_greedy_steps(view, order, capacity, state, later, positions)
    for other in seeds:
        cost = segment_cost(view, order, state, later, other)
        if cost < seed_cost:
            seed, seed_cost = list(other), cost
    try:
        model = _SegmentModel(view, list(order), capacity, state, later, deadline)
    except _OutOfTime:
        out_of_time = MilpResult("time_limit", math.nan, math.nan, math.nan, time_limit_s)
        return SegmentResult(tuple(seed), out_of_time, float(seed_cost), math.nan, False)
    start = model.start_values(seed)
    result = (backend or HighsBackend()).solve(model.milp, max(0.0, deadline - time.perf_counter()), start)
    if result.has_solution and result.objective <= seed_cost + 1e-6:
        return SegmentResult(tuple(model.extract(result.values)), result, result.objective, result.bound, True)
    return SegmentResult(tuple(seed), result, float(seed_cost), result.bound, False)


class _OutOfTime(Exception):
    """Building a segment's ILP ran past the time limit (the greedy seed is used instead)."""


class _SegmentModel:
    """The MILP of one segment and the maps between its columns and (tensor, step) pairs."""

    def __init__(self, view: TensorView, order: list[int], capacity: int, state: PlannerState, later: set[int],
                 deadline: float = math.inf):
        def on_time() -> None:
            if time.perf_counter() > deadline:
                raise _OutOfTime
        self.view, self.order, self.state, self.later = view, order, state, later
        n = len(order)
        self.n = n
        seg = set(order)
        sizes = [t.size for t in view.tensors]
        self.unit = unit = _unit(sizes, state.resident.values())
        self.cap = cap = capacity // unit
        early, late = _windows(view, order)
        m = Milp()
        self.milp = m
        # --- schedule
        self.X = {(v, t): m.var() for v in order for t in range(early[v], late[v] + 1)}
        for v in order:
            m.add({self.X[v, t]: 1 for t in range(early[v], late[v] + 1)}, 1, 1)
        for t in range(n):
            m.add({self.X[v, t]: 1 for v in order if (v, t) in self.X}, 1, 1)
        for v in order:
            on_time()
            for u in view.deps[v]:
                if u in seg:  # cumulative precedence: v by step t only if u by step t-1
                    for t in range(early[v], late[v] + 1):
                        terms = {self.X[v, k]: 1 for k in range(early[v], t + 1)}
                        for k in range(early[u], min(t, late[u] + 1)):
                            terms[self.X[u, k]] = terms.get(self.X[u, k], 0) - 1
                        m.add(terms, upper=0)
        # --- tensors
        relevant = _relevant(view, order, state)
        self.P, self.S, self.R, self.L = {}, {}, {}, {}
        self.created: dict[tuple[int, int], int] = {}
        self.live_out: list[int] = []
        self.charge_constant = 0.0
        for a in relevant:
            on_time()
            tensor = view.tensor(a)
            size = tensor.size // unit
            prod = tensor.producer if tensor.producer in seg else None
            cons = [c for c in tensor.consumers if c in seg]
            live_out = any(c in later for c in tensor.consumers)
            in_dram = a in state.in_dram
            initial = a in state.resident
            if prod is None and not initial and not in_dram and (cons or live_out):
                raise MappingError(f"segment state lost tensor {tensor.name!r}: neither resident nor in DRAM")
            start = early[prod] if prod is not None else 0
            if live_out:
                end = n - 1
            elif cons:
                end = max(late[c] for c in cons)
            elif prod is not None:
                end = late[prod]
            else:
                end = -1  # resident at the start, needed by nobody: dropped at step 0
            spillable = not in_dram and not tensor.starts_offchip and not tensor.is_output
            use_steps = {t for c in cons for t in range(early[c], late[c] + 1)}
            for t in range(start, end + 1):
                if prod is not None and (prod, t) in self.X:
                    self.created[a, t] = self.X[prod, t]
                could_be_resident_before = (t - 1 >= start and (prod is None or t - 1 >= early[prod])) or (
                    t == 0 and initial)
                if could_be_resident_before and not tensor.is_output:
                    self.P[a, t] = m.var()
                    if spillable:
                        self.S[a, t] = m.var(cost=size)
                if (in_dram or spillable) and t in use_steps:
                    self.R[a, t] = m.var(cost=size)
                if self._res_terms(a, t):
                    self.L[a, t] = m.var(0, cap - size, integer=False)
            for t in range(start, end + 1):
                # one action per tensor and step, except that a spill and a reload may share a step:
                # the tensor moves to another address through DRAM (needed when fragmentation blocks)
                terms = self._res_terms(a, t)
                if len(terms) > 1:
                    m.add(terms, upper=1)
                if (a, t) in self.S:
                    kept = {c: 1 for c in terms if c != self.R.get((a, t))}
                    if kept:
                        m.add({**kept, self.S[a, t]: 1}, upper=1)
                prev = self._res_terms(a, t - 1) if t - 1 >= start else {}
                if (a, t) in self.P and not (t == 0 and initial):
                    m.add({self.P[a, t]: 1, **{c: -1 for c in prev}}, upper=0)
                if (a, t) in self.S and not (t == 0 and initial):
                    keep = {c: -1 for c in prev if c != self.R.get((a, t - 1))}
                    m.add({self.S[a, t]: 1, **keep}, upper=0)
                if (a, t) in self.R:
                    earlier = {self.S[a, k]: -1 for k in range(start, t + 1) if (a, k) in self.S}
                    m.add({self.R[a, t]: 1, **earlier}, upper=1 if in_dram else 0)
                if (a, t) in self.P and (a, t - 1) in self.L:
                    m.add({self.L[a, t]: 1, self.L[a, t - 1]: -1, self.P[a, t]: cap}, upper=cap)
                    m.add({self.L[a, t]: 1, self.L[a, t - 1]: -1, self.P[a, t]: -cap}, lower=-cap)
                if t == 0 and initial and (a, 0) in self.P:
                    addr = state.resident[a] // unit
                    m.add({self.L[a, 0]: 1, self.P[a, 0]: cap}, upper=cap + addr)
                    m.add({self.L[a, 0]: 1, self.P[a, 0]: -cap}, lower=addr - cap)
            spills = [self.S[a, t] for t in range(start, end + 1) if (a, t) in self.S]
            if len(spills) > 1:
                m.add({s: 1 for s in spills}, upper=1)
            if live_out and not in_dram and not tensor.starts_offchip:
                m.add({**self._res_terms(a, n - 1), **{s: 1 for s in spills}}, lower=1)
            if live_out:
                # the next segment reloads what this one leaves off-chip
                self.live_out.append(a)
                m.offset += size
                for c in self._res_terms(a, n - 1):
                    m.cost[c] -= size
        m.offset -= _compulsory(view, order, later) // unit
        # --- inputs resident when their reader runs
        for v in order:
            on_time()
            for a in view.reads[v]:
                for t in range(early[v], late[v] + 1):
                    terms = {self.X[v, t]: 1}
                    for d in (self.P, self.R):
                        if (a, t) in d:
                            terms[d[a, t]] = -1
                    m.add(terms, upper=0)
        # --- capacity and non-overlap
        self.Z: dict[tuple[int, int, int], int] = {}
        for t in range(n):
            on_time()
            here = [a for a in relevant if (a, t) in self.L]
            m.add({c: view.tensor(a).size // unit for a in here for c in self._res_terms(a, t)}, upper=cap)
            for i, a in enumerate(here):
                sa = view.tensor(a).size // unit
                ra = self._res_terms(a, t)
                for b in here[i + 1:]:
                    sb = view.tensor(b).size // unit
                    rb = self._res_terms(b, t)
                    if sa + sb <= 0:
                        continue
                    z = m.var()
                    self.Z[a, b, t] = z
                    both = {c: cap for c in ra}
                    for c in rb:
                        both[c] = both.get(c, 0) + cap
                    # z = 1: a below b; z = 0: b below a (relaxed unless both are resident)
                    m.add({self.L[a, t]: 1, self.L[b, t]: -1, z: cap, **both}, upper=3 * cap - sa)
                    m.add({self.L[b, t]: 1, self.L[a, t]: -1, z: -cap, **both}, upper=2 * cap - sb)
        m.offset *= unit
        m.cost = [c * unit for c in m.cost]

    def _res_terms(self, a: int, t: int) -> dict[int, int]:
        terms = {}
        for d in (self.created, self.P, self.R):
            if (a, t) in d:
                terms[d[a, t]] = 1
        return terms

    # --- warm start and extraction
    def start_values(self, steps: Sequence[StepPlan]) -> list[float] | None:
        """Column values of ``steps`` (a plan of this segment in its base order), or None when the plan does
        something the ILP cannot express (e.g. a spill and reload of one tensor in one step)."""
        x = [0.0] * self.milp.num_vars
        resident = dict(self.state.resident)
        in_dram = set(self.state.in_dram)
        for t, step in enumerate(steps):
            if (step.op_id, t) not in self.X:
                return None
            x[self.X[step.op_id, t]] = 1
            before = dict(resident)
            loaded = set()
            for a in step.actions:
                if a.kind == "store":
                    if a.tensor not in in_dram and (a.tensor, t) in self.S:
                        x[self.S[a.tensor, t]] = 1
                    in_dram.add(a.tensor)
                elif a.kind == "free":
                    resident.pop(a.tensor)
                else:
                    if (a.tensor, t) not in self.R or a.tensor in loaded:
                        return None
                    x[self.R[a.tensor, t]] = 1
                    loaded.add(a.tensor)
                    resident[a.tensor] = a.address
            for tid, address in step.outputs:
                resident[tid] = address
            for tid, address in resident.items():
                if tid in before and tid not in loaded and before[tid] == address:
                    if (tid, t) not in self.P:
                        continue  # kept although unused: the ILP drops it, which is no worse
                    x[self.P[tid, t]] = 1
            for tid, address in resident.items():
                if (tid, t) in self.L:
                    x[self.L[tid, t]] = address // self.unit
            for (a, b, tt), z in self.Z.items():
                if tt == t and a in resident and b in resident:
                    x[z] = 1.0 if resident[a] < resident[b] else 0.0
            # keep only what the ILP considers resident
            resident = {tid: addr for tid, addr in resident.items() if self._resident_in(x, tid, t)}
        return x

    def _resident_in(self, x, tid, t) -> bool:
        return any(x[c] > 0.5 for c in self._res_terms(tid, t))

    def extract(self, values: Sequence[float]) -> list[StepPlan]:
        """The steps of an ILP solution (addresses floored to whole units, then to bytes)."""
        on = [v > 0.5 for v in values]
        order = [None] * self.n
        for (v, t), c in self.X.items():
            if on[c]:
                order[t] = v
        resident = dict(self.state.resident)
        in_dram = set(self.state.in_dram)
        steps = []
        for t, v in enumerate(order):
            now = {}
            for (a, tt), c in self.L.items():
                if tt == t and any(on[k] for k in self._res_terms(a, t)):
                    now[a] = _address(values[c]) * self.unit
            actions = []
            reloaded = {a for (a, tt), c in self.R.items() if tt == t and on[c]}
            for a in sorted(resident):
                if a in now and a not in reloaded and now[a] == resident[a]:
                    continue
                spilled = (a, t) in self.S and on[self.S[a, t]]
                needs_dram = self.view.tensor(a).is_output or spilled or (a not in now and self._used_later(a, t, order))
                if needs_dram and a not in in_dram:
                    actions.append(Action("store", a))
                    in_dram.add(a)
                actions.append(Action("free", a))
            for a in sorted(reloaded):
                actions.append(Action("load", a, now[a]))
            outputs = tuple((a, now[a]) for a in self.view.writes[v])
            steps.append(StepPlan(v, tuple(actions), outputs))
            resident = now
        return steps

    def _used_later(self, a: int, t: int, order: list[int]) -> bool:
        # a safety net: the constraints already force a spill before a drop of a tensor read again
        pos = {v: i for i, v in enumerate(order)}
        return any(c in self.later or (c in pos and pos[c] >= t) for c in self.view.tensor(a).consumers)


def _address(value: float) -> int:
    nearest = round(value)
    return int(nearest) if abs(value - nearest) < 1e-4 else int(math.floor(value))


def _unit(sizes: Sequence[int], addresses) -> int:
    """Largest byte granule dividing every tensor size and start address (keeps coefficients small)."""
    g = 0
    for s in sizes:
        g = math.gcd(g, int(s))
    for a in addresses:
        g = math.gcd(g, int(a))
    return max(g, 1)


def _windows(view: TensorView, order: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Earliest and latest step of each op of ``order``: #ancestors .. n-1-#descendants within the segment."""
    seg = set(order)
    index = {v: i for i, v in enumerate(order)}
    anc = [0] * len(order)
    for v in order:
        bits = 0
        for u in view.deps[v]:
            if u in seg:
                bits |= anc[index[u]] | (1 << index[u])
        anc[index[v]] = bits
    desc = [0] * len(order)
    for v in reversed(order):
        bits = 0
        for w in view.users.get(v, ()):
            if w in seg:
                bits |= desc[index[w]] | (1 << index[w])
        desc[index[v]] = bits
    n = len(order)
    early = {v: bin(anc[index[v]]).count("1") for v in order}
    late = {v: n - 1 - bin(desc[index[v]]).count("1") for v in order}
    return early, late

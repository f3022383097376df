"""Divide and conquer: COSMA's ILP on consecutive segments of a long schedule, stitched by scratchpad state.

The base order (default: trace order) is cut into segments of about ``segment_ops`` ops, each cut placed
where the fewest bytes are live across it. Segments are solved in order: each one's ILP starts from the
scratchpad state the previous one left (resident tensors keep their addresses; DRAM keeps what was
stored), may reorder its own ops, and is charged a reload for every live tensor it leaves off-chip — so
it does not push cost onto its successors for free. Every segment is seeded with the best greedy steps
from the same state, so a segment whose ILP times out still has a plan.
"""
from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Sequence

from archsim.mapping.checker import check_plan
from archsim.mapping.cosma import solve_segment
from archsim.mapping.greedy import advance_state, check_capacity, initial_state, release_all
from archsim.mapping.memplan import MemoryPlan, SolveInfo, StepPlan, tensor_table
from archsim.mapping.solver import MilpBackend
from archsim.mapping.tensors import TensorView


def live_bytes_across(view: TensorView, order: Sequence[int]) -> list[int]:
    """For each cut ``i`` (between ``order[i-1]`` and ``order[i]``), the bytes of tensors produced or loaded
    before it and read after it; index 0 and ``len(order)`` are the ends (bytes)."""
    pos = {v: i for i, v in enumerate(order)}
    delta = [0] * (len(order) + 1)
    for t in view.tensors:
        if not t.consumers:
            continue
        first = pos[t.producer] + 1 if t.producer is not None else min(pos[c] for c in t.consumers)
        last = max(pos[c] for c in t.consumers)
        if first <= last:
            delta[first] += t.size
            delta[last + 1] -= t.size
    out, running = [], 0
    for d in delta:
        running += d
        out.append(running)
    return out


def segment_cuts(view: TensorView, order: Sequence[int], segment_ops: int) -> list[int]:
    """Cut positions (0 < cut < len(order)) about ``segment_ops`` apart, each at the least live bytes within
    a quarter segment of its nominal place."""
    n = len(order)
    if n <= segment_ops:
        return []
    live = live_bytes_across(view, order)
    cuts, last = [], 0
    slack = max(1, segment_ops // 4)
    while n - last > segment_ops + slack:
        nominal = last + segment_ops
        lo, hi = max(last + 1, nominal - slack), min(n - 1, nominal + slack)
        cut = min(range(lo, hi + 1), key=lambda i: (live[i], abs(i - nominal)))
        cuts.append(cut)
        last = cut
    return cuts


def divide_and_conquer_plan(view: TensorView, capacity: int, segment_ops: int = 40,
                            time_limit_s: float = 60.0, order: Sequence[int] | None = None,
                            backend: MilpBackend | None = None) -> MemoryPlan:
    """A memory plan for ``capacity`` bytes from COSMA's ILP on segments of ``segment_ops`` ops; the whole
    run stays within about ``time_limit_s`` seconds (split evenly over the segments)."""
    check_capacity(view, capacity)
    order = list(view.op_ids if order is None else order)
    t0 = time.perf_counter()
    cuts = [0, *segment_cuts(view, order, segment_ops), len(order)]
    positions = {v: i for i, v in enumerate(order)}
    state = initial_state(view)
    steps: list[StepPlan] = []
    optimal, from_ilp = 0, 0
    segments = len(cuts) - 1
    for k in range(segments):
        seg = order[cuts[k]:cuts[k + 1]]
        later = set(order[cuts[k + 1]:])
        remaining = max(0.05, time_limit_s - (time.perf_counter() - t0))
        result = solve_segment(view, seg, capacity, state, later, remaining / (segments - k), backend, positions)
        steps.extend(result.steps)
        state = advance_state(state, result.steps)
        from_ilp += result.used_ilp
        optimal += result.solve is not None and result.solve.status == "optimal"
    plan = MemoryPlan(capacity, tuple(steps), tuple(release_all(view, state)), tensor_table(view))
    plan = replace(plan, traffic=check_plan(view, plan))
    status = f"{optimal}/{segments} segments optimal, {from_ilp} from the ILP"
    info = SolveInfo("divide-and-conquer", status, float(plan.traffic.non_compulsory), math.nan, math.nan,
                     time.perf_counter() - t0, segments)
    return replace(plan, info=info)

"""Greedy memory plans: a fixed op order, a replacement policy and a linear-scratchpad allocator.

These are the baselines COSMA compares with — a framework's topological order or the MPMF order, with
Belady's furthest-next-use replacement or COSMA's "ILP-based greedy" replacement (``least_cost``: at each
eviction decision, the set of resident tensors of least spill + reload bytes whose removal frees a gap; the
paper solves that local problem with an ILP, here the candidate gaps are enumerated, which finds the same
optimum) — plus LRU, each with first-fit or best-fit placement (best fit = TFLite's arena allocator: the
smallest free gap that fits):

* tensors are freed as soon as their last reader has run; a model output is stored, then freed;
* before an op runs, its missing inputs are loaded and its outputs placed; when no free gap is large
  enough, resident tensors the op does not touch are evicted by the policy (a tensor DRAM does not hold
  yet is stored first — a spill);
* when only the op's own tensors are left and fragmentation still blocks the placement, every resident
  tensor is evicted and the op's tensors are laid out from address 0 (always possible when the
  scratchpad holds the op's footprint).
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from typing import Sequence

from archsim.errors import MappingError
from archsim.mapping.checker import check_plan
from archsim.mapping.memplan import Action, MemoryPlan, SolveInfo, StepPlan, tensor_table
from archsim.mapping.tensors import TensorView

POLICIES = ("belady", "lru", "least_cost")
FITS = ("first", "best")


def find_gap(resident: dict[int, int], sizes: Sequence[int], size: int, capacity: int, fit: str) -> int | None:
    """Address (bytes) of a free gap of ``size`` bytes among ``resident`` (tensor -> address), by first-fit
    (lowest address) or best-fit (smallest gap, then lowest address); None when no gap is large enough."""
    best = None
    cursor = 0
    for start, tid in sorted((a, t) for t, a in resident.items()) + [(capacity, -1)]:
        gap = start - cursor
        if gap >= size:
            if fit == "first":
                return cursor
            if best is None or gap < best[0]:
                best = (gap, cursor)
        if tid >= 0:
            cursor = max(cursor, start + sizes[tid])
    return None if best is None else best[1]


def check_capacity(view: TensorView, capacity: int) -> None:
    """Raise MappingError when some op's inputs plus outputs exceed ``capacity`` bytes."""
    need = view.min_capacity
    if capacity < need:
        worst = max(view.op_ids, key=view.footprint)
        raise MappingError(f"scratchpad of {capacity} B cannot hold op {worst}'s inputs and outputs "
                           f"({need} B, COSMA's M_R); use a larger scratchpad or tile the op "
                           f"(the planning mappers do: archsim.mapping.tiling.tile_trace)")


@dataclass
class PlannerState:
    """Scratchpad state between steps: resident tensors (id -> address in bytes), tensors DRAM holds."""

    resident: dict[int, int] = field(default_factory=dict)
    in_dram: set[int] = field(default_factory=set)

    def copy(self) -> PlannerState:
        """An independent copy."""
        return PlannerState(dict(self.resident), set(self.in_dram))


def advance_state(state: PlannerState, steps: Sequence[StepPlan]) -> PlannerState:
    """The state after executing ``steps`` from ``state`` (``state`` is left unchanged)."""
    s = state.copy()
    for step in steps:
        for a in step.actions:
            if a.kind == "load":
                s.resident[a.tensor] = a.address
            elif a.kind == "store":
                s.in_dram.add(a.tensor)
            else:
                s.resident.pop(a.tensor, None)
        for tid, address in step.outputs:
            s.resident[tid] = address
    return s


def initial_state(view: TensorView) -> PlannerState:
    """Nothing resident; DRAM holds the graph inputs and weights."""
    return PlannerState({}, {t.id for t in view.tensors if t.starts_offchip})


def greedy_plan(view: TensorView, order: Sequence[int], capacity: int, policy: str = "belady",
                fit: str = "first") -> MemoryPlan:
    """The greedy memory plan of ``order`` (op ids) for a scratchpad of ``capacity`` bytes (see module doc)."""
    if policy not in POLICIES or fit not in FITS:
        raise MappingError(f"greedy plan: policy must be one of {POLICIES} and fit one of {FITS}")
    check_capacity(view, capacity)
    state = initial_state(view)
    steps = greedy_steps(view, order, capacity, policy, fit, state)
    plan = MemoryPlan(capacity, tuple(steps), tuple(release_all(view, state)), tensor_table(view),
                      info=SolveInfo(f"greedy-{policy}-{fit}fit"))
    return replace(plan, traffic=check_plan(view, plan))


def release_all(view: TensorView, state: PlannerState) -> list[Action]:
    """Actions that empty the scratchpad at the end: store model outputs DRAM lacks, free everything."""
    actions = []
    for tid in sorted(state.resident):
        if view.tensor(tid).is_output and tid not in state.in_dram:
            actions.append(Action("store", tid))
            state.in_dram.add(tid)
        actions.append(Action("free", tid))
    state.resident.clear()
    return actions


def greedy_steps(view: TensorView, order: Sequence[int], capacity: int, policy: str, fit: str,
                 state: PlannerState, positions: dict[int, int] | None = None) -> list[StepPlan]:
    """Plan the steps of ``order`` greedily from ``state`` (updated in place). ``positions`` gives every
    op's global step (for next-use distances when ``order`` is one segment of a longer schedule)."""
    if positions is None:
        positions = {v: i for i, v in enumerate(order)}
    uses = {t.id: sorted(positions[c] for c in t.consumers if c in positions) for t in view.tensors}
    sizes = [t.size for t in view.tensors]
    resident, in_dram = state.resident, state.in_dram
    last_touch: dict[int, int] = {}
    steps: list[StepPlan] = []

    def next_use(tid: int, t: int) -> int | None:
        i = bisect.bisect_left(uses[tid], t)
        return uses[tid][i] if i < len(uses[tid]) else None

    def evict(tid: int, t: int, actions: list[Action]) -> None:
        if tid not in in_dram and (next_use(tid, t) is not None or view.tensor(tid).is_output):
            actions.append(Action("store", tid))
            in_dram.add(tid)
        actions.append(Action("free", tid))
        del resident[tid]

    def victim(pinned: set[int], t: int) -> int | None:
        candidates = [x for x in resident if x not in pinned]
        if not candidates:
            return None
        if policy == "belady":
            return max(candidates, key=lambda x: (next_use(x, t), sizes[x], -x))
        return min(candidates, key=lambda x: (last_touch.get(x, -1), -sizes[x], x))

    def eviction_bytes(x: int, t: int) -> int:
        """Off-chip bytes evicting ``x`` at step ``t`` costs: its spill (if DRAM lacks it) and its reload."""
        again = next_use(x, t) is not None
        spill = x not in in_dram and (again or view.tensor(x).is_output)
        return sizes[x] * (int(spill) + int(again))

    def least_cost_window(size: int, pinned: set[int], t: int) -> tuple[int, list[int]] | None:
        """(address, tensors to evict) of the cheapest gap of ``size`` bytes made by evicting unpinned tensors."""
        spans = sorted((a, a + sizes[x], x) for x, a in resident.items())
        best = None
        for start in sorted({0} | {end for _, end, _ in spans}):
            if start + size > capacity:
                continue
            over = [x for a, end, x in spans if a < start + size and end > start]
            if any(x in pinned for x in over):
                continue
            cost = sum(eviction_bytes(x, t) for x in over)
            soonest = min((u for u in (next_use(x, t) for x in over) if u is not None), default=1 << 60)
            key = (cost, -soonest, start)   # cheapest; then the one whose evictees are needed latest
            if best is None or key < best[0]:
                best = (key, start, over)
        return None if best is None else (best[1], best[2])

    def make_room(tid: int, pinned: set[int], t: int, actions: list[Action]) -> int | None:
        if policy == "least_cost" and find_gap(resident, sizes, sizes[tid], capacity, fit) is None:
            window = least_cost_window(sizes[tid], pinned, t)
            if window is None:
                return None
            for out in window[1]:
                evict(out, t, actions)
            return window[0]
        while True:
            address = find_gap(resident, sizes, sizes[tid], capacity, fit)
            if address is not None:
                return address
            out = victim(pinned, t)
            if out is None:
                return None
            evict(out, t, actions)

    for v in order:
        t = positions[v]
        actions: list[Action] = []
        for tid in sorted(resident):  # release what nobody reads any more
            if next_use(tid, t) is None:
                evict(tid, t, actions)
        touched = view.reads[v] + view.writes[v]
        pinned = {x for x in touched if x in resident}
        outputs: dict[int, int] = {}  # placed this step, created when the op runs
        for tid in touched:
            if tid in resident:
                continue
            address = make_room(tid, pinned, t, actions)
            if address is None:  # fragmentation among the op's own tensors: lay them out afresh
                loaded_now = {a.tensor for a in actions if a.kind == "load"}
                actions = [a for a in actions if a.kind != "load"]
                for other in sorted(resident):
                    if other in outputs or other in loaded_now:
                        del resident[other]  # not placed yet: just place it again below
                    else:
                        evict(other, t, actions)
                outputs.clear()
                cursor = 0
                for x in touched:
                    resident[x] = cursor
                    if x in view.writes[v]:
                        outputs[x] = cursor
                    else:
                        actions.append(Action("load", x, cursor))
                    cursor += sizes[x]
                break
            resident[tid] = address
            pinned.add(tid)
            if tid in view.writes[v]:
                outputs[tid] = address
            else:
                actions.append(Action("load", tid, address))
        for tid in touched:
            last_touch[tid] = t
        steps.append(StepPlan(v, tuple(actions), tuple(outputs.items())))
    return steps

"""Mappers that plan memory: each returns a Schedule carrying a MemoryPlan for one scratchpad.

Every mapper here has the registry signature ``mapper(trace, engines, **options)`` and places each op on
the first engine that supports it (as ``by_kind`` does); what differs is the op order and the memory
plan. Options (all keyword): ``capacity_bytes`` (default: ``scratchpad_bytes(engines)``),
``include_weights`` (plan parameter tensors too; default False, COSMA's activation-only setting),
``time_limit_s`` (ILP wall-time budget, seconds) and, for divide-and-conquer, ``segment_ops``.

Ops whose footprint exceeds the scratchpad are first split into tiles (``archsim.mapping.tiling``); the
Schedule then runs the tiled trace (``Schedule.trace``; ``Schedule.original_trace`` is the input).
"""
from __future__ import annotations

from typing import Callable

from archsim.errors import MappingError
from archsim.mapping.by_kind import map_by_kind
from archsim.mapping.cosma import cosma_plan
from archsim.mapping.divide import divide_and_conquer_plan
from archsim.mapping.greedy import greedy_plan
from archsim.mapping.memplan import MemoryPlan
from archsim.mapping.schedule import Schedule, ScheduledOp
from archsim.mapping.tensors import TensorView, tensor_view
from archsim.mapping.tiling import tile_trace
from archsim.trace import Trace


def scratchpad_bytes(engines: dict) -> int:
    """Bytes of on-chip scratchpad the planners may use by default: what the first engine with on-chip
    buffers reports as its ``scratchpad_bytes`` (a systolic array: the working capacity of its distinct
    ifmap/filter/ofmap SRAMs, half of each when double-buffered)."""
    for model in engines.values():
        capacity = getattr(model, "scratchpad_bytes", None)
        if capacity:
            return int(capacity)
    raise MappingError("cannot tell the scratchpad size of this architecture (no engine with on-chip buffers); "
                       "pass capacity_bytes (CLI: --scratchpad-kib)")


def schedule_from_plan(trace: Trace, engines: dict, plan: MemoryPlan, mapper: str) -> Schedule:
    """A Schedule running ``plan``'s order, each op on the first engine group supporting it."""
    placed = {e.op.id: e.engines for e in map_by_kind(trace, engines).entries}
    ops = {op.id: op for op in trace.ops}
    return Schedule(trace, tuple(ScheduledOp(ops[v], placed[v]) for v in plan.order), mapper, plan)


def _planner(name: str, plan_fn: Callable[[TensorView, int, dict], MemoryPlan]):
    def mapper(trace: Trace, engines: dict, capacity_bytes: int | None = None, include_weights: bool = False,
               **options) -> Schedule:
        capacity = scratchpad_bytes(engines) if capacity_bytes is None else int(capacity_bytes)
        trace = tile_trace(trace, capacity, include_weights)
        view = tensor_view(trace, include_weights)
        return schedule_from_plan(trace, engines, plan_fn(view, capacity, options), name)

    mapper.__name__ = f"map_{name.replace('-', '_')}"
    mapper.__doc__ = f"Schedule with a memory plan from the '{name}' planner (options in the module docstring)."
    return mapper


map_cosma = _planner("cosma", lambda v, c, o: cosma_plan(v, c, o.get("time_limit_s", 60.0)))
map_divide = _planner("cosma_dc", lambda v, c, o: divide_and_conquer_plan(
    v, c, o.get("segment_ops", 40), o.get("time_limit_s", 60.0)))
map_belady = _planner("belady", lambda v, c, o: greedy_plan(v, v.op_ids, c, "belady", o.get("fit", "first")))
map_lru = _planner("lru", lambda v, c, o: greedy_plan(v, v.op_ids, c, "lru", o.get("fit", "first")))

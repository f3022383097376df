"""Partitioning for heterogeneous systems: put each op on the unlike engine where it finishes earliest.

Every engine model answers ``supports(op)`` and ``demand(op)``; this mapper asks every unit group
(``archsim.mapping.units``: identical engines working on an op together) that supports an op what it would
take alone (its slowest share's uncontended cycles, in nanoseconds of the engines' clock) and
list-schedules the trace in topological order, giving each op to the group with the earliest finish time
(HEFT's rule): ``finish = max(group free, inputs ready (+ transfer if produced elsewhere)) + cost``. GEMMs
therefore go to a systolic NPU, GEMVs to a PIM unit when one is cheaper for them, encodings to an NGPC
engine … — whatever the hardware models say, with no kind-specific rule here.

Transfers between engines cost ``bytes / transfer_gbps`` ns (GB/s = bytes/ns) plus ``transfer_latency_ns``
when given, else nothing (engines sharing one memory).
"""
from __future__ import annotations

from dataclasses import dataclass

from archsim.errors import MappingError
from archsim.mapping.schedule import Schedule, ScheduledOp
from archsim.mapping.units import group_demand_cycles_ns, unit_groups
from archsim.trace import Trace


@dataclass(frozen=True)
class Placement:
    """Where an op went: the group named ``engine`` (its members ``engines``), its ``start_ns`` /
    ``finish_ns`` in the list schedule, and the cost (ns) on every group that supports it (``costs_ns``)."""

    op_id: int
    engine: str
    start_ns: float
    finish_ns: float
    costs_ns: dict[str, float]
    engines: tuple[str, ...] = ()


def partition(trace: Trace, engines: dict, transfer_gbps: float | None = None,
              transfer_latency_ns: float = 0.0) -> list[Placement]:
    """Place every op of ``trace`` on one of the unit groups of ``engines`` (name -> model) by earliest
    finish time."""
    groups = unit_groups(engines)
    free = {name: 0.0 for name in groups}
    done: dict[int, Placement] = {}
    out_bytes = {op.id: op.output_bytes for op in trace.ops}
    placements = []
    for op in trace.ops:
        costs = {g: group_demand_cycles_ns(engines, members, op) for g, members in groups.items()
                 if engines[g].supports(op)}
        if not costs:
            raise MappingError(f"no engine can run op {op.name!r} of kind {op.kind!r} (engines: {', '.join(engines)})")
        best = None
        for name, cost in costs.items():
            ready = 0.0
            for d in op.deps:
                arrive = done[d].finish_ns
                if done[d].engine != name and transfer_gbps:
                    arrive += out_bytes[d] / transfer_gbps + transfer_latency_ns
                ready = max(ready, arrive)
            start = max(ready, free[name])
            if best is None or start + cost < best[2] - 1e-12:
                best = (name, start, start + cost)
        name, start, finish = best
        free[name] = finish
        done[op.id] = Placement(op.id, name, start, finish, costs, groups[name])
        placements.append(done[op.id])
    return placements


def map_partition(trace: Trace, engines: dict, transfer_gbps: float | None = None,
                  transfer_latency_ns: float = 0.0) -> Schedule:
    """Schedule in trace order with each op on the engine ``partition`` chose (no memory plan)."""
    ops = {op.id: op for op in trace.ops}
    entries = tuple(ScheduledOp(ops[p.op_id], p.engines)
                    for p in partition(trace, engines, transfer_gbps, transfer_latency_ns))
    return Schedule(trace, entries, "partition")

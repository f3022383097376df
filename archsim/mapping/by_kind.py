"""The simplest mapper: trace order, each op on the first engine group (in YAML order) that supports its kind.

Identical engines form one group (``archsim.mapping.units``) and every op placed on a group runs as one
share per member, at once.
"""
from __future__ import annotations

from archsim.errors import MappingError
from archsim.mapping.schedule import Schedule, ScheduledOp
from archsim.mapping.units import unit_groups
from archsim.trace import Trace


def map_by_kind(trace: Trace, engines: dict) -> Schedule:
    """Place every op of ``trace`` on the first group of ``engines`` (name -> model) whose ``supports``
    accepts it."""
    groups = unit_groups(engines)
    entries = []
    for op in trace.ops:
        members = next((m for g, m in groups.items() if engines[g].supports(op)), None)
        if members is None:
            raise MappingError(f"no engine of the architecture can run op {op.name!r} of kind {op.kind!r} "
                               f"(engines: {', '.join(engines)}); add e.g. a 'kind: vector' engine")
        entries.append(ScheduledOp(op, members))
    return Schedule(trace, tuple(entries), "by_kind")

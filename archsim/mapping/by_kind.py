"""The simplest mapper: trace order, each op on the first engine (in YAML order) that supports its kind."""
from __future__ import annotations

from archsim.errors import MappingError
from archsim.mapping.schedule import Schedule, ScheduledOp
from archsim.trace import Trace


def map_by_kind(trace: Trace, engines: dict) -> Schedule:
    """Place every op of ``trace`` on the first of ``engines`` (name -> model) whose ``supports`` accepts it."""
    entries = []
    for op in trace.ops:
        engine = next((name for name, model in engines.items() if model.supports(op)), None)
        if engine is None:
            raise MappingError(f"no engine of the architecture can run op {op.name!r} of kind {op.kind!r} "
                               f"(engines: {', '.join(engines)}); add e.g. a 'kind: vector' engine")
        entries.append(ScheduledOp(op, engine))
    return Schedule(trace, tuple(entries), "by_kind")

"""The Schedule: which engine runs each op, in which order, and (optionally) the memory plan."""
from __future__ import annotations

from dataclasses import dataclass

from archsim.mapping.memplan import MemoryPlan
from archsim.trace import Trace, TraceOp

SCHEDULE_FORMAT_VERSION = 1


@dataclass(frozen=True)
class ScheduledOp:
    """One op placed on one engine; engines run their ops in schedule order."""

    op: TraceOp
    engine: str


@dataclass(frozen=True)
class Schedule:
    """Ops of ``trace`` placed on engines, in execution order, by the mapper named ``mapper``.

    ``memory_plan`` (None when the mapper plans no memory) says, step by step in ``entries`` order,
    where each tensor sits in the scratchpad and what is loaded, stored and freed
    (``archsim.mapping.memplan``); the simulator executes it as given.
    """

    trace: Trace
    entries: tuple[ScheduledOp, ...]
    mapper: str
    memory_plan: MemoryPlan | None = None

    def engine_queue(self, engine: str) -> list[ScheduledOp]:
        """The ops ``engine`` runs, in order."""
        return [e for e in self.entries if e.engine == engine]

    def to_dict(self) -> dict:
        """A JSON-ready dict: trace name, mapper, ``[op id, engine]`` per entry, the memory plan."""
        return {"format": "archsim-schedule", "version": SCHEDULE_FORMAT_VERSION, "trace": self.trace.name,
                "mapper": self.mapper, "entries": [[e.op.id, e.engine] for e in self.entries],
                "memory_plan": None if self.memory_plan is None else self.memory_plan.to_dict()}

    @classmethod
    def from_dict(cls, data: dict, trace: Trace) -> Schedule:
        """Inverse of ``to_dict`` given the ``trace`` the schedule was made for."""
        ops = {op.id: op for op in trace.ops}
        entries = tuple(ScheduledOp(ops[int(i)], str(engine)) for i, engine in data["entries"])
        plan = data.get("memory_plan")
        return cls(trace, entries, str(data["mapper"]), None if plan is None else MemoryPlan.from_dict(plan))

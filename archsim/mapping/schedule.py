"""The Schedule: which engine runs each op, in which order."""
from __future__ import annotations

from dataclasses import dataclass

from archsim.trace import Trace, TraceOp


@dataclass(frozen=True)
class ScheduledOp:
    """One op placed on one engine; engines run their ops in schedule order."""

    op: TraceOp
    engine: str


@dataclass(frozen=True)
class Schedule:
    """Ops of ``trace`` placed on engines, in execution order, by the mapper named ``mapper``."""

    trace: Trace
    entries: tuple[ScheduledOp, ...]
    mapper: str

    def engine_queue(self, engine: str) -> list[ScheduledOp]:
        """The ops ``engine`` runs, in order."""
        return [e for e in self.entries if e.engine == engine]

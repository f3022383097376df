"""What a compiler mapper emits: the Program itself, for an engine kind that runs only its compiler's programs.

Most mappers emit a Schedule (an engine per op, in order) that ``archsim.mapping.program`` turns into tasks.
An engine whose work is a compiled instruction program (FlightLLM's decoupled LD/ST/MM/MV/MISC/SYS streams)
has its kind name a compiler mapper (``ComponentKind.mapper``); that mapper lowers the trace itself and emits a
``CompiledProgram``: programs on the engine's queues that ``archsim.sim.run.simulate`` runs (``run``) on the one
event engine like any other, one record per (op, queue), and a JSON-ready listing (``archsim map``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from archsim.trace import Trace

if TYPE_CHECKING:
    from archsim.sim.result import Result


@dataclass(frozen=True)
class CompiledProgram:
    """What the mapper named ``mapper`` compiled from ``trace``. Subclasses (one per compiler) say how it
    runs on the one engine (``run``), what ``archsim map`` writes (``to_dict``) and prints (``summary_lines``)."""

    trace: Trace
    mapper: str

    def run(self, arch, progress: bool = False) -> "Result":
        """Run the program on ``arch``'s engine and ports; the Result has one record per (op, queue)."""
        raise NotImplementedError(f"{type(self).__name__} does not say how it runs")

    def to_dict(self) -> dict:
        """A JSON-ready listing of the program (``archsim map`` writes it)."""
        return {"format": "archsim-program", "version": 1, "trace": self.trace.name, "mapper": self.mapper}

    def summary_lines(self) -> list[str]:
        """What ``archsim map`` prints about it."""
        return [f"{self.trace.name}: compiled by {self.mapper}"]

"""The Schedule: which engine runs each op, in which order, and (optionally) the memory plan."""
from __future__ import annotations

from dataclasses import dataclass

from archsim.mapping.memplan import MemoryPlan
from archsim.trace import Trace, TraceOp

SCHEDULE_FORMAT_VERSION = 1


@dataclass(frozen=True)
class ScheduledOp:
    """One op placed on ``engines``: one engine, or identical units that each run a share of it at once
    (``archsim.mapping.units``); engines run their ops in schedule order."""

    op: TraceOp
    engines: tuple[str, ...]

    def __post_init__(self) -> None:
        if isinstance(self.engines, str):
            object.__setattr__(self, "engines", (self.engines,))

    @property
    def engine(self) -> str:
        """The (first) engine the op runs on."""
        return self.engines[0]


@dataclass(frozen=True)
class Schedule:
    """Ops of ``trace`` placed on engines, in execution order, by the mapper named ``mapper``.

    ``trace`` is the trace the entries run: for a planning mapper on a scratchpad some op does not fit, a
    ``TiledTrace`` (``archsim.mapping.tiling``) whose tiles replace those ops and which records which op each
    tile belongs to and its dims; ``original_trace`` gives the trace as mapped.
    ``memory_plan`` (None when the mapper plans no memory) says, step by step in ``entries`` order,
    where each tensor sits in the scratchpad and what is loaded, stored and freed
    (``archsim.mapping.memplan``); the simulator executes it as given.
    """

    trace: Trace
    entries: tuple[ScheduledOp, ...]
    mapper: str
    memory_plan: MemoryPlan | None = None

    @property
    def original_trace(self) -> Trace:
        """The untiled trace (``trace`` itself when nothing was tiled)."""
        return getattr(self.trace, "original", None) or self.trace

    @property
    def tiled(self) -> bool:
        """True when some op runs as tiles."""
        return bool(getattr(self.trace, "tiles", None))

    def engine_queue(self, engine: str) -> list[ScheduledOp]:
        """The ops ``engine`` runs, in order."""
        return [e for e in self.entries if engine in e.engines]

    def to_dict(self) -> dict:
        """A JSON-ready dict: trace name, mapper, ``[op id, engine or [units]]`` per entry, the tiling (per tiled op its
        row and column tile counts, per tile its op, dims and bytes), the memory plan."""
        data = {"format": "archsim-schedule", "version": SCHEDULE_FORMAT_VERSION, "trace": self.trace.name,
                "mapper": self.mapper,
                "entries": [[e.op.id, e.engine if len(e.engines) == 1 else list(e.engines)] for e in self.entries]}
        if self.tiled:
            tiles = self.trace.tiles
            data["tiling"] = {
                "splits": [[op, rows, cols] for op, (rows, cols) in sorted(self.trace.splits.items())],
                "tiles": [{"id": op.id, "of": tiles[op.id].op, "index": tiles[op.id].index, "dims": dict(op.dims),
                           "macs": op.macs, "input_bytes": op.input_bytes, "weight_bytes": op.weight_bytes,
                           "output_bytes": op.output_bytes, "slice_bytes": tiles[op.id].slice_bytes}
                          for op in self.trace.ops if op.id in tiles]}
        data["memory_plan"] = None if self.memory_plan is None else self.memory_plan.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict, trace: Trace) -> Schedule:
        """Inverse of ``to_dict`` given the (untiled) ``trace`` the schedule was made for."""
        from archsim.mapping.tiling import apply_splits

        tiling = data.get("tiling")
        if tiling:
            trace = apply_splits(trace, {int(i): (int(r), int(c)) for i, r, c in tiling["splits"]})
        ops = {op.id: op for op in trace.ops}
        entries = tuple(ScheduledOp(ops[int(i)], (str(e),) if isinstance(e, str) else tuple(map(str, e)))
                        for i, e in data["entries"])
        plan = data.get("memory_plan")
        return cls(trace, entries, str(data["mapper"]), None if plan is None else MemoryPlan.from_dict(plan))

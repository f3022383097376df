"""What a task asks of the machine: the record every hardware model returns, and the engine-kind interface.

A hardware model never returns a final time. For one op on its engine it returns a ``Demand``: the
cycles the op takes on the engine when nothing else competes (its Numba kernel's answer), the bytes it
streams over each shared memory port or link while it runs, the fraction of any port it holds for itself
(blocked-mode PIM holds the whole HBM data bus), the accesses it makes per memory (for tables and energy)
and the energy actions of the engine itself. The event engine (``archsim.sim.engine``) turns demands into
time against the shared resources while it runs.

A demand is a sequence of ``Phase``s run back to back; a phase lasts at least its ``cycles`` and until its
streams have crossed their ports. Uncontended, a phase's stream on a port moves at ``bytes / cycles`` (the
rate the model's own timing assumed), so a single op takes exactly the model's cycles; contention only
ever makes it longer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, runtime_checkable


@dataclass(frozen=True)
class Phase:
    """A stretch of a task: at least ``cycles`` (engine clock) and until every stream is through.

    ``streams``: ``(port, bytes)`` pairs — bytes that cross that memory port or link during the phase."""

    cycles: int
    streams: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Demand:
    """What one task (an op share, a DMA transfer, a kernel launch) needs.

    Cycles are in the clock of the engine that runs it (architecture clock for tasks without an engine);
    bytes in bytes.

    * ``phases``: run in order (see ``Phase``); ``cycles`` is their sum, the uncontended duration;
    * ``compute_cycles``: the part of ``cycles`` that is work rather than waiting for memory;
    * ``holds``: ``{port: fraction}`` of each port's bandwidth reserved for the whole task (1.0 = exclusive:
      no other traffic crosses the port meanwhile);
    * ``traffic_bytes``: ``"<memory>.<operand>.<read|write>" -> bytes``, every access the task makes, for
      tables and energy (streams are the timed subset);
    * ``actions``: ``{action: count}`` energy actions of the engine itself (``mac``, ``op``, PIM commands …),
      priced by the engine kind's own pricer;
    * ``macs``, ``utilization``, ``mapping_efficiency``, ``folds``: what the op did, for the tables;
    * ``fill_cycles``: the part of ``cycles`` that is a fixed latency (a network round trip) rather than work
      proportional to the data; as a stage of a spatial pipeline it is paid once, by the first item, not
      per item (``archsim.sim.engine.pipeline_demand``).
    * ``dtype``: the element type the engine ran the op in when it converts ops to its own (a quantising
      array's ``compute_dtype``); empty = the op's own dtype.
    """

    phases: tuple[Phase, ...]
    compute_cycles: int = 0
    macs: int = 0
    utilization: float = 0.0
    mapping_efficiency: float = 1.0
    folds: int = 0
    fill_cycles: int = 0
    holds: Mapping[str, float] = field(default_factory=dict)
    traffic_bytes: Mapping[str, float] = field(default_factory=dict)
    actions: Mapping[str, float] = field(default_factory=dict)
    dtype: str = ""

    @property
    def cycles(self) -> int:
        """Uncontended duration: the sum of the phases' cycles (engine clock)."""
        return sum(p.cycles for p in self.phases)

    @property
    def stall_cycles(self) -> int:
        """Uncontended cycles spent waiting for memory (cycles - compute_cycles)."""
        return max(0, self.cycles - self.compute_cycles)

    def bytes_of(self, memory: str, direction: str | None = None) -> float:
        """Bytes this task moved through ``memory`` (reads and writes, or only ``direction``)."""
        total = 0.0
        for key, value in self.traffic_bytes.items():
            mem, _, rest = key.partition(".")
            if mem == memory and (direction is None or rest.endswith("." + direction)):
                total += value
        return total


def single_phase(cycles: int, streams: Mapping[str, float] | None = None, **fields: Any) -> Demand:
    """A one-phase Demand of ``cycles`` streaming ``streams`` (port -> bytes); other fields as keywords."""
    flows = tuple((port, float(b)) for port, b in sorted((streams or {}).items()) if b > 0)
    return Demand((Phase(int(cycles), flows),), **fields)


IDLE = Demand((Phase(0),))
"""The demand of a zero-cost op (a layout change)."""


@runtime_checkable
class EngineModel(Protocol):
    """The interface every engine kind implements (``archsim.hw.<kind>``; registered in its own module).

    ``name``/``clock_ghz``: the engine's name in the architecture and its clock. ``peak_macs_per_cycle``:
    MAC units (0 for engines without any). ``supports(op)``: can it run this trace op. ``demand(op,
    resident=…, **placement)``: the Demand of ``op`` — ``resident`` names operands (``input``, ``weight``,
    ``output``) a mapper has already placed on chip, so the model neither fetches nor counts them off-chip;
    further keywords are mapping decisions a kind understands (PIM channels …). ``split(op, n)``: ``n``
    shares of ``op`` for ``n`` identical units working on it at once (their MACs and bytes add up to the
    op's).

    Optional: ``weight_buffer`` — (SRAM, DRAM) when the engine has a weight SRAM a mapper may prefetch
    weights into (and ``stored_weight_bytes(op)``, the bytes it holds them in, when it converts dtypes); ``kv_channels`` — how many channels a KV cache is placed over (a PIM device's);
    ``scratchpad_bytes`` — on-chip buffer capacity a memory planner may use."""

    name: str
    clock_ghz: float
    peak_macs_per_cycle: float

    def supports(self, op) -> bool: ...

    def demand(self, op, resident: frozenset[str] = frozenset(), **placement) -> Demand: ...

    def split(self, op, n: int) -> list: ...

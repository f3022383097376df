"""Programs: what mappers emit and the event engine runs — per-engine queues of tasks, synchronised by
events and counting tokens.

A ``Task`` occupies the queues it names (engines of the architecture, or DMA/control queues a program
makes up) from its start to its end:

* a **compute** task runs ``ops[i]`` on ``queues[i]`` — one op on one engine, or the shares of an op
  spread over identical units (a gang: they start together, the task ends when every share has);
* a **pipeline** (``pipeline_items > 0``) runs its ops as the stages of one spatial pipeline over those
  queues: the items stream through every stage, so it lasts the first item's trip through all stages
  plus ``items - 1`` times the slowest stage's time per item (fused operators, encoder → MLP); several
  stages may name one queue (parts of one engine, e.g. PCU groups of an RDU: ``args`` tells its model
  which part each op runs on), the task occupies each queue once;
* a task with an explicit ``demand`` (DMA transfers, kernel launches) needs no hardware model; its
  ``streams`` name the ports it crosses;
* a task with no queues is a control step (a barrier that releases tokens once its ``after`` are done).

Synchronisation: ``after`` — tasks whose *end* this one waits for; ``after_start`` — tasks whose *start*
it waits for (a consumer streaming behind its producer); ``end_after`` — tasks that must have ended before
this one may end (a GEMM cannot finish before the last byte of its weights arrived); ``wait`` — tokens
taken from named pools at the start (blocking until they are there), ``release`` — tokens given back at
the end. Pools are counting semaphores declared in ``Program.pools`` with their initial count: decoupled
instruction streams' wait/release, buffer space in bytes, tier capacity.

Queues run their tasks ``in_order`` (an instruction queue, a stream) by default; a queue listed in
``Program.ready_first`` instead starts, whenever it is free, the earliest task in program order that is
ready (independent streams sharing a unit, e.g. two interleaved sub-batches on one NPU).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from archsim.hw.demand import Demand


@dataclass(eq=False)
class Task:
    """One unit of work of a program (see module docstring). Tasks name other tasks by their index in the
    engine: their position among all tasks the engine was given, across the programs it was extended by."""

    name: str
    queues: tuple[str, ...] = ()
    ops: tuple[Any, ...] = ()                       # TraceOps (or shares), one per queue
    demand: Demand | None = None                    # explicit demand instead of asking the queues' models
    args: Mapping[str, Any] = field(default_factory=dict)   # mapping decisions handed to the models
    after: tuple[int, ...] = ()
    after_start: tuple[int, ...] = ()
    end_after: tuple[int, ...] = ()
    wait: tuple[tuple[str, int], ...] = ()
    release: tuple[tuple[str, int], ...] = ()
    pipeline_items: int = 0
    kind: str = "compute"                           # compute | transfer | launch | control
    source: Any = None                              # the op the shares in ``ops`` were split from (its id, name
                                                    # and layer label the records; shares may be reused)
    # what a transfer moved, for the tables
    transfer: "TransferInfo | None" = None


@dataclass(frozen=True)
class TransferInfo:
    """What a transfer task carries: ``tensor`` from ``src`` to ``dst`` (memories, tiers or engines),
    ``bytes``; ``producer_op``/``consumer_op`` the trace ops it serves (-1: none); ``path`` names it in the
    tables (a link name, ``<dram>.load``, ``hbm->sram`` …); ``kind`` is link | plan | tier | dma."""

    path: str
    src: str
    dst: str
    bytes: int
    tensor: str = ""
    producer_op: int = -1
    consumer_op: int = -1
    kind: str = "dma"


@dataclass
class Program:
    """Tasks in program order, token pools with their initial counts, and the queues that dispatch
    ready-first (the others run in order)."""

    tasks: list[Task] = field(default_factory=list)
    pools: dict[str, int] = field(default_factory=dict)
    ready_first: frozenset[str] = frozenset()
    # pools whose level over time is reported (tier capacity): pool -> capacity in its unit (bytes)
    logged_pools: dict[str, int] = field(default_factory=dict)

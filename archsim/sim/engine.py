"""The one event engine: runs a Program's tasks on the engines of an architecture over shared ports.

* **Queues.** Every queue a task names is a unit that runs one task at a time: an engine of the
  architecture (its hardware model answers ``demand``) or a queue the program made up (DMA channels,
  a host); in order unless the program marks it ready-first (``archsim.sim.program``).
* **Demands into time.** When a task starts, each of its parts asks its engine's model for a ``Demand``
  (or uses the task's own). Each phase lasts at least its cycles (scaled from the engine clock to the
  architecture clock) and until its streams are through their ports (``archsim.sim.ports``: bandwidth
  shared by weighted max-min fairness, holds reserve part of it). A lone task takes exactly its model's
  cycles; contention only lengthens it.
* **Synchronisation.** Dependencies on other tasks' start or end, end-no-earlier-than, and counting
  tokens (``wait``/``release`` on the program's pools).

Implemented on SimPy's event queue with callbacks (no generator process per task): one timeout per task
phase plus one per rate change of a port — never per cycle. Time is in cycles of the architecture clock.
"""
from __future__ import annotations

import gc
import heapq
import math
from array import array
from contextlib import contextmanager
from collections import deque
from dataclasses import dataclass, field
from typing import Mapping

import simpy

from archsim.errors import ArchsimError
from archsim.hw.demand import Demand, Phase
from archsim.sim.ports import Port
from archsim.sim.program import Program, Task
from archsim.sim.result import OccupancySample, OpRecord, TransferRecord


@contextmanager
def full_collections_deferred(factor: int = 100):
    """Run the body with CPython's full (generation-2) garbage collections ``factor`` times rarer, restoring
    the thresholds after. A simulation creates and drops tasks by the hundred thousand, most of them living
    across a few young collections, and every full collection scans all live objects (the imported
    libraries' included): on a 1,000-iteration serving run they cost more than the mapping itself. The
    engine's garbage is freed by reference counting; only the scans are deferred."""
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], thresholds[2] * factor)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


class DeadlockError(ArchsimError):
    """Some tasks of a program can never start (the message says what each one waits for)."""


@dataclass(frozen=True)
class PortSpec:
    """A port to build: bandwidth in bytes per cycle of the architecture clock, kind memory | link."""

    bytes_per_cycle: float
    kind: str = "memory"


@dataclass
class _Lane:
    """One sequence of phases of a started task (architecture cycles); a phase is (cycles, streams) with
    streams (port, bytes, cap in bytes per cycle, weight). The parts of a gang whose demands have a single
    phase run as one merged lane; otherwise each distinct demand is a lane of its own."""

    phases: list[tuple[int, list[tuple[str, float, float, float]]]]
    index: int = -1
    pending: int = 0


@dataclass
class _Run:
    """A started task: its lanes, the (queue, op, demand) of every part, the port holds it keeps."""

    task: Task
    start: int
    lanes: list[_Lane]
    members: list[tuple[str, object, Demand]]
    lanes_left: int
    holds: Mapping[str, float] = field(default_factory=dict)
    waiting_end: int = 0                # end_after tasks not ended yet


def _occupied(task: Task) -> tuple[str, ...]:
    """The queues ``task`` occupies: its queues, each once (the stages of a spatial pipeline may be placed on
    different parts of one engine, so a pipeline may name a queue for several of its stages)."""
    if task.pipeline_items and len(task.queues) > 1:
        return tuple(dict.fromkeys(task.queues))
    return task.queues


def _lane(demand: Demand, scale: float, weight: int = 1) -> _Lane:
    phases = []
    for p in demand.phases:
        cycles = math.ceil(p.cycles * scale - 1e-9) if p.cycles > 0 else 0
        streams = [(port, b * weight, (b * weight) / cycles if cycles else math.inf, weight) for port, b in p.streams]
        phases.append((cycles, streams))
    return _Lane(phases)


def _merged_lane(demands: list[tuple[Demand, float]]) -> _Lane:
    """One lane for single-phase demands running side by side: as long as the longest, each port's streams
    merged into one flow whose cap is the sum of theirs (uncontended it is through by the longest part's end)."""
    cycles = 0
    flows: dict[str, list[float]] = {}
    for d, scale in demands:
        (p,) = d.phases
        c = math.ceil(p.cycles * scale - 1e-9) if p.cycles > 0 else 0
        cycles = max(cycles, c)
        for port, b in p.streams:
            acc = flows.setdefault(port, [0.0, 0.0, 0.0])
            acc[0] += b
            acc[1] += b / c if c else math.inf
            acc[2] += 1
    return _Lane([(cycles, [(port, b, cap, w) for port, (b, cap, w) in flows.items()])])


class Engine:
    """Runs programs (see module docstring). ``models``: queue name -> hardware model (engines of the
    architecture); ``ports``: port name -> PortSpec; ``clock_ghz``: the architecture clock.

    A program may be given whole (``run``) or grow while it runs (``extend`` then ``run(until=…)``): the
    serving driver adds each decode iteration as the previous ones are simulated."""

    def __init__(self, clock_ghz: float, models: Mapping[str, object], ports: Mapping[str, PortSpec],
                 program: Program | None = None, sink=None):
        """``sink``: when given, it receives what the engine would otherwise keep record of, one call per
        finished task — ``sink.task(task, members, start, end)`` for compute (``members``: its (queue, op,
        demand) parts), ``sink.transfer(info, start, end)`` for transfers (the serving driver sums them over
        iterations instead of keeping a record per task)."""
        self.env = simpy.Environment()
        self.sink = sink
        self.clock_ghz = clock_ghz
        self.models = dict(models)
        self.ports = {n: Port(self.env, n, s.bytes_per_cycle, s.kind) for n, s in ports.items()}
        self.program = Program()
        self.levels: dict[str, int] = {}
        self.records: list[OpRecord] = []
        self.transfers: list[TransferRecord] = []
        self.occupancy: list[OccupancySample] = []
        self._scale: dict[str, float] = {}
        self._recurring: dict[tuple, tuple] = {}    # (queues, op ids, args) -> (ops, members, lanes' phases)
        # per task (finished tasks' Task objects are dropped: only these arrays remember them)
        self._pending = array("q")           # unmet dependencies (after + after_start)
        self._started = bytearray()
        self._ended = bytearray()
        self._on_start: dict[int, list[int]] = {}
        self._on_end: dict[int, list[int]] = {}
        self._end_waiters: dict[int, list[int]] = {}
        self._runs: dict[int, _Run] = {}
        self.start_cycle = array("q")
        self.end_cycle = array("q")
        # per queue
        self._order: dict[str, deque] = {}  # in-order queues: their tasks not yet ended, in program order
        self._busy: dict[str, int | None] = {}
        self.busy_cycles: dict[str, int] = {}
        self._ready_heap: dict[str, list[int]] = {}
        self._ready_first: set[str] = set()
        self._token_blocked: dict[str, set[int]] = {}
        self._work: deque = deque()
        self._draining = False
        self.tasks_done = 0
        if program is not None:
            self.extend(program)

    # ------------------------------------------------------------------ building
    def extend(self, program: Program) -> None:
        """Add ``program``'s tasks (indices continue the tasks added before; ``after`` etc. may name
        earlier tasks by their global index), its pools and its ready-first queues."""
        for name, count in program.pools.items():
            if name in self.levels:
                raise ValueError(f"token pool {name!r} declared twice")
            self.levels[name] = int(count)
            self.program.pools[name] = int(count)
        for name, cap in program.logged_pools.items():
            self.program.logged_pools[name] = int(cap)
            self.occupancy.append(OccupancySample(int(self.env.now), name, cap - self.levels.get(name, cap)))
        clash = [q for q in program.ready_first if q in self._order]
        if clash:
            raise ValueError(f"queues {clash} already run in order; a queue's dispatch is fixed by its first program")
        self._ready_first |= set(program.ready_first)
        for task in program.tasks:
            self._admit(task)
        self._drain()

    def _admit(self, task: Task) -> None:
        i = len(self.program.tasks)
        self.program.tasks.append(task)
        self._started.append(0)
        self._ended.append(0)
        self.start_cycle.append(-1)
        self.end_cycle.append(-1)
        pending = 0
        for d in task.after:
            if not 0 <= d < i:
                raise ValueError(f"task {i} ({task.name}) waits for task {d}, which does not come before it")
            if not self._ended[d]:
                self._on_end.setdefault(d, []).append(i)
                pending += 1
        for d in task.after_start:
            if not 0 <= d < i:
                raise ValueError(f"task {i} ({task.name}) waits for the start of task {d}, which does not come "
                                 "before it")
            if not self._started[d]:
                self._on_start.setdefault(d, []).append(i)
                pending += 1
        for d in task.end_after:
            if not 0 <= d < i:
                raise ValueError(f"task {i} ({task.name}) must end after task {d}, which does not come before it")
        for pool, _ in (*task.wait, *task.release):
            if pool not in self.levels:
                raise ValueError(f"task {i} ({task.name}) uses token pool {pool!r}, which no program declared")
        self._pending.append(pending)
        for q in _occupied(task):
            if q not in self._busy:
                self._busy[q] = None
                self.busy_cycles[q] = 0
                self._ready_heap[q] = []
                if q not in self._ready_first:
                    self._order[q] = deque()
            if q not in self._ready_first:
                self._order[q].append(i)
        if pending == 0:
            self._work.append(("ready", i))

    def engine_scale(self, queue: str) -> float:
        """Engine-time units per cycle of ``queue``'s model (1 for a queue without a model of its own)."""
        return self._engine_scale(queue)

    def _engine_scale(self, queue: str) -> float:
        s = self._scale.get(queue)
        if s is None:
            model = self.models.get(queue)
            clock = getattr(model, "clock_ghz", None) if model is not None else None
            s = self._scale[queue] = self.clock_ghz / clock if clock else 1.0
        return s

    # ------------------------------------------------------------------ dispatch
    def _drain(self) -> None:
        if self._draining:
            return
        self._draining = True
        try:
            work = self._work
            while work:
                what, x = work.popleft()
                if what == "ready":
                    self._on_ready(x)
                elif what == "free":
                    self._dispatch(x)
                elif what == "pool":
                    for i in sorted(self._token_blocked.pop(x, ())):
                        self._try_start(i)
                elif what == "part":
                    self._advance_part(*x)
        finally:
            self._draining = False

    def _on_ready(self, i: int) -> None:
        task = self.program.tasks[i]
        for q in _occupied(task):
            if q in self._ready_first:
                heapq.heappush(self._ready_heap[q], i)
        self._try_start(i)

    def _dispatch(self, q: str) -> None:
        """Queue ``q`` became free: start what it may run next."""
        if self._busy[q] is not None:
            return
        if q in self._ready_first:
            heap = self._ready_heap[q]
            skipped = []
            while heap and self._busy[q] is None:
                i = heapq.heappop(heap)
                if self._started[i]:
                    continue
                if not self._try_start(i):
                    skipped.append(i)
            for i in skipped:
                heapq.heappush(heap, i)
        else:
            order = self._order[q]
            if order:
                self._try_start(order[0])

    def _can_take(self, i: int, task: Task) -> bool:
        if self._started[i] or self._pending[i]:
            return False
        for q in _occupied(task):
            if self._busy[q] is not None:
                return False
            if q not in self._ready_first and self._order[q][0] != i:
                return False
        for pool, n in task.wait:
            if self.levels[pool] < n:
                self._token_blocked.setdefault(pool, set()).add(i)
                return False
        return True

    def _try_start(self, i: int) -> bool:
        task = self.program.tasks[i]
        if not self._can_take(i, task):
            return False
        self._start(i, task)
        return True

    # ------------------------------------------------------------------ running
    def _start(self, i: int, task: Task) -> None:
        now = int(self.env.now)
        self._started[i] = 1
        self.start_cycle[i] = now
        for pool, n in task.wait:
            self.levels[pool] -= n
            self._log_pool(pool)
        for q in _occupied(task):
            self._busy[q] = i
        for j in self._on_start.pop(i, ()):
            self._dep_met(j)
        lanes, members = self._lanes(task)
        holds: dict[str, float] = {}
        for _, _, d in members:
            for port, frac in d.holds.items():
                holds[port] = min(1.0, holds.get(port, 0.0) + frac)
        for port, frac in holds.items():
            self._port(port, task).hold(frac)
        run = _Run(task, now, lanes, members, len(lanes), holds)
        run.waiting_end = sum(1 for d in task.end_after if not self._ended[d])
        for d in task.end_after:
            if not self._ended[d]:
                self._end_waiters.setdefault(d, []).append(i)
        self._runs[i] = run
        if not lanes:
            self._work.append(("part", (i, None)))
        for lane in lanes:
            self._work.append(("part", (i, lane)))

    def _lanes(self, task: Task) -> tuple[list[_Lane], list[tuple[str, object, Demand]]]:
        if task.demand is not None:
            q0 = task.queues[0] if task.queues else ""
            scale = self._engine_scale(q0) if q0 in self.models else 1.0
            members = [(q, task.ops[k] if k < len(task.ops) else None, task.demand) for k, q in enumerate(task.queues)]
            return [_lane(task.demand, scale)], members or [("", None, task.demand)]
        if not task.ops:
            return [], []
        try:     # the same op objects with the same placement recur (a decode step, iteration after iteration)
            recur = (task.queues, tuple(map(id, task.ops)), frozenset(task.args.items()), task.pipeline_items)
        except TypeError:                     # placement with unhashable values (arrays of KV channels)
            recur = None
        hit = self._recurring.get(recur) if recur is not None else None
        if hit is not None and all(a is b for a, b in zip(hit[0], task.ops)):
            return [_Lane(phases) for phases in hit[2]], hit[1]
        lanes, members = self._plan_lanes(task)
        if recur is not None:
            if len(self._recurring) > 8192:
                self._recurring.clear()
            self._recurring[recur] = (task.ops, members, [lane.phases for lane in lanes])
        return lanes, members

    def _plan_lanes(self, task: Task) -> tuple[list[_Lane], list[tuple[str, object, Demand]]]:
        members = []
        for q, op in zip(task.queues, task.ops):
            model = self.models.get(q)
            if model is None:
                raise ArchsimError(f"task {task.name!r}: queue {q!r} is not an engine of the architecture, so "
                                   f"nothing can run op {getattr(op, 'name', op)!r} there")
            members.append((q, op, model.demand(op, **task.args)))
        if task.pipeline_items:
            demand = pipeline_demand([d for _, _, d in members], [self._engine_scale(q) for q, _, _ in members],
                                     task.pipeline_items)
            return [_lane(demand, 1.0)], members
        if len(members) == 1:
            q, _, d = members[0]
            lanes = [_lane(d, self._engine_scale(q))]
        elif all(len(d.phases) == 1 for _, _, d in members):
            lanes = [_merged_lane([(d, self._engine_scale(q)) for q, _, d in members])]
        else:
            groups: dict[tuple[int, float], list] = {}
            for q, _, d in members:
                groups.setdefault((id(d), self._engine_scale(q)), [d, 0])[1] += 1
            lanes = [_lane(d, scale, n) for (_, scale), (d, n) in groups.items()]
        return lanes, members

    def _port(self, name: str, task: Task) -> Port:
        port = self.ports.get(name)
        if port is None:
            raise ArchsimError(f"task {task.name!r} streams over or holds {name!r}, which is no memory port or "
                               f"link of the architecture (ports: {', '.join(sorted(self.ports))})")
        return port

    def _advance_part(self, i: int, lane: _Lane | None) -> None:
        """Start the lane's next phase, or finish the lane when it has none left."""
        run = self._runs[i]
        if lane is not None:
            lane.index += 1
            if lane.index < len(lane.phases):
                cycles, streams = lane.phases[lane.index]
                lane.pending = 1 + len(streams)
                done = lambda: self._phase_step(i, lane)   # noqa: E731
                for port_name, n_bytes, cap, weight in streams:
                    self._port(port_name, run.task).start_flow(n_bytes, cap, weight, done)
                if cycles > 0:
                    self.env.timeout(cycles).callbacks.append(lambda _e: self._phase_step(i, lane))
                else:
                    self._phase_step(i, lane)
                return
        run.lanes_left -= 1
        if run.lanes_left <= 0 and run.waiting_end == 0:
            self._finish(i, run)

    def _phase_step(self, i: int, lane: _Lane) -> None:
        lane.pending -= 1
        if lane.pending == 0:
            self._work.append(("part", (i, lane)))
            self._drain()

    def _finish(self, i: int, run: _Run) -> None:
        task = run.task
        now = int(self.env.now)
        self._ended[i] = 1
        self.end_cycle[i] = now
        self.tasks_done += 1
        del self._runs[i]
        self.program.tasks[i] = None
        for port, frac in run.holds.items():
            self.ports[port].unhold(frac)
        for pool, n in task.release:
            self.levels[pool] += n
            self._log_pool(pool)
            self._work.append(("pool", pool))
        self._record(i, run, now)
        for q in _occupied(task):
            self._busy[q] = None
            self.busy_cycles[q] += now - run.start
            if q not in self._ready_first:
                self._order[q].popleft()
            self._work.append(("free", q))
        for j in self._on_end.pop(i, ()):
            self._dep_met(j)
        for j in self._end_waiters.pop(i, ()):
            waiter = self._runs[j]
            waiter.waiting_end -= 1
            if waiter.waiting_end == 0 and waiter.lanes_left <= 0:
                self._finish(j, waiter)

    def _dep_met(self, j: int) -> None:
        self._pending[j] -= 1
        if self._pending[j] == 0:
            self._work.append(("ready", j))

    def _log_pool(self, pool: str) -> None:
        cap = self.program.logged_pools.get(pool)
        if cap is None:
            return
        sample = OccupancySample(int(self.env.now), pool, cap - self.levels[pool])
        if self.occupancy and self.occupancy[-1].tier == pool and self.occupancy[-1].cycle == sample.cycle:
            self.occupancy[-1] = sample
        else:
            self.occupancy.append(sample)

    # ------------------------------------------------------------------ records
    def _record(self, i: int, run: _Run, now: int) -> None:
        task = run.task
        if task.transfer is not None:
            t = task.transfer
            if self.sink is not None:
                self.sink.transfer(t, run.start, now)
                return
            self.transfers.append(TransferRecord(t.path, t.producer_op, t.consumer_op, run.start, now, t.bytes,
                                                 t.src, t.dst, t.tensor, t.kind))
            return
        if task.kind == "control":
            return
        if self.sink is not None:
            self.sink.task(task, run.members, run.start, now)
            return
        for q, op, d in run.members:
            label = task.source if task.source is not None else op
            scale = self._engine_scale(q) if q in self.models else 1.0
            total = math.ceil((now - run.start) / scale - 1e-9)
            peak = getattr(self.models.get(q), "peak_macs_per_cycle", 0) or 0
            if peak:
                util = d.macs / (total * peak) if total else 0.0
            else:   # engines without MAC units report their own work measure, rescaled to the time taken
                util = d.utilization * d.cycles / total if total else 0.0
            self.records.append(OpRecord(
                getattr(label, "id", -1), getattr(label, "name", task.name), getattr(label, "kind", task.kind),
                getattr(label, "layer", ""), q, run.start, now, total, d.compute_cycles,
                max(0, total - d.compute_cycles), d.macs, util, d.mapping_efficiency, d.folds,
                dict(d.traffic_bytes), dict(d.actions), getattr(label, "dtype", ""), d.dtype))

    # ------------------------------------------------------------------ running it
    def run(self, until_task: int | None = None, progress: bool = False, label: str = "") -> None:
        """Simulate until every task has ended (DeadlockError if some never can), or until task
        ``until_task`` has ended. ``progress`` shows a bar of finished tasks."""
        env = self.env
        if until_task is not None:
            while not self._ended[until_task]:
                if env.peek() == math.inf:
                    self._deadlock()
                env.step()
            return
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(self.program.tasks), desc=label, unit="task", leave=False)
        steps = 0
        while env.peek() != math.inf:
            env.step()
            steps += 1
            if bar is not None and steps % 4096 == 0:
                bar.update(self.tasks_done - bar.n)
        if bar is not None:
            bar.close()
        if self.tasks_done < len(self.program.tasks):
            self._deadlock()

    def _deadlock(self) -> None:
        lines = []
        for i, task in enumerate(self.program.tasks):
            if task is None or self._ended[i]:
                continue
            if self._started[i]:
                why = "started but never finished (a stream on a port held at 100%?)"
                run = self._runs.get(i)
                if run is not None and run.waiting_end:
                    why = f"waits to end after {[d for d in task.end_after if not self._ended[d]]}"
            elif self._pending[i]:
                deps = [d for d in task.after if not self._ended[d]] + [d for d in task.after_start
                                                                        if not self._started[d]]
                why = f"waits for tasks {deps[:4]}"
            else:
                short = [(p, n, self.levels[p]) for p, n in task.wait if self.levels[p] < n]
                if short:
                    why = "waits for tokens " + ", ".join(f"{p}: needs {n}, has {lv}" for p, n, lv in short)
                else:
                    heads = {q: self._order[q][0] for q in task.queues if q not in self._ready_first and self._order[q]}
                    why = f"queues busy or headed by other tasks {heads}"
            lines.append(f"task {i} ({task.name}): {why}")
            if len(lines) >= 6:
                break
        left = len(self.program.tasks) - self.tasks_done
        raise DeadlockError(f"deadlock: {left} tasks never ran; " + "; ".join(lines))

    @property
    def now(self) -> int:
        """Current simulated time (architecture cycles)."""
        return int(self.env.now)


def pipeline_demand(stages: list[Demand], scales: list[float], items: int) -> Demand:
    """The demand of a spatial pipeline: ``stages`` (each the demand of its whole share of the work, in its
    engine's clock, with ``scales`` to the architecture clock) process ``items`` items one after another.
    It takes the first item's trip through every stage plus ``items - 1`` times the slowest stage's time
    per item (architecture cycles); a stage's ``fill_cycles`` (a fixed latency) count once, in the first
    item's trip. The stages' streams flow over that time."""
    if items < 1:
        raise ValueError("a pipeline needs at least one item")
    fill = [min(d.fill_cycles, d.cycles) * s for d, s in zip(stages, scales)]
    per_item = [(d.cycles * s - f) / items for d, s, f in zip(stages, scales, fill)]
    cycles = math.ceil(sum(fill) + sum(per_item) + (items - 1) * max(per_item, default=0.0) - 1e-9)
    streams: dict[str, float] = {}
    traffic: dict[str, float] = {}
    for d in stages:
        for phase in d.phases:
            for port, b in phase.streams:
                streams[port] = streams.get(port, 0.0) + b
        for k, v in d.traffic_bytes.items():
            traffic[k] = traffic.get(k, 0.0) + v
    holds: dict[str, float] = {}
    for d in stages:
        for p, f in d.holds.items():
            holds[p] = max(holds.get(p, 0.0), f)
    compute = math.ceil(max((d.compute_cycles * s for d, s in zip(stages, scales)), default=0))
    return Demand((Phase(cycles, tuple(sorted(streams.items()))),), compute_cycles=compute,
                  macs=sum(d.macs for d in stages), holds=holds, traffic_bytes=traffic)

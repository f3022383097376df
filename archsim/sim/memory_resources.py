"""Memory tiers as SimPy resources and processes: placement, capacity, DMA staging and occupancy.

``TierRuntime`` is what the event engine (or any engine process) uses:

* every tier has a byte capacity, allocated first-come first-served (``allocate`` returns an event that
  fires once the bytes are granted; a request larger than the whole tier is a ``TierCapacityError``), and
  ``dma_channels`` transfer slots (a SimPy Resource); every declared link between tiers is a Resource too;
* ``copy(tensor, dst)`` is a process: allocate the bytes in ``dst``, take the source's, the destination's
  and the link's slots, hold them for ``TierSystem.transfer_cycles`` (the cycle-level DRAM model for DRAM
  tiers), then mark the copy valid. One SimPy timeout per transfer, never per cycle;
* every allocation change is logged as an ``OccupancySample``, every copy as a ``TierTransferRecord``.

``TierPlan`` says what a run does with the tiers: where each tensor starts (``home``), which tensors an
op needs in which tier before it may start (``fetch``, staged copies pinned until the op ends and then
freed unless ``keep``), which tensors an op writes into a tier (``produce``), and what happens after an op
(``after``: ``store`` copies, ``free`` drops a resident copy). ``start_plan`` runs it beside the engine
processes with double buffering: the fetches of the k-th op in schedule order are issued once the
(k − ``buffers``)-th such op has finished (``buffers=2``: the next op's inputs load while the current op
computes), in schedule order, so allocation never deadlocks as long as each op's own set fits.

``weight_staging_plan`` builds the common plan: weights live in the slower tiers (the first one below
the staging tier with room, as SN40L's allocator does — HBM if it fits, else DDR) and each op's weights are
staged into the fastest tier before it runs. ``simulate_tiered`` is ``archsim.simulate`` with that plan.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import simpy

from archsim.hw.tiers import TierCapacityError, TierSystem, build_tiers
from archsim.sim.result import OccupancySample, TierTransferRecord


@dataclass(frozen=True)
class Fetch:
    """``tensor`` must have a valid copy in ``tier`` before the op starts. The copy is pinned while the op
    runs and freed afterwards unless ``keep`` (then it stays resident, like a home copy)."""

    tensor: str
    tier: str
    keep: bool = False


@dataclass(frozen=True)
class Produce:
    """The op writes ``tensor`` into ``tier``: its bytes are allocated before the op starts and the copy is
    valid once it ends."""

    tensor: str
    tier: str


@dataclass(frozen=True)
class After:
    """An action run once the op has ended: ``store`` copies ``tensor`` into ``tier`` (resident),
    ``free`` drops the resident copy of ``tensor`` in ``tier`` (once no running op pins it)."""

    kind: str       # "store" | "free"
    tensor: str
    tier: str


@dataclass(frozen=True)
class TierPlan:
    """What a run does with the tiers (sizes in bytes; op ids of the Schedule's trace)."""

    sizes: Mapping[str, int]
    home: Mapping[str, str]                                   # tensor -> tier holding it at cycle 0
    fetch: Mapping[int, tuple[Fetch, ...]] = field(default_factory=dict)
    produce: Mapping[int, tuple[Produce, ...]] = field(default_factory=dict)
    after: Mapping[int, tuple[After, ...]] = field(default_factory=dict)
    buffers: int = 2                                          # ops whose staged inputs may be resident at once


class TierRuntime:
    """The tiers of one simulation as SimPy resources; see the module docstring."""

    def __init__(self, env: simpy.Environment, system: TierSystem, sizes: Mapping[str, int]):
        self.env = env
        self.system = system
        self.sizes = dict(sizes)
        self.capacity = {t.name: t.capacity_bytes for t in system.tiers}
        self.used = {t.name: 0 for t in system.tiers}
        self._waiting: dict[str, deque] = {t.name: deque() for t in system.tiers}
        self.ports = {t.name: simpy.Resource(env, capacity=t.dma_channels) for t in system.tiers}
        self.link_slots = {l.name: simpy.Resource(env, capacity=1) for l in system.links}
        self.valid: dict[str, set[str]] = {}              # tensor -> tiers holding a valid copy
        self.resident: dict[str, set[str]] = {}           # tensor -> tiers where the copy is kept
        self.allocated: dict[tuple[str, str], int] = {}   # (tensor, tier) -> bytes allocated
        self.pins: dict[tuple[str, str], int] = {}
        self._inflight: dict[tuple[str, str], simpy.Event] = {}
        self._unpinned: dict[tuple[str, str], simpy.Event] = {}
        self._appeared: dict[str, simpy.Event] = {}       # tensor -> 'it has a valid copy somewhere'
        self.transfers: list[TierTransferRecord] = []
        self.occupancy: list[OccupancySample] = [OccupancySample(0, t, 0) for t in self.used]

    # ---------------------------------------------------------------- capacity
    def size(self, tensor: str) -> int:
        """Bytes of ``tensor``."""
        try:
            return int(self.sizes[tensor])
        except KeyError:
            raise KeyError(f"tensor {tensor!r} has no size in the tier plan") from None

    def _log(self, tier: str) -> None:
        sample = OccupancySample(int(self.env.now), tier, self.used[tier])
        if self.occupancy and self.occupancy[-1].tier == tier and self.occupancy[-1].cycle == sample.cycle:
            self.occupancy[-1] = sample
        else:
            self.occupancy.append(sample)

    def allocate(self, tier: str, n_bytes: int, what: str = "") -> simpy.Event:
        """Event that fires once ``n_bytes`` are allocated in ``tier`` (first come, first served)."""
        if n_bytes > self.capacity[tier]:
            raise TierCapacityError(f"tier {tier!r}: {what or 'an allocation'} needs {n_bytes} bytes but the tier "
                                    f"holds only {self.capacity[tier]} bytes")
        event = self.env.event()
        self._waiting[tier].append((int(n_bytes), event))
        self._grant(tier)
        return event

    def _grant(self, tier: str) -> None:
        queue = self._waiting[tier]
        changed = False
        while queue and self.used[tier] + queue[0][0] <= self.capacity[tier]:
            n, event = queue.popleft()
            self.used[tier] += n
            changed = True
            event.succeed()
        if changed:
            self._log(tier)

    def release(self, tier: str, n_bytes: int) -> None:
        """Return ``n_bytes`` of ``tier`` and grant waiting allocations."""
        self.used[tier] -= int(n_bytes)
        assert self.used[tier] >= 0, f"tier {tier!r} released more than it allocated"
        self._log(tier)
        self._grant(tier)

    def place(self, tensor: str, tier: str) -> None:
        """Put ``tensor`` in ``tier`` now, resident (TierCapacityError if it does not fit right away)."""
        n = self.size(tensor)
        if self.used[tier] + n > self.capacity[tier]:
            raise TierCapacityError(f"tier {tier!r} overflows placing {tensor!r}: {self.used[tier]} + {n} bytes > "
                                    f"capacity {self.capacity[tier]} bytes")
        self.used[tier] += n
        self._log(tier)
        self.allocated[(tensor, tier)] = n
        self.mark_valid(tensor, tier)
        self.resident.setdefault(tensor, set()).add(tier)

    def mark_valid(self, tensor: str, tier: str) -> None:
        """Record that ``tier`` now holds a valid copy of ``tensor`` (wakes copies waiting for it)."""
        self.valid.setdefault(tensor, set()).add(tier)
        event = self._appeared.pop(tensor, None)
        if event is not None:
            event.succeed()

    def _drop(self, tensor: str, tier: str) -> None:
        n = self.allocated.pop((tensor, tier))
        self.valid.get(tensor, set()).discard(tier)
        self.resident.get(tensor, set()).discard(tier)
        self.release(tier, n)

    # ---------------------------------------------------------------- copies
    def holds(self, tensor: str, tier: str) -> bool:
        """True when ``tier`` has a valid copy of ``tensor``."""
        return tier in self.valid.get(tensor, ())

    def source_for(self, tensor: str, dst: str) -> str:
        """The tier a copy of ``tensor`` into ``dst`` reads from: the valid copy nearest ``dst`` in tier order."""
        holders = self.valid.get(tensor)
        if not holders:
            raise RuntimeError(f"tensor {tensor!r} has no valid copy in any tier to copy into {dst!r}")
        level = {t.name: t.level for t in self.system.tiers}
        return min(holders, key=lambda t: (abs(level[t] - level[dst]), level[t]))

    def copy(self, tensor: str, dst: str, op_id: int = -1, allocated: bool = False):
        """Process: copy ``tensor`` into ``dst`` (allocating there unless ``allocated``); records the transfer.
        A copy already valid or in flight is not repeated; a tensor not produced yet is waited for."""
        key = (tensor, dst)
        while not self.valid.get(tensor) and key not in self._inflight:
            yield self._appeared.setdefault(tensor, self.env.event())
        if self.holds(tensor, dst):
            if allocated:
                self.release(dst, self.size(tensor))
            return
        if key in self._inflight:
            if allocated:
                self.release(dst, self.size(tensor))
            yield self._inflight[key]
            return
        done = self.env.event()
        self._inflight[key] = done
        n = self.size(tensor)
        if not allocated:
            yield self.allocate(dst, n, f"copy of {tensor!r}")
        self.allocated[key] = n
        src = self.source_for(tensor, dst)
        link = self.system.link_between(src, dst)
        slots = sorted([("tier", src), ("tier", dst)] + ([("link", link.name)] if link else []))
        requests = []
        for kind, name in slots:   # a fixed global order: no two transfers wait on each other in a cycle
            req = (self.ports if kind == "tier" else self.link_slots)[name].request()
            requests.append((kind, name, req))
            yield req
        start = self.env.now
        yield self.env.timeout(self.system.transfer_cycles(src, dst, n))
        for kind, name, req in requests:
            (self.ports if kind == "tier" else self.link_slots)[name].release(req)
        self.transfers.append(TierTransferRecord(tensor, src, dst, int(op_id), int(start), int(self.env.now), n))
        del self._inflight[key]
        self.mark_valid(tensor, dst)
        done.succeed()

    def pin(self, tensor: str, tier: str) -> None:
        """Keep ``tensor``'s copy in ``tier`` alive while an op uses it."""
        self.pins[(tensor, tier)] = self.pins.get((tensor, tier), 0) + 1

    def unpin(self, tensor: str, tier: str) -> None:
        """Drop one pin; a staged (non-resident) copy with no pins left is freed."""
        key = (tensor, tier)
        self.pins[key] -= 1
        if self.pins[key] == 0:
            del self.pins[key]
            if tier not in self.resident.get(tensor, ()) and key in self.allocated:
                self._drop(tensor, tier)
            ev = self._unpinned.pop(key, None)
            if ev is not None:
                ev.succeed()

    def free(self, tensor: str, tier: str):
        """Process: drop the resident copy of ``tensor`` in ``tier`` once no op pins it."""
        key = (tensor, tier)
        if self.pins.get(key):
            ev = self._unpinned.setdefault(key, self.env.event())
            yield ev
        if key in self.allocated:
            self._drop(tensor, tier)

    def check_conservation(self) -> None:
        """Assert the invariants: occupancy within capacity; per tier, final bytes = placed + copied in +
        produced − freed (checked as: allocated bytes equal the logged occupancy)."""
        for s in self.occupancy:
            assert 0 <= s.bytes <= self.capacity[s.tier], f"tier {s.tier!r} occupancy {s.bytes} out of range"
        for tier in self.used:
            held = sum(n for (_, t), n in self.allocated.items() if t == tier)
            assert held == self.used[tier], f"tier {tier!r}: {held} bytes held vs {self.used[tier]} allocated"


def start_plan(env: simpy.Environment, runtime: TierRuntime, plan: TierPlan, order: Sequence[int],
               finished: Mapping[int, simpy.Event]) -> dict[int, simpy.Event]:
    """Run ``plan`` beside the engines: place homes now and start the staging process. Returns op id ->
    event 'the op's fetched inputs are in place and its produced tensors allocated'."""
    if plan.buffers < 1:
        raise ValueError("TierPlan.buffers must be ≥ 1")
    for tensor, tier in plan.home.items():
        runtime.place(tensor, tier)
    staged = [op for op in order if plan.fetch.get(op) or plan.produce.get(op)]
    ready = {op: env.event() for op in staged}

    def produce_done(op_id: int, items: tuple[Produce, ...]):
        yield finished[op_id]
        for p in items:
            runtime.mark_valid(p.tensor, p.tier)
            runtime.resident.setdefault(p.tensor, set()).add(p.tier)

    def release_pins(op_id: int, pinned: list[tuple[str, str]]):
        yield finished[op_id]
        for tensor, tier in pinned:
            runtime.unpin(tensor, tier)

    def stager():
        for k, op_id in enumerate(staged):
            if k >= plan.buffers:   # double buffering: wait for the op whose buffer this one reuses
                yield finished[staged[k - plan.buffers]]
            copies, pinned = [], []
            for f in plan.fetch.get(op_id, ()):
                n = runtime.size(f.tensor)
                if runtime.holds(f.tensor, f.tier) or (f.tensor, f.tier) in runtime._inflight:
                    copies.append(env.process(runtime.copy(f.tensor, f.tier, op_id)))
                else:
                    yield runtime.allocate(f.tier, n, f"staging {f.tensor!r} for op {op_id}")
                    copies.append(env.process(runtime.copy(f.tensor, f.tier, op_id, allocated=True)))
                if f.keep:
                    runtime.resident.setdefault(f.tensor, set()).add(f.tier)
                runtime.pin(f.tensor, f.tier)
                pinned.append((f.tensor, f.tier))
            for p in plan.produce.get(op_id, ()):
                yield runtime.allocate(p.tier, runtime.size(p.tensor), f"output {p.tensor!r} of op {op_id}")
                runtime.allocated[(p.tensor, p.tier)] = runtime.size(p.tensor)
            env.process(release_pins(op_id, pinned))
            if plan.produce.get(op_id):
                env.process(produce_done(op_id, plan.produce[op_id]))
            env.process(_succeed_after(env, copies, ready[op_id]))

    def after_actions():
        for op_id in order:
            actions = plan.after.get(op_id, ())
            if not actions:
                continue
            yield finished[op_id]
            for a in actions:
                if a.kind == "store":
                    yield env.process(runtime.copy(a.tensor, a.tier, op_id))
                    runtime.resident.setdefault(a.tensor, set()).add(a.tier)
                elif a.kind == "free":
                    yield env.process(runtime.free(a.tensor, a.tier))
                else:
                    raise ValueError(f"unknown after-action {a.kind!r} for op {op_id}")

    env.process(stager())
    if plan.after:
        env.process(after_actions())
    return ready


def _succeed_after(env: simpy.Environment, events: list, target: simpy.Event):
    if events:
        yield env.all_of(events)
    target.succeed()


# -------------------------------------------------------------------- plans
def weight_tensor(op_id: int) -> str:
    """Name of the weight tensor of op ``op_id`` in the plans built here."""
    return f"w{op_id}"


def weight_staging_plan(schedule, system: TierSystem, stage: str | None = None,
                        home: str | Iterable[str] | None = None, buffers: int = 2) -> TierPlan:
    """Weights of every op (``weight_bytes`` > 0) live in a slower tier and are staged into ``stage``
    (default: the fastest tier) before the op runs, then freed.

    ``home``: a tier, or tiers in order of preference (default: every tier after ``stage``, fastest
    first); each weight goes to the first with room left, in schedule order (SN40L's policy: HBM if it
    fits, else DDR). TierCapacityError when a weight fits nowhere or in no staging buffer."""
    stage = stage or system.names[0]
    system.tier(stage)
    if home is None:
        homes = [n for n in system.names if n != stage and system.tier(n).level > system.tier(stage).level]
    else:
        homes = [home] if isinstance(home, str) else list(home)
    for h in homes:
        system.tier(h)
    room = {h: system.tier(h).capacity_bytes for h in homes}
    sizes, placed, fetch = {}, {}, {}
    stage_cap = system.tier(stage).capacity_bytes
    for entry in schedule.entries:
        op = entry.op
        if op.weight_bytes <= 0:
            continue
        name = weight_tensor(op.id)
        n = int(op.weight_bytes)
        if n > stage_cap:
            raise TierCapacityError(f"tier {stage!r}: weights of op {op.id} ({op.name}) need {n} bytes, more "
                                    f"than the tier's {stage_cap} bytes")
        target = next((h for h in homes if room[h] >= n), None)
        if target is None:
            raise TierCapacityError(f"weights of op {op.id} ({op.name}, {n} bytes) fit in none of the tiers "
                                    f"{homes} (room left: {room})")
        room[target] -= n
        sizes[name] = n
        placed[name] = target
        fetch[op.id] = (Fetch(name, stage),)
    return TierPlan(sizes, placed, fetch, buffers=buffers)


def simulate_tiered(arch, workload, *, mapper: str = "by_kind", stage: str | None = None,
                    home: str | Iterable[str] | None = None, buffers: int = 2, tiers: str | None = None,
                    arch_overrides: Iterable[str] = (), mapper_options: dict | None = None):
    """``archsim.simulate`` with the weights held in the slower tiers and staged into the fastest one
    (``weight_staging_plan``). Returns the Result, with ``tier_traffic`` / ``occupancy`` filled."""
    from archsim.config import Arch, load_arch
    from archsim.mapping import MAPPERS
    from archsim.sim.engine import run_schedule
    from archsim.sim.run import build_engines, resolve_workload

    if not isinstance(arch, Arch):
        arch = load_arch(arch, arch_overrides)
    system = build_tiers(arch, tiers)
    trace = resolve_workload(workload)
    engines = build_engines(arch)
    schedule = MAPPERS[mapper](trace, engines, **(mapper_options or {}))
    costs = {e.op.id: engines[e.engine].op_cost(e.op) for e in schedule.entries}
    plan = weight_staging_plan(schedule, system, stage, home, buffers)
    return run_schedule(schedule, arch, engines, costs, tier_plan=plan, tiers=system)

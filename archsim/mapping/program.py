"""Compile Schedules into a Program for the event engine: compute tasks, DMA transfers, token pools.

What a Schedule decided becomes tasks (``archsim.sim.program``):

* each scheduled op is a compute task on its engine, or a gang of shares on identical units
  (``model.split``; the broadcast operand is fetched once for all of them);
* **weight prefetch**: an op on an engine with a weight SRAM (its model's ``weight_buffer``: the SRAM and
  the DRAM it is filled from — a systolic array's filter SRAM) whose weights fit in it has them
  streamed in by a DMA queue ahead of it, in program order, as far ahead as the SRAM's bytes (a token pool)
  allow; the op starts once its weights start arriving, ends no earlier than their last byte, and does not
  fetch them itself. Ops of one Schedule with the same name share one weight matrix (the sub-batches of a
  decode step): one DMA, given back once every user has run;
* an op whose input was produced on another engine waits for a **link transfer** when the architecture
  declares a link between the two (one transfer at a time per link, bytes / bandwidth + latency);
* a **memory plan** (COSMA, Belady, LRU …) runs its loads and stores step by step as DMA transfers over
  the plan's DRAM port (in plan order, one at a time); an op waits for its step's transfers, and a store or
  free waits for the ops that used the tensor. The planned tensors live in the scratchpad, so the ops'
  own demands do not fetch them again (``resident``);
* a **tier plan** (``archsim.mapping.tier_plan``) becomes one token pool per tier (its capacity in bytes,
  reported over time) and DMA transfers between tiers timed by the tiers' model (the cycle-level DRAM model
  for DRAM tiers), over as many DMA queues per pair of tiers as both have ``dma_channels``; a staged copy takes its bytes from the destination pool until the op that needed it has
  ended. Staged weights are resident for the op, so they are not counted off-chip twice.

``ProgramBuilder`` keeps the task numbering across calls, so a driver can add one Schedule after another
(the serving driver adds a decode iteration at a time) and hand each chunk to a running engine.
"""
from __future__ import annotations

import math

from archsim.hw.demand import Demand, Phase
from archsim.hw.registry import memory_port_gbps
from archsim.hw.shares import Split
from archsim.hw.systolic import op_key
from archsim.hw.tiers import TierCapacityError, TierSystem
from archsim.mapping.schedule import Schedule
from archsim.mapping.tensors import tensor_view
from archsim.mapping.tier_plan import TierPlan
from archsim.sim.program import Program, Task, TransferInfo


def transfer_demand(n_bytes: float, cycles: int, ports: tuple[str, ...]) -> Demand:
    """A DMA transfer of ``n_bytes`` taking ``cycles`` (architecture clock) alone, crossing ``ports``."""
    return Demand((Phase(int(cycles), tuple((p, float(n_bytes)) for p in ports)),), compute_cycles=0)


def plan_dram(arch) -> str:
    """The off-chip memory a memory plan's transfers use: the first ``kind: dram`` memory of ``arch``."""
    for name, params in arch.memories.items():
        if params.kind == "dram":
            return name
    raise RuntimeError(f"architecture {arch.name!r} has no DRAM to execute a memory plan against")


class ProgramBuilder:
    """Turns Schedules into Program chunks for one event engine (see module docstring).

    ``prefetch_weights``: the weight-prefetch pass; ``ready_first``: the architecture's engines dispatch
    ready-first (independent streams, e.g. interleaved sub-batches, share them) instead of in order."""

    def __init__(self, arch, engines: dict, prefetch_weights: bool = True, ready_first: bool = False):
        self.arch, self.engines = arch, engines
        self.prefetch_weights = prefetch_weights
        self.next_task = 0
        self.chunk = Program()
        if ready_first:
            self.chunk.ready_first = frozenset(engines)
        self._buffers: dict[str, int] = {}       # weight SRAM -> its pool's capacity (bytes)
        self._splits: dict[tuple, Split] = {}              # (members, op content) -> shares
        self._labelled: dict[tuple, tuple] = {}            # (members, op id, name) -> (op, its shares)
        self._links = {(lp.src, lp.dst): name for name, lp in arch.links.items()}

    # ------------------------------------------------------------------ chunks
    def add(self, task: Task) -> int:
        """Append ``task`` to the current chunk; its global index."""
        self.chunk.tasks.append(task)
        self.next_task += 1
        return self.next_task - 1

    def take(self) -> Program:
        """The tasks (and pools) added since the last ``take``."""
        chunk, self.chunk = self.chunk, Program()
        return chunk

    # ------------------------------------------------------------------ a schedule
    def add_schedule(self, schedule: Schedule, *, after: dict[int, tuple[int, ...]] | None = None,
                     args: dict[int, dict] | None = None, tier_plan: TierPlan | None = None,
                     tiers: TierSystem | None = None) -> dict[int, int]:
        """Add the tasks running ``schedule``; return op id -> task index.

        ``after``: op id -> tasks (of earlier chunks) the op also waits for; ``args``: op id -> mapping
        decisions for its engine model (``resident`` operands, ``kv_channels`` …)."""
        after, args = after or {}, args or {}
        op_task: dict[int, int] = {}
        engine_of = {e.op.id: e.engines for e in schedule.entries}
        plan = schedule.memory_plan
        resident_all: frozenset[str] = frozenset()
        if plan is not None:
            weights = any(role == "weight" for _, _, role, _ in plan.tensors)
            resident_all = frozenset({"input", "output"} | ({"weight"} if weights else set()))
        plan_dma = _PlanDma(self, schedule) if plan is not None else None
        plan_steps = {s.op_id: s.actions for s in plan.steps} if plan is not None else {}
        tiered = _TierCompiler(self, tier_plan, tiers, [e.op.id for e in schedule.entries]) if tier_plan else None
        weights = _WeightPrefetch(self, schedule) if self.prefetch_weights else None
        for entry in schedule.entries:
            op = entry.op
            waits = [op_task[d] for d in op.deps if d in op_task] + list(after.get(op.id, ()))
            for d in op.deps:
                link = self._links.get((engine_of[d][0], entry.engine)) if d in op_task else None
                if link is not None and engine_of[d] != entry.engines:
                    waits.append(self._link_transfer(link, schedule.trace, d, op, op_task[d], engine_of[d][0],
                                                     entry.engine))
            if plan_dma is not None:
                waits += plan_dma.step(op.id, plan_steps.get(op.id, ()))
            op_args = dict(args.get(op.id, {}))
            resident = frozenset(op_args.pop("resident", ())) | resident_all
            wait, release, after_start = (), (), ()
            if tiered is not None:
                staged_after, wait, release, staged = tiered.before(op.id)
                waits += staged_after
                resident |= staged
            if weights is not None and "weight" not in resident:
                dma = weights.before(op, entry.engines)
                if dma is not None:
                    after_start = (dma,)
                    resident |= {"weight"}
            if resident:
                op_args["resident"] = resident
            task = self._gang(op, entry.engines, op_args, waits, wait=wait, release=release,
                              after_start=after_start, end_after=after_start)
            op_task[op.id] = self.add(task)
            if plan_dma is not None:
                plan_dma.ran(op.id, op_task[op.id])
            if tiered is not None:
                tiered.after(op.id, op_task[op.id])
            if weights is not None:
                weights.ran(op, op_task[op.id])
        if plan_dma is not None:
            plan_dma.step(None, plan.final_actions)
        if weights is not None:
            weights.finish()
        return op_task

    def _gang(self, op, members: tuple[str, ...], args: dict, after, **fields) -> Task:
        """The task running ``op`` on ``members``: itself on one engine, or one share per identical unit."""
        if len(members) == 1:
            return Task(op.name, (members[0],), (op,), args=args, after=tuple(after), **fields)
        split = self._split(op, members)
        shares = split.shares
        return Task(op.name, tuple(members[: len(shares)]), tuple(shares), args={**args, **split.placement},
                    after=tuple(after), source=op, **fields)

    def _split(self, op, members: tuple[str, ...]) -> Split:
        """``op``'s shares for ``members``. Cached: an op that recurs as the same object (a decode step's,
        iteration after iteration) is split once, and ops equal in all but their labels (every layer's
        attention softmax of one iteration) share one split (the task's ``source`` labels the records)."""
        label = (members, op.id, op.name)
        hit = self._labelled.get(label)
        if hit is not None and hit[0] is op:
            return hit[1]
        key = (members, op_key(op))
        split = self._splits.get(key)
        if split is None:
            if len(self._splits) > 4096:
                self._splits.clear()
            split = self._splits[key] = self.engines[members[0]].split(op, len(members))
        if len(self._labelled) > 8192:
            self._labelled.clear()
        self._labelled[label] = (op, split)
        return split

    def _link_transfer(self, link: str, trace, producer: int, op, producer_task: int, src: str, dst: str) -> int:
        lp = self.arch.links[link]
        n_bytes = next(o.output_bytes for o in trace.ops if o.id == producer)
        cycles = math.ceil(n_bytes / (lp.bandwidth_gbps / self.arch.clock_ghz) + lp.latency_ns * self.arch.clock_ghz)
        return self.add(Task(f"{link}:{producer}->{op.id}", (f"link.{link}",),
                             demand=transfer_demand(n_bytes, cycles, (link,)), after=(producer_task,),
                             kind="transfer",
                             transfer=TransferInfo(link, src, dst, int(n_bytes), "", producer, op.id, "link")))

    def weight_pool(self, sram: str) -> str:
        """The token pool of weight SRAM ``sram`` (declared in the current chunk the first time)."""
        from archsim.hw.sram import Sram

        pool = f"weights@{sram}"
        if sram not in self._buffers:
            self._buffers[sram] = Sram(self.arch.memories[sram]).capacity_bytes
            self.chunk.pools[pool] = self._buffers[sram]
        return pool


class _WeightPrefetch:
    """The weight-prefetch pass of one Schedule (see module docstring)."""

    def __init__(self, builder: ProgramBuilder, schedule: Schedule):
        self.b = builder
        self.dma: dict[tuple[str, int], tuple[int, str, int]] = {}    # (op name, bytes) -> (task, pool, bytes)
        self.users: dict[tuple[str, int], list[int]] = {}
        self.left: dict[tuple[str, int], int] = {}
        for e in schedule.entries:
            key = (e.op.name, e.op.weight_bytes)
            self.left[key] = self.left.get(key, 0) + 1

    def before(self, op, members: tuple[str, ...]) -> int | None:
        """The DMA task bringing ``op``'s weights (created on its first user), or None when not prefetched."""
        buffer = getattr(self.b.engines[members[0]], "weight_buffer", None)
        if op.weight_bytes <= 0 or buffer is None:
            return None
        key = (op.name, op.weight_bytes)
        if key not in self.dma:
            from archsim.hw.sram import Sram

            sram, dram = buffer
            model = self.b.engines[members[0]]
            # the weights as the engine stores them (a quantising array keeps them in its own dtype)
            n = int(model.stored_weight_bytes(op) if hasattr(model, "stored_weight_bytes") else op.weight_bytes)
            if n > Sram(self.b.arch.memories[sram]).capacity_bytes:
                return None
            pool = self.b.weight_pool(sram)
            # the array's weight SRAM fills at the rate the array reads it: the DRAM side sets the time
            cycles = math.ceil(n / (memory_port_gbps(self.b.arch, dram) / self.b.arch.clock_ghz))
            task = self.b.add(Task(f"{op.name}.weights", (f"dma.{dram}->{sram}",),
                                   demand=transfer_demand(n, cycles, (dram,)), wait=((pool, n),),
                                   kind="transfer", transfer=TransferInfo(f"{dram}->{sram}", dram, sram, n,
                                                                          f"{op.name}.weight", -1, op.id, "dma")))
            self.dma[key] = (task, pool, n)
        return self.dma[key][0]

    def ran(self, op, task: int) -> None:
        key = (op.name, op.weight_bytes)
        if key not in self.dma:
            return
        self.users.setdefault(key, []).append(task)
        self.left[key] -= 1
        if self.left[key] == 0:
            _, pool, n = self.dma[key]
            self.b.add(Task(f"{op.name}.weights_free", (), after=tuple(self.users.pop(key)), release=((pool, n),),
                            kind="control"))

    def finish(self) -> None:
        assert not self.users, f"weights never given back: {sorted(self.users)}"


class _PlanDma:
    """The DMA queue executing a memory plan's actions (see module docstring)."""

    def __init__(self, builder: ProgramBuilder, schedule: Schedule):
        self.b = builder
        plan = schedule.memory_plan
        weights = any(role == "weight" for _, _, role, _ in plan.tensors)
        self.view = tensor_view(schedule.trace, include_weights=weights)
        self.dram = plan_dram(builder.arch)
        self.bytes_per_cycle = memory_port_gbps(builder.arch, self.dram) / builder.arch.clock_ghz
        self.users: dict[str, list[int]] = {}    # tensor -> tasks (so far) that produced or read it
        self.op_task: dict[int, int] = {}

    def step(self, op_id: int | None, actions) -> list[int]:
        """Add the transfers of one plan step; return the tasks the op must wait for."""
        tasks = []
        for action in actions:
            if action.kind == "free":
                continue
            tensor = self.view.tensor(action.tensor)
            after = tuple(self.users.get(action.tensor, ())) if action.kind == "store" else ()
            cycles = math.ceil(tensor.size / self.bytes_per_cycle)
            producer = -1 if tensor.producer is None else tensor.producer
            tasks.append(self.b.add(Task(
                f"{self.dram}.{action.kind}:{action.tensor}", (f"{self.dram}.dma",),
                demand=transfer_demand(tensor.size, cycles, (self.dram,)), after=after, kind="transfer",
                transfer=TransferInfo(f"{self.dram}.{action.kind}", self.dram if action.kind == "load" else "",
                                      self.dram if action.kind == "store" else "", int(tensor.size),
                                      action.tensor, producer, -1 if op_id is None else op_id, "plan"))))
        return tasks

    def ran(self, op_id: int, task: int) -> None:
        """Op ``op_id`` runs as ``task``: later stores and frees of the tensors it touched wait for it."""
        for tid in self.view.touched(op_id):
            self.users.setdefault(tid, []).append(task)


class _TierCompiler:
    """Turns a TierPlan into pools, DMA transfers and the waits/releases of the ops (module docstring)."""

    def __init__(self, builder: ProgramBuilder, plan: TierPlan, system: TierSystem, order: list[int]):
        if plan.buffers < 1:
            raise ValueError("TierPlan.buffers must be ≥ 1")
        self.b, self.plan, self.system = builder, plan, system
        self.level = {t.name: t.level for t in system.tiers}
        used = {t.name: 0 for t in system.tiers}
        self.valid: dict[str, set[str]] = {}
        self.made_by: dict[str, int] = {}          # tensor -> task after which its newest tier copy exists
        for tensor, tier in plan.home.items():
            n = self.size(tensor)
            cap = system.tier(tier).capacity_bytes
            if used[tier] + n > cap:
                raise TierCapacityError(f"tier {tier!r} overflows placing {tensor!r}: {used[tier]} + {n} bytes > "
                                        f"capacity {cap} bytes")
            used[tier] += n
            self.valid.setdefault(tensor, set()).add(tier)
        for t in system.tiers:
            builder.chunk.pools[t.name] = t.capacity_bytes - used[t.name]
            builder.chunk.logged_pools[t.name] = t.capacity_bytes
        self.staged = [op for op in order if plan.fetch.get(op) or plan.produce.get(op)]
        self.rank = {op: k for k, op in enumerate(self.staged)}
        self.task_of: dict[int, int] = {}
        self.pinned: dict[int, list[tuple[str, str]]] = {}
        self.copies: dict[tuple[str, str], int] = {}

    def size(self, tensor: str) -> int:
        try:
            return int(self.plan.sizes[tensor])
        except KeyError:
            raise KeyError(f"tensor {tensor!r} has no size in the tier plan") from None

    def _copy(self, tensor: str, dst: str, op_id: int, after: tuple[int, ...]) -> int:
        holders = self.valid.get(tensor)
        if not holders:
            raise RuntimeError(f"tensor {tensor!r} has no valid copy in any tier to copy into {dst!r}")
        src = min(holders, key=lambda t: (abs(self.level[t] - self.level[dst]), self.level[t]))
        n = self.size(tensor)
        link = self.system.link_between(src, dst)
        ports = (src, dst) + ((link.name,) if link else ())
        made = (self.made_by[tensor],) if tensor in self.made_by else ()
        # each pair of tiers copies over as many DMA queues as both tiers have channels, in turn
        channels = max(1, min(self.system.tier(src).dma_channels, self.system.tier(dst).dma_channels))
        k = self.copies.get((src, dst), 0)
        self.copies[(src, dst)] = k + 1
        queue = f"dma.{src}->{dst}" + (f"#{k % channels}" if channels > 1 else "")
        task = self.b.add(Task(
            f"{tensor}:{src}->{dst}", (queue,),
            demand=transfer_demand(n, self.system.transfer_cycles(src, dst, n), ports),
            after=tuple(dict.fromkeys(after + made)), wait=((dst, n),), kind="transfer",
            transfer=TransferInfo(f"{src}->{dst}", src, dst, n, tensor, -1, op_id, "tier")))
        self.valid.setdefault(tensor, set()).add(dst)
        self.made_by[tensor] = task
        return task

    def before(self, op_id: int):
        """(tasks the op waits for, tokens it takes, tokens it gives back, the operands staged for it)."""
        k = self.rank.get(op_id)
        if k is None:
            return [], (), (), frozenset()
        gate = (self.task_of[self.staged[k - self.plan.buffers]],) if k >= self.plan.buffers else ()
        waits_for, release, pinned = [], [], []
        for f in self.plan.fetch.get(op_id, ()):
            if f.tier in self.valid.get(f.tensor, ()):
                if f.tensor in self.made_by:
                    waits_for.append(self.made_by[f.tensor])
            else:
                waits_for.append(self._copy(f.tensor, f.tier, op_id, gate))
                if not f.keep:
                    release.append((f.tier, self.size(f.tensor)))
                    pinned.append((f.tensor, f.tier))
        take = tuple((p.tier, self.size(p.tensor)) for p in self.plan.produce.get(op_id, ()))
        self.pinned[op_id] = pinned
        operands = frozenset(f.operand for f in self.plan.fetch.get(op_id, ()) if f.operand)
        return waits_for, take, tuple(release), operands

    def after(self, op_id: int, task: int) -> None:
        """The op runs as ``task``: its produced tensors exist after it, its staged copies are gone after it,
        and its after-actions follow."""
        if op_id in self.rank:
            self.task_of[op_id] = task
        for tensor, tier in self.pinned.pop(op_id, ()):
            self.valid.get(tensor, set()).discard(tier)
        for p in self.plan.produce.get(op_id, ()):
            self.valid.setdefault(p.tensor, set()).add(p.tier)
            self.made_by[p.tensor] = task
        for a in self.plan.after.get(op_id, ()):
            if a.kind == "store":
                self._copy(a.tensor, a.tier, op_id, (task,))
            elif a.kind == "free":
                users = tuple(dict.fromkeys((task, self.made_by.get(a.tensor, task))))
                self.b.add(Task(f"free {a.tensor}@{a.tier}", (), after=users,
                                release=((a.tier, self.size(a.tensor)),), kind="control"))
                self.valid.get(a.tensor, set()).discard(a.tier)
            else:
                raise ValueError(f"unknown after-action {a.kind!r} for op {op_id}")

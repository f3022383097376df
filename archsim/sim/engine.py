"""The SimPy event engine: executes a Schedule on an Arch's engine models.

* each compute engine is a process running its queue of ops in schedule order;
* an op waits for the events of the ops it depends on (dependencies are events);
* a tensor produced on one engine and consumed on another crosses the link between them, if the
  architecture declares one: links are bandwidth resources (one transfer at a time, bytes/bandwidth
  plus latency);
* an op occupies its engine for the cycles its hardware model reports (the model walks the op's
  folds/tiles in a Numba kernel), so there is one event per op and per transfer, never per cycle;
* a Schedule with a memory plan also runs a DMA process that executes the plan's load/store actions
  step by step over the DRAM's bandwidth (one transfer at a time); an op starts only after its step's
  actions are done, and an action that stores or frees a tensor waits for the ops that use it.
  These transfers appear in ``Result.transfers`` on links ``<dram>.load`` and ``<dram>.store``
  (``plan_offchip_bytes`` sums them).
* with a ``tier_plan`` (``archsim.sim.memory_resources.TierPlan``) the architecture's memory tiers
  (``kind: tiers``) are SimPy resources too: tensors start in their home tier, each op waits until the
  tensors it fetches are staged into the tier it needs them in (DMA transfers timed by the cycle-level DRAM
  model), and per-tier transfers and occupancy over time go into ``Result.tier_transfers`` /
  ``Result.tier_occupancy`` (tables: ``Result.tier_traffic``, ``Result.occupancy``).

Simulation time is in cycles of the architecture clock (``Arch.clock_ghz``).
"""
from __future__ import annotations

import math

import simpy

from archsim.config import Arch
from archsim.hw.cost import OpCost
from archsim.mapping import Schedule
from archsim.mapping.tensors import tensor_view
from archsim.sim.result import OpRecord, Result, TransferRecord


class Link:
    """A link as a SimPy resource that carries one transfer at a time."""

    def __init__(self, env: simpy.Environment, name: str, bytes_per_cycle: float, latency_cycles: float):
        self.name = name
        self.resource = simpy.Resource(env, capacity=1)
        self.bytes_per_cycle = bytes_per_cycle
        self.latency_cycles = latency_cycles

    def transfer_cycles(self, n_bytes: int) -> int:
        """Cycles (architecture clock) to move ``n_bytes`` over this link."""
        return math.ceil(n_bytes / self.bytes_per_cycle + self.latency_cycles)


def run_schedule(schedule: Schedule, arch: Arch, engines: dict, costs: dict[int, OpCost],
                 tier_plan=None, tiers=None) -> Result:
    """Execute ``schedule`` with precomputed per-op ``costs`` (op id -> OpCost) and return the Result.

    ``tier_plan`` (optional): a ``TierPlan`` run on ``tiers`` (a ``TierSystem``; default: the
    architecture's ``kind: tiers`` memory)."""
    env = simpy.Environment()
    finished = {e.op.id: env.event() for e in schedule.entries}
    engine_of = {e.op.id: e.engine for e in schedule.entries}
    links = {}
    for name, lp in arch.links.items():
        link = Link(env, name, lp.bandwidth_gbps / arch.clock_ghz, lp.latency_ns * arch.clock_ghz)
        links[(lp.src, lp.dst)] = link
    records: list[OpRecord] = []
    transfers: list[TransferRecord] = []
    ops_by_id = {e.op.id: e.op for e in schedule.entries}

    def move(producer: int, consumer: int, link: Link):
        yield finished[producer]
        with link.resource.request() as grant:
            yield grant
            start = env.now
            n_bytes = ops_by_id[producer].output_bytes
            yield env.timeout(link.transfer_cycles(n_bytes))
            transfers.append(TransferRecord(link.name, producer, consumer, int(start), int(env.now), n_bytes))

    step_ready = _plan_process(env, schedule, arch, finished, transfers) if schedule.memory_plan else {}
    runtime, tier_ready = None, {}
    if tier_plan is not None:
        from archsim.hw.tiers import build_tiers
        from archsim.sim.memory_resources import TierRuntime, start_plan

        runtime = TierRuntime(env, tiers or build_tiers(arch), tier_plan.sizes)
        tier_ready = start_plan(env, runtime, tier_plan, [e.op.id for e in schedule.entries], finished)

    def engine_process(name: str, queue):
        scale = arch.clock_ghz / arch.engine_clock_ghz(name)   # engine cycles -> architecture cycles
        for entry in queue:
            op = entry.op
            waits = [step_ready[op.id]] if op.id in step_ready else []
            if op.id in tier_ready:
                waits.append(tier_ready[op.id])
            for dep in op.deps:
                if dep not in finished:
                    continue
                link = links.get((engine_of[dep], name))
                if engine_of[dep] != name and link is not None:
                    waits.append(env.process(move(dep, op.id, link)))
                else:
                    waits.append(finished[dep])
            if waits:
                yield env.all_of(waits)
            cost = costs[op.id]
            start = env.now
            yield env.timeout(math.ceil(cost.total_cycles * scale))
            records.append(OpRecord(op.id, op.name, op.kind, op.layer, name, int(start), int(env.now),
                                    cost.total_cycles, cost.compute_cycles, cost.stall_cycles, cost.macs,
                                    cost.utilization, cost.mapping_efficiency, cost.folds,
                                    dict(cost.traffic_bytes)))
            finished[op.id].succeed()

    for name in engines:
        queue = schedule.engine_queue(name)
        if queue:
            env.process(engine_process(name, queue))
    env.run()
    unfinished = [op_id for op_id, ev in finished.items() if not ev.triggered]
    if unfinished:
        why = ("a dependency is scheduled after its consumer on the same engine" if runtime is None else
               "a dependency is scheduled after its consumer on the same engine, or a tier allocation waits "
               f"for space that is never freed (tier use at the end: {runtime.used})")
        raise RuntimeError(f"deadlock: ops {unfinished[:5]} never ran ({why})")
    records.sort(key=lambda r: (r.start_cycle, r.op_id))
    peak = {n: getattr(m, "peak_macs_per_cycle", 0) for n, m in engines.items()}
    if runtime is None:
        return Result(arch.name, schedule.trace.name, arch.clock_ghz, tuple(records), tuple(transfers), peak)
    runtime.check_conservation()
    return Result(arch.name, schedule.trace.name, arch.clock_ghz, tuple(records), tuple(transfers), peak,
                  tuple(runtime.transfers), tuple(runtime.occupancy), dict(runtime.capacity))


def plan_dram(arch: Arch) -> str:
    """The off-chip memory a memory plan's transfers use: the first ``kind: dram`` memory of ``arch``."""
    for name, params in arch.memories.items():
        if params.kind == "dram":
            return name
    raise RuntimeError(f"architecture {arch.name!r} has no DRAM to execute a memory plan against")


def _plan_process(env: simpy.Environment, schedule: Schedule, arch: Arch, finished: dict, transfers: list) -> dict:
    """Start the DMA process of ``schedule.memory_plan``; return op id -> event 'its step's actions are done'."""
    from archsim.hw.dram import Dram

    plan = schedule.memory_plan
    dram = plan_dram(arch)
    bytes_per_cycle = Dram(arch.memories[dram]).bytes_per_cycle(arch.clock_ghz)
    weights = any(role == "weight" for _, _, role, _ in plan.tensors)
    view = tensor_view(schedule.trace, include_weights=weights)
    ready = {step.op_id: env.event() for step in plan.steps}
    users: dict[int, list[int]] = {}  # tensor -> ops (so far) that produced or read it

    def dma():
        batches = [(step.op_id, step.actions) for step in plan.steps] + [(None, plan.final_actions)]
        for op_id, actions in batches:
            for action in actions:
                tensor = view.tensor(action.tensor)
                if action.kind in ("store", "free"):
                    pending = [finished[u] for u in users.get(action.tensor, ()) if not finished[u].triggered]
                    if pending:
                        yield env.all_of(pending)
                if action.kind == "free":
                    continue
                start = env.now
                yield env.timeout(math.ceil(tensor.size / bytes_per_cycle))
                transfers.append(TransferRecord(f"{dram}.{action.kind}", -1 if tensor.producer is None
                                                else tensor.producer, -1 if op_id is None else op_id,
                                                int(start), int(env.now), tensor.size))
            if op_id is not None:
                for tid in view.touched(op_id):
                    users.setdefault(tid, []).append(op_id)
                ready[op_id].succeed()

    env.process(dma())
    return ready


def plan_offchip_bytes(result: Result) -> dict[str, int]:
    """Bytes a memory plan moved off-chip in ``result``: ``{"load": …, "store": …}`` (bytes)."""
    out = {"load": 0, "store": 0}
    for t in result.transfers:
        kind = t.link.rsplit(".", 1)[-1]
        if kind in out and t.link.count(".") >= 1:
            out[kind] += t.bytes
    return out

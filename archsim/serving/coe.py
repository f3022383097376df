"""Composition of Experts (CoE) serving: a router picks an expert per prompt; experts live in the slowest
memory tier and are copied into an expert cache in the tier above when needed (SambaNova Samba-CoE,
MICRO'24 §V, §VI-C). Policy only — every router pass, expert copy and expert inference is a task of the one
event engine.

Per batch of ``batch`` prompts (the paper's runtime, §V):

1. the **router** (a model like the experts, its weights always resident) runs a prefill over the batch's
   prompts and assigns each prompt an expert (``routing``: ``distinct`` — the prompts of a batch go to
   different experts, drawn without replacement; ``uniform`` — independent draws; seeded);
2. for each (prompt, expert) pair in turn: if the expert is not in the **expert cache**, it is copied from
   the home tier (DDR on SN40L, host DRAM on a DGX) into the cache tier (HBM) as a DMA task; when the cache
   is full the least recently used expert is evicted first (``ExpertCache``: LRU; read-only weights are
   dropped, not written back). Then the expert runs: a prefill of the prompt and ``output_tokens`` decode
   steps (the KV cache growing), then ``request_overhead_us`` of host work for the request. Each batch
   starts with ``batch_overhead_us`` of host work (receiving it, dispatching the router). Without
   ``overlap_switch`` a copy starts once the previous pair has run (the paper's sequence: route, copy, run);
   with it, copies run ahead on their DMA queue while the cache has room.

The cache tier's free bytes are a token pool of the engine (its occupancy over time is reported): a copy
takes an expert's bytes, an eviction gives them back once the pairs that used the expert have run.

Systems: an architecture with a ``kind: rdu`` engine runs each model as fused kernels
(``archsim.mapping.fusion``) over ``sockets`` sockets in TP; one with a ``kind: gpu`` engine runs each
operator as a kernel (``partition`` mapper) over the GPU's ``devices`` in TP. The trace is one device's
share; each device copies its share of an expert over its own path, unless the copy crosses a link all
devices share (a DGX's one host link: ``host_link_shared_by`` = the GPU's ``devices``), in which case the
link carries every device's share.
"""
from __future__ import annotations

import random
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal

from archsim.errors import ConfigError
from archsim.hw.demand import single_phase
from archsim.hw.tiers import TierCapacityError, build_tiers
from archsim.mapping.program import ProgramBuilder, transfer_demand
from archsim.sim.program import Task, TransferInfo


@dataclass(frozen=True)
class CoEOptions:
    """What a CoE run serves. ``prompt_tokens`` is not stated by the paper (assumed)."""

    experts: int = 150
    batch: int = 8
    output_tokens: int = 20
    prompt_tokens: int = 128
    batches: int = 1
    expert_model: str = "llama2_7b"
    routing: Literal["distinct", "uniform"] = "distinct"
    seed: int = 0
    cache_experts: int | None = None         # expert cache slots; default: as many as the cache tier holds
    warm: bool = False                       # start with the cache full (experts 0..slots-1)
    overlap_switch: bool = False
    context_bucket: int = 64                 # decode traces are built per context rounded up to this
    request_overhead_us: float = 0.0         # host work per (prompt, expert) request (set-up, tokenising, return)
    batch_overhead_us: float = 0.0           # host work per batch before its router runs (receive, dispatch)


class ExpertCache:
    """LRU set of resident experts with a slot count: ``access(e)`` returns (hit, evicted expert or None)."""

    def __init__(self, slots: int, resident: tuple[int, ...] = ()):
        if slots < 1:
            raise ValueError("an expert cache needs at least one slot")
        self.slots = slots
        self._lru: OrderedDict[int, None] = OrderedDict((e, None) for e in resident[:slots])

    def __contains__(self, expert: int) -> bool:
        return expert in self._lru

    @property
    def resident(self) -> tuple[int, ...]:
        """Resident experts, least recently used first."""
        return tuple(self._lru)

    def access(self, expert: int) -> tuple[bool, int | None]:
        if expert in self._lru:
            self._lru.move_to_end(expert)
            return True, None
        evicted = None
        if len(self._lru) >= self.slots:
            evicted, _ = self._lru.popitem(last=False)
        self._lru[expert] = None
        return False, evicted


@dataclass
class CoERun:
    """A CoE run: total and per-batch seconds, per-pair switch and expert seconds, cache statistics."""

    arch: str
    options: CoEOptions
    seconds: float
    batch_seconds: list[float]
    router_seconds: list[float]
    switch_seconds: list[float]               # one per copy
    expert_seconds: list[float]               # one per (prompt, expert) pair
    hits: int
    misses: int
    expert_bytes_per_device: int
    switch_bytes: int                          # bytes one copy moves over its path
    cache_slots: int
    result: object = field(repr=False, default=None)


class _System:
    """How one architecture runs a model: RDU kernels or GPU operators, and where experts live."""

    def __init__(self, arch):
        from archsim.sim.run import build_engines

        self.arch = arch
        self.engines = build_engines(arch)
        kinds = {n: p.kind for n, p in arch.engines.items()}
        self.rdu = next((n for n, k in kinds.items() if k == "rdu"), None)
        self.gpu = next((n for n, k in kinds.items() if k == "gpu"), None)
        if self.rdu is None and self.gpu is None:
            raise ConfigError(arch.source, "engines", "no kind: rdu or kind: gpu engine",
                              expected="an SN40L-like (rdu) or DGX-like (gpu) architecture")
        self.tiers = build_tiers(arch)
        self.home, self.cache = self.tiers.names[-1], self.tiers.names[-2]
        if self.rdu is not None:
            self.devices = arch.engines[self.rdu].sockets
            self.link_shared_by = 1
        else:
            self.devices = arch.engines[self.gpu].devices
            self.link_shared_by = self.devices if self.tiers.link_between(self.home, self.cache) else 1

    def add_model(self, builder: ProgramBuilder, trace, after: tuple[int, ...], continues_program: bool = False) -> int:
        """Tasks running ``trace`` once after ``after``; the last task's index. ``continues_program``: a decode
        step of the generation the previous call started (an RDU's hardware orchestration launches it on chip)."""
        if self.rdu is not None:
            from archsim.mapping.fusion import add_kernels, group_kernels

            model = self.engines[self.rdu]
            kernels = group_kernels(trace, "fused", pcus=model.params.pcus, sram_bytes=model.sram_bytes)
            return add_kernels(builder, kernels, trace, self.rdu, after=after, continues_program=continues_program)[-1]
        from archsim.mapping import MAPPERS

        schedule = MAPPERS["partition"](trace, {self.gpu: self.engines[self.gpu]})
        first = schedule.entries[0].op.id
        op_task = builder.add_schedule(schedule, after={first: after})
        return max(op_task.values())


def _trace(model: str, phase: str, tokens: int, tp: int, batch: int = 1, context: int | None = None):
    from archsim.workload import load_workload

    knobs = [f"phase={phase}", f"seq_len={tokens}", f"tp={tp}", f"batch={batch}"]
    if context is not None:
        knobs.append(f"context={context}")
    return load_workload(model, knobs)


def _param_bytes(trace) -> int:
    """Bytes of a model's parameters on one device (its trace's parameter count × the weights' dtype)."""
    from archsim.workload.graph import DTYPE_BYTES

    return int(trace.total_params * DTYPE_BYTES[trace.ops[0].dtype])


def serve_coe(arch, options: CoEOptions = CoEOptions()) -> CoERun:
    """Serve ``options.batches`` batches of CoE requests on ``arch`` (see module docstring)."""
    from archsim.sim.run import run_program

    o = options
    if (o.batch < 1 or o.batches < 1 or o.output_tokens < 0 or o.experts < 1 or o.request_overhead_us < 0
            or o.batch_overhead_us < 0):
        raise ValueError(f"bad CoE options {o}")
    if o.routing == "distinct" and o.batch > o.experts:
        raise ValueError(f"distinct routing needs batch ≤ experts ({o.batch} > {o.experts})")
    sys = _System(arch)
    prefill = _trace(o.expert_model, "prefill", o.prompt_tokens, sys.devices)
    router = _trace(o.expert_model, "prefill", o.prompt_tokens, sys.devices, batch=o.batch)
    expert_bytes = _param_bytes(prefill)                                   # one device's share
    router_bytes = expert_bytes
    kv_bytes = int(sum(op.kv_cache_bytes for op in _trace(o.expert_model, "decode", o.prompt_tokens, sys.devices,
                                                          context=o.prompt_tokens + o.output_tokens).ops))
    cache_tier = sys.tiers.tier(sys.cache)
    room = cache_tier.capacity_bytes - router_bytes - o.batch * kv_bytes
    fit = room // expert_bytes
    slots = o.cache_experts if o.cache_experts is not None else int(fit)
    if slots < 1 or slots > fit:
        need = router_bytes + o.batch * kv_bytes + max(slots, 1) * expert_bytes
        raise TierCapacityError(f"tier {sys.cache!r} over capacity: router, KV cache and {max(slots, 1)} expert(s) "
                                f"need {need:,} bytes, has {cache_tier.capacity_bytes:,} bytes (short by "
                                f"{need - cache_tier.capacity_bytes:,} bytes)")
    home_tier = sys.tiers.tier(sys.home)
    if o.experts * expert_bytes > home_tier.capacity_bytes:
        need = o.experts * expert_bytes
        raise TierCapacityError(f"tier {sys.home!r} over capacity: {o.experts} experts need {need:,} bytes, has "
                                f"{home_tier.capacity_bytes:,} bytes (short by {need - home_tier.capacity_bytes:,} bytes)")
    rng = random.Random(o.seed)
    cache = ExpertCache(slots, tuple(range(slots)) if o.warm else ())
    builder = ProgramBuilder(arch, sys.engines, prefetch_weights=False)
    pool = f"expert_cache@{sys.cache}"
    builder.chunk.pools[pool] = (slots - len(cache.resident)) * expert_bytes
    builder.chunk.logged_pools[pool] = slots * expert_bytes
    switch_bytes = expert_bytes * sys.link_shared_by
    link = sys.tiers.link_between(sys.home, sys.cache)
    ports = (sys.home, sys.cache) + ((link.name,) if link else ())
    copy_cycles = sys.tiers.transfer_cycles(sys.home, sys.cache, switch_bytes)
    decode_traces: dict[int, object] = {}
    host_cycles = round(o.request_overhead_us * 1e3 * arch.clock_ghz)
    batch_host_cycles = round(o.batch_overhead_us * 1e3 * arch.clock_ghz)
    users: dict[int, list[int]] = {}                 # expert -> tasks that ran it since it was copied
    last = ()
    marks: list[tuple[str, int, int]] = []          # (what, first task, last task)
    hits = misses = 0
    for b in range(o.batches):
        start_mark = builder.add(Task(f"batch {b}", (), after=last, kind="control"))
        r_start = start_mark
        if batch_host_cycles:
            host = builder.add(Task(f"batch {b} host", ("host",), demand=single_phase(batch_host_cycles),
                                    after=(start_mark,), kind="launch"))
            r_start = builder.add(Task(f"router {b}", (), after=(host,), kind="control"))
        r_end = sys.add_model(builder, router, (r_start,))
        marks.append(("router", r_start, r_end))
        if o.routing == "distinct":
            chosen = rng.sample(range(o.experts), o.batch)
        else:
            chosen = [rng.randrange(o.experts) for _ in range(o.batch)]
        prev = (r_end,)
        for p, expert in enumerate(chosen):
            hit, evicted = cache.access(expert)
            gate = prev
            if hit:
                hits += 1
                ready = prev
            else:
                misses += 1
                after_evict = ()
                if evicted is not None:
                    after_evict = (builder.add(Task(f"evict expert {evicted}", (), after=tuple(users.pop(evicted, ())),
                                                    release=((pool, expert_bytes),), kind="control")),)
                copy_after = (r_end,) if o.overlap_switch else gate
                dma = builder.add(Task(f"expert {expert}:{sys.home}->{sys.cache}", (f"dma.{sys.home}->{sys.cache}",),
                                       demand=transfer_demand(switch_bytes, copy_cycles, ports),
                                       after=tuple(dict.fromkeys(copy_after + after_evict)),
                                       wait=((pool, expert_bytes),), kind="transfer",
                                       transfer=TransferInfo(f"{sys.home}->{sys.cache}", sys.home, sys.cache,
                                                             switch_bytes, f"expert{expert}", -1, -1, "tier")))
                marks.append(("switch", dma, dma))
                ready = tuple(dict.fromkeys(prev + (dma,)))
            begin = builder.add(Task(f"pair {b}.{p} expert {expert}", (), after=ready, kind="control"))
            end = sys.add_model(builder, prefill, (begin,))
            for t in range(o.output_tokens):
                ctx = o.prompt_tokens + t + 1
                ctx = -(-ctx // o.context_bucket) * o.context_bucket
                trace = decode_traces.get(ctx)
                if trace is None:
                    trace = decode_traces[ctx] = _trace(o.expert_model, "decode", o.prompt_tokens, sys.devices,
                                                        context=ctx)
                end = sys.add_model(builder, trace, (end,), continues_program=True)
            if host_cycles:
                end = builder.add(Task(f"request {b}.{p} host", ("host",), demand=single_phase(host_cycles),
                                       after=(end,), kind="launch"))
            marks.append(("expert", begin, end))
            users.setdefault(expert, []).append(end)
            prev = (end,)
        last = prev
        marks.append(("batch", start_mark, prev[0]))
    from archsim.sim.engine import Engine
    from archsim.sim.run import arch_ports, result_of

    engine = Engine(arch.clock_ghz, sys.engines, arch_ports(arch))
    engine.extend(builder.take())
    engine.run()
    result = result_of(engine, arch, sys.engines, f"coe_{o.expert_model}", {pool: slots * expert_bytes})
    s = 1.0 / (arch.clock_ghz * 1e9)
    span = lambda a, z: (engine.end_cycle[z] - engine.start_cycle[a]) * s   # noqa: E731
    return CoERun(arch.name, o, engine.now * s,
                  [span(a, z) for w, a, z in marks if w == "batch"],
                  [span(a, z) for w, a, z in marks if w == "router"],
                  [span(a, z) for w, a, z in marks if w == "switch"],
                  [span(a, z) for w, a, z in marks if w == "expert"],
                  hits, misses, expert_bytes, switch_bytes, slots, result)


def footprint_nodes(arch, experts: int, expert_model: str = "llama2_7b", tier: str | None = None) -> int:
    """Nodes of ``arch`` needed to hold ``experts`` experts in ``tier`` (default: the tier experts are served
    from at full speed — the cache tier on a GPU system, the home tier on an RDU), by capacity alone."""
    sys = _System(arch)
    per_device = _param_bytes(_trace(expert_model, "prefill", 128, sys.devices))
    where = tier or (sys.cache if sys.gpu is not None else sys.home)
    per_node = sys.tiers.tier(where).capacity_bytes // per_device
    if per_node < 1:
        raise TierCapacityError(f"tier {where!r} holds no expert: needs {per_device:,} bytes, has "
                                f"{sys.tiers.tier(where).capacity_bytes:,} bytes (short by "
                                f"{per_device - sys.tiers.tier(where).capacity_bytes:,} bytes)")
    return -(-experts // int(per_node))

"""Operator fusion for dataflow accelerators (``kind: rdu``): group a trace's operators into kernels, place
each kernel's operators on PCU/PMU groups as a spatial pipeline, and emit kernel launches and pipelines as
event-engine tasks.

* **Grouping** (``group_kernels``). ``unfused``: one operator per kernel — the SN40L paper's baseline
  (§VI-A1): every intermediate is written to HBM by its producer and read back by its consumer.
  ``fused``: consecutive operators with the same ``layer`` label form one kernel (a decoder layer, the
  backward pass of a layer, FlashFFTConv's whole graph). Its data streams in ``chunks`` pieces (at least
  ``chunks``, doubled up to ``MAX_CHUNKS`` until every stage's double-buffered chunk fits in the PMUs'
  SRAM); a kernel is cut where it would need more stages than the socket has PCUs or its buffers would not
  fit even at ``MAX_CHUNKS``. Inside a kernel,
  intermediates stay in PMUs; only operands from outside (weights, KV cache, the layer input) and outputs
  used outside (or kept, like a KV-cache append) cross HBM.
* **Placement** (``place``): each operator is a stage on its own PCUs and PMUs, PCUs in proportion to the
  stage's compute and PMUs in proportion to the bytes through its buffers (largest remainder, at least
  one each), so the pipeline is balanced as far as integer groups allow.
* **Tasks** (``add_kernels``): per kernel a launch (``kind="launch"``: a fixed per-kernel overhead on the
  host's queue under software orchestration, on the socket's AGCU queue under hardware orchestration — except
  a program's first kernel, which the host launches either way: a one-kernel program takes the same time
  under both, as the paper's FlashFFTConv)
  then one pipeline task (``pipeline_items`` = chunks) whose stages run on the RDU; the engine times it as
  the first chunk's trip through all stages plus the slowest stage per further chunk, and no shorter than
  its tiers' traffic at the shared ports allows. So a kernel lasts max(slowest stage, tier traffic bounds)
  plus its launch — computed by the engine, not here.

``run_kernels`` is the driver: trace → kernels → program → engine → ``FusionRun`` (the Result, the
kernels, the per-kernel time table).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Literal, Sequence

import pandas as pd

from archsim.hw.demand import single_phase
from archsim.hw.tiers import TierCapacityError
from archsim.sim.program import Task
from archsim.trace import Trace, TraceOp
from archsim.trace.kinds import is_matrix, is_zero_cost

Mode = Literal["fused", "unfused"]
DEFAULT_CHUNKS = 128
MAX_CHUNKS = 8192
STAGE_BUFFERS = 2            # each stage double-buffers its chunk in its PMUs


@dataclass(frozen=True)
class Kernel:
    """Operators run as one kernel (one launch), in trace order."""

    name: str
    ops: tuple[TraceOp, ...]
    chunks: int = 1             # pieces its data streams through the pipeline in (1 for a one-op kernel)

    @property
    def ids(self) -> frozenset[int]:
        return frozenset(op.id for op in self.ops)


@dataclass(frozen=True)
class Stage:
    """One operator's placement in its kernel: PCUs, PMUs, bytes of its inputs produced inside the kernel
    (read from PMUs, not HBM), and whether its output stays on chip (every consumer is in the kernel)."""

    op_id: int
    pcus: int
    pmus: int
    onchip_input_bytes: int
    output_onchip: bool

    def as_tuple(self) -> tuple:
        return (self.op_id, self.pcus, self.pmus, self.onchip_input_bytes, self.output_onchip)


def _consumers(trace: Trace) -> dict[int, list[int]]:
    users: dict[int, list[int]] = {}
    for op in trace.ops:
        for d in op.deps:
            users.setdefault(d, []).append(op.id)
    return users


def group_kernels(trace: Trace, mode: Mode, *, pcus: int, sram_bytes: int,
                  chunks: int = DEFAULT_CHUNKS) -> list[Kernel]:
    """The kernels of ``trace`` under ``mode`` (see module docstring); zero-cost ops are dropped."""
    if mode not in ("fused", "unfused"):
        raise ValueError(f"fusion mode {mode!r}: expected 'fused' or 'unfused'")
    ops = [op for op in trace.ops if not is_zero_cost(op.kind)]
    if mode == "unfused":
        return [Kernel(op.name, (op,)) for op in ops]
    kernels: list[Kernel] = []
    group: list[TraceOp] = []

    def chunks_for(members: list[TraceOp]) -> int | None:
        """Fewest chunks (≥ ``chunks``) whose double-buffered stage buffers fit in SRAM, or None."""
        total = sum(op.input_bytes + op.weight_bytes + op.output_bytes for op in members)
        n = chunks
        while STAGE_BUFFERS * total / n > sram_bytes:
            n *= 2
            if n > MAX_CHUNKS:
                return None
        return n

    def close() -> None:
        if group:
            label = group[0].layer or group[0].name
            part = sum(1 for k in kernels if k.name.split("#")[0] == label)
            n = chunks_for(group) if len(group) > 1 else 1
            kernels.append(Kernel(label if part == 0 else f"{label}#{part}", tuple(group), n or MAX_CHUNKS))

    for op in ops:
        if group and (op.layer != group[-1].layer or len(group) >= pcus or chunks_for(group + [op]) is None):
            close()
            group = []
        group.append(op)
    close()
    return kernels


def _stage_work(op: TraceOp, simd_ratio: float) -> float:
    """A stage's compute in PCU-cycles at one MAC per cycle (SIMD work scaled by ``simd_ratio``)."""
    if op.kind == "allreduce":
        return 0.0            # the peer-to-peer network does the work, not PCUs
    if is_matrix(op.kind):
        return float(op.macs)
    return (op.flops or op.dim("elements", 0)) * simd_ratio


def _apportion(weights: Sequence[float], total: int) -> list[int]:
    """``total`` units over ``weights``: one each, the rest by largest remainder in proportion."""
    n = len(weights)
    if n > total:
        raise ValueError(f"{n} stages need more units than the {total} available")
    spare = total - n
    s = sum(weights)
    if s <= 0 or spare == 0:
        return [1 + (spare // n if s <= 0 else 0)] * n
    exact = [w / s * spare for w in weights]
    base = [int(math.floor(e)) for e in exact]
    left = spare - sum(base)
    for i in sorted(range(n), key=lambda i: exact[i] - base[i], reverse=True)[:left]:
        base[i] += 1
    return [1 + b for b in base]


def place(kernel: Kernel, model, consumers: dict[int, list[int]]) -> tuple[Stage, ...]:
    """Stages of ``kernel`` on ``model``'s PCUs and PMUs (see module docstring)."""
    p = model.params
    simd_ratio = model.macs_per_pcu_cycle / p.simd_ops_per_pcu_cycle
    ids = kernel.ids
    by_id = {op.id: op for op in kernel.ops}
    pcus = _apportion([_stage_work(op, simd_ratio) for op in kernel.ops], p.pcus)
    pmus = _apportion([float(op.input_bytes + op.weight_bytes + op.output_bytes) for op in kernel.ops], p.pmus)
    stages = []
    for op, c, m in zip(kernel.ops, pcus, pmus):
        inside = sum(by_id[d].output_bytes for d in op.deps if d in ids)
        users = consumers.get(op.id, [])
        onchip = bool(users) and all(u in ids for u in users) and op.kind != "kv_append"
        stages.append(Stage(op.id, c, m, min(inside, op.input_bytes), onchip))
    return tuple(stages)


def hbm_bytes(kernels: Iterable[Kernel], trace: Trace) -> int:
    """Bytes the kernels move across HBM (reads + writes) by the placement rule — what the engine's records
    of a run with these kernels add up to."""
    users = _consumers(trace)
    total = 0
    for k in kernels:
        ids = k.ids
        by_id = {op.id: op for op in k.ops}
        for op in k.ops:
            inside = min(sum(by_id[d].output_bytes for d in op.deps if d in ids), op.input_bytes)
            u = users.get(op.id, [])
            onchip = bool(u) and all(x in ids for x in u) and op.kind != "kv_append"
            weight = min(op.weight_bytes, op.output_bytes) if op.kind == "embedding" else op.weight_bytes
            total += op.input_bytes - inside + weight + (0 if onchip else op.output_bytes)
    return total


def check_capacity(trace: Trace, arch, tier: str, resident_bytes: int) -> None:
    """TierCapacityError naming ``tier`` and the shortfall when ``resident_bytes`` do not fit in it."""
    from archsim.hw.tiers import build_tiers

    cap = build_tiers(arch).tier(tier).capacity_bytes
    if resident_bytes > cap:
        raise TierCapacityError(f"tier {tier!r} over capacity for {trace.name}: needs {resident_bytes:,} bytes, "
                                f"has {cap:,} bytes (short by {resident_bytes - cap:,} bytes)")


def resident_bytes(trace: Trace) -> int:
    """Bytes a run keeps resident off chip: every weight and the KV cache (per socket)."""
    return int(sum(op.weight_bytes for op in trace.ops) + sum(op.kv_cache_bytes for op in trace.ops))


def add_kernels(builder, kernels: Sequence[Kernel], trace: Trace, engine: str, *,
                orchestration: str | None = None, after: Sequence[int] = (),
                weight_tier: str | None = None, continues_program: bool = False) -> list[int]:
    """Add launch + pipeline tasks for ``kernels`` to ``builder`` (a ``ProgramBuilder``); the kernel task
    indices. Kernels run one after another (each launch waits for the previous kernel), the first after
    ``after``. The kernels are one program: the host launches its first kernel under either orchestration
    (software cost), the AGCUs the rest under hardware orchestration; ``continues_program`` says the kernels
    go on a program already running on chip (a generation's next decode step), so under hardware
    orchestration none is launched by the host."""
    model = builder.engines[engine]
    arch = builder.arch
    how = orchestration or model.params.orchestration
    if how not in ("software", "hardware"):
        raise ValueError(f"orchestration {how!r}: expected 'software' or 'hardware'")
    launch_cycles = math.ceil(model.launch_overhead_ns(how) * arch.clock_ghz - 1e-9)
    host_cycles = math.ceil(model.launch_overhead_ns("software") * arch.clock_ghz - 1e-9)
    launch_queue = "host" if how == "software" else f"{engine}.agcu"
    users = _consumers(trace)
    prev = tuple(after)
    tasks = []
    for i, k in enumerate(kernels):
        stages = place(k, model, users)
        items = k.chunks if len(k.ops) > 1 else 1
        by_host = how == "software" or (i == 0 and not continues_program)
        launch = builder.add(Task(f"launch {k.name}", ("host" if by_host else launch_queue,),
                                  demand=single_phase(host_cycles if by_host else launch_cycles),
                                  after=prev, kind="launch"))
        args = {"stages": tuple(s.as_tuple() for s in stages)}
        if weight_tier is not None:
            args["weight_tier"] = weight_tier
        t = builder.add(Task(k.name, (engine,) * len(k.ops), k.ops, args=args, after=(launch,),
                             pipeline_items=items, kind="compute"))
        tasks.append(t)
        prev = (t,)
    return tasks


@dataclass
class FusionRun:
    """A run of a trace as kernels: the engine's Result, the kernels, and per kernel its start, end and
    launch cycles (``kernel_table``)."""

    result: object
    kernels: list[Kernel]
    mode: str
    orchestration: str
    launch_cycles: int
    hbm: str = "hbm"                 # the RDU's off-chip memory (its ``hbm`` parameter)

    @property
    def seconds(self) -> float:
        return self.result.total_cycles / (self.result.clock_ghz * 1e9)

    @property
    def hbm_bytes(self) -> float:
        """HBM bytes the run's records moved (reads + writes)."""
        ops = self.result.ops
        cols = [c for c in ops.columns if c.startswith(f"bytes.{self.hbm}.")]
        return float(ops[cols].fillna(0).to_numpy().sum()) if cols else 0.0

    def kernel_table(self) -> pd.DataFrame:
        ops = self.result.ops
        names = {op.id: k.name for k in self.kernels for op in k.ops}
        t = ops.assign(kernel=ops["op_id"].map(names))
        g = t.groupby("kernel", sort=False).agg(start=("start_cycle", "min"), end=("end_cycle", "max"),
                                               ops=("op_id", "count"), macs=("macs", "sum"))
        return g.reset_index()


def run_kernels(arch, trace: Trace, mode: Mode = "fused", *, orchestration: str | None = None,
                chunks: int = DEFAULT_CHUNKS, engine: str | None = None, weight_tier: str | None = None,
                continues_program: bool = False) -> FusionRun:
    """Run ``trace`` on ``arch``'s RDU as kernels: the ``rdu_fusion`` mapper's program
    (``archsim.mapping.rdu_fusion``), with its kernels and per-kernel times. Weights and the KV cache must fit
    their tier (``weight_tier``, default HBM): TierCapacityError names the tier and the shortfall.
    ``continues_program``: the trace is a step of a program already running (see ``add_kernels``)."""
    from archsim.mapping.rdu_fusion import map_rdu_fusion
    from archsim.sim.run import build_engines

    engines = build_engines(arch)
    program = map_rdu_fusion(trace, engines, mode=mode, orchestration=orchestration, chunks=chunks, engine=engine,
                             weight_tier=weight_tier, continues_program=continues_program)
    model = engines[program.engine]
    result = program.run(arch)
    how = program.orchestration
    return FusionRun(result, list(program.kernels), mode, how,
                     math.ceil(model.launch_overhead_ns(how) * arch.clock_ghz - 1e-9), model.params.hbm)

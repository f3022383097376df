"""FlightLLM instruction streams on the event engine: programs of per-module queues with wait/release tokens.

A stream is a list of ``archsim.hw.fpga.Instruction`` in program order (from archsim's compiler,
``archsim.mapping.fpga_compile``, or read from the FlightLLM artifact's own instruction dicts by
``read_artifact_stream``). ``stream_program`` turns it into a ``Program``: one in-order queue per module
(``<engine>.LD`` … ``<engine>.SYS``, each answered by the ``fpga_llm`` model), one counting-token pool per
(producer, consumer) module pair, initially empty; an instruction takes one token from every module it
waits for when it starts and gives one to every module it releases when it ends. So a consumer never starts
before its producer's release, and each module runs its own instructions back to back.

**Coalescing** (on by default) is exact: an instruction that waits for nothing starts the moment its module's
previous instruction ends, so a run of such instructions behind one that releases nothing is one task
(their cycles and bytes summed; the first may wait, the last may release). A decode step of LLaMA2-7B has
~104 k instructions and ~25 k tasks. ``coalesce=False`` runs one task per instruction (same times up to
the tick rounding of each task).

**Layers.** A FlightLLM program is a sequence of layers separated by SYS: a layer's first LD waits for the
SYS that waits for the previous layer's last ST, and what ends a layer — its last ST (through SYS) and its
LD queue — depends on that first LD, so a layer starts when the previous one is done and the stream takes the
sum of its layers' times. (One exception does not change that: the artifact's KV-append layer stores the new
K/V without waiting for its own LD, so in the whole stream that ST and its SYS finish before the layer's LD
does and its records start earlier than in a layer-by-layer run; the next layer still waits for the LD queue.) ``run_layers`` therefore runs each *distinct*
layer once on the engine (32 identical decoder layers of LLaMA2-7B: once) and the layers are added up:
``run_stream(layered=True)`` (the default) and ``layered_result`` (the Result ``archsim run`` reports, each
layer's records relabelled with its trace op and shifted to when it runs); ``layered=False`` runs the whole
stream as one program — same totals and per-module busy times (``tests/test_flightllm*.py`` check), ~30x
slower.
"""
from __future__ import annotations

import gzip
import json
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from archsim.errors import ConfigError
from archsim.hw.fpga import MISC_OPS, MODULES, FpgaLlm, Instruction, InstructionRun
from archsim.sim.engine import full_collections_deferred
from archsim.sim.program import Program, Task


def pool(producer: str, consumer: str) -> str:
    """Token pool of ``producer`` releasing ``consumer``."""
    return f"{producer}->{consumer}"


# ---------------------------------------------------------------------------------------------- reading
def artifact_instruction(d: Mapping, source: str = "<stream>") -> Instruction:
    """One instruction from the FlightLLM artifact's instruction dict (``TYPE``, ``WAIT_LIST``,
    ``RELEASE_LIST``, ``PARAM``, ``NOTE`` as its generator emits them)."""
    try:
        m = d["TYPE"]
        if m not in MODULES:
            raise ConfigError(source, "TYPE", "unknown instruction type", value=m, has_value=True,
                              expected=f"one of {MODULES}")
        wait, release = tuple(d.get("WAIT_LIST", ())), tuple(d.get("RELEASE_LIST", ()))
        p, note = d.get("PARAM", {}), d.get("NOTE", {}) or {}
        if m in ("LD", "ST"):
            n = p["1d_length"] * p["1d_loop"] * p.get("2d_loop", 1) * p.get("3d_loop", 1)
            ratio = float(note.get("bandwidth_ratio", 1))
            return Instruction(m, wait, release, bytes=int(n), channels=int(note.get("parallel_channel_num", 1)),
                               cross_channel=bool(note.get("cross_hbm_channel", 0)), hbm_bytes_per_byte=1.0 / ratio,
                               zero_fill=bool(p.get("zero_fill", 0)))
        if m in ("MM", "MV"):
            density = float(note.get("sparse_ratio", 1.0)) if p.get("sparse_flag") else 1.0
            return Instruction(m, wait, release, k_blocks=int(p["K"]), density=density)
        if m == "MISC":
            return Instruction(m, wait, release, k_blocks=int(p["K"]), misc_op=MISC_OPS[p["operation_flag"]],
)
        return Instruction(m, wait, release)
    except KeyError as exc:
        raise ConfigError(source, f"{d.get('TYPE', '?')}.{exc.args[0]}", "missing field of a FlightLLM "
                          "instruction") from None


def read_artifact_stream(source: str | Path | Iterable) -> list[Instruction]:
    """The instructions of a FlightLLM artifact stream: a JSON-lines file (optionally gzipped; one
    instruction dict per line), or the generator's own list of per-layer lists."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        opener = gzip.open if path.suffix == ".gz" else open
        out = []
        with opener(path, "rt") as f:
            for n, line in enumerate(f):
                if line.strip():
                    try:
                        d = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ConfigError(path, f"line {n + 1}", "not a JSON instruction", expected=str(exc)) from None
                    out.append(artifact_instruction(d, str(path)))
        return out
    out = []
    for item in source:
        if isinstance(item, Mapping):
            out.append(artifact_instruction(item))
        else:
            out.extend(artifact_instruction(d) for d in item)
    return out


# ---------------------------------------------------------------------------------------------- programs
def coalesce(stream: list[Instruction]) -> list[tuple[int, InstructionRun]]:
    """(index of its first instruction, run) in program order: each module's maximal runs in which only the
    first instruction waits and only the last releases (module docstring). Runs of different modules keep
    the program order of their first instructions."""
    runs: list[tuple[int, list[Instruction]]] = []
    open_run: dict[str, int] = {}                 # module -> index in runs of its run that may grow
    for i, inst in enumerate(stream):
        k = open_run.get(inst.module)
        if k is not None and not inst.wait:
            runs[k][1].append(inst)
        else:
            runs.append((i, [inst]))
            k = len(runs) - 1
        if inst.release:
            open_run.pop(inst.module, None)
        else:
            open_run[inst.module] = k
    return [(i, InstructionRun(tuple(r))) for i, r in runs]


def stream_program(stream: list[Instruction], engine: str, coalesced: bool = True,
                   sources: Sequence[tuple[int, object]] = ()) -> tuple[Program, list[int]]:
    """The Program of ``stream`` on the modules of FPGA engine ``engine`` and, per task, the index of its
    first instruction. ``sources``: (index of a layer's first instruction, the trace op it computes) in
    order; each task is labelled with the op of the layer its first instruction belongs to (its records
    then name that op)."""
    pools = {pool(a, b): 0 for a in MODULES for b in MODULES if a != b}
    runs = coalesce(stream) if coalesced else [(i, InstructionRun((x,))) for i, x in enumerate(stream)]
    starts = [i for i, _ in sources]
    tasks, first = [], []
    for i, run in runs:
        head, tail = run.instructions[0], run.instructions[-1]
        for w in (*head.wait, *tail.release):
            if w not in MODULES or w == head.module:
                raise ConfigError("<stream>", f"instruction {i}", "bad wait/release module", value=w,
                                  has_value=True, expected=f"another of {MODULES}")
        k = bisect_right(starts, i) - 1
        tasks.append(Task(f"{head.module}#{i}", queues=(f"{engine}.{head.module}",), ops=(run,),
                          wait=tuple((pool(w, head.module), 1) for w in head.wait),
                          release=tuple((pool(tail.module, r), 1) for r in tail.release),
                          source=sources[k][1] if k >= 0 else None))
        first.append(i)
    return Program(tasks=tasks, pools=pools), first


@dataclass
class StreamResult:
    """A stream run on an FPGA design: per module its instruction count and busy seconds, the end-to-end
    seconds, HBM bytes, and (``keep_times``) each task's first instruction index, start and end seconds."""

    instructions: dict[str, int]
    busy_s: dict[str, float]
    total_s: float
    hbm_bytes: float
    hbm_peak_gbps: float
    tasks: int
    times: list[tuple[int, str, float, float]] = field(default_factory=list)

    @property
    def bandwidth_utilization(self) -> float:
        """HBM bytes over (end-to-end time × peak HBM bandwidth)."""
        return self.hbm_bytes / (self.total_s * self.hbm_peak_gbps * 1e9) if self.total_s else 0.0


class _Times:
    """Engine sink keeping every task's name, start, end and queue (``run_stream(keep_times=True)``)."""

    def __init__(self):
        self.times: list[tuple[str, int, int, str]] = []

    def task(self, task, members, start, end):
        self.times.append((task.name, start, end, task.queues[0]))

    def transfer(self, info, start, end):    # streams have no transfer tasks
        pass


class _Discard(_Times):
    """Engine sink keeping nothing (busy time and ports are the engine's own)."""

    def task(self, task, members, start, end):
        pass


@dataclass(frozen=True)
class _Layer:
    """Stand-in op labelling the tasks of a layer run once for all its occurrences (``LayerRun.records``)."""

    name: str = "layer"
    id: int = -1
    kind: str = ""
    layer: str = ""
    dtype: str = ""


LAYER = _Layer()


@dataclass
class LayerRun:
    """Instructions run once on the FPGA's module queues (``engine_for``'s engine; times in its ticks): how
    long (``ticks``), busy ticks per queue, the ports' stats, the tasks, and when asked one record per queue
    (labelled ``LAYER``) or every task's (name, start, end, queue)."""

    ticks: int
    busy: dict[str, int]
    ports: list
    tasks: int
    tick_s: float
    records: list = field(default_factory=list)
    times: list = field(default_factory=list)


def run_instructions(model: FpgaLlm, insts: list[Instruction], coalesced: bool = True, records: bool = False,
                     keep_times: bool = False) -> LayerRun:
    """Run ``insts`` as one program on ``model``'s module queues and HBM port (``archsim.sim.run.engine_for``)."""
    from archsim.sim.result import PortStats
    from archsim.sim.run import engine_for
    from archsim.sim.totals import OpTotals

    program, _ = stream_program(insts, model.name, coalesced, [(0, LAYER)] if records else ())
    queues = model.module_queues()
    engine = engine_for(model.arch, queues)
    engine.sink = OpTotals(engine.engine_scale) if records else _Times() if keep_times else _Discard()
    with full_collections_deferred():
        engine.extend(program)
        engine.run()
    ports = [PortStats(p.name, p.kind, p.bytes_per_cycle, p.bytes_moved, p.busy_cycles, p.held_cycles)
             for p in engine.ports.values()]
    recs = engine.sink.records({q: m.peak_macs_per_cycle for q, m in queues.items()}) if records else []
    return LayerRun(engine.now, dict(engine.busy_cycles), ports, len(program.tasks), 1.0 / (engine.clock_ghz * 1e9),
                    recs, getattr(engine.sink, "times", []))


def split_layers(stream: list[Instruction]) -> list[tuple[int, tuple[Instruction, ...]]]:
    """The stream's SYS-terminated layers with the index of their first instruction (a trailing part
    without SYS is a layer too)."""
    layers, start = [], 0
    for i, inst in enumerate(stream):
        if inst.module == "SYS":
            layers.append((start, tuple(stream[start:i + 1])))
            start = i + 1
    if start < len(stream):
        layers.append((start, tuple(stream[start:])))
    return layers


def run_layers(model: FpgaLlm, stream: list[Instruction], coalesced: bool = True,
               records: bool = False) -> list[tuple[int, LayerRun]]:
    """(first instruction index, run) of every layer of ``stream`` in program order; each *distinct* layer
    runs once on the engine and its occurrences share that run (module docstring: layers never overlap)."""
    seen: dict[tuple[Instruction, ...], LayerRun] = {}
    out = []
    for start, layer in split_layers(stream):
        run = seen.get(layer)
        if run is None:
            # the layer as a program of its own: it starts once the previous layer's SYS is done
            insts = list(layer)
            if insts[0].wait == ("SYS",):
                insts[0] = replace(insts[0], wait=())
            if insts[-1].module == "SYS":
                insts[-1] = replace(insts[-1], release=())
            run = seen[layer] = run_instructions(model, insts, coalesced, records)
        out.append((start, run))
    return out


def run_stream(model: FpgaLlm, stream: list[Instruction], coalesced: bool = True, keep_times: bool = False,
               layered: bool = True) -> StreamResult:
    """Run ``stream`` on the design of ``model`` (one engine, its module queues, its HBM port) and return
    what each module did. ``layered``: run each distinct SYS-delimited layer once and add them up (module
    docstring); ``keep_times`` needs the whole stream (``layered=False``)."""
    counts = Counter(i.module for i in stream)
    instructions = {m: counts.get(m, 0) for m in MODULES}
    hbm = sum(i.hbm_bytes for i in stream)
    if layered and not keep_times:
        runs = [r for _, r in run_layers(model, stream, coalesced)]
    else:
        runs = [run_instructions(model, stream, coalesced, keep_times=keep_times)]
    tick_s = runs[0].tick_s if runs else 0.0
    busy = {m: sum(r.busy.get(f"{model.name}.{m}", 0) for r in runs) * tick_s for m in MODULES}
    times = sorted((int(name.split("#")[1]), q.rsplit(".", 1)[1], s * tick_s, e * tick_s)
                   for r in runs for name, s, e, q in r.times)
    return StreamResult(instructions, busy, sum(r.ticks for r in runs) * tick_s, hbm, model.device.hbm.total_gbps,
                        sum(r.tasks for r in runs), times)


def layered_result(model: FpgaLlm, stream: list[Instruction], sources: Sequence[tuple[int, object]], arch,
                   workload_name: str, coalesced: bool = True):
    """The Result (``archsim.sim.result``) of ``stream`` run layer by layer (``run_layers``): one record per
    (layer, module queue), relabelled with the op ``sources`` gives the layer's first instruction and shifted
    to when the layer runs (an op the compiler cuts into several layers — q, k and v of ``qkv_proj`` — has a
    record per layer, so timelines show when each module was busy); busy time and port traffic summed over
    the layers. Equal to running the whole stream as one program (per (op, queue) once summed)."""
    from archsim.sim.run import assemble_result

    starts = [i for i, _ in sources]
    records, busy, ports, offset = [], Counter(), {}, 0
    for start, run in run_layers(model, stream, coalesced, records=True):
        k = bisect_right(starts, start) - 1
        op = sources[k][1] if k >= 0 and sources[k][1] is not None else LAYER
        for r in run.records:
            records.append(replace(r, op_id=getattr(op, "id", -1), name=op.name, kind=getattr(op, "kind", ""),
                                   layer=getattr(op, "layer", ""), dtype=getattr(op, "dtype", ""),
                                   start_cycle=r.start_cycle + offset, end_cycle=r.end_cycle + offset))
        busy.update(run.busy)
        for p in run.ports:
            acc = ports.get(p.name)
            ports[p.name] = p if acc is None else replace(acc, bytes_moved=acc.bytes_moved + p.bytes_moved,
                                                          busy_cycles=acc.busy_cycles + p.busy_cycles,
                                                          held_cycles=acc.held_cycles + p.held_cycles)
        offset += run.ticks
    return assemble_result(arch, model.module_queues(), workload_name, records, (), list(ports.values()), busy)

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
SYS that waits for the previous layer's last ST, and every instruction of a layer depends, through its
module's queue and its tokens, on that first LD — so layers never overlap and the stream takes the sum of
its layers' times. ``run_stream(layered=True)`` (the default) therefore runs each *distinct* layer once on the
engine (32 identical decoder layers of LLaMA2-7B: once) and adds the layers up; ``layered=False`` runs the
whole stream as one program (same result, ``tests/test_flightllm.py`` checks; 30x slower).
"""
from __future__ import annotations

import gzip
import json
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Mapping

from archsim.errors import ConfigError
from archsim.hw.fpga import MISC_OPS, MODULES, FpgaLlm, Instruction
from archsim.sim.engine import Engine, PortSpec, full_collections_deferred
from archsim.sim.program import Program, Task


@dataclass(frozen=True)
class InstructionRun:
    """Instructions of one module run back to back as one task (see module docstring)."""

    instructions: tuple[Instruction, ...]

    @property
    def module(self) -> str:
        return self.instructions[0].module


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


def stream_program(stream: list[Instruction], engine: str, coalesced: bool = True) -> tuple[Program, list[int]]:
    """The Program of ``stream`` on the modules of FPGA engine ``engine`` and, per task, the index of its
    first instruction."""
    pools = {pool(a, b): 0 for a in MODULES for b in MODULES if a != b}
    runs = coalesce(stream) if coalesced else [(i, InstructionRun((x,))) for i, x in enumerate(stream)]
    tasks, first = [], []
    for i, run in runs:
        head, tail = run.instructions[0], run.instructions[-1]
        for w in (*head.wait, *tail.release):
            if w not in MODULES or w == head.module:
                raise ConfigError("<stream>", f"instruction {i}", "bad wait/release module", value=w,
                                  has_value=True, expected=f"another of {MODULES}")
        tasks.append(Task(f"{head.module}#{i}", queues=(f"{engine}.{head.module}",), ops=(run,),
                          wait=tuple((pool(w, head.module), 1) for w in head.wait),
                          release=tuple((pool(tail.module, r), 1) for r in tail.release)))
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


class _Sums:
    """Engine sink: busy ticks per queue and, optionally, every task's start and end."""

    def __init__(self, keep: bool):
        self.busy: Counter = Counter()
        self.keep = keep
        self.times: list[tuple[str, int, int, str]] = []

    def task(self, task, members, start, end):
        self.busy[task.queues[0]] += end - start
        if self.keep:
            self.times.append((task.name, start, end, task.queues[0]))

    def transfer(self, info, start, end):    # streams have no transfer tasks
        pass


def split_layers(stream: list[Instruction]) -> list[tuple[Instruction, ...]]:
    """The stream's SYS-terminated layers (a trailing part without SYS is a layer too)."""
    layers, start = [], 0
    for i, inst in enumerate(stream):
        if inst.module == "SYS":
            layers.append(tuple(stream[start:i + 1]))
            start = i + 1
    if start < len(stream):
        layers.append(tuple(stream[start:]))
    return layers


def run_stream(model: FpgaLlm, stream: list[Instruction], coalesced: bool = True, keep_times: bool = False,
               layered: bool = True) -> StreamResult:
    """Run ``stream`` on the design of ``model`` (one engine, its module queues, its HBM port) and return
    what each module did. ``layered``: run each distinct SYS-delimited layer once and add them up (module
    docstring); ``keep_times`` needs the whole stream (``layered=False``)."""
    if layered and not keep_times:
        return _run_layered(model, stream, coalesced)
    return _run_whole(model, stream, coalesced, keep_times)


def _run_layered(model: FpgaLlm, stream: list[Instruction], coalesced: bool) -> StreamResult:
    seen: dict[tuple[Instruction, ...], list] = {}
    for layer in split_layers(stream):
        hit = seen.get(layer)
        if hit is None:
            seen[layer] = [1]
        else:
            hit[0] += 1
    busy = dict.fromkeys(MODULES, 0.0)
    total, tasks = 0.0, 0
    for layer, (n,) in seen.items():
        # the layer as a program of its own: it starts once the previous layer's SYS is done
        insts = list(layer)
        if insts[0].wait == ("SYS",):
            insts[0] = replace(insts[0], wait=())
        if insts[-1].module == "SYS":
            insts[-1] = replace(insts[-1], release=())
        r = _run_whole(model, insts, coalesced, False)
        total += n * r.total_s
        tasks += n * r.tasks
        for m in MODULES:
            busy[m] += n * r.busy_s[m]
    counts = Counter(i.module for i in stream)
    return StreamResult({m: counts.get(m, 0) for m in MODULES}, busy, total, sum(i.hbm_bytes for i in stream),
                        model.device.hbm.total_gbps, tasks)


def _run_whole(model: FpgaLlm, stream: list[Instruction], coalesced: bool, keep_times: bool) -> StreamResult:
    program, first = stream_program(stream, model.name, coalesced)
    tick_s = 1.0 / (model.clock_ghz * 1e9)
    ports = {p: PortSpec(gbps / model.clock_ghz) for p, gbps in model.hbm_ports().items()}
    sums = _Sums(keep_times)
    engine = Engine(model.clock_ghz, {f"{model.name}.{m}": model for m in MODULES}, ports, sink=sums)
    with full_collections_deferred():
        engine.extend(program)
        engine.run()
    counts = Counter(i.module for i in stream)
    busy = {m: sums.busy[f"{model.name}.{m}"] * tick_s for m in MODULES}
    times = []
    if keep_times:
        for name, s, e, q in sums.times:
            times.append((int(name.split("#")[1]), q.rsplit(".", 1)[1], s * tick_s, e * tick_s))
        times.sort()
    return StreamResult({m: counts.get(m, 0) for m in MODULES}, busy, engine.now * tick_s,
                        sum(i.hbm_bytes for i in stream), model.device.hbm.total_gbps, len(program.tasks), times)

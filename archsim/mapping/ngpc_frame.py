"""Frames of a neural-graphics app as programs of the event engine: a GPU alone, or a GPU with an NGPC.

A frame (``archsim.workload.frames``) is a sequence of query batches. Each batch is the instant-ngp graph of
its queries (encoding + MLPs) followed by the app's non-accelerated ("rest of") kernels (``REST_KIND``):

* ``system="gpu"``: every op of every batch, then its rest kernels, in order on the GPU's queue;
* ``system="ngpc"``: batch ``b``'s encodings + MLP run fused on the NGPC queue (one task, the cluster's
  ``fused_demand``) and its rest kernels, fused into one kernel (``fused=True``), on the GPU queue after
  it. The NGPC goes on with batch ``b+1`` while the GPU runs the rest of batch ``b`` (the paper's Fig. 10b);
  it runs at most ``buffers`` batches ahead (a token pool of output buffers: a batch takes one when it
  starts on the NGPC, its rest kernel gives it back when it ends).

Neither is a formula: the frame time is when the engine's last task ends; the NGPC's interface and miss
traffic crosses the ``memory`` port of the cluster, shared with everything else on it.
"""
from __future__ import annotations

from dataclasses import dataclass

from archsim.errors import ConfigError
from archsim.hw.gpu_profile import REST_KIND
from archsim.sim.program import Program, Task
from archsim.trace import Trace, TraceOp
from archsim.trace.kinds import is_zero_cost
from archsim.workload.frames import Frame

SYSTEMS = ("gpu", "ngpc")


@dataclass(frozen=True)
class FrameRun:
    """One simulated frame: its time, who was busy how long, and the NGPC interface traffic."""

    system: str
    app: str
    resolution: str
    queries: int
    batches: int
    seconds: float
    gpu_busy_s: float
    gpu_rest_s: float
    ngpc_busy_s: float
    interface_bytes: float

    @property
    def fps(self) -> float:
        """Frames per second at this frame time."""
        return 1.0 / self.seconds

    @property
    def gpu_encoding_mlp_share(self) -> float:
        """Share of the GPU's busy time in encoding and MLP kernels (the paper's Fig. 5 quantity)."""
        return 1.0 - self.gpu_rest_s / self.gpu_busy_s if self.gpu_busy_s else 0.0

    @property
    def interface_gbps(self) -> float:
        """NGPC <-> L2/DRAM traffic over the frame time, GB/s (0 for the GPU alone)."""
        return self.interface_bytes / self.seconds / 1e9


def rest_op(queries: int) -> TraceOp:
    """The rest-of kernels of a batch of ``queries``."""
    return TraceOp(-1, "render.rest", REST_KIND, {"points": queries, "elements": queries}, layer="rest")


def batch_traces(workload: str, frame: Frame) -> list[Trace]:
    """The instant-ngp trace of each batch of ``frame`` (one trace object per distinct batch size)."""
    from archsim.workload import load_workload

    by_size: dict[int, Trace] = {}
    out = []
    for size in frame.batch_sizes():
        if size not in by_size:
            by_size[size] = load_workload(workload, [f"points={size}"])
        out.append(by_size[size])
    return out


def frame_program(frame: Frame, traces: list[Trace], engines: dict, system: str, *, gpu: str = "gpu",
                  ngpc: str = "ngpc", buffers: int = 2) -> Program:
    """The program of one frame (module docstring); ``traces``: one per batch (``batch_traces``)."""
    if system not in SYSTEMS:
        raise ConfigError("frame_program", "system", "unknown system", value=system, has_value=True,
                          expected=f"one of {SYSTEMS}")
    for q in (gpu,) + ((ngpc,) if system == "ngpc" else ()):
        if q not in engines:
            raise ConfigError("frame_program", "engines", f"the architecture has no engine {q!r}",
                              expected=f"an engine named {q!r} (engines: {sorted(engines)})")
    if buffers < 1:
        raise ConfigError("frame_program", "buffers", "needs at least one output buffer", value=buffers,
                          has_value=True, expected=">= 1")
    app_args = {"app": frame.app}
    prog = Program()
    tasks = prog.tasks
    if system == "gpu":
        for b, trace in enumerate(traces):
            for op in trace.ops:
                if not is_zero_cost(op.kind):
                    tasks.append(Task(f"b{b}.{op.name}", (gpu,), (op,), args=app_args, source=op))
            rest = rest_op(trace.ops[0].dim("points"))
            tasks.append(Task(f"b{b}.rest", (gpu,), (rest,), args={**app_args, "fused": False}, source=rest))
        return prog
    cluster = engines[ngpc]
    pool = f"{ngpc}.batch_buffers"
    prog.pools[pool] = buffers
    for b, trace in enumerate(traces):
        ops = [op for op in trace.ops if not is_zero_cost(op.kind)]
        tasks.append(Task(f"b{b}.nfp", (ngpc,), demand=cluster.fused_demand(ops), wait=((pool, 1),)))
        rest = rest_op(trace.ops[0].dim("points"))
        tasks.append(Task(f"b{b}.rest", (gpu,), (rest,), args={**app_args, "fused": True}, after=(len(tasks) - 1,),
                          release=((pool, 1),), source=rest))
    return prog


def simulate_frame(arch, workload: str, frame: Frame, system: str, *, gpu: str = "gpu", ngpc: str = "ngpc",
                   buffers: int = 2) -> FrameRun:
    """Run one frame of ``workload`` on ``arch`` (an Arch) and return its FrameRun."""
    from archsim.sim.run import build_engines, run_program

    engines = build_engines(arch)
    program = frame_program(frame, batch_traces(workload, frame), engines, system, gpu=gpu, ngpc=ngpc,
                            buffers=buffers)
    result = run_program(program, arch, engines, f"{workload}@{frame.resolution}")
    end = max(r.end_cycle for r in result.records)
    seconds = end / (arch.clock_ghz * 1e9)
    busy = result.engine_busy_cycles
    port = engines[ngpc].params.memory if system == "ngpc" else None
    moved = sum(p.bytes_moved for p in result.ports if p.name == port) if port else 0.0
    to_s = 1.0 / (arch.clock_ghz * 1e9)
    rest = sum(r.end_cycle - r.start_cycle for r in result.records if r.engine == gpu and r.kind == REST_KIND)
    return FrameRun(system, frame.app, frame.resolution, frame.queries, frame.batches, seconds,
                    busy.get(gpu, 0) * to_s, rest * to_s, busy.get(ngpc, 0) * to_s, float(moved))

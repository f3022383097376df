"""The batched-decode serving loop as SimPy processes: NPU, PIM and the memory bus are resources.

One device (one tensor-parallel shard of one pipeline stage) serves a batch of requests, one decode
iteration after another. The concurrency is simulated, not assumed:

* ``npu`` (the systolic arrays, as one resource: every GEMM is split over all arrays, its fused LayerNorm /
  GELU / residual epilogue included), ``vec`` (the vector units, for the stand-alone softmax between the
  attention GEMVs, so one sub-batch's softmax does not wait for the other's GEMM),
  ``pim`` (all PIM channels) and ``mem`` (the HBM data bus for ordinary reads/writes) are SimPy
  resources;
* a **weight DMA** process streams each layer's weight matrices from HBM into the on-chip weight buffer
  (a SimPy ``Container`` of bytes) in layer order, in chunks, as far ahead as the buffer allows; a matrix
  stays until every sub-batch has used it (a matrix larger than the buffer is instead streamed by
  each GEMM that uses it, holding ``mem``);
* each **sub-batch** is a process walking the decoder block per layer: LayerNorm + QKV GEMM (NPU) →
  KV-cache write (``mem``) → attention → O-projection, FFN (NPU). Attention is the logit GEMV (PIM) →
  softmax (NPU vector units) → attend GEMV (PIM) where the mappers' partitioner places the attention
  GEMVs on PIM (``archsim.serving.placement``), else two KV-streaming GEMVs on the NPU (holding ``npu``
  and ``mem``). A GEMM starts once its weights start arriving and
  ends no earlier than their last byte;
* PIM modes: **blocked** (single row buffer) — a PIM phase also holds ``mem``, so DMA and KV writes wait
  for it; **dual row buffers** — they run concurrently, the DMA losing the command-bus share PIM commands
  take (``PimCost.ca_fraction``);
* **sub-batch interleaving**: with two sub-batches the two processes contend for the resources, so one
  sub-batch's attention on PIM overlaps the other's GEMMs on the NPU exactly as far as the dependencies
  and resources allow;
* between iterations each request's KV cache grows by a token; finished requests are replaced
  (``archsim.serving.state``).

Time is in nanoseconds (NPU and PIM clocks are converted). When ``sim_layers`` is less than the device's
layers, that many layers are simulated per iteration and the time is scaled by layers / sim_layers (the
layer pipeline is periodic); GPU-style systems run their ops back to back (no concurrency to simulate).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import simpy

from archsim.serving.costs import fused_mha_cycles, neupims_gemm_cycles, pim_attention
from archsim.serving.placement import attention_unit
from archsim.serving.decoder import DecoderShape
from archsim.serving.requests import RequestDist
from archsim.serving.state import BatchState
from archsim.serving.system import ServingSystem


@dataclass(frozen=True)
class ServingOptions:
    """What is served and how: batch, sub-batches (2 = interleaving), channel policy, run length, parallelism."""

    batch: int
    sub_batches: int = 1
    channel_policy: str = "greedy"
    iterations: int = 10
    sim_layers: int | None = None
    tp: int = 1
    pp: int = 1
    warm_up_iterations: int = 0
    seed: int = 0
    dma_chunks: int = 4
    # How an NPU without PIM runs decode attention: "roofline" = max(MACs / array rows, KV bytes / bandwidth)
    # for each of q·K^T and p·V; "fused_mha" = NeuPIMs' npu-only FusedMHA execution (per request, per head,
    # serialised GEMV instructions; see archsim.serving.costs.fused_mha_cycles).
    npu_attention: str = "roofline"
    # How the NPU runs a weight GEMM: "array" = archsim's systolic model, weights prefetched by the DMA
    # process; "neupims_sim" = NeuPIMs' simulator (archsim.serving.costs.neupims_gemm_cycles): weights
    # streamed during the first 128-row pass, later passes compute-only, no prefetch.
    npu_gemm: str = "array"


@dataclass
class ServingResult:
    """What a serving run measured (times in ns; utilisations are fractions of the run)."""

    system: str
    model: str
    options: ServingOptions
    time_ns: float
    tokens: int
    iteration_ns: list[float]
    layers_per_device: int
    sim_layers: int
    npu_busy_ns: float
    pim_busy_ns: float
    mem_busy_ns: float
    npu_macs: float
    npu_peak_macs_per_ns: float
    pim_macs: float
    pim_peak_macs_per_ns: float
    kv_bytes: list[int]
    kv_capacity_bytes: float
    requests_completed: int
    mean_context: float
    events: int
    wall_s: float = 0.0
    attention_unit: str = "npu"     # where the partitioner placed the attention GEMVs ("pim" or "npu")

    @property
    def scale(self) -> float:
        """Device layers per simulated layer (time multiplier)."""
        return self.layers_per_device / self.sim_layers

    @property
    def device_time_ns(self) -> float:
        """Simulated time scaled to all of the device's layers, ns."""
        return self.time_ns * self.scale

    @property
    def tokens_per_s(self) -> float:
        """Generated tokens per second of one pipeline stage kept full (TP×PP devices serving one batch)."""
        return self.tokens / (self.device_time_ns * 1e-9) if self.time_ns else 0.0

    @property
    def npu_utilization(self) -> float:
        """NPU MACs / (peak MACs over the run)."""
        return self.npu_macs / (self.npu_peak_macs_per_ns * self.time_ns) if self.time_ns and self.npu_peak_macs_per_ns else 0.0

    @property
    def pim_utilization(self) -> float:
        """PIM MACs / (all PIM multipliers over the run)."""
        return self.pim_macs / (self.pim_peak_macs_per_ns * self.time_ns) if self.time_ns and self.pim_peak_macs_per_ns else 0.0

    @property
    def npu_busy_fraction(self) -> float:
        return self.npu_busy_ns / self.time_ns if self.time_ns else 0.0

    @property
    def pim_busy_fraction(self) -> float:
        return self.pim_busy_ns / self.time_ns if self.time_ns else 0.0

    def summary(self) -> dict:
        """Scalar results as a flat dict (for tables)."""
        return {"system": self.system, "model": self.model, "batch": self.options.batch,
                "sub_batches": self.options.sub_batches, "iterations": len(self.iteration_ns),
                "tokens_per_s": self.tokens_per_s, "ms_per_iteration": self.device_time_ns / max(1, len(self.iteration_ns)) / 1e6,
                "npu_util": self.npu_utilization, "pim_util": self.pim_utilization,
                "npu_busy": self.npu_busy_fraction, "pim_busy": self.pim_busy_fraction,
                "mean_context": self.mean_context, "peak_kv_gib": max(self.kv_bytes, default=0) / 2**30,
                "events": self.events, "wall_s": self.wall_s, "attention_unit": self.attention_unit}


@dataclass
class _Load:
    started: simpy.Event
    done: simpy.Event
    users: int
    n_bytes: int


@dataclass
class _Busy:
    """Accumulated busy time of a resource."""

    ns: float = 0.0
    active_since: float | None = None
    depth: int = 0

    def enter(self, now: float) -> None:
        if self.depth == 0:
            self.active_since = now
        self.depth += 1

    def leave(self, now: float) -> None:
        self.depth -= 1
        if self.depth == 0:
            self.ns += now - self.active_since


def serve(system: ServingSystem, shape: DecoderShape, dist: RequestDist, options: ServingOptions,
          snapshot: tuple | None = None) -> ServingResult:
    """Simulate ``options.iterations`` decode iterations of ``options.batch`` requests on ``system``.

    ``snapshot = (contexts, channels)`` starts from those KV lengths and PIM channels instead of a
    sampled, warmed-up batch (``options.batch`` must equal their length; nobody finishes during the run)."""
    wall0 = time.perf_counter()
    if options.batch % options.sub_batches:
        raise ValueError(f"batch {options.batch} does not split into {options.sub_batches} sub-batches")
    if options.npu_attention not in ("roofline", "fused_mha"):
        raise ValueError(f"npu_attention {options.npu_attention!r}: expected 'roofline' or 'fused_mha'")
    if options.npu_gemm not in ("array", "neupims_sim"):
        raise ValueError(f"npu_gemm {options.npu_gemm!r}: expected 'array' or 'neupims_sim'")
    layers_dev = max(1, math.ceil(shape.layers / options.pp))
    sim_layers = min(layers_dev, options.sim_layers or layers_dev)
    rng = np.random.default_rng(options.seed)
    channels = system.pim.channels if system.pim is not None else 1
    if snapshot is None:
        state = BatchState(dist, options.batch, options.sub_batches, channels, options.channel_policy, rng)
        state.warm_up(options.warm_up_iterations)
    else:
        if len(snapshot[0]) != options.batch:
            raise ValueError(f"snapshot holds {len(snapshot[0])} requests, options.batch is {options.batch}")
        placed = snapshot[1] if system.pim is not None else np.zeros(len(snapshot[0]), np.int64)  # no PIM: no channels
        state = BatchState.from_snapshot(dist, snapshot[0], placed, options.sub_batches, channels,
                                         options.channel_policy, rng, remaining=options.iterations + 1)
    unit = attention_unit(system, shape.model, shape.tp, options.batch // options.sub_batches,
                          float(state.context.mean()) + 1.0)
    env = simpy.Environment()
    sim = _Simulation(env, system, shape, state, options, sim_layers, attention_on_pim=unit == "pim")
    sim.start()
    env.run()
    if not sim.finished:
        raise RuntimeError("serving simulation stopped early (deadlock between sub-batches and the weight DMA)")
    return ServingResult(
        system=system.name, model=shape.model, options=options, time_ns=float(env.now),
        tokens=options.batch * options.iterations, iteration_ns=sim.iteration_ns, layers_per_device=layers_dev,
        sim_layers=sim_layers, npu_busy_ns=sim.npu_busy.ns, pim_busy_ns=sim.pim_busy.ns, mem_busy_ns=sim.mem_busy.ns,
        npu_macs=sim.npu_macs, npu_peak_macs_per_ns=system.npu_peak_macs_per_ns, pim_macs=sim.pim_macs,
        pim_peak_macs_per_ns=system.pim_peak_macs_per_ns, kv_bytes=sim.kv_bytes,
        kv_capacity_bytes=system.memory_capacity_bytes - shape.layer_weight_bytes * layers_dev,
        requests_completed=state.completed, mean_context=float(np.mean(sim.contexts)) if sim.contexts else 0.0,
        events=sim.events, wall_s=time.perf_counter() - wall0, attention_unit=unit)


class _Simulation:
    """The processes of one serving run (see module docstring)."""

    def __init__(self, env, system: ServingSystem, shape: DecoderShape, state: BatchState,
                 options: ServingOptions, sim_layers: int, attention_on_pim: bool):
        self.env, self.sys, self.shape, self.state, self.opt = env, system, shape, state, options
        self.attention_on_pim = attention_on_pim
        self.sim_layers = sim_layers
        self.npu = simpy.Resource(env, 1)
        self.pim = simpy.Resource(env, 1)
        self.mem = simpy.Resource(env, 1)
        self.vec = simpy.Resource(env, 1)   # the arrays' SIMD vector units, free while the arrays run a GEMM
        cap = max(1, system.weight_buffer_bytes)
        self.buffer = simpy.Container(env, capacity=cap, init=cap)
        # a matrix that fits in the buffer is loaded once and shared by the sub-batches (the DMA then
        # waits for buffer space, so the simulation shows whether the reuse distance allows it)
        self.shared = ([g.weight_bytes <= cap and options.npu_gemm == "array" for g in shape.gemms]
                       if system.kind == "npu" else [])
        self.loads: dict[tuple[int, int, int], _Load] = {}
        self.npu_busy, self.pim_busy, self.mem_busy = _Busy(), _Busy(), _Busy()
        self.pim_ca = 0.0          # command-bus share of the PIM phase running now (0 when idle)
        self.npu_macs = 0.0
        self.pim_macs = 0.0
        self.iteration_ns: list[float] = []
        self.kv_bytes: list[int] = []
        self.contexts: list[float] = []
        self.events = 0
        self.finished = False
        self._iter_done = [0] * options.iterations
        self._iter_start = 0.0
        self._barrier: dict[int, simpy.Event] = {}

    # ------------------------------------------------------------------ helpers
    def _mem_ns(self, n_bytes: float) -> float:
        return n_bytes / self.sys.memory_bytes_per_ns

    def _hold(self, busy: _Busy, ns: float):
        busy.enter(self.env.now)
        self.events += 1
        yield self.env.timeout(ns)
        busy.leave(self.env.now)

    def _transfer(self, n_bytes: float):
        """An ordinary HBM transfer (KV write, DMA chunk) on ``mem``; slowed by a concurrent PIM phase."""
        with self.mem.request() as req:
            yield req
            ns = self._mem_ns(n_bytes)
            if self.pim_ca > 0:
                ns /= max(1e-6, 1.0 - self.pim_ca)
            yield from self._hold(self.mem_busy, ns)

    def _load(self, key: tuple[int, int, int], n_bytes: int) -> _Load:
        """The (lazily created) load record of a weight matrix, shared by the DMA and the sub-batches."""
        load = self.loads.get(key)
        if load is None:
            load = self.loads[key] = _Load(self.env.event(), self.env.event(), self.opt.sub_batches, n_bytes)
        return load

    # ------------------------------------------------------------------ processes
    def start(self) -> None:
        if self.sys.kind == "npu":
            self.env.process(self._weight_dma())
        for sb in range(self.opt.sub_batches):
            self.env.process(self._sub_batch(sb))

    def _weight_dma(self):
        chunks = max(1, self.opt.dma_chunks)
        for it in range(self.opt.iterations):
            for layer in range(self.sim_layers):
                for gi, g in enumerate(self.shape.gemms):
                    if not self.shared[gi]:
                        continue
                    load = self._load((it, layer, gi), g.weight_bytes)
                    yield self.buffer.get(g.weight_bytes)
                    for c in range(chunks):
                        if c == 0:
                            load.started.succeed()
                        yield from self._transfer(g.weight_bytes / chunks)
                    load.done.succeed()

    def _gemm(self, it: int, layer: int, gi: int, m: int, vector_ns: float):
        """One weight GEMM (plus its fused vector work) of ``m`` rows on the NPU."""
        g = self.shape.gemms[gi]
        compute_ns = self.sys.npu_ns(self.sys.npu.gemm_cycles(m, g)) + vector_ns
        self.npu_macs += m * g.n * g.k
        if self.shared[gi]:
            load = self._load((it, layer, gi), g.weight_bytes)
            yield load.started
            with self.npu.request() as req:
                yield req
                yield from self._hold(self.npu_busy, compute_ns)
                if not load.done.triggered:
                    yield load.done
            load.users -= 1
            if load.users == 0:
                del self.loads[(it, layer, gi)]
                yield self.buffer.put(load.n_bytes)
        elif self.opt.npu_gemm == "neupims_sim":
            # NeuPIMs' npu-only branch has the SystolicWS core (a PRELOAD waits), the PIM branches NeuPIMSystolicWS
            first, rest = neupims_gemm_cycles(m, g, self.sys.npu, preload_waits=self.sys.pim is None)
            stream_ns = g.weight_bytes / self.sys.stream_bytes_per_ns
            with self.npu.request() as req:
                yield req
                with self.mem.request() as mreq:       # first pass: weights stream in while it computes
                    yield mreq
                    self.mem_busy.enter(self.env.now)
                    yield from self._hold(self.npu_busy, max(self.sys.npu_ns(first), stream_ns))
                    self.mem_busy.leave(self.env.now)
                yield from self._hold(self.npu_busy, self.sys.npu_ns(rest) + vector_ns)
        else:   # streamed: this GEMM reads its own weights through the memory bus
            with self.npu.request() as req:
                yield req
                with self.mem.request() as mreq:
                    yield mreq
                    ns = max(compute_ns, self._mem_ns(g.weight_bytes))
                    self.mem_busy.enter(self.env.now)
                    yield from self._hold(self.npu_busy, ns)
                    self.mem_busy.leave(self.env.now)

    def _pim_phase(self, cost):
        ns = cost.cycles / self.sys.pim.clock_ghz
        self.pim_macs += cost.macs
        with self.pim.request() as req:
            yield req
            if self.sys.pim.params.row_buffers == "single":
                with self.mem.request() as mreq:     # blocked: no ordinary access meanwhile
                    yield mreq
                    self.mem_busy.enter(self.env.now)
                    yield from self._hold(self.pim_busy, ns)
                    self.mem_busy.leave(self.env.now)
            else:
                self.pim_ca = cost.ca_fraction
                yield from self._hold(self.pim_busy, ns)
                self.pim_ca = 0.0

    def _npu_attention(self, compute_cycles: float, macs: float, kv_bytes: float):
        """NPU-side attention: NPU and memory are held together for max(compute, KV-cache stream).

        ``compute_cycles`` is the roofline GEMV time or NeuPIMs' FusedMHA time (softmax included)."""
        ns = max(self.sys.npu_ns(compute_cycles), self._mem_ns(kv_bytes))
        self.npu_macs += macs
        with self.npu.request() as req:
            yield req
            with self.mem.request() as mreq:
                yield mreq
                self.mem_busy.enter(self.env.now)
                yield from self._hold(self.npu_busy, ns)
                self.mem_busy.leave(self.env.now)

    def _vector(self, ns: float):
        """Stand-alone vector work (attention softmax) on the vector units, beside the arrays."""
        with self.vec.request() as req:
            yield req
            yield from self._hold(self.npu_busy, ns)

    def _sub_batch(self, sb: int):
        shape, sys = self.shape, self.sys
        slots = self.state.slots_of(sb)
        m = slots.size
        hidden_dev = shape.heads * shape.head_dim
        for it in range(self.opt.iterations):
            context = self.state.context[slots] + 1      # the new token attends to itself
            self.contexts.append(float(context.mean()))
            tokens = float(context.sum())
            att_macs = 2.0 * tokens * shape.heads * shape.head_dim
            kv_read = tokens * shape.kv_bytes_per_token_layer
            kv_write = m * shape.kv_bytes_per_token_layer
            if self.attention_on_pim:
                att = pim_attention(sys.pim, shape, context, self.state.channel[slots])
            fused = sys.kind == "npu" and not self.attention_on_pim and self.opt.npu_attention == "fused_mha"
            if fused:
                p = sys.npu.array.params
                fused_cycles, _ = fused_mha_cycles(
                    context, shape.heads, shape.head_dim, shape.word_bytes, p.rows, p.cols,
                    sys.npu.vector_unit_lanes or sys.npu.vector_lanes,
                    sys.memory_bytes_per_ns / sys.npu_clock_ghz)
            ln_ns = sys.npu_ns(sys.npu.vector_cycles(m * shape.hidden, 5)) if sys.kind == "npu" else 0.0
            softmax_ns = sys.npu_ns(sys.npu.vector_cycles(tokens * shape.heads, 5)) if sys.kind == "npu" else 0.0
            resid_ns = sys.npu_ns(sys.npu.vector_cycles(m * shape.hidden, 1)) if sys.kind == "npu" else 0.0
            gelu_ns = sys.npu_ns(sys.npu.vector_cycles(m * shape.gemms[2].n, 8)) if sys.kind == "npu" else 0.0
            for layer in range(self.sim_layers):
                if sys.kind == "gpu":
                    yield from self._gpu_layer(m, tokens, kv_read, kv_write, hidden_dev)
                    continue
                yield from self._gemm(it, layer, 0, m, ln_ns)                       # LN + QKV
                yield from self._transfer(kv_write)                                  # append K, V
                if self.attention_on_pim:
                    yield from self._pim_phase(att.logit)
                    yield from self._vector(softmax_ns)
                    yield from self._pim_phase(att.attend)
                elif fused:
                    yield from self._npu_attention(fused_cycles, att_macs, kv_read)
                else:
                    gemv_cycles = sys.npu.gemv_compute_cycles(att_macs / 2)
                    yield from self._npu_attention(gemv_cycles, att_macs / 2, kv_read / 2)
                    yield from self._vector(softmax_ns)
                    yield from self._npu_attention(gemv_cycles, att_macs / 2, kv_read / 2)
                yield from self._gemm(it, layer, 1, m, resid_ns)                    # O-proj + residual
                yield from self._gemm(it, layer, 2, m, ln_ns + gelu_ns)             # LN + FC1 + GELU
                yield from self._gemm(it, layer, 3, m, resid_ns)                    # FC2 + residual
            self.state.step(slots)
            self._iteration_barrier(it)

    def _iteration_barrier(self, it: int):
        """Record iteration times (the last sub-batch to finish an iteration closes it)."""
        self._iter_done[it] += 1
        if self._iter_done[it] == self.opt.sub_batches:
            now = self.env.now
            self.iteration_ns.append(now - self._iter_start)
            self._iter_start = now
            self.kv_bytes.append(int(self.state.context.sum()) * self.shape.kv_bytes_per_token_layer
                                 * max(1, math.ceil(self.shape.layers / self.opt.pp)))
            if it == self.opt.iterations - 1:
                self.finished = True

    def _gpu_layer(self, m: int, tokens: float, kv_read: float, kv_write: float, hidden_dev: int):
        gpu, shape = self.sys.gpu, self.shape
        wb = shape.word_bytes
        ns = 0.0
        act = m * shape.hidden * wb
        ns += gpu.op_time_ns(m * shape.hidden * 5, 2 * act)                     # LayerNorm
        for g in shape.gemms:
            ns += gpu.op_time_ns(2.0 * m * g.n * g.k, g.weight_bytes + m * (g.n + g.k) * wb)
        ns += gpu.op_time_ns(0, 2 * kv_write)                                    # KV append
        att_flops = 2.0 * 2.0 * tokens * shape.heads * shape.head_dim
        ns += 2 * gpu.op_time_ns(att_flops / 2, kv_read / 2)                    # QK^T, ·V
        ns += gpu.op_time_ns(tokens * shape.heads * 5, 2 * tokens * shape.heads * wb)  # softmax
        ns += gpu.op_time_ns(m * shape.hidden * 8, 2 * m * shape.gemms[2].n * wb)     # GELU
        ns += 3 * gpu.op_time_ns(m * shape.hidden * 2, 3 * act)                # residuals, LN
        self.npu_macs += sum(m * g.n * g.k for g in shape.gemms) + att_flops / 2
        with self.npu.request() as req:
            yield req
            yield from self._hold(self.npu_busy, ns)

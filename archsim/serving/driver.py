"""``serve``: LLM serving as a driver on the one event engine — policy here, timing in the engine.

Every iteration the driver

1. takes the live batch (``archsim.serving.state``: per-request KV lengths, PIM channel of each request's KV
   cache, sub-batch of each slot),
2. has the workload frontend lower the decode step for those lengths (``archsim.workload.decode``),
3. has the decode mapper turn it into tasks (``archsim.mapping.decode``: placement by the partitioner,
   spreading over units, weight prefetch, KV append, sub-batch interleaving),
4. hands them to the event engine (``archsim.sim.engine``), which runs at most two iterations at a time
   (iteration k+1 is added once iteration k-1 has ended), and
5. grows every request's KV cache by a token, replacing finished requests (continuous batching).

Nothing here keeps time: iteration times, busy cycles and traffic all come from the engine. One device
(one tensor-parallel shard of one pipeline stage) is simulated; with ``sim_layers`` below its layer count
that many layers are simulated per iteration and times are scaled by layers / sim_layers (the layer
pipeline is periodic). Throughput counts one pipeline stage kept full (TP × PP devices serving one batch).
"""
from __future__ import annotations

import difflib
import math
import time
from dataclasses import dataclass, fields
from typing import Any, Mapping

import numpy as np
import pandas as pd

from archsim.config import Arch
from archsim.errors import ConfigError
from archsim.sim.result import Result
from archsim.sim.totals import OpTotals

CHANNEL_POLICIES = ("greedy", "round_robin")


@dataclass(frozen=True)
class ServingOptions:
    """What is served and how: batch, sub-batches (2 = interleaving), channel policy, run length, parallelism.

    ``weight_prefetch``: stream weights into the arrays' weight buffer ahead of their GEMMs (else each GEMM
    streams its own); ``blocks_only``: simulate only the decoder blocks (no embedding / LM head); ``dtype``:
    the element type of weights and activations (default: the model's)."""

    batch: int
    sub_batches: int = 1
    channel_policy: str = "greedy"
    iterations: int = 10
    sim_layers: int | None = None
    tp: int = 1
    pp: int = 1
    warm_up_iterations: int = 0
    seed: int = 0
    weight_prefetch: bool = True
    blocks_only: bool = False
    dtype: str | None = None

    def check(self, source: str = "serving options", prefix: str = "") -> None:
        """ConfigError naming the option that is out of range (``source``/``prefix`` locate it)."""
        def bad(name, expected):
            raise ConfigError(source, f"{prefix}{name}", "bad value", value=getattr(self, name), has_value=True,
                              expected=expected)

        for name in ("batch", "sub_batches", "iterations", "tp", "pp"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                bad(name, "an integer >= 1")
        if self.batch % self.sub_batches:
            bad("sub_batches", f"a divisor of the batch ({self.batch}): the sub-batches split it equally")
        if self.channel_policy not in CHANNEL_POLICIES:
            bad("channel_policy", f"one of {CHANNEL_POLICIES}")
        if self.sim_layers is not None and (not isinstance(self.sim_layers, int) or self.sim_layers < 1):
            bad("sim_layers", "an integer >= 1 (or unset: every layer)")
        if not isinstance(self.warm_up_iterations, int) or self.warm_up_iterations < 0:
            bad("warm_up_iterations", "an integer >= 0")
        for name in ("weight_prefetch", "blocks_only"):
            if not isinstance(getattr(self, name), bool):
                bad(name, "true or false")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "serving options",
                     prefix: str = "") -> "ServingOptions":
        """Options from a mapping of field names (a sweep file's ``serve:`` section); unknown keys and bad
        values are ConfigErrors naming ``source`` and the key."""
        known = [f.name for f in fields(cls)]
        for key in data:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                raise ConfigError(source, f"{prefix}{key}", "unknown serving option" +
                                  (f" (did you mean {close[0]!r}?)" if close else ""), expected=f"one of {known}")
        if "batch" not in data:
            raise ConfigError(source, f"{prefix}batch", "missing key", expected="the number of requests served")
        options = cls(**dict(data))
        options.check(source, prefix)
        return options


@dataclass
class ServingResult:
    """What a serving run measured. Times in ns of the simulated layers (``device_time_ns`` scales them to the
    whole device); ``result`` holds per-op records summed over all iterations (energy accounting reads it)."""

    system: str
    model: str
    options: ServingOptions
    time_ns: float
    tokens: int
    iterations: pd.DataFrame
    layers_per_device: int
    sim_layers: int
    result: Result
    kv_capacity_bytes: float
    requests_completed: int
    attention_unit: str
    engine_kinds: dict[str, str]
    wall_s: float = 0.0
    events: int = 0

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
        """Generated tokens per second of one pipeline stage kept full."""
        return self.tokens / (self.device_time_ns * 1e-9) if self.time_ns else 0.0

    @property
    def iteration_ns(self) -> list[float]:
        """Simulated ns of each iteration (of the simulated layers)."""
        return list(self.iterations.ns)

    @property
    def mean_context(self) -> float:
        """Mean KV length attended over all iterations (tokens, the new one included)."""
        return float(self.iterations.mean_context.mean()) if len(self.iterations) else 0.0

    @property
    def kv_bytes(self) -> list[int]:
        """KV-cache bytes of the live batch after each iteration (whole device, all its layers)."""
        return [int(x) for x in self.iterations.kv_bytes]

    @property
    def ops(self) -> pd.DataFrame:
        """One row per op of the decode step and engine, summed over iterations and sub-batches: ``runs``
        (how many times it ran), its cycles (engine clock), MACs and bytes per memory; first start and last
        end in architecture cycles."""
        df = self.result.ops.rename(columns={"folds": "runs"}).drop(columns=["mapping_efficiency"])
        return df

    @property
    def units(self) -> pd.DataFrame:
        """One row per engine: its kind, busy fraction and MAC utilisation over the run."""
        comps = self.result.components
        eng = comps[comps.type == "engine"].copy()
        eng.insert(1, "kind", [self.engine_kinds.get(c, "") for c in eng.component])
        return eng[["component", "kind", "ops", "busy_cycles", "busy_fraction", "macs", "mac_utilization"]]

    def _engines(self, kinds: tuple[str, ...]) -> pd.DataFrame:
        """The component rows of the engines of ``kinds``."""
        comps = self.result.components
        return comps[(comps.type == "engine") & comps.component.map(lambda c: self.engine_kinds.get(c) in kinds)]

    def utilization(self, kinds: tuple[str, ...]) -> float:
        """MACs of the engines of ``kinds`` / (their peak MACs over the run)."""
        sel = self._engines(kinds)
        peak = sum(self.result.engine_peak_macs_per_cycle.get(c, 0.0) for c in sel.component)
        span = self.result.total_cycles
        return float(sel.macs.sum()) / (peak * span) if peak and span else 0.0

    def busy_fraction(self, kinds: tuple[str, ...]) -> float:
        """Mean busy fraction of the engines of ``kinds``."""
        sel = self._engines(kinds)
        return float(sel.busy_fraction.mean()) if len(sel) else 0.0

    @property
    def npu_utilization(self) -> float:
        """MAC utilisation of the NPU (systolic arrays) or of the GPU/CPU baseline."""
        return self.utilization(("systolic", "gpu", "cpu"))

    @property
    def pim_utilization(self) -> float:
        """PIM MACs / (all PIM multipliers over the run)."""
        return self.utilization(("pim",))

    @property
    def npu_busy_fraction(self) -> float:
        return self.busy_fraction(("systolic", "gpu", "cpu"))

    @property
    def pim_busy_fraction(self) -> float:
        return self.busy_fraction(("pim",))

    @property
    def pim_macs(self) -> float:
        """MACs the PIM devices did."""
        return float(self._engines(("pim",)).macs.sum())

    def summary(self) -> dict:
        """Scalar results as a flat, JSON-ready dict."""
        return {"system": self.system, "model": self.model, "batch": self.options.batch,
                "sub_batches": self.options.sub_batches, "iterations": len(self.iterations),
                "tokens_per_s": self.tokens_per_s,
                "ms_per_iteration": self.device_time_ns / max(1, len(self.iterations)) / 1e6,
                "npu_util": self.npu_utilization, "pim_util": self.pim_utilization,
                "npu_busy": self.npu_busy_fraction, "pim_busy": self.pim_busy_fraction,
                "mean_context": self.mean_context, "peak_kv_gib": max(self.kv_bytes, default=0) / 2**30,
                "requests_completed": self.requests_completed, "attention_unit": self.attention_unit,
                "layers_per_device": self.layers_per_device, "sim_layers": self.sim_layers,
                "events": self.events, "wall_s": self.wall_s}


def serve(arch: Arch, model: str, dist, options: ServingOptions, snapshot: tuple | None = None) -> ServingResult:
    """Simulate ``options.iterations`` decode iterations of ``options.batch`` requests of zoo model ``model`` on
    ``arch``, requests drawn from ``dist`` (``archsim.serving.requests``).

    ``snapshot = (contexts, channels)`` starts from those KV lengths and PIM channels instead of a sampled,
    warmed-up batch (``options.batch`` must equal their length; nobody finishes during the run)."""
    from archsim.mapping.decode import DecodeMapper
    from archsim.serving.state import BatchState
    from archsim.sim.engine import Engine, full_collections_deferred
    from archsim.sim.run import arch_ports, build_engines, engine_clocks
    from archsim.workload.decode import DecodeStep

    wall0 = time.perf_counter()
    options.check()
    engines = build_engines(arch)
    layers_total = _model_layers(model)
    layers_dev = max(1, math.ceil(layers_total / options.pp))
    sim_layers = min(layers_dev, options.sim_layers or layers_dev)
    overrides = [f"tp={options.tp}", f"layers={sim_layers}"] + ([f"dtype={options.dtype}"] if options.dtype else [])
    if options.blocks_only or options.pp > 1 or sim_layers < layers_dev:
        overrides.append("blocks_only=true")    # a scaled or middle-stage run has no embedding / LM head
    steps: dict[int, DecodeStep] = {}

    def step_of(size: int) -> DecodeStep:
        if size not in steps:
            steps[size] = DecodeStep(model, size, overrides)
        return steps[size]

    placing = [m for m in engines.values() if getattr(m, "kv_channels", 0)]    # engines that place KV caches
    channels = placing[0].kv_channels if placing else 1
    rng = np.random.default_rng(options.seed)
    if snapshot is None:
        state = BatchState(dist, options.batch, options.sub_batches, channels, options.channel_policy, rng)
        state.warm_up(options.warm_up_iterations)
    else:
        if len(snapshot[0]) != options.batch:
            raise ConfigError("snapshot", "contexts", f"holds {len(snapshot[0])} requests, but the batch is "
                              f"{options.batch}", expected="one context per request of the batch")
        placed = snapshot[1] if placing else np.zeros(len(snapshot[0]), np.int64)
        state = BatchState.from_snapshot(dist, snapshot[0], placed, options.sub_batches, channels,
                                         options.channel_policy, rng, remaining=options.iterations + 1)
    slots = [state.slots_of(s) for s in range(options.sub_batches)]
    if any(s.size == 0 for s in slots):
        raise ConfigError("snapshot", "channels", f"leaves a sub-batch of the {options.batch} requests empty",
                          expected="requests spread so that every sub-batch gets some")
    step = step_of(slots[0].size)
    template = step.trace(np.full(slots[0].size, int(round(float(state.context.mean()) + 1))))
    mapper = DecodeMapper(arch, engines, template, options.sub_batches, options.weight_prefetch)
    kinds = mapper.attention_units()
    attention_unit = "pim" if kinds == {"pim"} else ("npu" if "systolic" in kinds else ",".join(sorted(kinds)))
    scale = {n: arch.clock_ghz / getattr(m, "clock_ghz", arch.clock_ghz) for n, m in engines.items()}
    totals = OpTotals(lambda q: scale.get(q, 1.0))
    engine = Engine(arch.clock_ghz, engines, arch_ports(arch), sink=totals)
    rows, pending = [], []
    kv_per_token_device = step.kv_bytes_per_token / sim_layers * layers_dev if sim_layers else 0
    with full_collections_deferred():
        _run_iterations(engine, mapper, state, slots, step_of, options, rows, pending, kv_per_token_device,
                        bool(placing))
    start = 0
    for row, (tasks, _) in zip(rows, pending):
        end = engine.end_cycle[tasks.end_task]
        row.update(start_cycle=start, end_cycle=end, ns=(end - start) / arch.clock_ghz)
        start = end
    iterations = pd.DataFrame(rows, columns=["iteration", "start_cycle", "end_cycle", "ns", "mean_context", "tokens",
                                             "finished", "kv_bytes"])
    peaks = {n: getattr(m, "peak_macs_per_cycle", 0) for n, m in engines.items()}
    records = sorted(totals.records(peaks), key=lambda r: (r.start_cycle, r.op_id, r.engine))
    busy = {q: c for q, c in engine.busy_cycles.items() if q in engines}
    result = Result(arch.name, model, arch.clock_ghz, tuple(records), tuple(totals.transfers()),
                    peaks, engine_busy_cycles=busy, engine_clock_ghz=engine_clocks(arch, engines))
    time_ns = engine.now / arch.clock_ghz
    weights = sum(op.weight_bytes for op in step.template.ops) / sim_layers * layers_dev
    return ServingResult(
        system=arch.name, model=model, options=options, time_ns=time_ns, tokens=options.batch * options.iterations,
        iterations=iterations, layers_per_device=layers_dev, sim_layers=sim_layers, result=result,
        kv_capacity_bytes=_capacity_bytes(arch) - weights, requests_completed=state.completed,
        attention_unit=attention_unit, engine_kinds={n: p.kind for n, p in arch.engines.items()},
        wall_s=time.perf_counter() - wall0, events=engine.tasks_done)


def _run_iterations(engine, mapper, state, slots, step_of, options: ServingOptions, rows: list, pending: list,
                    kv_per_token_device: float, placing: bool) -> None:
    """Lower, map and run every iteration, keeping two in the engine; fill ``rows`` and ``pending``."""
    previous = None
    for it in range(options.iterations):
        contexts = [state.context[s] + 1 for s in slots]           # the new token attends to itself
        traces = [step_of(c.size).trace(c) for c in contexts]
        kv_channels = [state.channel[s] if placing else None for s in slots]
        chunk, tasks = mapper.iteration(traces, kv_channels, previous)
        engine.extend(chunk)
        pending.append((tasks, float(np.concatenate(contexts).mean())))
        previous = tasks.last
        finished = state.step(np.arange(options.batch))
        rows.append({"iteration": it, "mean_context": pending[-1][1], "tokens": options.batch,
                     "finished": finished, "kv_bytes": int(state.context.sum()) * kv_per_token_device})
        if len(pending) >= 2:
            engine.run(until_task=pending[-2][0].end_task)
    engine.run()


def _model_layers(model: str) -> int:
    """Decoder layers of zoo model ``model`` (what its lowered trace reports)."""
    from archsim.errors import WorkloadError
    from archsim.workload import load_workload

    meta = load_workload(model, ["phase=decode", "batch=1", "context=1"]).metadata
    if meta.get("phase") != "decode" or "layers" not in meta:
        raise WorkloadError(f"{model}: not a decoder LLM (serving needs a decode step with a KV cache)")
    return int(meta["layers"])


def _capacity_bytes(arch: Arch) -> float:
    """Memory capacity for weights and KV cache: the largest DRAM's (bytes)."""
    drams = [p for p in arch.memories.values() if p.kind == "dram"]
    if drams:
        return float(max(d.capacity_gib for d in drams)) * 2**30
    return 0.0

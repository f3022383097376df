"""GPU and CPU baselines (``kind: gpu`` / ``kind: cpu``): a roofline with a documented efficiency model.

The papers compare against *measured* GPUs and CPUs (NeuPIMs: an A100-40GB running PyTorch; PIM-GPT: a
T4 and a Xeon Gold 6154). archsim does not emulate them cycle by cycle; it models each operator as

    time_ns = max(flops / (peak_tflops · compute_efficiency), bytes / (bandwidth_gbps · memory_efficiency))
              + kernel_launch_us · 1000

* ``peak_tflops`` / ``bandwidth_gbps``: the datasheet peaks for the dtype the baseline runs;
* ``compute_efficiency`` / ``memory_efficiency``: the fraction of peak a framework kernel reaches
  (GEMMs in cuBLAS ≈ 0.6–0.8 of tensor-core peak; streaming kernels ≈ 0.6–0.85 of DRAM peak) —
  the values in the shipped presets are stated there with their reasoning;
* ``kernel_launch_us``: the per-operator host overhead of an eager framework (PyTorch dispatch +
  CUDA launch), which dominates batch-1 token generation of small models.

Cycles are reported in the engine's clock (``clock_ghz``), so results plug into the event engine. The
device's own DRAM is inside the model (its traffic is reported as ``<engine>.dram.*``, priced within the
board power): it is no port of the architecture. Energy: ``board_power_w`` × time, as static power.
"""
from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from archsim.config.schema import StrictModel
from archsim.hw.demand import IDLE, Demand, single_phase
from archsim.hw.registry import ComponentKind, register
from archsim.hw.shares import Split, split_op
from archsim.hw.systolic import op_key
from archsim.trace import TraceOp
from archsim.trace.kinds import is_zero_cost


class RooflineParams(StrictModel):
    """YAML parameters shared by ``kind: gpu`` and ``kind: cpu``."""

    peak_tflops: float = Field(gt=0, description="peak dense throughput for the run's dtype, TFLOP/s")
    bandwidth_gbps: float = Field(gt=0, description="peak DRAM bandwidth, GB/s")
    compute_efficiency: float = Field(default=0.7, gt=0, le=1, description="fraction of peak FLOP/s reached")
    memory_efficiency: float = Field(default=0.8, gt=0, le=1, description="fraction of peak bandwidth reached")
    kernel_launch_us: float = Field(default=0.0, ge=0, description="per-operator host/launch overhead, us")
    clock_ghz: float = Field(default=1.0, gt=0, description="clock the cycle counts are expressed in, GHz")
    board_power_w: float | None = Field(default=None, gt=0, description="average power while generating, W")
    devices: int = Field(default=1, gt=0, description="identical devices working on the model (tensor parallel)")


class GpuParams(RooflineParams):
    kind: Literal["gpu"]


class CpuParams(RooflineParams):
    kind: Literal["cpu"]


class RooflineProcessor:
    """Engine model of ``kind: gpu`` and ``kind: cpu`` (one op at a time, roofline + launch overhead)."""

    def __init__(self, name: str, params: RooflineParams, arch=None) -> None:
        self.name = name
        self.params = params
        self.clock_ghz = params.clock_ghz
        self._demands: dict[tuple, Demand] = {}

    @property
    def peak_macs_per_cycle(self) -> float:
        """Peak MACs per cycle of ``clock_ghz`` (half the peak FLOP/s)."""
        return self.params.peak_tflops * 1e3 / 2 / self.clock_ghz

    def supports(self, op: TraceOp) -> bool:
        """Every operator."""
        return True

    def op_time_ns(self, flops: float, n_bytes: float, launches: int = 1) -> float:
        """Nanoseconds for ``flops`` FLOPs moving ``n_bytes`` DRAM bytes in ``launches`` kernels."""
        p = self.params
        compute = flops / (p.peak_tflops * 1e3 * p.compute_efficiency)        # TFLOP/s = 1e3 FLOP/ns
        memory = n_bytes / (p.bandwidth_gbps * p.memory_efficiency)           # GB/s = bytes/ns
        return max(compute, memory) + launches * p.kernel_launch_us * 1e3

    def demand(self, op: TraceOp, resident: frozenset[str] = frozenset(), **_placement) -> Demand:
        """Roofline demand of ``op`` (cycles of ``clock_ghz``); everything streams from the device's DRAM."""
        if is_zero_cost(op.kind):
            return IDLE
        key = op_key(op)
        hit = self._demands.get(key)
        if hit is not None:
            return hit
        if len(self._demands) > 8192:           # ragged ops differ every iteration: keep the cache bounded
            self._demands.clear()
        flops = op.flops or 2 * op.macs
        moved = op.input_bytes + op.weight_bytes + op.output_bytes
        cycles = int(math.ceil(self.op_time_ns(flops, moved) * self.clock_ghz))
        compute = int(math.ceil(flops / (self.params.peak_tflops * 1e3) * self.clock_ghz))
        peak = self.peak_macs_per_cycle
        hit = self._demands[key] = single_phase(
            cycles, None, compute_cycles=min(compute, cycles), macs=op.macs,
            utilization=op.macs / (cycles * peak) if cycles else 0.0,
            traffic_bytes={f"{self.name}.dram.read": float(op.input_bytes + op.weight_bytes),
                           f"{self.name}.dram.write": float(op.output_bytes)})
        return hit

    def split(self, op: TraceOp, n: int) -> Split:
        """``n`` shares of ``op`` for identical devices."""
        return split_op(op, n)


def price_roofline(pricer, name: str, p: RooflineParams) -> None:
    """A measured-style baseline: no per-action energy; ``board_power_w`` is its static power over the run
    (EnergyError when the preset does not give one)."""
    from archsim.energy.table import EnergyError

    if p.board_power_w is None:
        raise EnergyError(f"engines.{name}: a {p.kind} baseline's energy is its board power; set board_power_w")
    pricer.book.area_um2[name] = float("nan")
    if pricer.spec.include_static:
        pricer.book.static_mw[name] = p.board_power_w * 1e3 * p.devices


GPU = register(ComponentKind("gpu", "engine", GpuParams, RooflineProcessor,
                             "GPU baseline: roofline with efficiency factors and per-kernel launch overhead",
                             pricer=price_roofline))
CPU = register(ComponentKind("cpu", "engine", CpuParams, RooflineProcessor,
                             "CPU baseline: roofline with efficiency factors and per-operator overhead",
                             pricer=price_roofline))

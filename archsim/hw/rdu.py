"""Reconfigurable dataflow unit (``kind: rdu``): SambaNova SN40L-style sockets of PCUs and PMUs.

A socket is a mesh of pattern compute units (PCUs: BF16 systolic / SIMD pipelines) and pattern memory
units (PMUs: distributed SRAM scratchpads), bridged to HBM and DDR by AGCUs (Prabhakar et al., MICRO'24,
§IV). ``sockets`` sockets work on one model in tensor parallel (TP); the trace describes one socket's share
(the workload's ``tp`` knob equals ``sockets``) and the engine models that socket — the others run the
same kernels in lock step on their own memories.

A *kernel* is a spatial pipeline (``archsim.mapping.fusion`` builds them): each of its operators is a stage
placed on its own group of PCUs and PMUs, data streams through the stages in chunks, intermediates stay in
the PMUs. For one operator on ``pcus`` PCUs and ``pmus`` PMUs this model returns the stage's ``Demand``:

* compute: matrix ops at ``macs_per_pcu_cycle`` per PCU (peak_bf16_tflops / (2 × pcus × clock)), other ops
  at ``simd_ops_per_pcu_cycle`` per PCU; ``allreduce`` over the sockets' peer-to-peer network:
  ``p2p_latency_ns + 2 (s − 1)/s × bytes / p2p_gbps`` (ring all-reduce; the latency is the demand's
  ``fill_cycles``: in a pipeline the first chunk pays it, later chunks stream behind it);
* ``embedding``: a lookup reads only the rows it gathers (its output's bytes), not the whole table;
* on-chip: the bytes the stage reads and writes in PMUs (operands produced inside the kernel, and every
  operand passing through its buffers) at ``pmu_bytes_per_cycle`` per PMU, streamed over the SRAM port;
* off-chip: operands produced outside the kernel and outputs leaving it stream over the HBM port,
  weights over the port of the tier they live in (``weight_tier``, default HBM). The engine shares those
  ports between everything running, at the memories' bandwidth × ``efficiency`` (``kind: dram``).

A stage's phase lasts at least its compute and PMU time; its streams extend it when the memories are
slower. Kernel launch overheads (software- or hardware-orchestrated) are tasks of their own (see
``launch_overhead_ns``), not part of a stage.
"""
from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from archsim.config.schema import StrictModel
from archsim.errors import ConfigError
from archsim.hw.demand import IDLE, Demand, single_phase
from archsim.hw.registry import ComponentKind, register
from archsim.hw.shares import split_op
from archsim.trace import TraceOp
from archsim.trace.kinds import is_matrix, is_zero_cost

Orchestration = Literal["software", "hardware"]


class RduParams(StrictModel):
    """YAML parameters of ``kind: rdu`` (per socket unless stated)."""

    kind: Literal["rdu"]
    sockets: int = Field(default=1, ge=1, description="sockets working on a model in tensor parallel; the "
                         "trace describes one socket's share (workload knob tp = sockets)")
    pcus: int = Field(default=1040, gt=0, description="pattern compute units per socket")
    pmus: int = Field(default=1040, gt=0, description="pattern memory units (SRAM scratchpads) per socket")
    pmu_kib: float = Field(default=512, gt=0, description="SRAM per PMU, KiB (1040 × 512 KiB = 520 MiB)")
    peak_bf16_tflops: float = Field(default=638, gt=0, description="peak dense BF16 TFLOP/s per socket")
    clock_ghz: float | None = Field(default=None, gt=0, description="PCU/PMU clock; the architecture's if unset")
    simd_ops_per_pcu_cycle: int = Field(default=32, gt=0, description="element operations per PCU per cycle "
                                        "in SIMD mode (lanes × stages; not published)")
    pmu_bytes_per_cycle: int = Field(default=128, gt=0, description="bytes a PMU reads plus writes per cycle")
    sram: str = Field(description="memory of the PMUs (kind: sram)")
    hbm: str = Field(description="memory operands and intermediates outside the chip live in (kind: dram)")
    p2p_gbps: float = Field(default=400, gt=0, description="peer-to-peer (all-reduce) bandwidth per socket, GB/s")
    p2p_latency_ns: float = Field(default=1000, ge=0, description="latency of one all-reduce step chain, ns")
    launch_overhead_so_us: float = Field(default=0.0, ge=0, description="software orchestration: the host "
                                         "launches each kernel (program load, argument load, execute), us; under "
                                         "hardware orchestration it still launches a program's first kernel")
    launch_overhead_ho_us: float = Field(default=0.0, ge=0, description="hardware orchestration: the AGCUs "
                                         "run the static kernel schedule on chip, us per kernel")
    orchestration: Orchestration = Field(default="hardware", description="who launches the kernels")
    fusion: Literal["fused", "unfused"] = Field(default="fused", description="how its compiler (the rdu_fusion "
                                                "mapper) groups operators: consecutive operators of a layer in one "
                                                "kernel, or one operator per kernel (the paper's baseline)")


class Rdu:
    """Engine model of ``kind: rdu`` (one socket; see module docstring)."""

    def __init__(self, name: str, params: RduParams, arch) -> None:
        self.name = name
        self.params = params
        self.clock_ghz = float(params.clock_ghz or arch.clock_ghz)
        for key, kind in (("sram", "sram"), ("hbm", "dram")):
            mem = getattr(params, key)
            if mem not in arch.memories or arch.memories[mem].kind != kind:
                raise ConfigError(arch.source, f"engines.{name}.{key}", "names no memory of the right kind",
                                  value=mem, has_value=True, expected=f"a kind: {kind} memory of the architecture")
        self.memories = {n for n, p in arch.memories.items() if p.kind in ("sram", "dram")}
        self._demands: dict[tuple, Demand] = {}

    @property
    def macs_per_pcu_cycle(self) -> float:
        """BF16 MACs one PCU completes per cycle at peak."""
        p = self.params
        return p.peak_bf16_tflops * 1e3 / 2 / p.pcus / self.clock_ghz

    @property
    def peak_macs_per_cycle(self) -> float:
        """BF16 MACs per cycle of the whole socket."""
        return self.macs_per_pcu_cycle * self.params.pcus

    @property
    def sram_bytes(self) -> int:
        """On-chip SRAM of one socket (bytes)."""
        return int(self.params.pmus * self.params.pmu_kib * 1024)

    def launch_overhead_ns(self, orchestration: Orchestration | None = None) -> float:
        """Per-kernel launch overhead (ns) under ``orchestration`` (default the YAML's)."""
        p = self.params
        how = orchestration or p.orchestration
        return 1e3 * (p.launch_overhead_so_us if how == "software" else p.launch_overhead_ho_us)

    def supports(self, op: TraceOp) -> bool:
        """Every operator (PCUs run matrix ops as systolic arrays and the rest as SIMD pipelines)."""
        return True

    def allreduce_cycles(self, n_bytes: float) -> tuple[int, int]:
        """(cycles, of which latency) of a ring all-reduce of ``n_bytes`` per socket over the sockets."""
        p = self.params
        if p.sockets <= 1 or n_bytes <= 0:
            return 0, 0
        moved = 2 * (p.sockets - 1) / p.sockets * n_bytes
        latency = math.ceil(p.p2p_latency_ns * self.clock_ghz)
        return latency + math.ceil(moved / p.p2p_gbps * self.clock_ghz), latency

    def demand(self, op: TraceOp, resident: frozenset[str] = frozenset(), *, stages=(), weight_tier: str | None = None, **_placement) -> Demand:
        """The demand of ``op`` as one pipeline stage (engine clock).

        ``stages``: ``(op id, pcus, pmus, on-chip input bytes, output stays on chip)`` of the kernel's
        stages (the fusion pass's placement; an op not listed gets the whole socket, its operands in HBM);
        ``resident`` operands (input, weight, output) are on chip
        already; ``weight_tier``: memory the weights stream from (default ``hbm``)."""
        if is_zero_cost(op.kind):
            return IDLE
        p = self.params
        pcus, pmus, onchip_in, out_onchip = p.pcus, p.pmus, 0, False
        for sid, s_pcus, s_pmus, s_in, s_out in stages:
            if sid == op.id:
                pcus, pmus, onchip_in, out_onchip = s_pcus, s_pmus, s_in, s_out
                break
        wtier = weight_tier or p.hbm
        if wtier not in self.memories:
            raise ValueError(f"{self.name}: weight tier {wtier!r} is no memory of the architecture")
        key = (op.kind, op.macs, op.flops, op.input_bytes, op.weight_bytes, op.output_bytes, op.dim("elements", 0),
               resident, pcus, pmus, onchip_in, out_onchip, wtier)
        hit = self._demands.get(key)
        if hit is not None:
            return hit
        if len(self._demands) > 8192:
            self._demands.clear()
        onchip_in = min(int(onchip_in), op.input_bytes)
        in_hbm = 0 if "input" in resident else op.input_bytes - onchip_in
        weight = min(op.weight_bytes, op.output_bytes) if op.kind == "embedding" else op.weight_bytes
        w_off = 0 if "weight" in resident else weight
        out_hbm = 0 if ("output" in resident or out_onchip) else op.output_bytes
        fill = 0
        if op.kind == "allreduce":
            compute, fill = self.allreduce_cycles(op.input_bytes)
            work_actions = {}
        elif is_matrix(op.kind):
            compute = math.ceil(op.macs / (pcus * self.macs_per_pcu_cycle))
            work_actions = {"mac": float(op.macs)}
        else:
            work = op.flops or op.dim("elements", 0)
            compute = math.ceil(work / (pcus * p.simd_ops_per_pcu_cycle))
            work_actions = {"op": float(work)} if work else {}
        # every operand passes through the stage's PMU buffers (read in, written out)
        pmu_bytes = op.input_bytes + weight + op.output_bytes
        pmu_cycles = math.ceil(pmu_bytes / (pmus * p.pmu_bytes_per_cycle))
        cycles = max(compute, pmu_cycles, 1)
        streams: dict[str, float] = {p.sram: float(pmu_bytes)}
        streams[p.hbm] = streams.get(p.hbm, 0.0) + in_hbm + out_hbm
        streams[wtier] = streams.get(wtier, 0.0) + w_off
        traffic = {f"{p.hbm}.input.read": float(in_hbm), f"{wtier}.weight.read": float(w_off),
                   f"{p.hbm}.output.write": float(out_hbm), f"{p.sram}.input.read": float(op.input_bytes),
                   f"{p.sram}.output.write": float(op.output_bytes)}
        peak = pcus * self.macs_per_pcu_cycle
        hit = self._demands[key] = single_phase(
            cycles, streams, compute_cycles=compute, macs=op.macs, fill_cycles=fill if cycles == compute else 0,
            utilization=op.macs / (cycles * peak) if op.macs else 0.0,
            traffic_bytes={k: v for k, v in traffic.items() if v}, actions=work_actions)
        return hit

    def split(self, op: TraceOp, n: int):
        """``n`` shares of ``op`` for identical RDUs."""
        return split_op(op, n)


def price_rdu(pricer, name: str, p: RduParams) -> None:
    """A ``mac`` = a multiply of the engine's dtype (``energy.engine_dtype``; default fp16, the energy table's
    nearest entry to BF16, which it lacks) + an FP32 add; an ``op`` (SIMD lane operation) = an FP32 add. Area
    and static power: the socket's MAC units (PMU SRAM is priced as the ``sram`` memory)."""
    from archsim.energy.prices import Price

    who = f"engines.{name}"
    dtype = pricer.spec.engine_dtype.get(name, "fp16")
    e_mul, l_mul = pricer.unit_energy("mult", "op", dtype, who)
    e_add, l_add = pricer.unit_energy("add", "op", "fp32", who)
    pricer.book.dynamic[(name, "mac")] = Price(name, "mac", e_mul + e_add, "MAC", (l_mul, l_add))
    pricer.book.dynamic[(name, "op")] = Price(name, "op", e_add, "op", (l_add,))
    clock = p.clock_ghz or 1.6
    macs = p.peak_bf16_tflops * 1e3 / 2 / clock
    pricer.book.area_um2[name] = macs * (pricer.unit_area("mult", dtype, who) + pricer.unit_area("add", "fp32", who))
    if pricer.spec.include_static:
        pricer.book.static_mw[name] = macs * (pricer.unit_leak("mult", dtype, who) + pricer.unit_leak("add", "fp32", who))


RDU = register(ComponentKind("rdu", "engine", RduParams, Rdu,
                             "reconfigurable dataflow unit: PCUs/PMUs per socket running fused spatial pipelines",
                             pricer=price_rdu, mapper="rdu_fusion"))

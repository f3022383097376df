"""A SIMD vector unit for the ops a systolic array does not run (elementwise, activation, pooling, norms).

Timing is a roofline over the op: ``max(ceil(work / lanes) + pipeline latency, bytes / port bytes per
cycle)``, where work is the op's FLOPs (or its output elements when FLOPs are unknown) and bytes its
operands that are not already on chip; those bytes stream over the unit's memory port, shared with
everything else using it.
"""
from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from archsim.config.schema import StrictModel, memory_ref
from archsim.hw.demand import IDLE, Demand, single_phase
from archsim.hw.registry import ComponentKind, memory_port_gbps, register
from archsim.hw.shares import Split, split_elements
from archsim.hw.systolic import op_key
from archsim.trace import TraceOp
from archsim.trace.kinds import is_matrix, is_zero_cost


class VectorParams(StrictModel):
    """YAML parameters of ``kind: vector``."""

    kind: Literal["vector"]
    lanes: int = Field(gt=0, description="operations per cycle")
    pipeline_latency_cycles: int = Field(default=0, ge=0)
    clock_ghz: float | None = Field(default=None, gt=0)
    dram: str = memory_ref("name of the memory operands stream from", ("dram", "sram"))


class VectorUnit:
    """Engine model of ``kind: vector``."""

    peak_macs_per_cycle = 0

    def __init__(self, name: str, params: VectorParams, arch) -> None:
        self.name = name
        self.params = params
        self.clock_ghz = arch.engine_clock_ghz(name)
        self._port_bytes_per_cycle = memory_port_gbps(arch, params.dram) / self.clock_ghz
        self._demands: dict[tuple, Demand] = {}
        self._recent: dict[tuple, tuple] = {}     # (id(op), resident) -> (op, demand): ops that recur as objects

    def supports(self, op: TraceOp) -> bool:
        """Everything that is not a matrix op (GEMM, GEMV, convolution)."""
        return not is_matrix(op.kind)

    def demand(self, op: TraceOp, resident: frozenset[str] = frozenset(), **_placement) -> Demand:
        """Roofline demand of ``op`` on the lanes; ``resident`` operands (input, weight, output) are on chip
        and do not stream."""
        if is_zero_cost(op.kind):
            return IDLE
        fast = (id(op), resident)
        recent = self._recent.get(fast)
        if recent is not None and recent[0] is op:
            return recent[1]
        key = (op_key(op), resident)
        hit = self._demands.get(key)
        if hit is not None:
            self._recent[fast] = (op, hit)
            return hit
        if len(self._demands) > 8192:           # ragged ops differ every iteration: keep the cache bounded
            self._demands.clear()
        p = self.params
        work = op.flops or op.dim("elements", 0)
        compute = math.ceil(work / p.lanes) + (p.pipeline_latency_cycles if work else 0)
        read = (0 if "input" in resident else op.input_bytes) + (0 if "weight" in resident else op.weight_bytes)
        written = 0 if "output" in resident else op.output_bytes
        memory = math.ceil((read + written) / self._port_bytes_per_cycle)
        total = max(compute, memory)
        hit = self._demands[key] = single_phase(
            total, {p.dram: read + written}, compute_cycles=compute, macs=op.macs,
            utilization=work / (total * p.lanes) if total else 0.0,
            traffic_bytes={f"{p.dram}.input.read": float(read), f"{p.dram}.output.write": float(written)},
            actions={"op": float(work)} if work else {})
        if len(self._recent) > 8192:
            self._recent.clear()
        self._recent[fast] = (op, hit)
        return hit

    def split(self, op: TraceOp, n: int):
        """``n`` shares of ``op`` (its elements dealt out) for identical vector units."""
        return Split(tuple(split_elements(op, n)), None)


def price_vector(pricer, name: str, p: VectorParams) -> None:
    """One ``op`` per lane-operation = an add of the unit's dtype; static/area = lanes adders."""
    from archsim.energy.prices import Price

    who = f"engines.{name}"
    dtype = pricer.spec.engine_dtype.get(name, "int32")
    e_add, label = pricer.unit_energy("add", "op", dtype, who)
    pricer.book.dynamic[(name, "op")] = Price(name, "op", e_add, "op", (label,))
    pricer.book.area_um2[name] = p.lanes * pricer.unit_area("add", dtype, who)
    if pricer.spec.include_static:
        pricer.book.static_mw[name] = p.lanes * pricer.unit_leak("add", dtype, who)


VECTOR = register(ComponentKind("vector", "engine", VectorParams, VectorUnit,
                                "SIMD vector unit (roofline over FLOPs and memory bytes)", pricer=price_vector))

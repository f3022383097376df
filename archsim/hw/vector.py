"""A SIMD vector unit for the ops a systolic array does not run (elementwise, activation, pooling, norms).

Timing is a roofline over the op: ``max(ceil(work / lanes), dram_bytes / dram_bytes_per_cycle)`` plus a
fixed pipeline latency, where work is the op's FLOPs (or its output elements when FLOPs are unknown).
"""
from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from archsim.config.schema import StrictModel
from archsim.hw.cost import OpCost
from archsim.hw.registry import ComponentKind, register
from archsim.trace import TraceOp
from archsim.trace.kinds import is_matrix, is_zero_cost


class VectorParams(StrictModel):
    """YAML parameters of ``kind: vector``."""

    kind: Literal["vector"]
    lanes: int = Field(gt=0, description="operations per cycle")
    pipeline_latency_cycles: int = Field(default=0, ge=0)
    clock_ghz: float | None = Field(default=None, gt=0)
    dram: str = Field(description="name of the memory operands stream from")


class VectorUnit:
    """Engine model of ``kind: vector``."""

    def __init__(self, name: str, params: VectorParams, arch) -> None:
        from archsim.hw.dram import Dram

        self.name = name
        self.params = params
        self.clock_ghz = arch.engine_clock_ghz(name)
        self._dram_bytes_per_cycle = Dram(arch.memories[params.dram]).bytes_per_cycle(self.clock_ghz)

    def supports(self, op: TraceOp) -> bool:
        """Everything that is not a matrix op (GEMM, GEMV, convolution)."""
        return not is_matrix(op.kind)

    def op_cost(self, op: TraceOp) -> OpCost:
        """Roofline cost of ``op`` on the vector lanes (cycles; DRAM bytes in ``traffic_bytes``)."""
        p = self.params
        if is_zero_cost(op.kind):
            return OpCost(0, 0, 0, 0, 0.0)
        work = op.flops or op.dim("elements", 0)
        compute = math.ceil(work / p.lanes) + (p.pipeline_latency_cycles if work else 0)
        moved = op.input_bytes + op.weight_bytes + op.output_bytes
        memory = math.ceil(moved / self._dram_bytes_per_cycle)
        total = max(compute, memory)
        return OpCost(total, compute, total - compute, op.macs,
                      utilization=work / (total * p.lanes) if total else 0.0,
                      traffic_bytes={f"{p.dram}.input.read": float(op.input_bytes + op.weight_bytes),
                                     f"{p.dram}.output.write": float(op.output_bytes)})


VECTOR = register(ComponentKind("vector", "engine", VectorParams, VectorUnit,
                                "SIMD vector unit (roofline over FLOPs and DRAM bytes)"))

"""A TPU-style R x C systolic array with output-, weight- or input-stationary dataflow.

GEMMs map as in SCALE-Sim (see ``archsim.kernels.systolic_timing``); a convolution is the GEMM
M = batch*OH*OW output pixels, N = filters, K = R*S*C (im2col), and a grouped/depthwise convolution
is ``groups`` independent GEMMs with N = F/groups and K = R*S*C/groups. Cycle and traffic counts come
from the Numba kernel; the three operand SRAMs are double-buffered and refilled from one DRAM.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from archsim.config.schema import StrictModel
from archsim.errors import MappingError
from archsim.hw.cost import OpCost
from archsim.hw.registry import ComponentKind, register
from archsim.kernels import systolic_timing as kt
from archsim.trace import TraceOp
from archsim.trace.kinds import is_matrix


class SystolicParams(StrictModel):
    """YAML parameters of ``kind: systolic``."""

    kind: Literal["systolic"]
    rows: int = Field(gt=0, description="PE rows (R)")
    cols: int = Field(gt=0, description="PE columns (C)")
    dataflow: Literal["os", "ws", "is"] = "ws"
    word_bytes: int = Field(default=1, gt=0, description="bytes per operand word")
    clock_ghz: float | None = Field(default=None, gt=0, description="overrides the architecture clock")
    ifmap_sram: str = Field(description="name of the memory holding input activations")
    filter_sram: str = Field(description="name of the memory holding weights")
    ofmap_sram: str = Field(description="name of the memory holding outputs")
    dram: str = Field(description="name of the off-chip memory behind the SRAMs")
    scalesim_compatible: bool = Field(
        default=False, description="count cycles exactly as SCALE-Sim 3.0.0 does, bugs included")
    double_buffered_pes: bool = Field(
        default=False, description="PEs hold a second stationary tile (weights/inputs, or outputs for os), so "
                                   "the next fold's tile shifts while the current fold streams (TPU v1 does)")


@dataclass(frozen=True)
class GemmShape:
    """``repeats`` independent M x N x K GEMMs; ``ifmap_words`` distinct input words per GEMM
    (M*K for a plain GEMM, fewer for a convolution whose windows overlap; 0 means M*K)."""

    m: int
    n: int
    k: int
    repeats: int = 1
    ifmap_words: int = 0

    @property
    def ifmap_unique_fraction(self) -> float:
        """Distinct input words / im2col elements (1.0 for a GEMM)."""
        if self.ifmap_words <= 0:
            return 1.0
        return min(1.0, self.ifmap_words / (self.m * self.k))

    @property
    def macs(self) -> int:
        """Multiply-accumulates of all repeats."""
        return self.m * self.n * self.k * self.repeats


def gemm_shape(op: TraceOp) -> GemmShape:
    """The GEMM view of a gemm/gemv/conv2d op (MappingError for any other kind)."""
    if op.kind in ("gemm", "gemv"):
        return GemmShape(op.dim("M"), op.dim("N"), op.dim("K"), op.dim("B", 1))
    if op.kind == "conv2d":
        groups = op.dim("groups", 1)
        c, f = op.dim("C"), op.dim("F")
        if c % groups or f % groups:
            raise MappingError(f"op {op.name!r}: channels {c} and filters {f} must divide by groups {groups}")
        batch = op.dim("N", 1)
        m = batch * op.dim("OH") * op.dim("OW")
        # distinct input words one group reads: its channels of the (unpadded) input feature map
        ifmap_words = batch * op.dim("H") * op.dim("W") * (c // groups)
        return GemmShape(m, f // groups, op.dim("R") * op.dim("S") * (c // groups), groups, ifmap_words)
    raise MappingError(f"a systolic array cannot run op {op.name!r} of kind {op.kind!r}")


class SystolicArray:
    """Engine model of ``kind: systolic``; ``op_cost`` runs the Numba kernel for one op."""

    def __init__(self, name: str, params: SystolicParams, arch) -> None:
        from archsim.hw.dram import Dram
        from archsim.hw.sram import Sram

        self.name = name
        self.params = params
        self.clock_ghz = arch.engine_clock_ghz(name)
        wb = params.word_bytes
        self._buffers = tuple(Sram(arch.memories[m]).working_words * arch.memories[m].word_bytes // wb
                              for m in (params.ifmap_sram, params.filter_sram, params.ofmap_sram))
        self._dram_words_per_cycle = Dram(arch.memories[params.dram]).bytes_per_cycle(self.clock_ghz) / wb

    @property
    def peak_macs_per_cycle(self) -> int:
        """R*C MACs per cycle."""
        return self.params.rows * self.params.cols

    def supports(self, op: TraceOp) -> bool:
        """True for matrix ops: GEMM, GEMV and convolution."""
        return is_matrix(op.kind)

    def _kernel_stats(self, shape: GemmShape, t_tile: int):
        p = self.params
        return kt.gemm_cycles_and_traffic(kt.DATAFLOW_CODES[p.dataflow], p.rows, p.cols, shape.m, shape.n,
                                          shape.k, shape.repeats, p.scalesim_compatible, *self._buffers,
                                          self._dram_words_per_cycle, shape.ifmap_unique_fraction, t_tile,
                                          p.double_buffered_pes)

    def output_tile(self, shape: GemmShape) -> int:
        """Streamed-dimension tile (0 = untiled) that keeps WS/IS partial sums inside the OFMAP buffer.

        Only offered when K spans several row folds and one column fold's partial sums (T x C words)
        overflow the buffer; the engine then runs whichever of tiled / untiled finishes first (SCALE-Sim
        compatible engines never tile, as SCALE-Sim does not).
        """
        p = self.params
        if p.scalesim_compatible or p.dataflow == "os":
            return 0
        sr, _, t = kt.spatial_map(kt.DATAFLOW_CODES[p.dataflow], shape.m, shape.n, shape.k)
        ofmap_words = self._buffers[2]
        if sr <= p.rows or t * p.cols <= ofmap_words:
            return 0
        return max(1, ofmap_words // p.cols)

    def gemm_cost(self, shape: GemmShape) -> OpCost:
        """Cost of ``shape`` on this array (cycles of this engine's clock, bytes per memory/operand)."""
        p = self.params
        s = self._kernel_stats(shape, 0)
        t_tile = self.output_tile(shape)
        if t_tile:
            tiled = self._kernel_stats(shape, t_tile)
            if tiled[kt.TOTAL_CYCLES] < s[kt.TOTAL_CYCLES]:
                s = tiled
        total = int(s[kt.TOTAL_CYCLES])
        folds = int(s[kt.FOLDS])
        wb = p.word_bytes
        traffic = {
            f"{p.ifmap_sram}.ifmap.read": s[kt.IFMAP_SRAM_READS] * wb,
            f"{p.filter_sram}.filter.read": s[kt.FILTER_SRAM_READS] * wb,
            f"{p.ofmap_sram}.ofmap.write": s[kt.OFMAP_SRAM_WRITES] * wb,
            f"{p.ofmap_sram}.ofmap.read": s[kt.OFMAP_SRAM_READS] * wb,
            f"{p.dram}.ifmap.read": s[kt.IFMAP_DRAM_READS] * wb,
            f"{p.dram}.filter.read": s[kt.FILTER_DRAM_READS] * wb,
            f"{p.dram}.ofmap.write": s[kt.OFMAP_DRAM_WRITES] * wb,
            f"{p.dram}.ofmap.read": s[kt.OFMAP_DRAM_READS] * wb,
        }
        pe = self.peak_macs_per_cycle
        return OpCost(
            total_cycles=total,
            compute_cycles=int(s[kt.COMPUTE_CYCLES]),
            stall_cycles=int(s[kt.STALL_CYCLES]),
            macs=shape.macs,
            utilization=shape.macs / (total * pe) if total else 0.0,
            mapping_efficiency=s[kt.USED_PE_SLOTS] / (folds * pe) if folds else 0.0,
            folds=folds,
            traffic_bytes=traffic,
        )

    def op_cost(self, op: TraceOp) -> OpCost:
        """Cost of trace op ``op`` (MappingError if it is not a GEMM or convolution)."""
        return self.gemm_cost(gemm_shape(op))


SYSTOLIC = register(ComponentKind("systolic", "engine", SystolicParams, SystolicArray,
                                  "R x C systolic array (os/ws/is), SCALE-Sim-compatible counting"))

"""A TPU-style R x C systolic array; how ops map onto it is its dataflow (``archsim.hw.dataflows``).

GEMMs map as in SCALE-Sim (the ``fold`` dataflows os/ws/is; ``archsim.kernels.systolic_timing``); a
convolution is the GEMM M = batch*OH*OW output pixels, N = filters, K = R*S*C (im2col), and a
grouped/depthwise convolution is ``groups`` independent GEMMs with N = F/groups and K = R*S*C/groups; a
ragged decode-attention op is one GEMM per distinct KV length. The three operand SRAMs are double-buffered
and refilled from one DRAM port, whose bandwidth the event engine shares with everything else using it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator

from archsim.config.schema import StrictModel, memory_ref
from archsim.errors import MappingError
from archsim.hw.dataflows import DramScales, dataflow_names, get_dataflow
from archsim.hw.demand import Demand
from archsim.hw.registry import ComponentKind, memory_port_gbps, register
from archsim.trace import TraceOp
from archsim.trace.kinds import is_matrix


class SystolicParams(StrictModel):
    """YAML parameters of ``kind: systolic``."""

    kind: Literal["systolic"]
    rows: int = Field(gt=0, description="PE rows (R)")
    cols: int = Field(gt=0, description="PE columns (C)")
    dataflow: str = Field(default="ws", description="a registered dataflow: os, ws, is (SCALE-Sim's fold "
                          "mapping) or neupims_ws / onnxim_ws (NeuPIMs' simulator cores)")
    word_bytes: int = Field(default=1, gt=0, description="bytes per operand word")
    clock_ghz: float | None = Field(default=None, gt=0, description="overrides the architecture clock")
    ifmap_sram: str = memory_ref("name of the memory holding input activations", ("sram",))
    filter_sram: str = memory_ref("name of the memory holding weights", ("sram",))
    ofmap_sram: str = memory_ref("name of the memory holding outputs", ("sram",))
    dram: str = memory_ref("name of the off-chip memory behind the SRAMs", ("dram", "sram"))
    scalesim_compatible: bool = Field(
        default=False, description="count cycles exactly as SCALE-Sim 3.0.0 does, bugs included")
    double_buffered_pes: bool = Field(
        default=False, description="PEs hold a second stationary tile (weights/inputs, or outputs for os), so "
                                   "the next fold's tile shifts while the current fold streams (TPU v1 does)")

    @field_validator("dataflow")
    @classmethod
    def _known_dataflow(cls, value: str) -> str:
        names = dataflow_names()
        if value not in names:
            raise ValueError(f"unknown dataflow {value!r}; expected one of {names}")
        return value


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


def gemm_shapes(op: TraceOp) -> list[GemmShape]:
    """The GEMMs of a gemm/gemv/conv2d op: one shape, or one per distinct KV length of a ragged op
    (MappingError for any other kind)."""
    if op.seq_lens:
        per_request = op.dim("B") // len(op.seq_lens)
        counts: dict[int, int] = {}
        for length in op.seq_lens:
            counts[length] = counts.get(length, 0) + 1
        m, n, k = op.dim("M"), op.dim("N"), op.dim("K")
        if op.ragged_dim not in ("N", "K"):
            raise MappingError(f"op {op.name!r}: a ragged matrix op varies N or K, not {op.ragged_dim!r}")
        return [GemmShape(m, L if op.ragged_dim == "N" else n, L if op.ragged_dim == "K" else k, c * per_request)
                for L, c in sorted(counts.items())]
    if op.kind in ("gemm", "gemv"):
        return [GemmShape(op.dim("M"), op.dim("N"), op.dim("K"), op.dim("B", 1))]
    if op.kind == "conv2d":
        groups = op.dim("groups", 1)
        c, f = op.dim("C"), op.dim("F")
        if c % groups or f % groups:
            raise MappingError(f"op {op.name!r}: channels {c} and filters {f} must divide by groups {groups}")
        batch = op.dim("N", 1)
        m = batch * op.dim("OH") * op.dim("OW")
        # distinct input words one group reads: its channels of the (unpadded) input feature map
        ifmap_words = batch * op.dim("H") * op.dim("W") * (c // groups)
        return [GemmShape(m, f // groups, op.dim("R") * op.dim("S") * (c // groups), groups, ifmap_words)]
    raise MappingError(f"a systolic array cannot run op {op.name!r} of kind {op.kind!r}")


def gemm_shape(op: TraceOp) -> GemmShape:
    """The single GEMM view of a (non-ragged) gemm/gemv/conv2d op."""
    shapes = gemm_shapes(op)
    if len(shapes) != 1:
        raise MappingError(f"op {op.name!r} is ragged: it has {len(shapes)} GEMM shapes")
    return shapes[0]


def op_key(op: TraceOp) -> tuple:
    """What a demand depends on: an op's kind, dims, lengths and amounts (not its name or id)."""
    return (op.kind, tuple(sorted(op.dims.items())), op.seq_lens, op.ragged_dim, op.macs, op.flops,
            op.input_bytes, op.weight_bytes, op.output_bytes, op.kv_cache_bytes)


class SystolicArray:
    """Engine model of ``kind: systolic``: its dataflow turns an op into a Demand."""

    def __init__(self, name: str, params: SystolicParams, arch) -> None:
        from archsim.hw.sram import Sram

        self.name = name
        self.params = params
        self.clock_ghz = arch.engine_clock_ghz(name)
        self.dataflow = get_dataflow(params.dataflow)
        wb = params.word_bytes
        self.buffer_words = tuple(Sram(arch.memories[m]).working_words * arch.memories[m].word_bytes // wb
                                  for m in (params.ifmap_sram, params.filter_sram, params.ofmap_sram))
        self.dram_words_per_cycle = memory_port_gbps(arch, params.dram) / self.clock_ghz / wb
        self._demands: dict[tuple, Demand] = {}
        self._recent: dict[tuple, tuple] = {}     # (id(op), placement) -> (op, demand): ops that recur as objects

    @property
    def peak_macs_per_cycle(self) -> int:
        """R*C MACs per cycle."""
        return self.params.rows * self.params.cols

    @property
    def scratchpad_bytes(self) -> int:
        """Working bytes of the distinct on-chip buffers behind the array (what a memory planner may use)."""
        p = self.params
        words = dict(zip((p.ifmap_sram, p.filter_sram, p.ofmap_sram), self.buffer_words))
        return int(sum(words.values()) * p.word_bytes)

    @property
    def weight_buffer(self) -> tuple[str, str]:
        """(SRAM holding the weights, DRAM it is filled from): where a mapper may prefetch an op's weights."""
        return self.params.filter_sram, self.params.dram

    def supports(self, op: TraceOp) -> bool:
        """True for matrix ops: GEMM, GEMV and convolution."""
        return is_matrix(op.kind)

    def demand(self, op: TraceOp, resident: frozenset[str] = frozenset(), broadcast: str | None = None,
               shares: int = 1, **_placement) -> Demand:
        """Demand of ``op`` (or one of ``shares`` shares of an op whose ``broadcast`` operand the sharing
        arrays fetch once); ``resident`` operands are already on chip. Cached per (op shape, placement)."""
        fast = (id(op), resident, broadcast, shares)
        hit = self._recent.get(fast)
        if hit is not None and hit[0] is op:
            return hit[1]
        scales = DramScales(*(0.0 if o in resident else (1.0 / shares if o == broadcast else 1.0)
                              for o in ("input", "weight", "output")))
        key = (op_key(op), scales)
        demand = self._demands.get(key)
        if demand is None:
            if len(self._demands) > 8192:       # ragged ops differ every iteration: keep the cache bounded
                self._demands.clear()
            demand = self._demands[key] = self.dataflow.demand(self, op, scales)
        if len(self._recent) > 8192:
            self._recent.clear()
        self._recent[fast] = (op, demand)
        return demand

    def split(self, op: TraceOp, n: int):
        """``n`` shares of ``op`` for identical arrays (``archsim.hw.dataflows.Split``)."""
        return self.dataflow.split(self, op, n)

    def traffic(self, ifmap_sram: float, filter_sram: float, ofmap_write: float, ofmap_read: float,
                dram_ifmap: float, dram_filter: float, dram_ofmap_write: float, dram_ofmap_read: float) -> dict:
        """Words of each access kind -> the ``traffic_bytes`` dict (bytes; one key per memory, operand and
        direction, zeros kept so that every op of an array has the same columns)."""
        p, wb = self.params, self.params.word_bytes
        out = {f"{p.ifmap_sram}.ifmap.read": ifmap_sram, f"{p.filter_sram}.filter.read": filter_sram,
               f"{p.ofmap_sram}.ofmap.write": ofmap_write, f"{p.ofmap_sram}.ofmap.read": ofmap_read,
               f"{p.dram}.ifmap.read": dram_ifmap, f"{p.dram}.filter.read": dram_filter,
               f"{p.dram}.ofmap.write": dram_ofmap_write, f"{p.dram}.ofmap.read": dram_ofmap_read}
        acc: dict[str, float] = {}
        for k, words in out.items():
            acc[k] = acc.get(k, 0.0) + float(words) * wb
        return acc


def price_systolic(pricer, name: str, params: SystolicParams) -> None:
    """Energy prices of an array: one ``mac`` = multiply(d) + add(accumulator of d); each MAC also moves
    operands through PE pipeline registers (``pe_register``, bits per MAC from the dataflow). Static power
    = PEs × (multiplier + adder + register leakage); area = PEs × (multiplier + adder + registers holding two
    operands and one partial sum)."""
    from archsim.energy.prices import ACCUMULATOR, Price, dtype_bits
    from archsim.energy.table import EnergyError

    who = f"engines.{name}"
    dtype = pricer.spec.engine_dtype.get(name, f"int{8 * params.word_bytes}")
    if dtype not in ACCUMULATOR:
        raise EnergyError(f"{who}: no MAC energy for dtype {dtype!r} (the table covers {sorted(ACCUMULATOR)})")
    acc = ACCUMULATOR[dtype]
    e_mul, l_mul = pricer.unit_energy("mult", "op", dtype, who)
    e_add, l_add = pricer.unit_energy("add", "op", acc, who)
    pricer.book.dynamic[(name, "mac")] = Price(name, "mac", e_mul + e_add, "MAC", (l_mul, l_add))
    reg = pricer.table.find("register", "read")
    bits = dtype_bits(dtype)
    moved = get_dataflow(params.dataflow).pe_register_bits(bits, dtype_bits(acc))
    pricer.book.dynamic[(name, "pe_register")] = Price(name, "pe_register", pricer.energy(reg, who) * moved,
                                                       "MAC", (reg.label,))
    pes = params.rows * params.cols
    held = 2 * bits + dtype_bits(acc)
    reg_area = pricer.area(pricer.table.find("register", "area"), who) * held
    pricer.book.area_um2[name] = pes * (pricer.unit_area("mult", dtype, who) + pricer.unit_area("add", acc, who)
                                        + reg_area)
    if pricer.spec.include_static:
        reg_leak = pricer.energy(pricer.table.find("register", "leak"), who) * held
        pricer.book.static_mw[name] = pes * (pricer.unit_leak("mult", dtype, who) + pricer.unit_leak("add", acc, who)
                                             + reg_leak)


SYSTOLIC = register(ComponentKind("systolic", "engine", SystolicParams, SystolicArray,
                                  "R x C systolic array (dataflow plug-ins: os/ws/is, neupims_ws, onnxim_ws)",
                                  pricer=price_systolic))

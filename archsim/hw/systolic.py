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

from pydantic import Field, field_validator, model_validator

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
                          "mapping), rs (Eyeriss's row-stationary) or neupims_ws / onnxim_ws (NeuPIMs' simulator "
                          "cores)")
    compute_dtype: str | None = Field(
        default=None, description="element type the PEs and operand buffers hold (int8, int16, fp16 ...): ops of "
        "another dtype are converted to it (quantised or widened), and the run's summary lists each conversion; "
        "default none: every op moves and computes in its own dtype")
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

    @model_validator(mode="before")
    @classmethod
    def _word_bytes_was_replaced(cls, data):
        if isinstance(data, dict) and "word_bytes" in data:
            raise ValueError("word_bytes is no longer a systolic key: an array moves each op's own dtype; set "
                             "compute_dtype (e.g. int8) if the array converts ops to one element type")
        return data

    @field_validator("compute_dtype")
    @classmethod
    def _known_dtype(cls, value: str | None) -> str | None:
        from archsim.workload.graph import DTYPE_BYTES

        if value is not None and value not in DTYPE_BYTES:
            raise ValueError(f"unknown dtype {value!r}; expected one of {sorted(DTYPE_BYTES)}")
        return value

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
    return (op.kind, op.dtype, tuple(sorted(op.dims.items())), op.seq_lens, op.ragged_dim, op.macs, op.flops,
            op.input_bytes, op.weight_bytes, op.output_bytes, op.kv_cache_bytes)


class SystolicArray:
    """Engine model of ``kind: systolic``: its dataflow turns an op into a Demand."""

    def __init__(self, name: str, params: SystolicParams, arch) -> None:
        from archsim.hw.sram import Sram

        self.name = name
        self.params = params
        self.clock_ghz = arch.engine_clock_ghz(name)
        self.dataflow = get_dataflow(params.dataflow)
        # working bytes of the three operand buffers, and the DRAM port's bytes per engine cycle
        self.buffer_bytes = tuple(Sram(arch.memories[m]).working_words * arch.memories[m].word_bytes
                                  for m in (params.ifmap_sram, params.filter_sram, params.ofmap_sram))
        self.dram_bytes_per_cycle = memory_port_gbps(arch, params.dram) / self.clock_ghz
        self._demands: dict[tuple, Demand] = {}
        self._recent: dict[tuple, tuple] = {}     # (id(op), placement) -> (op, demand): ops that recur as objects

    @property
    def peak_macs_per_cycle(self) -> int:
        """R*C MACs per cycle."""
        return self.params.rows * self.params.cols

    def compute_dtype(self, op: TraceOp) -> str:
        """The element type the array runs ``op`` in: ``compute_dtype`` if set, else the op's own."""
        return self.params.compute_dtype or op.dtype

    def word_bytes(self, op: TraceOp) -> int:
        """Bytes of one operand word of ``op`` on this array (of ``compute_dtype(op)``)."""
        from archsim.workload.graph import DTYPE_BYTES

        return DTYPE_BYTES[self.compute_dtype(op)]

    def stored_weight_bytes(self, op: TraceOp) -> int:
        """Bytes of ``op``'s weights as the array holds them: in ``compute_dtype`` when it converts ops."""
        from archsim.workload.graph import DTYPE_BYTES

        own = DTYPE_BYTES.get(op.dtype, 0)
        return int(op.weight_bytes) if not own else int(op.weight_bytes) * self.word_bytes(op) // own

    def buffer_words(self, word_bytes: int) -> tuple[int, int, int]:
        """Working capacity of the ifmap, filter and ofmap buffers in words of ``word_bytes``."""
        return tuple(b // word_bytes for b in self.buffer_bytes)

    @property
    def scratchpad_bytes(self) -> int:
        """Working bytes of the distinct on-chip buffers behind the array (what a memory planner may use)."""
        p = self.params
        return int(sum(dict(zip((p.ifmap_sram, p.filter_sram, p.ofmap_sram), self.buffer_bytes)).values()))

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
            demand = self._demands[key] = self._typed(op, self.dataflow.demand(self, op, scales))
        if len(self._recent) > 8192:
            self._recent.clear()
        self._recent[fast] = (op, demand)
        return demand

    def _typed(self, op: TraceOp, demand: Demand) -> Demand:
        """``demand`` with its MAC actions priced at the dtype the array runs ``op`` in (``mac[fp16]``) and,
        when the array converts the op to its ``compute_dtype``, that dtype recorded."""
        from dataclasses import replace

        dtype = self.compute_dtype(op)
        return replace(demand, actions={f"{a}[{dtype}]": c for a, c in demand.actions.items()},
                       dtype=dtype if dtype != op.dtype else "")

    def split(self, op: TraceOp, n: int):
        """``n`` shares of ``op`` for identical arrays (``archsim.hw.dataflows.Split``)."""
        return self.dataflow.split(self, op, n)

    def traffic(self, word_bytes: int, ifmap_sram: float, filter_sram: float, ofmap_write: float, ofmap_read: float,
                dram_ifmap: float, dram_filter: float, dram_ofmap_write: float, dram_ofmap_read: float) -> dict:
        """Words of ``word_bytes`` of each access kind -> the ``traffic_bytes`` dict (bytes; one key per memory,
        operand and direction, zeros kept so that every op of an array has the same columns). What the array
        reads from DRAM lands in an operand SRAM first: those fills are SRAM writes (``<sram>.<operand>_fill.
        write``), and an output written back to DRAM is read out of the OFMAP SRAM (``ofmap_drain.read``)."""
        p = self.params
        out = {f"{p.ifmap_sram}.ifmap.read": ifmap_sram, f"{p.filter_sram}.filter.read": filter_sram,
               f"{p.ofmap_sram}.ofmap.write": ofmap_write, f"{p.ofmap_sram}.ofmap.read": ofmap_read,
               f"{p.ifmap_sram}.ifmap_fill.write": dram_ifmap, f"{p.filter_sram}.filter_fill.write": dram_filter,
               f"{p.ofmap_sram}.ofmap_fill.write": dram_ofmap_read,
               f"{p.ofmap_sram}.ofmap_drain.read": dram_ofmap_write,
               f"{p.dram}.ifmap.read": dram_ifmap, f"{p.dram}.filter.read": dram_filter,
               f"{p.dram}.ofmap.write": dram_ofmap_write, f"{p.dram}.ofmap.read": dram_ofmap_read}
        acc: dict[str, float] = {}
        for k, words in out.items():
            acc[k] = acc.get(k, 0.0) + float(words) * word_bytes
        return acc


def price_systolic(pricer, name: str, params: SystolicParams) -> None:
    """Energy prices of an array: one ``mac[d]`` (a MAC run in dtype d) = multiply(d) + add(accumulator of d);
    each MAC also moves operands through PE pipeline registers (``pe_register[d]``, bits per MAC from the
    dataflow). ``energy.engine_dtype.<name>`` prices every MAC at that one dtype. The hardware (area, static
    power = PEs x (multiplier + adder + register leakage)) is built for ``energy.engine_dtype.<name>``, else
    ``compute_dtype``, else the widest dtype the run gave the array, else int8 (an area-only estimate)."""
    from archsim.energy.prices import ACCUMULATOR, Price, dtype_bits
    from archsim.energy.table import EnergyError

    who = f"engines.{name}"
    forced = pricer.spec.engine_dtype.get(name)
    hw_dtype = forced or params.compute_dtype or pricer.widest_dtype_run(name) or "int8"
    for dtype in (hw_dtype, forced) if forced else (hw_dtype,):
        if dtype not in ACCUMULATOR:
            raise EnergyError(f"{who}: no MAC energy for dtype {dtype!r} (the table covers {sorted(ACCUMULATOR)})")
    reg = pricer.table.find("register", "read")
    flow = get_dataflow(params.dataflow)
    for op_dtype in ACCUMULATOR:
        dtype = forced or op_dtype
        acc = ACCUMULATOR[dtype]
        e_mul, l_mul = pricer.unit_energy("mult", "op", dtype, who)
        e_add, l_add = pricer.unit_energy("add", "op", acc, who)
        pricer.book.dynamic[(name, f"mac[{op_dtype}]")] = Price(name, f"mac[{op_dtype}]", e_mul + e_add, "MAC",
                                                               (l_mul, l_add))
        moved = flow.pe_register_bits(dtype_bits(dtype), dtype_bits(acc))
        pricer.book.dynamic[(name, f"pe_register[{op_dtype}]")] = Price(
            name, f"pe_register[{op_dtype}]", pricer.energy(reg, who) * moved, "MAC", (reg.label,))
    acc = ACCUMULATOR[hw_dtype]
    pes = params.rows * params.cols
    held = 2 * dtype_bits(hw_dtype) + dtype_bits(acc)
    reg_area = pricer.area(pricer.table.find("register", "area"), who) * held
    pricer.book.area_um2[name] = pes * (pricer.unit_area("mult", hw_dtype, who) + pricer.unit_area("add", acc, who)
                                        + reg_area)
    if pricer.spec.include_static:
        reg_leak = pricer.energy(pricer.table.find("register", "leak"), who) * held
        pricer.book.static_mw[name] = pes * (pricer.unit_leak("mult", hw_dtype, who)
                                             + pricer.unit_leak("add", acc, who) + reg_leak)


SYSTOLIC = register(ComponentKind("systolic", "engine", SystolicParams, SystolicArray,
                                  "R x C systolic array (dataflow plug-ins: os/ws/is, rs, neupims_ws, onnxim_ws)",
                                  pricer=price_systolic))

"""FPGA LLM accelerators (``kind: fpga_llm``): the device's resources, the design placed on it, and the
timing of the decoupled instruction modules FlightLLM (Zeng et al., FPGA'24) runs.

**Device** (``device:``): the part's DSP slices (DSP48E2 on UltraScale+, DSP58 on Versal) and the INT8 MACs
one slice does per cycle (2 on a DSP48E2 packing two activations against one weight, Xilinx WP486; 3 on a
DSP58's INT8 vector mode), 36 Kb block RAMs, 288 Kb UltraRAMs, super logic regions, HBM as pseudo-channels
(per-channel bandwidth and size) and DDR.

**Design** (``design:``): what the bitstream instantiates — cores (one per SLR in FlightLLM), each with a
matrix processing engine (MM mode: ``mm_parallel`` n × k × m MACs per cycle; MV mode: ``mv_parallel``),
a special function unit of ``sfu_lanes`` lanes and its buffers. ``check_resources`` refuses a design that
does not fit its device, naming the resource and by how much it is over (a ``ConfigError`` at load).

**Instructions** (``Instruction``): LD / ST / MM / MV / MISC / SYS, each on its own module queue, with
wait/release tokens to the other modules (``archsim.mapping.fpga_streams`` compiles and runs them). The
model times one instruction when nothing competes:

* LD/ST: bytes over ``channels`` pseudo-channels at the same-channel efficiency (one channel at the
  cross-channel efficiency when the data crosses channels); weights stored narrower than the INT8 buffer
  (INT4: half) or compressed N:M move ``hbm_bytes_per_byte`` of a byte per buffer byte. A zero-filling LD
  moves nothing and writes ``a_mm_channel_bytes`` per channel per cycle;
* MM / MV: the instruction's tile (``mm_tile``/``mv_tile`` columns and rows, ``k_blocks`` blocks of
  ``fsb_block`` along K, times the N:M density) over the mode's MACs per cycle;
* MISC: ``k_blocks × fsb_block`` elements over the SFU lanes, twice for two-pass ops (softmax, (RMS)norm);
* SYS: one cycle.

The times are those of one core holding the whole stream; ``cores × core_parallel_efficiency`` of them
share it (FlightLLM's artifact divides every instruction time by a "correction factor" of 3.2 — archsim
reads it as 4 SLR cores at 0.8 parallel efficiency and says so). Time is kept in ticks of
1/``ticks_per_cycle`` fabric cycle, so fractional instruction times (a 4 KiB LD is 0.6 cycles at VHK158
rates) add up as in the artifact instead of each being rounded up to a cycle.
"""
from __future__ import annotations

import math

import numpy as np
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator, model_validator

from archsim.config.schema import StrictModel
from archsim.hw.demand import Demand, Phase
from archsim.hw.registry import ComponentKind, register

MODULES = ("LD", "ST", "MM", "MV", "MISC", "SYS")
"""The decoupled instruction modules, in FlightLLM's order."""

MISC_OPS = ("eltwise_add", "eltwise_mul", "softmax", "layernorm", "RMSlayernorm", "silu")
TWO_PASS_MISC = frozenset({"softmax", "layernorm", "RMSlayernorm"})

BRAM36_BYTES = 36 * 1024 // 8
URAM_BYTES = 288 * 1024 // 8


class HbmParams(StrictModel):
    channels: int = Field(gt=0, description="pseudo-channels")
    channel_gbps: float = Field(gt=0, description="peak bandwidth of one pseudo-channel, GB/s")
    channel_mib: float = Field(gt=0, description="capacity of one pseudo-channel, MiB")
    same_channel_efficiency: float = Field(gt=0, le=1, description="fraction of peak a stream within its "
                                           "channel reaches")
    cross_channel_efficiency: float = Field(gt=0, le=1, description="fraction of peak an access crossing "
                                            "channels reaches")

    @property
    def total_gbps(self) -> float:
        return self.channels * self.channel_gbps

    @property
    def total_bytes(self) -> float:
        return self.channels * self.channel_mib * 2**20


class DdrParams(StrictModel):
    channels: int = Field(gt=0)
    channel_gbps: float = Field(gt=0, description="peak bandwidth of one DDR channel, GB/s")
    channel_gib: float = Field(gt=0, description="capacity of one DDR channel, GiB")


class DeviceParams(StrictModel):
    part: str = Field(description="device part number")
    dsp_kind: Literal["dsp48e2", "dsp58"]
    dsp_count: int = Field(gt=0, description="DSP slices on the device")
    int8_macs_per_dsp: int = Field(gt=0, description="INT8 MACs one DSP slice does per cycle")
    bram36_count: int = Field(ge=0, description="36 Kb block RAMs")
    uram_count: int = Field(ge=0, description="288 Kb UltraRAMs")
    slrs: int = Field(gt=0, description="super logic regions (dies)")
    max_cascade_dsps: int = Field(gt=0, description="longest DSP cascade a column allows")
    hbm: HbmParams
    ddr: DdrParams | None = None

    @property
    def on_chip_bytes(self) -> int:
        return self.bram36_count * BRAM36_BYTES + self.uram_count * URAM_BYTES


class Parallel(StrictModel):
    n: int = Field(gt=0)
    k: int = Field(gt=0)
    m: int = Field(gt=0)

    @property
    def macs(self) -> int:
        return self.n * self.k * self.m


class Tile(StrictModel):
    n: int = Field(gt=0, description="output columns one instruction computes")
    m: int = Field(gt=0, description="rows (tokens) one instruction computes")


class BufferParams(StrictModel):
    """One core's buffers (FlightLLM's A weight, B activation, global output, meta index, FSB, bias)."""

    a_depth: int = Field(gt=0)
    a_bank_bytes: int = Field(gt=0)
    a_mm_banks_per_channel: int = Field(gt=0)
    a_mv_banks_per_channel: int = Field(gt=0)
    a_channels: int = Field(gt=0, description="HBM channels the A buffer loads from at once")
    b_depth: int = Field(gt=0)
    b_mm_bytes: int = Field(gt=0)
    b_mv_bytes: int = Field(gt=0)
    global_depth: int = Field(gt=0)
    global_bank_bytes: int = Field(gt=0)
    global_mm_banks_per_channel: int = Field(gt=0)
    global_mv_banks_per_channel: int = Field(gt=0)
    global_channels: int = Field(gt=0)
    meta_depth: int = Field(gt=0)
    meta_bytes: int = Field(gt=0)
    fsb_depth: int = Field(gt=0)
    fsb_bytes: int = Field(gt=0)
    bias_depth: int = Field(gt=0)
    bias_bytes: int = Field(gt=0)

    @property
    def a_mm_channel_bytes(self) -> int:
        return self.a_bank_bytes * self.a_mm_banks_per_channel

    @property
    def a_mv_channel_bytes(self) -> int:
        return self.a_bank_bytes * self.a_mv_banks_per_channel

    @property
    def global_mv_channel_bytes(self) -> int:
        return self.global_bank_bytes * self.global_mv_banks_per_channel

    @property
    def bytes(self) -> int:
        """On-chip bytes of one core's buffers (A and global at their widest, MM, configuration)."""
        return (self.a_depth * self.a_mm_channel_bytes * self.a_channels
                + self.b_depth * self.b_mm_bytes
                + self.global_depth * self.global_bank_bytes * self.global_mm_banks_per_channel * self.global_channels
                + self.meta_depth * self.meta_bytes + self.fsb_depth * self.fsb_bytes
                + self.bias_depth * self.bias_bytes)


class DesignParams(StrictModel):
    cores: int = Field(gt=0, description="accelerator cores (FlightLLM: one per SLR)")
    mm_parallel: Parallel
    mv_parallel: Parallel
    mm_tile: Tile
    mv_tile: Tile
    sfu_lanes: int = Field(gt=0, description="elements per cycle of every MISC op")
    sfu_dsps: int = Field(default=0, ge=0, description="DSPs of one core's SFU (FP16 softmax/norm)")
    fsb_block: int = Field(gt=0, description="sparse block edge (N:M with M = fsb_block)")
    dsp_group: int = Field(default=2, gt=0, description="DSPs cascaded inside one DSP group of a chain")
    chain_dsps: int = Field(gt=0, description="DSPs in one configurable sparse DSP chain (one VPU)")
    buffers: BufferParams
    core_parallel_efficiency: float = Field(gt=0, le=1, description="fraction of the cores' combined rate one "
                                            "instruction stream reaches (cores × this = the artifact's 3.2)")

    def mpe_dsps(self, macs_per_dsp: int) -> int:
        """DSPs of one core's matrix engine: the wider of its two modes, at ``macs_per_dsp`` MACs each."""
        return math.ceil(max(self.mm_parallel.macs, self.mv_parallel.macs) / macs_per_dsp)


@dataclass(frozen=True)
class ResourceUse:
    """One resource of a design against its device: ``used`` and ``available`` in ``unit``."""

    resource: str
    used: float
    available: float
    unit: str
    key: str

    @property
    def over(self) -> float:
        return self.used - self.available

    @property
    def fraction(self) -> float:
        return self.used / self.available if self.available else math.inf


def resource_use(device: DeviceParams, design: DesignParams) -> list[ResourceUse]:
    """The design's use of every checked resource of ``device``: DSPs, on-chip RAM bytes (block RAM plus
    UltraRAM), DSP cascade length, and cores against SLRs."""
    dsps = design.cores * (design.mpe_dsps(device.int8_macs_per_dsp) + design.sfu_dsps)
    return [
        ResourceUse(f"{device.dsp_kind.upper()} slices", dsps, device.dsp_count, "DSPs", "design.mm_parallel"),
        ResourceUse("on-chip RAM (BRAM36 + URAM)", design.cores * design.buffers.bytes, device.on_chip_bytes,
                    "bytes", "design.buffers"),
        ResourceUse("DSP cascade", design.chain_dsps, device.max_cascade_dsps, "DSPs", "design.chain_dsps"),
        ResourceUse("SLRs (one core each)", design.cores, device.slrs, "cores", "design.cores"),
    ]


class DesignDoesNotFit(ValueError):
    """A design needs more of a resource than its device has; ``key_path`` is the design key to change."""

    def __init__(self, key_path: str, message: str):
        super().__init__(message)
        self.key_path = key_path


def check_resources(device: DeviceParams, design: DesignParams) -> None:
    """``DesignDoesNotFit`` naming every resource the design needs more of than ``device`` has, and how much
    more (the config loader reports it as a ConfigError at the first one's key)."""
    over = [u for u in resource_use(device, design) if u.over > 0]
    if over:
        raise DesignDoesNotFit(over[0].key, "; ".join(
            f"the design needs {u.used:,.0f} {u.unit} of {u.resource} but {device.part} has "
            f"{u.available:,.0f} (over by {u.over:,.0f}, {u.fraction:.0%}; {u.key})" for u in over))


PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "fc1", "fc2", "lm_head")
"""The linear layers of a LLaMA-class (gate/up/down) or OPT-class (fc1/fc2) decoder the compiler lowers (keys of ``CompileOptions.densities``)."""


class CompileOptions(StrictModel):
    """How FlightLLM's compiler (``archsim.mapping.fpga_compile``) lowers a trace for this design: the
    ``compiler:`` block of a ``kind: fpga_llm`` engine (``--set engines.flightllm.compiler.always_on_chip=false``).

    ``weight_bits`` and ``densities`` (N:M non-zero fraction per projection) are how the weights are stored;
    ``attention_bias`` adds bias loads to q/k/v/o; ``always_on_chip`` fuses the decode epilogues (off: every
    epilogue and softmax round-trips HBM); ``kv_append_reloads`` re-reads the past K and V when appending (the
    artifact's lowering); ``artifact_tiling`` reproduces the artifact's two over-fetches; programs are
    compiled per ``decode_bucket`` / ``prefill_bucket`` tokens (length-adaptive compilation)."""

    weight_bits: float = Field(default=4.0, ge=1, le=16, description="bits per stored weight (INT4: 4)")
    densities: dict[str, float] = Field(default_factory=dict, description="N:M non-zero fraction per projection")
    attention_bias: bool = False
    always_on_chip: bool = True
    kv_append_reloads: bool = False
    artifact_tiling: bool = False
    decode_bucket: int = Field(default=16, ge=1, description="decode programs are compiled per this many tokens")
    prefill_bucket: int = Field(default=128, ge=1, description="prefill programs are compiled per this many tokens")

    @field_validator("densities")
    @classmethod
    def _densities(cls, v: dict[str, float]) -> dict[str, float]:
        for name, d in v.items():
            if name not in PROJECTIONS:
                raise ValueError(f"density of {name!r}: not a projection (expected one of {PROJECTIONS})")
            if not 0 < d <= 1:
                raise ValueError(f"density of {name}: {d} is not in (0, 1]")
        return v

    @staticmethod
    def artifact() -> "CompileOptions":
        """The FlightLLM artifact's setting (profile/.compiler_output IR): INT4 weights, q/k projections at
        0.7 density, biases on q/k/v/o, the KV-append layer re-reading the past KV, and its over-fetch
        (``artifact_tiling``). The shipped configs' ``compiler:`` block."""
        return CompileOptions(weight_bits=4.0, densities={"q_proj": 0.7, "k_proj": 0.7}, attention_bias=True,
                              kv_append_reloads=True, artifact_tiling=True)

    def density(self, projection: str) -> float:
        """Non-zero fraction of ``projection``'s weights (1: dense)."""
        return float(self.densities.get(projection, 1.0))


class FpgaLlmParams(StrictModel):
    kind: Literal["fpga_llm"]
    clock_mhz: float = Field(gt=0, description="fabric clock of the design, MHz")
    ticks_per_cycle: int = Field(default=1000, gt=0, description="time resolution: engine ticks per fabric cycle")
    board_power_w: float | None = Field(default=None, gt=0, description="board power while generating, W")
    device: DeviceParams
    design: DesignParams
    compiler: CompileOptions = Field(default_factory=CompileOptions, description="how the compiler lowers for it")

    @model_validator(mode="after")
    def _fits(self):
        check_resources(self.device, self.design)
        return self


@dataclass(frozen=True, slots=True)
class Instruction:
    """One FlightLLM instruction. ``module`` is its queue; ``wait``/``release`` the modules it takes a token
    from before starting / gives one to when done. LD/ST: ``bytes`` (buffer bytes, INT8 elements) over
    ``channels`` pseudo-channels, ``cross_channel``, ``hbm_bytes_per_byte`` (HBM bytes per buffer byte:
    0.5 for INT4 weights), ``zero_fill``. MM/MV/MISC: ``k_blocks`` blocks of K, ``density`` (N:M non-zero
    fraction, 1 dense), ``misc_op``. ``what``: what it moves or computes (``weight``, ``kv``, ``act`` …) for the tables."""

    module: str
    wait: tuple[str, ...] = ()
    release: tuple[str, ...] = ()
    bytes: int = 0
    channels: int = 1
    cross_channel: bool = False
    hbm_bytes_per_byte: float = 1.0
    zero_fill: bool = False
    k_blocks: int = 0
    density: float = 1.0
    misc_op: str = ""
    what: str = ""

    @property
    def hbm_bytes(self) -> float:
        """Bytes that cross HBM (0 for compute, SYS and zero-filling loads)."""
        if self.module not in ("LD", "ST") or self.zero_fill:
            return 0.0
        return self.bytes * self.hbm_bytes_per_byte


class FpgaLlm:
    """Engine model of ``kind: fpga_llm``: times FlightLLM instructions (see module docstring), in fabric
    cycles (``clock_ghz``), fractional — the engine keeps time in 1/``ticks_per_cycle`` cycles so they add
    up. A program runs on its module queues (``module_queues``); the board's HBM is its own port."""

    def __init__(self, name: str, params: FpgaLlmParams, arch=None) -> None:
        self.name = name
        self.params = params
        self.arch = arch
        self.device = params.device
        self.design = params.design
        self.fabric_ghz = params.clock_mhz / 1e3
        self.clock_ghz = self.fabric_ghz
        self.ticks_per_cycle = params.ticks_per_cycle
        self.speedup = self.design.cores * self.design.core_parallel_efficiency
        self._cache: dict[Instruction, float] = {}

    @property
    def peak_macs_per_cycle(self) -> float:
        """Peak INT8 MACs per fabric cycle over every core's matrix engine in MM mode."""
        return self.design.cores * self.design.mm_parallel.macs

    def supports(self, op) -> bool:
        """FlightLLM instructions only (its compiler, ``--mapper flightllm``, lowers a trace to them)."""
        return isinstance(op, (Instruction, InstructionRun))

    def module_queues(self) -> dict[str, "FpgaModule"]:
        """The engine's instruction modules as event-engine queues: ``<name>.<module>`` -> its view."""
        return {f"{self.name}.{m}": FpgaModule(self, m) for m in MODULES}

    def channel_bytes_per_cycle(self, efficiency: float) -> float:
        """Bytes one pseudo-channel moves per fabric cycle at ``efficiency``."""
        return self.device.hbm.channel_gbps * efficiency / self.fabric_ghz

    def fabric_cycles(self, inst: Instruction) -> float:
        """Uncontended fabric cycles of ``inst`` on one core holding the whole stream (fractional)."""
        hit = self._cache.get(inst)
        if hit is not None:
            return hit
        d, hbm = self.design, self.device.hbm
        m = inst.module
        if m in ("LD", "ST"):
            if inst.zero_fill:
                cycles = inst.bytes / (d.buffers.a_mm_channel_bytes * inst.channels)
            else:
                eff = hbm.cross_channel_efficiency if inst.cross_channel else hbm.same_channel_efficiency
                cycles = inst.hbm_bytes / (self.channel_bytes_per_cycle(eff) * inst.channels)
        elif m == "MM":
            cycles = d.mm_tile.m * inst.k_blocks * d.fsb_block * d.mm_tile.n * inst.density / d.mm_parallel.macs
        elif m == "MV":
            cycles = d.mv_tile.m * inst.k_blocks * d.fsb_block * d.mv_tile.n * inst.density / d.mv_parallel.macs
        elif m == "MISC":
            passes = 2 if inst.misc_op in TWO_PASS_MISC else 1
            cycles = inst.k_blocks * d.fsb_block / d.sfu_lanes * passes
        elif m == "SYS":
            cycles = 1.0
        else:
            raise ValueError(f"unknown FlightLLM module {m!r} (expected one of {MODULES})")
        self._cache[inst] = cycles
        return cycles

    def seconds(self, inst: Instruction) -> float:
        """Uncontended time of ``inst`` on the design (all cores sharing the stream), seconds."""
        return self.fabric_cycles(inst) / self.speedup / (self.fabric_ghz * 1e9)

    def own_ports(self) -> dict[str, float]:
        """The board's HBM as the event engine's port: name -> GB/s. FlightLLM partitions every tensor evenly
        over the channels each core owns, so the channels fill and drain together and one port with their
        summed bandwidth shares them exactly as per-channel ports would."""
        return {f"{self.name}.hbm": self.device.hbm.total_gbps}

    def demand(self, op, resident: frozenset[str] = frozenset(), **_placement) -> Demand:
        """Demand of one instruction (or of a run of them, ``InstructionRun``): its fabric cycles over the
        cores (fractional), its HBM bytes over the HBM port."""
        insts = op.instructions if isinstance(op, InstructionRun) else (op,)
        cycles = sum(self.fabric_cycles(i) for i in insts) / self.speedup
        hbm = sum(i.hbm_bytes for i in insts)
        ports = self.own_ports()
        streams = tuple((p, hbm / len(ports)) for p in ports) if hbm > 0 else ()
        compute = math.ceil(cycles - 1e-9) if insts[0].module in ("MM", "MV", "MISC") else 0
        macs = 0
        if insts[0].module in ("MM", "MV"):
            tile = self.design.mm_tile if insts[0].module == "MM" else self.design.mv_tile
            macs = int(sum(tile.m * tile.n * i.k_blocks * self.design.fsb_block * i.density for i in insts))
        key = "read" if insts[0].module == "LD" else "write"
        return Demand((Phase(cycles, streams),), compute_cycles=compute, macs=macs,
                      traffic_bytes={f"{self.name}.hbm.{key}": hbm} if hbm else {})

    def split(self, op, n: int):
        raise NotImplementedError("FlightLLM instruction streams are compiled per core count, not split")


@dataclass(frozen=True)
class InstructionRun:
    """Instructions of one module run back to back as one task (``archsim.mapping.fpga_streams``)."""

    instructions: tuple[Instruction, ...]

    @property
    def module(self) -> str:
        return self.instructions[0].module


class FpgaModule:
    """One instruction module of an ``FpgaLlm`` as a queue of the event engine: the engine's timing, the
    module's own peak (MM mode for MM, MV mode for MV, no MAC units elsewhere)."""

    def __init__(self, engine: FpgaLlm, module: str):
        self.engine, self.module = engine, module
        self.name = f"{engine.name}.{module}"
        self.clock_ghz = engine.clock_ghz
        self.ticks_per_cycle = engine.ticks_per_cycle
        parallel = {"MM": engine.design.mm_parallel, "MV": engine.design.mv_parallel}.get(module)
        self.peak_macs_per_cycle = engine.design.cores * parallel.macs if parallel is not None else 0

    def supports(self, op) -> bool:
        return self.engine.supports(op) and op.module == self.module

    def own_ports(self) -> dict[str, float]:
        return self.engine.own_ports()

    def demand(self, op, resident: frozenset[str] = frozenset(), **placement) -> Demand:
        return self.engine.demand(op, resident, **placement)

    def split(self, op, n: int):
        return self.engine.split(op, n)


def price_fpga_llm(pricer, name: str, p: FpgaLlmParams) -> None:
    """An FPGA board measured at the wall: no per-action energy; ``board_power_w`` is its power over the run."""
    from archsim.energy.table import EnergyError

    if p.board_power_w is None:
        raise EnergyError(f"engines.{name}: an FPGA board's energy is its board power; set board_power_w")
    pricer.book.area_um2[name] = float("nan")
    if pricer.spec.include_static:
        pricer.book.static_mw[name] = p.board_power_w * 1e3


FPGA_LLM = register(ComponentKind("fpga_llm", "engine", FpgaLlmParams, FpgaLlm,
                                  "FPGA LLM accelerator (FlightLLM): DSP-chain matrix engine, SFU, decoupled "
                                  "LD/ST/MM/MV/MISC/SYS instruction modules over HBM pseudo-channels",
                                  pricer=price_fpga_llm, mapper="flightllm"))


# ---------------------------------------------------------------------------------------------- DSP chains
TILE_OPS = ("gemm", "gemv", "spmm", "spmv", "sddmm")


@dataclass(frozen=True)
class ChainTile:
    """One tile on a core's DSP chains: ``cycles`` (fabric), ``useful_macs`` (non-zero MACs), overflow
    ``splits`` the OAU made, the DSPs and MACs per DSP it ran on; ``utilization`` = useful MACs over the
    DSPs' MAC slots during the tile."""

    op: str
    cycles: int
    useful_macs: int
    splits: int
    outputs: int
    dsps: int
    pack: int

    @property
    def utilization(self) -> float:
        return self.useful_macs / (self.cycles * self.dsps * self.pack) if self.cycles else 0.0


def nm_density(nm: str | tuple[int, int] | None) -> tuple[int, int]:
    """``"N:M"`` (or (N, M), None = dense 1:1) as (N, M), checked: 0 < N <= M."""
    if nm is None:
        return 1, 1
    if isinstance(nm, str):
        try:
            a, b = (int(x) for x in nm.split(":"))
        except ValueError:
            raise ValueError(f"N:M sparsity {nm!r}: expected two integers 'N:M'") from None
    else:
        a, b = nm
    if not 0 < a <= b:
        raise ValueError(f"N:M sparsity {a}:{b}: expected 0 < N <= M")
    return a, b


def dsp_chain_tile(op: str, m: int, k: int, n: int, device: DeviceParams, design: DesignParams, *,
                   nm: str | tuple[int, int] | None = None, nnz_cols: np.ndarray | None = None,
                   configurable: bool = True, oau: bool = True, mode: str | None = None,
                   block_mask: np.ndarray | None = None, block: int = 64, oau_dsps: int = 8) -> ChainTile:
    """Cycles and DSP utilisation of one ``m`` × ``k`` × ``n`` tile of ``op`` (gemm, gemv, spmm, spmv,
    sddmm) on one core's chains (``archsim.kernels.dsp_chain``). MM mode (gemm/spmm/sddmm) runs
    ``mm_parallel`` MACs per cycle, MV mode (gemv/spmv) ``mv_parallel``; each chain is ``chain_dsps`` long
    with ``int8_macs_per_dsp`` packed operands. Sparse weights: ``nm`` ("N:M") or per-column non-zeros
    ``nnz_cols``; ``configurable=False`` is the fixed dense chain (zeros are multiplied); ``block_mask``:
    SDDMM's computed ``block`` × ``block`` output blocks."""
    from archsim.kernels.dsp_chain import chain_tile_cycles

    if op not in TILE_OPS:
        raise ValueError(f"tile op {op!r}: expected one of {TILE_OPS}")
    if op in ("gemv", "spmv") and m != 1:
        raise ValueError(f"{op} is a matrix-vector product: m must be 1, got {m}")
    mode = mode or ("MV" if op in ("gemv", "spmv") else "MM")
    pack = device.int8_macs_per_dsp
    macs = (design.mv_parallel if mode == "MV" else design.mm_parallel).macs
    chains = max(1, macs // (design.chain_dsps * pack))
    if nnz_cols is None:
        a, b = nm_density(nm if op in ("spmm", "spmv") else None)
        nnz_cols = np.full(n, math.ceil(k * a / b), dtype=np.int64)
    nnz_cols = np.asarray(nnz_cols, dtype=np.int64)
    if nnz_cols.shape != (n,) or (nnz_cols < 0).any() or (nnz_cols > k).any():
        raise ValueError(f"nnz_cols: expected {n} counts in [0, {k}]")
    if block_mask is None:
        block_mask = np.ones((1, 1), dtype=np.uint8)
        block = max(m, n, 1)
    block_mask = np.asarray(block_mask, dtype=np.uint8)
    rows, kpack = m, pack
    if m < pack:
        # a matrix-vector product packs columns instead: two weights against the shared activation
        g = -(-n // pack)
        padded = np.zeros(g * pack, dtype=np.int64)
        padded[:n] = nnz_cols
        pairs = padded.reshape(g, pack)
        cols = pairs.max(axis=1)
        cycles, _, splits, outs = chain_tile_cycles(1, k, cols, chains, design.chain_dsps, 1, design.dsp_group,
                                                    int(configurable), int(oau), oau_dsps,
                                                    np.ones((1, 1), np.uint8), max(g, 1))
        useful = int(nnz_cols.sum()) * rows
        return ChainTile(op, int(cycles), useful, int(splits), n, chains * design.chain_dsps, kpack)
    cycles, useful, splits, outs = chain_tile_cycles(rows, k, nnz_cols, chains, design.chain_dsps, pack,
                                                     design.dsp_group, int(configurable), int(oau), oau_dsps,
                                                     block_mask, block)
    return ChainTile(op, int(cycles), int(useful), int(splits), int(outs), chains * design.chain_dsps, kpack)

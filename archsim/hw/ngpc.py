"""Neural Graphics Processing Cluster (``kind: ngpc``; Mubarik et al., "Hardware Acceleration of Neural
Graphics", ISCA 2023): ``nfps`` Neural Field Processors attached to a GPU's L2.

One NFP = an **input-encoding engine** — ``level_units`` units (16: one per grid level; with fewer levels,
``level_units / L`` queries are encoded at once), each with its own grid SRAM of ``level_sram_kib`` and a
trilinear/bilinear interpolator — fused with an **MLP engine**, a ``mlp_rows × mlp_cols`` weight-stationary
MAC array running one layer at a time on chunks of ``mlp_chunk_queries`` queries that the encoder writes
straight into its input buffer (no memory round trip). Cycle accounting: ``archsim.kernels.ngpc_timing``
(corner indices are tiny-cuda-nn's hash / dense index of a seeded sample of real coordinates, so bank
conflicts and misses are those of the real tables).

**Miss path.** A level whose table (entries × features × ``table_bytes_per_feature``) exceeds its SRAM keeps
its first entries resident; every corner lookup above them fetches a ``miss_sector_bytes`` sector over the
``memory`` port (the GPU's L2/DRAM), a stream of the task's demand, so it shares that port's bandwidth
with everything else on the engine. The reference's contradiction (a T = 2^19 level is 2 MiB at FP16 vs a
1 MB SRAM) is therefore a parameter study, not an assumption baked in.

**Interface.** Query coordinates in and network outputs out cross the same port (the traffic of the paper's
Table 3). ``fused_demand`` is what a frame program runs per batch; ``demand`` of a single op (one encoding
or one MLP layer, as ``archsim run`` places them) writes its output back to memory, i.e. unfused.

Area and power are linear in ``nfps`` (the paper's Fig. 15): the pricer builds one NFP from the energy
table (grid SRAM bits, MAC array, interpolators), priced at the energy spec's node.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Literal

import numpy as np
from pydantic import Field

from archsim.config.schema import StrictModel, memory_ref
from archsim.errors import MappingError
from archsim.hw.demand import IDLE, Demand, single_phase
from archsim.hw.registry import ComponentKind, register
from archsim.hw.shares import Split, split_op
from archsim.kernels import ngpc_timing as kt
from archsim.trace import TraceOp
from archsim.trace.kinds import is_zero_cost

GRID_KINDS = ("hash_encoding", "grid_encoding")
DIRECTION_KINDS = ("sh_encoding", "frequency_encoding")


class NgpcParams(StrictModel):
    """YAML parameters of ``kind: ngpc``."""

    kind: Literal["ngpc"]
    nfps: int = Field(default=8, gt=0, description="Neural Field Processors in the cluster (the paper's scaling factor)")
    clock_ghz: float | None = Field(default=None, gt=0, description="NFP clock; default the architecture clock")
    level_units: int = Field(default=16, gt=0, description="encoding units per NFP (one per grid level)")
    lookups_per_cycle: int = Field(default=8, gt=0, description="grid-table reads per cycle of one encoding unit")
    sram_banks: int = Field(default=8, gt=0, description="single-ported banks of a unit's grid SRAM (bank = index mod banks)")
    interp_macs_per_cycle: int = Field(default=16, gt=0, description="interpolation MACs per cycle of one unit")
    level_sram_kib: float = Field(default=1024, gt=0, description="grid SRAM of one encoding unit, KiB")
    table_bytes_per_feature: int = Field(default=2, gt=0, description="bytes of one table feature in the grid SRAM")
    direction_queries_per_cycle: float = Field(default=1.0, gt=0, description="directions one NFP encodes per cycle "
                                               "(spherical harmonics / frequency unit beside the grid units)")
    mlp_rows: int = Field(default=64, gt=0, description="MLP engine MAC array rows")
    mlp_cols: int = Field(default=64, gt=0, description="MLP engine MAC array columns")
    mlp_chunk_queries: int = Field(default=2048, gt=0, description="queries per MLP pass (its activation buffer)")
    memory: str = memory_ref("the GPU L2/DRAM port coordinates, outputs and grid misses cross", ("dram", "sram"))
    miss_sector_bytes: int = Field(default=32, gt=0, description="bytes fetched per missed corner lookup")
    sample_queries: int = Field(default=4096, gt=0, description="coordinates sampled to count bank conflicts and misses")
    coordinate_seed: int = Field(default=0, description="seed of the sampled coordinates (uniform in the unit cube)")
    mac_dtype: str = Field(default="fp16", description="element type of the MLP engine and interpolators (energy/area)")


@lru_cache(maxsize=64)
def _coords(n: int, dims: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((n, dims))


class NeuralGraphicsCluster:
    """Engine model of ``kind: ngpc`` (see the module docstring)."""

    def __init__(self, name: str, params: NgpcParams, arch) -> None:
        self.name = name
        self.params = params
        self.clock_ghz = arch.engine_clock_ghz(name)
        self._levels: dict[tuple, tuple[np.ndarray, np.ndarray, int]] = {}
        self._demands: dict[tuple, Demand] = {}

    @property
    def peak_macs_per_cycle(self) -> int:
        """MLP-engine MACs per cycle of the whole cluster."""
        p = self.params
        return p.nfps * p.mlp_rows * p.mlp_cols

    def supports(self, op: TraceOp) -> bool:
        """Grid encodings, direction encodings and GEMMs (MLP layers)."""
        return op.kind in GRID_KINDS or op.kind in DIRECTION_KINDS or op.kind == "gemm" or is_zero_cost(op.kind)

    # ------------------------------------------------------------------ encoder
    def level_profile(self, op: TraceOp) -> tuple[np.ndarray, np.ndarray, int]:
        """(cycles per query of each level's unit, miss lookups per query of each level, queries a level
        encodes at once) of grid encoding ``op`` — from the Numba kernel over the sampled coordinates."""
        from archsim.workload.encodings import GRID_TYPE_CODES, levels_of

        key = tuple(sorted((k, v) for k, v in op.dims.items() if k not in ("points", "elements", "lookups")))
        hit = self._levels.get(key)
        if hit is not None:
            return hit
        p = self.params
        grid_type, levels = levels_of(op.dims)
        dims, base, features = op.dim("input_dims"), op.dim("base_resolution"), op.dim("features")
        scale = _per_level_scale(levels, base, op.dims)
        capacity = int(p.level_sram_kib * 1024 // (features * p.table_bytes_per_feature))
        entries = np.array([lv.entries for lv in levels], np.int64)
        cycles, misses = kt.encoding_sample(
            _coords(p.sample_queries, dims, p.coordinate_seed), scale,
            np.array([lv.resolution for lv in levels], np.int64), entries, np.minimum(entries, capacity),
            GRID_TYPE_CODES[grid_type], base, features, p.lookups_per_cycle, p.sram_banks, p.interp_macs_per_cycle)
        units = max(1, p.level_units // len(levels))
        if len(levels) > p.level_units:
            raise MappingError(f"{self.name}: op {op.name!r} has {len(levels)} grid levels, more than the "
                               f"{p.level_units} encoding units of an NFP")
        hit = self._levels[key] = (cycles / p.sample_queries, misses / p.sample_queries, units)
        return hit

    def _encoder(self, ops: list[TraceOp]) -> tuple[np.ndarray, int, float, float]:
        """(per-level cycles per query, queries per level at once, miss bytes per query, lookups per query)."""
        p = self.params
        per_query = [1.0 / p.direction_queries_per_cycle] if any(o.kind in DIRECTION_KINDS for o in ops) else []
        units, miss, lookups = 1, 0.0, 0.0
        for op in ops:
            if op.kind in GRID_KINDS:
                cycles, misses, units = self.level_profile(op)
                per_query += [c for c in cycles]
                miss += float(misses.sum()) * p.miss_sector_bytes
                lookups += op.dim("lookups") / op.dim("points")
        # the direction unit works beside the level units; it encodes one query per cycle whatever the levels
        if units > 1 and any(o.kind in DIRECTION_KINDS for o in ops):
            per_query[0] *= units
        return np.array(per_query or [0.0]), units, miss, lookups

    # ------------------------------------------------------------------ demands
    def fused_demand(self, ops: list[TraceOp]) -> Demand:
        """One batch through the NFPs: the batch's grid/direction encodings feed its MLP layers inside each
        NFP (fused, pipelined by chunks). Streams: query inputs in, the last layer's outputs out, grid misses."""
        key = tuple(map(_op_id, ops))
        hit = self._demands.get(key)
        if hit is not None:
            return hit
        p = self.params
        enc_ops = [o for o in ops if o.kind in GRID_KINDS or o.kind in DIRECTION_KINDS]
        gemms = [o for o in ops if o.kind == "gemm"]
        other = [o for o in ops if o not in enc_ops and o not in gemms and not is_zero_cost(o.kind)]
        if other or not gemms:
            bad = other[0].name if other else "(no MLP layer)"
            raise MappingError(f"{self.name}: a fused NFP batch is grid/direction encodings + MLP GEMMs; got {bad}")
        queries = gemms[0].dim("M") * gemms[0].dim("B", 1)
        per_level, units, miss_per_query, _ = self._encoder(enc_ops)
        ks = np.array([g.dim("K") for g in gemms], np.int64)
        ns = np.array([g.dim("N") for g in gemms], np.int64)
        cycles, enc_busy, mlp_busy = kt.nfp_batch_cycles(queries, p.nfps, per_level, units, p.mlp_rows, p.mlp_cols,
                                                         ks, ns, p.mlp_chunk_queries)
        inputs = float(sum(o.input_bytes for o in enc_ops))
        outputs = float(gemms[-1].output_bytes)
        misses = miss_per_query * queries
        macs = sum(g.macs for g in gemms)
        lookups = sum(o.dim("lookups") for o in enc_ops if o.kind in GRID_KINDS)
        hit = self._demands[key] = single_phase(
            int(cycles), {p.memory: inputs + outputs + misses}, compute_cycles=int(cycles), macs=macs,
            utilization=macs / (cycles * self.peak_macs_per_cycle) if cycles else 0.0,
            traffic_bytes={f"{p.memory}.input.read": inputs, f"{p.memory}.output.write": outputs,
                           f"{p.memory}.grid_miss.read": misses},
            actions={f"mac[{p.mac_dtype}]": float(macs), "lookup": float(lookups),
                     "interp": float(sum(o.dim("lookups") * o.dim("features") for o in enc_ops if o.kind in GRID_KINDS))})
        if len(self._demands) > 4096:
            self._demands.clear()
        return hit

    def demand(self, op: TraceOp, resident: frozenset[str] = frozenset(), **_placement) -> Demand:
        """One op alone (unfused): an encoding writes its features to ``memory``; an MLP layer reads its input
        from there and writes its output back."""
        if is_zero_cost(op.kind):
            return IDLE
        p = self.params
        if op.kind == "gemm":
            m = op.dim("M") * op.dim("B", 1)
            cycles, _, _ = kt.nfp_batch_cycles(m, p.nfps, np.zeros(1), 1, p.mlp_rows, p.mlp_cols,
                                               np.array([op.dim("K")], np.int64), np.array([op.dim("N")], np.int64),
                                               p.mlp_chunk_queries)
            moved = (0 if "input" in resident else op.input_bytes) + (0 if "output" in resident else op.output_bytes)
            return single_phase(int(cycles), {p.memory: moved}, compute_cycles=int(cycles), macs=op.macs,
                                utilization=op.macs / (cycles * self.peak_macs_per_cycle) if cycles else 0.0,
                                traffic_bytes={f"{p.memory}.input.read": float(op.input_bytes),
                                               f"{p.memory}.output.write": float(op.output_bytes)},
                                actions={f"mac[{p.mac_dtype}]": float(op.macs)})
        if op.kind in GRID_KINDS or op.kind in DIRECTION_KINDS:
            per_level, units, miss_per_query, _ = self._encoder([op])
            points = op.dim("points")
            per_nfp = math.ceil(points / p.nfps)
            cycles = math.ceil(float(per_level.max()) * per_nfp / units - 1e-9)
            misses = miss_per_query * points
            moved = op.input_bytes + op.output_bytes + misses
            return single_phase(cycles, {p.memory: moved}, compute_cycles=cycles,
                                traffic_bytes={f"{p.memory}.input.read": float(op.input_bytes),
                                               f"{p.memory}.output.write": float(op.output_bytes),
                                               f"{p.memory}.grid_miss.read": misses},
                                actions={"lookup": float(op.dims.get("lookups", 0))})
        raise MappingError(f"{self.name}: an NGPC cannot run op {op.name!r} of kind {op.kind!r}")

    def split(self, op: TraceOp, n: int) -> Split:
        """``n`` shares of ``op`` for identical clusters."""
        return split_op(op, n)


def _op_id(op: TraceOp) -> tuple:
    return (op.kind, tuple(sorted(op.dims.items())), op.input_bytes, op.output_bytes)


def _per_level_scale(levels, base: int, dims: dict) -> np.ndarray:
    """tcnn's per-level scale ``N_min·b^l − 1`` (b from the op's ``per_level_scale_ppb``)."""
    b = int(dims["per_level_scale_ppb"]) / 1e9
    return np.array([base * b ** i - 1.0 for i in range(len(levels))])


def nfp_area_um2(pricer, who: str, p: NgpcParams) -> float:
    """Area of one NFP at the energy spec's node: grid SRAM bits + MAC array + interpolators (multiplier +
    adder of ``mac_dtype`` each). Bit-cell SRAM area only (the table's row excludes periphery)."""
    sram_bits = p.level_units * p.level_sram_kib * 1024 * 8
    mac = pricer.unit_area("mult", p.mac_dtype, who) + pricer.unit_area("add", p.mac_dtype, who)
    sram = pricer.area(pricer.table.find("sram", "area"), who) * sram_bits
    return sram + (p.mlp_rows * p.mlp_cols + p.level_units * p.interp_macs_per_cycle) * mac


def nfp_peak_power_mw(pricer, who: str, p: NgpcParams, clock_ghz: float) -> float:
    """Dynamic power of one NFP with every unit busy every cycle (mW): all MACs, every unit's lookups per
    cycle (one table entry each, from a bank of its grid SRAM) and its interpolation MACs."""
    from archsim.energy.sram import sram_access

    e_mac = sum(pricer.unit_energy(c, "op", p.mac_dtype, who)[0] for c in ("mult", "add"))
    bank = sram_access(pricer.table, "read", p.level_sram_kib / p.sram_banks, who)
    entry_bits = 2 * p.table_bytes_per_feature * 8          # one entry of F = 2 features
    e_read = pricer.energy(bank.rows[0], who) / bank.rows[0].value * bank.pj_per_bit * entry_bits
    per_cycle_pj = (p.mlp_rows * p.mlp_cols + p.level_units * p.interp_macs_per_cycle) * e_mac \
        + p.level_units * p.lookups_per_cycle * e_read
    return per_cycle_pj * clock_ghz                  # pJ/cycle x Gcycle/s = mW


def price_ngpc(pricer, name: str, p: NgpcParams) -> None:
    """Prices of ``mac[<mac_dtype>]``, ``interp`` (an interpolation MAC) and ``lookup`` (one table entry read
    from a bank of a grid SRAM); area = ``nfps`` NFPs (``nfp_area_um2``). No static power row (the table's
    SRAM leakage is a placeholder)."""
    from archsim.energy.prices import Price
    from archsim.energy.sram import sram_access

    who = f"engines.{name}"
    e_mul, l_mul = pricer.unit_energy("mult", "op", p.mac_dtype, who)
    e_add, l_add = pricer.unit_energy("add", "op", p.mac_dtype, who)
    pricer.book.dynamic[(name, f"mac[{p.mac_dtype}]")] = Price(name, f"mac[{p.mac_dtype}]", e_mul + e_add, "MAC",
                                                              (l_mul, l_add))
    pricer.book.dynamic[(name, "interp")] = Price(name, "interp", e_mul + e_add, "MAC", (l_mul, l_add))
    bank = sram_access(pricer.table, "read", p.level_sram_kib / p.sram_banks, who)
    scale = pricer.energy(bank.rows[0], who) / bank.rows[0].value
    entry_bits = 2 * p.table_bytes_per_feature * 8
    pricer.book.dynamic[(name, "lookup")] = Price(name, "lookup", scale * bank.pj_per_bit * entry_bits, "lookup",
                                                  tuple(r.label for r in bank.rows), bank.method)
    pricer.book.area_um2[name] = p.nfps * nfp_area_um2(pricer, who, p)


NGPC = register(ComponentKind("ngpc", "engine", NgpcParams, NeuralGraphicsCluster,
                              "Neural Graphics Processing Cluster: N NFPs (per-level grid encoders + fused MLP engine)",
                              pricer=price_ngpc))

"""Per-component prices for one architecture: pJ per action, static mW and area um2, at the target node.

This is where table rows meet hardware parameters. The modelling rules (each one a choice, stated):

* systolic engine of dtype d: one ``mac`` = multiply(d) + add(accumulator of d) (int8/int16 accumulate
  in int32, fp16 in fp32); each MAC also forwards operands through PE pipeline registers
  (``pe_register``): ws/is move one operand word and one accumulator-width partial sum per MAC, os moves
  two operand words (the partial sum stays). Static power = PEs * (multiplier + adder leakage);
  area = PEs * (multiplier + adder + registers holding two operands and one partial sum);
* vector engine: one ``op`` per lane-operation = add(d); static/area = lanes adders;
* sram: read/write per bit by bank capacity (archsim.energy.sram); area = bits * bit-cell area;
* dram: read/write per bit and ACT+PRE per bit moved (streaming: each opened row is read out whole,
  so bits activated = bits moved), from the standard's IDD figures, not node-scaled (DRAM has its own
  process); static = devices * (background + refresh), devices = ceil(bandwidth / device bandwidth);
  area is off-chip and not counted (NaN);
* link: per bit * its length in mm.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from archsim.config import Arch
from archsim.energy.dram import dram_energy
from archsim.energy.scaling import ScalingRangeError, area_factor, energy_factor, width_factor
from archsim.energy.spec import EnergySpec
from archsim.energy.sram import sram_access
from archsim.energy.table import EnergyError, EnergyTable, TableRow

ACCUMULATOR = {"int8": "int32", "int16": "int32", "int32": "int32", "fp16": "fp32", "fp32": "fp32"}


def dtype_bits(dtype: str) -> int:
    """Bit width of a dtype name like ``int8`` or ``fp16``."""
    digits = "".join(ch for ch in dtype if ch.isdigit())
    if not digits:
        raise EnergyError(f"cannot tell the bit width of dtype {dtype!r}")
    return int(digits)


@dataclass(frozen=True)
class Price:
    """Energy of one unit of an action on a component (pJ per ``unit``) and the rows it came from."""

    component: str
    action: str
    pj_per_unit: float
    unit: str
    rows: tuple[str, ...]
    method: str = "table"


@dataclass
class PriceBook:
    """Everything energy accounting needs for one (arch, spec, table)."""

    dynamic: dict[tuple[str, str], Price] = field(default_factory=dict)
    static_mw: dict[str, float] = field(default_factory=dict)
    area_um2: dict[str, float] = field(default_factory=dict)
    kind: dict[str, str] = field(default_factory=dict)          # component -> engine/memory/link
    placeholders: set[str] = field(default_factory=set)
    lanes: dict[str, int] = field(default_factory=dict)         # vector engine -> lanes

    def price(self, component: str, action: str) -> Price:
        """The price of ``action`` on ``component`` (EnergyError if it was never priced)."""
        try:
            return self.dynamic[(component, action)]
        except KeyError:
            raise EnergyError(f"component {component!r} has no energy for action {action!r} (priced: "
                              f"{sorted(a for c, a in self.dynamic if c == component)})") from None


class _Pricer:
    def __init__(self, arch: Arch, spec: EnergySpec, table: EnergyTable) -> None:
        self.arch, self.spec, self.table = arch, spec, table
        self.book = PriceBook()

    def _use(self, row: TableRow, who: str) -> None:
        if row.provenance == "placeholder":
            if self.spec.strict:
                raise EnergyError(f"{who}: table row {row.label} is a placeholder ({row.note}); strict "
                                  f"energy evaluation refuses it")
            self.book.placeholders.add(row.label)

    def energy(self, row: TableRow, who: str) -> float:
        """Row value (energy or leakage power) scaled to the target node and Vdd."""
        self._use(row, who)
        try:
            return row.value * energy_factor(row.node_nm, row.vdd_v, self.spec.node_nm, self.spec.vdd_v)
        except ScalingRangeError as exc:
            raise EnergyError(f"{who}: {exc}") from None

    def area(self, row: TableRow, who: str) -> float:
        """Row area scaled to the target node."""
        self._use(row, who)
        try:
            return row.value * area_factor(row.node_nm, self.spec.node_nm)
        except ScalingRangeError as exc:
            raise EnergyError(f"{who}: {exc}") from None

    def unit_energy(self, component: str, action: str, dtype: str, who: str) -> tuple[float, str]:
        row = self.table.find(component, action, dtype=dtype)
        return self.energy(row, who), row.label

    def unit_area(self, component: str, dtype: str, who: str) -> float:
        return self.area(self.table.find(component, "area", dtype=dtype), who)

    def unit_leak(self, component: str, dtype: str, who: str) -> float:
        """Leakage (mW) of one ``component`` of ``dtype``; integer units width-scale the int32 row."""
        rows = self.table.rows_of(component, "leak")
        exact = [r for r in rows if r.dtype == dtype]
        if exact:
            return self.energy(exact[0], who)
        if dtype.startswith("int"):
            base = [r for r in rows if r.dtype and r.dtype.startswith("int")]
            if base:
                return self.energy(base[0], who) * width_factor(component, base[0].word_bits, dtype_bits(dtype))
        raise EnergyError(f"{who}: no leakage entry for {component} of dtype {dtype!r} (set "
                          f"energy.include_static: false to skip static power)")

    # -- components -------------------------------------------------------------------------------
    def systolic(self, name: str, p) -> None:
        who = f"engines.{name}"
        dtype = self.spec.engine_dtype.get(name, f"int{8 * p.word_bytes}")
        if dtype not in ACCUMULATOR:
            raise EnergyError(f"{who}: no MAC energy for dtype {dtype!r} (the table covers {sorted(ACCUMULATOR)})")
        acc = ACCUMULATOR[dtype]
        e_mul, l_mul = self.unit_energy("mult", "op", dtype, who)
        e_add, l_add = self.unit_energy("add", "op", acc, who)
        self.book.dynamic[(name, "mac")] = Price(name, "mac", e_mul + e_add, "MAC", (l_mul, l_add))
        reg = self.table.find("register", "read")
        bits = dtype_bits(dtype)
        moved = 2 * bits if p.dataflow == "os" else bits + dtype_bits(acc)
        self.book.dynamic[(name, "pe_register")] = Price(name, "pe_register", self.energy(reg, who) * moved,
                                                         "MAC", (reg.label,))
        pes = p.rows * p.cols
        held = 2 * bits + dtype_bits(acc)
        reg_area = self.area(self.table.find("register", "area"), who) * held
        self.book.area_um2[name] = pes * (self.unit_area("mult", dtype, who) + self.unit_area("add", acc, who)
                                          + reg_area)
        if self.spec.include_static:
            reg_leak = self.energy(self.table.find("register", "leak"), who) * held
            self.book.static_mw[name] = pes * (self.unit_leak("mult", dtype, who) + self.unit_leak("add", acc, who)
                                               + reg_leak)

    def vector(self, name: str, p) -> None:
        who = f"engines.{name}"
        dtype = self.spec.engine_dtype.get(name, "int32")
        e_add, label = self.unit_energy("add", "op", dtype, who)
        self.book.dynamic[(name, "op")] = Price(name, "op", e_add, "op", (label,))
        self.book.lanes[name] = p.lanes
        self.book.area_um2[name] = p.lanes * self.unit_area("add", dtype, who)
        if self.spec.include_static:
            self.book.static_mw[name] = p.lanes * self.unit_leak("add", dtype, who)

    def sram(self, name: str, p) -> None:
        who = f"memories.{name}"
        bank_kib = p.capacity_kib / p.banks
        for action in ("read", "write"):
            access = sram_access(self.table, action, bank_kib, who)
            for row in access.rows:
                self._use(row, who)
            # all sram rows share one node/Vdd per action; scale with the first
            factor = self.energy(access.rows[0], who) / access.rows[0].value
            self.book.dynamic[(name, action)] = Price(name, action, access.pj_per_bit * factor, "bit",
                                                      tuple(r.label for r in access.rows), access.method)
        bits = p.capacity_kib * 1024 * 8
        self.book.area_um2[name] = bits * self.area(self.table.find("sram", "area"), who)
        if self.spec.include_static:
            self.book.static_mw[name] = bits * self.energy(self.table.find("sram", "leak"), who)

    def dram(self, name: str, p) -> None:
        who = f"memories.{name}"
        standard = getattr(p, "standard", None) or self.spec.dram_standard.get(name)
        if not standard:
            raise EnergyError(f"{who}: DRAM energy needs its standard; set energy.dram_standard.{name} to one "
                              f"of {sorted(self.table.dram_standards)}")
        std = self.table.dram_standard(str(standard), who)
        if std.provenance == "placeholder":
            if self.spec.strict:
                raise EnergyError(f"{who}: DRAM standard {standard} has placeholder currents")
            self.book.placeholders.add(f"dram[{standard}]")
        de = dram_energy(std)
        label = f"dram[{std.name}] ({std.file})"
        self.book.dynamic[(name, "read")] = Price(name, "read", de.read_pj_per_bit, "bit", (label,))
        self.book.dynamic[(name, "write")] = Price(name, "write", de.write_pj_per_bit, "bit", (label,))
        self.book.dynamic[(name, "activate")] = Price(name, "activate", de.activate_pj_per_row_bit, "bit", (label,))
        self.book.area_um2[name] = float("nan")
        if self.spec.include_static:
            devices = de.devices_for(p.bandwidth_gbps)
            self.book.static_mw[name] = devices * (de.background_mw_per_device + de.refresh_mw_per_device)

    def tiers(self, name: str, p) -> None:
        """``kind: tiers`` only orders other memories: it holds and moves no bits of its own (the
        bytes a transfer moves are priced at the source and destination memories)."""
        self.book.area_um2[name] = 0.0

    def link(self, name: str) -> None:
        who = f"links.{name}"
        if name not in self.spec.link_length_mm:
            raise EnergyError(f"{who}: link energy needs its wire length; set energy.link_length_mm.{name}")
        row = self.table.find("wire", "transfer")
        pj = self.energy(row, who) * float(self.spec.link_length_mm[name])
        self.book.dynamic[(name, "transfer")] = Price(name, "transfer", pj, "bit", (row.label,))
        self.book.area_um2[name] = float("nan")


ENGINE_PRICERS = {"systolic": _Pricer.systolic, "vector": _Pricer.vector}
MEMORY_PRICERS = {"sram": _Pricer.sram, "dram": _Pricer.dram, "tiers": _Pricer.tiers}


def price_arch(arch: Arch, spec: EnergySpec, table: EnergyTable, links_used: tuple[str, ...] = ()) -> PriceBook:
    """Price every engine and memory of ``arch`` (and the links in ``links_used``) at ``spec``'s node."""
    pricer = _Pricer(arch, spec, table)
    for name, params in arch.engines.items():
        fn = ENGINE_PRICERS.get(params.kind)
        if fn is None:
            raise EnergyError(f"engines.{name}: no energy model for engine kind {params.kind!r} "
                              f"(modelled kinds: {sorted(ENGINE_PRICERS)})")
        fn(pricer, name, params)
        pricer.book.kind[name] = "engine"
    for name, params in arch.memories.items():
        fn = MEMORY_PRICERS.get(params.kind)
        if fn is None:
            raise EnergyError(f"memories.{name}: no energy model for memory kind {params.kind!r} "
                              f"(modelled kinds: {sorted(MEMORY_PRICERS)})")
        fn(pricer, name, params)
        pricer.book.kind[name] = "memory"
    for name in links_used:
        pricer.link(name)
        pricer.book.kind[name] = "link"
    return pricer.book

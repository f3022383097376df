"""Per-component prices for one architecture: pJ per action, static mW and area um2, at the target node.

This is where table rows meet hardware parameters. Each hardware kind prices itself (its registered
``pricer`` in ``archsim/hw/<kind>.py`` says which rows it uses and how: a systolic MAC = multiply + add of
the accumulator width, a DRAM bit = the standard's IDD figures, …); this module holds what they share —
the ``Pricer`` with the row lookups, node/Vdd scaling and placeholder bookkeeping — and ``price_arch``,
which calls every component's pricer. A kind without a pricer is an EnergyError that names it.
Links: per bit × their length in mm.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from archsim.config import Arch
from archsim.energy.scaling import ScalingRangeError, area_factor, energy_factor, width_factor
from archsim.energy.spec import EnergySpec
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

    def price(self, component: str, action: str) -> Price:
        """The price of ``action`` on ``component`` (EnergyError if it was never priced)."""
        try:
            return self.dynamic[(component, action)]
        except KeyError:
            raise EnergyError(f"component {component!r} has no energy for action {action!r} (priced: "
                              f"{sorted(a for c, a in self.dynamic if c == component)})") from None


class Pricer:
    """Looks rows up in the energy table, scales them to the target node and fills a PriceBook."""

    def __init__(self, arch: Arch, spec: EnergySpec, table: EnergyTable,
                 dtypes_run: Mapping[str, frozenset[str]] | None = None) -> None:
        self.arch, self.spec, self.table = arch, spec, table
        self.dtypes_run = dict(dtypes_run or {})   # engine -> element types its ops ran in (from a Result)
        self.book = PriceBook()

    def widest_dtype_run(self, engine: str) -> str | None:
        """The widest element type ``engine`` ran an op in (fp before int at equal width), None if unknown."""
        known = [d for d in self.dtypes_run.get(engine, ()) if d in ACCUMULATOR]
        return max(known, key=lambda d: (dtype_bits(d), d.startswith("fp"))) if known else None

    def use(self, row: TableRow, who: str) -> None:
        """Note that ``row`` priced ``who`` (placeholders are listed, or refused when strict)."""
        if row.provenance == "placeholder":
            if self.spec.strict:
                raise EnergyError(f"{who}: table row {row.label} is a placeholder ({row.note}); strict "
                                  f"energy evaluation refuses it")
            self.book.placeholders.add(row.label)

    def energy(self, row: TableRow, who: str) -> float:
        """Row value (energy or leakage power) scaled to the target node and Vdd."""
        self.use(row, who)
        try:
            return row.value * energy_factor(row.node_nm, row.vdd_v, self.spec.node_nm, self.spec.vdd_v)
        except ScalingRangeError as exc:
            raise EnergyError(f"{who}: {exc}") from None

    def area(self, row: TableRow, who: str) -> float:
        """Row area scaled to the target node."""
        self.use(row, who)
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
        base = [r for r in rows if r.dtype and r.dtype.startswith("int")]
        if base and dtype.startswith("int"):
            return self.energy(base[0], who) * width_factor(component, base[0].word_bits, dtype_bits(dtype))
        if base and dtype.startswith("fp"):
            # no published fp leakage: leakage taken proportional to area (transistor count), the int32
            # row scaled by the table's fp / int32 area ratio (Horowitz's areas)
            ratio = (self.table.find(component, "area", dtype=dtype).value
                     / self.table.find(component, "area", dtype=base[0].dtype).value)
            self.book.placeholders.add(f"{component}.leak[{dtype}] (int32 leakage x area ratio)")
            return self.energy(base[0], who) * ratio
        raise EnergyError(f"{who}: no leakage entry for {component} of dtype {dtype!r} (set "
                          f"energy.include_static: false to skip static power)")

    def link(self, name: str) -> None:
        who = f"links.{name}"
        params = self.arch.links.get(name) if getattr(self.arch, "links", None) else None
        if params is not None and params.energy_pj_per_bit is not None:
            self.book.dynamic[(name, "transfer")] = Price(name, "transfer", float(params.energy_pj_per_bit), "bit",
                                                          (f"{who}.energy_pj_per_bit",), method="config")
            self.book.area_um2[name] = float("nan")
            return
        if name not in self.spec.link_length_mm:
            raise EnergyError(f"{who}: link energy needs its wire length; set energy.link_length_mm.{name} "
                              f"(on-chip wire) or {who}.energy_pj_per_bit (off-chip link)")
        row = self.table.find("wire", "transfer")
        pj = self.energy(row, who) * float(self.spec.link_length_mm[name])
        self.book.dynamic[(name, "transfer")] = Price(name, "transfer", pj, "bit", (row.label,))
        self.book.area_um2[name] = float("nan")


def price_arch(arch: Arch, spec: EnergySpec, table: EnergyTable, links_used: tuple[str, ...] = (),
               dtypes_run: Mapping[str, frozenset[str]] | None = None) -> PriceBook:
    """Price every engine and memory of ``arch`` (each by its kind's registered pricer) and the links in
    ``links_used``, at ``spec``'s node; ``dtypes_run`` (engine -> element types of its ops in a run) lets a
    kind size its hardware for what it ran."""
    from archsim.hw import registry

    pricer = Pricer(arch, spec, table, dtypes_run)
    for section, category, components in (("engines", "engine", arch.engines), ("memories", "memory", arch.memories)):
        for name, params in components.items():
            kind = registry.lookup(category, params.kind)
            if kind is None or kind.pricer is None:
                priced = sorted(k for k in registry.kinds(category)
                                if registry.lookup(category, k).pricer is not None)
                raise EnergyError(f"{section}.{name}: no energy model for {category} kind {params.kind!r} "
                                  f"(modelled kinds: {priced})")
            kind.pricer(pricer, name, params)
            pricer.book.kind[name] = category
    for name in links_used:
        pricer.link(name)
        pricer.book.kind[name] = "link"
    return pricer.book

"""Energy of a Result: action counts per op priced per component, plus static energy over the makespan.

Conservation (tested): for every component, the sum of its per-op dynamic energy equals its
``dynamic_pj`` in ``per_component``; ``total_pj`` = dynamic + static. Static energy (leakage,
DRAM background and refresh, a baseline's board power) belongs to the components over the whole run and
is not split over ops.

Actions counted per op record — nothing here depends on the kind of hardware:
* the engine's own actions, as its model declared them in the record (``mac``/``pe_register`` of an array,
  ``op`` of a vector unit, PIM commands …), priced by the engine kind's pricer;
* every ``traffic_bytes`` key ``<memory>.<operand>.<read|write>``: the actions the memory's kind makes of
  that access (``traffic_actions``: bits read/written, plus bits activated on DRAM); keys naming an engine
  are that engine's internal memory, priced within the engine (a GPU's board power);
* a DMA transfer: the bits read at its source memory and written at its destination; a link transfer:
  ``transfer`` bits on the link; a copy between tiers over a declared link: both. Charged to the op the
  transfer served.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from archsim.config import Arch
from archsim.energy.prices import PriceBook, price_arch
from archsim.energy.spec import EnergySpec
from archsim.energy.table import DEFAULT_TABLE, EnergyError, EnergyTable, load_table
from archsim.sim.result import OpRecord, Result

PER_OP_COLUMNS = ["op_id", "name", "kind", "engine", "component", "action", "count", "unit", "pj_per_unit",
                  "energy_pj"]


@dataclass(frozen=True)
class EnergyReport:
    """Energy of one run (pJ), per op and action and per component, plus component areas (um2)."""

    per_op: pd.DataFrame          # one row per (op, component, action): PER_OP_COLUMNS
    per_component: pd.DataFrame   # component, type, dynamic_pj, static_pj, total_pj, static_mw, area_um2
    makespan_ns: float
    spec: EnergySpec
    placeholders: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def dynamic_pj(self) -> float:
        """Dynamic energy of all ops (pJ)."""
        return float(self.per_component.dynamic_pj.sum())

    @property
    def static_pj(self) -> float:
        """Static energy of all components over the makespan (pJ)."""
        return float(self.per_component.static_pj.sum())

    @property
    def total_pj(self) -> float:
        """Dynamic + static energy (pJ)."""
        return self.dynamic_pj + self.static_pj

    @property
    def area_mm2(self) -> float:
        """On-chip area (engines + SRAMs) in mm2; off-chip DRAM is not counted."""
        return float(self.per_component.area_um2.sum(skipna=True)) / 1e6

    def by_op(self) -> pd.DataFrame:
        """One row per op: op_id, name, kind, engine, energy_pj (dynamic, summed over components)."""
        if self.per_op.empty:
            return pd.DataFrame(columns=["op_id", "name", "kind", "engine", "energy_pj"])
        return (self.per_op.groupby(["op_id", "name", "kind", "engine"], sort=False, as_index=False)
                .energy_pj.sum())

    def by_op_kind(self) -> pd.DataFrame:
        """Dynamic energy (pJ) per op kind (rows) and component (columns)."""
        return self.per_op.pivot_table(index="kind", columns="component", values="energy_pj", aggfunc="sum",
                                       fill_value=0.0)

    def summary(self) -> dict[str, Any]:
        """Headline numbers (pJ, mm2, node, placeholders used) as a JSON-ready dict."""
        comps = self.per_component
        return {
            "total_energy_pj": self.total_pj,
            "dynamic_energy_pj": self.dynamic_pj,
            "static_energy_pj": self.static_pj,
            "area_mm2": self.area_mm2,
            "node_nm": self.spec.node_nm,
            "vdd_v": self.spec.vdd_v,
            "energy_by_component_pj": {r.component: float(r.total_pj) for r in comps.itertuples()},
            "placeholders": list(self.placeholders),
        }


def _tier_link(arch: Arch, t) -> str | None:
    """The declared link a tier copy ``t`` crossed (either direction, as ``archsim.hw.tiers`` routes), or None."""
    if t.kind != "tier":
        return None
    for want in ((t.src, t.dst), (t.dst, t.src)):
        for name, lp in arch.links.items():
            if (lp.src, lp.dst) == want:
                return name
    return None


def _links_used(result: Result, arch: Arch) -> tuple[str, ...]:
    used = {t.link for t in result.transfers if t.kind == "link"}
    used |= {name for t in result.transfers if (name := _tier_link(arch, t)) is not None}
    return tuple(sorted(used))


def op_actions(result: Result, arch: Arch, book: PriceBook) -> list[tuple]:
    """(op_id, name, kind, engine, component, action, count) for every priced action of every op."""
    from archsim.hw.registry import memory_model

    rows: list[tuple] = []
    memories = {name: memory_model(arch, name) for name in arch.memories}

    def access(head, key: str, n_bytes: float) -> None:
        mem, _, rest = key.partition(".")
        if mem in memories:
            for action, count in memories[mem].traffic_actions(rest.rsplit(".", 1)[-1], n_bytes):
                rows.append((*head, mem, action, count))
        elif mem not in arch.engines:
            raise EnergyError(f"op {head[1]!r}: traffic key {key!r} names unknown memory {mem!r}")

    first: dict[int, OpRecord] = {}
    for r in result.records:
        first.setdefault(r.op_id, r)
        head = (r.op_id, r.name, r.kind, r.engine)
        for action, count in sorted(r.actions.items()):
            if count:
                rows.append((*head, r.engine, action, float(count)))
        for key, n_bytes in sorted(r.traffic_bytes.items()):
            if n_bytes:
                access(head, key, n_bytes)
    for t in result.transfers:
        served = first.get(t.consumer_op if t.consumer_op >= 0 else t.producer_op)
        head = ((served.op_id, served.name, served.kind, served.engine) if served is not None
                else (-1, t.link, "transfer", ""))
        if t.kind == "link":
            rows.append((*head, t.link, "transfer", 8.0 * t.bytes))
            continue
        crossed = _tier_link(arch, t)
        if crossed is not None:                 # a tier copy over a declared link also pays the link
            rows.append((*head, crossed, "transfer", 8.0 * t.bytes))
        if t.src in memories:
            access(head, f"{t.src}.dma.read", t.bytes)
        if t.dst in memories:
            access(head, f"{t.dst}.dma.write", t.bytes)
    return rows


def estimate_energy(result: Result, arch: Arch, spec: EnergySpec | None = None,
                    table: EnergyTable | None = None) -> EnergyReport:
    """Energy of ``result`` (simulated on ``arch``) at ``spec``'s node; EnergyError on any missing entry."""
    spec = spec or EnergySpec()
    table = table or load_table(spec.table or DEFAULT_TABLE)
    dtypes: dict[str, set[str]] = {}
    for r in result.records:
        if r.compute_dtype or r.dtype:
            dtypes.setdefault(r.engine, set()).add(r.compute_dtype or r.dtype)
    book = price_arch(arch, spec, table, _links_used(result, arch), {e: frozenset(d) for e, d in dtypes.items()})
    actions = op_actions(result, arch, book)
    records = []
    for op_id, name, kind, engine, comp, action, count in actions:
        price = book.price(comp, action)
        records.append((op_id, name, kind, engine, comp, action, count, price.unit, price.pj_per_unit,
                        count * price.pj_per_unit))
    per_op = pd.DataFrame.from_records(records, columns=PER_OP_COLUMNS)
    makespan_ns = result.total_cycles / result.clock_ghz
    dyn = per_op.groupby("component").energy_pj.sum() if len(per_op) else pd.Series(dtype=float)
    comp_rows = []
    for comp, kind in book.kind.items():
        static_mw = book.static_mw.get(comp, 0.0)
        dynamic = float(dyn.get(comp, 0.0))
        static = static_mw * makespan_ns          # mW * ns = pJ
        comp_rows.append({"component": comp, "type": kind, "dynamic_pj": dynamic, "static_pj": static,
                          "total_pj": dynamic + static, "static_mw": static_mw,
                          "area_um2": book.area_um2.get(comp, float("nan"))})
    per_component = pd.DataFrame(comp_rows, columns=["component", "type", "dynamic_pj", "static_pj", "total_pj",
                                                     "static_mw", "area_um2"])
    return EnergyReport(per_op, per_component, makespan_ns, spec, tuple(sorted(book.placeholders)))


def estimate_area(arch: Arch, spec: EnergySpec | None = None, table: EnergyTable | None = None) -> pd.DataFrame:
    """On-chip area per component (um2; NaN for off-chip DRAM) at ``spec``'s node."""
    spec = spec or EnergySpec()
    table = table or load_table(spec.table or DEFAULT_TABLE)
    book = price_arch(arch, spec, table)
    return pd.DataFrame([{"component": c, "type": k, "area_um2": book.area_um2.get(c, float("nan"))}
                         for c, k in book.kind.items()])

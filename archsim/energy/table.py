"""The energy/area table: rows read from YAML, validated, and looked up by (component, action, attributes).

A lookup that matches no row raises ``EnergyError`` naming the component, the action and the
attributes asked for, plus what the table does have: a missing entry is never a silent zero.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from archsim.errors import ArchsimError, ConfigError

DEFAULT_TABLE = Path(__file__).resolve().parent / "tables" / "default.yaml"
PROVENANCES = ("published", "derived", "estimate", "placeholder")
UNITS = ("pJ", "pJ/bit", "pJ/bit/mm", "mW", "mW/bit", "um2", "um2/bit")
ROW_KEYS = {"component", "action", "value", "unit", "word_bits", "node_nm", "vdd_v", "source", "provenance",
            "note", "dtype", "capacity_kib"}
DRAM_REQUIRED = ("VDD", "IDD0", "IDD2N", "IDD3N", "IDD4R", "IDD4W", "IDD5AB", "tCK_ns", "tRAS", "tRP", "tRFC",
                 "tREFI", "BL", "device_width", "columns")


class EnergyError(ArchsimError):
    """Energy or area cannot be computed: a table entry is missing or a component has no energy model."""


@dataclass(frozen=True)
class TableRow:
    """One table entry: ``value`` in ``unit`` for a ``word_bits``-bit action at ``node_nm``/``vdd_v``."""

    component: str
    action: str
    value: float
    unit: str
    word_bits: int
    node_nm: float
    vdd_v: float
    source: str
    provenance: str
    note: str = ""
    dtype: str | None = None
    capacity_kib: float | None = None

    @property
    def label(self) -> str:
        """Short human-readable id of the row, e.g. ``mult.op[int8]``."""
        attrs = ",".join(str(a) for a in (self.dtype, self.capacity_kib) if a is not None)
        return f"{self.component}.{self.action}" + (f"[{attrs}]" if attrs else "")


@dataclass(frozen=True)
class DramStandard:
    """IDD currents (mA per device), VDD (V) and timings (cycles of ``tCK_ns``) of one DRAM standard."""

    name: str
    params: dict[str, float]
    file: str
    provenance: str
    note: str = ""
    source: str = ""


@dataclass(frozen=True)
class EnergyTable:
    """All rows of one table file, its sources, DRAM standards and PIM relations."""

    rows: tuple[TableRow, ...]
    sources: dict[str, str]
    dram_standards: dict[str, DramStandard]
    pim: tuple[dict[str, Any], ...] = ()
    path: str = "<memory>"
    _index: dict[tuple[str, str], tuple[TableRow, ...]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[tuple[str, str], list[TableRow]] = {}
        for row in self.rows:
            index.setdefault((row.component, row.action), []).append(row)
        object.__setattr__(self, "_index", {k: tuple(v) for k, v in index.items()})

    def rows_of(self, component: str, action: str) -> tuple[TableRow, ...]:
        """Every row of ``component``/``action`` (EnergyError if there is none)."""
        rows = self._index.get((component, action))
        if not rows:
            have = sorted({f"{c}.{a}" for c, a in self._index})
            raise EnergyError(f"energy table {self.path}: no entry for component {component!r} action "
                              f"{action!r} (the table has {have})")
        return rows

    def find(self, component: str, action: str, *, dtype: str | None = None) -> TableRow:
        """The single row of ``component``/``action`` (for ``dtype`` when given); EnergyError if none."""
        rows = self.rows_of(component, action)
        if dtype is not None:
            matching = [r for r in rows if r.dtype == dtype]
            if not matching:
                have = sorted({str(r.dtype) for r in rows})
                raise EnergyError(f"energy table {self.path}: no entry for component {component!r} action "
                                  f"{action!r} dtype {dtype!r} (it has dtypes {have})")
            rows = tuple(matching)
        if len(rows) != 1:
            raise EnergyError(f"energy table {self.path}: {len(rows)} entries match {component}.{action}"
                              f"{'[' + dtype + ']' if dtype else ''}; expected exactly one")
        return rows[0]

    def dram_idd_set(self, name: str, who: str) -> tuple[DramStandard, str]:
        """The IDD set pricing DRAM ``name`` and how it was chosen: the set called ``name`` itself, else the set
        of the family of archsim's timing preset ``name`` (``HBM2_NeuPIMs`` and ``HBM2_2400`` -> HBM2,
        ``DDR4_3200`` -> DDR4, ``DDR5_4800`` -> DDR5). EnergyError naming ``who`` when neither exists."""
        if name in self.dram_standards:
            return self.dram_standards[name], name
        from archsim.hw.dram.standards import get_standard

        try:
            family = get_standard(name).family
        except KeyError:
            family = None
        if family in self.dram_standards:
            return self.dram_standards[family], f"{family} (IDD set of timing preset {name}'s family)"
        have = sorted(self.dram_standards)
        raise EnergyError(f"{who}: DRAM standard {name!r} has no IDD set in the energy table (it has {have}); "
                          f"price it with one of them: --set {who}.energy_standard=NAME (or "
                          f"--set energy.dram_standard.{who.split('.')[-1]}=NAME)")

    def pim_relation(self, action: str) -> dict[str, Any]:
        """The PIM relation row for ``action`` (EnergyError if missing)."""
        for row in self.pim:
            if row.get("action") == action:
                return row
        raise EnergyError(f"energy table {self.path}: no PIM entry for action {action!r}")


def _row(path: str, i: int, raw: Any, sources: dict[str, str]) -> TableRow:
    where = f"rows[{i}]"
    if not isinstance(raw, dict):
        raise ConfigError(path, where, "not a mapping", value=raw, has_value=True)
    unknown = set(raw) - ROW_KEYS
    if unknown:
        raise ConfigError(path, f"{where}.{sorted(unknown)[0]}", "unknown key", expected=f"one of {sorted(ROW_KEYS)}")
    for key in ("component", "action", "value", "unit", "word_bits", "node_nm", "vdd_v", "source", "provenance"):
        if raw.get(key) is None:
            raise ConfigError(path, f"{where}.{key}", "missing key",
                              expected="every row to state its value, unit, word width, node, Vdd and source")
    if raw["unit"] not in UNITS:
        raise ConfigError(path, f"{where}.unit", "unknown unit", value=raw["unit"], has_value=True,
                          expected=f"one of {UNITS}")
    if raw["provenance"] not in PROVENANCES:
        raise ConfigError(path, f"{where}.provenance", "bad value", value=raw["provenance"], has_value=True,
                          expected=f"one of {PROVENANCES}")
    if raw["source"] not in sources and raw["provenance"] != "placeholder":
        raise ConfigError(path, f"{where}.source", "cites an unknown source", value=raw["source"], has_value=True,
                          expected=f"one of the sources {sorted(sources)}")
    return TableRow(component=str(raw["component"]), action=str(raw["action"]), value=float(raw["value"]),
                    unit=raw["unit"], word_bits=int(raw["word_bits"]), node_nm=float(raw["node_nm"]),
                    vdd_v=float(raw["vdd_v"]), source=str(raw["source"]), provenance=raw["provenance"],
                    note=str(raw.get("note", "")), dtype=raw.get("dtype"),
                    capacity_kib=None if raw.get("capacity_kib") is None else float(raw["capacity_kib"]))


def _dram(path: str, name: str, raw: Any, sources: dict[str, str]) -> DramStandard:
    if not isinstance(raw, dict):
        raise ConfigError(path, f"dram_standards.{name}", "not a mapping", value=raw, has_value=True)
    for key in (*DRAM_REQUIRED, "file", "source", "provenance"):
        if key not in raw:
            raise ConfigError(path, f"dram_standards.{name}.{key}", "missing key")
    if raw["source"] not in sources:
        raise ConfigError(path, f"dram_standards.{name}.source", "cites an unknown source", value=raw["source"],
                          has_value=True, expected=f"one of the sources {sorted(sources)}")
    params = {k: float(v) for k, v in raw.items() if k not in ("file", "source", "provenance", "note")}
    return DramStandard(name, params, str(raw["file"]), str(raw["provenance"]), str(raw.get("note", "")),
                        str(raw["source"]))


def load_table(path: str | Path = DEFAULT_TABLE) -> EnergyTable:
    """Read and validate an energy table YAML (ConfigError naming the row and key on a bad row)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(path, "", "file not found", expected="an energy table YAML") from None
    if not isinstance(data, dict) or "rows" not in data:
        raise ConfigError(path, "rows", "missing key", expected="a list of table rows")
    sources = {str(k): str(v) for k, v in (data.get("sources") or {}).items()}
    rows = tuple(_row(str(path), i, raw, sources) for i, raw in enumerate(data["rows"]))
    drams = {str(n): _dram(str(path), str(n), raw, sources) for n, raw in (data.get("dram_standards") or {}).items()}
    pim = tuple(data.get("pim") or ())
    return EnergyTable(rows, sources, drams, pim, str(path))


@lru_cache(maxsize=1)
def default_table() -> EnergyTable:
    """The shipped table (read once per process)."""
    return load_table(DEFAULT_TABLE)


def check_idd_set_name(name: str) -> str:
    """``name`` if the shipped table can price a DRAM by it (its own IDD set or its preset's family's), else a
    ValueError listing what it can (for config validation)."""
    try:
        default_table().dram_idd_set(name, "energy_standard")
    except EnergyError:
        raise ValueError(f"no IDD set {name!r} in the energy table; expected one of "
                         f"{sorted(default_table().dram_standards)} or a DRAM preset of their families") from None
    return name

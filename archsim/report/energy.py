"""The energy part of what ``archsim run`` reports: per-component columns, the summary.json section, text lines.

``run_energy`` evaluates energy for a run and never raises on a model gap: an ``EnergyError`` becomes a
``RunEnergy`` holding the reason (which says how to fix it), so the run's timing results are still written.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from archsim.energy import EnergyError, EnergyReport, EnergySpec, estimate_energy

ENERGY_COLUMNS = ["dynamic_energy_pj", "static_energy_pj", "energy_pj", "static_mw", "area_um2"]


@dataclass(frozen=True)
class RunEnergy:
    """The energy report of a run, or why there is none (``error``)."""

    spec: EnergySpec
    report: EnergyReport | None = None
    error: str = ""


def run_energy(result, arch, spec: EnergySpec | None = None) -> RunEnergy:
    """Energy of ``result`` on ``arch`` at ``spec`` (default EnergySpec()), or the reason it has none."""
    spec = spec or EnergySpec()
    try:
        return RunEnergy(spec, estimate_energy(result, arch, spec))
    except EnergyError as exc:
        return RunEnergy(spec, error=str(exc))


def components_with_energy(components: pd.DataFrame, energy: RunEnergy | None) -> pd.DataFrame:
    """``Result.components`` with one energy/area column set per component (pJ, mW, um2; NaN where a
    component has none, e.g. a PIM's banks, whose energy is the PIM engine's). Components that only consume
    energy (a memory no op touched still leaks) are appended."""
    if energy is None or energy.report is None:
        return components
    per = energy.report.per_component.rename(columns={"dynamic_pj": "dynamic_energy_pj",
                                                      "static_pj": "static_energy_pj", "total_pj": "energy_pj"})
    merged = components.merge(per[["component", *ENERGY_COLUMNS]], on="component", how="left")
    extra = per[~per.component.isin(components.component)][["component", "type", *ENERGY_COLUMNS]]
    if not len(extra):
        return merged
    out = pd.concat([merged, extra], ignore_index=True)
    for col in components.columns:      # counts of a component no op touched are 0, and stay integers
        if col not in ("component", "type") and pd.api.types.is_integer_dtype(components[col]):
            out[col] = out[col].fillna(0).astype(components[col].dtype)
    return out


def energy_summary(energy: RunEnergy | None) -> dict[str, Any]:
    """The ``energy`` section of summary.json: totals (pJ), area (mm2), node, per component, placeholders used,
    and the spec; or ``{"error": reason}``."""
    if energy is None:
        return {}
    if energy.report is None:
        return {"energy": {"error": energy.error, "spec": energy.spec.to_dict()}}
    rep = energy.report
    per = {r.component: {"dynamic_pj": float(r.dynamic_pj), "static_pj": float(r.static_pj),
                         "total_pj": float(r.total_pj),
                         "area_um2": None if math.isnan(r.area_um2) else float(r.area_um2)}
           for r in rep.per_component.itertuples()}
    return {"energy": {"total_pj": rep.total_pj, "dynamic_pj": rep.dynamic_pj, "static_pj": rep.static_pj,
                       "area_mm2": rep.area_mm2, "node_nm": rep.spec.node_nm, "vdd_v": rep.spec.vdd_v,
                       "per_component": per, "placeholders": list(rep.placeholders), "spec": rep.spec.to_dict()}}


def _uj(pj: float) -> str:
    return f"{pj / 1e6:,.1f} uJ" if pj >= 1e5 else f"{pj / 1e6:,.4f} uJ"


def energy_lines(energy: RunEnergy | None) -> list[str]:
    """Text lines of the energy headline (what ``archsim run`` prints below its table)."""
    if energy is None:
        return []
    if energy.report is None:
        return ["", f"energy: not computed - {energy.error}"]
    rep = energy.report
    area = rep.per_component.area_um2
    area_txt = f"{rep.area_mm2:,.2f} mm2 on chip" if area.notna().any() else "no on-chip area model"
    lines = ["", f"energy: {_uj(rep.total_pj)} (dynamic {_uj(rep.dynamic_pj)}, static {_uj(rep.static_pj)}) at "
                 f"{rep.spec.node_nm:g} nm / {rep.spec.vdd_v:g} V; area: {area_txt}"]
    if rep.placeholders:
        lines.append(f"  placeholder table rows used (not measured figures): {', '.join(rep.placeholders)}")
    return lines

"""The validation table: every peer cross-check and paper reproduction as one row each.

A *source* is a module with ``validation_checks(quick: bool) -> list[Check]``: the peer cross-checks live beside
the model they check (``archsim.scalesim.validation``, ``archsim.hw.dram.validation``), the paper reproductions
are the ``experiments/*.py`` scripts that define the function. ``collect`` runs them all; ``to_frame`` makes the
table; ``write_table`` writes it as CSV, Markdown and a figure; ``regressions`` compares a table with the last
committed one (``docs/validation.csv``).

A check's *reference* is a peer's number or a paper's value (a range when the paper gives one), its *archsim*
value is always computed. Its error is archsim's relative distance to the reference (0 inside a range); it
*passes* when the error is within its target. A check outside its target carries a one-line explanation.
"""
from __future__ import annotations

import importlib
import math
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

#: Peer cross-checks shipped in the package (paper reproductions are found in ``experiments/``).
PEER_SOURCES = ("archsim.scalesim.validation", "archsim.hw.dram.validation")

#: Relative change of an archsim value, against the committed table, that counts as a moved row (the runs are
#: deterministic: only float formatting may differ).
MOVED_REL = 1e-6


@dataclass(frozen=True)
class Check:
    """One row of the validation table."""

    system: str                 # what is validated ("SCALE-Sim 3.0.0", "NeuPIMs (paper)", ...)
    case: str                   # the configuration / workload of the row
    metric: str                 # what is compared, with its unit
    reference: float            # the peer's or paper's value (the low end of a range)
    reference_source: str       # where the reference comes from (peer + commit, paper + table)
    archsim: float              # archsim's computed value
    tolerance_pct: float        # the target: |error| <= this (0 = exact)
    reference_high: float | None = None   # the high end when the paper gives a range
    explanation: str = ""       # why a row outside its target is outside (evidence), or a note
    wall_s: float = 0.0         # wall time of the computation behind this row
    load_dependent: bool = False   # the value depends on a solver time limit (so on machine load): a change is
                                   # reported by the regression check but does not fail it

    @property
    def error_pct(self) -> float:
        """archsim's relative distance from the reference (from the nearest end of a range), in %."""
        lo, hi = self.reference, self.reference if self.reference_high is None else self.reference_high
        if lo <= self.archsim <= hi:
            return 0.0
        near = lo if self.archsim < lo else hi
        if near == 0:
            return 0.0 if self.archsim == 0 else math.copysign(math.inf, self.archsim)
        return 100.0 * (self.archsim / near - 1.0)

    @property
    def status(self) -> str:
        """``pass`` when the error is within the target, else ``outside``."""
        return "pass" if abs(self.error_pct) <= self.tolerance_pct + 1e-9 else "outside"

    @property
    def target(self) -> str:
        """The target in words."""
        if self.tolerance_pct == 0:
            return "exact" if self.reference_high is None else "in range"
        where = "of the range" if self.reference_high is not None else ""
        return f"within {self.tolerance_pct:g}% {where}".strip()

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies a row between two tables."""
        return (self.system, self.case, self.metric)


COLUMNS = [f.name for f in fields(Check)] + ["error_pct", "target", "status"]


def source_modules(experiments: Path | None) -> list[tuple[str, object]]:
    """(name, module) of every source: the peer modules, then each experiment script that has checks."""
    mods: list[tuple[str, object]] = [(name, importlib.import_module(name)) for name in PEER_SOURCES]
    if experiments is not None and experiments.is_dir():
        import runpy
        from types import SimpleNamespace

        for script in sorted(experiments.glob("*.py")):
            if "def validation_checks" not in script.read_text(encoding="utf-8"):
                continue
            namespace = runpy.run_path(str(script), run_name=f"archsim_validation_{script.stem}")
            mods.append((f"experiments/{script.name}", SimpleNamespace(**namespace)))
    return mods


def collect(experiments: Path | None, quick: bool, only: list[str] | None = None, log=print) -> list[Check]:
    """Run every source (or those whose name contains one of ``only``) and return all their checks.

    A source that fails becomes one ``outside`` row naming the exception, so one broken source never loses
    the others' rows.
    """
    checks: list[Check] = []
    for name, module in source_modules(experiments):
        if only and not any(o in name for o in only):
            continue
        t0 = time.perf_counter()
        try:
            rows = list(module.validation_checks(quick))
        except Exception as exc:   # noqa: BLE001 — reported as a row, the other sources still run
            rows = [Check(name, "-", "source ran", 1, name, 0, 0,
                          explanation=f"{type(exc).__name__}: {exc}", wall_s=time.perf_counter() - t0)]
        log(f"  {name}: {len(rows)} rows, {sum(r.status == 'pass' for r in rows)} within target "
            f"({time.perf_counter() - t0:.1f} s)")
        checks += rows
    return checks


def to_frame(checks: list[Check]):
    """The table as a DataFrame (one row per check, ``COLUMNS``)."""
    import pandas as pd

    return pd.DataFrame([{**asdict(c), "error_pct": c.error_pct, "target": c.target, "status": c.status}
                         for c in checks], columns=COLUMNS)


def from_frame(df) -> list[Check]:
    """Checks back from a table written by ``write_table`` (``docs/validation.csv``)."""
    names = [f.name for f in fields(Check)]
    out = []
    for rec in df.to_dict("records"):
        vals = {k: rec[k] for k in names}
        for k in ("reference_high",):
            if vals[k] is None or (isinstance(vals[k], float) and math.isnan(vals[k])):
                vals[k] = None
        vals["explanation"] = "" if not isinstance(vals["explanation"], str) else vals["explanation"]
        vals["load_dependent"] = bool(vals["load_dependent"])
        out.append(Check(**vals))
    return out


def _fmt(v: float | None) -> str:
    if v is None:
        return ""
    if abs(v) >= 1e5 or v == int(v):
        return f"{v:,.0f}" if abs(v) < 1e15 else f"{v:.3g}"
    return f"{v:,.4g}"


def markdown(checks: list[Check]) -> str:
    """The table as Markdown, grouped by system, with a summary line per system."""
    lines = ["| system | case | metric | reference | source | archsim | error | target | status | wall s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for c in checks:
        ref = _fmt(c.reference) + ("" if c.reference_high is None else f"–{_fmt(c.reference_high)}")
        status = c.status if not c.explanation or c.status == "pass" else f"{c.status}: {c.explanation}"
        if c.status == "pass" and c.explanation:
            status = f"pass ({c.explanation})"
        if c.load_dependent:
            status += " [depends on a solver time limit]"
        lines.append(f"| {c.system} | {c.case} | {c.metric} | {ref} | {c.reference_source} | {_fmt(c.archsim)} | "
                     f"{c.error_pct:+.2f}% | {c.target} | {status} | {c.wall_s:.2f} |")
    return "\n".join(lines) + "\n"


def summary_lines(checks: list[Check]) -> list[str]:
    """One line per system: rows, within target, largest |error|."""
    out = []
    for system in dict.fromkeys(c.system for c in checks):
        rows = [c for c in checks if c.system == system]
        worst = max(abs(c.error_pct) for c in rows)
        out.append(f"{system}: {sum(c.status == 'pass' for c in rows)}/{len(rows)} within target, "
                   f"largest |error| {worst:.2f}%")
    return out


def write_table(checks: list[Check], out_dir: str | Path, title: str = "archsim validation") -> list[Path]:
    """Write ``validation.csv``, ``validation.md`` and ``validation.png`` into ``out_dir``; the paths."""
    from archsim.plot.validation import plot_validation

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, md_path, png_path = out / "validation.csv", out / "validation.md", out / "validation.png"
    to_frame(checks).to_csv(csv_path, index=False)
    how = ("Regenerated by `archsim validate-all --out docs` (the full run). Every reference value comes from a peer "
           "simulator's output or a paper and names its source; every archsim value is computed by the command.")
    body = [f"# {title}", "", how, "", *[f"- {s}" for s in summary_lines(checks)], "",
            f"![error per row]({png_path.name})", "", markdown(checks)]
    md_path.write_text("\n".join(body), encoding="utf-8")
    plot_validation(checks, png_path)
    return [csv_path, md_path, png_path]


def read_table(path: str | Path) -> list[Check]:
    """Checks from a committed ``validation.csv``."""
    import pandas as pd

    return from_frame(pd.read_csv(path, keep_default_na=True))


def regressions(current: list[Check], committed: list[Check], rel: float = MOVED_REL,
                load_dependent: bool = False) -> list[str]:
    """Rows present in both tables that moved: archsim's value changed by more than ``rel`` (relative), or a
    row that passed no longer does. One line per moved row; empty when nothing moved. Rows whose value depends
    on a solver time limit are left out unless ``load_dependent`` (then only they are compared)."""
    before = {c.key: c for c in committed}
    moved = []
    for c in current:
        old = before.get(c.key)
        if old is None or (c.load_dependent or old.load_dependent) != load_dependent:
            continue
        scale = max(abs(old.archsim), 1e-12)
        if abs(c.archsim - old.archsim) / scale > rel:
            moved.append(f"{' / '.join(c.key)}: archsim {_fmt(old.archsim)} -> {_fmt(c.archsim)} "
                         f"(error {old.error_pct:+.2f}% -> {c.error_pct:+.2f}%)")
        elif old.status == "pass" and c.status != "pass":
            moved.append(f"{' / '.join(c.key)}: was within target, now {c.error_pct:+.2f}%")
    return moved

"""archsim's SCALE-Sim compatibility mode against SCALE-Sim 3.0.0's own reports (golden files).

The goldens live in ``tests/fixtures/scalesim`` of a source checkout (its README gives the commands that made
them: PyPI ``scalesim`` 3.0.0 = scale-sim-v3 @ fab89b7); ``compare_with_golden`` reruns one case and counts the
report cells that differ; ``validation_checks`` gives one row per case for ``archsim validate-all``.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from archsim.scalesim.reports import REPORT_FILES, read_report

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "scalesim"
GEMM_TOPOLOGIES = {"gemm_small", "gemm_user"}
SOURCE = "SCALE-Sim 3.0.0 (scale-sim-v3 @ fab89b7) reports, tests/fixtures/scalesim"
#: The ``--quick`` subset: every dataflow and mode on the 32x32 and 12x14 arrays.
QUICK_SHAPES = ("_32x32__", "_12x14__")


@dataclass(frozen=True)
class GoldenComparison:
    """One golden case rerun by archsim."""

    case: str
    layers: int
    golden_total_cycles: int       # "Total Cycles" summed over layers, as SCALE-Sim printed it
    archsim_total_cycles: int
    cells: int                     # report cells in the three golden reports
    differing_cells: int           # of those, cells archsim prints differently (or does not print)
    identical_bytes: bool          # every report file the same bytes
    wall_s: float


def golden_cases() -> list[Path]:
    """Every golden directory that holds all three reports (empty outside a source checkout)."""
    if not (FIXTURES / "golden").is_dir():
        return []
    return sorted(d for d in (FIXTURES / "golden").iterdir() if all((d / n).exists() for n in REPORT_FILES))


def compare_with_golden(golden: Path, out_dir: Path) -> GoldenComparison:
    """Run ``archsim scalesim`` on the config and topology of ``golden`` into ``out_dir`` and compare."""
    from archsim.scalesim.run import run_scalesim

    cfg, topo = golden.name.split("__")
    t0 = time.perf_counter()
    produced = run_scalesim(FIXTURES / "cfgs" / f"{cfg}.cfg", FIXTURES / "topologies" / f"{topo}.csv",
                            "gemm" if topo in GEMM_TOPOLOGIES else "conv", out_dir)
    wall = time.perf_counter() - t0
    cells, differing, identical = 0, 0, True
    for name in REPORT_FILES:
        ours, theirs = read_report(produced / name), read_report(golden / name)
        ours += [{}] * (len(theirs) - len(ours))
        cells += sum(len(b) for b in theirs)
        differing += sum(a.get(k) != v for a, b in zip(ours, theirs) for k, v in b.items())
        identical &= (produced / name).read_bytes() == (golden / name).read_bytes()
    cycles = [sum(int(r["Total Cycles"]) for r in read_report(d / "COMPUTE_REPORT.csv")) for d in (golden, produced)]
    return GoldenComparison(golden.name, len(read_report(golden / "COMPUTE_REPORT.csv")), cycles[0], cycles[1],
                            cells, differing, identical, wall)


def validation_checks(quick: bool):
    """One row per golden case: the report cells archsim prints exactly as SCALE-Sim did (target: all)."""
    from archsim.report.validation import Check

    cases = golden_cases()
    if quick:
        cases = [c for c in cases if any(s in c.name for s in QUICK_SHAPES)]
    if not cases:
        return [Check("SCALE-Sim 3.0.0", "-", "goldens present", 1, SOURCE, 0, 0,
                      explanation="tests/fixtures/scalesim not found: the goldens need a source checkout")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for golden in cases:
            cmp = compare_with_golden(golden, Path(tmp) / golden.name)
            note = (f"total cycles {cmp.archsim_total_cycles:,} vs {cmp.golden_total_cycles:,}; "
                    + ("files byte-identical" if cmp.identical_bytes else "files differ"))
            rows.append(Check("SCALE-Sim 3.0.0", cmp.case, f"report cells equal ({cmp.layers} layers)",
                              cmp.cells, SOURCE, cmp.cells - cmp.differing_cells, 0.0, explanation=note,
                              wall_s=cmp.wall_s))
    return rows

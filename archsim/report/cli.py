"""``archsim validate-all``: every peer cross-check and paper reproduction, as one table."""
from __future__ import annotations

import argparse
from pathlib import Path

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "validation.csv"


def cmd_validate_all(args: argparse.Namespace) -> int:
    from archsim.cli import experiments_dir
    from archsim.report.validation import (
        collect,
        read_table,
        regressions,
        summary_lines,
        write_table,
    )

    print(f"validation sources ({'quick' if args.quick else 'full'} run):")
    checks = collect(experiments_dir(), args.quick, args.only)
    paths = write_table(checks, args.out)
    print()
    for line in summary_lines(checks):
        print(line)
    outside = [c for c in checks if c.status != "pass"]
    unexplained = [c for c in outside if not c.explanation]
    if outside:
        print(f"\n{len(outside)} rows outside their target:")
        for c in outside:
            print(f"  {c.system} / {c.case} / {c.metric}: reference {c.reference:g}"
                  f"{'' if c.reference_high is None else f'-{c.reference_high:g}'}, archsim {c.archsim:.6g} "
                  f"({c.error_pct:+.1f}%, target {c.target}) — {c.explanation or 'NO EXPLANATION'}")
    moved: list[str] = []
    check = None if args.no_check else Path(args.check)
    if check is not None and check.is_file() and check.resolve() != paths[0].resolve():
        committed = read_table(check)
        moved = regressions(checks, committed)
        print(f"\nagainst {check}: " + (f"{len(moved)} rows moved" if moved else "no row moved"))
        for line in moved:
            print(f"  MOVED {line}")
        for line in regressions(checks, committed, load_dependent=True):
            print(f"  changed (depends on a solver time limit, not a failure) {line}")
    print(f"\nwrote {', '.join(str(p) for p in paths)}")
    if unexplained:
        print(f"{len(unexplained)} rows outside their target have no explanation")
    return 1 if moved or unexplained else 0


def add_subcommand(sub) -> None:
    p = sub.add_parser("validate-all", help="run every peer cross-check and paper reproduction; write one table "
                       "(CSV, Markdown, figure) and compare it with the committed docs/validation.csv")
    p.add_argument("--quick", action="store_true", help="a reduced run (subsets; the rows it shares with the full "
                   "run have the same values)")
    p.add_argument("--only", action="append", metavar="SOURCE",
                   help="only sources whose name contains SOURCE (e.g. scalesim, dram, neupims); repeatable")
    p.add_argument("--out", default="runs/validation", help="output directory (default runs/validation; "
                   "`--out docs` regenerates the committed table)")
    p.add_argument("--check", default=str(COMMITTED), help="committed table to compare against "
                   "(default docs/validation.csv); a moved row makes the exit code 1")
    p.add_argument("--no-check", action="store_true", help="do not compare with a committed table")
    p.set_defaults(func=cmd_validate_all)

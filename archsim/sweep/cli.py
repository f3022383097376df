"""``archsim sweep SWEEP.yaml``: run a design-space sweep (wired into archsim.cli by SUBCOMMAND_MODULES)."""
from __future__ import annotations

import argparse
from pathlib import Path


def cmd_sweep(args: argparse.Namespace) -> int:
    from archsim.report.out_paths import output_dir
    from archsim.sweep import load_sweep, run_sweep

    spec = load_sweep(args.sweep)
    out = output_dir(args.out if args.out else Path("sweeps") / spec.name)
    formats = ("csv", "parquet") if args.format == "both" else (args.format,)
    outcome = run_sweep(spec, out, scheduler=args.scheduler, workers=args.workers, progress=not args.no_progress,
                        retry_failed=args.retry_failed, formats=formats)
    ok = outcome.tasks - outcome.failed
    print(f"sweep {spec.name}: {outcome.tasks} tasks ({ok} ok, {outcome.failed} failed; {outcome.computed} "
          f"computed, {outcome.cached} from the store; {outcome.rejected} points rejected by constraints) "
          f"in {outcome.wall_s:.1f} s")
    for _, row in outcome.table[outcome.table.status == "failed"].head(5).iterrows():
        print(f"  failed: point {row.point} {row.workload}: {row.error}")
    print(f"wrote {', '.join(str(p) for p in outcome.paths)}")
    if args.plot:
        from archsim.plot.sweep import write_sweep_plots
        paths = write_sweep_plots(outcome.table, out / "plots", spec.swept_keys)
        print(f"wrote {len(paths)} plots to {out / 'plots'}")
    return 0


def add_subcommand(subparsers) -> None:
    """Register ``archsim sweep``."""
    p = subparsers.add_parser("sweep", help="run a design-space sweep (local processes or a Dask cluster)")
    p.add_argument("sweep", help="sweep YAML (base arch, workloads, parameters, constraints)")
    p.add_argument("--out", help="output directory (default sweeps/<name>)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://host:8786")
    p.add_argument("--workers", type=int, default=None, help="local processes (default: all CPUs; 0 = in-process)")
    p.add_argument("--format", default="both", choices=["csv", "parquet", "both"])
    p.add_argument("--retry-failed", action="store_true", help="re-run points stored as failed")
    p.add_argument("--plot", action="store_true", help="also write Pareto and heat-map plots")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_sweep)

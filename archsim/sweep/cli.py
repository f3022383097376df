"""``archsim sweep SWEEP.yaml``: run a design-space sweep (wired into archsim.cli by SUBCOMMAND_MODULES).

Exit codes: 0 every point ran, 1 some point failed (the table says which and why), 2 a bad sweep file or
``--out`` (nothing ran), 130 / 143 interrupted by SIGINT / SIGTERM (finished points are stored: rerun the
same command to resume).
"""
from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

EXIT_FAILED_POINTS = 1


class _StopOnSignal:
    """SIGINT/SIGTERM handler: the first signal sets the sweep's stop event, which the executor polls (it stops
    the pool workers within 0.2 s; an in-process ``--workers 0`` sweep stops after its current point); a second
    one raises KeyboardInterrupt at once. (Raising on the first is unreliable: an exception raised while the
    pool forks a worker lands in an at-fork callback and is swallowed.)"""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signum: int | None = None

    def __call__(self, signum, frame):
        again = self.event.is_set()
        self.signum = signum
        self.event.set()
        if again:
            raise KeyboardInterrupt()


def cmd_sweep(args: argparse.Namespace) -> int:
    from archsim.report.out_paths import output_dir
    from archsim.sweep import load_sweep, run_sweep

    if args.retries < 0:
        from archsim.errors import ConfigError
        raise ConfigError("--retries", "retries", "bad value", value=args.retries, has_value=True,
                          expected="an integer >= 0")
    spec = load_sweep(args.sweep)
    out = output_dir(args.out if args.out else Path("sweeps") / spec.name)
    formats = ("csv", "parquet") if args.format == "both" else (args.format,)
    stopper = _StopOnSignal()
    main_thread = threading.current_thread() is threading.main_thread()   # signal handlers live there only
    previous = {s: signal.signal(s, stopper) for s in (signal.SIGINT, signal.SIGTERM)} if main_thread else {}
    try:
        outcome = run_sweep(spec, out, scheduler=args.scheduler, workers=args.workers,
                            progress=not args.no_progress, retry_failed=args.retry_failed, formats=formats,
                            retries=args.retries, stop=stopper.event)
    except KeyboardInterrupt:
        signum = stopper.signum or signal.SIGINT
        print(f"\nsweep {spec.name}: interrupted by {signal.Signals(signum).name}; its workers are stopped and the "
              f"finished points are stored in {out / 'points'}: rerun the same command to resume")
        return 128 + int(signum)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    ok = outcome.tasks - outcome.failed
    if outcome.definition_changed:
        print(f"note: sweep {spec.name}'s definition changed since its last run into {out}; stored points that "
              f"still match were reused and the results table now holds the current definition only")
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
    return EXIT_FAILED_POINTS if outcome.failed else 0


def add_subcommand(subparsers) -> None:
    """Register ``archsim sweep``."""
    p = subparsers.add_parser("sweep", help="run a design-space sweep (local processes or a Dask cluster)")
    p.add_argument("sweep", help="sweep YAML (base arch, workloads, parameters, constraints)")
    p.add_argument("--out", help="output directory (default sweeps/<name>); holds one sweep")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://host:8786")
    p.add_argument("--workers", type=int, default=None, help="local processes (default: all CPUs; 0 = in-process)")
    p.add_argument("--format", default="both", choices=["csv", "parquet", "both"])
    p.add_argument("--retry-failed", action="store_true", help="re-run points stored as failed")
    p.add_argument("--retries", type=int, default=2, metavar="N",
                   help="times a point whose worker process died is re-run alone before it is recorded as "
                        "failed (default 2)")
    p.add_argument("--plot", action="store_true", help="also write Pareto and heat-map plots")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_sweep)

"""``archsim plot RESULT_DIR``: figures from a sweep directory (results table) or a run directory (ops table)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from archsim.errors import ConfigError


def _read(path_stem: Path):
    import pandas as pd
    for ext, reader in ((".parquet", pd.read_parquet), (".csv", pd.read_csv), (".json", pd.read_json)):
        if path_stem.with_suffix(ext).is_file():
            return reader(path_stem.with_suffix(ext))
    return None


def cmd_plot(args: argparse.Namespace) -> int:
    from archsim.plot import run_plots
    from archsim.plot.style import save
    from archsim.plot.sweep import write_sweep_plots
    from archsim.sweep.store import read_table

    src = Path(args.result_dir)
    from archsim.report.out_paths import output_dir

    out = output_dir(args.out if args.out else src / "plots")
    formats = tuple(f.strip() for f in args.formats.split(","))
    bad = [f for f in formats if f not in FIGURE_FORMATS]
    if bad:
        raise ConfigError("command line", "--formats", "unknown figure format", value=bad[0], has_value=True,
                          expected=f"a comma-separated list of {', '.join(FIGURE_FORMATS)}")
    if (src / "results.csv").is_file() or (src / "results.parquet").is_file():
        table = read_table(src)
        keys = args.keys.split(",") if args.keys else [
            c for c in table.columns[2:table.columns.get_loc("status")]]
        paths = write_sweep_plots(table, out, keys, formats)
    else:
        ops = _read(src / "ops")
        if ops is None:
            raise ConfigError(src, "", "no results.csv/parquet (sweep) nor ops.csv/parquet/json (run) here",
                              expected="a directory written by `archsim sweep` or `archsim run`")
        summary = json.loads((src / "summary.json").read_text()) if (src / "summary.json").is_file() else {}
        comps = _read(src / "components")
        peaks = {}
        if comps is not None and summary.get("total_cycles"):
            # the components table states MAC utilization = macs / (peak * span): recover the peak
            for r in comps[comps.type == "engine"].itertuples():
                if r.mac_utilization == r.mac_utilization and r.mac_utilization > 0:
                    peaks[r.component] = r.macs / (r.mac_utilization * summary["total_cycles"])
        title = f"{summary.get('workload', '')} on {summary.get('arch', '')}".strip()
        paths = []
        paths += save(run_plots.utilization_over_time(ops, peaks, title=f"MAC utilization over time - {title}"),
                      out, "utilization_time", formats)
        paths += save(run_plots.busy_over_time(ops, title=f"Units busy over time - {title}"), out, "busy_time",
                      formats)
        paths += save(run_plots.utilization_per_op(ops, title=f"MAC utilization per op - {title}"), out,
                      "utilization_ops", formats)
        paths += save(run_plots.latency_breakdown(ops, title=f"Latency breakdown - {title}"), out,
                      "latency_breakdown", formats)
        paths += save(run_plots.timeline(ops, None, title=f"Timeline - {title}"), out, "timeline", formats)
    print(f"wrote {len(paths)} files to {out}")
    return 0


FIGURE_FORMATS = ("png", "svg", "pdf")


def add_subcommand(subparsers) -> None:
    """Register ``archsim plot``."""
    p = subparsers.add_parser("plot", help="plot a run directory or a sweep directory")
    p.add_argument("result_dir", help="directory written by `archsim run` or `archsim sweep`")
    p.add_argument("--out", help="output directory (default RESULT_DIR/plots)")
    p.add_argument("--keys", help="sweep: comma-separated swept keys for heat maps (default: the table's)")
    p.add_argument("--formats", default="png,svg", help=f"comma-separated figure formats ({', '.join(FIGURE_FORMATS)})")
    p.set_defaults(func=cmd_plot)

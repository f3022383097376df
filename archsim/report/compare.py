"""``archsim compare RUN_A RUN_B``: per-op and total deltas of two run directories, and a speedup table.

Ops are matched by name (an op split over several engines is summed per name); ops only in one run are
reported, never silently dropped. Deltas are B - A; speedup is A / B (above 1: B is faster).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from archsim.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

METRICS = ("total_cycles", "stall_cycles", "bytes", "energy_pj")


def read_run(run_dir: str | Path) -> tuple[dict, pd.DataFrame]:
    """(summary.json, ops table) of a run directory; ConfigError if it is not one."""
    import pandas as pd

    run = Path(run_dir)
    if not run.is_dir() or not (run / "summary.json").is_file():
        raise ConfigError(run, "summary.json", "not a run directory",
                          expected="a directory written by `archsim run` (summary.json and ops.csv/.parquet/.json)")
    summary = json.loads((run / "summary.json").read_text())
    for fmt, reader in (("csv", pd.read_csv), ("parquet", pd.read_parquet),
                        ("json", lambda p: pd.read_json(p, orient="records"))):
        if (run / f"ops.{fmt}").is_file():
            return summary, reader(run / f"ops.{fmt}")
    raise ConfigError(run, "ops", "run directory has no ops table", expected="ops.csv, ops.parquet or ops.json")


def per_op(ops: pd.DataFrame) -> pd.DataFrame:
    """One row per op name: cycles, stall cycles, bytes moved (all memories) and energy if the run has it."""
    import pandas as pd

    byte_cols = [c for c in ops.columns if c.startswith("bytes.")]
    df = pd.DataFrame({"name": ops["name"], "kind": ops["kind"], "total_cycles": ops["total_cycles"],
                       "stall_cycles": ops["stall_cycles"], "bytes": ops[byte_cols].sum(axis=1) if byte_cols else 0.0})
    energy = [c for c in ops.columns if c in ("energy_pj", "total_pj")]
    if energy:
        df["energy_pj"] = ops[energy[0]]
    agg = {c: "sum" for c in df.columns if c not in ("name", "kind")}
    return df.groupby("name", sort=False).agg({"kind": "first", **agg})


def compare_runs(run_a: str | Path, run_b: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, list[str], list[str]]:
    """(per-op table, totals table, op names only in A, op names only in B)."""
    import pandas as pd

    sa, oa = read_run(run_a)
    sb, ob = read_run(run_b)
    a, b = per_op(oa), per_op(ob)
    common = [n for n in a.index if n in b.index]
    only_a = [n for n in a.index if n not in b.index]
    only_b = [n for n in b.index if n not in a.index]
    if not common:
        raise ConfigError(run_b, "ops", f"no op of this run matches an op of {run_a} by name "
                          f"({len(a)} vs {len(b)} ops)", expected="two runs of the same workload")
    rows = []
    metrics = [m for m in METRICS if m in a.columns and m in b.columns]
    for name in common:
        row = {"op": name, "kind": a.loc[name, "kind"]}
        for m in metrics:
            row[f"{m}_a"], row[f"{m}_b"] = float(a.loc[name, m]), float(b.loc[name, m])
            row[f"{m}_delta"] = row[f"{m}_b"] - row[f"{m}_a"]
        row["speedup"] = row["total_cycles_a"] / row["total_cycles_b"] if row["total_cycles_b"] else float("nan")
        rows.append(row)
    ops = pd.DataFrame(rows)
    totals = []
    for key, label in (("total_cycles", "cycles"), ("latency_ms", "latency_ms"), ("total_macs", "macs"),
                       ("stall_cycles", "stall_cycles")):
        if key in sa and key in sb:
            totals.append({"metric": label, "a": float(sa[key]), "b": float(sb[key])})
    mem = lambda s: sum(v["read"] + v["write"] for v in s.get("memory_bytes", {}).values())
    totals.append({"metric": "memory_bytes", "a": float(mem(sa)), "b": float(mem(sb))})
    ea, eb = (s.get("energy", {}).get("total_pj") if isinstance(s.get("energy"), dict) else None for s in (sa, sb))
    if ea is not None and eb is not None:
        totals.append({"metric": "energy_pj", "a": float(ea), "b": float(eb)})
    tot = pd.DataFrame(totals)
    tot["delta"] = tot.b - tot.a
    tot["ratio_b_over_a"] = tot.b / tot.a.where(tot.a != 0)
    return ops, tot, only_a, only_b


def cmd_compare(args: argparse.Namespace) -> int:
    ops, totals, only_a, only_b = compare_runs(args.run_a, args.run_b)
    print(f"A = {args.run_a}\nB = {args.run_b}\n\ntotals (delta = B - A)")
    print(f"{'metric':<14}{'A':>18}{'B':>18}{'delta':>18}{'B/A':>9}")
    for r in totals.itertuples():
        print(f"{r.metric:<14}{r.a:>18,.10g}{r.b:>18,.10g}{r.delta:>+18,.10g}{r.ratio_b_over_a:>9.3f}")
    cyc = totals.set_index("metric").loc["cycles"]
    print(f"\nspeedup of B over A: {cyc.a / cyc.b:.3f}x" if cyc.b else "")
    print(f"\nper op ({len(ops)} matched by name; speedup = A cycles / B cycles), largest changes first")
    print(f"{'op':<30}{'kind':<10}{'cycles A':>12}{'cycles B':>12}{'delta':>12}{'speedup':>9}{'bytes delta':>14}")
    shown = ops.reindex(ops.total_cycles_delta.abs().sort_values(ascending=False).index).head(args.top)
    for r in shown.itertuples():
        print(f"{str(r.op)[:29]:<30}{str(r.kind)[:9]:<10}{r.total_cycles_a:>12,.0f}{r.total_cycles_b:>12,.0f}"
              f"{r.total_cycles_delta:>+12,.0f}{r.speedup:>9.3f}{r.bytes_delta:>+14,.0f}")
    by_kind = ops.groupby("kind")[["total_cycles_a", "total_cycles_b"]].sum()
    print(f"\nspeedup by op kind\n{'kind':<12}{'cycles A':>14}{'cycles B':>14}{'speedup':>9}")
    for kind, r in by_kind.iterrows():
        print(f"{kind:<12}{r.total_cycles_a:>14,.0f}{r.total_cycles_b:>14,.0f}"
              f"{(r.total_cycles_a / r.total_cycles_b if r.total_cycles_b else float('nan')):>9.3f}")
    for label, names in (("A", only_a), ("B", only_b)):
        if names:
            print(f"\nunmatched: {len(names)} ops only in {label}: {', '.join(names[:10])}"
                  f"{' ...' if len(names) > 10 else ''}")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        ops.to_csv(out / "compare_ops.csv", index=False)
        totals.to_csv(out / "compare_totals.csv", index=False)
        print(f"\nwrote {out / 'compare_ops.csv'}, {out / 'compare_totals.csv'}")
    return 0


def add_subcommand(subparsers) -> None:
    """Register ``archsim compare``."""
    p = subparsers.add_parser("compare", help="per-op and total deltas and speedups of two run directories")
    p.add_argument("run_a", help="run directory A (the baseline)")
    p.add_argument("run_b", help="run directory B")
    p.add_argument("--top", type=int, default=15, help="ops listed (largest cycle changes first; default 15)")
    p.add_argument("--out", help="also write compare_ops.csv and compare_totals.csv to this directory")
    p.set_defaults(func=cmd_compare)

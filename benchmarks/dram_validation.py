#!/usr/bin/env python3
"""Print archsim's DRAM model errors against DRAMsim3 for every validation case.

    python benchmarks/dram_validation.py [--width 1 4] [--csv OUT.csv] [--markdown]

Cases and DRAMsim3 numbers come from ``archsim.hw.dram.validation`` (the shared reference
results plus side-by-side runs of DRAMsim3 @2981759 with the same trace-CPU frontend).
Bandwidth error = archsim / DRAMsim3 - 1 on requests × 64 B / (total_cycles × tCK);
latency error on the average read latency (accept → data), both in percent.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from archsim.hw.dram.validation import CASES, DRAMSIM3_RESULTS, validate  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--width", type=int, nargs="+", default=[1, 4], help="frontend issue widths")
    ap.add_argument("--csv", default=None, help="also write the table to this CSV")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    a = ap.parse_args(argv)
    rows = []
    for case in CASES:
        for w in a.width:
            if (case.name, w) not in DRAMSIM3_RESULTS:
                continue
            t0 = time.perf_counter()
            r = validate(case, w)
            r["archsim_wall_s"] = time.perf_counter() - t0
            rows.append(r)
    df = pd.DataFrame(rows)
    cols = ["case", "issue_width", "source", "dramsim3_total_cycles", "archsim_total_cycles",
            "dramsim3_bandwidth_gbps", "archsim_bandwidth_gbps", "bandwidth_error_pct",
            "dramsim3_avg_read_latency_cycles", "archsim_avg_read_latency_cycles", "latency_error_pct"]
    show = df[cols].copy()
    for c in ("dramsim3_bandwidth_gbps", "archsim_bandwidth_gbps"):
        show[c] = show[c].round(3)
    for c in ("bandwidth_error_pct", "latency_error_pct"):
        show[c] = show[c].map(lambda x: f"{x:+.3f}")
    for c in ("dramsim3_avg_read_latency_cycles", "archsim_avg_read_latency_cycles"):
        show[c] = show[c].round(4)
    if a.markdown:
        print("| " + " | ".join(show.columns) + " |")
        print("|" + "---|" * len(show.columns))
        for row in show.itertuples(index=False):
            print("| " + " | ".join(str(v) for v in row) + " |")
    else:
        with pd.option_context("display.width", 250, "display.max_columns", 20):
            print(show.to_string(index=False))
    worst_bw = df["bandwidth_error_pct"].abs().max()
    worst_lat = df["latency_error_pct"].abs().max()
    exact = int((df["archsim_total_cycles"] == df["dramsim3_total_cycles"]).sum())
    print(f"\n{len(df)} cases: worst |bandwidth error| {worst_bw:.3f}%, worst |latency error| {worst_lat:.3f}%, "
          f"cycle-exact total cycles in {exact}/{len(df)}")
    if a.csv:
        df.to_csv(a.csv, index=False)
    return 0 if worst_bw <= 5.0 and worst_lat <= 10.0 else 1


if __name__ == "__main__":
    sys.exit(main())

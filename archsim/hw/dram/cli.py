"""``archsim dram``: run a memory-request trace through the cycle-level DRAM model.

    archsim dram --standard HBM2 [--config FILE.yaml] --trace TRACE [--issue-width N] [--json]

The lead wires ``add_subcommand`` into ``archsim/cli.py``; it registers the sub-command and sets
``func`` on the parsed namespace to ``run``, which returns the process exit code.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from archsim.hw.dram.standards import preset_names

_TEXT_FIELDS = (
    ("total_cycles", "total cycles", "{:d}"),
    ("bandwidth_gbps", "bandwidth (GB/s)", "{:.4f}"),
    ("peak_gbps", "peak bandwidth (GB/s)", "{:.3f}"),
    ("avg_read_latency_cycles", "avg read latency (cycles)", "{:.4f}"),
    ("p50_read_latency_cycles", "p50 read latency (cycles)", "{:.1f}"),
    ("p95_read_latency_cycles", "p95 read latency (cycles)", "{:.1f}"),
    ("p99_read_latency_cycles", "p99 read latency (cycles)", "{:.1f}"),
    ("read_row_hits", "read row hits", "{:d}"),
    ("read_row_misses", "read row misses", "{:d}"),
    ("read_row_conflicts", "read row conflicts", "{:d}"),
    ("write_row_hits", "write row hits", "{:d}"),
    ("write_row_misses", "write row misses", "{:d}"),
    ("write_row_conflicts", "write row conflicts", "{:d}"),
    ("act_cmds", "ACT", "{:d}"),
    ("pre_cmds", "PRE", "{:d}"),
    ("read_cmds", "RD", "{:d}"),
    ("write_cmds", "WR", "{:d}"),
    ("ref_cmds", "REF", "{:d}"),
)


def add_subcommand(subparsers) -> None:
    """Register ``dram`` on an argparse ``subparsers`` object (from ``add_subparsers()``)."""
    p = subparsers.add_parser(
        "dram", help="simulate a memory-request trace on a DRAM standard (cycle-level)",
        description="Simulate a DRAMsim3-format or CSV request trace on a DRAM standard. Presets: "
                    + ", ".join(preset_names()))
    p.add_argument("--standard", default=None, help="DRAM preset, e.g. HBM2, DDR4_3200 (default: HBM2, "
                   "or the config file's 'standard')")
    p.add_argument("--config", default=None, help="YAML overriding the preset's org/timing/controller")
    p.add_argument("--trace", required=True, help="trace file: '0xADDR READ|WRITE CYCLE' lines or CSV "
                   "addr,is_write[,cycle]")
    p.add_argument("--format", dest="trace_format", default="auto", choices=("auto", "dramsim3", "csv"),
                   help="trace format (default: by extension / content)")
    p.add_argument("--issue-width", type=int, default=1,
                   help="requests the frontend offers per memory cycle (1 = DRAMsim3's trace CPU)")
    p.add_argument("--row-policy", choices=("open", "closed"), default=None, help="override the row-buffer policy")
    p.add_argument("--flush-writes", action="store_true",
                   help="drain writes left in the write buffer at the end (DRAMsim3 does not)")
    p.add_argument("--per-bank", default=None, metavar="CSV", help="write per-bank statistics to this CSV")
    p.add_argument("--json", action="store_true", help="print the statistics as one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Execute the ``dram`` sub-command for parsed ``args``; return the exit code."""
    from archsim.hw.dram.config import apply_overrides, load_dram_config, resolve_standard
    from archsim.hw.dram.model import simulate_trace
    from archsim.hw.dram.traces import read_trace

    out = out or sys.stdout
    if args.issue_width < 1:
        from archsim.errors import ConfigError
        raise ConfigError("<command line>", "--issue-width", "bad value", value=args.issue_width, has_value=True,
                          expected="an integer ≥ 1")
    if args.config:
        std = load_dram_config(args.config, standard=args.standard or "HBM2")
    else:
        std = resolve_standard(args.standard or "HBM2", "<command line>", "--standard")
    if args.row_policy:
        std = apply_overrides(std, {"controller": {"row_policy": args.row_policy}}, "<command line>")
    requests = read_trace(args.trace, args.trace_format)
    stats = simulate_trace(std, requests, issue_width=args.issue_width, flush_writes=args.flush_writes)
    if stats.stalled:
        print("archsim dram: warning: the controller made no progress for a long time and stopped; "
              "unfinished requests are excluded from the statistics", file=sys.stderr)
    if args.per_bank:
        stats.per_bank.to_csv(args.per_bank, index=False)
    if args.json:
        out.write(json.dumps(stats.to_dict(), sort_keys=False) + "\n")
    else:
        d = stats.to_dict()
        out.write(f"{std.name}  ({std.source})\n")
        out.write(f"trace {args.trace}: {d['n_requests']} requests ({d['n_reads']} reads, {d['n_writes']} writes), "
                  f"issue width {args.issue_width}\n")
        for key, label, fmt in _TEXT_FIELDS:
            out.write(f"  {label:<28} {fmt.format(d[key])}\n")
    return 0

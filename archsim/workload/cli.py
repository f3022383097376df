"""``archsim lower WORKLOAD [--set k=v …] -o OUT.csv|.parquet``: write a workload's operator trace.

``archsim/cli.py`` wires this in with ``add_subcommand(subparsers)``; the parser's ``func`` default
is ``run_lower(args) -> int`` (exit status).
"""
from __future__ import annotations

import argparse
from pathlib import Path

FORMATS = ("csv", "parquet", "scalesim")


def add_subcommand(subparsers) -> None:
    """Register ``lower`` on an argparse ``subparsers`` object."""
    parser = subparsers.add_parser(
        "lower", help="lower a workload (zoo name, model YAML, config.json, ONNX, trace, SCALE-Sim topology) "
                      "to an operator trace",
        description="Write the operator trace of WORKLOAD. Examples: `archsim lower resnet18 -o resnet18.csv`; "
                    "`archsim lower llama2_7b --set phase=decode --set context=2048 -o l7b.parquet`.")
    parser.add_argument("workload", help="zoo name (see `archsim list`) or a .yaml/.json/.onnx/.csv/.parquet file")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="run knob: batch, phase (prefill|decode), seq_len, context, image_size, dtype, tp, "
                             "layers, experts_per_token, fuse, strict, points, dw_group_size, pw_groups, decode_tokens (repeatable)")
    parser.add_argument("-o", "--out", dest="output", required=True, type=Path,
                        help="output file; .csv or .parquet (or any name with --format scalesim)")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="output format (default: from the suffix); scalesim writes a SCALE-Sim conv "
                             "topology of the matrix ops")
    parser.set_defaults(func=run_lower)


def run_lower(args: argparse.Namespace) -> int:
    """Lower ``args.workload`` and write it to ``args.output``; prints a one-line summary; returns 0."""
    from archsim.report.out_paths import output_file
    from archsim.trace.io import write_trace
    from archsim.workload.loader import load_workload
    from archsim.workload.scalesim_topology import write_topology_trace

    output_file(args.output, "-o/--out")
    trace = load_workload(args.workload, args.overrides)
    fmt = args.format or ("parquet" if args.output.suffix.lower() in (".parquet", ".pq") else "csv")
    if fmt == "scalesim":
        write_topology_trace(trace, args.output)
    else:
        path = args.output if args.output.suffix else args.output.with_suffix(f".{fmt}")
        if fmt == "parquet" and path.suffix.lower() not in (".parquet", ".pq"):
            path = path.with_suffix(".parquet")
        args.output = write_trace(trace, path)
    print(f"{trace.name}: {len(trace)} ops, {trace.total_macs:,} MACs, {trace.total_params:,} params "
          f"-> {args.output}")
    return 0

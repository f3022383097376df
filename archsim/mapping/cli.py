"""``archsim map TRACE ARCH --mapper NAME -o schedule.json``: write a Schedule (with its memory plan)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_subcommand(subparsers) -> None:
    """Register ``map`` on the ``archsim`` command's subparsers."""
    p = subparsers.add_parser("map", help="map a trace onto an architecture and write the Schedule as JSON",
                              description="Map TRACE (a trace file or zoo model) onto ARCH with a mapper and "
                                          "write the Schedule: op order, engine per op and the memory plan.")
    p.add_argument("trace", help="trace file (.csv/.parquet), model file or zoo model name")
    p.add_argument("arch", help="architecture YAML")
    p.add_argument("--mapper", default="cosma", help="mapper name (see `archsim list`); default cosma")
    p.add_argument("-o", "--out", default="schedule.json", help="output JSON file")
    p.add_argument("--scratchpad-kib", type=float, default=None,
                   help="scratchpad capacity in KiB (default: the architecture's SRAMs)")
    p.add_argument("--include-weights", action="store_true", help="plan parameter tensors too")
    p.add_argument("--time-limit-s", type=float, default=60.0, help="ILP wall-time limit in seconds")
    p.add_argument("--segment-ops", type=int, default=40, help="divide-and-conquer segment length (ops)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="workload override (e.g. seq_len=128, dtype=int8)")
    p.set_defaults(func=cmd_map)


def cmd_map(args: argparse.Namespace) -> int:
    """Run the mapper, check the Schedule, write it and print its traffic summary."""
    from archsim.config import load_arch
    from archsim.errors import ConfigError
    from archsim.mapping import MAPPERS
    from archsim.mapping.checker import check_schedule
    from archsim.sim.run import build_engines
    from archsim.workload import load_workload

    if args.mapper not in MAPPERS:
        raise ConfigError("--mapper", "mapper", "unknown mapper", value=args.mapper, has_value=True,
                          expected=f"one of {sorted(MAPPERS)}")
    trace = load_workload(args.trace, args.set)
    engines = build_engines(load_arch(args.arch))
    options = {}
    if args.mapper not in ("by_kind", "partition"):
        options = {"include_weights": args.include_weights, "time_limit_s": args.time_limit_s}
        if args.scratchpad_kib is not None:
            options["capacity_bytes"] = int(args.scratchpad_kib * 1024)
        if args.mapper == "cosma_dc":
            options["segment_ops"] = args.segment_ops
    schedule = MAPPERS[args.mapper](trace, engines, **options)
    traffic = check_schedule(schedule)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(schedule.to_dict(), indent=1))
    tiled = f" ({len(schedule.trace.splits)} ops tiled)" if schedule.tiled else ""
    print(f"{trace.name}: {len(schedule.entries)} ops mapped by {args.mapper}{tiled}")
    if traffic is not None:
        plan = schedule.memory_plan
        info = plan.info
        print(f"scratchpad {plan.capacity} B; off-chip: compulsory {traffic.compulsory} B, non-compulsory "
              f"{traffic.non_compulsory} B (spill {traffic.spill_store} B, reload {traffic.reload} B), tiling "
              f"{traffic.tiling} B")
        print(f"solver: {info.method}, {info.status}, gap {info.gap}, {info.seconds:.2f} s")
    print(f"wrote {out}")
    return 0

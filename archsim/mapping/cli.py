"""``archsim map ARCH WORKLOAD --mapper NAME -o schedule.json``: write a Schedule (with its memory plan)."""
from __future__ import annotations

import argparse
import json

from archsim.mapping.names import ILP_MAPPERS, MAPPER_NAMES, PLANNING_MAPPERS


def add_subcommand(subparsers) -> None:
    """Register ``map`` on the ``archsim`` command's subparsers."""
    p = subparsers.add_parser("map", help="map a trace onto an architecture and write the Schedule as JSON",
                              description="Map WORKLOAD (a zoo model, model file or trace) onto ARCH with a mapper and "
                                          "write the Schedule: op order, engine per op and the memory plan.")
    p.add_argument("arch", help="architecture YAML or shipped architecture name (archsim list)")
    p.add_argument("workload", help="zoo model name, workload YAML, trace file (.csv/.parquet) or SCALE-Sim "
                                    "topology CSV (as for `archsim run`)")
    p.add_argument("--mapper", default=None, choices=MAPPER_NAMES,
                   help="mapper (default cosma, or the compiler of an engine kind that runs only its programs: "
                        "flightllm on kind: fpga_llm, which writes the compiled instruction program)")
    p.add_argument("-o", "--out", default="schedule.json", help="output JSON file")
    p.add_argument("--scratchpad-kib", type=float, default=None,
                   help="scratchpad capacity in KiB (default: the architecture's SRAMs)")
    p.add_argument("--include-weights", action="store_true", help="plan parameter tensors too")
    p.add_argument("--time-limit-s", type=float, default=60.0,
                   help="wall-time limit of the ILP mappers (cosma, cosma_dc), building the ILP included, s")
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

    from archsim.report.out_paths import output_file

    out = output_file(args.out, "-o/--out")
    try:
        arch = load_arch(args.arch)
    except ConfigError as not_an_arch:
        from archsim.config.shipped import resolve_arch

        try:
            resolve_arch(args.workload)
        except ConfigError:
            raise not_an_arch from None
        raise ConfigError("command line", "arch", "the arguments look swapped", value=[args.arch, args.workload],
                          has_value=True, expected="archsim map ARCH WORKLOAD (the order of archsim run)") from None
    from archsim.mapping import mapper_for
    from archsim.mapping.compiled import CompiledProgram

    args.mapper = mapper_for(arch, args.mapper, default="cosma")
    trace = load_workload(args.workload, args.set)
    engines = build_engines(arch)
    if not (args.time_limit_s > 0 and args.time_limit_s < 1e7):
        raise ConfigError("command line", "--time-limit-s", "bad value", value=args.time_limit_s, has_value=True,
                          expected="seconds > 0")
    options = {}
    if args.mapper in PLANNING_MAPPERS:
        options = {"include_weights": args.include_weights}
        if args.scratchpad_kib is not None:
            if not (args.scratchpad_kib > 0 and args.scratchpad_kib < 1e12):
                raise ConfigError("command line", "--scratchpad-kib", "bad value", value=args.scratchpad_kib,
                                  has_value=True, expected="KiB > 0")
            options["capacity_bytes"] = int(args.scratchpad_kib * 1024)
    if args.mapper in ILP_MAPPERS:
        options["time_limit_s"] = args.time_limit_s
    if args.mapper == "cosma_dc":
        if args.segment_ops < 1:
            raise ConfigError("command line", "--segment-ops", "bad value", value=args.segment_ops,
                              has_value=True, expected="an integer ≥ 1")
        options["segment_ops"] = args.segment_ops
    schedule = MAPPERS[args.mapper](trace, engines, **options)
    if isinstance(schedule, CompiledProgram):
        out.write_text(json.dumps(schedule.to_dict(), separators=(",", ":")))
        print("\n".join(schedule.summary_lines()))
        print(f"wrote {out}")
        return 0
    traffic = check_schedule(schedule)
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

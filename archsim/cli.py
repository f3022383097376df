"""The ``archsim`` command: run, scalesim, validate, list (plus the subcommands other packages add)."""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from archsim.errors import ArchsimError

ARCH_TOP_LEVEL_KEYS = ("name", "description", "clock_ghz", "engines", "memories", "links")

# Packages that contribute a subcommand through ``add_subcommand(subparsers)``.
SUBCOMMAND_MODULES: tuple[str, ...] = ("archsim.serving.cli", "archsim.workload.cli", "archsim.mapping.cli",
                                       "archsim.hw.dram.cli", "archsim.sweep.cli", "archsim.plot.cli",
                                       "archsim.report.cli", "archsim.report.compare")


def split_overrides(items: list[str]) -> tuple[list[str], list[str]]:
    """Split ``--set`` items into architecture overrides (first key is an arch section) and workload ones."""
    arch, workload = [], []
    for item in items:
        first = item.split("=", 1)[0].split(".", 1)[0].strip()
        (arch if first in ARCH_TOP_LEVEL_KEYS else workload).append(item)
    return arch, workload


def cmd_run(args: argparse.Namespace) -> int:
    from archsim.config import load_arch
    from archsim.report import format_summary, write_result
    from archsim.sim.run import simulate

    from archsim.energy import EnergySpec
    from archsim.report.energy import run_energy
    from archsim.report.out_paths import output_dir
    from archsim.report.provenance import default_run_dir, run_provenance
    from archsim.report.writers import prepare_run_dir

    sets = args.set or []
    energy_sets = [s for s in sets if s.split("=", 1)[0].strip().startswith("energy.")]
    arch_sets, workload_sets = split_overrides([s for s in sets if s not in energy_sets])
    energy_spec = EnergySpec.from_overrides(energy_sets)
    arch = load_arch(args.arch, arch_sets)
    from archsim.mapping import mapper_for
    from archsim.report.provenance import DEFAULT_MAPPER

    mapper = mapper_for(arch, args.mapper)        # None: the architecture's default (flightllm on an FPGA)
    out = output_dir(args.out if args.out else default_run_dir(
        arch.name, args.workload, arch_sets + energy_sets, workload_sets,
        DEFAULT_MAPPER if mapper == mapper_for(arch) else mapper))
    provenance = run_provenance(arch, args.workload, workload_sets, arch_sets + energy_sets, mapper)
    mapper_options = None
    if args.time_limit_s is not None:
        from archsim.errors import ConfigError
        from archsim.mapping.names import ILP_MAPPERS

        if mapper not in ILP_MAPPERS:
            raise ConfigError("command line", "--time-limit-s", f"does not apply to mapper {mapper!r}",
                              expected=f"--mapper one of {list(ILP_MAPPERS)}")
        if not 0 < args.time_limit_s < 1e7:
            raise ConfigError("command line", "--time-limit-s", "bad value", value=args.time_limit_s,
                              has_value=True, expected="seconds > 0")
        mapper_options = {"time_limit_s": args.time_limit_s}
    result = simulate(arch, args.workload, workload_overrides=workload_sets, mapper=mapper,
                      mapper_options=mapper_options, progress=not args.no_progress)
    energy = run_energy(result, arch, energy_spec)
    print(format_summary(result, energy=energy))
    replaced = prepare_run_dir(out, provenance)
    if replaced:
        print(f"\nnote: replaced the earlier run in {out} (it differed: {replaced})", file=sys.stderr)
    paths = write_result(result, out, args.format, provenance, energy=energy)
    if args.plot:
        from archsim.plot import write_standard_plots

        paths += write_standard_plots(result, out / "plots", arch=arch, energy_spec=energy_spec)
    print(f"\nwrote {', '.join(str(p) for p in paths)}")
    return 0


def cmd_scalesim(args: argparse.Namespace) -> int:
    from archsim.report.out_paths import output_dir
    from archsim.scalesim.run import run_scalesim

    out = run_scalesim(args.c, args.t, args.i, output_dir(args.out), progress=not args.no_progress)
    print(f"wrote SCALE-Sim reports to {out}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from archsim.config import load_arch

    arch = load_arch(args.file, args.set or [])
    engines = ", ".join(f"{n} ({p.kind})" for n, p in arch.engines.items())
    memories = ", ".join(f"{n} ({p.kind})" for n, p in arch.memories.items())
    print(f"{args.file}: OK — {arch.name}: engines {engines}; memories {memories or 'none'}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from archsim.hw import registry
    from archsim.hw.dataflows import dataflow_names
    from archsim.mapping import MAPPERS

    from archsim.config.shipped import shipped_architectures

    archs = list(shipped_architectures())
    try:
        from archsim.workload import list_workloads
        workloads = list_workloads()
    except ImportError:
        workloads = []
    listing = {
        "architectures": archs,
        "workloads": workloads,
        "mappers": sorted(MAPPERS),
        "engine kinds": registry.kinds("engine"),
        "memory kinds": registry.kinds("memory"),
        "systolic dataflows": dataflow_names(),
    }
    if args.json:
        print(json.dumps(listing, indent=2))
    else:
        for title, items in listing.items():
            print(f"{title}:")
            for item in items:
                print(f"  {item}")
    return 0


def experiments_dir() -> Path:
    """The ``experiments/`` folder (one script per reproduced paper table): the checkout's or the installed copy."""
    from archsim.shipped import shipped_dir

    return shipped_dir("experiments")


def cmd_reproduce(args: argparse.Namespace) -> int:
    import runpy

    scripts = sorted(p.stem for p in experiments_dir().glob("*.py"))
    if args.name not in scripts:
        from archsim.errors import ConfigError

        raise ConfigError("reproduce", "NAME", "unknown experiment", value=args.name, has_value=True,
                          expected=f"one of {scripts}")
    argv = list(args.args)
    if not any(a == "--out" or a.startswith("--out=") for a in argv):
        # never the tracked experiments/figures/: those are regenerated deliberately with --out experiments/figures
        argv += ["--out", str(Path("runs") / "reproduce" / args.name)]
    module = runpy.run_path(str(experiments_dir() / f"{args.name}.py"), run_name="archsim_reproduce")
    program, stdout = sys.argv[0], sys.stdout
    sys.argv[0] = f"archsim reproduce {args.name}"     # the experiment's own usage and errors name the command
    sys.stdout = ReaderMayLeave(stdout)
    try:
        return int(module["main"](argv) or 0)
    finally:
        sys.argv[0], sys.stdout = program, stdout


class ReaderMayLeave:
    """Standard output of an experiment: when the reader of a pipe goes away (``archsim reproduce X | head``),
    the rest of the report goes to /dev/null and the experiment goes on to write its CSV and figures."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def _drop_reader(self) -> None:
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            self._drop_reader()
            return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._drop_reader()

    def __getattr__(self, name):
        return getattr(self.stream, name)


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``archsim`` command."""
    from archsim.mapping.names import MAPPER_NAMES

    parser = argparse.ArgumentParser(prog="archsim", description="Cycle-level accelerator simulator")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="simulate a workload on an architecture")
    run.add_argument("arch", help="architecture YAML or shipped architecture name (archsim list)")
    run.add_argument("workload", help="zoo model name, workload YAML, trace file or SCALE-Sim topology CSV")
    run.add_argument("--out", help="output directory (default runs/<arch>__<workload>, plus __<hash of the --set "
                                   "overrides and mapper> when there are any)")
    run.add_argument("--format", default="csv", choices=["csv", "parquet", "json"])
    run.add_argument("--set", action="append", metavar="KEY=VALUE",
                     help="override: architecture keys (engines.npu.rows=64), workload keys (batch=8) or energy "
                          "keys (energy.node_nm=28, energy.dram_standard.dram=DDR4)")
    run.add_argument("--mapper", default=None, choices=MAPPER_NAMES,
                     help="mapper; default partition (each op on the unit group that finishes it first), or the "
                          "compiler of an engine kind that runs only its programs (flightllm on kind: fpga_llm)")
    run.add_argument("--time-limit-s", type=float, default=None,
                     help="wall-time limit of an ILP mapper (cosma, cosma_dc; default 60), building the ILP "
                          "included, s")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--plot", action="store_true", help="also write the standard figures to OUT/plots")
    run.set_defaults(func=cmd_run)

    ss = sub.add_parser("scalesim", help="SCALE-Sim 3.0.0 compatibility mode (reads its .cfg and topology CSV)")
    ss.add_argument("-c", required=True, metavar="ARCH.cfg", help="SCALE-Sim config file")
    ss.add_argument("-t", required=True, metavar="TOPOLOGY.csv", help="SCALE-Sim topology file")
    ss.add_argument("-i", default="conv", choices=["conv", "gemm"], help="topology kind")
    ss.add_argument("--out", default="scalesim_out", help="directory for the report CSVs")
    ss.add_argument("--no-progress", action="store_true")
    ss.set_defaults(func=cmd_scalesim)

    val = sub.add_parser("validate", help="check an architecture YAML")
    val.add_argument("file", metavar="arch", help="architecture YAML or shipped architecture name (archsim list)")
    val.add_argument("--set", action="append", metavar="KEY=VALUE")
    val.set_defaults(func=cmd_validate)

    lst = sub.add_parser("list", help="shipped architectures, workloads, mappers and hardware kinds")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_list)

    rep = sub.add_parser("reproduce", help="reproduce a paper's table: runs experiments/NAME.py "
                                           "(prints paper vs archsim, writes CSV + PNG to --out DIR, "
                                           "default runs/reproduce/NAME)")
    rep.add_argument("name", help="experiment name, e.g. neupims, pim_gpt, cosma")
    rep.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the experiment (e.g. --quick)")
    rep.set_defaults(func=cmd_reproduce)

    for module in SUBCOMMAND_MODULES:
        importlib.import_module(module).add_subcommand(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``archsim`` console script; returns the process exit code."""
    try:
        args = build_parser().parse_args(argv)
        code = args.func(args)
        sys.stdout.flush()          # a closed pipe shows up here at the latest, while we can still end quietly
        return code
    except ArchsimError as exc:
        print(f"archsim: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader of our output went away (`archsim ... | head`): stop quietly, as Unix tools do
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())

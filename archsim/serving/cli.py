"""``archsim serve ARCH MODEL``: serve an LLM's decode iterations on an architecture and write the tables."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_subcommand(subparsers) -> None:
    """Register ``archsim serve``."""
    p = subparsers.add_parser(
        "serve", help="serve an LLM (batched decode iterations) on an architecture",
        description="Serve MODEL's decode iterations on ARCH: continuous batching over a request stream, KV caches "
                    "growing a token per iteration, finished requests replaced; every iteration is lowered, mapped "
                    "and run on the event engine. Writes iterations, ops and units tables and summary.json.")
    p.add_argument("arch", help="architecture YAML or shipped architecture name (archsim list)")
    p.add_argument("model", help="zoo LLM (archsim list), e.g. gpt3_7b, llama2_70b, mixtral_8x7b")
    p.add_argument("--batch", type=int, default=64, help="requests served at once (default 64)")
    p.add_argument("--requests", default="sharegpt",
                   help="request-length distribution: sharegpt, alpaca or a YAML file (default sharegpt)")
    p.add_argument("--iterations", type=int, default=10, help="decode iterations simulated (default 10)")
    p.add_argument("--sub-batches", type=int, default=1, help="2 = sub-batch interleaving (default 1)")
    p.add_argument("--tp", type=int, default=1, help="tensor-parallel devices (the run is one device's share)")
    p.add_argument("--pp", type=int, default=1, help="pipeline stages (the run is one stage)")
    p.add_argument("--sim-layers", type=int, default=None,
                   help="simulate this many decoder layers per iteration and scale (default: all)")
    p.add_argument("--warm-up", type=int, default=0, help="untimed iterations before, to reach a steady mix")
    p.add_argument("--channel-policy", default="greedy", help="PIM channel placement: greedy or round_robin")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-prefetch", action="store_true", help="each GEMM streams its own weights (no DMA prefetch)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="architecture override, e.g. engines.pim.row_buffers=single")
    p.add_argument("--out", help="output directory (default runs/<arch>__<model>__serve)")
    p.add_argument("--format", default="csv", choices=["csv", "parquet", "json"])
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the serving simulation, print its summary and write the tables."""
    from archsim.config import load_arch
    from archsim.report.out_paths import output_dir
    from archsim.report.writers import write_table
    from archsim.serving import ServingOptions, load_request_dist, serve

    arch = load_arch(args.arch, args.set)
    dist = load_request_dist(args.requests)
    options = ServingOptions(batch=args.batch, sub_batches=args.sub_batches, channel_policy=args.channel_policy,
                             iterations=args.iterations, sim_layers=args.sim_layers, tp=args.tp, pp=args.pp,
                             warm_up_iterations=args.warm_up, seed=args.seed, weight_prefetch=not args.no_prefetch)
    options.check("archsim serve", "--")
    from archsim.report.provenance import default_run_dir, serving_provenance
    from archsim.report.writers import prepare_run_dir

    provenance = serving_provenance(arch, args.model, args.requests, vars(options), args.set)
    settings = [f"{k}={v}" for k, v in sorted(vars(options).items()) if getattr(ServingOptions(batch=64), k) != v]
    settings += [f"requests={args.requests}"] if args.requests != "sharegpt" else []
    out = output_dir(args.out if args.out else default_run_dir(arch.name, f"{args.model}__serve", args.set, settings))
    r = serve(arch, args.model, dist, options)
    s = r.summary()
    print(f"{args.model} on {arch.name}: batch {options.batch} ({options.sub_batches} sub-batch"
          f"{'es' if options.sub_batches > 1 else ''}), {s['iterations']} iterations, {r.sim_layers} of "
          f"{r.layers_per_device} layers simulated: {s['tokens_per_s']:,.0f} tokens/s, "
          f"{s['ms_per_iteration']:.3f} ms per iteration, mean context {s['mean_context']:.0f}, "
          f"attention on {s['attention_unit']}")
    units = r.units
    print(f"\n{'unit':<10}{'kind':<10}{'busy %':>8}{'MAC util %':>12}")
    for row in units.itertuples():
        util = "" if row.mac_utilization != row.mac_utilization else f"{100 * row.mac_utilization:.1f}"
        print(f"{row.component:<10}{row.kind:<10}{100 * row.busy_fraction:>8.1f}{util:>12}")
    replaced = prepare_run_dir(out, provenance)
    if replaced:
        print(f"\nnote: replaced the earlier run in {out} (it differed: {replaced})", file=sys.stderr)
    paths = [write_table(r.iterations, out / "iterations", args.format), write_table(r.ops, out / "ops", args.format),
             write_table(units, out / "units", args.format)]
    summary = out / "summary.json"
    summary.write_text(json.dumps({**s, "options": {k: v for k, v in vars(options).items()},
                                   "provenance": provenance}, indent=2,
                                  sort_keys=True, default=str) + "\n")
    paths.append(summary)
    print(f"\nwrote {', '.join(str(p) for p in paths)}")
    return 0

"""Wall time of serving runs on the one event engine (NeuPIMs config), against the goals of the engine issue:

* GPT3-30B (TP 4, PP 2 → 24 layers per device), batch 256 in two interleaved sub-batches, ShareGPT lengths,
  1,000 decode iterations, every layer simulated (no layer scaling): under a minute;
* one full decode step of LLaMA-2-70B (80 layers, TP 8, batch 256): under a second.

    PYTHONPATH=. python benchmarks/serving_speed.py [--iterations 1000] [--model gpt3_30b] [--skip-70b]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archsim.config import load_arch  # noqa: E402
from archsim.serving import ServingOptions, load_request_dist, serve  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--model", default="gpt3_30b")
    ap.add_argument("--tp", type=int, default=4)
    ap.add_argument("--pp", type=int, default=2)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--skip-70b", action="store_true", help="only the long serving run")
    args = ap.parse_args(argv)
    arch = load_arch(ROOT / "arch_configs" / "neupims.yaml")
    dist = load_request_dist("sharegpt")
    serve(arch, "gpt3_7b", dist, ServingOptions(batch=8, iterations=1, sim_layers=1, tp=4))   # JIT / cache warm
    if not args.skip_70b:
        t0 = time.perf_counter()
        r = serve(arch, "llama2_70b", dist, ServingOptions(batch=256, iterations=1, tp=8, warm_up_iterations=0))
        wall = time.perf_counter() - t0
        print(f"llama2_70b TP8 batch 256, one decode step of {r.sim_layers} layers: wall {wall:.2f} s "
              f"({r.events} tasks), simulated {r.time_ns / 1e6:.2f} ms")
    t0 = time.perf_counter()
    r = serve(arch, args.model, dist, ServingOptions(batch=args.batch, sub_batches=2, iterations=args.iterations,
                                                     tp=args.tp, pp=args.pp))
    wall = time.perf_counter() - t0
    print(f"{args.model} TP{args.tp} PP{args.pp}, batch {args.batch} (2 sub-batches), {args.iterations} iterations x "
          f"{r.sim_layers} layers: wall {wall:.1f} s, {r.events} tasks ({r.events / wall / 1e3:.0f} k/s), simulated "
          f"{r.time_ns / 1e6:.1f} ms, {r.tokens_per_s:.0f} tokens/s, {r.requests_completed} requests finished, "
          f"peak KV {max(r.kv_bytes) / 2**30:.2f} GiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Wall time to simulate a serving run on the NeuPIMs config: GPT3-30B (TP 4, PP 2 → 24 layers per device),
batch 256 in two interleaved sub-batches, ShareGPT lengths, 1,000 decode iterations, every layer simulated
(no layer scaling). Goal: under a minute on the shared 2-core machine.

    PYTHONPATH=. python benchmarks/serving_speed.py [--iterations 1000] [--model gpt3_30b]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archsim.config import load_arch  # noqa: E402
from archsim.serving import DecoderShape, ServingOptions, ServingSystem, load_request_dist, serve  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--model", default="gpt3_30b")
    ap.add_argument("--tp", type=int, default=4)
    ap.add_argument("--pp", type=int, default=2)
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args(argv)
    root = Path(__file__).resolve().parents[1]
    system = ServingSystem.from_arch(load_arch(root / "arch_configs" / "neupims.yaml"))
    shape = DecoderShape.from_workload(args.model, args.tp)
    serve(system, shape, load_request_dist("sharegpt"), ServingOptions(batch=8, iterations=1, sim_layers=1))  # JIT warm
    t0 = time.perf_counter()
    r = serve(system, shape, load_request_dist("sharegpt"),
              ServingOptions(batch=args.batch, sub_batches=2, iterations=args.iterations, tp=args.tp, pp=args.pp))
    wall = time.perf_counter() - t0
    print(f"{args.model} TP{args.tp} PP{args.pp}, batch {args.batch} (2 sub-batches), {args.iterations} iterations x "
          f"{r.sim_layers} layers: wall {wall:.1f} s, {r.events} resource holds "
          f"({r.events / wall / 1e3:.0f} k/s), simulated {r.time_ns / 1e6:.1f} ms, {r.tokens_per_s:.0f} tokens/s, "
          f"{r.requests_completed} requests finished, peak KV {max(r.kv_bytes) / 2**30:.2f} GiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

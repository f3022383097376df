"""Sweep throughput: points per wall-second of a 1,000-point ResNet-50 sweep on local processes.

    PYTHONPATH=. python benchmarks/sweep_speed.py [--workers 2] [--points 1000] [--scheduler ADDRESS]

The grid is array rows x cols x dataflow x ifmap SRAM x filter SRAM on the edge 32x32 preset
(5 x 5 x 2 x 5 x 4 = 1,000 points), with energy. Each run starts from an empty store (a temporary
directory), so every point is computed; the time includes pool start-up and Numba cache loading in
each worker. Goal (issue 6): the whole 1,000-point sweep in under a minute on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sweep_data(points: int) -> dict:
    """The benchmark sweep as a mapping (truncated to ``points`` by random sampling when fewer)."""
    data = {
        "name": "bench_resnet50",
        "base": str(ROOT / "arch_configs" / "edge_32x32_ws.yaml"),
        "workloads": ["resnet50"],
        "parameters": {
            "engines.npu.rows": [8, 16, 32, 64, 128],
            "engines.npu.cols": [8, 16, 32, 64, 128],
            "engines.npu.dataflow": ["os", "ws"],
            "memories.ifmap_sram.capacity_kib": [16, 32, 64, 128, 256],
            "memories.filter_sram.capacity_kib": [16, 32, 64, 128],
        },
        "energy": {"dram_standard": {"lpddr4": "LPDDR3"}},
    }
    if points < 1000:
        data.update(mode="random", samples=points, seed=0)
    return data


def main() -> None:
    from archsim.sweep import build_sweep, run_sweep

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--scheduler", default=None)
    args = ap.parse_args()
    spec = build_sweep(sweep_data(args.points), "benchmarks/sweep_speed.py", ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        outcome = run_sweep(spec, tmp, workers=args.workers, scheduler=args.scheduler, progress=False)
        wall = time.perf_counter() - start
        again = time.perf_counter()
        resumed = run_sweep(spec, tmp, workers=args.workers, scheduler=args.scheduler, progress=False)
        resume_wall = time.perf_counter() - again
    report = {
        "points": outcome.tasks, "failed": outcome.failed, "workers": args.workers,
        "scheduler": args.scheduler or "processes", "wall_s": round(wall, 2),
        "points_per_s": round(outcome.tasks / wall, 1),
        "resume_wall_s": round(resume_wall, 2), "resume_cached": resumed.cached,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Requests simulated per wall-second by archsim's DRAM model, per pattern; optionally side by
side with a DRAMsim3 build.

    python benchmarks/dram_throughput.py [--repeat 3] [--width 1]
        [--dramsim3 /tmp/DRAMsim3/build/dramsim3main --dramsim3-configs /tmp/DRAMsim3/configs]

archsim time: ``simulate_trace`` on in-memory requests, best of ``--repeat`` runs after one warm-up
(Numba compilation excluded; it is cached on disk after the first run anyway). DRAMsim3 time: its
stock ``dramsim3main CONFIG -c CYCLES -t TRACE`` run for exactly the cycles the trace needs (the
model is cycle-exact against it, so that is the same simulated work), best of ``--repeat``; it
includes process start-up and DRAMsim3's stats output (a few ms). The two alternate run by run
(archsim, DRAMsim3, archsim, ...), so a slow spell of a shared machine slows both, not one.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from archsim.hw.dram import simulate_trace  # noqa: E402
from archsim.hw.dram.validation import CASES, requests_for_case, standard_for_case  # noqa: E402

# stock DRAMsim3 configs for the presets (closed-page cases are timed for archsim only)
DRAMSIM3_INI = {"HBM2": "HBM2_8Gb_x128.ini", "DDR4_3200": "DDR4_8Gb_x8_3200.ini",
                "DDR4_2400": "DDR4_8Gb_x8_2400.ini", "LPDDR4": "LPDDR4_8Gb_x16_2400.ini"}


def _write_dramsim3_trace(req, path: Path) -> None:
    ops = np.where(req.is_write, "WRITE", "READ")
    with open(path, "w") as f:
        f.writelines(f"0x{a:x} {o} {c}\n" for a, o, c in zip(req.addr.tolist(), ops.tolist(), req.cycle.tolist()))
        f.write("0x0 READ 999999999999")


def _time_dramsim3_once(binary: str, ini: Path, trace: Path, cycles: int, out_dir: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([binary, str(ini), "-c", str(cycles), "-t", str(trace), "-o", out_dir],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _time_archsim_once(std, req, width: int) -> float:
    t0 = time.perf_counter()
    simulate_trace(std, req, issue_width=width)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--width", type=int, default=1, help="frontend issue width")
    ap.add_argument("--dramsim3", default=None, help="path to a dramsim3main binary (optional)")
    ap.add_argument("--dramsim3-configs", default=None, help="DRAMsim3's configs/ directory")
    a = ap.parse_args(argv)
    print(f"{'case':22s} {'requests':>9s} {'cycles':>9s} {'archsim s':>10s} {'archsim req/s':>14s}"
          + (f" {'DRAMsim3 s':>11s} {'DRAMsim3 req/s':>15s} {'speed-up':>8s}" if a.dramsim3 else ""))
    tmp = tempfile.TemporaryDirectory()
    for case in CASES:
        std = standard_for_case(case)
        req = requests_for_case(case)
        stats = simulate_trace(std, req, issue_width=a.width)  # warm-up (and compile on first use)
        peer = a.dramsim3 and a.width == 1 and not case.row_policy and case.standard in DRAMSIM3_INI
        if peer:
            trace = Path(tmp.name) / f"{case.name}.trace"
            _write_dramsim3_trace(req, trace)
            ini = Path(a.dramsim3_configs) / DRAMSIM3_INI[case.standard]
        best, d = float("inf"), float("inf")
        for _ in range(a.repeat):
            best = min(best, _time_archsim_once(std, req, a.width))
            if peer:
                d = min(d, _time_dramsim3_once(a.dramsim3, ini, trace, stats.total_cycles, tmp.name))
        line = (f"{case.name:22s} {case.n:9d} {stats.total_cycles:9d} {best:10.4f} {case.n / best:14,.0f}")
        if peer:
            line += f" {d:11.4f} {case.n / d:15,.0f} {d / best:8.1f}x"
        print(line, flush=True)
    print(f"\n(host: {os.cpu_count()} CPUs; wall-clock times, best of {a.repeat})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

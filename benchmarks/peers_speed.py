#!/usr/bin/env python3
"""archsim side by side with its peers, where they are installed: DRAMsim3 and SCALE-Sim 3.0.0.

    python benchmarks/peers_speed.py [--repeat 3] [--cases hbm2_seq_read,...]
        [--dramsim3 BIN --dramsim3-configs DIR]        (or DRAMSIM3_BIN / DRAMSIM3_CONFIGS)
        [--scalesim-python PY]                          (or SCALESIM_PYTHON)
        [--scalesim-seconds S]                          (reuse a measured SCALE-Sim time instead of re-running)

How to get the peers (never committed): see benchmarks/README.md.

DRAM, per validation pattern that has a stock DRAMsim3 config (100k requests for most):

* whole process: ``archsim dram --standard S --trace T.trace`` against ``dramsim3main INI -c CYCLES -t T.trace``
  on the same DRAMsim3-format trace file (DRAMsim3 run for exactly the cycles the trace needs, as in
  ``dram_throughput.py``), both best of ``--repeat`` fresh processes with archsim's kernel cache warm;
* call only: archsim's ``simulate_trace`` on the in-memory requests (best of ``--repeat`` after a warm-up)
  against the same DRAMsim3 process time (DRAMsim3 has no separate start-up worth the name: ~5 ms).

The three alternate run by run (call, process, DRAMsim3, call, ...), so a slow spell of a shared machine
slows every side, not one.

SCALE-Sim: ``archsim scalesim`` on ResNet-18 with the 32x32 input-stationary fixture config, whole process
(warm and cold kernel caches) and in process, against SCALE-Sim's Python API from its own venv
(``scalesim_speed.run_case``); the three report CSVs are compared byte for byte.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from dram_throughput import DRAMSIM3_INI, _time_dramsim3_once, _write_dramsim3_trace  # noqa: E402
from scalesim_speed import FIXTURES, run_case  # noqa: E402

from archsim.hw.dram import simulate_trace  # noqa: E402
from archsim.hw.dram.validation import CASES, requests_for_case, standard_for_case  # noqa: E402


def time_archsim_dram(argv: list[str], env: dict) -> float:
    """Whole-process wall time of one ``archsim dram`` run."""
    t = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def time_call(std, req) -> float:
    """In-process time of one ``simulate_trace`` call."""
    t = time.perf_counter()
    simulate_trace(std, req)
    return time.perf_counter() - t


def dram_table(a, env: dict) -> None:
    names = set(a.cases.split(",")) if a.cases else None
    print(f"{'DRAM pattern':<22}{'requests':>9}{'archsim proc s':>15}{'call s':>9}"
          f"{'DRAMsim3 s':>11}{'x proc':>8}{'x call':>8}")
    with tempfile.TemporaryDirectory(prefix="archsim_peers_") as tmp:
        for case in CASES:
            if case.row_policy or case.standard not in DRAMSIM3_INI or (names and case.name not in names):
                continue
            std, req = standard_for_case(case), requests_for_case(case)
            trace = Path(tmp) / f"{case.name}.trace"
            _write_dramsim3_trace(req, trace)
            cycles = simulate_trace(std, req).total_cycles  # warm-up
            argv = [sys.executable, "-m", "archsim.cli", "dram", "--standard", case.standard, "--trace", str(trace)]
            subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)  # warm the kernel cache
            ini = Path(a.dramsim3_configs) / DRAMSIM3_INI[case.standard] if a.dramsim3 else None
            call = proc = ds = float("inf")
            for _ in range(a.repeat):  # alternate, so a slow spell of a shared machine slows every side
                call = min(call, time_call(std, req))
                proc = min(proc, time_archsim_dram(argv, env))
                if a.dramsim3:
                    ds = min(ds, _time_dramsim3_once(a.dramsim3, ini, trace, cycles, tmp))
            line = f"{case.name:<22}{case.n:>9,d}{proc:>15.3f}{call:>9.4f}"
            if a.dramsim3:
                line += f"{ds:>11.3f}{ds / proc:>8.2f}{ds / call:>8.1f}"
            print(line, flush=True)
    if not a.dramsim3:
        print("(DRAMsim3 not given: --dramsim3 BIN --dramsim3-configs DIR, or DRAMSIM3_BIN / DRAMSIM3_CONFIGS)")


def scalesim_table(a) -> None:
    cfg, topo = FIXTURES / "cfgs" / "is_32x32.cfg", FIXTURES / "topologies" / "resnet18.csv"
    row = run_case(cfg, topo, "conv", a.scalesim_python)
    print(f"\nSCALE-Sim ResNet-18, 32x32 input stationary: archsim whole process {row['archsim_warm_s']:.2f} s "
          f"(cold kernel caches, compiling: {row['archsim_cold_s']:.2f} s), in process {row['archsim_inprocess_s']:.3f} s")
    ss = row.get("scalesim_s", a.scalesim_seconds)
    if ss:
        how = "measured now" if "scalesim_s" in row else "given with --scalesim-seconds"
        print(f"SCALE-Sim 3.0.0 {ss:.0f} s ({how}): x{ss / row['archsim_warm_s']:,.0f} whole process (warm), "
              f"x{ss / row['archsim_cold_s']:,.0f} cold, x{ss / row['archsim_inprocess_s']:,.0f} in process")
    if "reports_identical" in row:
        print(f"reports identical (COMPUTE, BANDWIDTH, DETAILED_ACCESS): {row['reports_identical']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cases", default=None, help="comma-separated validation case names (default: all with a "
                                                  "stock DRAMsim3 config)")
    ap.add_argument("--dramsim3", default=os.environ.get("DRAMSIM3_BIN"), help="dramsim3main binary")
    ap.add_argument("--dramsim3-configs", default=os.environ.get("DRAMSIM3_CONFIGS"),
                    help="DRAMsim3's configs/ directory")
    ap.add_argument("--scalesim-python", default=os.environ.get("SCALESIM_PYTHON"),
                    help="python of a venv with scalesim==3.0.0 (ResNet-18 takes 10-20 minutes)")
    ap.add_argument("--scalesim-seconds", type=float, default=None,
                    help="a SCALE-Sim wall time measured earlier, used when --scalesim-python is not given")
    ap.add_argument("--skip-dram", action="store_true")
    ap.add_argument("--skip-scalesim", action="store_true")
    a = ap.parse_args(argv)
    if a.dramsim3 and not a.dramsim3_configs:
        ap.error("--dramsim3 needs --dramsim3-configs (DRAMsim3's configs/ directory)")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if not a.skip_dram:
        dram_table(a, env)
    if not a.skip_scalesim:
        scalesim_table(a)
    print(f"\n(host: {os.cpu_count()} CPUs; wall-clock, best of {a.repeat}; x = peer time / archsim time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

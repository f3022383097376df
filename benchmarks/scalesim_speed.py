#!/usr/bin/env python3
"""archsim vs SCALE-Sim 3.0.0 on the same config and topology: wall time, peak memory, identical cycles.

    python benchmarks/scalesim_speed.py                                   # archsim only
    python benchmarks/scalesim_speed.py --scalesim-python /tmp/scalesim-venv/bin/python

SCALE-Sim is run through its Python API with save_disk_space=True (no trace files), from a separate
virtual environment (`python -m venv /tmp/scalesim-venv && /tmp/scalesim-venv/bin/pip install
scalesim==3.0.0 "numpy<2.3"`). archsim runs `archsim scalesim` twice in fresh processes: "cold" with an
empty Numba and archsim kernel caches (includes compiling the kernels) and "warm" with the caches the cold
run left.
Each measured command runs in its own child process; peak memory is that process's max RSS.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "scalesim"

# runs argv in a child and prints {"wall_s", "max_rss_mib", "returncode"} (RUSAGE_CHILDREN of this wrapper)
MEASURE = r"""
import json, resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"wall_s": wall, "max_rss_mib": rss, "returncode": rc}))
"""

INPROCESS = r"""
import sys, time
from archsim.scalesim.run import run_scalesim
cfg, topo, kind, out = sys.argv[1:5]
run_scalesim(cfg, topo, kind, out)            # loads the cached kernels
t = time.perf_counter()
run_scalesim(cfg, topo, kind, out)
print(time.perf_counter() - t)
"""

SCALESIM = r"""
import os, sys
from scalesim.scale_sim import scalesim
cfg, topo, kind, out = sys.argv[1:5]
layout = os.path.join(out, "layout_empty.csv")
os.makedirs(out, exist_ok=True)
open(layout, "w").write("Layer name,\n")
sim = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo, layout=layout,
               input_type_gemm=(kind == "gemm"))
sim.run_scale(top_path=out)
"""


def measure(argv: list[str], env: dict | None = None) -> dict:
    """Run ``argv`` in a child process; return wall seconds, peak RSS (MiB) and the return code."""
    done = subprocess.run([sys.executable, "-c", MEASURE, *argv], capture_output=True, text=True,
                          env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def total_cycles(run_dir: Path) -> list[str]:
    """The "Total Cycles" column of a COMPUTE_REPORT.csv."""
    lines = (run_dir / "COMPUTE_REPORT.csv").read_text().splitlines()[1:]
    return [l.split(",")[2].strip() for l in lines if l.strip()]


def run_case(cfg: Path, topo: Path, kind: str, scalesim_python: str | None) -> dict:
    row = {"case": f"{cfg.stem} x {topo.stem}"}
    with tempfile.TemporaryDirectory(prefix="archsim_bench_") as tmp:
        tmp = Path(tmp)
        env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp / "numba_cache"), ARCHSIM_CACHE_DIR=str(tmp / "kernels"),
                   PYTHONPATH=str(REPO))
        archsim = [sys.executable, "-m", "archsim.cli", "scalesim", "-c", str(cfg), "-t", str(topo), "-i", kind,
                   "--no-progress"]
        cold = measure(archsim + ["--out", str(tmp / "cold")], env)
        warm = measure(archsim + ["--out", str(tmp / "warm")], env)
        row.update(archsim_cold_s=cold["wall_s"], archsim_warm_s=warm["wall_s"],
                   archsim_peak_mib=max(cold["max_rss_mib"], warm["max_rss_mib"]))
        ours = total_cycles(next((tmp / "warm").iterdir()))
        # in-process: the simulation alone, without interpreter start-up and Numba cache loading
        inproc = subprocess.run([sys.executable, "-c", INPROCESS, str(cfg), str(topo), kind, str(tmp / "inproc")],
                                capture_output=True, text=True, env=env, check=True)
        row["archsim_inprocess_s"] = float(inproc.stdout.strip().splitlines()[-1])
        if scalesim_python:
            ss = measure([scalesim_python, "-c", SCALESIM, str(cfg), str(topo), kind, str(tmp / "scalesim")])
            if ss["returncode"] != 0:
                raise SystemExit(f"SCALE-Sim failed on {row['case']}")
            run_dir = next(p for p in (tmp / "scalesim").iterdir() if p.is_dir())
            theirs = total_cycles(run_dir)
            identical = all((run_dir / n).read_text() == (next((tmp / "warm").iterdir()) / n).read_text()
                            for n in ("COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"))
            row.update(scalesim_s=ss["wall_s"], scalesim_peak_mib=ss["max_rss_mib"],
                       speedup_inprocess=ss["wall_s"] / row["archsim_inprocess_s"],
                       speedup_warm=ss["wall_s"] / warm["wall_s"], speedup_cold=ss["wall_s"] / cold["wall_s"],
                       cycles_identical=ours == theirs, reports_identical=identical)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scalesim-python", default=os.environ.get("SCALESIM_PYTHON"),
                    help="python of a venv with scalesim==3.0.0 (omit to time archsim only)")
    ap.add_argument("--case", action="append", metavar="CFG:TOPOLOGY:KIND",
                    help="fixture cfg stem, topology stem and conv|gemm (default: os_32x32:resnet18:conv)")
    args = ap.parse_args()
    cases = args.case or ["os_32x32:resnet18:conv"]
    rows = []
    for case in cases:
        cfg, topo, kind = case.split(":")
        rows.append(run_case(FIXTURES / "cfgs" / f"{cfg}.cfg", FIXTURES / "topologies" / f"{topo}.csv", kind,
                             args.scalesim_python))
        print(json.dumps(rows[-1], indent=1), flush=True)
    print()
    print(f"{'case':<28}{'archsim cold s':>15}{'warm s':>9}{'in-proc s':>10}{'peak MiB':>10}{'SCALE-Sim s':>13}"
          f"{'peak MiB':>10}{'x warm':>9}{'x cold':>9}{'x in-proc':>10}{'identical':>11}")
    for r in rows:
        ss = (f"{r['scalesim_s']:>13.1f}{r['scalesim_peak_mib']:>10.0f}{r['speedup_warm']:>9.0f}"
              f"{r['speedup_cold']:>9.0f}{r['speedup_inprocess']:>10.0f}{str(r['reports_identical']):>11}"
              ) if "scalesim_s" in r else ""
        print(f"{r['case']:<28}{r['archsim_cold_s']:>15.2f}{r['archsim_warm_s']:>9.2f}"
              f"{r['archsim_inprocess_s']:>10.2f}{r['archsim_peak_mib']:>10.0f}{ss}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

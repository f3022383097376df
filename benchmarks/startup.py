#!/usr/bin/env python3
"""The fixed cost of ``archsim`` as a command: whole-process times and where they go.

    python benchmarks/startup.py [--repeat 5] [--top 12]

Each command runs in a fresh interpreter (``sys.executable -m archsim.cli``, so no pyenv/console-script shim
is timed), best of ``--repeat``, with the kernel caches warm (one untimed run first):

* ``archsim --help``;
* ``archsim dram`` on a 1-request trace (imports numpy and the ahead-of-time-built kernels; no Numba);
* ``archsim scalesim`` on ResNet-18, 32x32 input-stationary (the SCALE-Sim fixture config and topology).

Then, per command, the top entries of its ``python -X importtime`` tree (cumulative µs), and for the two
simulating commands the in-process split: importing the command, then running it (loading its kernels --
built ahead of time by ``archsim.kernels.native``, so no Numba import or target set-up -- and simulating).
``--cold`` also times one run with empty Numba and archsim kernel caches (compilation).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "scalesim"
SCALESIM_ARGS = ["-c", str(FIXTURES / "cfgs" / "is_32x32.cfg"), "-t", str(FIXTURES / "topologies" / "resnet18.csv"),
                 "--no-progress"]

# in a fresh interpreter: import the command's module, then run the command; print the two times (the run's
# own time includes loading its kernels and simulating)
SPLIT = r"""
import sys, time, contextlib, io
t0 = time.perf_counter()
from archsim.cli import build_parser
args = build_parser().parse_args(sys.argv[1:])
import importlib; importlib.import_module(args.func.__module__)
{imports}
t1 = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    args.func(args)
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""
IMPORTS = {"dram": "import archsim.hw.dram.model, archsim.hw.dram.traces, archsim.hw.dram.config",
           "scalesim": "import archsim.scalesim.run"}


def run_s(argv: list[str], env: dict, repeat: int) -> float:
    """Best wall time of ``python -m archsim.cli ARGV`` over ``repeat`` fresh processes."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "archsim.cli", *argv], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t)
    return best


def import_tree(argv: list[str], env: dict, top: int) -> list[tuple[int, int, str]]:
    """The ``top`` imports by cumulative time (µs): (cumulative, self, indented module name)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "archsim.cli", *argv], env=env,
                          capture_output=True, text=True)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cum_us, name = line[len("import time:"):].split("|")
        rows.append((int(cum_us), int(self_us), name.rstrip()))
    return sorted(rows, reverse=True)[:top]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--top", type=int, default=12, help="import-tree entries shown per command")
    ap.add_argument("--cold", action="store_true", help="also time one run with empty kernel caches")
    a = ap.parse_args(argv)
    tmp = tempfile.TemporaryDirectory(prefix="archsim_startup_")
    one = Path(tmp.name) / "one.trace"
    one.write_text("0x0 READ 0\n")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    commands = {
        "archsim --help": ["--help"],
        "archsim dram (1 request)": ["dram", "--trace", str(one)],
        "archsim scalesim ResNet-18 IS 32x32": ["scalesim", *SCALESIM_ARGS, "--out", str(Path(tmp.name) / "ss")],
    }
    for argv_ in commands.values():  # warm the kernel caches (and the OS file cache)
        subprocess.run([sys.executable, "-m", "archsim.cli", *argv_], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    t_py = min(_time([sys.executable, "-c", "pass"], env) for _ in range(a.repeat))
    print(f"{'command (whole process, warm kernel caches)':<44}{'best s':>9}")
    print(f"{'python -c pass (interpreter alone)':<44}{t_py:>9.3f}")
    for label, argv_ in commands.items():
        print(f"{label:<44}{run_s(argv_, env, a.repeat):>9.3f}", flush=True)
    if a.cold:
        with tempfile.TemporaryDirectory(prefix="archsim_numba_cold_") as cache:
            cold_env = dict(env, NUMBA_CACHE_DIR=cache, ARCHSIM_CACHE_DIR=cache)
            for label, argv_ in list(commands.items())[1:]:
                print(f"{label + ' (cold cache: compiles)':<60}{run_s(argv_, cold_env, 1):>9.3f}", flush=True)
    print("\nin-process split (best of the repeats): import the command, run (kernel load + simulation)")
    for label, argv_ in list(commands.items())[1:]:
        code = SPLIT.format(imports=IMPORTS[argv_[0]])
        best = None
        for _ in range(a.repeat):
            out = subprocess.run([sys.executable, "-c", code, *argv_], env=env, capture_output=True, text=True,
                                 check=True).stdout.split()
            times = tuple(float(x) for x in out[-2:])
            best = times if best is None or sum(times) < sum(best) else best
        print(f"  {label:<40} imports {best[0]:.3f} s   run {best[1]:.3f} s")
    for label, argv_ in commands.items():
        print(f"\nimport tree of `{label}` (top {a.top} by cumulative µs):")
        for cum, self_us, name in import_tree(argv_, env, a.top):
            print(f"  {cum:>9,d} {self_us:>8,d}  {name}")
    return 0


def _time(argv: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(argv, env=env, check=True)
    return time.perf_counter() - t


if __name__ == "__main__":
    sys.exit(main())

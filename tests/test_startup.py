"""Start-up cost: the ``archsim`` command's parser, ``--help`` and argument errors import no heavy library."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("numpy", "pandas", "numba", "matplotlib", "pydantic", "scipy", "yaml")

# runs the snippet, then prints which heavy modules ended up in sys.modules
PROBE = """
import json, sys
{snippet}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def heavy_modules_after(snippet: str) -> list[str]:
    code = PROBE.format(snippet=snippet, heavy=HEAVY)
    # a minimal environment, but the same kernel cache as this process (so the child loads, not builds, them)
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    env.update({k: os.environ[k] for k in ("HOME", "XDG_CACHE_HOME", "ARCHSIM_CACHE_DIR") if k in os.environ})
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env)
    assert done.stdout.strip(), done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_archsim_and_cli_parser_pull_in_no_heavy_module():
    assert heavy_modules_after("import archsim, archsim.cli\narchsim.cli.build_parser()") == []


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["dram", "--help"], ["serve", "--help"],
                                  ["dram"], ["run"], ["no-such-command"]])
def test_help_and_argument_errors_pull_in_no_heavy_module(argv):
    snippet = ("from archsim.cli import main\nimport contextlib, io\n"
               "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
               f"    try:\n        main({argv!r})\n    except SystemExit:\n        pass")
    assert heavy_modules_after(snippet) == []


def test_lazy_package_names_still_resolve():
    import archsim
    from archsim.hw import registry
    from archsim.hw.dram import DramParams, simulate_trace
    from archsim.mapping import MAPPERS, Schedule
    from archsim.serving import serve
    from archsim.workload import load_workload

    assert callable(archsim.load_arch) and callable(simulate_trace) and callable(serve) and callable(load_workload)
    assert "partition" in MAPPERS and Schedule.__name__ == "Schedule"
    assert registry.lookup("memory", "dram").params is DramParams


@pytest.mark.parametrize("command", ["dram", "scalesim"])
def test_simulating_commands_run_their_compiled_kernels_without_numba(tmp_path, command):
    # the DRAM and SCALE-Sim kernels are compiled ahead of time (archsim.kernels.native): a run imports no Numba
    from archsim.kernels.native import kernels

    if not kernels(command).ahead_of_time:
        pytest.skip("no ahead-of-time build on this machine (it fell back to the JIT)")
    if command == "dram":
        trace = tmp_path / "t.trace"
        trace.write_text("0x40 READ 0\n0x80 WRITE 3\n0x1000 READ 4\n")
        argv = ["dram", "--standard", "HBM2", "--trace", str(trace)]
    else:
        fixtures = REPO / "tests" / "fixtures" / "scalesim"
        topo = tmp_path / "one.csv"
        topo.write_text("\n".join((fixtures / "topologies" / "resnet18.csv").read_text().splitlines()[:2]) + "\n")
        argv = ["scalesim", "-c", str(fixtures / "cfgs" / "is_32x32.cfg"), "-t", str(topo), "--no-progress",
                "--out", str(tmp_path / "out")]
    snippet = ("from archsim.cli import main\nimport contextlib, io\n"
               "with contextlib.redirect_stdout(io.StringIO()):\n"
               f"    assert main({argv!r}) in (0, None)")
    assert heavy_modules_after(snippet) == ["numpy"]

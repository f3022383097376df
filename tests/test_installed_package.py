"""An installed (non-editable) archsim finds its shipped architectures, workloads and experiments: build a wheel,
install it into a fresh venv and run `archsim reproduce` from another directory (slow: builds a wheel)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_reproduce_runs_from_an_installed_wheel(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "HEAD"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(src)],
                   check=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    wheel = next((tmp_path / "dist").glob("archsim-*.whl"))
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", str(wheel)], check=True)
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"MPLBACKEND": "Agg"}   # no checkout on the path
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import archsim; print(archsim.__file__)"],
                           cwd=elsewhere, capture_output=True, text=True, check=True, env=clean).stdout
    assert str(venv) in where                                  # the wheel's copy, not the checkout
    run = subprocess.run([str(venv / "bin" / "archsim"), "reproduce", "pim_gpt", "--quick"], cwd=elsewhere,
                         capture_output=True, text=True, env=clean)
    assert run.returncode == 0, run.stderr
    assert (elsewhere / "runs" / "reproduce" / "pim_gpt" / "pim_gpt_speedup.csv").is_file()

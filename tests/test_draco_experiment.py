"""experiments/draco.py in reduced form: it runs, writes its tables, and its numbers are the engine's."""
from __future__ import annotations

import csv
import runpy
from pathlib import Path

import archsim

ROOT = Path(__file__).resolve().parents[1]


def test_draco_experiment_runs_quick_and_its_baseline_is_the_engines(tmp_path, capsys):
    module = runpy.run_path(str(ROOT / "experiments" / "draco.py"), run_name="archsim_reproduce")
    assert module["main"](["--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "paper vs archsim" in out and "41.8%" in out
    rows = list(csv.DictReader((tmp_path / "draco_cases.csv").open()))
    rs = next(r for r in rows if r["case"] == "MobileNetV1, RS")
    direct = archsim.simulate("draco_64x64", "mobilenet_v1", prefetch_weights=False)
    assert int(rs["cycles"]) == direct.total_cycles
    assert (tmp_path / "draco.png").stat().st_size > 10_000
    # every regrouping of the depthwise convs alone does more MACs than the baseline
    assert all(int(r["macs"]) > int(rs["macs"]) for r in rows if r["pw_groups"] == "1" and r["dw_group_size"] != "1")

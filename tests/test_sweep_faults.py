"""Sweeps that lose nothing: a dead worker costs its own point retries only, a killed sweep stops its workers,
failures set the exit code, misspelt keys and workloads fail before launch, mixed-type columns are stored, and
one --out holds one sweep."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from archsim.errors import ConfigError
from archsim.sweep import WorkloadSpec, build_sweep, read_table, run_sweep
from archsim.sweep.point import run_task
from test_sweep import BASE, ENERGY, small_trace, sweep

REPO = Path(__file__).resolve().parent.parent
ATTEMPTS = os.environ.get("ARCHSIM_TEST_ATTEMPTS", "")


def dies_on_16x8(task):
    """A task function whose worker is SIGKILLed (as the OOM killer does) on the point rows=16, cols=8."""
    npu = task.arch["engines"]["npu"]
    if (npu["rows"], npu["cols"]) == (16, 8):
        with open(os.environ["ARCHSIM_TEST_ATTEMPTS"], "a") as fh:
            fh.write(f"{os.getpid()}\n")
        os.kill(os.getpid(), signal.SIGKILL)
    return run_task(task)


def test_a_dead_worker_costs_its_point_retries_and_no_other_point(tmp_path, monkeypatch):
    attempts = tmp_path / "attempts"
    monkeypatch.setenv("ARCHSIM_TEST_ATTEMPTS", str(attempts))
    monkeypatch.setattr("archsim.sweep.runner.run_task", dies_on_16x8)
    out = run_sweep(sweep(), tmp_path / "out", workers=2, progress=False, retries=2)
    t = out.table.set_index(["engines.npu.rows", "engines.npu.cols"])
    assert t.loc[(16, 8), "status"] == "failed" and "worker lost" in t.loc[(16, 8), "error"]
    assert "3 times" in t.loc[(16, 8), "error"]
    others = t.drop(index=(16, 8))
    assert (others.status == "ok").all() and (others.total_cycles > 0).all()
    assert out.failed == 1
    assert len(attempts.read_text().split()) == 3           # the first run and two retries, each a fresh worker
    # the lost point was not stored: a rerun (with healthy workers) computes exactly that one
    monkeypatch.undo()
    again = run_sweep(sweep(), tmp_path / "out", workers=0, progress=False)
    assert (again.computed, again.cached, again.failed) == (1, 5, 0)


def test_retries_zero_records_the_point_after_one_death(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSIM_TEST_ATTEMPTS", str(tmp_path / "attempts"))
    monkeypatch.setattr("archsim.sweep.runner.run_task", dies_on_16x8)
    out = run_sweep(sweep(), tmp_path / "out", workers=2, progress=False, retries=0)
    assert out.failed == 1 and len((tmp_path / "attempts").read_text().split()) == 1


SLOW_SWEEP = textwrap.dedent("""
    import sys, time
    import archsim.sweep.runner as runner
    def slow(task):
        time.sleep(120)
    runner.run_task = slow
    from archsim.cli import main
    sys.exit(main(["sweep", sys.argv[1], "--out", sys.argv[2], "--workers", "2", "--no-progress"]))
""")


def _children(pid: int) -> set[int]:
    kids = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids |= {int(c) for c in (task / "children").read_text().split()}
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killing_a_sweep_stops_its_pool_workers(tmp_path, sig):
    (tmp_path / "arch.yaml").write_text(yaml.safe_dump(BASE))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump({"base": "arch.yaml", "workloads": ["resnet18"],
                                                     "parameters": {"engines.npu.rows": [4, 8, 16, 32]}}))
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SWEEP, str(tmp_path / "s.yaml"), str(tmp_path / "out")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while len(workers := _children(proc.pid)) < 2:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the sweep never started its two workers"
            time.sleep(0.1)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    if sig == signal.SIGTERM:
        assert proc.returncode == 128 + signal.SIGTERM, err
        assert "interrupted by SIGTERM" in out and "Traceback" not in err
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if _alive(w)], "pool workers outlived the sweep"


def test_sweep_command_exits_nonzero_when_a_point_failed(tmp_path, capsys):
    from archsim.cli import main

    (tmp_path / "arch.yaml").write_text(yaml.safe_dump(BASE))
    topo = tmp_path / "topo.csv"
    topo.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
                    "Strides,\nconv1, 16, 16, 3, 3, 8, 16, 1,\n")
    (tmp_path / "s.yaml").write_text(yaml.safe_dump({"base": "arch.yaml", "workloads": ["topo.csv"],
                                                     "parameters": {"engines.npu.rows": [8, -4]}, "energy": ENERGY}))
    argv = ["sweep", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"), "--workers", "0", "--no-progress"]
    assert main(argv) == 1
    assert "1 ok, 1 failed" in capsys.readouterr().out
    (tmp_path / "s.yaml").write_text(yaml.safe_dump({"base": "arch.yaml", "workloads": ["topo.csv"],
                                                     "parameters": {"engines.npu.rows": [-4, -8]}, "energy": ENERGY}))
    assert main(argv) == 1          # every point failed
    assert main(["sweep", str(tmp_path / "s.yaml"), "--retries", "-1"]) == 2


@pytest.mark.parametrize("section, where", [
    ({"parameters": {"engines.npu.rowz": [4, 8]}}, "parameters.engines.npu.rowz: not a key"),
    ({"parameters": {"engines.nppu.rows": [4]}}, "parameters.engines.nppu.rows: not a key"),
    ({"fixed": {"memories.s.capacity_kb": 32}, "parameters": {"engines.npu.rows": [4]}},
     "fixed.memories.s.capacity_kb: not a key"),
    ({"mode": "list", "points": [{"engines.npu.rows": 4}, {"engines.vec.lane": 8}]}, r"points\[1\].engines.vec.lane"),
    ({"parameters": {"batch": [1, 2]}}, "parameters.batch: not a key"),
])
def test_a_misspelt_key_fails_once_before_any_point_runs(tmp_path, section, where):
    with pytest.raises(ConfigError, match=f"sweep.yaml: {where}"):
        build_sweep({"name": "s", "base": BASE, **section}, "sweep.yaml",
                    workloads=(WorkloadSpec(small_trace()),))


def test_a_misspelt_workload_fails_once_before_any_point_runs(tmp_path):
    data = {"name": "s", "base": BASE, "parameters": {"engines.npu.rows": [4, 8]}}
    with pytest.raises(ConfigError, match=r"sweep.yaml: workloads\[1\]: unknown workload 'resnet5O'.*resnet50"):
        build_sweep({**data, "workloads": ["resnet18", "resnet5O"]}, "sweep.yaml", root=tmp_path)
    with pytest.raises(ConfigError, match=r"sweep.yaml: workloads\[0\]: workload file not found"):
        build_sweep({**data, "workloads": ["missing.csv"]}, "sweep.yaml", root=tmp_path)
    with pytest.raises(ConfigError, match=r"workloads\[0\].set.*sequence_len"):
        build_sweep({**data, "workloads": [{"name": "bert_base", "set": ["sequence_len=128"]}]}, "sweep.yaml",
                    root=tmp_path)
    assert not (tmp_path / "points").exists()


def test_a_swept_column_mixing_types_is_stored_as_text_in_csv_and_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    spec = build_sweep({"name": "mixed", "base": BASE, "mode": "list", "energy": ENERGY,
                        "points": [{"engines.npu.rows": 8, "engines.npu.dataflow": "os"},
                                   {"engines.npu.rows": "auto", "engines.npu.dataflow": "ws"},
                                   {"engines.npu.rows": True}]},
                       "mixed.yaml", workloads=(WorkloadSpec(small_trace()),))
    out = run_sweep(spec, tmp_path, workers=0, progress=False)
    assert list(out.table["engines.npu.rows"]) == ["8", "auto", "true"]
    assert list(out.table.status[:2]) == ["ok", "failed"]      # "auto" is not a row count
    parquet = pd.read_parquet(tmp_path / "results.parquet")
    csv = pd.read_csv(tmp_path / "results.csv")
    assert list(parquet["engines.npu.rows"]) == list(csv["engines.npu.rows"]) == ["8", "auto", "true"]
    # a column of one type keeps it (the missing dataflow of the third point stays missing)
    assert list(parquet["engines.npu.dataflow"][:2]) == ["os", "ws"] and parquet["engines.npu.dataflow"].isna()[2]
    assert parquet["total_cycles"].dtype.kind == "f"


def test_a_different_sweep_into_the_same_out_is_refused(tmp_path):
    run_sweep(sweep(), tmp_path, workers=0, progress=False)
    other = build_sweep({"name": "other", "base": BASE, "parameters": {"engines.npu.rows": [4]}}, "other.yaml",
                        workloads=(WorkloadSpec(small_trace()),))
    with pytest.raises(ConfigError, match="other.yaml: name: --out .* already holds the results of sweep 's'"):
        run_sweep(other, tmp_path, workers=0, progress=False)
    assert len(read_table(tmp_path)) == 6           # untouched
    # the same sweep, edited: a resume that says so; the table is the current definition's only
    narrower = run_sweep(sweep(parameters={"engines.npu.rows": [4], "engines.npu.cols": [4, 8]}), tmp_path,
                         workers=0, progress=False)
    assert narrower.definition_changed and (narrower.computed, narrower.cached) == (0, 2)
    assert len(pd.read_csv(tmp_path / "results.csv")) == len(pd.read_parquet(tmp_path / "results.parquet")) == 2


def test_csv_and_parquet_always_hold_the_same_result_set(tmp_path):
    pytest.importorskip("pyarrow")
    run_sweep(sweep(), tmp_path, workers=0, progress=False)
    assert (tmp_path / "results.parquet").is_file()
    run_sweep(sweep(parameters={"engines.npu.rows": [4]}), tmp_path, workers=0, progress=False, formats=("csv",))
    assert not (tmp_path / "results.parquet").exists()        # not left behind from the earlier set
    assert len(read_table(tmp_path)) == 1


def test_a_run_directory_is_not_taken_for_a_sweep_out(tmp_path):
    (tmp_path / "summary.json").write_text("{}")
    with pytest.raises(ConfigError, match="is the directory of an `archsim run`"):
        run_sweep(sweep(), tmp_path, workers=0, progress=False)


def test_a_set_stop_event_stops_the_sweep_and_keeps_what_finished(tmp_path):
    import threading

    from archsim.sweep.executors import SweepStopped

    stop = threading.Event()
    stop.set()
    for workers in (0, 2):
        with pytest.raises(SweepStopped):
            run_sweep(sweep(), tmp_path / str(workers), workers=workers, progress=False, stop=stop)

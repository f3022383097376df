"""The validation table (`archsim validate-all`): rows, errors, the regression check against docs/validation.csv."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from archsim.cli import main
from archsim.report import validation as v
from archsim.report.validation import (
    Check,
    collect,
    read_table,
    regressions,
    write_table,
)

COMMITTED = Path(__file__).resolve().parents[1] / "docs" / "validation.csv"


def check(archsim, reference=100.0, high=None, tol=5.0, **kw):
    return Check("sys", "case", "metric", reference, "src", archsim, tol, reference_high=high, **kw)


def test_error_is_relative_to_the_reference_and_zero_inside_a_range():
    assert check(110).error_pct == pytest.approx(10.0)
    assert check(90).error_pct == pytest.approx(-10.0)
    assert check(120, reference=41, high=137).error_pct == 0.0
    assert check(20.5, reference=41, high=137).error_pct == pytest.approx(-50.0)
    assert check(274, reference=41, high=137).error_pct == pytest.approx(100.0)
    assert check(0, reference=0, tol=0).error_pct == 0.0
    assert math.isinf(check(3, reference=0, tol=0).error_pct)


def test_status_follows_the_target():
    assert check(104.9).status == "pass"
    assert check(105.1).status == "outside"
    assert check(100, tol=0).status == "pass" and check(100, tol=0).target == "exact"
    assert check(101, tol=0).status == "outside"


def test_regressions_flag_moved_values_and_lost_passes_only():
    before = [check(100.0), Check("sys", "case2", "metric", 100, "src", 104, 5.0)]
    same = [check(100.0 * (1 + v.MOVED_REL / 2)), Check("sys", "case2", "metric", 100, "src", 104, 5.0)]
    assert regressions(same, before) == []
    moved = [check(103.0)]
    assert len(regressions(moved, before)) == 1 and "100 -> 103" in regressions(moved, before)[0]
    # a new row (no committed counterpart) is not a regression
    assert regressions([Check("new", "c", "m", 1, "s", 9, 0)], before) == []
    lost = [Check("sys", "case2", "metric", 100, "src", 104.05, 0.0)]   # same value, tighter target
    assert regressions(lost, before, rel=1e-2) and "was within target" in regressions(lost, before, rel=1e-2)[0]


def test_rows_that_depend_on_a_solver_time_limit_are_reported_apart():
    before = [check(100.0, load_dependent=True)]
    after = [check(150.0, load_dependent=True)]
    assert regressions(after, before) == []
    assert len(regressions(after, before, load_dependent=True)) == 1


def test_table_round_trips_through_csv(tmp_path):
    rows = [check(110, explanation="why"), check(60, reference=41, high=137, load_dependent=True)]
    paths = write_table(rows, tmp_path)
    assert [p.name for p in paths] == ["validation.csv", "validation.md", "validation.png"]
    back = read_table(paths[0])
    assert back == rows
    md = paths[1].read_text()
    assert "outside: why" in md and "41–137" in md


def test_a_failing_source_becomes_one_row_and_the_others_still_run(tmp_path, monkeypatch):
    monkeypatch.setattr(v, "PEER_SOURCES", ())
    exp = tmp_path / "experiments"
    exp.mkdir()
    (exp / "broken.py").write_text("def validation_checks(quick):\n    raise RuntimeError('boom')\n")
    (exp / "fine.py").write_text("from archsim.report.validation import Check\n"
                                 "def validation_checks(quick):\n"
                                 "    return [Check('fine', 'c', 'm', 1.0, 's', 1.0, 0.0)]\n")
    (exp / "plain.py").write_text("def main(argv=None):\n    return 0\n")   # no checks: not a source
    rows = collect(exp, quick=True, log=lambda _: None)
    assert [r.system for r in rows] == ["experiments/broken.py", "fine"]
    assert rows[0].status == "outside" and "RuntimeError: boom" in rows[0].explanation
    assert rows[1].status == "pass"


def test_committed_table_explains_every_row_outside_its_target():
    rows = read_table(COMMITTED)
    assert {r.system for r in rows} >= {"SCALE-Sim 3.0.0", "DRAMsim3", "NeuPIMs simulator"}
    unexplained = [r.key for r in rows if r.status != "pass" and not r.explanation]
    assert unexplained == []


def test_quick_peer_rows_have_not_moved_against_the_committed_table(tmp_path, capsys):
    """The regression check: the cheap peer sources rerun now give the committed values (exit code 0)."""
    code = main(["validate-all", "--quick", "--only", "scalesim", "--only", "dram", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "no row moved" in out, out
    assert code == 0
    rows = read_table(tmp_path / "validation.csv")
    committed = {r.key for r in read_table(COMMITTED)}
    assert len(rows) >= 20 and all(r.key in committed for r in rows)   # quick rows are a subset of the full table


def test_a_moved_row_fails_the_command(tmp_path, capsys):
    committed = read_table(COMMITTED)
    dram = [r for r in committed if r.system == "DRAMsim3" and r.metric == "total cycles"
            and r.case.startswith("hbm2_rand_read (issue width 1,")]   # a row of the quick run
    tampered = [Check(**{**r.__dict__, "archsim": r.archsim + 10}) if r is dram[0] else r for r in committed]
    write_table(tampered, tmp_path / "old")
    code = main(["validate-all", "--quick", "--only", "dram", "--out", str(tmp_path / "new"),
                 "--check", str(tmp_path / "old" / "validation.csv")])
    assert code == 1
    assert "MOVED DRAMsim3" in capsys.readouterr().out

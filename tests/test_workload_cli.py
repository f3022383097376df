"""`archsim lower`: writes a trace, reports errors without a traceback."""
from __future__ import annotations

import argparse

import pytest

from archsim.trace import read_trace
from archsim.workload import load_workload
from archsim.cli import main
from archsim.workload.cli import add_subcommand


def test_lower_writes_the_same_trace_load_workload_returns(tmp_path, capsys):
    out = tmp_path / "l.csv"
    assert main(["lower", "llama2_7b", "--set", "phase=decode", "--set", "layers=1", "-o", str(out)]) == 0
    assert read_trace(out) == load_workload("llama2_7b", ["phase=decode", "layers=1"])
    assert "llama2_7b:" in capsys.readouterr().out


def test_lower_writes_parquet_by_suffix(tmp_path):
    pytest.importorskip("pyarrow")
    out = tmp_path / "r.parquet"
    assert main(["lower", "resnet18", "-o", str(out)]) == 0
    assert read_trace(out) == load_workload("resnet18")


def test_lower_can_write_a_scalesim_topology(tmp_path):
    out = tmp_path / "topo.csv"
    assert main(["lower", "vgg16", "--format", "scalesim", "-o", str(out)]) == 0
    assert out.read_text().startswith("Layer name, IFMAP Height")


def test_lower_reports_an_unknown_model_as_an_error_line(tmp_path, capsys):
    assert main(["lower", "not_a_model", "-o", str(tmp_path / "x.csv")]) == 2
    assert "error: unknown workload 'not_a_model'" in capsys.readouterr().err


def test_add_subcommand_registers_lower_with_a_func():
    parser = argparse.ArgumentParser()
    add_subcommand(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["lower", "resnet18", "-o", "x.csv", "--set", "batch=2"])
    assert args.overrides == ["batch=2"] and callable(args.func)

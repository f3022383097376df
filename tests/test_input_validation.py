"""The inputs issue #14 found accepted or crashing, each now a located error at load (so `validate` catches it)."""
from __future__ import annotations

import pytest

from archsim.cli import main
from archsim.config import load_arch
from archsim.errors import ConfigError, TraceError
from archsim.trace import Trace, TraceOp, check_trace


@pytest.mark.parametrize("arch, override, key_path", [
    ("neupims", "engines.sa0.ifmap_sram=hbm", "engines.sa0.ifmap_sram"),          # an SRAM slot naming a DRAM
    ("neupims", "engines.pim.standard=HBM9", "engines.pim.standard"),
    ("neupims", "engines.pim.memory=spad", "engines.pim.memory"),
    ("sn40l_like", "memories.tiers.devices.hbm=-3", "memories.tiers.devices.hbm"),
    ("sn40l_like", "memories.tiers.order=[pmu_sram,hbm,nope]", "memories.tiers.order.2"),
    ("tpu_v1_like", "engines.mxu.rows=true", "engines.mxu.rows"),
    ("tpu_v1_like", "engines.mxu.double_buffered_pes=1", "engines.mxu.double_buffered_pes"),
    ("tpu_v1_like", "clock_ghz=.inf", "clock_ghz"),
    ("tpu_v1_like", "clock_ghz=1e-300", "clock_ghz"),
    ("tpu_v1_like", "memories.ddr3.bandwidth_gbps=1e300", "memories.ddr3.bandwidth_gbps"),
])
def test_a_bad_value_is_a_config_error_at_its_key(arch, override, key_path):
    with pytest.raises(ConfigError) as info:
        load_arch(arch, [override])
    assert info.value.key_path == key_path


def test_duplicate_yaml_keys_are_rejected_with_their_lines(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("name: a\nclock_ghz: 1\nname: b\n")
    with pytest.raises(ConfigError, match=r"duplicate key 'name' \(first at line 1\)"):
        load_arch(path)


def test_a_file_that_is_not_utf8_is_a_located_error(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8 text: byte 0xe9 at line 1"):
        load_arch(path)


def test_a_shipped_architecture_loads_by_short_name_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_arch("tpu_v1_like").name == "tpu_v1_like"
    with pytest.raises(ConfigError, match="did you mean tpu_v1_like"):
        load_arch("tpu_v1_lik")


def _gemm(op_id, deps=()):
    return TraceOp(op_id, f"g{op_id}", "gemm", {"B": 1, "M": 2, "N": 2, "K": 2}, macs=8, deps=deps)


def test_a_dependency_cycle_is_reported_as_a_cycle_naming_its_ops():
    trace = Trace("t", (_gemm(0, deps=(2,)), _gemm(1, deps=(0,)), _gemm(2, deps=(1,))))
    with pytest.raises(TraceError, match=r"dependency cycle: op 0 \('g0'\) -> op 2 \('g2'\) -> op 1 \('g1'\) -> op 0"):
        check_trace(trace)


@pytest.mark.parametrize("trace, match", [
    (Trace("t", ()), "no ops"),
    (Trace("t", (_gemm(0, deps=(7,)),)), "depends on op 7, which is not in the trace"),
    (Trace("t", (TraceOp(0, "x", "frobnicate", {"elements": 4}),)), "unknown op kind"),
    (Trace("t", (TraceOp(0, "r", "relu", {"elements": 4}, macs=3),)), "performs no MACs"),
    (Trace("t", (TraceOp(0, "r", "relu", {"elements": 4}, input_bytes=-1),)), "negative count"),
])
def test_trace_invariants_are_located_errors(trace, match):
    with pytest.raises(TraceError, match=match):
        check_trace(trace)


def test_a_conv_with_stride_zero_is_an_error_not_a_division_by_zero():
    dims = {"N": 1, "H": 8, "W": 8, "C": 4, "R": 3, "S": 3, "F": 8, "stride_h": 0, "stride_w": 1, "pad_h": 1,
            "pad_w": 1, "groups": 0, "OH": 8, "OW": 8}
    with pytest.raises(TraceError, match="dim_stride_h"):
        check_trace(Trace("t", (TraceOp(0, "c", "conv2d", dims, macs=1),)))


def test_a_truncated_trace_row_names_the_row(tmp_path):
    from archsim.trace import read_trace
    from archsim.trace.io import trace_to_csv

    text = trace_to_csv(Trace("t", (_gemm(0), _gemm(1, deps=(0,)))))
    path = tmp_path / "t.csv"
    path.write_text(text[: len(text) - 20])
    with pytest.raises(TraceError) as info:
        read_trace(path)
    assert info.value.row == 6 and "truncated" in str(info.value)


def test_the_mapper_names_on_the_command_line_are_the_mappers():
    from archsim.mapping import MAPPERS
    from archsim.mapping.names import ILP_MAPPERS, MAPPER_NAMES, PLANNING_MAPPERS

    assert set(MAPPER_NAMES) == set(MAPPERS) and set(ILP_MAPPERS) <= set(PLANNING_MAPPERS) <= set(MAPPERS)


def test_list_shows_only_what_run_accepts(capsys):
    import json

    assert main(["list", "--json"]) == 0
    archs = json.loads(capsys.readouterr().out)["architectures"]
    assert "tpu_v1_like" in archs and not any("/" in a for a in archs)
    for name in archs:
        load_arch(name)


def test_out_at_an_existing_file_is_an_error_before_any_work(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("")
    assert main(["run", "edge_32x32_ws", "resnet18", "--out", str(target), "--no-progress"]) == 2
    assert "is an existing file" in capsys.readouterr().err

"""Sweeps: expansion and constraints, crash isolation, resume, process pool vs Dask equality."""
from pathlib import Path

import pandas as pd
import pytest

from archsim.errors import ConfigError
from archsim.sweep import WorkloadSpec, build_sweep, load_sweep, read_table, run_sweep
from archsim.sweep.space import expand
from archsim.trace import Trace, TraceOp

BASE = {
    "name": "t", "clock_ghz": 1.0,
    "engines": {"npu": {"kind": "systolic", "rows": 8, "cols": 8, "dataflow": "ws", "ifmap_sram": "s",
                        "filter_sram": "s", "ofmap_sram": "s", "dram": "d"},
                "vec": {"kind": "vector", "lanes": 16, "dram": "d"}},
    "memories": {"s": {"kind": "sram", "capacity_kib": 64}, "d": {"kind": "dram", "bandwidth_gbps": 16}},
}
ENERGY = {"dram_standard": {"d": "DDR4"}}


def small_trace(name="tiny"):
    ops = (TraceOp(0, "g0", "gemm", {"M": 64, "N": 32, "K": 48}, macs=64 * 32 * 48, input_bytes=64 * 48,
                   weight_bytes=48 * 32, output_bytes=64 * 32),
           TraceOp(1, "e1", "elementwise", {"elements": 2048}, flops=2048, input_bytes=2048, output_bytes=2048,
                   deps=(0,)))
    return Trace(name, ops)


def sweep(**extra):
    data = {"name": "s", "base": BASE, "parameters": {"engines.npu.rows": [4, 8, 16], "engines.npu.cols": [4, 8]},
            "energy": ENERGY, **extra}
    return build_sweep(data, "sweep.yaml", workloads=(WorkloadSpec(small_trace()),))


def test_grid_is_the_product_of_parameter_values():
    points, rejected = expand(sweep())
    assert len(points) == 6 and rejected == 0
    assert points[0].values == {"engines.npu.rows": 4, "engines.npu.cols": 4}
    assert points[0].config["engines"]["npu"]["rows"] == 4


def test_constraint_over_short_and_dotted_names_rejects_points():
    points, rejected = expand(sweep(constraints=["rows * cols <= 64", "engines.npu.rows >= engines.npu.cols"]))
    assert rejected == 2 and len(points) == 4
    assert all(p.values["engines.npu.rows"] * p.values["engines.npu.cols"] <= 64 for p in points)


def test_bad_constraint_and_unknown_key_are_located_errors():
    with pytest.raises(ConfigError, match=r"constraints\[0\]"):
        sweep(constraints=["__import__('os')"])
    with pytest.raises(ConfigError, match="sweep.yaml: modes"):
        sweep(modes="grid")


def test_random_mode_is_seeded_and_list_mode_takes_points_verbatim():
    a = [p.values for p in expand(sweep(mode="random", samples=3, seed=1))[0]]
    b = [p.values for p in expand(sweep(mode="random", samples=3, seed=1))[0]]
    assert a == b and len(a) == 3
    listed = build_sweep({"base": BASE, "mode": "list", "points": [{"engines.npu.rows": 2}, {"engines.vec.lanes": 4}]},
                         "s.yaml", workloads=(WorkloadSpec(small_trace()),))
    assert [p.values for p in expand(listed)[0]] == [{"engines.npu.rows": 2}, {"engines.vec.lanes": 4}]


def test_a_crashing_point_is_recorded_and_the_rest_finish(tmp_path):
    spec = sweep(parameters={"engines.npu.rows": [8, -4, 16]})
    out = run_sweep(spec, tmp_path, workers=0, progress=False)
    table = out.table.set_index("engines.npu.rows")
    assert list(table.status) == ["ok", "failed", "ok"]
    assert "engines.npu.rows" in table.loc[-4, "error"] and "ConfigError" in table.loc[-4, "error"]
    assert table.loc[16, "total_cycles"] > 0 and table.loc[16, "energy_pj"] > 0
    assert out.failed == 1 and out.computed == 3


def test_rerun_skips_finished_points_and_counts_them(tmp_path):
    spec = sweep()
    first = run_sweep(spec, tmp_path, workers=0, progress=False)
    assert (first.computed, first.cached) == (6, 0)
    again = run_sweep(spec, tmp_path, workers=0, progress=False)
    assert (again.computed, again.cached) == (0, 6)
    pd.testing.assert_frame_equal(first.table, again.table)
    # a widened sweep only computes the new points
    wider = run_sweep(sweep(parameters={"engines.npu.rows": [4, 8, 16, 32], "engines.npu.cols": [4, 8]}),
                      tmp_path, workers=0, progress=False)
    assert (wider.computed, wider.cached) == (2, 6)


def test_results_table_has_swept_keys_as_columns_and_is_written(tmp_path):
    out = run_sweep(sweep(), tmp_path, workers=0, progress=False)
    cols = list(out.table.columns)
    assert cols[:5] == ["point", "workload", "engines.npu.rows", "engines.npu.cols", "status"]
    assert {"latency_ms", "energy_pj", "area_mm2", "util.npu", "config_hash"} <= set(cols)
    assert (tmp_path / "results.csv").is_file()
    back = read_table(tmp_path)
    assert len(back) == 6 and list(back["engines.npu.rows"]) == [4, 4, 8, 8, 16, 16]
    assert len(list((tmp_path / "points").glob("*.json"))) == 6


def test_process_pool_and_dask_local_cluster_give_the_same_table(tmp_path):
    distributed = pytest.importorskip("distributed")
    spec = sweep()
    pool = run_sweep(spec, tmp_path / "pool", workers=2, progress=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        dask = run_sweep(spec, tmp_path / "dask", scheduler=cluster.scheduler_address, progress=False)
    assert dask.computed == 6
    pd.testing.assert_frame_equal(pool.table, dask.table)


def test_sweep_file_resolves_base_and_workloads_relative_to_itself(tmp_path):
    import yaml
    (tmp_path / "arch.yaml").write_text(yaml.safe_dump(BASE))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump({"base": "arch.yaml", "workloads": ["resnet18"],
                                                     "parameters": {"engines.npu.rows": [8]}}))
    spec = load_sweep(tmp_path / "s.yaml")
    assert spec.base["name"] == "t" and spec.workloads[0].label == "resnet18"
    (tmp_path / "bad.yaml").write_text("base: missing.yaml\nworkloads: [x]\nparameters: {a: [1]}\n")
    with pytest.raises(ConfigError, match="bad.yaml: base"):
        load_sweep(tmp_path / "bad.yaml")


def test_sweep_command_runs_a_file_and_reports_cached_points_on_rerun(tmp_path, capsys):
    import argparse

    import yaml

    from archsim.sweep.cli import add_subcommand

    (tmp_path / "arch.yaml").write_text(yaml.safe_dump(BASE))
    topo = tmp_path / "topo.csv"
    topo.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
                    "Strides,\nconv1, 16, 16, 3, 3, 8, 16, 1,\n")
    (tmp_path / "s.yaml").write_text(yaml.safe_dump({
        "base": "arch.yaml", "workloads": ["topo.csv"], "parameters": {"engines.npu.rows": [4, 8]},
        "energy": ENERGY}))
    parser = argparse.ArgumentParser()
    add_subcommand(parser.add_subparsers())
    argv = ["sweep", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"), "--workers", "0", "--no-progress",
            "--format", "csv"]
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    first = capsys.readouterr().out
    assert "2 tasks (2 ok, 0 failed; 2 computed, 0 from the store" in first
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    assert "0 computed, 2 from the store" in capsys.readouterr().out


def test_serving_points_sweep_architecture_and_serving_options_together(tmp_path, repo):
    spec = build_sweep({"name": "serve", "base": str(repo / "arch_configs" / "neupims.yaml"), "workloads": ["gpt3_7b"],
                        "parameters": {"engines.pim.row_buffers": ["single", "dual"], "serve.batch": [64, 128]},
                        "serve": {"batch": 64, "iterations": 1, "tp": 4, "sim_layers": 1}, "energy": False},
                       "serve.yaml")
    out = run_sweep(spec, tmp_path / "out", workers=0, progress=False)
    t = out.table.set_index(["engines.pim.row_buffers", "serve.batch"])
    assert (out.table.status == "ok").all() and len(t) == 4
    # dual row buffers never lose to blocked PIM; a bigger batch makes more tokens per second
    for b in (64, 128):
        assert t.loc[("dual", b), "tokens_per_s"] >= t.loc[("single", b), "tokens_per_s"]
    assert t.loc[("dual", 128), "tokens_per_s"] > t.loc[("dual", 64), "tokens_per_s"]
    rerun = run_sweep(spec, tmp_path / "out", workers=0, progress=False)
    assert rerun.cached == 4 and rerun.computed == 0


def test_bad_serving_sweeps_are_located_errors(repo):
    base = {"name": "serve", "base": str(repo / "arch_configs" / "neupims.yaml"), "workloads": ["gpt3_7b"],
            "parameters": {"serve.batch": [64, 0]}, "serve": {"batch": 64}}
    with pytest.raises(ConfigError, match="serve.yaml: serve.batch: bad value; got 0"):
        build_sweep(base, "serve.yaml")
    with pytest.raises(ConfigError, match="serve.yaml: serve.batch: serving option swept without"):
        build_sweep({**base, "serve": None}, "serve.yaml")
    with pytest.raises(ConfigError, match="serve.yaml: serve.itrations: unknown serving option"):
        build_sweep({**base, "parameters": {"engines.pim.refresh": [True]}, "serve": {"batch": 8, "itrations": 2}},
                    "serve.yaml")


def test_a_sweep_without_a_mapper_takes_its_base_architectures_default(tmp_path):
    from archsim.errors import ConfigError
    from archsim.sweep.runner import run_sweep

    repo = Path(__file__).resolve().parents[1]
    fpga = str(repo / "arch_configs" / "u280_flightllm.yaml")
    plain = build_sweep({"base": str(repo / "arch_configs" / "tpu_v1_like.yaml"), "workloads": ["resnet18"],
                         "parameters": {"engines.mxu.rows": [128]}}, "plain.yaml")
    assert plain.mapper == "partition"          # unchanged for every ordinary architecture (and its cached hashes)
    spec = build_sweep({"base": fpga, "workloads": [{"name": "llama2_7b", "set": ["phase=decode", "context=128"]}],
                        "parameters": {"engines.flightllm.compiler.always_on_chip": [True, False]}}, "fpga.yaml")
    assert spec.mapper == "flightllm"
    out = run_sweep(spec, tmp_path / "out", progress=False, formats=("csv",))
    assert list(out.table.status) == ["ok", "ok"]
    with pytest.raises(ConfigError) as err:
        build_sweep({"base": fpga, "workloads": ["llama2_7b"], "mapper": "partition",
                     "parameters": {"engines.flightllm.compiler.always_on_chip": [True]}}, "fpga.yaml")
    assert "fpga.yaml" in str(err.value) and "mapper" in str(err.value) and "flightllm" in str(err.value)

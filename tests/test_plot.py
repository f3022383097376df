"""Plots render headless, carry titles and unit labels, and draw the expected artists."""
import argparse

import numpy as np
import pytest

from archsim.config import build_arch
from archsim.energy import EnergySpec, estimate_energy
from archsim.plot import run_plots, write_standard_plots
from archsim.plot.sweep import heatmap, pareto, pareto_mask, write_sweep_plots
from archsim.sim.run import simulate
from archsim.sweep import WorkloadSpec, build_sweep, run_sweep
from archsim.trace import Trace, TraceOp

ARCH = {
    "name": "t", "clock_ghz": 1.0,
    "engines": {"npu": {"kind": "systolic", "rows": 8, "cols": 8, "dataflow": "ws", "ifmap_sram": "s",
                        "filter_sram": "s", "ofmap_sram": "s", "dram": "d"},
                "vec": {"kind": "vector", "lanes": 16, "dram": "d"}},
    "memories": {"s": {"kind": "sram", "capacity_kib": 64}, "d": {"kind": "dram", "bandwidth_gbps": 16}},
}
SPEC = EnergySpec(dram_standard={"d": "DDR4"})


def trace():
    g = lambda i, m, n, k, deps=(): TraceOp(i, f"g{i}", "gemm", {"M": m, "N": n, "K": k}, macs=m * n * k,
                                            input_bytes=m * k, weight_bytes=k * n, output_bytes=m * n,
                                            deps=tuple(deps))
    e = lambda i, n, deps: TraceOp(i, f"e{i}", "elementwise", {"elements": n}, flops=n, input_bytes=n,
                                   output_bytes=n, deps=tuple(deps))
    return Trace("chain", (g(0, 64, 32, 48), e(1, 2048, [0]), g(2, 64, 16, 32, [1]), e(3, 1024, [2])))


@pytest.fixture(scope="module")
def run():
    arch = build_arch(ARCH)
    return arch, simulate(arch, trace())


def labelled(ax):
    return ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def test_energy_breakdown_has_one_bar_per_component_and_unit_labels(run):
    arch, result = run
    report = estimate_energy(result, arch, SPEC)
    fig = run_plots.energy_breakdown(report.per_component, report.by_op_kind())
    by_comp, by_kind = fig.axes[:2]
    # two stacked series (dynamic, static) -> 2 bars per component
    assert len(by_comp.patches) == 2 * len(report.per_component)
    assert [t.get_text() for t in by_comp.get_xticklabels()] == list(report.per_component.component)
    assert "uJ" in by_comp.get_ylabel() and labelled(by_comp) and labelled(by_kind)
    assert len(by_kind.patches) == report.by_op_kind().size


def test_timeline_draws_one_row_per_engine(run):
    _, result = run
    fig = run_plots.timeline(result.ops)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["npu", "vec"]
    assert "cycles" in ax.get_xlabel() and ax.get_title()


def test_utilization_and_latency_plots_are_labelled(run):
    _, result = run
    for fig in (run_plots.utilization_over_time(result.ops, result.engine_peak_macs_per_cycle),
                run_plots.utilization_per_op(result.ops), run_plots.latency_breakdown(result.ops)):
        assert labelled(fig.axes[0])
    fig = run_plots.utilization_per_op(result.ops)
    assert "%" in fig.axes[0].get_ylabel()


def test_standard_plots_write_png_and_svg(run, tmp_path):
    arch, result = run
    paths = write_standard_plots(result, tmp_path, arch=arch, energy_spec=SPEC)
    names = {p.name for p in paths}
    for stem in ("utilization_time", "utilization_ops", "latency_breakdown", "timeline", "roofline",
                 "energy_breakdown"):
        assert {f"{stem}.png", f"{stem}.svg"} <= names
    assert all(p.stat().st_size > 1000 for p in paths)


def test_standard_plots_skip_only_energy_when_energy_is_undefined(run, tmp_path):
    arch, result = run
    with pytest.warns(UserWarning, match="DRAM energy needs its standard"):
        paths = write_standard_plots(result, tmp_path, arch=arch, formats=("png",))
    assert "energy_breakdown.png" not in {p.name for p in paths} and "roofline.png" in {p.name for p in paths}


def test_pareto_mask_keeps_only_non_dominated_points():
    v = np.array([[1, 5], [2, 2], [3, 3], [5, 1], [4, 4]])
    assert list(pareto_mask(v)) == [True, True, False, True, False]


@pytest.fixture(scope="module")
def sweep_table(tmp_path_factory):
    spec = build_sweep({"base": ARCH, "parameters": {"engines.npu.rows": [4, 8, 16], "engines.npu.cols": [4, 8]},
                        "energy": {"dram_standard": {"d": "DDR4"}}}, "s.yaml",
                       workloads=(WorkloadSpec(trace()),))
    return run_sweep(spec, tmp_path_factory.mktemp("sw"), workers=0, progress=False)


def test_sweep_heatmap_has_a_cell_per_key_pair(sweep_table):
    fig = heatmap(sweep_table.table, "engines.npu.rows", "engines.npu.cols", "latency_ms")
    ax = fig.axes[0]
    assert ax.images[0].get_array().shape == (2, 3)
    assert ax.get_xlabel() == "engines.npu.rows" and "ms" in fig.axes[1].get_ylabel()


def test_sweep_pareto_and_files(sweep_table, tmp_path):
    fig = pareto(sweep_table.table)
    ax = fig.axes[0]
    assert "ms" in ax.get_xlabel() and "mJ" in ax.get_ylabel()
    paths = write_sweep_plots(sweep_table.table, tmp_path, ("engines.npu.rows", "engines.npu.cols"))
    assert {"pareto.png", "pareto.svg", "heatmap_latency_ms_chain.png", "heatmap_energy_pj_chain.svg"} <= \
        {p.name for p in paths}


def test_plot_command_reads_sweep_and_run_directories(sweep_table, run, tmp_path):
    from archsim.plot.cli import add_subcommand
    from archsim.report import write_result

    parser = argparse.ArgumentParser()
    add_subcommand(parser.add_subparsers())
    args = parser.parse_args(["plot", str(sweep_table.out_dir), "--out", str(tmp_path / "a"), "--formats", "png"])
    assert args.func(args) == 0 and (tmp_path / "a" / "pareto.png").is_file()
    write_result(run[1], tmp_path / "run")
    args = parser.parse_args(["plot", str(tmp_path / "run"), "--formats", "png"])
    assert args.func(args) == 0 and (tmp_path / "run" / "plots" / "timeline.png").is_file()

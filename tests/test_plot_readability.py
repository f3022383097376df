"""Figures an architect can put in a paper: layer names, labelled Pareto points, readable log ticks, no clipped
stacks, one utilisation metric per figure, only units that did something in legends."""
import numpy as np
import pandas as pd
import pytest

from archsim.config import build_arch
from archsim.energy import EnergySpec, estimate_energy
from archsim.plot import run_plots
from archsim.plot.style import group_numbered, new_figure, readable_log_axis
from archsim.plot.sweep import pareto
from archsim.sim.run import simulate
from archsim.trace import Trace, TraceOp

ARCH = {
    "name": "t", "clock_ghz": 1.0,
    "engines": {"npu": {"kind": "systolic", "rows": 8, "cols": 8, "dataflow": "ws", "ifmap_sram": "s",
                        "filter_sram": "s", "ofmap_sram": "s", "dram": "d"},
                "vec": {"kind": "vector", "lanes": 16, "dram": "d"}},
    "memories": {"s": {"kind": "sram", "capacity_kib": 64},
                 "d": {"kind": "dram", "bandwidth_gbps": 16, "energy_standard": "DDR4"}},
}


@pytest.fixture(scope="module")
def run():
    g = lambda i, name, m, n, k, deps=(): TraceOp(i, name, "gemm", {"M": m, "N": n, "K": k}, macs=m * n * k,
                                                  input_bytes=m * k, weight_bytes=k * n, output_bytes=m * n,
                                                  deps=tuple(deps))
    e = lambda i, name, n, deps: TraceOp(i, name, "elementwise", {"elements": n}, flops=n, input_bytes=n,
                                         output_bytes=n, deps=tuple(deps))
    trace = Trace("chain", (g(0, "conv1", 64, 32, 48), e(1, "relu1", 2048, [0]), g(2, "fc", 64, 16, 32, [1])))
    arch = build_arch(ARCH)
    return arch, simulate(arch, trace)


def test_per_op_bars_are_named_by_layer_and_show_one_metric(run):
    _, result = run
    ax = run_plots.utilization_per_op(result.ops).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["conv1", "fc"]    # MAC ops only, by name
    assert ax.get_ylabel() == "MAC utilization (%)" and len(ax.patches) == 2


def test_utilisation_over_time_has_mac_engines_only_and_busy_is_its_own_figure(run):
    _, result = run
    mac = run_plots.utilization_over_time(result.ops, result.engine_peak_macs_per_cycle).axes[0]
    busy = run_plots.busy_over_time(result.ops).axes[0]
    assert [t.get_text() for t in mac.get_legend().get_texts()] == ["npu"]
    assert {t.get_text() for t in busy.get_legend().get_texts()} == {"npu", "vec"}
    assert "MAC" in mac.get_ylabel() and "busy" in busy.get_ylabel()


def test_energy_stacks_fit_and_idle_numbered_units_are_grouped_or_dropped():
    per = pd.DataFrame({"component": ["sa0", "sa1", "sa2", "vu0", "hbm"], "type": ["engine"] * 4 + ["memory"],
                        "dynamic_pj": [3e6, 3e6, 3e6, 0.0, 5e6], "static_pj": [1e6, 1e6, 1e6, 0.0, 2e6],
                        "total_pj": [4e6, 4e6, 4e6, 0.0, 7e6], "static_mw": [0.0] * 5, "area_um2": [1.0] * 5})
    kinds = pd.DataFrame({"sa0": [2e6, 1e6], "sa1": [2e6, 1e6], "sa2": [2e6, 1e6], "vu0": [0.0, 0.0],
                          "hbm": [4e6, 1e6]}, index=["gemm", "gemv"])
    by_comp, by_kind = run_plots.energy_breakdown(per, kinds).axes[:2]
    assert [t.get_text() for t in by_comp.get_xticklabels()] == ["sa0–sa2 (x3)", "hbm"]
    assert by_comp.get_ylim()[1] > 12.0 and by_kind.get_ylim()[1] > 10.0     # tallest stacks: 12 and 10 uJ
    assert [t.get_text() for t in by_kind.get_legend().get_texts()] == ["sa0–sa2 (x3)", "hbm"]
    assert group_numbered(["a", "b1", "b2"]) == {"a": ["a"], "b1–b2 (x2)": ["b1", "b2"]}


def test_a_log_axis_inside_one_decade_still_has_labelled_ticks():
    fig, ax = new_figure()
    ax.plot([2.2, 7.5], [31, 44])
    ax.set_xscale("log")
    ax.set_yscale("log")
    readable_log_axis(ax.xaxis, 2.2, 7.5)
    readable_log_axis(ax.yaxis, 31, 44)
    ax.set_xlim(2.2, 7.5)
    ax.set_ylim(31, 44)
    fig.canvas.draw()
    for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        visible = [v for v in axis.get_majorticklocs() if lo <= v <= hi]
        labels = [axis.get_major_formatter()(v, i) for i, v in enumerate(visible)]
        assert len(visible) >= 2 and all(labels) and all(float(t) == pytest.approx(v) for t, v in zip(labels, visible))


def test_pareto_front_points_are_labelled_with_their_swept_values():
    table = pd.DataFrame({"workload": ["w"] * 4, "engines.npu.rows": [8, 16, 32, 64], "status": ["ok"] * 4,
                          "latency_ms": [8.0, 4.0, 2.0, 1.0], "energy_pj": [1e9, 2e9, 3e9, 9e9],
                          "area_mm2": [1.0, 2.0, 3.0, 4.0]})
    ax = pareto(table, label_keys=("engines.npu.rows",)).axes[0]
    texts = {t.get_text() for t in ax.texts}
    assert texts and texts <= {"rows=8", "rows=16", "rows=32", "rows=64"}
    assert "rows=64" in texts and "rows=8" in texts

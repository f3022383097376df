"""ops.busy_cycles: the cycles an engine worked on an op, so busy-over-time figures agree with the component table
even where one record sums an op over compiled layers (FlightLLM) or serving iterations."""
import numpy as np
import pytest

from archsim.plot import run_plots
from archsim.sim.run import simulate


def _busy_means(ops):
    edges, curves = run_plots._over_time(ops, run_plots.unit_rows(ops), run_plots.busy_share, 400)
    width = edges[1] - edges[0]
    span = edges[-1]
    return {name: float(np.sum(c) * width / 100 / span) for name, c in curves.items()}


def test_flightllm_module_busy_over_time_matches_the_component_table():
    result = simulate("u280_flightllm", "llama2_7b", workload_overrides=["phase=decode", "context=128"])
    ops, comps = result.ops, result.components.set_index("component")
    assert (ops.busy_cycles <= ops.end_cycle - ops.start_cycle).all()
    means = _busy_means(ops)
    for module in ("flightllm.LD", "flightllm.MV", "flightllm.MISC"):
        assert means[module] == pytest.approx(comps.loc[module, "busy_fraction"], abs=0.01), module
    assert means["flightllm.MISC"] < 0.1          # drawn from start to end it looked busy most of the time


def test_an_ordinary_run_is_busy_for_its_whole_span():
    ops = simulate("tpu_v1_like", "resnet18").ops
    span = ops.end_cycle - ops.start_cycle
    assert ((ops.busy_cycles - span).abs() <= 1).all()

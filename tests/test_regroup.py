"""The regrouping pass (DRACO / E2GC): depthwise -> grouped, pointwise -> grouped; shapes preserved."""
from __future__ import annotations

import pytest

from archsim.cli import main

from archsim.errors import WorkloadError
from archsim.workload import build_graph, load_workload
from archsim.workload.regroup import is_depthwise, is_pointwise, regroup_convolutions


def _outputs(graph):
    return {op.name: [graph.tensor(t).shape for t in op.outputs] for op in graph.ops}


def test_output_shapes_are_preserved():
    g = build_graph("mobilenet_v1")
    new, changed = regroup_convolutions(g, dw_group_size=8, pw_groups=2)
    assert _outputs(new) == _outputs(g)
    assert len(changed) == 13 + 13


def test_depthwise_work_grows_by_the_group_size_and_pointwise_shrinks_by_its_groups():
    before = {op.name: op for op in load_workload("mobilenet_v1").ops}
    after = {op.name: op for op in load_workload("mobilenet_v1", ["dw_group_size=4", "pw_groups=2"]).ops}
    g = build_graph("mobilenet_v1")
    dw = [op.name for op in g.ops if is_depthwise(g, op)]
    pw = [op.name for op in g.ops if is_pointwise(g, op)]
    assert dw and pw
    for name in dw:
        assert after[name].macs == 4 * before[name].macs
        assert after[name].dims["groups"] == before[name].dims["groups"] // 4
    for name in pw:
        assert 2 * after[name].macs == before[name].macs
    assert after["conv_stem"].macs == before["conv_stem"].macs


def test_params_before_and_after():
    g = build_graph("mobilenet_v1")
    new, _ = regroup_convolutions(g, dw_group_size=2)
    dw_weights = sum(g.tensor(op.inputs[1]).numel for op in g.ops if is_depthwise(g, op))
    assert new.param_count == g.param_count + dw_weights        # each depthwise filter now reads 2 channels


def test_group_size_larger_than_a_layer_makes_it_dense():
    g = build_graph("mobilenet_v1")
    new, _ = regroup_convolutions(g, dw_group_size=64)
    first = next(op for op in new.ops if op.name == "block1.dw")   # 32 channels
    assert first.attrs["groups"] == 1


def test_group_size_that_does_not_divide_is_an_error():
    with pytest.raises(WorkloadError, match="block1.dw.*dw_group_size=3"):
        regroup_convolutions(build_graph("mobilenet_v1"), dw_group_size=3)


def test_the_knobs_reach_the_cli_and_bad_values_fail_cleanly(tmp_path, capsys):
    out = tmp_path / "t.csv"
    assert main(["lower", "mobilenet_v1", "--set", "pw_groups=2", "-o", str(out)]) == 0
    plain = load_workload("mobilenet_v1")
    halved = load_workload(str(out))
    assert sum(o.macs for o in halved.ops) < sum(o.macs for o in plain.ops)
    assert main(["lower", "mobilenet_v1", "--set", "dw_group_size=0", "-o", str(out)]) == 2
    assert "dw_group_size" in capsys.readouterr().err

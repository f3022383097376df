"""Trace invariants: topological deps, dims that imply the MACs, gemv shape, conv output size."""
from __future__ import annotations

import pytest

from archsim.errors import WorkloadError
from archsim.trace import Trace, TraceOp, check_trace, trace_problems
from archsim.workload import list_workloads, load_workload


def _gemm(op_id, m=4, macs=None, deps=(), kind="gemm"):
    return TraceOp(op_id, f"g{op_id}", kind, {"B": 1, "M": m, "N": 2, "K": 3},
                   macs=m * 6 if macs is None else macs, deps=deps)


def test_a_sound_trace_has_no_problems():
    assert trace_problems(Trace("t", (_gemm(0), _gemm(1, deps=(0,))))) == []


def test_a_dependency_on_a_later_op_is_reported():
    problems = trace_problems(Trace("t", (_gemm(0, deps=(1,)), _gemm(1))))
    assert any("does not come earlier" in p for p in problems)


def test_macs_that_disagree_with_the_dims_are_reported():
    assert any("dims imply 24" in p for p in trace_problems(Trace("t", (_gemm(0, macs=5),))))


def test_a_gemv_must_have_one_row():
    assert any("M == 1" in p for p in trace_problems(Trace("t", (_gemm(0, kind="gemv"),))))


def test_a_conv_whose_output_size_disagrees_with_its_padding_is_reported():
    dims = {"N": 1, "H": 224, "W": 224, "C": 3, "R": 7, "S": 7, "F": 64, "stride_h": 2, "stride_w": 2,
            "pad_h": 0, "pad_w": 0, "groups": 1, "OH": 112, "OW": 112}
    op = TraceOp(0, "c", "conv2d", dims, macs=112 * 112 * 64 * 147)
    with pytest.raises(WorkloadError, match="conv gives 109 x 109"):
        check_trace(Trace("t", (op,)))


@pytest.mark.parametrize("model", list_workloads())
def test_every_zoo_model_lowers_to_a_consistent_trace(model):
    check_trace(load_workload(model))


@pytest.mark.parametrize("overrides", [["phase=decode", "batch=4", "context=512"], ["tp=8", "batch=2"],
                                       ["phase=decode", "tp=4"]])
def test_llm_variants_lower_to_consistent_traces(overrides):
    check_trace(load_workload("mixtral_8x7b", overrides))
    check_trace(load_workload("llama2_70b", overrides))


def test_ragged_decode_steps_pass_the_checks_and_a_wrong_ragged_dim_does_not():
    from dataclasses import replace

    from archsim.trace import Trace
    from archsim.workload.decode import DecodeStep

    trace = DecodeStep("gpt3_7b", 3, ["tp=4", "layers=1"]).trace([5, 90, 7])
    assert check_trace(trace) is trace
    qk = next(i for i, op in enumerate(trace.ops) if op.name.endswith("attn_qk"))
    ops = list(trace.ops)
    ops[qk] = replace(ops[qk], dims={**ops[qk].dims, "N": 91})
    with pytest.raises(WorkloadError, match="longest"):
        check_trace(Trace("bad", tuple(ops)))

"""Speculative decoding: the verification pass as a decode step of k + 1 tokens, and the round arithmetic."""
from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from archsim.cli import main
from archsim.config import load_arch
from archsim.errors import ArchsimError, WorkloadError
from archsim.mapping.fusion import run_kernels
from archsim.serving.speculative import (acceptance_for_tokens_per_round, calibrate_acceptance,
                                         expected_tokens_per_round, speculative_decode)
from archsim.workload import load_workload

ROOT = Path(__file__).resolve().parents[1]


def _linear_macs(trace):
    return sum(op.macs for op in trace.ops if op.name.endswith(("qkv_proj", "o_proj", "gate_up_proj", "down_proj",
                                                                 "lm_head")))


@pytest.mark.parametrize("k", [1, 3, 8])
def test_a_verification_pass_runs_every_linear_layer_on_k_plus_1_tokens(k):
    base = ["phase=decode", "seq_len=1024", "layers=2"]
    one = load_workload("llama3_8b", base)
    many = load_workload("llama3_8b", base + [f"decode_tokens={k + 1}"])
    assert _linear_macs(many) == (k + 1) * _linear_macs(one)
    assert many.metadata["decode_tokens"] == str(k + 1) and "decode_tokens" not in one.metadata
    # attention reads the same cache with k + 1 queries: its MACs scale too, its KV bytes do not
    qk = lambda t: next(op for op in t.ops if op.name == "layers.0.attn.attn_qk")  # noqa: E731
    assert qk(many).macs == (k + 1) * qk(one).macs


def test_decode_tokens_outside_decode_is_refused(tmp_path):
    with pytest.raises(WorkloadError, match="decode_tokens=4 needs phase=decode"):
        load_workload("llama3_8b", ["decode_tokens=4"])
    with pytest.raises(WorkloadError, match="context=3 is shorter than the decode_tokens=5"):
        load_workload("llama3_8b", ["phase=decode", "context=3", "decode_tokens=5"])
    assert main(["lower", "llama3_8b", "--set", "decode_tokens=0", "-o", str(tmp_path / "t.csv")]) == 2


def test_a_memory_bound_verification_pass_costs_about_one_decode_step():
    arch = load_arch(ROOT / "arch_configs" / "sn40l_16.yaml")
    step = lambda q: run_kernels(arch, load_workload("llama3_8b", ["phase=decode", "seq_len=8192", "tp=16",  # noqa: E731
                                                                     f"decode_tokens={q}"]), "fused",
                                 orchestration="hardware").seconds
    one, five = step(1), step(5)
    assert one < five < 1.05 * one


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.8, 0.97, 1.0])
@pytest.mark.parametrize("k", [1, 4, 7])
def test_tokens_per_round_is_the_expected_accepted_prefix_plus_one(alpha, k):
    # P(the first i drafted tokens are all accepted) = alpha^i; a round yields 1 + sum_i of those
    assert expected_tokens_per_round(alpha, k) == pytest.approx(sum(alpha ** i for i in range(k + 1)))
    if 0.0 < alpha < 1.0:
        assert acceptance_for_tokens_per_round(expected_tokens_per_round(alpha, k), k) == pytest.approx(alpha, abs=1e-9)


def test_unreachable_rates_and_bad_acceptance_are_errors():
    with pytest.raises(ArchsimError, match="unreachable with draft_tokens=2"):
        acceptance_for_tokens_per_round(3.5, 2)
    with pytest.raises(ArchsimError, match="outside"):
        expected_tokens_per_round(1.2, 3)


def test_a_round_is_k_draft_steps_and_one_verification():
    times = {("draft", 1): 1.0e-3, ("target", 1): 10.0e-3, ("target", 5): 10.4e-3}
    spec = speculative_decode(lambda m, q: times[m, q], "target", "draft", 4, 0.8)
    assert spec.round_s == pytest.approx(4 * 1.0e-3 + 10.4e-3)
    assert spec.tokens_per_s == pytest.approx(expected_tokens_per_round(0.8, 4) / spec.round_s)
    assert spec.speedup == pytest.approx(spec.tokens_per_s * 10.0e-3)
    fit = calibrate_acceptance(lambda m, q: times[m, q], "target", "draft", 4, spec.tokens_per_s)
    assert fit.acceptance == pytest.approx(0.8, abs=1e-9)


def test_tab_iv_rows_fit_one_acceptance_rate_on_70b_and_predict_405b():
    exp = runpy.run_path(str(ROOT / "experiments" / "sn40l.py"), run_name="archsim_reproduce")
    rows = {r["row"]: r for r in exp["llama31_rows"](load_arch(ROOT / "arch_configs" / "sn40l_16.yaml"), False)}
    r70, r405 = rows["Llama 3.1 70B"], rows["Llama 3.1 405B"]
    assert r70["archsim"] == pytest.approx(457.0, rel=1e-3)
    assert r405["acceptance"] == r70["acceptance"] and 0.0 < r70["acceptance"] < 1.0
    # speculation helps both, and the bigger target less per round of the same draft
    assert r70["archsim"] > r70["plain_tokens_per_s"] and r405["archsim"] > r405["plain_tokens_per_s"]
    assert r405["archsim"] / r405["plain_tokens_per_s"] > r70["archsim"] / r70["plain_tokens_per_s"]

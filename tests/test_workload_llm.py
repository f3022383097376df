"""LLM phases: prefill vs decode, KV cache, GQA, MoE routing, tensor parallelism."""
from __future__ import annotations

import pytest

from archsim.errors import ConfigError, WorkloadError
from archsim.workload import load_workload
from archsim.workload.transformer import expert_loads


def _ops(trace, suffix):
    return [op for op in trace.ops if op.name.endswith(suffix)]


def test_decode_projections_become_gemvs_at_batch_1():
    trace = load_workload("llama2_7b", ["phase=decode", "context=256"])
    for suffix in ("qkv_proj", "o_proj", "gate_up_proj", "down_proj", "lm_head"):
        assert {op.kind for op in _ops(trace, suffix)} == {"gemv"}, suffix


def test_decode_projections_are_gemms_over_the_batch():
    trace = load_workload("llama2_7b", ["phase=decode", "batch=16"])
    assert all(op.kind == "gemm" and op.dims["M"] == 16 for op in _ops(trace, "qkv_proj"))


def test_multi_head_decode_attention_is_a_batch_of_gemvs_over_the_context():
    trace = load_workload("llama2_7b", ["phase=decode", "context=300", "batch=2"])
    qk = _ops(trace, "attn_qk")[0]
    assert qk.kind == "gemv" and qk.dims == {"B": 2 * 32, "M": 1, "N": 300, "K": 128}


def test_gqa_stacks_the_query_heads_of_a_group_into_m():
    qk = _ops(load_workload("llama3_8b", ["phase=decode", "context=64"]), "attn_qk")[0]
    assert qk.dims == {"B": 8, "M": 4, "N": 64, "K": 128}


def test_kv_cache_bytes_grow_linearly_with_context():
    def kv(context):
        return sum(op.kv_cache_bytes for op in load_workload("llama2_7b", ["phase=decode", f"context={context}"]).ops)
    # 2 (K and V) x layers x kv_heads x head_dim x context x 2 bytes (fp16)
    for context in (128, 1024, 4096):
        assert kv(context) == 2 * 32 * 32 * 128 * context * 2


def test_gqa_shrinks_the_kv_cache_by_the_group_size():
    def kv(model):
        return sum(op.kv_cache_bytes for op in load_workload(model, ["phase=decode", "context=1024"]).ops)
    assert kv("llama2_7b") == 4 * kv("mistral_7b")  # 32 vs 8 KV heads, same layers/head_dim/dtype


def test_prefill_reads_no_kv_cache_and_attends_over_the_prompt():
    trace = load_workload("gpt2", ["seq_len=64", "batch=3"])
    assert sum(op.kv_cache_bytes for op in trace.ops) == 0
    qk = _ops(trace, "attn_qk")[0]
    assert qk.dims == {"B": 3 * 12, "M": 64, "N": 64, "K": 64}
    assert _ops(trace, "lm_head")[0].dims["M"] == 3  # last position of each sequence


def test_prefill_macs_are_about_params_times_tokens():
    trace = load_workload("llama2_7b", ["seq_len=512"])
    dense = sum(op.macs for op in trace.ops if op.kind == "gemm" and "attn_" not in op.name)
    assert dense == pytest.approx((6.74e9 - 2 * 131e6) * 512, rel=0.01)


def test_moe_decode_activates_exactly_k_experts_per_layer():
    trace = load_workload("mixtral_8x7b", ["phase=decode"])
    experts = {op.name.split(".experts.")[1].split(".")[0] for op in trace.ops
               if ".experts." in op.name and op.name.startswith("layers.0.")}
    assert len(experts) == 2


def test_moe_expert_count_follows_the_override_and_parameters_stay_whole():
    trace = load_workload("mixtral_8x7b", ["phase=decode", "experts_per_token=3"])
    layer0 = [op for op in trace.ops if op.name.startswith("layers.0.moe.experts.") and op.name.endswith("down_proj")]
    assert len(layer0) == 3
    assert trace.total_params == 46_702_792_704


def test_balanced_routing_spreads_every_assignment():
    assert expert_loads(tokens=1, num_experts=8, k=2) == [1, 1]
    assert expert_loads(tokens=5, num_experts=8, k=2) == [2, 2, 1, 1, 1, 1, 1, 1]
    assert sum(expert_loads(tokens=100, num_experts=8, k=2)) == 200


def test_tensor_parallel_splits_heads_and_ffn_and_adds_allreduces():
    full = load_workload("llama2_7b", ["phase=decode"])
    tp4 = load_workload("llama2_7b", ["phase=decode", "tp=4"])
    assert _ops(tp4, "qkv_proj")[0].dims["N"] * 4 == _ops(full, "qkv_proj")[0].dims["N"]
    assert _ops(tp4, "down_proj")[0].dims["K"] * 4 == _ops(full, "down_proj")[0].dims["K"]
    assert len([op for op in tp4.ops if op.kind == "allreduce"]) == 2 * 32 + 1


def test_layers_override_emits_only_the_first_blocks():
    trace = load_workload("gpt3_175b", ["layers=1", "phase=decode"])
    assert {op.layer for op in trace.ops} == {"embed", "layers.0", "head"}


def test_a_context_beyond_the_models_positions_is_refused():
    with pytest.raises(WorkloadError, match="max_position_embeddings 1024"):
        load_workload("gpt2", ["phase=decode", "context=4096"])


def test_tp_that_does_not_divide_the_heads_is_refused():
    with pytest.raises(WorkloadError, match="tp=5"):
        load_workload("llama2_7b", ["tp=5"])


def test_phase_must_be_prefill_or_decode():
    with pytest.raises(ConfigError, match="phase.*expected prefill or decode"):
        load_workload("llama2_7b", ["phase=generate"])


def test_dtype_comes_from_the_model_and_can_be_overridden():
    assert load_workload("llama3_8b", ["layers=1"]).ops[0].dtype == "bf16"
    trace = load_workload("llama3_8b", ["layers=1", "dtype=int8", "phase=decode"])
    assert trace.ops[0].dtype == "int8"
    qkv = _ops(trace, "qkv_proj")[0]
    assert qkv.weight_bytes == 4096 * 6144


def test_trace_records_phase_and_layer_per_op():
    trace = load_workload("llama2_7b", ["phase=decode", "layers=2"])
    assert {op.phase for op in trace.ops} == {"decode"}
    assert trace.metadata["phase"] == "decode" and trace.metadata["context"] == "128"


def test_bert_and_vit_attend_over_their_whole_sequence():
    bert = _ops(load_workload("bert_base", ["seq_len=384", "layers=1"]), "attn_qk")[0]
    assert bert.dims == {"B": 12, "M": 384, "N": 384, "K": 64}
    vit = _ops(load_workload("vit_b16", ["layers=1"]), "attn_qk")[0]
    assert vit.dims == {"B": 12, "M": 197, "N": 197, "K": 64}

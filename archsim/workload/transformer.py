"""Transformer graph builders: decoder LLMs (prefill / decode with KV cache, GQA, MoE, TP), BERT, ViT.

Activations are token-major ``[T, hidden]`` with ``T = batch x query length``. Attention is two
batched matmuls per layer with ``G = batch x kv_heads`` independent problems: the query heads that
share a KV head (GQA/MQA) are stacked along M, so a decode step at batch 1 with plain multi-head
attention gives ``M = 1`` (GEMV) and GQA gives ``M = heads / kv_heads``. Prefill attention is dense
(``seq x seq``, no causal skipping). The LM head runs on the last position of each sequence only,
as a serving system computes it. With ``tp > 1`` the graph is one device's share (Megatron split:
heads, FFN columns and vocabulary divided by ``tp``, an all-reduce after attention and after the FFN).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from archsim.errors import WorkloadError
from archsim.workload.builder import GraphBuilder
from archsim.workload.graph import Graph
from archsim.workload.knobs import RunKnobs
from archsim.workload.transformer_spec import TransformerSpec


@dataclass(frozen=True)
class Shard:
    """One tensor-parallel device's share of a layer (counts per device)."""

    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    tp: int


def shard(spec: TransformerSpec, tp: int) -> Shard:
    """Split heads, KV heads, FFN width and vocabulary over ``tp`` devices (KV heads replicate if fewer)."""
    if spec.heads % tp:
        raise WorkloadError(f"tp={tp} does not divide the {spec.heads} attention heads")
    if spec.intermediate % tp:
        raise WorkloadError(f"tp={tp} does not divide the FFN width {spec.intermediate}")
    if spec.kv_heads >= tp and spec.kv_heads % tp:
        raise WorkloadError(f"tp={tp} does not divide the {spec.kv_heads} KV heads")
    kv = max(1, spec.kv_heads // tp)
    return Shard(spec.heads // tp, kv, spec.intermediate // tp, math.ceil(spec.vocab / tp) if spec.vocab else 0, tp)


def _norm(b: GraphBuilder, spec: TransformerSpec, name: str, x: str) -> str:
    return b.rmsnorm(name, x) if spec.norm == "rmsnorm" else b.layernorm(name, x, bias=spec.norm_bias)


def attention(b: GraphBuilder, spec: TransformerSpec, sh: Shard, prefix: str, x: str, batch: int,
              q_len: int, kv_len: int, decode: bool, rope: bool) -> str:
    """Self-attention of ``x`` [batch*q_len, hidden]; in decode the keys/values come from the KV cache."""
    hd, nh, nkv = spec.head_dim, sh.heads, sh.kv_heads
    group = nh // nkv
    t = batch * q_len
    qkv = b.linear(f"{prefix}.qkv_proj", x, (nh + 2 * nkv) * hd, bias=spec.qkv_bias)
    qk, v = b.split(f"{prefix}.split_v", qkv, [(t, (nh + nkv) * hd), (t, nkv * hd)])
    if rope:
        qk = b.unary(f"{prefix}.rope", "rope", qk)
    q, k = b.split(f"{prefix}.split_qk", qk, [(t, nh * hd), (t, nkv * hd)])
    g = batch * nkv
    q = b.reshape(f"{prefix}.q_heads", q, (g, group * q_len, hd))
    if decode:
        # the new token's K and V go into the cache, then attention reads the whole cache
        k_t, v = b.kv_append(f"{prefix}.kv_append", k, v, (g, hd, kv_len), (g, kv_len, hd))
    else:
        k_t = b.reshape(f"{prefix}.k_heads", k, (g, hd, kv_len))
        v = b.reshape(f"{prefix}.v_heads", v, (g, kv_len, hd))
    # decode attention reads each request's KV cache: ragged over requests (one length each, here all equal)
    lens = (kv_len,) * batch if decode else None
    scores = b.matmul(f"{prefix}.attn_qk", q, k_t, ragged=("N", lens) if decode else None)
    probs = b.softmax(f"{prefix}.softmax", scores, ragged=("reduce", lens) if decode else None)
    ctx = b.matmul(f"{prefix}.attn_v", probs, v, ragged=("K", lens) if decode else None)
    ctx = b.reshape(f"{prefix}.merge_heads", ctx, (t, nh * hd))
    out = b.linear(f"{prefix}.o_proj", ctx, spec.hidden, bias=spec.out_bias)
    if sh.tp > 1:
        out = b.unary(f"{prefix}.allreduce", "allreduce", out)
    return out


def dense_mlp(b: GraphBuilder, spec: TransformerSpec, prefix: str, x: str, width: int, tp: int) -> str:
    """FFN of ``x``: gated (gate_up → swiglu/geglu → down) or plain (fc1 → act → fc2)."""
    if spec.gated_mlp:
        h = b.linear(f"{prefix}.gate_up_proj", x, 2 * width, bias=spec.mlp_bias)
        h = b.glu(f"{prefix}.act", "swiglu" if spec.act == "silu" else "geglu", h)
        out = b.linear(f"{prefix}.down_proj", h, spec.hidden, bias=spec.mlp_bias)
    else:
        h = b.unary(f"{prefix}.act", spec.act, b.linear(f"{prefix}.fc1", x, width, bias=spec.mlp_bias))
        out = b.linear(f"{prefix}.fc2", h, spec.hidden, bias=spec.mlp_bias)
    if tp > 1:
        out = b.unary(f"{prefix}.allreduce", "allreduce", out)
    return out


def expert_loads(tokens: int, num_experts: int, k: int) -> list[int]:
    """Tokens routed to each activated expert under balanced routing: ``tokens*k`` assignments spread
    as evenly as possible over ``min(num_experts, tokens*k)`` experts (deterministic)."""
    assignments = tokens * k
    active = min(num_experts, assignments)
    base, extra = divmod(assignments, active)
    return [base + (1 if e < extra else 0) for e in range(active)]


def moe_mlp(b: GraphBuilder, spec: TransformerSpec, sh: Shard, prefix: str, x: str, tokens: int, k: int) -> str:
    """Mixture-of-experts FFN: router, softmax, top-k, one gated FFN per activated expert, combine."""
    loads = expert_loads(tokens, spec.num_experts, k)
    # Experts that receive no token still exist: the router holds their (unread) weights, so the
    # parameter count of the trace is the model's.
    idle = [w for e in range(len(loads), spec.num_experts)
            for w in _idle_expert_weights(b, spec, f"{prefix}.experts.{e}", sh.intermediate)]
    logits = b.linear(f"{prefix}.router", x, spec.num_experts, bias=False, holds=idle)
    routing = b.topk(f"{prefix}.topk", b.softmax(f"{prefix}.router_softmax", logits), k)
    pieces = b.split(f"{prefix}.dispatch", x, [(n, spec.hidden) for n in loads], after=[routing])
    outs = [dense_mlp(b, spec, f"{prefix}.experts.{e}", piece, sh.intermediate, 1)
            for e, piece in enumerate(pieces)]
    out = b.moe_combine(f"{prefix}.combine", outs, routing, (tokens, spec.hidden), tokens * k)
    if sh.tp > 1:
        out = b.unary(f"{prefix}.allreduce", "allreduce", out)
    return out


def _idle_expert_weights(b: GraphBuilder, spec: TransformerSpec, prefix: str, width: int) -> list[str]:
    return [b.weight(f"{prefix}.gate_up_proj.weight", (spec.hidden, 2 * width)),
            b.weight(f"{prefix}.down_proj.weight", (width, spec.hidden))]


def build_decoder(name: str, spec: TransformerSpec, knobs: RunKnobs) -> Graph:
    """A decoder-only LLM step: ``prefill`` over the prompt, or a ``decode`` step of ``decode_tokens`` new
    tokens per sequence (1; more for a speculative verification pass, every position gets its logits)."""
    sh = shard(spec, knobs.tp)
    decode = knobs.phase == "decode"
    if knobs.decode_tokens > 1 and not decode:
        raise WorkloadError(f"{name}: decode_tokens={knobs.decode_tokens} needs phase=decode (a prefill step "
                            f"already runs every prompt token)")
    batch = knobs.batch
    q_len = knobs.decode_tokens if decode else knobs.prompt_len
    kv_len = knobs.kv_len if decode else knobs.prompt_len
    if decode and kv_len < q_len:
        raise WorkloadError(f"{name}: context={kv_len} is shorter than the decode_tokens={q_len} it includes")
    if kv_len > spec.max_positions:
        raise WorkloadError(f"{name}: {'context' if decode else 'seq_len'}={kv_len} exceeds the model's "
                            f"max_position_embeddings {spec.max_positions}")
    t = batch * q_len
    b = GraphBuilder(name, knobs.dtype or spec.dtype, knobs.phase)
    b.layer = "embed"
    if knobs.blocks_only:
        x = b.input("hidden_states", (t, spec.hidden))
        table = None
    else:
        x, table = _embed(b, spec, sh, t)
    n_layers = min(knobs.layers or spec.layers, spec.layers)
    k = knobs.experts_per_token or spec.experts_per_token
    if spec.is_moe and k > spec.num_experts:
        raise WorkloadError(f"{name}: experts_per_token={k} exceeds the {spec.num_experts} experts")
    for i in range(n_layers):
        p = f"layers.{i}"
        b.layer = p
        h = _norm(b, spec, f"{p}.input_norm", x) if spec.pre_norm else x
        h = attention(b, spec, sh, f"{p}.attn", h, batch, q_len, kv_len, decode, rope=not spec.learned_positions)
        x = b.add(f"{p}.attn_residual", h, x)
        if not spec.pre_norm:
            x = _norm(b, spec, f"{p}.attn_norm", x)
        h = _norm(b, spec, f"{p}.post_attention_norm", x) if spec.pre_norm else x
        if spec.is_moe:
            h = moe_mlp(b, spec, sh, f"{p}.moe", h, t, k)
        else:
            h = dense_mlp(b, spec, f"{p}.mlp", h, sh.intermediate, sh.tp)
        x = b.add(f"{p}.mlp_residual", h, x)
        if not spec.pre_norm:
            x = _norm(b, spec, f"{p}.mlp_norm", x)
    if knobs.blocks_only:
        return b.build(_metadata(spec, knobs, n_layers, k, kv_len))
    b.layer = "head"
    if spec.final_norm:
        x = _norm(b, spec, "final_norm", x)
    if not decode and q_len > 1:
        x = b.split("last_token", x, [(batch, spec.hidden)])[0]
    if spec.embed_proj_dim:
        x = b.linear("project_out", x, spec.embed_proj_dim, bias=False)
    head_weight = table if spec.tie_embeddings else None
    b.linear("lm_head", x, sh.vocab, bias=False, weight=head_weight, transposed_weight=spec.tie_embeddings)
    return b.build(_metadata(spec, knobs, n_layers, k, kv_len))


def _embed(b: GraphBuilder, spec: TransformerSpec, sh: Shard, t: int) -> tuple[str, str]:
    """Token (and learned position) embeddings of ``t`` tokens; returns (hidden states, token table)."""
    ids = b.input("input_ids", (t,), dtype="int32")
    table = b.weight("embed_tokens.weight", (sh.vocab, spec.embed_proj_dim or spec.hidden))
    x = b.embedding("embed_tokens", ids, table)
    if sh.tp > 1:
        x = b.unary("embed_tokens.allreduce", "allreduce", x)
    if spec.embed_proj_dim:
        x = b.linear("project_in", x, spec.hidden, bias=False)
    if spec.learned_positions:
        pos_ids = b.input("position_ids", (t,), dtype="int32")
        pos_table = b.weight("embed_positions.weight", (spec.max_positions + spec.position_offset, spec.hidden))
        x = b.add("embed_add", x, b.embedding("embed_positions", pos_ids, pos_table))
    return x, table


def _metadata(spec: TransformerSpec, knobs: RunKnobs, n_layers: int, k: int, kv_len: int) -> dict[str, str]:
    meta = {"model_type": spec.model_type, "phase": knobs.phase, "batch": str(knobs.batch),
            "layers": str(n_layers), "tp": str(knobs.tp)}
    if knobs.phase == "decode":
        meta["context"] = str(kv_len)
        if knobs.decode_tokens > 1:
            meta["decode_tokens"] = str(knobs.decode_tokens)
    else:
        meta["seq_len"] = str(knobs.prompt_len)
    if spec.is_moe:
        meta["experts_per_token"] = str(k)
    return meta


def _encoder_layer(b: GraphBuilder, spec: TransformerSpec, sh: Shard, p: str, x: str, batch: int, seq: int) -> str:
    h = _norm(b, spec, f"{p}.input_norm", x) if spec.pre_norm else x
    h = attention(b, spec, sh, f"{p}.attn", h, batch, seq, seq, decode=False, rope=False)
    x = b.add(f"{p}.attn_residual", h, x)
    if not spec.pre_norm:
        x = _norm(b, spec, f"{p}.attn_norm", x)
    h = _norm(b, spec, f"{p}.post_attention_norm", x) if spec.pre_norm else x
    x = b.add(f"{p}.mlp_residual", dense_mlp(b, spec, f"{p}.mlp", h, sh.intermediate, sh.tp), x)
    if not spec.pre_norm:
        x = _norm(b, spec, f"{p}.mlp_norm", x)
    return x


def build_bert(name: str, spec: TransformerSpec, knobs: RunKnobs) -> Graph:
    """BERT encoder (HF ``BertModel``: embeddings, post-LN layers, pooler) over batch x seq_len tokens."""
    sh = shard(spec, knobs.tp)
    seq = knobs.prompt_len
    if seq > spec.max_positions:
        raise WorkloadError(f"{name}: seq_len={seq} exceeds max_position_embeddings {spec.max_positions}")
    t = knobs.batch * seq
    b = GraphBuilder(name, knobs.dtype or spec.dtype, "")
    b.layer = "embed"
    word = b.embedding("word_embeddings", b.input("input_ids", (t,), dtype="int32"),
                       b.weight("word_embeddings.weight", (spec.vocab, spec.hidden)))
    pos = b.embedding("position_embeddings", b.input("position_ids", (t,), dtype="int32"),
                      b.weight("position_embeddings.weight", (spec.max_positions, spec.hidden)))
    typ = b.embedding("token_type_embeddings", b.input("token_type_ids", (t,), dtype="int32"),
                      b.weight("token_type_embeddings.weight", (spec.type_vocab, spec.hidden)))
    x = b.layernorm("embed_norm", b.add("embed_add2", b.add("embed_add1", word, pos), typ))
    n_layers = min(knobs.layers or spec.layers, spec.layers)
    for i in range(n_layers):
        b.layer = f"layers.{i}"
        x = _encoder_layer(b, spec, sh, f"layers.{i}", x, knobs.batch, seq)
    b.layer = "pooler"
    first = b.split("first_token", x, [(knobs.batch, spec.hidden)])[0]
    b.unary("pooler.tanh", "tanh", b.linear("pooler.dense", first, spec.hidden))
    meta = {"model_type": "bert", "batch": str(knobs.batch), "seq_len": str(seq), "layers": str(n_layers)}
    return b.build(meta)


def build_vit(name: str, spec: TransformerSpec, knobs: RunKnobs) -> Graph:
    """Vision Transformer (HF ``ViTForImageClassification``): patch conv, [CLS], pre-LN layers, head."""
    sh = shard(spec, knobs.tp)
    size = knobs.image_size or spec.image_size
    if size % spec.patch_size:
        raise WorkloadError(f"{name}: image_size {size} is not a multiple of patch_size {spec.patch_size}")
    batch = knobs.batch
    patches = (size // spec.patch_size) ** 2
    seq = patches + 1
    b = GraphBuilder(name, knobs.dtype or spec.dtype, "")
    b.layer = "embed"
    img = b.input("pixel_values", (batch, spec.num_channels, size, size))
    x = b.conv2d("patch_embed", img, spec.hidden, spec.patch_size, spec.patch_size, 0, bias=True)
    x = b.reshape("patch_tokens", x, (batch * patches, spec.hidden))
    cls = b.weight("cls_token", (1, spec.hidden))
    x = b.gather("prepend_cls", [x, cls], (batch * seq, spec.hidden))
    x = b.add("pos_add", x, b.weight("position_embeddings", (seq, spec.hidden)))
    n_layers = min(knobs.layers or spec.layers, spec.layers)
    for i in range(n_layers):
        b.layer = f"layers.{i}"
        x = _encoder_layer(b, spec, sh, f"layers.{i}", x, batch, seq)
    b.layer = "head"
    x = b.layernorm("final_norm", x)
    first = b.split("cls_output", x, [(batch, spec.hidden)])[0]
    if spec.num_labels:
        b.linear("classifier", first, spec.num_labels)
    meta = {"model_type": "vit", "batch": str(batch), "image_size": str(size), "layers": str(n_layers)}
    return b.build(meta)

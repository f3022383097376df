"""Normalise a Hugging Face transformer config (keys kept verbatim in the file) into one spec.

Supported ``model_type`` values: gpt2 (also used for the GPT-3 family, which has no HF config),
opt, llama, mistral, mixtral, qwen2 (decoders); bert; vit. Derived facts are validated at load
(head_dim divides, KV heads divide the heads, MoE keys all-or-none).
"""
from __future__ import annotations

from dataclasses import dataclass

from archsim.workload.config_view import ConfigView

DECODER_TYPES = ("gpt2", "opt", "llama", "mistral", "mixtral", "qwen2")
ENCODER_TYPES = ("bert", "vit")
TORCH_DTYPES = {"float16": "fp16", "bfloat16": "bf16", "float32": "fp32", "int8": "int8"}
ACT_NAMES = {"gelu": "gelu", "gelu_new": "gelu", "gelu_pytorch_tanh": "gelu", "gelu_fast": "gelu",
             "relu": "relu", "silu": "silu", "swish": "silu", "tanh": "tanh"}


@dataclass(frozen=True)
class TransformerSpec:
    """Architecture facts of a transformer, in archsim's names (sizes in elements)."""

    model_type: str
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    max_positions: int
    act: str
    norm: str = "layernorm"          # layernorm | rmsnorm
    pre_norm: bool = True
    gated_mlp: bool = False
    learned_positions: bool = True
    position_offset: int = 0         # OPT reserves 2 extra rows in its position table
    type_vocab: int = 0              # BERT token-type embeddings
    tie_embeddings: bool = True
    qkv_bias: bool = True
    out_bias: bool = True
    mlp_bias: bool = True
    norm_bias: bool = True
    final_norm: bool = True
    embed_proj_dim: int = 0          # OPT word_embed_proj_dim when it differs from hidden
    num_experts: int = 0
    experts_per_token: int = 0
    dtype: str = "fp16"
    image_size: int = 0              # ViT
    patch_size: int = 0
    num_channels: int = 3
    num_labels: int = 0

    @property
    def is_moe(self) -> bool:
        """True for mixture-of-experts FFNs."""
        return self.num_experts > 0


def _dtype(cfg: ConfigView) -> str:
    raw = cfg.data.get("torch_dtype")
    if raw is None:
        return "fp16"
    if raw not in TORCH_DTYPES:
        raise cfg.error("torch_dtype", "unsupported dtype", value=raw, expected=f"one of {', '.join(TORCH_DTYPES)}")
    return TORCH_DTYPES[raw]


def _act(cfg: ConfigView, key: str, default: str) -> str:
    raw = cfg.data.get(key, default) or default
    if raw not in ACT_NAMES:
        raise cfg.error(key, "unsupported activation", value=raw, expected=f"one of {', '.join(ACT_NAMES)}")
    return ACT_NAMES[raw]


def _heads(cfg: ConfigView, hidden: int, heads_key: str) -> tuple[int, int, int]:
    heads = cfg.int(heads_key)
    kv_heads = cfg.int("num_key_value_heads", heads)
    if cfg.has("head_dim"):
        head_dim = cfg.int("head_dim")
    elif hidden % heads:
        raise cfg.error(heads_key, f"does not divide hidden size {hidden}", value=heads,
                        expected="a divisor of the hidden size, or an explicit head_dim")
    else:
        head_dim = hidden // heads
    if heads % kv_heads:
        raise cfg.error("num_key_value_heads", f"does not divide num_attention_heads {heads}", value=kv_heads,
                        expected="a divisor of the number of attention heads")
    return heads, kv_heads, head_dim


def transformer_spec(cfg: ConfigView, model_type: str) -> TransformerSpec:
    """Return the spec of the HF config in ``cfg`` (ConfigError naming the key when it is invalid)."""
    if model_type == "gpt2":
        hidden = cfg.int("n_embd")
        heads, kv, hd = _heads(cfg, hidden, "n_head")
        return TransformerSpec("gpt2", hidden, cfg.int("n_inner", 4 * hidden), cfg.int("n_layer"), heads, kv, hd,
                               cfg.int("vocab_size"), cfg.int("n_positions"),
                               _act(cfg, "activation_function", "gelu_new"),
                               tie_embeddings=cfg.bool("tie_word_embeddings", True), dtype=_dtype(cfg))
    if model_type == "opt":
        hidden = cfg.int("hidden_size")
        heads, kv, hd = _heads(cfg, hidden, "num_attention_heads")
        bias = cfg.bool("enable_bias", True)
        pre = cfg.bool("do_layer_norm_before", True)
        proj = cfg.int("word_embed_proj_dim", hidden)
        return TransformerSpec("opt", hidden, cfg.int("ffn_dim"), cfg.int("num_hidden_layers"), heads, kv, hd,
                               cfg.int("vocab_size"), cfg.int("max_position_embeddings"),
                               _act(cfg, "activation_function", "relu"), pre_norm=pre, position_offset=2,
                               tie_embeddings=cfg.bool("tie_word_embeddings", True), qkv_bias=bias,
                               out_bias=bias, mlp_bias=bias, final_norm=pre,
                               embed_proj_dim=proj if proj != hidden else 0, dtype=_dtype(cfg))
    if model_type in ("llama", "mistral", "mixtral", "qwen2"):
        hidden = cfg.int("hidden_size")
        heads, kv, hd = _heads(cfg, hidden, "num_attention_heads")
        n_exp = cfg.int("num_local_experts", 0, minimum=0)
        k_exp = cfg.int("num_experts_per_tok", 0, minimum=0)
        if bool(n_exp) != bool(k_exp):
            raise cfg.error("num_experts_per_tok" if n_exp else "num_local_experts",
                            "MoE keys must be given together", expected="both num_local_experts and "
                            "num_experts_per_tok, or neither")
        if k_exp > n_exp:
            raise cfg.error("num_experts_per_tok", f"exceeds num_local_experts {n_exp}", value=k_exp,
                            expected=f"an integer <= {n_exp}")
        attn_bias = cfg.bool("attention_bias", model_type == "qwen2")
        return TransformerSpec(model_type, hidden, cfg.int("intermediate_size"), cfg.int("num_hidden_layers"),
                               heads, kv, hd, cfg.int("vocab_size"), cfg.int("max_position_embeddings"),
                               _act(cfg, "hidden_act", "silu"), norm="rmsnorm", gated_mlp=True,
                               learned_positions=False, tie_embeddings=cfg.bool("tie_word_embeddings", False),
                               qkv_bias=attn_bias, out_bias=attn_bias and model_type != "qwen2",
                               mlp_bias=cfg.bool("mlp_bias", False), norm_bias=False,
                               num_experts=n_exp, experts_per_token=k_exp, dtype=_dtype(cfg))
    if model_type == "bert":
        hidden = cfg.int("hidden_size")
        heads, kv, hd = _heads(cfg, hidden, "num_attention_heads")
        return TransformerSpec("bert", hidden, cfg.int("intermediate_size"), cfg.int("num_hidden_layers"), heads,
                               kv, hd, cfg.int("vocab_size"), cfg.int("max_position_embeddings"),
                               _act(cfg, "hidden_act", "gelu"), pre_norm=False,
                               type_vocab=cfg.int("type_vocab_size", 2), final_norm=False, dtype=_dtype(cfg))
    if model_type == "vit":
        hidden = cfg.int("hidden_size")
        heads, kv, hd = _heads(cfg, hidden, "num_attention_heads")
        bias = cfg.bool("qkv_bias", True)
        return TransformerSpec("vit", hidden, cfg.int("intermediate_size"), cfg.int("num_hidden_layers"), heads,
                               kv, hd, 0, 0, _act(cfg, "hidden_act", "gelu"), qkv_bias=bias,
                               dtype=_dtype(cfg), image_size=cfg.int("image_size", 224),
                               patch_size=cfg.int("patch_size", 16), num_channels=cfg.int("num_channels", 3),
                               num_labels=cfg.int("num_labels", 1000, minimum=0))
    raise cfg.error("model_type", "unsupported transformer model type", value=model_type,
                    expected=f"one of {', '.join(DECODER_TYPES + ENCODER_TYPES)}")

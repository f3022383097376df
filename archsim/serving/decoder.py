"""The per-device shape of a decoder block, read from archsim's workload trace (one source of truth).

``DecoderShape.from_workload("gpt3_7b", tp=4)`` lowers the model in decode phase and keeps what the
serving loop needs per layer and device: the four weight GEMMs (N, K), heads, head size, KV bytes per
token, and the number of decoder layers.
"""
from __future__ import annotations

from dataclasses import dataclass

from archsim.workload import load_workload

GEMM_NAMES = ("attn.qkv_proj", "attn.o_proj", "mlp.fc1", "mlp.fc2")


@dataclass(frozen=True)
class Gemm:
    """A weight GEMM of one layer on one device: ``n`` outputs, ``k`` inputs, ``word_bytes`` per element."""

    name: str
    n: int
    k: int
    word_bytes: int

    @property
    def weight_bytes(self) -> int:
        """Bytes of the weight matrix."""
        return self.n * self.k * self.word_bytes


@dataclass(frozen=True)
class DecoderShape:
    """One decoder layer's work on one tensor-parallel device (dimensions in elements)."""

    model: str
    layers: int
    tp: int
    heads: int                 # attention heads on this device
    head_dim: int
    hidden: int                # model width (all devices)
    gemms: tuple[Gemm, ...]
    word_bytes: int

    @property
    def kv_bytes_per_token_layer(self) -> int:
        """K and V bytes one token adds to one layer's cache on this device."""
        return 2 * self.heads * self.head_dim * self.word_bytes

    @property
    def layer_weight_bytes(self) -> int:
        """Weight bytes of one layer on this device."""
        return sum(g.weight_bytes for g in self.gemms)

    @classmethod
    def from_workload(cls, model: str, tp: int = 1) -> "DecoderShape":
        """Read the shape from the zoo model ``model`` lowered for decode with tensor parallelism ``tp``."""
        trace = load_workload(model, ["phase=decode", "batch=1", "context=2", f"tp={tp}"])
        ops = {op.name: op for op in trace.ops}
        layers = sum(1 for name in ops if name.endswith(".attn.attn_qk"))
        qk = ops["layers.0.attn.attn_qk"]
        word = {"fp16": 2, "bf16": 2, "fp32": 4, "int8": 1}.get(qk.dtype, 2)
        gemms = tuple(Gemm(n, ops[f"layers.0.{n}"].dim("N"), ops[f"layers.0.{n}"].dim("K"), word)
                      for n in GEMM_NAMES)
        norm = ops["layers.0.input_norm"]
        return cls(model, layers, tp, qk.dim("B"), qk.dim("K"), norm.dim("reduce"), gemms, word)

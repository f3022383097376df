"""The op kinds that appear in traces, grouped by the kind of hardware that executes them.

Engines need three facts about a kind: does it run on a matrix unit (and with which dims),
is it free (pure layout change), or is it a vector/special-function op sized by ``elements``.
"""
from __future__ import annotations

#: Kinds executed by matrix units; their dims are documented in ``archsim.trace.schema``.
MATRIX_KINDS = frozenset({"gemm", "gemv", "conv2d"})

#: Kinds that only change layout; the frontend elides them from traces, but a hand-written
#: trace may contain them and engines must treat them as zero-cost.
ZERO_COST_KINDS = frozenset({"reshape", "concat", "split", "transpose", "flatten", "identity"})

#: Vector / special-function kinds the workload frontend emits (dims: ``elements`` plus hints).
VECTOR_KINDS = frozenset({
    "add", "mul", "relu", "relu6", "leaky_relu", "gelu", "swiglu", "geglu", "silu", "sigmoid", "tanh", "softmax", "layernorm",
    "rmsnorm", "batchnorm", "rope", "maxpool", "avgpool", "upsample", "embedding", "topk",
    "moe_combine", "allreduce", "kv_append",
    # a data movement (a transpose that is materialised, e.g. between Monarch FFT stages; elements moved)
    "permute",
    # Neural-graphics input encodings (dims: ``elements`` plus ``points`` and, for the grids,
    # ``levels``, ``features``, ``corners``, ``lookups``, ``table_entries``, ``max_level_entries``,
    # ``hashed_levels`` — what an NGPC-style encoding engine needs; see ``archsim.workload.encodings``).
    "hash_encoding", "grid_encoding", "frequency_encoding", "sh_encoding",
})

#: Vector kinds that can run as the epilogue of a matrix op (fused when they follow one).
EPILOGUE_KINDS = frozenset({"relu", "relu6", "leaky_relu", "gelu", "silu", "sigmoid", "tanh", "swiglu",
                            "geglu", "batchnorm"})


def is_matrix(kind: str) -> bool:
    """True when ``kind`` runs on a matrix unit (gemm, gemv, conv2d)."""
    return kind in MATRIX_KINDS


def is_zero_cost(kind: str) -> bool:
    """True when ``kind`` only changes layout (no compute, no data movement of its own)."""
    return kind in ZERO_COST_KINDS

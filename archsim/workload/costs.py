"""What one IR op costs: its trace kind, dims, MACs, FLOPs and bytes per operand.

FLOP conventions (per output element unless stated; the same numbers every simulator in the
survey uses to within a factor that does not matter next to the GEMMs):

* matrix ops: 2 FLOPs per MAC, plus 1 per output element when a bias is added;
* add, mul, relu, batchnorm-as-bias: 1; relu6 (clip), leaky_relu: 2; sigmoid, tanh, silu: 4; gelu: 8; swiglu (silu(gate)·up): 5; geglu: 9;
  rope: 3 (a 2x2 rotation per element pair); softmax: 5 (max, subtract, exp, sum, divide);
  layernorm: 8; rmsnorm: 5; batchnorm (unfolded): 2; allreduce: 1 (the sum);
* pooling: ``window`` FLOPs per output element; top-k: 1 per input element; ``kv_append`` (a decode step
  writing the new token's K and V into the cache): 0, its output bytes = the K and V it writes;
  MoE combine: 2 per (token, expert, hidden) product; embedding and upsample: 0;
* neural-graphics encodings (``archsim.workload.encodings``), per point: ``hash_encoding`` /
  ``grid_encoding`` per level ``5d + C·(d−1) + 2·C·F`` interpolation FLOPs plus ``2d`` (hashed level) or
  ``2d−1`` (dense level) integer index ops per corner, C = 2^d corners; ``macs`` stay 0 (the 2·C·F
  weighted sums are in ``flops``), ``weight_bytes`` = the gathered entries (N·L·C·F elements, no
  cache reuse), ``params`` = the whole table; ``frequency_encoding`` 6 per output element (scale + sine);
  ``sh_encoding`` 3 per output element (exact for degree 4: 48 per direction).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from archsim.errors import WorkloadError
from archsim.workload.encodings import (FREQUENCY_FLOPS_PER_OUTPUT, level_dims, SH_FLOPS_PER_OUTPUT, GridLevel,
                                        encoding_flops_per_point)
from archsim.workload.graph import Graph, Op, Tensor

FLOPS_PER_ELEMENT = {
    "add": 1, "mul": 1, "relu": 1, "relu6": 2, "leaky_relu": 2, "sigmoid": 4, "tanh": 4, "silu": 4, "gelu": 8,
    "swiglu": 5, "geglu": 9,
    "rope": 3, "softmax": 5, "layernorm": 8, "rmsnorm": 5, "batchnorm": 2, "allreduce": 1,
    "upsample": 0, "embedding": 0,
}
#: IR kinds that only change layout; lowering elides them.
LAYOUT_KINDS = frozenset({"reshape", "concat", "split", "transpose", "flatten", "identity"})
REDUCE_KINDS = frozenset({"softmax", "layernorm", "rmsnorm"})


@dataclass
class OpWork:
    """The trace-facing cost of one IR op (bytes in bytes, work as counts)."""

    kind: str
    dims: dict[str, int]
    macs: int = 0
    flops: int = 0
    input_bytes: int = 0
    weight_bytes: int = 0
    output_bytes: int = 0
    kv_cache_bytes: int = 0
    has_bias: bool = False
    fused: list[str] = field(default_factory=list)
    seq_lens: tuple[int, ...] = ()
    ragged_dim: str = ""


def op_work(graph: Graph, op: Op) -> OpWork:
    """Return the cost of ``op`` in ``graph`` (WorkloadError for kinds lowering does not know)."""
    ins = [graph.tensor(n) for n in op.inputs]
    outs = [graph.tensor(n) for n in op.outputs]
    acts = [t for t in ins if t.role != "weight"]
    weights = [t for t in ins if t.role == "weight"]
    cost = OpWork(kind=op.kind, dims={},
                  input_bytes=sum(t.nbytes for t in acts),
                  weight_bytes=sum(t.nbytes for t in weights),
                  output_bytes=sum(t.nbytes for t in outs),
                  kv_cache_bytes=sum(t.nbytes for t in acts if t.role == "kv_cache"))
    ragged = op.attrs.get("ragged")
    if ragged:
        cost.ragged_dim, cost.seq_lens = ragged[0], tuple(ragged[1])
    out_elems = sum(t.numel for t in outs)
    kind = op.kind
    if kind == "conv2d":
        _conv_cost(cost, op, ins, outs[0])
    elif kind == "linear":
        *lead, k = ins[0].shape
        m, n = math.prod(lead), outs[0].shape[-1]
        _matrix_cost(cost, 1, m, n, k, has_bias=len(ins) > 2)
    elif kind == "matmul":
        g, m, k = ins[0].shape
        _matrix_cost(cost, g, m, ins[1].shape[2], k, has_bias=False)
    elif kind == "kv_append":
        # a write of the new tokens' K and V into the cache: what it moves is what it reads
        cost.output_bytes = cost.input_bytes
        cost.dims = {"elements": sum(t.numel for t in ins)}
    elif kind in ("maxpool", "avgpool"):
        r, s = op.attrs["kernel"]
        cost.dims = {"elements": out_elems, "window": r * s}
        cost.flops = out_elems * r * s
    elif kind == "embedding":
        cost.dims = {"elements": out_elems}
        cost.weight_bytes = outs[0].nbytes  # only the looked-up rows are read
    elif kind == "topk":
        cost.dims = {"elements": ins[0].numel, "reduce": ins[0].shape[-1]}
        cost.flops = ins[0].numel
    elif kind == "moe_combine":
        cost.dims = {"elements": out_elems}
        cost.flops = 2 * int(op.attrs["weighted_rows"]) * outs[0].shape[-1]
    elif kind in ("hash_encoding", "grid_encoding"):
        _grid_cost(cost, op, ins, out_elems)
    elif kind in ("frequency_encoding", "sh_encoding"):
        per = FREQUENCY_FLOPS_PER_OUTPUT if kind == "frequency_encoding" else SH_FLOPS_PER_OUTPUT
        cost.dims = {"elements": out_elems, "points": outs[0].shape[0]}
        cost.flops = per * out_elems
    elif kind in FLOPS_PER_ELEMENT:
        cost.dims = {"elements": out_elems}
        if kind in REDUCE_KINDS:
            cost.dims["reduce"] = outs[0].shape[-1]
        cost.flops = FLOPS_PER_ELEMENT[kind] * out_elems
    elif kind in LAYOUT_KINDS:
        cost.input_bytes = cost.output_bytes = 0
    else:
        raise WorkloadError(f"graph {graph.name!r}: op {op.name!r} has kind {kind!r}, which lowering does not know")
    return cost


def _matrix_cost(cost: OpWork, b: int, m: int, n: int, k: int, has_bias: bool) -> None:
    cost.kind = "gemv" if m == 1 else "gemm"
    cost.dims = {"B": b, "M": m, "N": n, "K": k}
    cost.macs = b * m * n * k
    cost.flops = 2 * cost.macs + (b * m * n if has_bias else 0)
    cost.has_bias = has_bias


def _conv_cost(cost: OpWork, op: Op, ins: list[Tensor], out: Tensor) -> None:
    n, c, h, w = ins[0].shape
    f, _, r, s = ins[1].shape
    _, _, oh, ow = out.shape
    (sh, sw), (ph, pw), groups = op.attrs["stride"], op.attrs["pad"], op.attrs["groups"]
    cost.dims = {"N": n, "H": h, "W": w, "C": c, "R": r, "S": s, "F": f, "stride_h": sh, "stride_w": sw,
                 "pad_h": ph, "pad_w": pw, "groups": groups, "OH": oh, "OW": ow}
    cost.macs = n * oh * ow * f * r * s * (c // groups)
    cost.has_bias = len(ins) > 2
    cost.flops = 2 * cost.macs + (out.numel if cost.has_bias else 0)


def _grid_cost(cost: OpWork, op: Op, ins: list[Tensor], out_elems: int) -> None:
    """Hash / dense grid encoding: N points × L levels × 2^d corner lookups + d-linear interpolation."""
    a = op.attrs
    points, d = ins[0].shape
    table = ins[1]
    levels = [GridLevel(r, e, h) for r, e, h in zip(a["resolutions"], a["level_entries"], a["hashed"])]
    n_levels, features, corners = len(levels), int(a["features"]), 2 ** d
    lookups = points * n_levels * corners
    cost.dims = {"elements": out_elems, "points": points, "levels": n_levels, "features": features,
                 "corners": corners, "lookups": lookups, "table_entries": table.shape[0],
                 "max_level_entries": max(lv.entries for lv in levels),
                 "hashed_levels": sum(lv.hashed for lv in levels),
                 **level_dims(a["grid_type"], d, int(a["base_resolution"]), int(a["log2_table_size"]), levels,
                            float(a["per_level_scale"]))}
    cost.flops = points * encoding_flops_per_point(d, features, levels)
    cost.weight_bytes = lookups * features * (table.nbytes // table.numel)

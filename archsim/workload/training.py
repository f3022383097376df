"""One training step of an LLM from its forward (prefill) trace: the forward ops, then per layer in reverse
its backward ops, then the optimizer update (the SN40L paper's "train" benchmarks, Tab III).

* a matrix op ``out = in · w`` has two backward GEMMs of the same MACs: the input gradient
  (``d_in = d_out · wᵀ``, reads the weight) and the weight gradient (``d_w = inᵀ · d_out``, reads the saved
  input, writes a gradient of the weight's size); a product of two activations (attention) has two
  input-gradient GEMMs;
* any other op has one backward op of the same kind and elements, twice its FLOPs, reading the output
  gradient and the saved input, writing the input gradient; an all-reduce stays an all-reduce (the gradient
  of a tensor-parallel reduction);
* the optimizer (AdamW, mixed precision) reads each weight, its gradient and two FP32 moments and writes
  the weight and the moments back: 12 FLOPs per parameter. Its ops form one kernel per layer.

Backward ops carry the layer label ``<layer>.backward`` and the optimizer ``<layer>.optimizer``, so a
fusion pass groups them into kernels of their own. Each backward op depends on the one before it and on
the forward op whose activation it reads (saved in HBM).
"""
from __future__ import annotations

from dataclasses import replace

from archsim.trace import Trace, TraceOp
from archsim.trace.kinds import is_matrix, is_zero_cost

ADAM_FLOPS_PER_PARAM = 12
FP32_BYTES = 4


def training_step(forward: Trace) -> Trace:
    """Forward + backward + optimizer ops of one step, from the forward trace ``forward``."""
    ops: list[TraceOp] = list(forward.ops)
    fwd = [op for op in forward.ops if not is_zero_cost(op.kind)]

    def add(op: TraceOp, **changes) -> None:
        deps = tuple(d for d in ((ops[-1].id,) + changes.pop("extra", ())) if d is not None)
        ops.append(replace(op, id=len(ops), deps=tuple(dict.fromkeys(deps)), **changes))

    layers: list[str] = list(dict.fromkeys(op.layer for op in fwd))
    for layer in reversed(layers):
        tag = f"{layer}.backward"
        for op in reversed([o for o in fwd if o.layer == layer]):
            name = f"{op.name}.grad"
            if is_matrix(op.kind):
                add(op, name=f"{name}_input", layer=tag, input_bytes=op.output_bytes + op.weight_bytes,
                    weight_bytes=0, output_bytes=op.input_bytes, extra=(op.id,))
                if op.weight_bytes:
                    add(op, name=f"{name}_weight", layer=tag, input_bytes=op.output_bytes + op.input_bytes,
                        weight_bytes=0, output_bytes=op.weight_bytes, extra=(op.id,))
                else:
                    add(op, name=f"{name}_input2", layer=tag, input_bytes=op.output_bytes + op.input_bytes,
                        weight_bytes=0, output_bytes=op.input_bytes, extra=(op.id,))
            else:
                add(op, name=name, layer=tag, flops=2 * op.flops, input_bytes=op.output_bytes + op.input_bytes,
                    weight_bytes=0, output_bytes=op.input_bytes, extra=(op.id,))
    for layer in layers:
        params = sum(op.weight_bytes for op in fwd if op.layer == layer) // 2     # BF16 weights
        if params <= 0:
            continue
        template = next(op for op in fwd if op.layer == layer)
        add(template, name=f"{layer}.adamw", kind="mul", dims={"elements": params}, macs=0,
            flops=ADAM_FLOPS_PER_PARAM * params, layer=f"{layer}.optimizer",
            input_bytes=params * (2 + 2 + 2 * FP32_BYTES), weight_bytes=0,
            output_bytes=params * (2 + 2 * FP32_BYTES), kv_cache_bytes=0)
    meta = {**forward.metadata, "phase": "train"}
    return Trace(f"{forward.name}_train", tuple(ops), meta)

"""Where decode attention runs, asked of the mappers' partitioner instead of assumed.

The serving loop has two ways to run a layer's attention GEMVs (K·q and V^T·p): on the PIM device or on
the NPU's arrays. ``attention_unit`` lowers one decoder layer of the served model at the sub-batch size
and mean context, hands it to ``archsim.mapping.partition.partition`` with the system's engine models
(one systolic array standing for the NPU, a vector unit, the PIM device) and reports where the
earliest-finish-time rule put the attention GEMVs. GEMMs always land on the NPU because the PIM model
only supports GEMVs; whether the GEMVs go to PIM is the cost models' answer.
"""
from __future__ import annotations

from functools import lru_cache

from archsim.mapping.partition import partition
from archsim.workload import load_workload

ATTENTION_OPS = ("attn.attn_qk", "attn.attn_v")


@lru_cache(maxsize=256)
def _layer_trace(model: str, tp: int, batch: int, context: int):
    return load_workload(model, ["phase=decode", f"batch={batch}", f"context={context}", f"tp={tp}", "layers=1"])


def attention_unit(system, model: str, tp: int, batch: int, context: int) -> str:
    """``"pim"`` or ``"npu"``: the unit the partitioner gives the attention GEMVs of one decoder layer
    (``batch`` requests with ``context`` tokens each, tensor parallel ``tp``) on ``system``."""
    if system.kind != "npu" or system.pim is None:
        return "npu"
    trace = _layer_trace(model, tp, max(1, int(batch)), max(1, int(round(context))))
    engines = dict(system.partition_engines)
    placements = {p.op_id: p for p in partition(trace, engines)}
    names = {op.id: op.name for op in trace.ops}
    chosen = {placements[i].engine for i, n in names.items() if n.endswith(ATTENTION_OPS)}
    if not chosen:
        raise ValueError(f"workload {model!r} has no attention GEMVs ({', '.join(ATTENTION_OPS)}) to place")
    pim_names = {name for name, m in engines.items() if m is system.pim}
    # both GEMVs must go to PIM for the PIM path (the loop runs them as one logit/attend pair)
    return "pim" if chosen <= pim_names else "npu"

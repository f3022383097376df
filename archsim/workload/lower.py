"""Lower a Graph to a Trace: cost every op, fold/fuse epilogues, elide layout ops, number the rest.

Rules (each one a choice every inference accelerator makes):

* Layout ops (reshape, concat, split, …) cost nothing and vanish; their consumers depend on the
  producers of their inputs.
* A batch-norm that directly follows a conv or linear op whose output nobody else reads is folded
  into it (inference): the op gains a bias (F elements read, one add per output) and owns the BN's
  γ/β in ``params``. Folding is not an op, so it is not listed in ``fused``.
* With ``fuse_epilogues`` (the default), an activation (relu, relu6, leaky_relu, gelu, silu, swiglu, geglu,
  sigmoid, tanh) that directly follows a matrix op or a residual add whose output nobody else
  reads runs as its epilogue: its FLOPs join the op and its kind is listed in ``fused``.
"""
from __future__ import annotations

from collections import Counter

from archsim.trace.kinds import EPILOGUE_KINDS
from archsim.trace.schema import Trace, TraceOp
from archsim.workload.costs import LAYOUT_KINDS, OpWork, op_work
from archsim.workload.graph import Graph, dtype_bytes

_MATRIX_IR_KINDS = frozenset({"conv2d", "linear", "matmul"})
#: Producers an activation may run as the epilogue of (a residual add is fused the same way).
_EPILOGUE_HOSTS = _MATRIX_IR_KINDS | {"add"}


class _Draft:
    """An op on its way into the trace."""

    def __init__(self, name: str, layer: str, cost: OpWork, params: int, ir_kind: str):
        self.name, self.layer, self.cost, self.params, self.ir_kind = name, layer, cost, params, ir_kind
        self.deps: set[int] = set()  # draft indices
        self.index = -1
        self.pending = 0  # parameters a layout stand-in passes on to its first consumer


def lower(graph: Graph, fuse_epilogues: bool = True) -> Trace:
    """Return the Trace of ``graph``: one TraceOp per costed op, in topological order."""
    consumers = Counter(name for op in graph.ops for name in op.inputs)
    owner: set[str] = set()
    producer: dict[str, _Draft | None] = {}  # tensor name -> draft that produces it (None: graph input)
    drafts: list[_Draft] = []
    for op in graph.ops:
        sources = {producer.get(n) for n in op.inputs if graph.tensor(n).role in ("activation", "kv_cache")}
        sources.discard(None)
        if op.kind in LAYOUT_KINDS:
            # Every output of a layout op aliases all producers of its inputs; parameters it reads
            # (a [CLS] token) pass to the op that consumes its output.
            pending = _claim(op, graph, owner)
            alias = _merge_alias(sources, pending)
            for name in op.outputs:
                producer[name] = alias
            continue
        cost = op_work(graph, op)
        params = 0
        for s in sources:
            if s.index < 0 and s.pending:
                params, s.pending = params + s.pending, 0
        params += _claim(op, graph, owner)
        target = _fusion_target(op, sources, graph, consumers, fuse_epilogues)
        if target is not None:
            _fuse_into(target, op.kind, cost, params, graph, op)
            for name in op.outputs:
                producer[name] = target
            continue
        draft = _Draft(op.name, op.layer, cost, params, op.kind)
        draft.index = len(drafts)
        draft.deps = _dep_ids(sources)
        drafts.append(draft)
        for name in op.outputs:
            producer[name] = draft
    return _to_trace(graph, drafts)


def _claim(op, graph: Graph, owner: set[str]) -> int:
    """Take ownership of the not-yet-owned weights ``op`` reads or holds; return their element count."""
    count = 0
    for name in (*op.inputs, *op.attrs.get("holds", ())):
        t = graph.tensor(name)
        if t.role == "weight" and name not in owner:
            owner.add(name)
            count += t.numel
    return count


def _merge_alias(sources: set, pending: int) -> _Draft | None:
    if len(sources) <= 1 and not pending:
        return next(iter(sources), None)
    # A layout op joining several producers (concat) or carrying parameters: represent it with a
    # dependency-only stand-in that is never emitted.
    stand_in = _Draft("", "", OpWork("concat", {}), 0, "concat")
    stand_in.index = -1
    stand_in.deps = _dep_ids(sources)
    stand_in.pending = pending
    return stand_in


def _dep_ids(sources: set) -> set[int]:
    """Trace indices behind ``sources`` (a stand-in contributes the producers it stands for)."""
    ids: set[int] = set()
    for s in sources:
        ids |= {s.index} if s.index >= 0 else s.deps
    return ids


def _fusion_target(op, sources, graph: Graph, consumers: Counter, fuse: bool) -> _Draft | None:
    is_bn = op.kind == "batchnorm"
    if not (is_bn or (fuse and op.kind in EPILOGUE_KINDS)):
        return None
    acts = [n for n in op.inputs if graph.tensor(n).role == "activation"]
    if len(acts) != 1 or consumers[acts[0]] != 1 or len(sources) != 1:
        return None
    target = next(iter(sources))
    if target.index < 0 or target.ir_kind not in _EPILOGUE_HOSTS:
        return None
    if is_bn and (target.cost.fused or target.ir_kind not in ("conv2d", "linear")):
        return None  # fold BN only directly after the conv/linear, before any activation
    return target


def _fuse_into(target: _Draft, kind: str, cost: OpWork, params: int, graph: Graph, op) -> None:
    out = graph.tensor(op.outputs[0])
    target.params += params
    target.cost.output_bytes = cost.output_bytes
    if kind == "batchnorm":
        if not target.cost.has_bias:
            channels = graph.tensor(op.inputs[1]).numel
            target.cost.weight_bytes += channels * dtype_bytes(out.dtype)
            target.cost.flops += out.numel
            target.cost.has_bias = True
        return
    target.cost.flops += cost.flops
    target.cost.fused.append(kind)


def _to_trace(graph: Graph, drafts: list[_Draft]) -> Trace:
    ops = []
    for d in drafts:
        c = d.cost
        deps = tuple(sorted(d.deps))
        ops.append(TraceOp(id=d.index, name=d.name, kind=c.kind, dims=dict(c.dims), macs=c.macs, flops=c.flops,
                           input_bytes=c.input_bytes, weight_bytes=c.weight_bytes, output_bytes=c.output_bytes,
                           dtype=_graph_dtype(graph), deps=deps, phase=graph.phase, layer=d.layer,
                           params=d.params, kv_cache_bytes=c.kv_cache_bytes, fused="+".join(c.fused),
                           seq_lens=c.seq_lens, ragged_dim=c.ragged_dim))
    return Trace(name=graph.name, ops=tuple(ops), metadata=dict(graph.metadata))


def _graph_dtype(graph: Graph) -> str:
    for t in graph.tensors.values():
        if t.role == "weight":
            return t.dtype
    return next(iter(graph.tensors.values())).dtype

"""Decode steps over requests with different KV lengths: what the serving driver lowers every iteration.

A decode step of a batch whose requests hold different numbers of tokens in their KV caches cannot be a
uniform graph: its attention is *ragged* (``archsim.trace.schema``). ``DecodeStep`` lowers the model once,
at two uniform context lengths, and keeps every op whose dimensions or amounts change between the two as a
linear function of the context — the attention ops (q·K^T, softmax, p·V) and nothing else in any decoder
of the zoo (GPT-2/3, OPT, LLaMA-2/3 with GQA, Mistral, Mixtral). ``trace(contexts)`` then returns the
step for any per-request lengths: each context-dependent op carries ``seq_lens`` and ``ragged_dim``, its
ragged dimension the longest length and its amounts the exact sums over the requests. Everything else is
the template's own op objects, so hardware models' demand caches hit from one iteration to the next.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from archsim.errors import WorkloadError
from archsim.trace import Trace, TraceOp

_AMOUNTS = ("macs", "flops", "input_bytes", "weight_bytes", "output_bytes", "kv_cache_bytes", "params")
_PROBES = (2, 5)     # two uniform context lengths the template is lowered at


@dataclass(frozen=True)
class _Linear:
    """How one op of the step grows with the context: per request, ``base + slope × L`` of each amount, the
    ragged dimension, and dims that grow linearly in total (``elements``)."""

    index: int
    ragged_dim: str
    base: dict[str, int]
    slope: dict[str, int]
    dim_base: dict[str, int]
    dim_slope: dict[str, int]


class DecodeStep:
    """One decode step of ``model`` for ``batch`` requests (see module docstring). ``overrides`` are further
    workload settings (``tp=4``, ``layers=2``, ``blocks_only=true`` …)."""

    def __init__(self, model: str, batch: int, overrides: Sequence[str] = ()):
        from archsim.workload import load_workload

        self.model, self.batch = model, int(batch)
        base = [o for o in overrides if not o.startswith(("phase=", "batch=", "context="))]
        traces = [load_workload(model, [*base, "phase=decode", f"batch={batch}", f"context={c}"]) for c in _PROBES]
        a, b = traces
        if len(a.ops) != len(b.ops):
            raise WorkloadError(f"{model}: the decode step's structure depends on the context length")
        self.template = a
        self.linear: list[_Linear] = []
        span = _PROBES[1] - _PROBES[0]
        for i, (x, y) in enumerate(zip(a.ops, b.ops)):
            changed = [f for f in _AMOUNTS if getattr(x, f) != getattr(y, f)]
            dims = [k for k in x.dims if x.dims[k] != y.dims.get(k)]
            if not changed and not dims:
                continue
            ragged = [x.ragged_dim] if x.ragged_dim and (x.dims[x.ragged_dim], y.dims[x.ragged_dim]) == _PROBES else []
            if not ragged:
                raise WorkloadError(f"{model}: op {x.name!r} changes with the context (dims {dims}) but is not a "
                                    f"ragged attention op")
            slope, base = {}, {}
            for f in changed:
                total_slope, rem = divmod(getattr(y, f) - getattr(x, f), span * self.batch)
                if rem:
                    raise WorkloadError(f"{model}: op {x.name!r}: {f} is not linear in the context per request")
                slope[f] = total_slope
                base[f] = getattr(x, f) // self.batch - total_slope * _PROBES[0]
            growing = [k for k in dims if k != ragged[0]]
            dim_slope = {k: (y.dims[k] - x.dims[k]) // span for k in growing}
            dim_base = {k: x.dims[k] - dim_slope[k] * _PROBES[0] for k in growing}
            self.linear.append(_Linear(i, ragged[0], base, slope, dim_base, dim_slope))
        if not self.linear:
            raise WorkloadError(f"{model}: no op of its decode step reads the KV cache (not a decoder LLM?)")

    @property
    def kv_bytes_per_token(self) -> int:
        """K and V bytes one token adds to one request's caches over all layers of the step (this device)."""
        return sum(lin.slope.get("kv_cache_bytes", 0) for lin in self.linear)

    def context_ops(self) -> list[int]:
        """Indices (in ``template.ops``) of the ops that depend on the context."""
        return [lin.index for lin in self.linear]

    def trace(self, contexts: Sequence[int]) -> Trace:
        """The step for requests holding ``contexts`` tokens each (the new token included)."""
        lens = tuple(int(c) for c in contexts)
        if len(lens) != self.batch:
            raise ValueError(f"{len(lens)} contexts for a decode step of batch {self.batch}")
        if min(lens) < 1:
            raise ValueError("every request attends to at least one token (its own)")
        total = sum(lens)
        ops = list(self.template.ops)
        for lin in self.linear:
            op: TraceOp = ops[lin.index]
            amounts = {f: self.batch * lin.base[f] + lin.slope[f] * total for f in lin.slope}
            dims = {**op.dims, lin.ragged_dim: max(lens)}
            for k in lin.dim_slope:
                dims[k] = _linear_total(lin.dim_base[k], lin.dim_slope[k], total, self.batch)
            ops[lin.index] = replace(op, dims=dims, seq_lens=lens, ragged_dim=lin.ragged_dim, **amounts)
        meta = dict(self.template.metadata)
        meta["context"] = f"ragged:{min(lens)}-{max(lens)}"
        return Trace(self.template.name, tuple(ops), meta)


def _linear_total(dim_base: int, dim_slope: int, total_len: int, batch: int) -> int:
    """A dimension that grows with every request's length (``elements`` of a softmax): ``dim_slope × L`` for a
    uniform batch at context L, so ``dim_slope / batch`` per request and token, times the summed lengths."""
    per_request_slope, rem = divmod(dim_slope, batch)
    if rem or dim_base:
        # dims of a uniform batch: dim_base is 0 and the slope divides by the batch for every decoder lowered
        raise WorkloadError(f"a context-dependent dimension ({dim_base} + {dim_slope}·L for {batch} requests) does "
                            "not split per request")
    return per_request_slope * total_len

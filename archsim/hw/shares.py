"""Shares of one op for identical units that work on it at once (a GEMM over eight arrays, a norm over
eight vector units): the dims each share gets, with MACs, FLOPs and bytes apportioned so that the shares
add up exactly to the op.

* matrix ops: independent problems (``B``, conv ``groups``) are dealt out when there are enough of them,
  else the output columns (``N``, conv filters ``F``) are, and every share reads the whole input
  (``broadcast = "input"``); a ragged op deals out its requests, longest first to the lightest share;
* everything else: ``elements`` (and the work and bytes with them).
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, replace

from archsim.trace import TraceOp
from archsim.trace.kinds import is_matrix


@dataclass(frozen=True)
class Split:
    """``shares`` of an op for identical units working at once; ``broadcast`` names the operand every
    share reads in full (``input`` or ``weight``), None when the shares read disjoint data."""

    shares: tuple
    broadcast: str | None = None

    @property
    def placement(self) -> dict:
        """What each share's ``demand`` needs to know of the split: the operand fetched once for all of them."""
        return {"broadcast": self.broadcast, "shares": len(self.shares)} if self.broadcast else {}


def apportion(total: int, weights: list[float]) -> list[int]:
    """Integers proportional to ``weights`` that sum to ``total`` exactly (largest remainder)."""
    s = float(sum(weights))
    if s <= 0:
        base = [total // len(weights)] * len(weights)
        for i in range(total - sum(base)):
            base[i] += 1
        return base
    raw = [total * w / s for w in weights]
    out = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - out[i]), i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def even(total: int, n: int) -> list[int]:
    """``total`` split into ``n`` near-equal non-negative integers (the first ones one larger)."""
    base, extra = divmod(int(total), n)
    return [base + (1 if i < extra else 0) for i in range(n)]


_AMOUNTS = ("macs", "flops", "input_bytes", "weight_bytes", "output_bytes", "kv_cache_bytes", "params")


def _shares(op: TraceOp, weights: list[float], dims: list[dict], broadcast_input: bool,
            seq_lens: list[tuple[int, ...]] | None = None) -> list[TraceOp]:
    """Shares of ``op`` with ``dims[i]``; amounts apportioned by ``weights`` (the whole input in each share
    when ``broadcast_input``)."""
    amounts = {f: apportion(getattr(op, f), weights) for f in _AMOUNTS}
    out = []
    for i, d in enumerate(dims):
        fields = {f: amounts[f][i] for f in _AMOUNTS}
        if broadcast_input:
            fields["input_bytes"] = op.input_bytes
        if seq_lens is not None:
            fields["seq_lens"] = seq_lens[i]
        out.append(replace(op, dims=d, **fields))
    return out


def split_matrix(op: TraceOp, n: int) -> Split:
    """Shares of a gemm/gemv/conv2d op for ``n`` units and the operand each share reads whole (or None)."""
    if op.seq_lens:
        return Split(tuple(_split_ragged(op, n)), None)
    if op.kind == "conv2d":
        groups = op.dim("groups", 1)
        if groups >= n:
            counts = [c for c in even(groups, n) if c]
            c_per, f_per = op.dim("C") // groups, op.dim("F") // groups
            dims = [{**op.dims, "groups": g, "C": c_per * g, "F": f_per * g} for g in counts]
            return Split(tuple(_shares(op, counts, dims, False)), None)
        f = op.dim("F")
        counts = [c for c in even(f // groups, n) if c]
        dims = [{**op.dims, "F": c * groups} for c in counts]
        return Split(tuple(_shares(op, counts, dims, True)), "input")
    b = op.dim("B", 1)
    if b >= n:
        counts = [c for c in even(b, n) if c]
        return Split(tuple(_shares(op, counts, [{**op.dims, "B": c} for c in counts], False)), None)
    counts = [c for c in even(op.dim("N"), n) if c]
    return Split(tuple(_shares(op, counts, [{**op.dims, "N": c} for c in counts], True)), "input")


def _split_ragged(op: TraceOp, n: int) -> list[TraceOp]:
    """Deal a ragged op's requests out to ``n`` shares, longest first to the share with the least work."""
    lens = op.seq_lens
    heap = [(0, k) for k in range(n)]          # (work so far, share): the lightest share takes the next request
    members: list[list[int]] = [[] for _ in range(n)]
    for r in sorted(range(len(lens)), key=lambda r: (-lens[r], r)):
        load, k = heapq.heappop(heap)
        members[k].append(r)
        heapq.heappush(heap, (load + lens[r], k))
    subsets = [tuple(lens[r] for r in sorted(m)) for m in members if m]
    weights = [float(sum(s)) for s in subsets]
    elements = apportion(op.dim("elements"), weights) if "elements" in op.dims else None
    dims = []
    for i, sub in enumerate(subsets):
        d = {**op.dims, op.ragged_dim: max(sub)}
        if "B" in op.dims:
            d["B"] = len(sub) * (op.dim("B") // len(lens))
        if elements is not None:
            d["elements"] = elements[i]
        dims.append(d)
    return _shares(op, weights, dims, False, subsets)


def split_elements(op: TraceOp, n: int) -> list[TraceOp]:
    """Shares of an elementwise / reduction op for ``n`` units (``elements`` dealt out)."""
    if op.seq_lens:
        return _split_ragged(op, n)
    elements = op.dim("elements", 0)
    if elements <= 0:
        return [op]
    counts = [c for c in even(elements, min(n, elements)) if c]
    return _shares(op, counts, [{**op.dims, "elements": c} for c in counts], False)


def split_op(op: TraceOp, n: int) -> Split:
    """Shares of any op for ``n`` identical units (see module docstring)."""
    if n <= 1:
        return Split((op,), None)
    if is_matrix(op.kind):
        return split_matrix(op, n)
    return Split(tuple(split_elements(op, n)), None)

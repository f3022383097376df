"""Tiling: split every op whose footprint exceeds the scratchpad into independent tiles that fit.

A memory plan needs each op's inputs and outputs resident together (COSMA's M_R). An op that does not fit
is replaced, before planning, by tiles along a dimension that keeps them independent:

* ``gemm``/``gemv``: output rows — batches ``B`` first, then rows ``M`` within a batch; if one row with all
  weights still does not fit, the columns ``N`` too (each column block reads its slice of the weights);
* ``conv2d``: output pixels — images ``N`` first, then output rows ``OH`` (each tile reads its input rows
  *with the halo* of ``R - stride`` rows, so the tiles' input bytes exceed the op's); then filters ``F``
  (a depthwise conv's filter blocks read only their channels);
* every other kind: its elements (whole rows of ``reduce`` elements for softmax/layernorm …).

Tiles are ops of a new trace (a ``TiledTrace``, which records which op each tile belongs to, its row and
column ranges, and the op's split), with their own ids, dims, bytes, MACs and FLOPs. MACs, FLOPs, output
bytes and parameter counts of an op's tiles sum exactly to the op's (``check_tiling`` asserts it); a
tile's weight bytes are the whole weights (row split: the tiles share one weight tensor) or its column
block's; its input bytes are its slice (with the halo for convolutions).

**Data between tiles goes through DRAM.** A tile does not read its producers' outputs on chip: it loads
a *slice* tensor (role ``slice``) of its input bytes, which DRAM holds once every producer output it
is cut from has been stored. So a tensor read by any tile is stored right after it is produced, and every
consumer — tiled or not — loads its slice or whole *view* of it (``archsim.mapping.tensors``). That costs
one store of the producer's output plus one load per slice: the plans count these bytes as *tiling*
traffic (``Traffic.tile_store`` / ``tile_load``), apart from compulsory and non-compulsory bytes, because
every planner pays them equally for a given tiling. Keeping a producer resident and cutting the slices
on chip would save them; that is not modelled.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from fractions import Fraction

from archsim.errors import MappingError
from archsim.trace import Trace, TraceOp

DTYPE_BYTES = {"int8": 1, "uint8": 1, "fp8": 1, "int16": 2, "fp16": 2, "bf16": 2, "int32": 4, "fp32": 4}


@dataclass(frozen=True)
class Tile:
    """One tile of trace op ``op``: tile ``index`` of ``count``, output rows ``rows`` and columns ``cols``
    (half-open ranges over the op's row space — batches x rows — and columns), ``slice_bytes`` of
    producers' outputs it loads (bytes) and its ``weight_group`` (tiles of one group share a weight tensor)."""

    op: int
    index: int
    count: int
    rows: tuple[int, int]
    cols: tuple[int, int]
    slice_bytes: int
    weight_group: int


@dataclass(frozen=True)
class TiledTrace(Trace):
    """A trace whose oversized ops are replaced by tiles: ``tiles`` maps a tile's op id to its Tile,
    ``splits`` an original op id to (row tiles, column tiles), ``original`` is the untiled trace."""

    tiles: dict[int, Tile] = field(default_factory=dict)
    splits: dict[int, tuple[int, int]] = field(default_factory=dict)
    original: Trace | None = None

    def tiles_of(self, op_id: int) -> list[TraceOp]:
        """The tile ops of original op ``op_id`` (empty when it was not tiled)."""
        return [op for op in self.ops if op.id in self.tiles and self.tiles[op.id].op == op_id]


# --- the row/column space of an op


@dataclass(frozen=True)
class _Space:
    outer: int        # batches (gemm B, conv N) — 1 for vector ops
    inner: int        # rows within a batch (gemm M, conv OH, vector rows)
    cols: int         # gemm N, conv F (1 when columns cannot be split)
    unit: int = 1     # elements per row (vector ops)


def _space(op: TraceOp) -> _Space:
    if op.kind in ("gemm", "gemv") and "M" in op.dims:
        return _Space(op.dim("B", 1), op.dim("M"), op.dim("N"))
    if op.kind == "conv2d" and "OH" in op.dims:
        groups, c, f = op.dim("groups", 1), op.dim("C"), op.dim("F")
        cols = f if groups == 1 or groups == c == f else 1
        return _Space(op.dim("N", 1), op.dim("OH"), cols)
    elements = op.dims.get("elements")
    if elements:
        reduce = op.dims.get("reduce", 1) or 1
        if reduce > 1 and elements % reduce == 0:
            return _Space(1, elements // reduce, 1, reduce)
        return _Space(1, int(elements), 1)
    return _Space(1, max(op.output_bytes, op.input_bytes, 1), 1)


def _row_chunks(space: _Space, k: int) -> list[tuple[int, int, int, int]]:
    """About ``k`` row chunks (outer lo, outer hi, inner lo, inner hi): whole batches when k <= outer."""
    if k <= space.outer:
        return [(space.outer * i // k, space.outer * (i + 1) // k, 0, space.inner) for i in range(k)]
    per = min(space.inner, math.ceil(k / space.outer))
    return [(o, o + 1, space.inner * j // per, space.inner * (j + 1) // per)
            for o in range(space.outer) for j in range(per)]


def _split(total: int, weights: list[int]) -> list[int]:
    """``total`` split in proportion to ``weights`` with cumulative flooring: the parts sum to ``total``."""
    whole = sum(weights)
    out, cum = [], 0
    for w in weights:
        out.append(total * (cum + w) // whole - total * cum // whole)
        cum += w
    return out


def _in_rows(op: TraceOp, lo: int, hi: int) -> int:
    """Input rows of a conv that output rows [lo, hi) read, halo included, padding excluded: the contiguous
    band from the first row read up to the last one read or the next tile's first (whichever is later), so
    a stride larger than the filter (a strided 1x1 conv) still loads whole bands of rows."""
    s, r, pad, h = op.dim("stride_h", 1), op.dim("R"), op.dim("pad_h", 0), op.dim("H")
    first = max(0, lo * s - pad)
    last = min(h, max((hi - 1) * s - pad + r, hi * s - pad))
    return max(0, last - first)


def _in_fraction(op: TraceOp, space: _Space, chunk, cols) -> Fraction:
    """Fraction of the op's input bytes one tile reads (above the row share for conv halos / gemm operands)."""
    o_lo, o_hi, i_lo, i_hi = chunk
    rows = Fraction((o_hi - o_lo) * (i_hi - i_lo), space.outer * space.inner)
    if op.kind == "conv2d" and "OH" in op.dims:
        f = Fraction(o_hi - o_lo, space.outer) * Fraction(_in_rows(op, i_lo, i_hi), op.dim("H"))
        if op.dim("groups", 1) > 1 and space.cols > 1:  # depthwise: a filter block reads its channels only
            f *= Fraction(cols[1] - cols[0], space.cols)
        return min(f, Fraction(1))
    if op.kind in ("gemm", "gemv") and "M" in op.dims and op.input_bytes > 0:
        eb = DTYPE_BYTES.get(op.dtype, 1)
        row_total = min(op.input_bytes, space.outer * space.inner * op.dim("K") * eb)
        shared = op.input_bytes - row_total  # a second activation operand (attention): per batch, read whole
        return (row_total * rows + shared * Fraction(o_hi - o_lo, space.outer)) / op.input_bytes
    return rows


@dataclass(frozen=True)
class _TilePlan:
    rows: int
    cols: int
    chunks: tuple
    col_chunks: tuple
    inputs: tuple[tuple[int, int], ...]   # per tile: (slice bytes, graph-input bytes)
    outputs: tuple[int, ...]
    weights: tuple[int, ...]              # per column block


def _plan(op: TraceOp, space: _Space, k_rows: int, k_cols: int, act_total: int) -> _TilePlan:
    chunks = _row_chunks(space, k_rows)
    col_chunks = [(space.cols * j // k_cols, space.cols * (j + 1) // k_cols) for j in range(k_cols)]
    graph_total = op.input_bytes - act_total
    inputs, shares = [], []
    for chunk in chunks:
        for cols in col_chunks:
            f = _in_fraction(op, space, chunk, cols)
            inputs.append((math.ceil(act_total * f), math.ceil(graph_total * f)))
            shares.append((chunk[1] - chunk[0]) * (chunk[3] - chunk[2]) * (cols[1] - cols[0]))
    outputs = _split(op.output_bytes, shares)
    weights = [op.weight_bytes] if k_cols == 1 else _split(op.weight_bytes, [c[1] - c[0] for c in col_chunks])
    return _TilePlan(len(chunks), k_cols, tuple(chunks), tuple(col_chunks), tuple(inputs), tuple(outputs),
                     tuple(weights))


def _tile_footprint(plan: _TilePlan, include_weights: bool) -> int:
    worst = 0
    for i, ((act, graph), out) in enumerate(zip(plan.inputs, plan.outputs)):
        w = plan.weights[i % plan.cols] if include_weights else 0
        worst = max(worst, act + graph + out + w)
    return worst


def _choose(op: TraceOp, capacity: int, include_weights: bool, act_total: int) -> _TilePlan:
    """The fewest tiles (rows first, then columns) whose footprints fit ``capacity`` bytes."""
    space = _space(op)
    max_rows = space.outer * space.inner
    k_cols = 1
    while True:
        fits = lambda k: _tile_footprint(_plan(op, space, k, k_cols, act_total), include_weights) <= capacity  # noqa: E731
        hi = 1
        while hi < max_rows and not fits(hi):  # footprints shrink as tiles multiply: double, then bisect
            hi = min(max_rows, hi * 2)
        if fits(hi):
            lo = hi // 2 + 1 if hi > 1 else 1
            while lo < hi:
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if fits(mid) else (mid + 1, hi)
            return _plan(op, space, hi, k_cols, act_total)
        if k_cols >= space.cols:
            raise MappingError(f"op {op.name!r} ({op.kind}) cannot be tiled to fit a scratchpad of {capacity} B: "
                               f"even one output row per tile needs "
                               f"{_tile_footprint(_plan(op, space, max_rows, k_cols, act_total), include_weights)} B")
        k_cols = min(space.cols, k_cols * 2)


def _tile_ops(op: TraceOp, plan: _TilePlan, first_id: int) -> tuple[list[TraceOp], list[Tile]]:
    space = _space(op)
    n = plan.rows * plan.cols
    shares = [(c[1] - c[0]) * (c[3] - c[2]) * (k[1] - k[0]) for c in plan.chunks for k in plan.col_chunks]
    macs, flops, params = (_split(x, shares) for x in (op.macs, op.flops, op.params))
    in_bytes = [a + g for a, g in plan.inputs]
    kv = [min(b, x) for b, x in zip(in_bytes, _split(op.kv_cache_bytes, shares))]
    ops, tiles = [], []
    i = 0
    for chunk in plan.chunks:
        o_lo, o_hi, i_lo, i_hi = chunk
        for j, cols in enumerate(plan.col_chunks):
            dims = dict(op.dims)
            if op.kind in ("gemm", "gemv") and "M" in op.dims:
                dims.update(B=o_hi - o_lo, M=i_hi - i_lo, N=cols[1] - cols[0])
            elif op.kind == "conv2d" and "OH" in op.dims:
                dims.update(N=o_hi - o_lo, OH=i_hi - i_lo, H=_in_rows(op, i_lo, i_hi), F=cols[1] - cols[0])
                if op.dim("groups", 1) > 1 and space.cols > 1:
                    dims.update(C=cols[1] - cols[0], groups=cols[1] - cols[0])
            elif "elements" in dims:
                dims["elements"] = (i_hi - i_lo) * space.unit
            weight = plan.weights[j]
            ops.append(replace(op, id=first_id + i, name=f"{op.name}#t{i}", dims=dims, macs=macs[i], flops=flops[i],
                               input_bytes=in_bytes[i], weight_bytes=weight, output_bytes=plan.outputs[i],
                               params=params[i], kv_cache_bytes=kv[i]))
            tiles.append(Tile(op.id, i, n, (o_lo * space.inner + i_lo, (o_hi - 1) * space.inner + i_hi), cols,
                              plan.inputs[i][0], j))
            i += 1
    return ops, tiles


def op_footprints(trace: Trace, include_weights: bool = False) -> dict[int, int]:
    """Per op id, the scratchpad bytes the op needs untiled: inputs (whole producer outputs, plus input bytes
    beyond them), output and, with ``include_weights``, weights — as ``TensorView.footprint`` counts them."""
    out = {op.id: op.output_bytes for op in trace.ops}
    result = {}
    for op in trace.ops:
        produced = sum(out.get(d, 0) for d in dict.fromkeys(op.deps))
        result[op.id] = (produced + max(0, op.input_bytes - produced) + op.output_bytes
                         + (op.weight_bytes if include_weights else 0))
    return result


def tile_trace(trace: Trace, capacity: int, include_weights: bool = False) -> Trace:
    """``trace`` with every op whose footprint exceeds ``capacity`` bytes replaced by tiles that fit (a
    TiledTrace), or ``trace`` itself when every op fits."""
    footprints = op_footprints(trace, include_weights)
    if all(f <= capacity for f in footprints.values()):
        return trace
    out = {op.id: op.output_bytes for op in trace.ops}
    plans = {}
    for op in trace.ops:
        if footprints[op.id] > capacity:
            act_total = min(op.input_bytes, sum(out.get(d, 0) for d in dict.fromkeys(op.deps)))
            plans[op.id] = _choose(op, capacity, include_weights, act_total)
    return _apply(trace, plans)


def apply_splits(trace: Trace, splits: dict[int, tuple[int, int]]) -> Trace:
    """Re-create the TiledTrace that splits op ``i`` of ``trace`` into ``splits[i]`` = (row tiles, column
    tiles) — how a Schedule read back from JSON rebuilds its tiles."""
    if not splits:
        return trace
    out = {op.id: op.output_bytes for op in trace.ops}
    plans = {}
    for op in trace.ops:
        if op.id in splits:
            act_total = min(op.input_bytes, sum(out.get(d, 0) for d in dict.fromkeys(op.deps)))
            rows, cols = splits[op.id]
            plans[op.id] = _plan(op, _space(op), rows, cols, act_total)
    return _apply(trace, plans)


def _apply(trace: Trace, plans: dict[int, _TilePlan]) -> TiledTrace:
    next_id = max(op.id for op in trace.ops) + 1
    replaced: dict[int, tuple[int, ...]] = {}
    ops: list[TraceOp] = []
    tiles: dict[int, Tile] = {}
    for op in trace.ops:
        deps = tuple(x for d in op.deps for x in replaced.get(d, (d,)))
        op = replace(op, deps=deps)
        if op.id not in plans:
            ops.append(op)
            continue
        new, records = _tile_ops(op, plans[op.id], next_id)
        next_id += len(new)
        replaced[op.id] = tuple(t.id for t in new)
        ops.extend(new)
        tiles.update({t.id: r for t, r in zip(new, records)})
    splits = {i: (p.rows, p.cols) for i, p in plans.items()}
    tiled = TiledTrace(trace.name, tuple(ops), dict(trace.metadata), trace.version, tiles, splits, trace)
    check_tiling(tiled)
    return tiled


def check_tiling(trace: Trace) -> None:
    """Raise MappingError unless ``trace``'s tiles cover its original trace: every original op appears once,
    as itself or as its tiles, and each tiled op's tiles sum to its MACs, FLOPs, output bytes and parameters
    and read at least its input bytes."""
    tiles = getattr(trace, "tiles", None)
    original = getattr(trace, "original", None)
    if not tiles or original is None:
        return
    groups: dict[int, list[TraceOp]] = {}
    plain = set()
    for op in trace.ops:
        if op.id in tiles:
            groups.setdefault(tiles[op.id].op, []).append(op)
        else:
            plain.add(op.id)
    for op in original.ops:
        if op.id in groups:
            parts = groups[op.id]
            if op.id in plain or len(parts) != tiles[parts[0].id].count:
                raise MappingError(f"tiling of {trace.name!r}: op {op.name!r} is not covered by its tiles once")
            for key in ("macs", "flops", "output_bytes", "params"):
                if sum(getattr(p, key) for p in parts) != getattr(op, key):
                    raise MappingError(f"tiling of {trace.name!r}: the tiles of {op.name!r} do not sum to its {key}")
            if sum(p.input_bytes for p in parts) < op.input_bytes:
                raise MappingError(f"tiling of {trace.name!r}: the tiles of {op.name!r} read less than its input")
        elif op.id not in plain:
            raise MappingError(f"tiling of {trace.name!r}: op {op.name!r} is missing")

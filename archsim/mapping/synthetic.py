"""Small synthetic traces for memory planning: hand-sized graphs for tests and NAS-like cells.

Ops are ``elementwise`` (any vector engine runs them); only the byte fields and ``deps`` matter to the
planners. Sizes are in bytes.
"""
from __future__ import annotations

import random
from typing import Sequence

from archsim.trace import Trace, TraceOp


def planning_op(op_id: int, out_bytes: int, deps: Sequence[int] = (), in_bytes: int | None = None,
                weight_bytes: int = 0, dep_bytes: dict[int, int] | None = None) -> TraceOp:
    """An elementwise op writing ``out_bytes``; ``in_bytes`` defaults to the producers' outputs
    (``dep_bytes``: producer id -> its output bytes), more makes the difference a graph input."""
    produced = sum((dep_bytes or {}).get(d, 0) for d in deps)
    return TraceOp(op_id, f"op{op_id}", "elementwise", {"elements": max(out_bytes, 1)}, flops=out_bytes,
                   input_bytes=produced if in_bytes is None else in_bytes, weight_bytes=weight_bytes,
                   output_bytes=out_bytes, deps=tuple(deps))


def trace_from_edges(name: str, outputs: Sequence[int], deps: Sequence[Sequence[int]],
                     inputs: Sequence[int] | None = None, weights: Sequence[int] | None = None) -> Trace:
    """A trace of ``len(outputs)`` ops: op ``i`` writes ``outputs[i]`` bytes, reads its ``deps[i]`` outputs plus
    ``inputs[i]`` bytes of graph input, and ``weights[i]`` parameter bytes."""
    ops = []
    for i, out in enumerate(outputs):
        produced = sum(outputs[d] for d in deps[i])
        extra = inputs[i] if inputs else 0
        ops.append(planning_op(i, out, deps[i], produced + extra, weights[i] if weights else 0))
    return Trace(name, tuple(ops))


def random_dag_trace(seed: int, n_ops: int, max_fan_in: int = 3, max_bytes: int = 64, window: int = 6) -> Trace:
    """A random DAG of ``n_ops`` ops, each reading up to ``max_fan_in`` of the ``window`` previous ops'
    outputs (so parallel branches and long-lived tensors appear), sizes uniform in 1..max_bytes."""
    rng = random.Random(seed)
    outputs = [rng.randint(1, max_bytes) for _ in range(n_ops)]
    deps, inputs = [], []
    for i in range(n_ops):
        pool = list(range(max(0, i - window), i))
        k = rng.randint(1 if pool else 0, min(max_fan_in, len(pool)))
        deps.append(sorted(rng.sample(pool, k)))
        inputs.append(rng.randint(1, max_bytes) if not deps[-1] else 0)
    return trace_from_edges(f"random{seed}", outputs, deps, inputs)


def nas_cell_trace(seed: int, cells: int = 8, nodes: int = 5, channels: int = 32, spatial: int = 28) -> Trace:
    """A NAS-like network (DARTS/NASNet style): each cell reads the two previous cells' outputs, computes
    ``nodes`` intermediate nodes (each the sum of two ops on two earlier states, chosen at random) and
    concatenates them; every third cell halves the spatial size and doubles the channels. int8 bytes."""
    rng = random.Random(seed)
    ops: list[TraceOp] = []
    size: dict[int, int] = {}

    def add(out: int, deps: Sequence[int], extra_in: int = 0) -> int:
        op_id = len(ops)
        ops.append(planning_op(op_id, out, deps, sum(size[d] for d in deps) + extra_in))
        size[op_id] = out
        return op_id

    c, hw = channels, spatial
    stem = add(c * hw * hw, [], 3 * 4 * hw * hw)
    prev2, prev1 = stem, stem
    for k in range(cells):
        reduce = k % 3 == 2
        if reduce:
            c, hw = 2 * c, hw // 2
        act = c * hw * hw
        s0 = add(act, [prev2])  # preprocess the two inputs to this cell's shape
        s1 = add(act, [prev1])
        states = [s0, s1]
        for _ in range(nodes):
            a, b = rng.sample(states, 2)
            oa = add(act, [a])
            ob = add(act, [b])
            states.append(add(act, [oa, ob]))
        prev2, prev1 = prev1, add(act * nodes, states[2:])  # concat of the cell's nodes (a 1x1 conv)
    add(1000, [prev1])
    return Trace(f"nas_cells{cells}_seed{seed}", tuple(ops))

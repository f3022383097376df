"""Consistency checks on a Trace: the invariants mappers and engines may rely on.

Every trace a command reads from a file goes through ``check_trace`` (``archsim.workload.load_workload``), so
``run``, ``map`` and ``sweep`` fail on a corrupt trace with a ``TraceError`` naming the file, the row, the
column, the value and what was expected — never with a traceback or a silently wrong run.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from archsim.errors import TraceError
from archsim.trace.kinds import MATRIX_KINDS, VECTOR_KINDS, ZERO_COST_KINDS
from archsim.trace.schema import Trace, TraceOp

GEMM_DIMS = ("B", "M", "N", "K")
CONV_DIMS = ("N", "H", "W", "C", "R", "S", "F", "stride_h", "stride_w", "pad_h", "pad_w", "groups", "OH", "OW")
#: Dims of matrix ops that are sizes (≥ 1; padding may be 0); every other dim is a count or hint ≥ 0.
SIZE_DIMS = frozenset(GEMM_DIMS + CONV_DIMS) - {"pad_h", "pad_w"}
KNOWN_KINDS = MATRIX_KINDS | VECTOR_KINDS | ZERO_COST_KINDS
COUNT_FIELDS = ("macs", "flops", "input_bytes", "weight_bytes", "output_bytes", "kv_cache_bytes", "params")


@dataclass(frozen=True)
class TraceProblem:
    """One violated invariant: the op's index in ``trace.ops`` (None: the trace as a whole), the column, what is
    wrong, the offending value and what was expected."""

    index: int | None
    column: str
    problem: str
    value: object = None
    expected: str = ""
    has_value: bool = True

    def sentence(self, trace: Trace) -> str:
        """The problem as one sentence naming the op."""
        where = "trace"
        if self.index is not None:
            op = trace.ops[self.index]
            where = f"op {op.id} ({op.name!r}, {op.kind})"
        text = f"{where}: {self.column}: {self.problem}" if self.column else f"{where}: {self.problem}"
        if self.has_value:
            text += f"; got {self.value!r}"
        return f"{text}; expected {self.expected}" if self.expected else text


def conv_output_size(size: int, kernel: int, stride: int, pad: int) -> int:
    """Output rows/cols of a convolution with symmetric padding ``pad`` (PyTorch/ONNX rule)."""
    return (size + 2 * pad - kernel) // stride + 1


def expected_macs(op: TraceOp) -> int | None:
    """MACs implied by the dims of a matrix op (count), or None for other kinds."""
    d = op.dims
    if op.kind in ("gemm", "gemv") and op.seq_lens and op.ragged_dim in ("N", "K"):
        # ragged: B / requests independent products per request, its own length in the ragged dimension
        per_request = d.get("B", 1) // len(op.seq_lens)
        fixed = d["N"] if op.ragged_dim == "K" else d["K"]
        return per_request * d["M"] * fixed * sum(op.seq_lens)
    if op.kind in ("gemm", "gemv"):
        return d.get("B", 1) * d["M"] * d["N"] * d["K"]
    if op.kind == "conv2d":
        return d["N"] * d["OH"] * d["OW"] * d["F"] * d["R"] * d["S"] * (d["C"] // d["groups"])
    return None


def _dependency_cycle(trace: Trace) -> list[int] | None:
    """Indices of the ops of one dependency cycle (first op repeated at the end), or None when acyclic."""
    index = {op.id: i for i, op in enumerate(trace.ops)}
    state = [0] * len(trace.ops)          # 0 unvisited, 1 on the current path, 2 done
    for start in range(len(trace.ops)):
        if state[start]:
            continue
        path, stack = [], [(start, iter(trace.ops[start].deps))]
        state[start] = 1
        path.append(start)
        while stack:
            node, deps = stack[-1]
            for dep in deps:
                j = index.get(dep)
                if j is None or state[j] == 2:
                    continue
                if state[j] == 1:
                    return path[path.index(j):] + [j]
                state[j] = 1
                path.append(j)
                stack.append((j, iter(trace.ops[j].deps)))
                break
            else:
                state[node] = 2
                path.pop()
                stack.pop()
    return None


def _op_problems(i: int, op: TraceOp) -> list[TraceProblem]:
    out: list[TraceProblem] = []
    if op.kind not in KNOWN_KINDS:
        out.append(TraceProblem(i, "kind", "unknown op kind", op.kind, f"a matrix kind ({', '.join(sorted(MATRIX_KINDS))})"
                                f", a layout kind ({', '.join(sorted(ZERO_COST_KINDS))}) or a vector kind "
                                f"({', '.join(sorted(VECTOR_KINDS))})"))
        return out
    for name in COUNT_FIELDS:
        if getattr(op, name) < 0:
            out.append(TraceProblem(i, name, "negative count", getattr(op, name), "an integer ≥ 0"))
    if op.kv_cache_bytes > op.input_bytes:
        out.append(TraceProblem(i, "kv_cache_bytes", "exceeds input_bytes", op.kv_cache_bytes,
                                f"at most input_bytes ({op.input_bytes})"))
    for key, value in op.dims.items():
        low = 1 if op.kind in MATRIX_KINDS and key in SIZE_DIMS else 0
        if value < low:
            out.append(TraceProblem(i, f"dim_{key}", "dimension out of range", value, f"an integer ≥ {low}"))
    if out:
        return out
    if op.seq_lens or op.ragged_dim:
        if not op.seq_lens or op.ragged_dim not in op.dims:
            out.append(TraceProblem(i, "ragged_dim", "a ragged op needs seq_lens and a ragged_dim among its dims",
                                    op.ragged_dim, f"one of {sorted(op.dims)} with seq_lens set"))
            return out
        if min(op.seq_lens) < 1 or op.dims[op.ragged_dim] != max(op.seq_lens):
            out.append(TraceProblem(i, "seq_lens", f"ragged dim {op.ragged_dim} = {op.dims[op.ragged_dim]} is not "
                                    "the longest of seq_lens", op.seq_lens, "lengths ≥ 1, the longest equal to it"))
        if "B" in op.dims and op.dims["B"] % len(op.seq_lens):
            out.append(TraceProblem(i, "dim_B", f"not a multiple of the {len(op.seq_lens)} requests",
                                    op.dims["B"], f"a multiple of {len(op.seq_lens)}"))
    need = GEMM_DIMS[1:] if op.kind in ("gemm", "gemv") else CONV_DIMS if op.kind == "conv2d" else ()
    missing = [k for k in need if k not in op.dims]
    if missing:
        out.append(TraceProblem(i, "dim_" + missing[0], f"missing dims {', '.join(missing)}", None,
                                f"every one of {', '.join(need)} for a {op.kind}", has_value=False))
        return out
    if op.kind == "gemv" and op.dims["M"] != 1:
        out.append(TraceProblem(i, "dim_M", "gemv must have M == 1", op.dims["M"], "1"))
    if op.kind == "conv2d":
        d = op.dims
        if d["C"] % d["groups"] or d["F"] % d["groups"]:
            out.append(TraceProblem(i, "dim_groups", f"does not divide C {d['C']} and F {d['F']}", d["groups"],
                                    "a divisor of both"))
            return out
        oh = conv_output_size(d["H"], d["R"], d["stride_h"], d["pad_h"])
        ow = conv_output_size(d["W"], d["S"], d["stride_w"], d["pad_w"])
        if (oh, ow) != (d["OH"], d["OW"]):
            out.append(TraceProblem(i, "dim_OH", f"OH x OW = {d['OH']} x {d['OW']} but the conv gives {oh} x {ow}",
                                    (d["OH"], d["OW"]), f"({oh}, {ow})"))
    macs = expected_macs(op)
    if macs is None and op.macs:
        out.append(TraceProblem(i, "macs", f"a {op.kind} op performs no MACs (vector work is counted in flops)",
                                op.macs, "0"))
    if not out and macs is not None and macs != op.macs:
        out.append(TraceProblem(i, "macs", f"disagrees with the dims (dims imply {macs})", op.macs, str(macs)))
    return out


def find_problems(trace: Trace) -> list[TraceProblem]:
    """Every violated invariant of ``trace`` (empty list when it is sound), in the order of the ops."""
    if not trace.ops:
        return [TraceProblem(None, "", "the trace has no ops", 0, "at least one op")]
    problems: list[TraceProblem] = []
    ids = {op.id: i for i, op in enumerate(trace.ops)}
    seen: set[int] = set()
    for i, op in enumerate(trace.ops):
        if op.id in seen:
            problems.append(TraceProblem(i, "id", "duplicate op id", op.id, "ids unique within the trace"))
        seen.add(op.id)
        for dep in op.deps:
            if dep not in ids:
                problems.append(TraceProblem(i, "deps", f"depends on op {dep}, which is not in the trace", dep,
                                             "ids of ops of this trace"))
        problems.extend(_op_problems(i, op))
    cycle = _dependency_cycle(trace)
    if cycle is not None:
        names = " -> ".join(f"op {trace.ops[j].id} ({trace.ops[j].name!r})" for j in cycle)
        problems.append(TraceProblem(cycle[0], "deps", f"dependency cycle: {names}", trace.ops[cycle[0]].deps,
                                     "dependencies without cycles"))
    elif not any(p.column in ("deps", "id") for p in problems):
        position = {op.id: i for i, op in enumerate(trace.ops)}
        for i, op in enumerate(trace.ops):
            later = [d for d in op.deps if position[d] > i]
            if later:
                problems.append(TraceProblem(i, "deps", f"depends on op {later[0]}, which does not come earlier "
                                             "in the trace", later[0], "producers listed before their consumers"))
    return sorted(problems, key=lambda p: -1 if p.index is None else p.index)


def trace_problems(trace: Trace) -> list[str]:
    """Return every violated invariant of ``trace`` as a sentence (empty list when it is sound)."""
    return [p.sentence(trace) for p in find_problems(trace)]


def check_trace(trace: Trace, source: str | None = None, rows: Sequence[int] | None = None) -> Trace:
    """Return ``trace`` unchanged, or raise a TraceError located at its first violated invariant.

    ``source`` names the file the trace came from, ``rows[i]`` the row of that file op ``i`` was read from (both
    optional: a trace built in memory is located by op)."""
    problems = find_problems(trace)
    if not problems:
        return trace
    first = problems[0]
    more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
    if first.index is None:
        row, what = None, first.problem
    else:
        op = trace.ops[first.index]
        row = rows[first.index] if rows is not None else None
        what = f"op {op.id} ({op.name!r}, {op.kind}): {first.problem}"
    raise TraceError(source or f"trace {trace.name!r}", what + more, row=row, column=first.column or None,
                     value=first.value, expected=first.expected or None, has_value=first.has_value)

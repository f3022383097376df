"""Consistency checks on a Trace: the invariants mappers and engines may rely on."""
from __future__ import annotations

from archsim.errors import WorkloadError
from archsim.trace.schema import Trace, TraceOp

GEMM_DIMS = ("B", "M", "N", "K")
CONV_DIMS = ("N", "H", "W", "C", "R", "S", "F", "stride_h", "stride_w", "pad_h", "pad_w", "groups", "OH", "OW")


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


def trace_problems(trace: Trace) -> list[str]:
    """Return every violated invariant of ``trace`` as a sentence (empty list when it is sound)."""
    problems: list[str] = []
    seen: set[int] = set()
    for op in trace.ops:
        where = f"op {op.id} ({op.name!r}, {op.kind})"
        if op.id in seen:
            problems.append(f"{where}: duplicate id")
        for dep in op.deps:
            if dep not in seen:
                problems.append(f"{where}: depends on op {dep}, which does not come earlier in the trace")
        seen.add(op.id)
        for name in ("macs", "flops", "input_bytes", "weight_bytes", "output_bytes", "kv_cache_bytes", "params"):
            if getattr(op, name) < 0:
                problems.append(f"{where}: {name} is negative")
        if op.kv_cache_bytes > op.input_bytes:
            problems.append(f"{where}: kv_cache_bytes exceeds input_bytes")
        if op.seq_lens or op.ragged_dim:
            if not op.seq_lens or op.ragged_dim not in op.dims:
                problems.append(f"{where}: a ragged op needs seq_lens and a ragged_dim among its dims")
                continue
            if min(op.seq_lens) < 1 or op.dims[op.ragged_dim] != max(op.seq_lens):
                problems.append(f"{where}: ragged dim {op.ragged_dim} = {op.dims[op.ragged_dim]}, but the longest "
                                f"of seq_lens is {max(op.seq_lens)} (all must be >= 1)")
            if "B" in op.dims and op.dims["B"] % len(op.seq_lens):
                problems.append(f"{where}: B {op.dims['B']} is not a multiple of the {len(op.seq_lens)} requests")
        need = GEMM_DIMS[1:] if op.kind in ("gemm", "gemv") else CONV_DIMS if op.kind == "conv2d" else ()
        missing = [k for k in need if k not in op.dims]
        if missing:
            problems.append(f"{where}: missing dims {', '.join(missing)}")
            continue
        if op.kind == "gemv" and op.dims["M"] != 1:
            problems.append(f"{where}: gemv must have M == 1, got {op.dims['M']}")
        if op.kind == "conv2d":
            d = op.dims
            oh = conv_output_size(d["H"], d["R"], d["stride_h"], d["pad_h"])
            ow = conv_output_size(d["W"], d["S"], d["stride_w"], d["pad_w"])
            if (oh, ow) != (d["OH"], d["OW"]):
                problems.append(f"{where}: OH x OW = {d['OH']} x {d['OW']} but the conv gives {oh} x {ow}")
            if d["C"] % d["groups"] or d["F"] % d["groups"]:
                problems.append(f"{where}: groups {d['groups']} must divide C {d['C']} and F {d['F']}")
                continue
        macs = expected_macs(op)
        if macs is not None and macs != op.macs:
            problems.append(f"{where}: macs {op.macs} but dims imply {macs}")
    return problems


def check_trace(trace: Trace) -> Trace:
    """Return ``trace`` unchanged, or raise WorkloadError listing every violated invariant."""
    problems = trace_problems(trace)
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise WorkloadError(f"trace {trace.name!r} is inconsistent:\n  {shown}{more}")
    return trace

"""SCALE-Sim topology CSVs ↔ traces.

Import: each SCALE-Sim layer becomes one op in a chain (SCALE-Sim topologies have no graph). Conv
rows become ``conv2d`` ops at batch 1; SCALE-Sim sizes outputs as ``ceil((H - R + s) / s)`` with no
padding, so the op gets the smallest symmetric ``pad`` for which the PyTorch rule gives the same
output size (and therefore the same MACs). GEMM topologies (``Layer, M, N, K``) become ``gemm`` ops.

Export: conv2d ops are written with an input size ``(OH - 1) * s + R`` that gives SCALE-Sim the
same output size without padding; grouped convs are written as one row per group and depthwise
convs as SCALE-Sim ``DP`` rows; gemm/gemv ops as ``H=M, W=K, R=1, S=K, C=1, F=N`` rows (one per
independent GEMM ``B``). Vector ops have no SCALE-Sim equivalent and are left out.
"""
from __future__ import annotations

from pathlib import Path

from archsim.errors import WorkloadError
from archsim.scalesim.topology import ScaleSimLayer, read_topology, write_topology
from archsim.trace.checks import conv_output_size
from archsim.trace.schema import Trace, TraceOp
from archsim.workload.graph import dtype_bytes


def topology_kind(header: str) -> str | None:
    """``conv`` or ``gemm`` when ``header`` (a CSV's first line) is a SCALE-Sim topology header, else None."""
    fields = [f.strip().lower() for f in header.split(",") if f.strip()]
    if len(fields) >= 8 and fields[0].startswith("layer") and "ifmap" in fields[1]:
        return "conv"
    if len(fields) >= 4 and fields[0].startswith("layer") and fields[1:4] == ["m", "n", "k"]:
        return "gemm"
    return None


def _pad_for(size: int, kernel: int, stride: int, out: int) -> int:
    pad = 0
    while conv_output_size(size, kernel, stride, pad) < out:
        pad += 1
    return pad


def layer_to_op(layer: ScaleSimLayer, op_id: int, kind: str, dtype: str) -> TraceOp:
    """The TraceOp of one SCALE-Sim layer (conv → conv2d, gemm topology → gemm)."""
    nbytes = dtype_bytes(dtype)
    deps = (op_id - 1,) if op_id else ()
    if kind == "gemm":
        m, n, k = layer.gemm_mnk
        macs = m * n * k
        return TraceOp(op_id, layer.name, "gemv" if m == 1 else "gemm", {"B": 1, "M": m, "N": n, "K": k},
                       macs=macs, flops=2 * macs, input_bytes=m * k * nbytes, weight_bytes=k * n * nbytes,
                       output_bytes=m * n * nbytes, dtype=dtype, deps=deps, params=k * n)
    oh, ow = layer.ofmap_h, layer.ofmap_w
    s = layer.stride
    ph = _pad_for(layer.ifmap_h, layer.filter_h, s, oh)
    pw = _pad_for(layer.ifmap_w, layer.filter_w, s, ow)
    dims = {"N": 1, "H": layer.ifmap_h, "W": layer.ifmap_w, "C": layer.channels, "R": layer.filter_h,
            "S": layer.filter_w, "F": layer.num_filters, "stride_h": s, "stride_w": s, "pad_h": ph, "pad_w": pw,
            "groups": 1, "OH": oh, "OW": ow}
    weights = layer.filter_h * layer.filter_w * layer.channels * layer.num_filters
    macs = oh * ow * weights
    return TraceOp(op_id, layer.name, "conv2d", dims, macs=macs, flops=2 * macs,
                   input_bytes=layer.ifmap_h * layer.ifmap_w * layer.channels * nbytes,
                   weight_bytes=weights * nbytes, output_bytes=oh * ow * layer.num_filters * nbytes,
                   dtype=dtype, deps=deps, params=weights)


def read_topology_trace(path: str | Path, kind: str, dtype: str = "int8") -> Trace:
    """Read a SCALE-Sim topology CSV (``kind`` conv or gemm) as a chain-shaped Trace."""
    layers = read_topology(path, kind)
    ops = tuple(layer_to_op(layer, i, kind, dtype) for i, layer in enumerate(layers))
    return Trace(Path(path).stem, ops, {"source": str(path), "source_format": f"scalesim-{kind}"})


def trace_to_layers(trace: Trace) -> list[ScaleSimLayer]:
    """The SCALE-Sim conv-topology rows of the matrix ops of ``trace`` (see the module docstring)."""
    layers: list[ScaleSimLayer] = []
    for op in trace.ops:
        if op.kind in ("gemm", "gemv"):
            m, n, k = op.dims["M"], op.dims["N"], op.dims["K"]
            b = op.dims.get("B", 1)
            for i in range(b):
                layers.append(ScaleSimLayer(op.name if b == 1 else f"{op.name}_b{i}", m, k, 1, k, 1, n, 1))
        elif op.kind == "conv2d":
            layers.extend(_conv_layers(op))
    return layers


def _conv_layers(op: TraceOp) -> list[ScaleSimLayer]:
    d = op.dims
    if d["stride_h"] != d["stride_w"]:
        raise WorkloadError(f"op {op.name!r}: SCALE-Sim needs equal strides, got {d['stride_h']} x {d['stride_w']}")
    s = d["stride_h"]
    # Batch N is folded into the rows: N images of OH rows each.
    h = ((d["OH"] * d["N"]) - 1) * s + d["R"] if d["N"] > 1 else (d["OH"] - 1) * s + d["R"]
    w = (d["OW"] - 1) * s + d["S"]
    g = d["groups"]
    if g == 1:
        return [ScaleSimLayer(op.name, h, w, d["R"], d["S"], d["C"], d["F"], s)]
    if g == d["C"] == d["F"]:
        return [ScaleSimLayer(f"{op.name}_DP", h, w, d["R"], d["S"], d["C"], 1, s)]
    return [ScaleSimLayer(f"{op.name}_g{i}", h, w, d["R"], d["S"], d["C"] // g, d["F"] // g, s) for i in range(g)]


def write_topology_trace(trace: Trace, path: str | Path) -> Path:
    """Write the matrix ops of ``trace`` as a SCALE-Sim conv topology CSV; returns the path."""
    layers = trace_to_layers(trace)
    if not layers:
        raise WorkloadError(f"trace {trace.name!r} has no conv/gemm ops to write as a SCALE-Sim topology")
    write_topology(layers, path)
    return Path(path)

"""ONNX import (optional extra ``archsim[onnx]``): an ONNX graph, weights never read, → Graph IR.

The model is loaded with ``load_external_data=False`` and shapes come from
``onnx.shape_inference``; only tensor shapes are used. Weights are initializers, or graph inputs
that only feed weight slots (Conv/Gemm weights and biases, norm parameters) — so a graph exported
without its weights imports too. A symbolic leading (batch) dimension of a graph input takes the
``batch`` knob. Each node maps onto the same GraphBuilder calls the model zoo uses, so an ONNX
export and the zoo version of a model lower to the same trace. Ops outside the supported set are
counted by ``op_type``: with ``strict`` (default) the import fails listing them; with
``strict=false`` they become zero-cost layout ops and the counts go to ``metadata['unsupported_ops']``.
"""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

from archsim.errors import WorkloadError
from archsim.trace.checks import conv_output_size
from archsim.workload.builder import GraphBuilder
from archsim.workload.graph import Graph
from archsim.workload.knobs import RunKnobs

ONNX_DTYPES = {1: "fp32", 10: "fp16", 16: "bf16", 3: "int8", 2: "uint8", 5: "int16", 6: "int32"}
UNARY = {"Relu": "relu", "Clip": "relu6", "LeakyRelu": "leaky_relu", "Sigmoid": "sigmoid", "Tanh": "tanh",
         "Gelu": "gelu", "HardSwish": "silu", "HardSigmoid": "sigmoid", "Erf": "gelu"}
BINARY = {"Add": "add", "Sub": "add", "Mul": "mul", "Div": "mul"}
LAYOUT = {"Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Identity", "Dropout", "Cast",
          "Expand", "Slice"}
NO_OUTPUT_COST = {"Shape", "Constant", "ConstantOfShape"}
#: Input slots that hold parameters, per op type.
WEIGHT_SLOTS = {"Conv": {1, 2}, "Gemm": {1, 2}, "BatchNormalization": {1, 2, 3, 4},
                "LayerNormalization": {1, 2}, "Gather": {0}}
SUPPORTED = sorted({"Conv", "Gemm", "MatMul", "BatchNormalization", "LayerNormalization", "Softmax", "MaxPool",
                    "AveragePool", "GlobalAveragePool", "Concat", "Split", "Resize", "Upsample", "Gather",
                    *UNARY, *BINARY, *LAYOUT, *NO_OUTPUT_COST})


def _onnx():
    try:
        import onnx
    except ImportError:
        raise WorkloadError("ONNX import needs the 'onnx' package: pip install archsim[onnx]") from None
    return onnx


def import_onnx(path: str | Path, knobs: RunKnobs | None = None) -> Graph:
    """Read the ONNX file at ``path`` (weights are not loaded) and return its Graph."""
    onnx = _onnx()
    path = Path(path)
    if not path.is_file():
        raise WorkloadError(f"{path}: ONNX file not found")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises DecodeError and friends
        raise WorkloadError(f"{path}: not a readable ONNX model: {exc}") from None
    return graph_from_onnx(model, path.stem, knobs or RunKnobs(), str(path))


def graph_from_onnx(model: Any, name: str, knobs: RunKnobs, source: str = "<onnx>") -> Graph:
    """Convert an in-memory ``onnx.ModelProto`` into a Graph (see the module docstring)."""
    onnx = _onnx()
    g = model.graph
    init_shapes = {t.name: tuple(int(d) for d in t.dims) for t in g.initializer}
    weight_names = set(init_shapes) | _weight_only_inputs(g, init_shapes)
    _bind_batch(g, weight_names, knobs.batch)
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception as exc:
        raise WorkloadError(f"{source}: ONNX shape inference failed: {exc}") from None
    shapes = dict(init_shapes)
    elem = {}
    for vi in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        tt = vi.type.tensor_type
        if tt.HasField("shape"):
            dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
            if all(d is not None and d > 0 for d in dims) or not dims:
                shapes[vi.name] = tuple(dims)
        elem[vi.name] = tt.elem_type
    unsupported = Counter(n.op_type for n in g.node if n.op_type not in SUPPORTED)
    if unsupported and knobs.strict:
        listed = ", ".join(f"{op} x{count}" for op, count in sorted(unsupported.items()))
        raise WorkloadError(f"{source}: unsupported ONNX ops: {listed}. Supported: {', '.join(SUPPORTED)}. "
                            f"Use --set strict=false to treat them as zero-cost and continue.")
    dtype = knobs.dtype or _graph_dtype(g, weight_names, elem)
    converter = _Converter(GraphBuilder(name, dtype), shapes, weight_names, source)
    for vi in g.input:
        if vi.name not in weight_names:
            converter.declare_input(vi.name)
    for node in g.node:
        converter.convert(node, onnx.helper)
    meta = {"source_format": "onnx"}
    if unsupported:
        meta["unsupported_ops"] = ";".join(f"{op}={count}" for op, count in sorted(unsupported.items()))
    return converter.b.build(meta)


def _weight_only_inputs(g, init_shapes: dict) -> set[str]:
    """Graph inputs (not initializers) that feed only weight slots — weights of a weightless export."""
    inputs = {vi.name for vi in g.input} - set(init_shapes)
    uses: dict[str, list[bool]] = {n: [] for n in inputs}
    for node in g.node:
        slots = WEIGHT_SLOTS.get(node.op_type, set())
        for i, name in enumerate(node.input):
            if name in uses:
                uses[name].append(i in slots)
    return {n for n, flags in uses.items() if flags and all(flags)}


def _bind_batch(g, weight_names: set[str], batch: int) -> None:
    for vi in g.input:
        if vi.name in weight_names:
            continue
        dims = vi.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].dim_value = batch


def _graph_dtype(g, weight_names: set[str], elem: dict) -> str:
    for vi in g.input:
        if vi.name not in weight_names and vi.name in elem:
            return ONNX_DTYPES.get(elem[vi.name], "fp32")
    return "fp32"


class _Converter:
    """Maps ONNX nodes onto GraphBuilder calls, tracking ONNX tensor name → IR tensor name."""

    def __init__(self, b: GraphBuilder, shapes: dict, weights: set[str], source: str):
        self.b, self.shapes, self.weights, self.source = b, shapes, weights, source
        self.ir: dict[str, str] = {}
        self.names: Counter = Counter()

    def declare_input(self, name: str) -> None:
        self.ir[name] = self.b.input(name, self._shape(name))

    def _shape(self, name: str) -> tuple[int, ...]:
        if name not in self.shapes:
            raise WorkloadError(f"{self.source}: tensor {name!r} has no static shape after shape inference; "
                                f"give the graph inputs fixed shapes")
        return self.shapes[name]

    def _unique(self, node) -> str:
        base = node.name or node.output[0]
        self.names[base] += 1
        return base if self.names[base] == 1 else f"{base}_{self.names[base]}"

    def _act(self, name: str) -> str:
        return self.ir[name]

    def _bind(self, onnx_name: str, ir_name: str, op_name: str) -> None:
        """Record the IR tensor for ``onnx_name``, reshaping (zero-cost) to the inferred shape if needed."""
        want = self.shapes.get(onnx_name)
        if want is not None and want != self.b.shape(ir_name) and math.prod(want) == math.prod(self.b.shape(ir_name)):
            ir_name = self.b.reshape(f"{op_name}.as_onnx", ir_name, want)
        self.ir[onnx_name] = ir_name

    def convert(self, node, helper) -> None:
        op = node.op_type
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        name = self._unique(node)
        b = self.b
        self.b.layer = name
        ins = [i for i in node.input if i]
        if op in NO_OUTPUT_COST:
            return
        if op == "Conv":
            out = self._conv(name, ins, attrs, node.output[0])
        elif op == "Gemm":
            out = self._gemm(name, ins, attrs)
        elif op == "MatMul":
            out = self._matmul(name, ins, node.output[0])
        elif op == "BatchNormalization":
            out = b.batchnorm(name, self._act(ins[0]))
        elif op == "LayerNormalization":
            out = b.layernorm(name, self._act(ins[0]), bias=len(ins) > 2)
        elif op == "Softmax":
            out = b.softmax(name, self._act(ins[0]))
        elif op in UNARY:
            out = b.unary(name, UNARY[op], self._act(ins[0]))
        elif op in BINARY:
            out = self._binary(name, BINARY[op], ins)
        elif op in ("MaxPool", "AveragePool"):
            out = self._pool(name, op, ins[0], attrs, node.output[0])
        elif op == "GlobalAveragePool":
            out = b.global_avgpool(name, self._act(ins[0]))
        elif op in ("Resize", "Upsample"):
            x = self._act(ins[0])
            scale = self._shape(node.output[0])[2] // b.shape(x)[2]
            out = b.upsample(name, x, max(1, scale))
        elif op == "Concat":
            acts = [self._act(i) for i in ins if i not in self.weights]
            out = b.gather(name, acts, self._shape(node.output[0]))
        elif op == "Split":
            pieces = b.split(name, self._act(ins[0]), [self._shape(o) for o in node.output])
            for onnx_name, ir_name in zip(node.output, pieces):
                self.ir[onnx_name] = ir_name
            return
        elif op == "Gather" and ins[0] in self.weights:
            ids = self._act(ins[1])
            flat = b.reshape(f"{name}.ids", ids, (math.prod(b.shape(ids)),))
            out = b.embedding(name, flat, b.weight(f"{name}.table", self._shape(ins[0])))
        else:  # layout ops, and unsupported ops when not strict: zero-cost, shaped as ONNX infers
            sources = [self.ir[i] for i in ins if i in self.ir]
            for o in node.output:
                if o in self.shapes and sources:
                    label = name if len(node.output) == 1 else f"{name}.{o}"
                    self.ir[o] = b.gather(label, sources, self._shape(o))
            return
        self._bind(node.output[0], out, name)

    def _pads(self, size: int, kernel: int, stride: int, begin: int, end: int, out: int | None) -> int:
        """Symmetric pad giving the ONNX output size (asymmetric ONNX pads give the same MACs)."""
        for pad in sorted({(begin + end) // 2, (begin + end + 1) // 2, begin, end}):
            if out is None or conv_output_size(size, kernel, stride, pad) == out:
                return pad
        raise WorkloadError(f"{self.source}: cannot express pads ({begin}, {end}) for size {size}, kernel {kernel}, "
                            f"stride {stride} as symmetric padding")

    def _conv(self, name: str, ins: list[str], attrs: dict, out_name: str) -> str:
        x = self._act(ins[0])
        f, _, r, s = self._shape(ins[1])
        if any(d != 1 for d in attrs.get("dilations", [1, 1])):
            raise WorkloadError(f"{self.source}: Conv {name!r}: dilated convolutions are not supported")
        sh, sw = attrs.get("strides", [1, 1])
        pads = attrs.get("pads", [0, 0, 0, 0])
        out = self.shapes.get(out_name)
        _, _, h, w = self.b.shape(x)
        ph = self._pads(h, r, sh, pads[0], pads[2], out[2] if out else None)
        pw = self._pads(w, s, sw, pads[1], pads[3], out[3] if out else None)
        return self.b.conv2d(name, x, f, (r, s), (sh, sw), (ph, pw), attrs.get("group", 1), bias=len(ins) > 2)

    def _gemm(self, name: str, ins: list[str], attrs: dict) -> str:
        x = self._act(ins[0])
        if attrs.get("transA", 0):
            raise WorkloadError(f"{self.source}: Gemm {name!r}: transA=1 is not supported")
        if ins[1] not in self.weights:
            raise WorkloadError(f"{self.source}: Gemm {name!r}: B must be a weight")
        k_n = self._shape(ins[1])
        n = k_n[0] if attrs.get("transB", 0) else k_n[1]
        return self.b.linear(name, x, n, bias=len(ins) > 2)

    def _matmul(self, name: str, ins: list[str], out_name: str) -> str:
        if ins[1] in self.weights:
            return self.b.linear(name, self._act(ins[0]), self._shape(ins[1])[-1], bias=False)
        a, c = self._act(ins[0]), self._act(ins[1])
        *lead, m, k = self.b.shape(a)
        n = self.b.shape(c)[-1]
        g = math.prod(lead) if lead else 1
        a3 = self.b.reshape(f"{name}.a", a, (g, m, k))
        c3 = self.b.reshape(f"{name}.b", c, (g, k, n))
        return self.b.matmul(name, a3, c3)

    def _binary(self, name: str, kind: str, ins: list[str]) -> str:
        a, c = ins
        if a in self.weights or (a not in self.ir and c in self.ir):
            a, c = c, a
        first = self._act(a)
        if c in self.weights:
            second = self.b.weight(f"{name}.const", self.shapes.get(c, (1,)) or (1,))
        elif c in self.ir:
            second = self.ir[c]
        else:  # a scalar constant
            second = self.b.weight(f"{name}.const", (1,))
        return self.b.add(name, first, second) if kind == "add" else self.b.mul(name, first, second)

    def _pool(self, name: str, op: str, x_name: str, attrs: dict, out_name: str) -> str:
        x = self._act(x_name)
        r, s = attrs["kernel_shape"]
        sh, sw = attrs.get("strides", [1, 1])
        pads = attrs.get("pads", [0, 0, 0, 0])
        out = self.shapes.get(out_name)
        _, _, h, w = self.b.shape(x)
        try:
            ph = self._pads(h, r, sh, pads[0], pads[2], out[2] if out else None)
            pw = self._pads(w, s, sw, pads[1], pads[3], out[3] if out else None)
        except WorkloadError:  # ceil_mode / asymmetric 'same' pooling: take ONNX's output size
            return self.b.pool(name, x, "maxpool" if op == "MaxPool" else "avgpool", (r, s), (sh, sw), same=True)
        return self.b.pool(name, x, "maxpool" if op == "MaxPool" else "avgpool", (r, s), (sh, sw), (ph, pw))

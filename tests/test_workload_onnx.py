"""ONNX import: weightless graphs, shape inference, equivalence with the zoo, unsupported-op reports."""
from __future__ import annotations

import pytest

from archsim.errors import WorkloadError
from archsim.workload import load_workload
from archsim.workload.knobs import RunKnobs

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

from archsim.workload.lower import lower  # noqa: E402
from archsim.workload.onnx_import import graph_from_onnx  # noqa: E402


class _OnnxResNet18:
    """torchvision resnet18 as `torch.onnx.export` writes it in eval mode (BN folded into conv biases),
    with weights as shaped graph inputs instead of initializers (a weightless export)."""

    def __init__(self, batch_symbolic: bool = True):
        self.nodes, self.weights, self.count = [], [], 0
        self.batch = "N" if batch_symbolic else 1

    def _w(self, name, shape):
        self.weights.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
        return name

    def conv(self, x, cin, cout, k, stride, pad, relu=True):
        self.count += 1
        n = f"conv{self.count}"
        w, b = self._w(f"{n}.w", [cout, cin, k, k]), self._w(f"{n}.b", [cout])
        self.nodes.append(helper.make_node("Conv", [x, w, b], [n], name=n, kernel_shape=[k, k],
                                           strides=[stride, stride], pads=[pad] * 4))
        if not relu:
            return n
        self.nodes.append(helper.make_node("Relu", [n], [n + ".relu"], name=n + ".relu"))
        return n + ".relu"

    def model(self, blocks=(2, 2, 2, 2)):
        x = self.conv("input", 3, 64, 7, 2, 3)
        self.nodes.append(helper.make_node("MaxPool", [x], ["pool"], name="pool", kernel_shape=[3, 3],
                                           strides=[2, 2], pads=[1, 1, 1, 1]))
        x, cin = "pool", 64
        for stage, depth in enumerate(blocks):
            cout = 64 * 2 ** stage
            for i in range(depth):
                stride = 2 if stage > 0 and i == 0 else 1
                y = self.conv(x, cin, cout, 3, stride, 1)
                y = self.conv(y, cout, cout, 3, 1, 1, relu=False)
                skip = self.conv(x, cin, cout, 1, stride, 0, relu=False) if (stride != 1 or cin != cout) else x
                add = f"add{stage}{i}"
                self.nodes.append(helper.make_node("Add", [y, skip], [add], name=add))
                self.nodes.append(helper.make_node("Relu", [add], [add + ".relu"], name=add + ".relu"))
                x, cin = add + ".relu", cout
        self.nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"], name="gap"))
        self.nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], name="flat", axis=1))
        fc_w, fc_b = self._w("fc.w", [1000, 512]), self._w("fc.b", [1000])
        self.nodes.append(helper.make_node("Gemm", ["flat", fc_w, fc_b], ["logits"], name="fc", transB=1))
        graph = helper.make_graph(
            self.nodes, "resnet18",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, [self.batch, 3, 224, 224]), *self.weights],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [self.batch, 1000])])
        return helper.make_model(graph)


def _comparable(trace):
    return [(op.kind, op.dims, op.macs, op.flops, op.input_bytes, op.weight_bytes, op.output_bytes, op.deps,
             op.fused, op.dtype) for op in trace.ops]


def test_onnx_resnet18_lowers_to_the_same_trace_as_the_zoo_yaml():
    graph = graph_from_onnx(_OnnxResNet18().model(), "resnet18", RunKnobs(dtype="int8"))
    assert _comparable(lower(graph)) == _comparable(load_workload("resnet18"))


def test_symbolic_batch_takes_the_batch_knob():
    graph = graph_from_onnx(_OnnxResNet18().model(), "r", RunKnobs(batch=4, dtype="int8"))
    assert _comparable(lower(graph)) == _comparable(load_workload("resnet18", ["batch=4"]))


def test_an_onnx_file_loads_through_load_workload(tmp_path):
    path = tmp_path / "r18.onnx"
    onnx.save(_OnnxResNet18().model(), str(path))
    trace = load_workload(str(path), ["dtype=int8"])
    assert trace.total_macs == load_workload("resnet18").total_macs
    assert trace.ops[0].dtype == "int8"
    assert load_workload(str(path)).ops[0].dtype == "fp32"  # the graph's own element type by default


def test_initializer_weights_are_read_by_shape_only():
    import numpy as np
    from onnx import numpy_helper

    w = numpy_helper.from_array(np.zeros((16, 8), dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm"),
         helper.make_node("Softmax", ["y"], ["p"], name="sm", axis=-1)],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 16])],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, [4, 8])], initializer=[w])
    trace = lower(graph_from_onnx(helper.make_model(graph), "g", RunKnobs()))
    assert [(op.kind, op.dims) for op in trace.ops] == [("gemm", {"B": 1, "M": 4, "N": 8, "K": 16}),
                                                        ("softmax", {"elements": 32, "reduce": 8})]
    assert trace.ops[0].weight_bytes == 16 * 8 * 4 and trace.total_params == 128


def test_activation_matmuls_become_batched_gemms():
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["q", "k"], ["s"], name="qk")], "g",
        [helper.make_tensor_value_info("q", TensorProto.FLOAT, [2, 12, 128, 64]),
         helper.make_tensor_value_info("k", TensorProto.FLOAT, [2, 12, 64, 128])],
        [helper.make_tensor_value_info("s", TensorProto.FLOAT, [2, 12, 128, 128])])
    trace = lower(graph_from_onnx(helper.make_model(graph), "g", RunKnobs()))
    assert trace.ops[0].dims == {"B": 24, "M": 128, "N": 128, "K": 64}


def _with_unsupported():
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="r"),
             helper.make_node("Erf", ["a"], ["b"], name="e"),
             helper.make_node("NonMaxSuppression", ["b"], ["c"], name="n1"),
             helper.make_node("Round", ["b"], ["d"], name="n2"),
             helper.make_node("Round", ["d"], ["e"], name="n3")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                              [helper.make_tensor_value_info("e", TensorProto.FLOAT, [1, 8])])
    return helper.make_model(graph)


def test_unsupported_ops_are_reported_by_name_and_count():
    with pytest.raises(WorkloadError, match=r"unsupported ONNX ops: NonMaxSuppression x1, Round x2"):
        graph_from_onnx(_with_unsupported(), "g", RunKnobs(), "m.onnx")


def test_non_strict_import_skips_unsupported_ops_and_records_them():
    graph = graph_from_onnx(_with_unsupported(), "g", RunKnobs(strict=False))
    assert graph.metadata["unsupported_ops"] == "NonMaxSuppression=1;Round=2"
    assert [op.kind for op in lower(graph).ops] == ["relu", "gelu"]


def test_a_corrupt_onnx_file_is_a_workload_error(tmp_path):
    path = tmp_path / "bad.onnx"
    path.write_bytes(b"\x00not a protobuf\xff" * 10)
    with pytest.raises(WorkloadError, match="bad.onnx"):
        load_workload(str(path))

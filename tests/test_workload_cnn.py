"""CNN zoo: real padding, folded batch-norms, fused activations, batch and resolution knobs."""
from __future__ import annotations

from archsim.workload import build_graph, load_workload


def _op(trace, name):
    return next(op for op in trace.ops if op.name == name)


def test_resnet_conv1_is_7x7_stride_2_pad_3_from_224_to_112():
    conv1 = _op(load_workload("resnet18"), "conv1")
    assert (conv1.dims["R"], conv1.dims["stride_h"], conv1.dims["pad_h"]) == (7, 2, 3)
    assert (conv1.dims["H"], conv1.dims["OH"], conv1.dims["OW"]) == (224, 112, 112)


def test_resnet50_bottleneck_strides_in_the_3x3_conv():
    trace = load_workload("resnet50")
    assert _op(trace, "layer2.0.conv1").dims["stride_h"] == 1
    assert _op(trace, "layer2.0.conv2").dims["stride_h"] == 2
    assert _op(trace, "layer2.0.downsample.0").dims["stride_h"] == 2
    assert _op(trace, "layer4.2.conv3").dims["OH"] == 7


def test_batch_norm_folds_into_the_conv_as_a_bias_and_relu_runs_as_its_epilogue():
    trace = load_workload("resnet18")
    assert not any(op.kind == "batchnorm" for op in trace.ops)
    conv1 = _op(trace, "conv1")
    assert conv1.fused == "relu"
    assert conv1.weight_bytes == 64 * 3 * 7 * 7 + 64  # int8 weights + folded bias
    assert conv1.params == 64 * 3 * 7 * 7 + 2 * 64     # the model's weights + BN gamma/beta


def test_fuse_false_keeps_activations_as_separate_ops():
    fused = load_workload("resnet18")
    unfused = load_workload("resnet18", ["fuse=false"])
    assert len(unfused) > len(fused)
    assert any(op.kind == "relu" for op in unfused.ops)
    assert unfused.total_macs == fused.total_macs and unfused.total_params == fused.total_params


def test_residual_add_depends_on_both_branches():
    trace = load_workload("resnet18")
    add = _op(trace, "layer2.0.add")
    names = {trace.op_by_id(d).name for d in add.deps}
    assert names == {"layer2.0.conv2", "layer2.0.downsample.0"}


def test_depthwise_convs_have_one_group_per_channel():
    dw = _op(load_workload("mobilenet_v2"), "features.2.dw")
    assert dw.dims["groups"] == dw.dims["C"] == dw.dims["F"] == 96
    assert dw.macs == 56 * 56 * 96 * 9


def test_macs_scale_linearly_with_batch():
    assert load_workload("resnet50", ["batch=8"]).total_macs == 8 * load_workload("resnet50").total_macs


def test_image_size_override_changes_the_resolution():
    trace = load_workload("resnet18", ["image_size=112"])
    assert _op(trace, "conv1").dims["OH"] == 56


def test_yolo_route_concatenates_the_upsampled_and_the_skip_branch():
    trace = load_workload("yolov3_tiny")
    conv21 = _op(trace, "conv21")
    assert conv21.dims["C"] == 128 + 256 and conv21.dims["H"] == 26
    assert {trace.op_by_id(d).name for d in conv21.deps} == {"upsample19", "conv8"}


def test_graph_param_count_equals_the_trace_param_count():
    for model in ("resnet50", "mobilenet_v1", "vit_b16", "gpt2"):
        assert build_graph(model).param_count == load_workload(model).total_params


def test_cnn_default_dtype_is_int8_and_batch_is_1():
    conv1 = load_workload("resnet18").ops[0]
    assert conv1.dtype == "int8" and conv1.dims["N"] == 1
    assert conv1.input_bytes == 3 * 224 * 224

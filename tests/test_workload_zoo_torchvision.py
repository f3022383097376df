"""The torchvision classifiers of accelerator papers in the zoo: parameters and MACs exactly those of
torchvision's definitions (counted with torch in tests/fixtures/torchvision_counts, see its README), and the
structural facts that make them (concat branches, ceil-mode pools, SE blocks, dense concatenation)."""
import json
from pathlib import Path

import pytest

from archsim.workload import load_workload

REF = json.loads((Path(__file__).parent / "fixtures" / "torchvision_counts" / "torchvision_counts.json").read_text())
ZOO = ["alexnet", "googlenet", "inception_v3", "squeezenet1_0", "squeezenet1_1", "efficientnet_b0", "densenet121",
       "vgg11", "vgg19", "resnext50_32x4d", "wide_resnet50_2"]


def _op(trace, name):
    return next(op for op in trace.ops if op.name == name)


@pytest.mark.parametrize("model", ZOO)
def test_parameters_and_macs_equal_torchvisions_exactly(model):
    trace = load_workload(model)
    ref = REF["models"][model]
    assert (trace.total_params, trace.total_macs) == (ref["params"], ref["macs"])
    assert _input_size(trace) == ref["image_size"]


def _input_size(trace):
    first = trace.ops[0]
    return first.dims["H"]


def test_inception_v3_without_its_training_head_is_torchvisions_count_less_auxlogits():
    aux = REF["models"]["inception_v3_with_aux"]["params"] - REF["models"]["inception_v3"]["params"]
    assert load_workload("inception_v3").total_params + aux == 27_161_264     # torchvision's model card


def test_googlenet_ceil_mode_pools_and_concatenated_branches():
    t = load_workload("googlenet")
    assert _op(t, "conv2.conv").dims["H"] == 56            # 112 -> 3x3/2 ceil-mode pool -> 56 (floor: 55)
    b1 = _op(t, "inception3b.branch1.conv")
    assert b1.dims["C"] == 64 + 128 + 32 + 32 and b1.dims["H"] == 28
    assert _op(t, "inception5a.branch1.conv").dims["H"] == 7


def test_inception_v3_factorised_convs_and_module_widths():
    t = load_workload("inception_v3")
    conv = _op(t, "Mixed_6b.branch7x7_2.conv")
    assert (conv.dims["R"], conv.dims["S"], conv.dims["H"]) == (1, 7, 17)
    assert _op(t, "Mixed_7b.branch1x1.conv").dims["C"] == 1280
    assert _op(t, "Mixed_7c.branch1x1.conv").dims["C"] == 2048


def test_efficientnet_squeeze_excitation_reduces_to_a_quarter_of_the_block_input():
    t = load_workload("efficientnet_b0")
    fc1 = _op(t, "features.2.0.block.2.fc1")          # block in 16 -> expanded 96 -> SE 4
    assert (fc1.dims["C"], fc1.dims["F"], fc1.dims["H"]) == (96, 4, 1)
    assert any(op.kind == "mul" and op.name == "features.2.0.block.2.scale" for op in t.ops)


def test_densenet_layers_read_the_concatenation_of_every_earlier_feature_map():
    t = load_workload("densenet121")
    assert _op(t, "features.denseblock1.denselayer6.conv1").dims["C"] == 64 + 5 * 32
    assert _op(t, "features.transition1.conv").dims["F"] == (64 + 6 * 32) // 2
    assert _op(t, "features.denseblock4.denselayer16.conv2").dims["H"] == 7


def test_squeezenet_fire_modules_concatenate_both_expands():
    t = load_workload("squeezenet1_1")
    assert _op(t, "features.4.squeeze").dims["C"] == 64 + 64


def test_resnext_groups_its_3x3_convs_and_wide_resnet_doubles_them():
    x = _op(load_workload("resnext50_32x4d"), "layer1.0.conv2")
    w = _op(load_workload("wide_resnet50_2"), "layer1.0.conv2")
    assert (x.dims["groups"], x.dims["C"], x.dims["F"]) == (32, 128, 128)
    assert (w.dims["groups"], w.dims["C"], w.dims["F"]) == (1, 128, 128)


def test_zoo_aliases_resolve():
    assert load_workload("squeezenet").total_params == REF["models"]["squeezenet1_0"]["params"]

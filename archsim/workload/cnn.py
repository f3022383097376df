"""CNN graph builders: ResNet, MobileNetV1/V2, VGG and a generic layer-list network.

Each builder takes a ConfigView of the model file (Hugging Face config keys where HF has the
family — ResNet, MobileNetV1/V2 — archsim's own keys otherwise) and the run knobs, and returns a
Graph in NCHW layout. Convolutions are padded exactly as the reference implementations pad them
(torchvision; TF 'same' padding gives the same output sizes), batch-norms are explicit ops that
lowering folds into the preceding conv.
"""
from __future__ import annotations

from archsim.workload.builder import GraphBuilder
from archsim.workload.config_view import ConfigView
from archsim.workload.graph import Graph
from archsim.workload.knobs import RunKnobs

ACTIVATIONS = ("relu", "relu6", "leaky_relu", "gelu", "silu", "sigmoid", "tanh")


def _start(name: str, cfg: ConfigView, knobs: RunKnobs, default_size: int = 224) -> tuple[GraphBuilder, str]:
    size = knobs.image_size or cfg.int("image_size", default_size)
    b = GraphBuilder(name, knobs.dtype or "int8")
    x = b.input("image", (knobs.batch, cfg.int("num_channels", 3), size, size))
    return b, x


def _classifier(b: GraphBuilder, x: str, num_labels: int) -> str:
    b.layer = "head"
    pooled = b.global_avgpool("avgpool", x)
    return b.linear("fc", pooled, num_labels, bias=True)


def _conv_bn(b: GraphBuilder, name: str, x: str, out: int, k: int, stride: int = 1, groups: int = 1,
             act: str | None = "relu", bn_name: str | None = None) -> str:
    y = b.conv2d(name, x, out, k, stride, k // 2, groups)
    y = b.batchnorm(bn_name or f"{name}.bn", y)
    return b.unary(f"{name}.{act}", act, y) if act else y


def build_resnet(name: str, cfg: ConfigView, knobs: RunKnobs) -> Graph:
    """ResNet v1.5 (stride in the 3x3 of a bottleneck, as torchvision and HF ``ResNetModel``)."""
    layer_type = cfg.str("layer_type", "bottleneck", choices=("basic", "bottleneck"))
    depths = cfg.int_list("depths")
    widths = cfg.int_list("hidden_sizes")
    if len(depths) != len(widths):
        raise cfg.error("hidden_sizes", f"has {len(widths)} entries but depths has {len(depths)}",
                        expected="one width per stage")
    act = cfg.str("hidden_act", "relu", choices=ACTIVATIONS)
    b, x = _start(name, cfg, knobs)
    b.layer = "stem"
    x = b.conv2d("conv1", x, cfg.int("embedding_size", 64), 7, 2, 3)
    x = b.unary("relu", act, b.batchnorm("bn1", x))
    x = b.pool("maxpool", x, "maxpool", 3, 2, 1)
    first_stride = 2 if cfg.bool("downsample_in_first_stage", False) else 1
    channels = b.shape(x)[1]
    for stage, (depth, out) in enumerate(zip(depths, widths), start=1):
        for block in range(depth):
            stride = (first_stride if stage == 1 else 2) if block == 0 else 1
            prefix = f"layer{stage}.{block}"
            b.layer = prefix
            if layer_type == "basic":
                y = _conv_bn(b, f"{prefix}.conv1", x, out, 3, stride, act=act, bn_name=f"{prefix}.bn1")
                y = _conv_bn(b, f"{prefix}.conv2", y, out, 3, 1, act=None, bn_name=f"{prefix}.bn2")
            else:
                mid = out // cfg.int("reduction", 4)
                y = _conv_bn(b, f"{prefix}.conv1", x, mid, 1, 1, act=act, bn_name=f"{prefix}.bn1")
                y = _conv_bn(b, f"{prefix}.conv2", y, mid, 3, stride, act=act, bn_name=f"{prefix}.bn2")
                y = _conv_bn(b, f"{prefix}.conv3", y, out, 1, 1, act=None, bn_name=f"{prefix}.bn3")
            if stride != 1 or channels != out:
                x = _conv_bn(b, f"{prefix}.downsample.0", x, out, 1, stride, act=None,
                             bn_name=f"{prefix}.downsample.1")
            x = b.unary(f"{prefix}.relu", act, b.add(f"{prefix}.add", y, x))
            channels = out
    _classifier(b, x, cfg.int("num_labels", 1000))
    return b.build()


def _scaled(channels: int, multiplier: float, min_depth: int, divisor: int = 1) -> int:
    """Channel count scaled by a width multiplier (MobileNet rule; divisor 8 rounds as V2 does)."""
    value = channels * multiplier
    if divisor == 1:
        return max(min_depth, int(value))
    rounded = max(min_depth, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


MOBILENET_V1_LAYERS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
                       (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


def build_mobilenet_v1(name: str, cfg: ConfigView, knobs: RunKnobs) -> Graph:
    """MobileNetV1 (Howard et al. 2017, Table 1; last depthwise stride 1 as every implementation)."""
    mult = cfg.float("depth_multiplier", 1.0)
    min_depth = cfg.int("min_depth", 8)
    act = cfg.str("hidden_act", "relu6", choices=ACTIVATIONS)
    b, x = _start(name, cfg, knobs)
    b.layer = "stem"
    x = _conv_bn(b, "conv_stem", x, _scaled(32, mult, min_depth), 3, 2, act=act)
    for i, (out, stride) in enumerate(MOBILENET_V1_LAYERS, start=1):
        b.layer = f"block{i}"
        c = b.shape(x)[1]
        x = _conv_bn(b, f"block{i}.dw", x, c, 3, stride, groups=c, act=act)
        x = _conv_bn(b, f"block{i}.pw", x, _scaled(out, mult, min_depth), 1, 1, act=act)
    _classifier(b, x, cfg.int("num_labels", 1000))
    return b.build()


# (expansion t, output channels c, repeats n, first stride s) — MobileNetV2 paper Table 2.
MOBILENET_V2_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                         (6, 160, 3, 2), (6, 320, 1, 1))


def build_mobilenet_v2(name: str, cfg: ConfigView, knobs: RunKnobs) -> Graph:
    """MobileNetV2 (Sandler et al. 2018, Table 2; the torchvision / HF layout)."""
    mult = cfg.float("depth_multiplier", 1.0)
    divisor = cfg.int("depth_divisible_by", 8)
    min_depth = cfg.int("min_depth", 8)
    act = cfg.str("hidden_act", "relu6", choices=ACTIVATIONS)
    b, x = _start(name, cfg, knobs)
    b.layer = "stem"
    x = _conv_bn(b, "features.0", x, _scaled(32, mult, min_depth, divisor), 3, 2, act=act)
    index = 1
    for t, c, n, s in MOBILENET_V2_SETTINGS:
        out = _scaled(c, mult, min_depth, divisor)
        for i in range(n):
            prefix = f"features.{index}"
            b.layer = prefix
            stride = s if i == 0 else 1
            cin = b.shape(x)[1]
            y = x
            if t != 1:
                y = _conv_bn(b, f"{prefix}.expand", y, cin * t, 1, act=act)
            hidden = b.shape(y)[1]
            y = _conv_bn(b, f"{prefix}.dw", y, hidden, 3, stride, groups=hidden, act=act)
            y = _conv_bn(b, f"{prefix}.project", y, out, 1, act=None)
            x = b.add(f"{prefix}.add", y, x) if stride == 1 and cin == out else y
            index += 1
    b.layer = f"features.{index}"
    last = _scaled(1280, max(1.0, mult), min_depth, divisor) if cfg.bool("finegrained_output", True) else 1280
    x = _conv_bn(b, f"features.{index}", x, last, 1, act=act)
    _classifier(b, x, cfg.int("num_labels", 1000))
    return b.build()


def build_vgg(name: str, cfg: ConfigView, knobs: RunKnobs) -> Graph:
    """VGG (Simonyan & Zisserman 2015) in torchvision's layout: convs with bias, 3 FC layers."""
    layers = cfg.list("cfg")
    batch_norm = cfg.bool("batch_norm", False)
    b, x = _start(name, cfg, knobs)
    index = 0
    for i, item in enumerate(layers):
        b.layer = f"features.{index}"
        if item == "M":
            x = b.pool(f"features.{index}", x, "maxpool", 2, 2)
            index += 1
            continue
        if isinstance(item, bool) or not isinstance(item, int) or item < 1:
            raise cfg.error(f"cfg[{i}]", "bad layer", value=item, expected="a channel count or 'M' (maxpool)")
        x = b.conv2d(f"features.{index}", x, item, 3, 1, 1, bias=not batch_norm)
        if batch_norm:
            x = b.batchnorm(f"features.{index + 1}", x)
            index += 1
        x = b.unary(f"features.{index + 1}", "relu", x)
        index += 2
    b.layer = "classifier"
    n, c, h, w = b.shape(x)
    pooled_hw = cfg.int("pooled_size", 7)
    if (h, w) != (pooled_hw, pooled_hw):
        x = b.pool("avgpool", x, "avgpool", (h // pooled_hw, w // pooled_hw))
    x = b.reshape("flatten", x, (n, c * pooled_hw * pooled_hw))
    hidden = cfg.int("classifier_hidden", 4096)
    x = b.unary("classifier.1", "relu", b.linear("classifier.0", x, hidden))
    x = b.unary("classifier.4", "relu", b.linear("classifier.3", x, hidden))
    b.linear("classifier.6", x, cfg.int("num_labels", 1000))
    return b.build()


def build_layer_list(name: str, cfg: ConfigView, knobs: RunKnobs) -> Graph:
    """A network written as an explicit ``layers:`` list (see docs/workloads.md for the keys).

    Layer types: conv, maxpool, avgpool, global_avgpool, fc, upsample, route (pass an earlier
    output on; several are concatenated along channels), add. ``from`` refers to earlier layers by
    name or index (negative = relative, as Darknet's ``route``); the default input is the previous
    layer's output.
    """
    c, h, w = cfg.int_list("input")
    if knobs.image_size:
        h = w = knobs.image_size
    b = GraphBuilder(name, knobs.dtype or "int8")
    outputs: list[str] = []
    names: dict[str, int] = {}
    x = b.input("image", (knobs.batch, c, h, w))
    for i, raw in enumerate(cfg.list("layers")):
        layer = cfg.child(f"layers[{i}]", raw)
        kind = layer.str("type", choices=("conv", "maxpool", "avgpool", "global_avgpool", "fc", "upsample",
                                          "route", "add"))
        lname = layer.str("name", f"layer{i}")
        b.layer = lname
        sources = [_resolve(layer, ref, i, names, outputs) for ref in _refs(layer)]
        src = sources[0] if sources else x
        if kind == "conv":
            k = layer.int("size")
            bn = layer.bool("bn", False)
            y = b.conv2d(lname, src, layer.int("filters"), k, layer.int("stride", 1),
                         layer.int("pad", k // 2, minimum=0), layer.int("groups", 1), bias=not bn)
            if bn:
                y = b.batchnorm(f"{lname}.bn", y)
            act = layer.str("act", "linear", choices=(*ACTIVATIONS, "linear"))
            x = b.unary(f"{lname}.{act}", act, y) if act != "linear" else y
        elif kind in ("maxpool", "avgpool"):
            k = layer.int("size")
            x = b.pool(lname, src, kind, k, layer.int("stride", k), layer.int("pad", 0, minimum=0),
                       same=layer.bool("same", False))
        elif kind == "global_avgpool":
            x = b.global_avgpool(lname, src)
        elif kind == "fc":
            shape = b.shape(src)
            if len(shape) > 2:
                src = b.reshape(f"{lname}.flatten", src, (shape[0], _prod(shape[1:])))
            y = b.linear(lname, src, layer.int("outputs"), bias=layer.bool("bias", True))
            act = layer.str("act", "linear", choices=(*ACTIVATIONS, "linear"))
            x = b.unary(f"{lname}.{act}", act, y) if act != "linear" else y
        elif kind == "upsample":
            x = b.upsample(lname, src, layer.int("scale", 2))
        elif kind == "route":
            if not sources:
                raise layer.error("from", "a route needs at least one source", expected="a list of layers")
            x = sources[0] if len(sources) == 1 else b.concat(lname, sources, axis=1)
        else:  # add
            if len(sources) != 2:
                raise layer.error("from", "an add needs exactly two sources", expected="two layers")
            x = b.add(lname, sources[0], sources[1])
        outputs.append(x)
        names[lname] = i
    return b.build()


def _refs(layer: ConfigView) -> list:
    refs = layer.data.get("from")
    if refs is None:
        return []
    return refs if isinstance(refs, list) else [refs]


def _resolve(layer: ConfigView, ref, index: int, names: dict[str, int], outputs: list[str]) -> str:
    if isinstance(ref, str):
        if ref not in names:
            raise layer.error("from", "refers to an unknown layer", value=ref, expected="the name of an earlier layer")
        return outputs[names[ref]]
    if isinstance(ref, bool) or not isinstance(ref, int):
        raise layer.error("from", "bad reference", value=ref, expected="a layer name or index")
    target = index + ref if ref < 0 else ref
    if not 0 <= target < index:
        raise layer.error("from", "refers to a layer that is not earlier", value=ref,
                          expected=f"an index in [0, {index}) or a negative offset")
    return outputs[target]


def _prod(values) -> int:
    out = 1
    for v in values:
        out *= v
    return out

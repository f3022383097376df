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
    """ResNet v1.5 (stride in the 3x3 of a bottleneck, as torchvision and HF ``ResNetModel``); with
    torchvision's ``groups`` / ``width_per_group`` also ResNeXt and Wide ResNet."""
    layer_type = cfg.str("layer_type", "bottleneck", choices=("basic", "bottleneck"))
    depths = cfg.int_list("depths")
    widths = cfg.int_list("hidden_sizes")
    if len(depths) != len(widths):
        raise cfg.error("hidden_sizes", f"has {len(widths)} entries but depths has {len(depths)}",
                        expected="one width per stage")
    act = cfg.str("hidden_act", "relu", choices=ACTIVATIONS)
    groups = cfg.int("groups", 1)                  # torchvision keys: ResNeXt cardinality, bottleneck width
    width_per_group = cfg.int("width_per_group", 64)
    if layer_type == "basic" and (groups, width_per_group) != (1, 64):
        raise cfg.error("groups", "basic blocks have no grouped / widened 3x3 conv", value=groups,
                        expected="groups: 1 and width_per_group: 64 with layer_type basic")
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
                # torchvision's width rule: planes * width_per_group / 64 * groups (ResNeXt, Wide ResNet)
                mid = out // cfg.int("reduction", 4) * width_per_group // 64 * groups
                y = _conv_bn(b, f"{prefix}.conv1", x, mid, 1, 1, act=act, bn_name=f"{prefix}.bn1")
                y = _conv_bn(b, f"{prefix}.conv2", y, mid, 3, stride, groups=groups, act=act, bn_name=f"{prefix}.bn2")
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


# --------------------------------------------------------------------------------------------------
# The torchvision classifiers of accelerator papers: AlexNet, GoogLeNet, Inception-v3, SqueezeNet,
# EfficientNet, DenseNet. Layer names follow torchvision's module names (so a per-layer table lines up
# with a PyTorch profile); inference graphs (no auxiliary heads, no dropout).
# --------------------------------------------------------------------------------------------------

def _basic_conv(b: GraphBuilder, name: str, x: str, out: int, kernel, stride=1, padding=0) -> str:
    """torchvision's BasicConv2d (GoogLeNet, Inception-v3): conv without bias, batch-norm, ReLU."""
    y = b.conv2d(f"{name}.conv", x, out, kernel, stride, padding)
    return b.unary(f"{name}.relu", "relu", b.batchnorm(f"{name}.bn", y))


def build_alexnet(name: str, cfg: ConfigView, knobs: RunKnobs) -> Graph:
    """AlexNet (Krizhevsky et al. 2012) as torchvision builds it (the one-tower "One weird trick" variant:
    64-192-384-256-256 filters, convs with bias, adaptive 6x6 average pool, 4096-4096 classifier)."""
    b, x = _start(name, cfg, knobs)
    index = 0
    for item in cfg.list("features"):      # [filters, kernel, stride, padding] or "M" (3x3/2 max pool)
        b.layer = f"features.{index}"
        if item == "M":
            x = b.pool(f"features.{index}", x, "maxpool", 3, 2)
            index += 1
            continue
        f, k, s, p = item
        x = b.unary(f"features.{index + 1}", "relu", b.conv2d(f"features.{index}", x, f, k, s, p, bias=True))
        index += 2
    b.layer = "classifier"
    n, c, h, w = b.shape(x)
    pooled = cfg.int("pooled_size", 6)
    if (h, w) != (pooled, pooled):
        if h % pooled or w % pooled:
            raise cfg.error("pooled_size", f"does not divide the {h}x{w} feature map", value=pooled,
                            expected="an image size whose last feature map is a multiple of pooled_size")
        x = b.pool("avgpool", x, "avgpool", (h // pooled, w // pooled))
    x = b.reshape("flatten", x, (n, c * pooled * pooled))
    hidden = cfg.int("classifier_hidden", 4096)
    x = b.unary("classifier.2", "relu", b.linear("classifier.1", x, hidden))
    x = b.unary("classifier.5", "relu", b.linear("classifier.4", x, hidden))
    b.linear("classifier.6", x, cfg.int("num_labels", 1000))
    return b.build()


# GoogLeNet inception modules: (1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5", pool projection); a "M" is a
# ceil-mode 3x3/2 max pool (2x2/2 before 5a). torchvision's "5x5" branch is a 3x3 conv (vision#906).
GOOGLENET_BLOCKS = (("3a", (64, 96, 128, 16, 32, 32)), ("3b", (128, 128, 192, 32, 96, 64)), "M",
                    ("4a", (192, 96, 208, 16, 48, 64)), ("4b", (160, 112, 224, 24, 64, 64)),
                    ("4c", (128, 128, 256, 24, 64, 64)), ("4d", (112, 144, 288, 32, 64, 64)),
                    ("4e", (256, 160, 320, 32, 128, 128)), "M2",
                    ("5a", (256, 160, 320, 32, 128, 128)), ("5b", (384, 192, 384, 48, 128, 128)))


def build_googlenet(name: str, cfg: ConfigView, knobs: RunKnobs) -> Graph:
    """GoogLeNet / Inception-v1 (Szegedy et al. 2015) as torchvision builds it (BN after every conv, the
    "5x5" branch a 3x3 conv, ceil-mode pools); inference: no auxiliary classifiers."""
    b, x = _start(name, cfg, knobs)
    b.layer = "stem"
    x = _basic_conv(b, "conv1", x, 64, 7, 2, 3)
    x = b.pool("maxpool1", x, "maxpool", 3, 2, ceil_mode=True)
    x = _basic_conv(b, "conv2", x, 64, 1)
    x = _basic_conv(b, "conv3", x, 192, 3, 1, 1)
    x = b.pool("maxpool2", x, "maxpool", 3, 2, ceil_mode=True)
    pools = 3
    for block in GOOGLENET_BLOCKS:
        if block in ("M", "M2"):
            b.layer = f"maxpool{pools}"
            x = b.pool(f"maxpool{pools}", x, "maxpool", 3 if block == "M" else 2, 2, ceil_mode=True)
            pools += 1
            continue
        tag, (c1, r3, c3, r5, c5, pp) = block
        p = f"inception{tag}"
        b.layer = p
        br1 = _basic_conv(b, f"{p}.branch1", x, c1, 1)
        br2 = _basic_conv(b, f"{p}.branch2.1", _basic_conv(b, f"{p}.branch2.0", x, r3, 1), c3, 3, 1, 1)
        br3 = _basic_conv(b, f"{p}.branch3.1", _basic_conv(b, f"{p}.branch3.0", x, r5, 1), c5, 3, 1, 1)
        pooled = b.pool(f"{p}.branch4.0", x, "maxpool", 3, 1, 1, ceil_mode=True)
        br4 = _basic_conv(b, f"{p}.branch4.1", pooled, pp, 1)
        x = b.concat(f"{p}.cat", [br1, br2, br3, br4], axis=1)
    _classifier(b, x, cfg.int("num_labels", 1000))
    return b.build()


def _inception_a(b, p: str, x: str, pool_features: int) -> str:
    br1 = _basic_conv(b, f"{p}.branch1x1", x, 64, 1)
    br5 = _basic_conv(b, f"{p}.branch5x5_2", _basic_conv(b, f"{p}.branch5x5_1", x, 48, 1), 64, 5, 1, 2)
    d = _basic_conv(b, f"{p}.branch3x3dbl_1", x, 64, 1)
    d = _basic_conv(b, f"{p}.branch3x3dbl_3", _basic_conv(b, f"{p}.branch3x3dbl_2", d, 96, 3, 1, 1), 96, 3, 1, 1)
    bp = _basic_conv(b, f"{p}.branch_pool", b.pool(f"{p}.avg_pool", x, "avgpool", 3, 1, 1), pool_features, 1)
    return b.concat(f"{p}.cat", [br1, br5, d, bp], axis=1)


def _inception_b(b, p: str, x: str) -> str:
    br3 = _basic_conv(b, f"{p}.branch3x3", x, 384, 3, 2)
    d = _basic_conv(b, f"{p}.branch3x3dbl_1", x, 64, 1)
    d = _basic_conv(b, f"{p}.branch3x3dbl_3", _basic_conv(b, f"{p}.branch3x3dbl_2", d, 96, 3, 1, 1), 96, 3, 2)
    return b.concat(f"{p}.cat", [br3, d, b.pool(f"{p}.max_pool", x, "maxpool", 3, 2)], axis=1)


def _inception_c(b, p: str, x: str, c7: int) -> str:
    br1 = _basic_conv(b, f"{p}.branch1x1", x, 192, 1)
    s = _basic_conv(b, f"{p}.branch7x7_1", x, c7, 1)
    s = _basic_conv(b, f"{p}.branch7x7_2", s, c7, (1, 7), 1, (0, 3))
    s = _basic_conv(b, f"{p}.branch7x7_3", s, 192, (7, 1), 1, (3, 0))
    d = _basic_conv(b, f"{p}.branch7x7dbl_1", x, c7, 1)
    for i, (out, k, pad) in enumerate(((c7, (7, 1), (3, 0)), (c7, (1, 7), (0, 3)), (c7, (7, 1), (3, 0)),
                                       (192, (1, 7), (0, 3))), start=2):
        d = _basic_conv(b, f"{p}.branch7x7dbl_{i}", d, out, k, 1, pad)
    bp = _basic_conv(b, f"{p}.branch_pool", b.pool(f"{p}.avg_pool", x, "avgpool", 3, 1, 1), 192, 1)
    return b.concat(f"{p}.cat", [br1, s, d, bp], axis=1)


def _inception_d(b, p: str, x: str) -> str:
    br3 = _basic_conv(b, f"{p}.branch3x3_2", _basic_conv(b, f"{p}.branch3x3_1", x, 192, 1), 320, 3, 2)
    s = _basic_conv(b, f"{p}.branch7x7x3_1", x, 192, 1)
    s = _basic_conv(b, f"{p}.branch7x7x3_2", s, 192, (1, 7), 1, (0, 3))
    s = _basic_conv(b, f"{p}.branch7x7x3_3", s, 192, (7, 1), 1, (3, 0))
    s = _basic_conv(b, f"{p}.branch7x7x3_4", s, 192, 3, 2)
    return b.concat(f"{p}.cat", [br3, s, b.pool(f"{p}.max_pool", x, "maxpool", 3, 2)], axis=1)


def _inception_e(b, p: str, x: str) -> str:
    br1 = _basic_conv(b, f"{p}.branch1x1", x, 320, 1)
    t = _basic_conv(b, f"{p}.branch3x3_1", x, 384, 1)
    t = b.concat(f"{p}.branch3x3.cat", [_basic_conv(b, f"{p}.branch3x3_2a", t, 384, (1, 3), 1, (0, 1)),
                                         _basic_conv(b, f"{p}.branch3x3_2b", t, 384, (3, 1), 1, (1, 0))], axis=1)
    d = _basic_conv(b, f"{p}.branch3x3dbl_2", _basic_conv(b, f"{p}.branch3x3dbl_1", x, 448, 1), 384, 3, 1, 1)
    d = b.concat(f"{p}.branch3x3dbl.cat", [_basic_conv(b, f"{p}.branch3x3dbl_3a", d, 384, (1, 3), 1, (0, 1)),
                                            _basic_conv(b, f"{p}.branch3x3dbl_3b", d, 384, (3, 1), 1, (1, 0))], axis=1)
    bp = _basic_conv(b, f"{p}.branch_pool", b.pool(f"{p}.avg_pool", x, "avgpool", 3, 1, 1), 192, 1)
    return b.concat(f"{p}.cat", [br1, t, d, bp], axis=1)


def build_inception_v3(name: str, cfg: ConfigView, knobs: RunKnobs) -> Graph:
    """Inception-v3 (Szegedy et al. 2016) as torchvision builds it (299x299 input, BN eps 1e-3 after every
    conv, factorised 1x7/7x1 and 1x3/3x1 convs); inference: the auxiliary classifier is not run."""
    b, x = _start(name, cfg, knobs, default_size=299)
    b.layer = "stem"
    x = _basic_conv(b, "Conv2d_1a_3x3", x, 32, 3, 2)
    x = _basic_conv(b, "Conv2d_2a_3x3", x, 32, 3)
    x = _basic_conv(b, "Conv2d_2b_3x3", x, 64, 3, 1, 1)
    x = b.pool("maxpool1", x, "maxpool", 3, 2)
    x = _basic_conv(b, "Conv2d_3b_1x1", x, 80, 1)
    x = _basic_conv(b, "Conv2d_4a_3x3", x, 192, 3)
    x = b.pool("maxpool2", x, "maxpool", 3, 2)
    for tag, pool_features in (("5b", 32), ("5c", 64), ("5d", 64)):
        b.layer = f"Mixed_{tag}"
        x = _inception_a(b, f"Mixed_{tag}", x, pool_features)
    b.layer = "Mixed_6a"
    x = _inception_b(b, "Mixed_6a", x)
    for tag, c7 in (("6b", 128), ("6c", 160), ("6d", 160), ("6e", 192)):
        b.layer = f"Mixed_{tag}"
        x = _inception_c(b, f"Mixed_{tag}", x, c7)
    b.layer = "Mixed_7a"
    x = _inception_d(b, "Mixed_7a", x)
    for tag in ("7b", "7c"):
        b.layer = f"Mixed_{tag}"
        x = _inception_e(b, f"Mixed_{tag}", x)
    _classifier(b, x, cfg.int("num_labels", 1000))
    return b.build()


def build_squeezenet(name: str, cfg: ConfigView, knobs: RunKnobs) -> Graph:
    """SqueezeNet (Iandola et al. 2016) 1.0 or 1.1 as torchvision builds them: Fire modules (1x1 squeeze,
    parallel 1x1 and 3x3 expands concatenated), convs with bias, ceil-mode max pools, a 1x1-conv classifier
    followed by a global average pool."""
    version = cfg.str("version", "1_0", choices=("1_0", "1_1"))
    b, x = _start(name, cfg, knobs)
    b.layer = "features.0"
    if version == "1_0":
        x = b.unary("features.1", "relu", b.conv2d("features.0", x, 96, 7, 2, bias=True))
        plan = ("M", (16, 64), (16, 64), (32, 128), "M", (32, 128), (48, 192), (48, 192), (64, 256), "M", (64, 256))
    else:
        x = b.unary("features.1", "relu", b.conv2d("features.0", x, 64, 3, 2, bias=True))
        plan = ("M", (16, 64), (16, 64), "M", (32, 128), (32, 128), "M", (48, 192), (48, 192), (64, 256), (64, 256))
    for index, item in enumerate(plan, start=2):
        p = f"features.{index}"
        b.layer = p
        if item == "M":
            x = b.pool(p, x, "maxpool", 3, 2, ceil_mode=True)
            continue
        squeeze, expand = item
        s = b.unary(f"{p}.squeeze_activation", "relu", b.conv2d(f"{p}.squeeze", x, squeeze, 1, bias=True))
        e1 = b.unary(f"{p}.expand1x1_activation", "relu", b.conv2d(f"{p}.expand1x1", s, expand, 1, bias=True))
        e3 = b.unary(f"{p}.expand3x3_activation", "relu", b.conv2d(f"{p}.expand3x3", s, expand, 3, 1, 1, bias=True))
        x = b.concat(f"{p}.cat", [e1, e3], axis=1)
    b.layer = "classifier"
    x = b.unary("classifier.2", "relu", b.conv2d("classifier.1", x, cfg.int("num_labels", 1000), 1, bias=True))
    b.global_avgpool("classifier.3", x)
    return b.build()


def _make_divisible(value: float, divisor: int = 8) -> int:
    """torchvision's ``_make_divisible`` (channel rounding of MobileNet/EfficientNet)."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


# EfficientNet-B0 stages (expand ratio, kernel, first stride, in, out, repeats) — Tan & Le 2019, Table 1.
EFFICIENTNET_STAGES = ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
                       (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1))


def build_efficientnet(name: str, cfg: ConfigView, knobs: RunKnobs) -> Graph:
    """EfficientNet (Tan & Le 2019) B0-B7 as torchvision builds them: MBConv blocks (1x1 expand, depthwise
    kxk, squeeze-and-excitation with max(1, in/4) channels, 1x1 project), SiLU, width/depth multipliers;
    inference: stochastic depth and dropout are identities."""
    import math

    width = cfg.float("width_coefficient", 1.0)
    depth = cfg.float("depth_coefficient", 1.0)
    b, x = _start(name, cfg, knobs)
    b.layer = "features.0"
    stem = _make_divisible(32 * width)
    x = _conv_bn(b, "features.0.0", x, stem, 3, 2, act="silu", bn_name="features.0.1")
    for stage, (expand, k, stride, cin, cout, repeats) in enumerate(EFFICIENTNET_STAGES, start=1):
        out = _make_divisible(cout * width)
        for i in range(int(math.ceil(repeats * depth))):
            p = f"features.{stage}.{i}"
            b.layer = p
            inp = b.shape(x)[1]
            y, j = x, 0
            hidden = _make_divisible(inp * expand)
            if hidden != inp:
                y = _conv_bn(b, f"{p}.block.{j}", y, hidden, 1, act="silu"); j += 1
            y = _conv_bn(b, f"{p}.block.{j}", y, hidden, k, stride if i == 0 else 1, groups=hidden, act="silu"); j += 1
            # squeeze-and-excitation: global average, 1x1 reduce (SiLU), 1x1 expand (sigmoid), channel scale
            n, c, h, w = b.shape(y)
            s = b.pool(f"{p}.block.{j}.avgpool", y, "avgpool", (h, w))
            s = b.unary(f"{p}.block.{j}.activation", "silu", b.conv2d(f"{p}.block.{j}.fc1", s, max(1, inp // 4), 1,
                                                                       bias=True))
            s = b.unary(f"{p}.block.{j}.scale_activation", "sigmoid", b.conv2d(f"{p}.block.{j}.fc2", s, hidden, 1,
                                                                                 bias=True))
            y = b.mul(f"{p}.block.{j}.scale", y, s); j += 1
            y = _conv_bn(b, f"{p}.block.{j}", y, out, 1, act=None)
            x = b.add(f"{p}.add", y, x) if (stride if i == 0 else 1) == 1 and inp == out else y
    last = len(EFFICIENTNET_STAGES) + 1
    b.layer = f"features.{last}"
    x = _conv_bn(b, f"features.{last}.0", x, 4 * b.shape(x)[1], 1, act="silu", bn_name=f"features.{last}.1")
    b.layer = "head"
    pooled = b.global_avgpool("avgpool", x)
    b.linear("classifier.1", pooled, cfg.int("num_labels", 1000), bias=True)
    return b.build()


def build_densenet(name: str, cfg: ConfigView, knobs: RunKnobs) -> Graph:
    """DenseNet-BC (Huang et al. 2017) as torchvision builds it: dense layers BN-ReLU-1x1 conv (bn_size x
    growth) - BN-ReLU-3x3 conv (growth) on the concatenation of every earlier feature map of the block,
    transitions BN-ReLU-1x1 conv (halving channels) - 2x2 average pool; convs without bias."""
    growth = cfg.int("growth_rate", 32)
    blocks = cfg.int_list("block_config")
    bn_size = cfg.int("bn_size", 4)
    b, x = _start(name, cfg, knobs)
    b.layer = "features.conv0"
    x = b.conv2d("features.conv0", x, cfg.int("num_init_features", 64), 7, 2, 3)
    x = b.unary("features.relu0", "relu", b.batchnorm("features.norm0", x))
    x = b.pool("features.pool0", x, "maxpool", 3, 2, 1)
    for i, layers in enumerate(blocks, start=1):
        features = [x]
        for j in range(1, layers + 1):
            p = f"features.denseblock{i}.denselayer{j}"
            b.layer = p
            inp = features[0] if len(features) == 1 else b.concat(f"{p}.cat", features, axis=1)
            y = b.unary(f"{p}.relu1", "relu", b.batchnorm(f"{p}.norm1", inp))
            y = b.conv2d(f"{p}.conv1", y, bn_size * growth, 1)
            y = b.unary(f"{p}.relu2", "relu", b.batchnorm(f"{p}.norm2", y))
            features.append(b.conv2d(f"{p}.conv2", y, growth, 3, 1, 1))
        x = b.concat(f"features.denseblock{i}.cat", features, axis=1)
        if i != len(blocks):
            p = f"features.transition{i}"
            b.layer = p
            y = b.unary(f"{p}.relu", "relu", b.batchnorm(f"{p}.norm", x))
            y = b.conv2d(f"{p}.conv", y, b.shape(y)[1] // 2, 1)
            x = b.pool(f"{p}.pool", y, "avgpool", 2, 2)
    b.layer = "head"
    x = b.unary("features.relu5", "relu", b.batchnorm("features.norm5", x))
    pooled = b.global_avgpool("avgpool", x)
    b.linear("classifier", pooled, cfg.int("num_labels", 1000), bias=True)
    return b.build()

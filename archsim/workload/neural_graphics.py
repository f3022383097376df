"""The ``instant_ngp`` model builder: NeRF, neural SDF, gigapixel image and neural volume primitives
(Müller et al., SIGGRAPH 2022), as the NGPC paper (ISCA 2023) evaluates them.

Encoding semantics and work counting: ``archsim.workload.encodings``.
"""
from __future__ import annotations

from archsim.workload.builder import GraphBuilder
from archsim.workload.config_view import ConfigView
from archsim.workload.encodings import DEFAULT_POINTS, GRID_TYPES, MLP_PAD, per_level_scale
from archsim.workload.graph import DTYPE_BYTES, Graph
from archsim.workload.knobs import RunKnobs

APPS = ("nerf", "sdf", "image", "volume")


def _encoding(b: GraphBuilder, cfg: ConfigView, x: str) -> str:
    enc = cfg.child("encoding", cfg.data.get("encoding"))
    otype = enc.str("otype")
    key = otype.lower()
    b.layer = "encoding"
    if key == "frequency":
        return b.frequency_encoding("encoding", x, enc.int("n_frequencies", 12))
    if key not in GRID_TYPES:
        raise enc.error("otype", "unsupported encoding", value=otype,
                        expected="HashGrid, DenseGrid, TiledGrid or Frequency")
    grid_type = GRID_TYPES[key]
    levels = enc.int("n_levels", 16)
    base = enc.int("base_resolution", 16)
    if enc.has("per_level_scale"):
        scale = enc.float("per_level_scale")
    else:
        scale = per_level_scale(levels, base, cfg.float("finest_resolution", 2048))
    features = enc.int("n_features_per_level", 2)
    if grid_type == "hash":
        return b.hash_encoding("encoding", x, levels, features, enc.int("log2_hashmap_size", 19), base, scale)
    return b.grid_encoding("encoding", x, levels, features, base, scale, tiled=grid_type == "tiled")


def _pad(b: GraphBuilder, name: str, x: str, multiple: int = MLP_PAD) -> str:
    """Zero-pad the feature axis of ``x`` to a multiple of 16, as tcnn's fully fused MLP does (layout only)."""
    n, k = b.shape(x)
    padded = -(-k // multiple) * multiple
    return x if padded == k else b.gather(name, [x], (n, padded))


def _mlp(b: GraphBuilder, cfg: ConfigView, key: str, x: str, n_out: int) -> str:
    """tcnn FullyFusedMLP: ``n_hidden_layers`` hidden layers of ``n_neurons``, no biases, ReLU between
    layers, output width padded to 16 (the padded columns are computed, as on the GPU)."""
    net = cfg.child(key, cfg.data.get(key) or {})
    width = net.int("n_neurons", 64)
    hidden = net.int("n_hidden_layers", 2, minimum=0)
    act = net.str("activation", "ReLU", choices=("ReLU", "None"))
    b.layer = key
    x = _pad(b, f"{key}.input_pad", x)
    out_width = -(-n_out // MLP_PAD) * MLP_PAD
    for i in range(hidden + 1):
        last = i == hidden
        x = b.linear(f"{key}.{i}", x, out_width if last else width, bias=False)
        if not last and act == "ReLU":
            x = b.unary(f"{key}.{i}.relu", "relu", x)
    return x


def build_instant_ngp(name: str, cfg: ConfigView, knobs: RunKnobs) -> Graph:
    """An instant-ngp neural graphics primitive: input encoding + tiny MLP(s), one query per point.

    ``app: nerf`` adds the NeRF split: density MLP (``network``) on the position encoding, its 16
    outputs concatenated with the spherical-harmonics direction encoding (``dir_encoding``) into the
    color MLP (``rgb_network``, 3 outputs padded to 16). Other apps run one MLP with
    ``n_output_dims`` outputs. Points per step = ``points`` × ``batch`` knobs (default 262,144 × 1).
    Output activations (density exp, color sigmoid) and volume compositing belong to the renderer's
    compositing kernel, not to the network, and are not part of the graph.
    """
    app = cfg.str("app", "nerf", choices=APPS)
    dims = cfg.int("n_input_dims", 2 if app == "image" else 3)
    points = (knobs.points or DEFAULT_POINTS) * knobs.batch
    b = GraphBuilder(name, knobs.dtype or cfg.str("dtype", "fp16", choices=tuple(DTYPE_BYTES)))
    x = b.input("positions", (points, dims), dtype="fp32")
    enc = _encoding(b, cfg, x)
    if app == "nerf":
        density = _mlp(b, cfg, "network", enc, cfg.int("n_density_outputs", 16))
        b.layer = "dir_encoding"
        d = b.input("directions", (points, 3), dtype="fp32")
        dir_cfg = cfg.child("dir_encoding", cfg.data.get("dir_encoding") or {})
        dir_type = dir_cfg.str("otype", "SphericalHarmonics", choices=("SphericalHarmonics", "Frequency"))
        if dir_type == "SphericalHarmonics":
            denc = b.sh_encoding("dir_encoding", d, dir_cfg.int("degree", 4))
        else:
            denc = b.frequency_encoding("dir_encoding", d, dir_cfg.int("n_frequencies", 4))
        b.layer = "rgb_network"
        rgb_in = b.concat("rgb_network.input", [density, denc], axis=1)
        _mlp(b, cfg, "rgb_network", rgb_in, 3)
    else:
        default_out = {"sdf": 1, "image": 3, "volume": 4}[app]
        _mlp(b, cfg, "network", enc, cfg.int("n_output_dims", default_out))
    meta = {"model_type": "instant_ngp", "app": app, "points": str(points)}
    return b.build(meta)

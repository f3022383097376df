"""GraphBuilder: construct a Graph op by op, with output shapes computed as the op defines them.

Each method appends one op and returns the name of its output tensor (or names, for ``split``).
Weights are created on the fly with role ``weight``; pass an existing weight name to share one
(e.g. a tied LM head reuses the embedding table).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from archsim.errors import WorkloadError
from archsim.trace.checks import conv_output_size
from archsim.workload.encodings import SH_MAX_DEGREE, grid_levels
from archsim.workload.graph import Graph, Op, Tensor, dtype_bytes

UNARY_KINDS = ("relu", "relu6", "leaky_relu", "gelu", "silu", "sigmoid", "tanh", "rope", "allreduce")


class GraphBuilder:
    """Accumulates tensors and ops of one Graph; call ``build()`` at the end."""

    def __init__(self, name: str, dtype: str = "int8", phase: str = ""):
        dtype_bytes(dtype)  # validates the name
        self.name = name
        self.dtype = dtype
        self.phase = phase
        self.tensors: dict[str, Tensor] = {}
        self.ops: list[Op] = []
        self.layer = ""

    # -- tensors -------------------------------------------------------------------------------
    def shape(self, name: str) -> tuple[int, ...]:
        """Shape of tensor ``name``."""
        return self.tensors[name].shape

    def _tensor(self, name: str, shape: Sequence[int], role: str, dtype: str | None = None) -> str:
        if name in self.tensors:
            raise WorkloadError(f"graph {self.name!r}: tensor {name!r} defined twice")
        shape = tuple(int(s) for s in shape)
        if any(s <= 0 for s in shape):
            raise WorkloadError(f"graph {self.name!r}: tensor {name!r} has non-positive shape {shape}")
        self.tensors[name] = Tensor(name, shape, dtype or self.dtype, role)
        return name

    def input(self, name: str, shape: Sequence[int], role: str = "input", dtype: str | None = None) -> str:
        """Declare a graph input (``role`` input or kv_cache; ``dtype`` defaults to the graph's)."""
        return self._tensor(name, shape, role, dtype)

    def weight(self, name: str, shape: Sequence[int]) -> str:
        """Declare a parameter tensor and return its name."""
        return self._tensor(name, shape, "weight")

    def _op(self, name: str, kind: str, inputs: Sequence[str], out_shapes: Sequence[Sequence[int]],
            attrs: dict[str, Any] | None = None, out_names: Sequence[str] | None = None) -> list[str]:
        if out_names is None:
            out_names = [name] if len(out_shapes) == 1 else [f"{name}.{i}" for i in range(len(out_shapes))]
        outs = [self._tensor(n, s, "activation") for n, s in zip(out_names, out_shapes)]
        self.ops.append(Op(name, kind, tuple(inputs), tuple(outs), dict(attrs or {}), self.layer))
        return outs

    # -- matrix ops ----------------------------------------------------------------------------
    def conv2d(self, name: str, x: str, out_channels: int, kernel: int | tuple[int, int],
               stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
               groups: int = 1, bias: bool = False) -> str:
        """2-D convolution of ``x`` [N, C, H, W] → [N, F, OH, OW] (symmetric zero padding)."""
        n, c, h, w = self.shape(x)
        r, s = _pair(kernel)
        sh, sw = _pair(stride)
        ph, pw = _pair(padding)
        if c % groups or out_channels % groups:
            raise WorkloadError(f"{self.name}: {name}: groups={groups} must divide C={c} and F={out_channels}")
        oh, ow = conv_output_size(h, r, sh, ph), conv_output_size(w, s, sw, pw)
        inputs = [x, self.weight(f"{name}.weight", (out_channels, c // groups, r, s))]
        if bias:
            inputs.append(self.weight(f"{name}.bias", (out_channels,)))
        attrs = {"stride": (sh, sw), "pad": (ph, pw), "groups": groups}
        return self._op(name, "conv2d", inputs, [(n, out_channels, oh, ow)], attrs)[0]

    def linear(self, name: str, x: str, out_features: int, bias: bool = True,
               weight: str | None = None, transposed_weight: bool = False, holds: Sequence[str] = ()) -> str:
        """``x`` [..., K] · W [K, N] (+ b) → [..., N]; ``weight`` reuses an existing [K, N] or [N, K] table.
        ``holds`` names weights the op keeps resident without reading them (idle MoE experts)."""
        *lead, k = self.shape(x)
        if weight is None:
            weight = self.weight(f"{name}.weight", (k, out_features))
        inputs = [x, weight]
        if bias:
            inputs.append(self.weight(f"{name}.bias", (out_features,)))
        return self._op(name, "linear", inputs, [(*lead, out_features)],
                        {"transposed_weight": transposed_weight, "holds": tuple(holds)})[0]

    def matmul(self, name: str, a: str, b: str, ragged: tuple[str, tuple[int, ...]] | None = None) -> str:
        """Batched product of activations ``a`` [G, M, K] and ``b`` [G, K, N] → [G, M, N]. ``ragged``:
        (dimension, per-request lengths) of a decode-attention product over the KV cache (the trace records
        them as ``ragged_dim`` / ``seq_lens``)."""
        g, m, k = self.shape(a)
        g2, k2, n = self.shape(b)
        if (g, k) != (g2, k2):
            raise WorkloadError(f"{self.name}: {name}: matmul shapes {self.shape(a)} x {self.shape(b)} do not agree")
        return self._op(name, "matmul", [a, b], [(g, m, n)], {"ragged": ragged} if ragged else None)[0]

    def kv_append(self, name: str, k: str, v: str, k_cache: tuple[int, ...], v_cache: tuple[int, ...]) -> tuple[str, str]:
        """Write the new tokens' keys ``k`` and values ``v`` into the KV cache; returns the caches (shapes
        ``k_cache``, ``v_cache``, role kv_cache), so attention over them runs after the write."""
        outs = (self._tensor(f"{name}.k_cache", k_cache, "kv_cache"), self._tensor(f"{name}.v_cache", v_cache, "kv_cache"))
        self.ops.append(Op(name, "kv_append", (k, v), outs, {}, self.layer))
        return outs

    # -- vector ops ----------------------------------------------------------------------------
    def unary(self, name: str, kind: str, x: str) -> str:
        """Element-wise ``kind`` (relu, gelu, silu, rope, allreduce …) of ``x``; same shape."""
        if kind not in UNARY_KINDS:
            raise WorkloadError(f"{self.name}: {name}: unknown unary op {kind!r}")
        return self._op(name, kind, [x], [self.shape(x)])[0]

    def glu(self, name: str, kind: str, x: str) -> str:
        """Gated activation (``swiglu``: silu(gate)·up, ``geglu``: gelu(gate)·up) of ``x`` [..., 2I] → [..., I]."""
        if kind not in ("swiglu", "geglu"):
            raise WorkloadError(f"{self.name}: {name}: unknown gated activation {kind!r}")
        *lead, two_i = self.shape(x)
        return self._op(name, kind, [x], [(*lead, two_i // 2)])[0]

    def add(self, name: str, a: str, b: str) -> str:
        """Element-wise sum (``b`` may broadcast into ``a``); shape of ``a``."""
        return self._op(name, "add", [a, b], [self.shape(a)])[0]

    def mul(self, name: str, a: str, b: str) -> str:
        """Element-wise product (``b`` may broadcast into ``a``); shape of ``a``."""
        return self._op(name, "mul", [a, b], [self.shape(a)])[0]

    def batchnorm(self, name: str, x: str) -> str:
        """Inference batch-norm over channels of ``x`` [N, C, H, W] (γ, β are its parameters)."""
        c = self.shape(x)[1]
        gamma, beta = self.weight(f"{name}.weight", (c,)), self.weight(f"{name}.bias", (c,))
        return self._op(name, "batchnorm", [x, gamma, beta], [self.shape(x)])[0]

    def layernorm(self, name: str, x: str, bias: bool = True) -> str:
        """LayerNorm over the last axis (γ and optional β)."""
        h = self.shape(x)[-1]
        inputs = [x, self.weight(f"{name}.weight", (h,))]
        if bias:
            inputs.append(self.weight(f"{name}.bias", (h,)))
        return self._op(name, "layernorm", inputs, [self.shape(x)])[0]

    def rmsnorm(self, name: str, x: str) -> str:
        """RMSNorm over the last axis (γ only)."""
        h = self.shape(x)[-1]
        return self._op(name, "rmsnorm", [x, self.weight(f"{name}.weight", (h,))], [self.shape(x)])[0]

    def softmax(self, name: str, x: str, ragged: tuple[str, tuple[int, ...]] | None = None) -> str:
        """Softmax over the last axis (``ragged`` as for ``matmul``)."""
        return self._op(name, "softmax", [x], [self.shape(x)], {"ragged": ragged} if ragged else None)[0]

    def pool(self, name: str, x: str, kind: str, kernel: int | tuple[int, int],
             stride: int | tuple[int, int] | None = None, padding: int | tuple[int, int] = 0,
             same: bool = False, ceil_mode: bool = False) -> str:
        """``maxpool``/``avgpool`` of ``x`` [N, C, H, W]: conv output-size rule, or ceil(H/stride)
        when ``same`` (Darknet/TF 'same' pooling, which may pad asymmetrically), or PyTorch's
        ``ceil_mode`` (round the window count up, but no window may start in the right padding)."""
        n, c, h, w = self.shape(x)
        r, s = _pair(kernel)
        sh, sw = _pair(stride if stride is not None else kernel)
        ph, pw = _pair(padding)
        if same:
            oh, ow = -(-h // sh), -(-w // sw)
        elif ceil_mode:
            def ceil_size(size, k, st, pad):
                out = -(-(size + 2 * pad - k) // st) + 1
                return out - 1 if (out - 1) * st >= size + pad else out
            oh, ow = ceil_size(h, r, sh, ph), ceil_size(w, s, sw, pw)
        else:
            oh, ow = conv_output_size(h, r, sh, ph), conv_output_size(w, s, sw, pw)
        attrs = {"kernel": (r, s), "stride": (sh, sw), "pad": (ph, pw)}
        return self._op(name, kind, [x], [(n, c, oh, ow)], attrs)[0]

    def global_avgpool(self, name: str, x: str) -> str:
        """Average over H and W: [N, C, H, W] → [N, C] (flattened, as classifiers use it)."""
        n, c, h, w = self.shape(x)
        return self._op(name, "avgpool", [x], [(n, c)], {"kernel": (h, w), "stride": (1, 1), "pad": (0, 0)})[0]

    def upsample(self, name: str, x: str, scale: int) -> str:
        """Nearest-neighbour upsampling of [N, C, H, W] by an integer ``scale``."""
        n, c, h, w = self.shape(x)
        return self._op(name, "upsample", [x], [(n, c, h * scale, w * scale)], {"scale": scale})[0]

    def embedding(self, name: str, ids: str, table: str) -> str:
        """Row lookup: ids [T] in ``table`` [V, H] → [T, H]."""
        (t,) = self.shape(ids)
        return self._op(name, "embedding", [ids, table], [(t, self.shape(table)[1])])[0]

    def topk(self, name: str, x: str, k: int) -> str:
        """Top-``k`` selection over the last axis of ``x`` [T, E] → [T, k] (MoE routing)."""
        *lead, e = self.shape(x)
        if not 0 < k <= e:
            raise WorkloadError(f"{self.name}: {name}: top-k with k={k} over {e} entries")
        return self._op(name, "topk", [x], [(*lead, k)], {"k": k})[0]

    def moe_combine(self, name: str, expert_outputs: Sequence[str], routing: str, shape: Sequence[int],
                    weighted_rows: int) -> str:
        """Weighted sum of expert outputs back into token order ([T, H]); ``weighted_rows`` = T·k."""
        return self._op(name, "moe_combine", [*expert_outputs, routing], [shape],
                        {"weighted_rows": weighted_rows})[0]

    # -- neural-graphics input encodings ---------------------------------------------------------
    def hash_encoding(self, name: str, x: str, levels: int, features_per_level: int, log2_table_size: int,
                      base_resolution: int, per_level_scale: float) -> str:
        """Multiresolution hash encoding (Instant-NGP) of points ``x`` [N, d] → [N, L·F].

        The table (one weight, [Σ entries, F]) holds ``min(next8(R_l^d), 2^T)`` entries per level
        (``archsim.workload.encodings.grid_levels``); each point reads 2^d corners per level."""
        return self._grid(name, "hash_encoding", x, levels, features_per_level, base_resolution,
                          per_level_scale, "hash", log2_table_size)

    def grid_encoding(self, name: str, x: str, levels: int, features_per_level: int, base_resolution: int,
                      per_level_scale: float, tiled: bool = False) -> str:
        """Multiresolution dense grid (tcnn ``DenseGrid``, or ``TiledGrid`` when ``tiled``) of ``x`` [N, d]
        → [N, L·F]; every level stores all ``R_l^d`` vertices (tiled: at most ``N_min^d``)."""
        return self._grid(name, "grid_encoding", x, levels, features_per_level, base_resolution,
                          per_level_scale, "tiled" if tiled else "dense", 0)

    def _grid(self, name: str, kind: str, x: str, levels: int, features: int, base_resolution: int,
              scale: float, grid_type: str, log2_table_size: int) -> str:
        n, d = self.shape(x)
        table = grid_levels(d, levels, base_resolution, scale, grid_type, log2_table_size)
        weight = self.weight(f"{name}.table", (sum(lv.entries for lv in table), features))
        attrs = {"grid_type": grid_type, "input_dims": d, "levels": levels, "features": features,
                 "base_resolution": base_resolution, "per_level_scale": scale,
                 "log2_table_size": log2_table_size, "resolutions": tuple(lv.resolution for lv in table),
                 "level_entries": tuple(lv.entries for lv in table), "hashed": tuple(lv.hashed for lv in table)}
        return self._op(name, kind, [x, weight], [(n, levels * features)], attrs)[0]

    def frequency_encoding(self, name: str, x: str, n_frequencies: int) -> str:
        """Positional (sin/cos) encoding of ``x`` [N, d] with ``n_frequencies`` octaves → [N, 2·d·n_frequencies]."""
        n, d = self.shape(x)
        return self._op(name, "frequency_encoding", [x], [(n, 2 * d * n_frequencies)],
                        {"n_frequencies": n_frequencies})[0]

    def sh_encoding(self, name: str, x: str, degree: int) -> str:
        """Spherical-harmonics encoding of directions ``x`` [N, 3] up to ``degree`` → [N, degree²]."""
        n, d = self.shape(x)
        if d != 3 or not 1 <= degree <= SH_MAX_DEGREE:
            raise WorkloadError(f"{self.name}: {name}: spherical harmonics need [N, 3] directions and "
                                f"1 <= degree <= {SH_MAX_DEGREE}; got {self.shape(x)}, degree {degree}")
        return self._op(name, "sh_encoding", [x], [(n, degree * degree)], {"degree": degree})[0]

    # -- zero-cost layout ops --------------------------------------------------------------------
    def reshape(self, name: str, x: str, shape: Sequence[int]) -> str:
        """View ``x`` with a new ``shape`` (same number of elements)."""
        if math.prod(shape) != math.prod(self.shape(x)):
            raise WorkloadError(f"{self.name}: {name}: cannot reshape {self.shape(x)} to {tuple(shape)}")
        return self._op(name, "reshape", [x], [shape])[0]

    def concat(self, name: str, xs: Sequence[str], axis: int) -> str:
        """Concatenate ``xs`` along ``axis``."""
        first = list(self.shape(xs[0]))
        first[axis] = sum(self.shape(x)[axis] for x in xs)
        return self._op(name, "concat", list(xs), [first], {"axis": axis})[0]

    def split(self, name: str, x: str, shapes: Sequence[Sequence[int]], after: Sequence[str] = ()) -> list[str]:
        """Cut ``x`` into pieces of the given ``shapes`` (layout only, e.g. fused QKV → Q, K, V, or a
        MoE token dispatch); the pieces also wait for the tensors in ``after`` (e.g. the routing)."""
        return self._op(name, "split", [x, *after], shapes)

    def gather(self, name: str, xs: Sequence[str], shape: Sequence[int]) -> str:
        """Assemble ``xs`` into one tensor of ``shape`` (layout only, e.g. prepending a [CLS] token)."""
        return self._op(name, "concat", list(xs), [shape])[0]

    def build(self, metadata: dict[str, str] | None = None) -> Graph:
        """Return the finished, validated Graph."""
        return Graph(self.name, dict(self.tensors), list(self.ops), self.phase, dict(metadata or {})).validate()


def _pair(v: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(v, int):
        return v, v
    a, b = v
    return int(a), int(b)

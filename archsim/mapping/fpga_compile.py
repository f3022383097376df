"""The FlightLLM instruction compiler: an archsim LLM trace -> one instruction stream per length bucket.

``compile_decode(trace, design, options)`` lowers one decode step of a LLaMA-class trace (``archsim
lower``'s ops: rmsnorm, qkv_proj, rope, kv_append, attn_qk, softmax, attn_v, o_proj, residual adds,
gate_up_proj with SwiGLU, down_proj, lm_head) into ``archsim.hw.fpga.Instruction``s for the design's
modules. Program layers are separated by SYS: a layer's first LD waits for the previous SYS, its last ST
releases the next one, SYS releases the next layer's LD.

Lowering per layer (the tiling the design's buffers dictate):

* **linear (MV mode)**: the output is cut into groups of ``mv_tile.n`` columns, K into the fewest chunks
  whose slice of one N-block column fits half of the A buffer and half of the meta buffer (double
  buffering). Per (group, chunk): one LD per A-buffer channel of its weights, then one MV. LD/MV tokens
  keep at most ``depth`` chunks in flight (depth = how many chunks the A/meta/FSB buffers hold). The
  activation vector is loaded once (a cross-channel LD), the bias once; the output is stored once.
* **fused epilogues** (always-on-chip decode): SiLU, the residual add / SwiGLU product and the three
  element-wise ops of RoPE run on the SFU right after each group's MV, with their second operand loaded
  per group, so the projection's output never leaves the chip between them. q·Kᵀ is fused with softmax per
  head. With ``always_on_chip=False`` every epilogue is a layer of its own whose inputs and outputs
  round-trip through HBM (one LD/MISC/ST per row).
* **attention (MV mode)**: per head, one MV per ``mv_tile.n`` columns of the scores (q·Kᵀ) or of the head
  dimension (p·V), its K/V slice loaded by one LD per channel that holds data.
* **KV append**: ``kv_append_reloads`` (FlightLLM's artifact does) reads the whole past K and V once
  more, one LD per A-buffer channel each.
* **MISC layers** (RMSNorm): per row, LD → MISC → ST through the global buffer.

Weights move at ``weight_bits`` (4: INT4) times their N:M density (``densities`` per projection, e.g.
``{"q_proj": 0.7}``); activations and KV are INT8. ``CompileOptions.artifact()`` is the setting of the
authors' artifact (INT4 weights, q/k at density 0.7, biases on the attention projections, the KV reload).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Mapping

from archsim.errors import WorkloadError
from archsim.hw.fpga import DesignParams, Instruction
from archsim.trace import Trace

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head")


@dataclass(frozen=True)
class CompileOptions:
    """How the compiler lowers (see module docstring)."""

    weight_bits: float = 4.0
    densities: Mapping[str, float] = field(default_factory=dict)
    attention_bias: bool = False
    always_on_chip: bool = True
    kv_append_reloads: bool = False
    decode_bucket: int = 16
    prefill_bucket: int = 128

    @staticmethod
    def artifact() -> "CompileOptions":
        """The FlightLLM artifact's setting (profile/.compiler_output IR): INT4 weights, q/k projections at
        0.7 density, biases on q/k/v/o, the KV-append layer re-reading the past KV."""
        return CompileOptions(weight_bits=4.0, densities={"q_proj": 0.7, "k_proj": 0.7}, attention_bias=True,
                              kv_append_reloads=True)

    def density(self, projection: str) -> float:
        d = float(self.densities.get(projection, 1.0))
        if not 0 < d <= 1:
            raise WorkloadError(f"density of {projection}: {d} is not in (0, 1]")
        return d


def bucket(length: int, unit: int) -> int:
    """``length`` rounded up to the compile bucket ``unit`` (decode 16, prefill 128 in FlightLLM)."""
    return -(-int(length) // unit) * unit


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


class _Emitter:
    """Collects instructions layer by layer and wires the SYS barriers between layers."""

    def __init__(self):
        self.out: list[Instruction] = []
        self.layer = 0

    def layer_done(self, insts: list[Instruction], last: bool) -> None:
        if not insts:
            return
        first, end = insts[0], insts[-1]
        assert first.module == "LD" and end.module == "ST", (first.module, end.module)
        insts[0] = replace(first, wait=("SYS",) if self.layer else ())
        insts[-1] = replace(insts[-1], release=("SYS",))
        for i in insts:
            self.out.append(replace(i, layer=self.layer))
        self.out.append(Instruction("SYS", wait=("ST",), release=() if last else ("LD",), layer=self.layer))
        self.layer += 1


def _with(insts: list[Instruction], wait: tuple[str, ...] | None = None,
          release: tuple[str, ...] | None = None) -> list[Instruction]:
    """``insts`` with the first one's waits and the last one's releases replaced."""
    insts = list(insts)
    if wait is not None:
        insts[0] = replace(insts[0], wait=wait)
    if release is not None:
        insts[-1] = replace(insts[-1], release=release)
    return insts


@dataclass(frozen=True)
class _Epilogue:
    """SFU ops fused after a projection: ``ops`` in order, ``operand`` (second input) loaded per group."""

    ops: tuple[str, ...]
    operand: bool


class Lowering:
    """Lowers layers for one design (module docstring)."""

    def __init__(self, design: DesignParams, options: CompileOptions):
        self.d = design
        self.b = design.buffers
        self.o = options
        self.blk = design.fsb_block
        self.group_blocks = design.mv_tile.n // self.blk               # N-blocks one MV computes
        self.channel_loops = _ceil(self.group_blocks, self.b.a_channels)

    # -------------------------------------------------------------------------------- linear, MV mode
    def k_chunks(self, k_blocks: int) -> list[int]:
        """K-blocks of each chunk of a linear layer's K (fewest chunks whose slice fits half the buffers)."""
        a_words = self.blk * self.blk // self.b.a_mv_channel_bytes      # A words of one block (dense)
        meta_words = self.blk * self.blk // 2 // self.b.meta_bytes       # 4-bit index per weight
        n = max(1, _ceil(k_blocks * a_words * self.channel_loops, self.b.a_depth // 2))
        while True:
            unit = max(1, k_blocks // n)
            chunks = [min(unit, k_blocks - s) for s in range(0, k_blocks, unit)]
            big = max(chunks)
            if self.b.a_depth // (big * a_words) >= 2 and self.b.meta_depth // (big * meta_words) >= 2:
                return chunks
            n += 1

    def linear(self, name: str, k: int, n: int, epilogue: _Epilogue | None, bias: bool) -> list[Instruction]:
        blk, b = self.blk, self.b
        if k % blk or n % blk:
            raise WorkloadError(f"{name}: K={k} and N={n} must be multiples of the {blk}-element block")
        kb, nb = k // blk, n // blk
        density = self.o.density(name)
        per_byte = self.o.weight_bits / 8 * density
        chunks = self.k_chunks(kb)
        a_words = blk * blk // b.a_mv_channel_bytes
        meta_words = blk * blk // 2 // b.meta_bytes
        big = max(chunks)
        depth = min(b.a_depth // (big * a_words), b.meta_depth // (big * meta_words),
                    b.fsb_depth // (_ceil(kb, len(chunks)) // b.fsb_bytes))
        groups = _ceil(nb, self.group_blocks)
        total = groups * len(chunks)
        out = [Instruction("LD", bytes=k, cross_channel=True, what="act")]
        if bias:
            out.append(Instruction("LD", bytes=n * 4, what="bias"))
        calc = 0
        for g in range(groups):
            for c, cb in enumerate(chunks):
                calc += 1
                last_chunk = c == len(chunks) - 1
                loads = []
                for ch in range(b.a_channels):
                    loops = sum(1 for lp in range(self.channel_loops) if lp * b.a_channels + ch < nb)
                    if loops:
                        loads.append(Instruction("LD", bytes=loops * cb * blk * blk, channels=b.a_channels,
                                                 hbm_bytes_per_byte=per_byte, what="weight"))
                out += _with(loads, wait=("MV",) if calc > depth else (), release=("MV",))
                rel = []
                if calc + depth <= total:
                    rel.append("LD")
                if calc == total and epilogue is None:
                    rel.append("ST")
                if last_chunk and epilogue is not None:
                    rel.append("MISC")
                out.append(Instruction("MV", wait=("LD",), release=tuple(rel), k_blocks=cb, density=density,
                                       what=name))
            if epilogue is not None:
                out += self._epilogue(epilogue, last=g == groups - 1)
        out.append(Instruction("ST", wait=("MISC",) if epilogue is not None else ("MV",), bytes=n, what="act"))
        return out

    def _epilogue(self, ep: _Epilogue, last: bool) -> list[Instruction]:
        out = []
        width = self.group_blocks * self.blk
        if ep.operand:
            loads = [Instruction("LD", bytes=width, channels=self.b.global_channels, what="act")
                     for _ in range(self.b.global_channels)]
            loads = _with(loads, release=("MISC",))
            out += loads * (2 if len(ep.ops) == 3 else 1)     # RoPE: sin and cos operands
        st = ("ST",) if last else ()
        if len(ep.ops) == 1:
            out.append(Instruction("MISC", wait=("LD", "MV") if ep.operand else ("MV",), release=st,
                                   k_blocks=self.group_blocks, misc_op=ep.ops[0]))
        else:
            waits = [("LD", "MV"), ("LD",), ()]
            for i, op in enumerate(ep.ops):
                out.append(Instruction("MISC", wait=waits[i], release=st if i == len(ep.ops) - 1 else (),
                                       k_blocks=self.group_blocks, misc_op=op))
        return out

    # -------------------------------------------------------------------------------- attention, MV mode
    def attention(self, heads: int, k: int, n: int, softmax: bool) -> list[Instruction]:
        """q·Kᵀ (k = head dim, n = context) or p·V (k = context, n = head dim), one token."""
        blk, b = self.blk, self.b
        kb, nb = _ceil(k, blk), _ceil(n, blk)
        mvs = _ceil(nb, self.group_blocks)
        depth = b.a_depth // (blk * k * self.channel_loops // b.a_mv_channel_bytes)
        out = [Instruction("LD", bytes=k * heads, cross_channel=True, what="act")]
        for h in range(heads):
            for i in range(mvs):
                calc = i + 1
                loads = []
                for ch in range(b.a_channels):
                    loops = sum(1 for lp in range(self.channel_loops) if lp * b.a_channels + ch < nb)
                    if loops:
                        loads.append(Instruction("LD", bytes=blk * k * loops, channels=b.a_channels, what="kv"))
                out += _with(loads, wait=("MV",) if calc > depth else (), release=("MV",))
                rel = []
                if calc + depth <= mvs:
                    rel.append("LD")
                if calc == mvs and h == heads - 1 and not softmax:
                    rel.append("ST")
                if calc == mvs and softmax:
                    rel.append("MISC")
                out.append(Instruction("MV", wait=("LD",), release=tuple(rel), k_blocks=kb, what="attention"))
            if softmax:
                out.append(Instruction("MISC", wait=("MV",), release=("ST",) if h == heads - 1 else (),
                                       k_blocks=nb, misc_op="softmax"))
        out.append(Instruction("ST", wait=("MISC",) if softmax else ("MV",), bytes=n * heads, what="act"))
        return out

    def kv_append(self, past_bytes: int, new_bytes: int) -> list[Instruction]:
        """Appending one token's K (or V): with ``kv_append_reloads`` the past cache is read once more."""
        ch = self.b.a_channels
        if self.o.kv_append_reloads:
            loads = [Instruction("LD", bytes=_ceil(past_bytes, ch), channels=ch, what="kv_reload")
                     for _ in range(ch)]
            return loads + [Instruction("ST", bytes=0, what="act")]
        # the new token's row, from the projection's output to the cache
        return [Instruction("LD", bytes=new_bytes, what="act"), Instruction("ST", bytes=new_bytes, what="kv_write")]

    # -------------------------------------------------------------------------------- SFU layers
    def misc(self, op: str, rows: int, k: int, operands: int = 1) -> list[Instruction]:
        """One SFU op over ``rows`` rows of ``k`` elements through the global buffer (LD, MISC, ST per row)."""
        b = self.b
        half = b.global_depth // 2 if operands == 2 else b.global_depth
        words = _ceil(k, b.global_bank_bytes * b.global_channels)
        depth = half // words
        out = []
        for r in range(1, rows + 1):
            if operands == 2:
                out.append(Instruction("LD", wait=("MISC",) if r > depth else (), bytes=k, what="act"))
                out.append(Instruction("LD", release=("MISC",), bytes=k, what="act"))
            else:
                out.append(Instruction("LD", wait=("MISC",) if r > depth else (), release=("MISC",), bytes=k,
                                       what="act"))
            out.append(Instruction("MISC", wait=("LD", "ST") if r > depth else ("LD",),
                                   release=("LD", "ST") if r + depth <= rows else ("ST",),
                                   k_blocks=_ceil(k, self.blk), misc_op=op))
            out.append(Instruction("ST", wait=("MISC",), release=("MISC",) if r + depth <= rows else (),
                                   bytes=k, what="act"))
        return out


def _decoder_shapes(trace: Trace) -> dict:
    """Model shapes from a decode trace of a LLaMA-class model (hidden, heads, head dim, KV heads,
    intermediate, vocabulary, layers, attention length)."""
    ops = {o.name: o for o in trace.ops}
    try:
        qk = next(o for o in trace.ops if o.name.endswith("attn.attn_qk"))
        qkv = next(o for o in trace.ops if o.name.endswith("attn.qkv_proj"))
        gu = next(o for o in trace.ops if o.name.endswith("mlp.gate_up_proj"))
        head = ops["lm_head"]
    except (StopIteration, KeyError):
        raise WorkloadError(f"{trace.name}: the FlightLLM compiler lowers LLaMA-class decoders (qkv_proj, "
                            "attn_qk, gate_up_proj with SwiGLU, lm_head)") from None
    if qk.dims.get("M", 1) != 1 or qkv.dims["M"] != 1:
        raise WorkloadError(f"{trace.name}: not a batch-1 decode step (FlightLLM runs batch 1)")
    heads, head_dim, context = qk.dims["B"], qk.dims["K"], qk.dims["N"]
    hidden = qkv.dims["K"]
    kv_heads = (qkv.dims["N"] - heads * head_dim) // (2 * head_dim)
    if kv_heads != heads:
        raise WorkloadError(f"{trace.name}: grouped-query attention is not lowered (FlightLLM: LLaMA2-7B)")
    layers = sum(1 for o in trace.ops if o.name.endswith("attn.qkv_proj"))
    return dict(hidden=hidden, heads=heads, head_dim=head_dim, context=context, inter=gu.dims["N"] // 2,
                vocab=head.dims["N"], layers=layers)


def compile_decode(trace: Trace, design: DesignParams, options: CompileOptions | None = None) -> list[Instruction]:
    """The instruction stream of one batch-1 decode step of ``trace`` (attention over its context length;
    compile once per ``decode_bucket`` of lengths) on ``design``."""
    o = options or CompileOptions()
    s = _decoder_shapes(trace)
    low = Lowering(design, o)
    em = _Emitter()
    h, ctx, heads, hd = s["hidden"], s["context"], s["heads"], s["head_dim"]
    fuse = o.always_on_chip
    rope = _Epilogue(("eltwise_mul", "eltwise_mul", "eltwise_add"), True)
    add = _Epilogue(("eltwise_add",), True)
    layers: list[list[Instruction]] = []

    def linear(name, k, n, epilogue=None, bias=False, unfused_rows=None):
        layers.append(low.linear(name, k, n, epilogue if fuse else None, bias))
        if epilogue is not None and not fuse:        # the epilogue as layers of its own, through HBM
            rows, width = unfused_rows or (1, n)
            for op in epilogue.ops:
                layers.append(low.misc(op, rows, width, 2 if epilogue.operand else 1))

    for _ in range(s["layers"]):
        layers.append(low.misc("RMSlayernorm", 1, h))
        linear("q_proj", h, heads * hd, rope, o.attention_bias, (heads, hd))
        linear("k_proj", h, heads * hd, rope, o.attention_bias, (heads, hd))
        linear("v_proj", h, heads * hd, None, o.attention_bias)
        past = heads * (ctx - 1) * hd
        layers.append(low.kv_append(past, heads * hd))
        layers.append(low.kv_append(past, heads * hd))
        layers.append(low.attention(heads, hd, ctx, softmax=fuse))
        if not fuse:
            layers.append(low.misc("softmax", heads, ctx))
        layers.append(low.attention(heads, ctx, hd, softmax=False))
        linear("o_proj", h, h, add, o.attention_bias)
        layers.append(low.misc("RMSlayernorm", 1, h))
        linear("gate_proj", h, s["inter"], _Epilogue(("silu",), False))
        linear("up_proj", h, s["inter"], _Epilogue(("eltwise_mul",), True))
        linear("down_proj", s["inter"], h, add)
    layers.append(low.misc("RMSlayernorm", 1, h))
    layers.append(low.linear("lm_head", h, s["vocab"], None, False))
    for i, layer in enumerate(layers):
        em.layer_done(layer, last=i == len(layers) - 1)
    return em.out


def decode_weight_bytes(trace: Trace, options: CompileOptions) -> float:
    """Bytes of every projection's weights at ``weight_bits`` × its density: what a decode step must
    stream (embedding excluded: one row is gathered)."""
    s = _decoder_shapes(trace)
    h, a, i = s["hidden"], s["heads"] * s["head_dim"], s["inter"]
    per_layer = {"q_proj": h * a, "k_proj": h * a, "v_proj": h * a, "o_proj": a * h,
                 "gate_proj": h * i, "up_proj": h * i, "down_proj": i * h}
    total = s["layers"] * sum(n * options.density(p) for p, n in per_layer.items())
    total += h * s["vocab"] * options.density("lm_head")
    return total * options.weight_bits / 8


def decode_kv_bytes(trace: Trace) -> int:
    """Bytes of the K and V caches a decode step reads at INT8 (every layer, every head, the context)."""
    s = _decoder_shapes(trace)
    return 2 * s["layers"] * s["heads"] * s["head_dim"] * s["context"]

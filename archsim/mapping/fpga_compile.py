"""The FlightLLM instruction compiler: an archsim LLM trace -> one instruction stream per length bucket.

``compile_decode(trace, design, options)`` lowers one decode step of a dense decoder trace (``archsim
lower``'s ops) into ``archsim.hw.fpga.Instruction``s for the design's
modules. Program layers are separated by SYS: a layer's first LD waits for the previous SYS, its last ST
releases the next one, SYS releases the next layer's LD. Two families are lowered (``decoder_shape``):
LLaMA-class (rmsnorm, qkv_proj, rope, kv_append, attn_qk, softmax, attn_v, o_proj, residual adds,
gate_up_proj with SwiGLU, down_proj, lm_head) and OPT/GPT-2-class (layernorm, no rope: learned positions are
added at the embedding, fc1 with its fused ReLU/GELU, fc2, biases on every projection). Grouped-query
attention and batches above 1 are refused. The LM head's vocabulary is padded to the sparse block (GPT-2's
50,257 columns load as 50,272).

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
authors' artifact (INT4 weights, q/k at density 0.7, biases on the attention projections, the KV reload)
including two over-fetches of its lowering (``artifact_tiling``): the last MV tile of a row loads a whole
tile (it counts a channel's blocks from the matrix's start, not the tile's), and a fused epilogue's second
operand is loaded whole by every global-buffer channel instead of a slice each. archsim's own setting
(the default) loads exactly the matrix and one slice per channel.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from archsim.errors import WorkloadError
from archsim.hw.fpga import PROJECTIONS, CompileOptions, DesignParams, Instruction  # noqa: F401 (re-exported)
from archsim.trace import Trace

def bucket(length: int, unit: int) -> int:
    """``length`` rounded up to the compile bucket ``unit`` (decode 16, prefill 128 in FlightLLM)."""
    return -(-int(length) // unit) * unit


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


class _Emitter:
    """Collects instructions layer by layer and wires the SYS barriers between layers."""

    def __init__(self):
        self.out: list[Instruction] = []
        self.starts: list[int] = []          # index of each layer's first instruction
        self.layer = 0

    def layer_done(self, insts: list[Instruction], last: bool) -> None:
        if not insts:
            return
        first, end = insts[0], insts[-1]
        assert first.module == "LD" and end.module == "ST", (first.module, end.module)
        insts[0] = replace(first, wait=("SYS",) if self.layer else ())
        insts[-1] = replace(insts[-1], release=("SYS",))
        self.starts.append(len(self.out))
        self.out.extend(insts)
        self.out.append(Instruction("SYS", wait=("ST",), release=() if last else ("LD",)))
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
                    loops = self._loops(g, ch, nb)
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

    def _loops(self, tile: int, channel: int, n_blocks: int) -> int:
        """N-blocks of MV tile ``tile`` that A-buffer ``channel`` loads (``artifact_tiling``: counted from
        the matrix's first block, so a short last tile loads whole)."""
        first = 0 if self.o.artifact_tiling else tile * self.group_blocks
        return sum(1 for lp in range(self.channel_loops) if first + lp * self.b.a_channels + channel < n_blocks)

    def _epilogue(self, ep: _Epilogue, last: bool) -> list[Instruction]:
        out = []
        width = self.group_blocks * self.blk
        if not self.o.artifact_tiling:
            width //= self.b.global_channels               # one slice of the operand per channel
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
                    loops = self._loops(i, ch, nb)
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


    # -------------------------------------------------------------------------------- prefill, MM mode
    def _mm_chunks(self, k_blocks: int) -> tuple[list[int], int]:
        """K chunks of an MM-mode linear layer (each N-block column's weights of a chunk fit half of the B
        buffer and of the meta buffer) and the LD/MM depth the B/meta/FSB buffers allow."""
        b, blk = self.b, self.blk
        w_words = max(1, blk * 2 // b.b_mm_bytes) * blk // 2         # = 8 words per dense block column
        meta_words = max(1, blk // b.meta_bytes) * blk // 2
        n = max(1, _ceil(k_blocks * w_words, b.b_depth // 2))
        while True:
            unit = max(1, k_blocks // n)
            chunks = [min(unit, k_blocks - s) for s in range(0, k_blocks, unit)]
            big = max(chunks)
            if b.b_depth // (big * w_words) >= 2 and b.meta_depth // (big * meta_words) >= 2:
                depth = min(b.b_depth // (big * w_words), b.meta_depth // (big * meta_words),
                            b.fsb_depth // (_ceil(k_blocks, len(chunks)) // b.fsb_bytes))
                return chunks, depth
            n += 1

    def linear_mm(self, name: str, m: int, k: int, n: int, epilogue: _Epilogue | None, bias: bool) -> list[Instruction]:
        """A projection over ``m`` tokens: activations stay in the A buffer per group of ``mm_tile.m`` rows,
        weights stream through the B buffer one N-block column (and K chunk) per MM."""
        blk, b = self.blk, self.b
        if k % blk or n % blk:
            raise WorkloadError(f"{name}: K={k} and N={n} must be multiples of the {blk}-element block")
        kb, nb, mb = k // blk, n // blk, _ceil(m, blk)
        last_rows = m - (mb - 1) * blk
        density = self.o.density(name)
        per_byte = self.o.weight_bits / 8 * density
        chunks, depth = self._mm_chunks(kb)
        out_depth = b.global_depth
        rows_blocks = self.d.mm_tile.m // blk
        out = [Instruction("LD", bytes=n * 4, what="bias")] if bias else []
        for s in range(0, mb, rows_blocks):
            e = min(s + rows_blocks, mb)
            group = [Instruction("LD", bytes=blk * blk * kb, channels=b.a_channels, what="act") for _ in range(s, e)]
            out += _with(group, wait=("MM",) if s > 0 else ())
            total = nb * len(chunks)
            calc = 0
            for j in range(nb):
                for c, cb in enumerate(chunks):
                    calc += 1
                    last = c == len(chunks) - 1
                    out.append(Instruction("LD", wait=("MM",) if calc > depth else (), release=("MM",),
                                           bytes=cb * blk * blk, cross_channel=True, hbm_bytes_per_byte=per_byte,
                                           what="weight"))
                    wait = ["LD"]
                    if j + 1 > out_depth and last:
                        wait.append("MISC" if epilogue is not None else "ST")
                    rel = []
                    if last:
                        rel.append("MISC" if epilogue is not None else "ST")
                    if calc + depth <= total or (calc == total and e < mb and last):
                        rel.append("LD")
                    out.append(Instruction("MM", wait=tuple(wait), release=tuple(rel), k_blocks=cb, density=density,
                                           what=name))
                frees = j + 1 + out_depth <= nb
                if epilogue is not None:
                    if epilogue.operand:
                        loads = _with([Instruction("LD", bytes=blk * blk, channels=b.global_channels, what="act")
                                       for _ in range(s, e)], release=("MISC",))
                        out += loads * (2 if len(epilogue.ops) == 3 else 1)
                    done = ("ST", "MM") if frees else ("ST",)
                    if len(epilogue.ops) == 1:
                        out.append(Instruction("MISC", wait=("LD", "MM") if epilogue.operand else ("MM",),
                                               release=done, k_blocks=e - s, misc_op=epilogue.ops[0]))
                    else:
                        for i, (w, op) in enumerate(zip((("LD", "MM"), ("LD",), ()), epilogue.ops)):
                            out.append(Instruction("MISC", wait=w, release=done if i == 2 else (), k_blocks=e - s,
                                                   misc_op=op))
                stores = [Instruction("ST", bytes=blk * blk if r < mb - 1 else last_rows, channels=b.global_channels,
                                      what="act") for r in range(s, e)]
                out += _with(stores, wait=("MISC",) if epilogue is not None else ("MM",),
                             release=("MM",) if frees and epilogue is None else ())
        return out

    def attention_mm(self, heads: int, m: int, k: int, n: int, scores: bool, mask, softmax: bool) -> list[Instruction]:
        """Prefill attention of ``m`` tokens: q·Kᵀ (``scores``: k = head dim, n = tokens) or p·V (k = tokens,
        n = head dim) per head, block-sparse by ``mask`` ((heads, m-blocks, key-blocks) of ``fsb_block``
        blocks, True = computed): q·Kᵀ skips empty rows and columns, p·V zero-fills the probabilities'
        empty blocks and loads each run of non-empty ones."""
        import numpy as np

        blk, b = self.blk, self.b
        kb, nb, mb = _ceil(k, blk), _ceil(n, blk), _ceil(m, blk)
        block = blk * blk
        depth = b.b_depth // (kb * (block // b.b_mm_bytes))
        out_depth = b.global_depth // nb
        rows_blocks = self.d.mm_tile.m // blk
        groups = list(range(0, mb, rows_blocks))
        out = []
        for h in range(heads):
            for g, s in enumerate(groups, start=1):
                e = min(s + rows_blocks, mb)
                loads = []
                for r in range(s, e):
                    row = mask[h, r]
                    if scores:
                        if row.any():
                            loads.append(Instruction("LD", bytes=block * kb, channels=b.a_channels, what="act"))
                    else:
                        if row.sum() < kb:
                            loads.append(Instruction("LD", bytes=block * int(kb - row.sum()), channels=b.a_channels,
                                                     zero_fill=True, what="act"))
                        edges = np.flatnonzero(np.diff(np.concatenate(([0], row.astype(np.int8), [0]))))
                        for a, z in zip(edges[::2], edges[1::2]):
                            loads.append(Instruction("LD", bytes=block * int(z - a), channels=b.a_channels, what="act"))
                out += _with(loads, wait=("MM",) if s > 0 else ())
                cols = [j for j in range(nb) if not scores or mask[h, s:e, j].any()]
                for calc, j in enumerate(cols, start=1):
                    out.append(Instruction("LD", wait=("MM",) if calc > depth else (), release=("MM",),
                                           bytes=block * kb, cross_channel=True, what="kv"))
                    wait = ["LD"]
                    if g > out_depth and calc == 1:
                        wait.append("MISC" if softmax else "ST")
                    rel = []
                    if calc + depth <= len(cols) or (calc == len(cols) and e < mb):
                        rel.append("LD")
                    if calc == len(cols):
                        rel.append("MISC" if softmax else "ST")
                    out.append(Instruction("MM", wait=tuple(wait), release=tuple(rel), k_blocks=kb, what="attention"))
                frees = g + out_depth <= len(groups)
                for r in range(s, e):
                    nz = int(mask[h, r].sum()) if scores else nb
                    if nz == 0:
                        continue
                    if softmax:
                        rel = ("ST", "MM") if frees and r == e - 1 else ("ST",)
                        sm = [Instruction("MISC", k_blocks=nz, misc_op="softmax") for _ in range(blk)]
                        out += _with(sm, wait=("MM",) if r == s else (), release=rel)
                        wait = ("MISC",)
                    else:
                        wait = ("MM",) if r == s else ()
                    out.append(Instruction("ST", wait=wait, release=("MM",) if frees and not softmax and r == e - 1
                                           else (), bytes=nz * block, channels=b.global_channels, what="act"))
        return out


@dataclass(frozen=True)
class DecoderShape:
    """What the compiler needs of a batch-1 decoder trace, LLaMA-class (RMSNorm, RoPE, SwiGLU gate/up/down) or
    OPT/GPT-2-class (LayerNorm, learned positions added at the embedding, fc1-activation-fc2, biases on every
    linear). ``length``: the attention length of a decode step, or the prompt of a prefill."""

    hidden: int
    heads: int
    head_dim: int
    length: int
    decode: bool               # one decode step (else a prefill)
    inter: int
    vocab: int
    layers: int
    norm: str                  # the SFU op of the norms: RMSlayernorm or layernorm
    rope: bool                 # rotary positions on q and k
    gated_mlp: bool            # SwiGLU gate_proj/up_proj/down_proj; else fc1 -> activation -> fc2
    activation: str            # silu (gate) or fc1's fused activation (relu for OPT, gelu for GPT-2)
    linear_bias: bool          # the model's projections carry biases

    def mlp_weights(self) -> dict[str, int]:
        """Weights of each MLP projection of one layer."""
        h, i = self.hidden, self.inter
        return {"gate_proj": h * i, "up_proj": h * i, "down_proj": i * h} if self.gated_mlp else \
            {"fc1": h * i, "fc2": i * h}


_NOT_LOWERED = ("the FlightLLM compiler lowers LLaMA-class (qkv_proj, attn_qk, gate_up_proj with SwiGLU, lm_head) "
                "and OPT/GPT-2-class (qkv_proj, attn_qk, fc1, fc2, lm_head) decoders")


def decoder_shape(trace: Trace) -> DecoderShape:
    """The shape of ``trace`` (one decode step or one prefill of a dense decoder), or a WorkloadError naming
    what is not lowered (grouped-query attention, batches above 1, other graphs)."""
    ops = {o.name: o for o in trace.ops}
    try:
        qk = next(o for o in trace.ops if o.name.endswith("attn.attn_qk"))
        qkv = next(o for o in trace.ops if o.name.endswith("attn.qkv_proj"))
        norm = next(o for o in trace.ops if o.name.endswith("input_norm"))
        head = ops["lm_head"]
        gate_up = next((o for o in trace.ops if o.name.endswith("mlp.gate_up_proj")), None)
        fc1 = None if gate_up else next(o for o in trace.ops if o.name.endswith("mlp.fc1"))
    except (StopIteration, KeyError):
        raise WorkloadError(f"{trace.name}: {_NOT_LOWERED}") from None
    # attn_qk: B = batch x KV heads, M = query heads per KV head x query rows; qkv_proj: M = batch x query rows,
    # N = (query heads + 2 x KV heads) x head dim. Solved for the batch, then for the heads.
    b_kv, head_dim = qk.dims["B"], qk.dims["K"]
    width = qkv.dims["N"] // head_dim
    q_heads_over_batch = qk.dims.get("M", 1) * b_kv / qkv.dims["M"]
    batch = 2 * b_kv / (width - q_heads_over_batch) if width > q_heads_over_batch else 0
    if batch != 1:
        raise WorkloadError(f"{trace.name}: not batch 1 (FlightLLM runs batch 1; this trace has "
                            f"{batch:g} sequences)")
    heads = b_kv
    q_heads = width - 2 * heads
    if q_heads != heads:
        raise WorkloadError(f"{trace.name}: grouped-query attention ({q_heads} query heads, {heads} KV heads) is "
                            "not lowered (FlightLLM: LLaMA2-7B, OPT-6.7B)")
    decode = any(o.kind == "kv_append" for o in trace.ops)     # a prefill writes no cache rows in archsim's traces
    length = qk.dims["N"] if decode else qk.dims["M"]
    if decode and qkv.dims["M"] != 1:               # e.g. a speculative verification pass (decode_tokens)
        raise WorkloadError(f"{trace.name}: a decode step of {qkv.dims['M']} tokens per sequence is not lowered "
                            "(FlightLLM decodes one token per step)")
    hidden = qkv.dims["K"]
    if norm.kind not in ("rmsnorm", "layernorm"):
        raise WorkloadError(f"{trace.name}: {norm.kind} norms are not lowered ({_NOT_LOWERED})")
    if gate_up is not None:
        inter, activation = gate_up.dims["N"] // 2, "silu"
    else:
        inter, activation = fc1.dims["N"], fc1.fused or "identity"
        if "+" in activation:
            raise WorkloadError(f"{trace.name}: fc1 fuses {activation}; one activation is lowered")
    return DecoderShape(hidden=hidden, heads=heads, head_dim=head_dim, length=length, decode=decode, inter=inter,
                        vocab=head.dims["N"], layers=sum(1 for o in trace.ops if o.name.endswith("attn.qkv_proj")),
                        norm="RMSlayernorm" if norm.kind == "rmsnorm" else "layernorm",
                        rope=any(o.kind == "rope" for o in trace.ops), gated_mlp=gate_up is not None,
                        activation=activation, linear_bias=qkv.params > qkv.dims["K"] * qkv.dims["N"])


@dataclass(frozen=True)
class CompiledStream:
    """A compiled program: its instructions in program order, and per SYS-delimited layer the index of its
    first instruction and the name of the trace op it computes (fused ops run inside their producer's layer)."""

    instructions: list[Instruction]
    layers: tuple[tuple[int, str], ...]


def _emit(layers: list[tuple[str, list[Instruction]]]) -> CompiledStream:
    em = _Emitter()
    names = []
    for i, (name, layer) in enumerate(layers):
        if layer:
            names.append(name)
        em.layer_done(layer, last=i == len(layers) - 1)
    return CompiledStream(em.out, tuple(zip(em.starts, names)))


def compile_decode(trace: Trace, design: DesignParams, options: CompileOptions | None = None,
                   context: int | None = None) -> list[Instruction]:
    """The instruction stream of one batch-1 decode step of ``trace`` (attention over its context length, or
    over ``context``: compile once per ``decode_bucket`` of lengths) on ``design``."""
    return _decode(trace, design, options, context).instructions


def _decode(trace: Trace, design: DesignParams, options: CompileOptions | None, context: int | None) -> CompiledStream:
    o = options or CompileOptions()
    s = decoder_shape(trace)
    low = Lowering(design, o)
    ctx = s.length if context is None else int(context)

    def linear(op, name, k, n, epilogue, bias, unfused_rows):
        return low.linear(name, k, n, epilogue, bias)

    def attention(p, fuse):
        h, heads, hd = s.hidden, s.heads, s.head_dim
        past = heads * (ctx - 1) * hd
        out = [(p + "attn.kv_append", low.kv_append(past, heads * hd)),
               (p + "attn.kv_append", low.kv_append(past, heads * hd)),
               (p + "attn.attn_qk", low.attention(heads, hd, ctx, softmax=fuse))]
        if not fuse:
            out.append((p + "attn.softmax", low.misc("softmax", heads, ctx)))
        return out + [(p + "attn.attn_v", low.attention(heads, ctx, hd, softmax=False))]

    return _emit(_decoder_layers(s, o, low, 1, linear, attention,
                                 lambda: low.linear("lm_head", s.hidden, bucket(s.vocab, design.fsb_block), None, False)))


_ROPE = _Epilogue(("eltwise_mul", "eltwise_mul", "eltwise_add"), True)
_ADD = _Epilogue(("eltwise_add",), True)


def _decoder_layers(s: DecoderShape, o: CompileOptions, low: "Lowering", rows: int, linear, attention, lm_head):
    """The program's layers (trace op name, instructions) over ``rows`` tokens, in order: per decoder layer the
    norm, q/k (RoPE fused when the model has it)/v, attention (``attention(prefix, fused)``), o with the
    residual, the norm and the MLP (SwiGLU gate/up/down, or fc1 with its activation and fc2), then the final
    norm and ``lm_head()``. ``linear(op, projection, k, n, epilogue, bias, unfused_rows)`` emits one
    projection; with ``always_on_chip`` off every epilogue becomes SFU layers of its own through HBM."""
    fuse = o.always_on_chip
    h, heads, hd = s.hidden, s.heads, s.head_dim
    attn_bias = o.attention_bias or s.linear_bias
    layers: list[tuple[str, list[Instruction]]] = []

    def proj(op, name, k, n, epilogue=None, bias=False, unfused_rows=None, unfused_op=None):
        layers.append((op, linear(op, name, k, n, epilogue if fuse else None, bias, unfused_rows)))
        if epilogue is not None and not fuse:        # the epilogue as layers of its own, through HBM
            r, width = unfused_rows or (rows, n)
            for misc in epilogue.ops:
                layers.append((unfused_op or op, low.misc(misc, r, width, 2 if epilogue.operand else 1)))

    rope = _ROPE if s.rope else None
    for li in range(s.layers):
        p = f"layers.{li}."
        layers.append((p + "input_norm", low.misc(s.norm, rows, h)))
        proj(p + "attn.qkv_proj", "q_proj", h, heads * hd, rope, attn_bias, (heads * rows, hd), p + "attn.rope")
        proj(p + "attn.qkv_proj", "k_proj", h, heads * hd, rope, attn_bias, (heads * rows, hd), p + "attn.rope")
        proj(p + "attn.qkv_proj", "v_proj", h, heads * hd, None, attn_bias)
        layers += attention(p, fuse)
        proj(p + "attn.o_proj", "o_proj", h, h, _ADD, attn_bias, unfused_op=p + "attn_residual")
        layers.append((p + "post_attention_norm", low.misc(s.norm, rows, h)))
        if s.gated_mlp:
            proj(p + "mlp.gate_up_proj", "gate_proj", h, s.inter, _Epilogue(("silu",), False))
            proj(p + "mlp.gate_up_proj", "up_proj", h, s.inter, _Epilogue(("eltwise_mul",), True))
            proj(p + "mlp.down_proj", "down_proj", s.inter, h, _ADD, unfused_op=p + "mlp_residual")
        else:
            act = None if s.activation == "identity" else _Epilogue((s.activation,), False)
            proj(p + "mlp.fc1", "fc1", h, s.inter, act, s.linear_bias)
            proj(p + "mlp.fc2", "fc2", s.inter, h, _ADD, s.linear_bias, unfused_op=p + "mlp_residual")
    layers.append(("final_norm", low.misc(s.norm, rows, h)))
    layers.append(("lm_head", lm_head()))
    return layers


def decode_weight_bytes(trace: Trace, options: CompileOptions) -> float:
    """Bytes of every projection's weights at ``weight_bits`` × its density: what a decode step must
    stream (embedding excluded: one row is gathered; biases are loaded apart, as INT32)."""
    s = decoder_shape(trace)
    h, a = s.hidden, s.heads * s.head_dim
    per_layer = {"q_proj": h * a, "k_proj": h * a, "v_proj": h * a, "o_proj": a * h, **s.mlp_weights()}
    total = s.layers * sum(n * options.density(p) for p, n in per_layer.items())
    total += h * s.vocab * options.density("lm_head")
    return total * options.weight_bits / 8


def decode_kv_bytes(trace: Trace) -> int:
    """Bytes of the K and V caches a decode step reads at INT8 (every layer, every head, the context)."""
    s = decoder_shape(trace)
    return 2 * s.layers * s.heads * s.head_dim * s.length


def causal_masks(layers: int, heads: int, tokens: int, block: int) -> list:
    """Dense causal attention masks: per layer, (heads, blocks, blocks) with block (i, j) computed when j <= i."""
    import numpy as np

    nb = _ceil(tokens, block)
    tri = np.tril(np.ones((nb, nb), dtype=bool))
    return [np.broadcast_to(tri, (heads, nb, nb)) for _ in range(layers)]


def fsb_masks(layout, fsb_block: int, layout_block: int, m_blocks: int, k_blocks: int):
    """A mask at ``layout_block`` granularity (heads, rows, cols) expanded to ``fsb_block`` blocks and cut to
    (heads, m_blocks, k_blocks)."""
    import numpy as np

    r = layout_block // fsb_block
    return np.repeat(np.repeat(layout, r, axis=1), r, axis=2)[:, :m_blocks, :k_blocks]


def read_artifact_masks(directory, layers: int) -> list:
    """The FlightLLM artifact's prefill attention layouts (``attention_mask_<layer>.mask.npy``: heads × 32 × 32
    blocks of 64 tokens) from ``directory``."""
    import numpy as np
    from pathlib import Path

    return [np.load(Path(directory) / f"attention_mask_{i}.mask.npy") for i in range(layers)]


def compile_prefill(trace: Trace, design: DesignParams, options: CompileOptions | None = None, masks=None,
                    mask_block: int = 64, tokens: int | None = None) -> list[Instruction]:
    """The instruction stream of a batch-1 prefill of ``trace``'s prompt (or of ``tokens``: compile once per
    ``prefill_bucket``) on ``design``. ``masks``: per layer the block-sparse attention layout at
    ``mask_block`` granularity (heads × blocks × blocks, True = computed); default dense causal."""
    return _prefill(trace, design, options, masks, mask_block, tokens).instructions


def _prefill(trace: Trace, design: DesignParams, options: CompileOptions | None, masks, mask_block: int,
             tokens: int | None) -> CompiledStream:
    o = options or CompileOptions()
    s = decoder_shape(trace)
    low = Lowering(design, o)
    m = s.length if tokens is None else int(tokens)
    if masks is None:
        masks = causal_masks(s.layers, s.heads, m, mask_block)
    blk = design.fsb_block

    def linear(op, name, k, n, epilogue, bias, unfused_rows):
        return low.linear_mm(name, m, k, n, epilogue, bias)

    def attention(p, fuse):
        layer = int(p.split(".")[1])
        mask = fsb_masks(masks[layer], blk, mask_block, _ceil(m, blk), _ceil(m, blk))
        heads, hd = s.heads, s.head_dim
        out = [(p + "attn.attn_qk", low.attention_mm(heads, m, hd, m, True, mask, softmax=fuse))]
        if not fuse:
            out.append((p + "attn.softmax", low.misc("softmax", heads * m, m)))
        return out + [(p + "attn.attn_v", low.attention_mm(heads, m, m, hd, False, mask, softmax=False))]

    return _emit(_decoder_layers(s, o, low, m, linear, attention,
                                 lambda: low.linear_mm("lm_head", m, s.hidden, bucket(s.vocab, blk), None, False)))


def trace_phase(trace: Trace) -> str:
    """``decode`` (one step: attention of a single query row over the context) or ``prefill`` (the prompt)."""
    return "decode" if decoder_shape(trace).decode else "prefill"


def compile_trace(trace: Trace, design: DesignParams, options: CompileOptions | None = None,
                  masks=None) -> tuple[CompiledStream, str, int]:
    """FlightLLM's length-adaptive compilation of ``trace`` (one decode step or one prefill of a dense
    decoder): the program compiled for the bucket its length falls in (attention length rounded up to
    ``decode_bucket``, prompt to ``prefill_bucket``), with the phase and the bucket's length. What the
    ``flightllm`` mapper runs and ``experiments/flightllm.py`` times."""
    o = options or CompileOptions()
    if trace_phase(trace) == "decode":
        length = bucket(decoder_shape(trace).length, o.decode_bucket)
        return _decode(trace, design, o, length), "decode", length
    length = bucket(decoder_shape(trace).length, o.prefill_bucket)
    return _prefill(trace, design, o, masks, 64, length), "prefill", length

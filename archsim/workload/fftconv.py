"""FlashFFTConv-style long convolution (Fu et al., "FlashFFTConv", 2023; the SN40L paper's Fig 10 benchmark
at sequence length 1M): ``y = iFFT(FFT(x) ⊙ FFT(k))`` per channel, with each length-N FFT computed as a
Monarch decomposition of order ``order`` — N = r_1 × … × r_order — i.e. ``order`` batched GEMMs, the k-th
with the r_k × r_k DFT matrix, a twiddle multiply and a permute (materialised transpose) between
consecutive GEMMs.

Values are complex BF16 (a real and an imaginary BF16: 4 bytes); a complex r×r GEMM is 4 real MACs per
complex MAC. The input and output are real BF16 (2 bytes per element); the kernel's FFT ``k_f`` (one
complex value per element and channel) is a weight. Every op is labelled with one ``layer`` so a fusion
pass can run the whole convolution as one kernel (§VI-A2: "a single kernel launch").
"""
from __future__ import annotations

import math

from archsim.trace import Trace, TraceOp

COMPLEX_BYTES = 4
REAL_BYTES = 2


def monarch_radices(seq_len: int, order: int) -> tuple[int, ...]:
    """``order`` factors of ``seq_len`` (a power of two), as equal as possible, largest first."""
    if seq_len < 2 or seq_len & (seq_len - 1):
        raise ValueError(f"seq_len {seq_len} must be a power of two ≥ 2")
    bits = seq_len.bit_length() - 1
    if not 1 <= order <= bits:
        raise ValueError(f"order {order} must be between 1 and log2(seq_len) = {bits}")
    return tuple(2 ** (bits // order + (1 if i < bits % order else 0)) for i in range(order))


def fftconv_trace(seq_len: int = 2**20, channels: int = 64, batch: int = 1, order: int = 3) -> Trace:
    """The trace of one FFT convolution of ``batch × channels`` sequences of ``seq_len`` (a power of two),
    each FFT a Monarch decomposition into ``order`` factors (``monarch_radices``: 2^20 in order 3 is
    128 × 128 × 64)."""
    radices = monarch_radices(seq_len, order)
    seqs = batch * channels
    elems = seqs * seq_len
    ops: list[TraceOp] = []
    layer = "fftconv"

    def add(name: str, kind: str, dims: dict, *, macs=0, flops=0, inp=0, weight=0, out=0) -> int:
        deps = (ops[-1].id,) if ops else ()
        ops.append(TraceOp(len(ops), name, kind, dims, macs=macs, flops=flops, input_bytes=int(inp),
                           weight_bytes=int(weight), output_bytes=int(out), dtype="bf16", deps=deps, layer=layer))
        return ops[-1].id

    def fft(prefix: str, first_in_bytes: int, last_out_bytes: int) -> None:
        for s, r in enumerate(radices):
            inp = first_in_bytes if s == 0 else COMPLEX_BYTES
            out = last_out_bytes if s == order - 1 else COMPLEX_BYTES
            rows = elems // r
            macs = 4 * rows * r * r                      # complex (rows × r) · (r × r)
            add(f"{prefix}.gemm{s}", "gemm", {"B": 1, "M": rows, "N": r, "K": r}, macs=macs, flops=2 * macs,
                inp=elems * inp, weight=r * r * COMPLEX_BYTES, out=elems * out)
            if s < order - 1:
                add(f"{prefix}.twiddle{s}", "mul", {"elements": elems}, flops=6 * elems,
                    inp=elems * COMPLEX_BYTES, weight=seq_len * COMPLEX_BYTES, out=elems * COMPLEX_BYTES)
                add(f"{prefix}.permute{s}", "permute", {"elements": elems}, flops=0,
                    inp=elems * COMPLEX_BYTES, out=elems * COMPLEX_BYTES)

    fft("fft", REAL_BYTES, COMPLEX_BYTES)
    add("kernel_mul", "mul", {"elements": elems}, flops=6 * elems, inp=elems * COMPLEX_BYTES,
        weight=channels * seq_len * COMPLEX_BYTES, out=elems * COMPLEX_BYTES)
    fft("ifft", COMPLEX_BYTES, REAL_BYTES)
    meta = {"workload": "fftconv", "seq_len": str(seq_len), "channels": str(channels), "batch": str(batch),
            "order": str(order), "radices": "x".join(map(str, radices))}
    return Trace(f"fftconv_{int(math.log2(seq_len)) if seq_len & (seq_len - 1) == 0 else seq_len}", tuple(ops), meta)

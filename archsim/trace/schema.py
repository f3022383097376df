"""The operator trace: what every mapper and engine consumes.

A Trace is an ordered list of TraceOps (topological order). Each op carries its kind, its
dimensions as a dict of named integers, operand sizes in bytes, MAC/FLOP counts and the ids
of the ops it depends on. Dimension names per kind (the contract engines rely on):

* ``gemm``:   ``B`` (independent GEMMs, default 1), ``M``, ``N``, ``K``  — out[M,N] = in[M,K] · w[K,N]
* ``gemv``:   same keys as gemm with ``M == 1`` (decode-time matrix-vector products)
* ``conv2d``: ``N`` (batch), ``H``, ``W`` (input), ``C`` (in channels), ``R``, ``S`` (filter),
  ``F`` (filters), ``stride_h``, ``stride_w``, ``pad_h``, ``pad_w``, ``groups`` (C for depthwise),
  and the derived ``OH``, ``OW`` (output height/width)
* any other kind (``elementwise``, ``softmax``, ``layernorm``, ``pool``, …): ``elements`` — the
  number of output elements; zero-cost kinds (``reshape``, ``concat``) may leave dims empty.
  Vector kinds may carry extra hints: ``reduce`` (length of the normalised/reduced axis for
  softmax/layernorm/rmsnorm/topk) and ``window`` (pooling window R*S). The kind names the
  workload frontend emits are listed in ``archsim.trace.kinds``.

Byte and count fields (all integers):

* ``input_bytes``  — activation operands read (bytes), including KV-cache reads;
* ``weight_bytes`` — parameter bytes read by the op (an embedding lookup reads only its rows);
* ``output_bytes`` — bytes written;
* ``kv_cache_bytes`` — the part of ``input_bytes`` read from the KV cache (decode attention);
* ``params`` — parameters of the original model owned by this op, as a count (a tied LM head owns
  none, an embedding owns its whole table, a conv with a folded batch-norm owns the BN's γ/β too);
  summing it over a trace gives the model's parameter count;
* ``macs`` — multiply-accumulates; ``flops`` — floating-point (or integer) operations, 2 per MAC
  plus bias adds and vector work (conventions in ``archsim.workload.costs``);
* ``fused`` — ``+``-joined kinds of vector ops folded into this op's epilogue (e.g. ``relu``).

Ragged ops: decode attention over requests whose KV caches hold different numbers of tokens is one op
with ``seq_lens`` (the KV length of each request, in request order) and ``ragged_dim`` (the dimension
that follows it: ``N`` of ``attn_qk``, ``K`` of ``attn_v``, ``reduce`` of the softmax between). ``B`` is
then requests × (KV heads per request), the ragged dimension holds the longest length, and ``elements``,
``macs``, ``flops`` and the byte counts are the exact sums over the requests.
"""
from __future__ import annotations

from dataclasses import dataclass, field

TRACE_FORMAT_VERSION = 1


@dataclass(frozen=True)
class TraceOp:
    """One operator of a workload, ready to be mapped onto hardware."""

    id: int
    name: str
    kind: str
    dims: dict[str, int]
    macs: int = 0
    flops: int = 0
    input_bytes: int = 0
    weight_bytes: int = 0
    output_bytes: int = 0
    dtype: str = "int8"
    deps: tuple[int, ...] = ()
    phase: str = ""
    layer: str = ""
    params: int = 0
    kv_cache_bytes: int = 0
    fused: str = ""
    seq_lens: tuple[int, ...] = ()
    ragged_dim: str = ""

    def dim(self, key: str, default: int | None = None) -> int:
        """Return dimension ``key`` (an int), or ``default`` when the op does not have it."""
        if key in self.dims:
            return int(self.dims[key])
        if default is None:
            raise KeyError(f"op {self.name!r} ({self.kind}) has no dimension {key!r}")
        return default


@dataclass(frozen=True)
class Trace:
    """An ordered (topological) sequence of TraceOps plus where it came from."""

    name: str
    ops: tuple[TraceOp, ...]
    metadata: dict[str, str] = field(default_factory=dict)
    version: int = TRACE_FORMAT_VERSION

    @property
    def total_macs(self) -> int:
        """Sum of MACs over all ops (count)."""
        return sum(op.macs for op in self.ops)

    @property
    def total_flops(self) -> int:
        """Sum of FLOPs over all ops (count)."""
        return sum(op.flops for op in self.ops)

    @property
    def total_params(self) -> int:
        """Parameter count of the model the trace was lowered from (count)."""
        return sum(op.params for op in self.ops)

    @property
    def total_bytes(self) -> int:
        """Sum of input, weight and output bytes over all ops (bytes)."""
        return sum(op.input_bytes + op.weight_bytes + op.output_bytes for op in self.ops)

    def op_by_id(self, op_id: int) -> TraceOp:
        """Return the op whose ``id`` is ``op_id`` (KeyError if there is none)."""
        for op in self.ops:
            if op.id == op_id:
                return op
        raise KeyError(f"trace {self.name!r} has no op with id {op_id}")

    def __len__(self) -> int:
        return len(self.ops)

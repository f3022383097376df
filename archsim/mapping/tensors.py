"""The tensor view of a Trace: which tensors each op reads and writes, and their sizes.

A Trace names dependencies between ops, not tensors. Memory planning (COSMA, the greedy baselines)
needs tensors, so this module derives them with three rules that hold for every trace the workload
frontend emits and for hand-written ones:

* every op with ``output_bytes > 0`` writes one **activation** tensor of that size; the ops that list
  the op in their ``deps`` read it (a layout op the frontend elided, e.g. a split, makes a consumer
  read all of its producer's output: memory plans treat tensors as indivisible);
* an op whose ``input_bytes`` exceed the bytes of its producers' outputs (a graph input, a KV cache, a
  [CLS] token …) also reads an **input** tensor of the difference, which lives off-chip at the start;
* with ``include_weights`` (COSMA's "parameter tensors" setting), an op with ``weight_bytes > 0`` reads
  a **weight** tensor of that size, used by that op only, off-chip at the start.

Zero-byte tensors are left out: they never occupy the scratchpad and never move (op order still
follows ``deps``). Sizes are in bytes; tensor ids are dense integers ``0 .. len(tensors) - 1``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from archsim.errors import MappingError
from archsim.trace import Trace

#: Tensor roles: produced on chip, or off-chip at the start (graph input, parameter).
ROLES = ("activation", "input", "weight")


@dataclass(frozen=True)
class PlanTensor:
    """One tensor a memory plan moves: ``size`` in bytes, its producing op id (None when the tensor
    starts off-chip) and the ids of the ops that read it."""

    id: int
    name: str
    size: int
    role: str
    producer: int | None
    consumers: tuple[int, ...]

    @property
    def starts_offchip(self) -> bool:
        """True for graph inputs and weights: they are in DRAM before the first op runs."""
        return self.producer is None

    @property
    def is_output(self) -> bool:
        """True for an activation nobody reads: a model output, which must end up in DRAM."""
        return self.producer is not None and not self.consumers


@dataclass(frozen=True)
class TensorView:
    """The tensors of a trace and, per op id, the tensors it reads (``reads``) and writes (``writes``)."""

    trace_name: str
    op_ids: tuple[int, ...]
    deps: dict[int, tuple[int, ...]]
    tensors: tuple[PlanTensor, ...]
    reads: dict[int, tuple[int, ...]]
    writes: dict[int, tuple[int, ...]]
    include_weights: bool = False
    users: dict[int, tuple[int, ...]] = field(default_factory=dict)

    def tensor(self, tensor_id: int) -> PlanTensor:
        """The tensor with id ``tensor_id``."""
        return self.tensors[tensor_id]

    def touched(self, op_id: int) -> tuple[int, ...]:
        """Tensors op ``op_id`` reads or writes (all must be in the scratchpad while it runs)."""
        return self.reads[op_id] + self.writes[op_id]

    def footprint(self, op_id: int) -> int:
        """Bytes op ``op_id`` needs in the scratchpad while it runs: its inputs plus outputs."""
        return sum(self.tensors[t].size for t in self.touched(op_id))

    @property
    def min_capacity(self) -> int:
        """COSMA's M_R: the largest single-op footprint (bytes); no plan fits a smaller scratchpad."""
        return max((self.footprint(v) for v in self.op_ids), default=0)

    @property
    def compulsory_load_bytes(self) -> int:
        """Bytes every plan must load: each off-chip tensor that some op reads, once."""
        return sum(t.size for t in self.tensors if t.starts_offchip and t.consumers)

    @property
    def compulsory_store_bytes(self) -> int:
        """Bytes every plan must store: each model output, once."""
        return sum(t.size for t in self.tensors if t.is_output)


def tensor_view(trace: Trace, include_weights: bool = False) -> TensorView:
    """Derive the TensorView of ``trace`` (rules in the module docstring)."""
    ids = [op.id for op in trace.ops]
    if len(set(ids)) != len(ids):
        raise MappingError(f"trace {trace.name!r}: op ids are not unique")
    known = set(ids)
    position = {op_id: i for i, op_id in enumerate(ids)}
    users: dict[int, list[int]] = {i: [] for i in ids}
    for op in trace.ops:
        for d in op.deps:
            if d not in known:
                raise MappingError(f"trace {trace.name!r}: op {op.name!r} depends on unknown op id {d}")
            if position[d] >= position[op.id]:
                raise MappingError(f"trace {trace.name!r}: op {op.name!r} depends on op {d}, "
                                   f"which comes later (a trace is in topological order)")
            users[d].append(op.id)
    tensors: list[PlanTensor] = []
    reads: dict[int, list[int]] = {i: [] for i in ids}
    writes: dict[int, tuple[int, ...]] = {}
    out_of: dict[int, int] = {}

    def add(name: str, size: int, role: str, producer: int | None, consumers: tuple[int, ...]) -> int:
        tensors.append(PlanTensor(len(tensors), name, int(size), role, producer, consumers))
        return len(tensors) - 1

    for op in trace.ops:
        if op.output_bytes > 0:
            out_of[op.id] = add(f"{op.name}:out", op.output_bytes, "activation", op.id,
                                tuple(dict.fromkeys(users[op.id])))
        writes[op.id] = (out_of[op.id],) if op.id in out_of else ()
    for op in trace.ops:
        produced = 0
        for d in dict.fromkeys(op.deps):
            if d in out_of:
                reads[op.id].append(out_of[d])
                produced += tensors[out_of[d]].size
        extra = op.input_bytes - produced
        if extra > 0:
            reads[op.id].append(add(f"{op.name}:in", extra, "input", None, (op.id,)))
        if include_weights and op.weight_bytes > 0:
            reads[op.id].append(add(f"{op.name}:w", op.weight_bytes, "weight", None, (op.id,)))
    return TensorView(trace.name, tuple(ids), {op.id: tuple(dict.fromkeys(op.deps)) for op in trace.ops},
                      tuple(tensors), {k: tuple(v) for k, v in reads.items()}, writes, include_weights,
                      {k: tuple(v) for k, v in users.items()})

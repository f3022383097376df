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

Tiled traces (``archsim.mapping.tiling``) add one rule: a tile reads its producers' outputs through DRAM.
Each tile loads one **slice** tensor (its input bytes cut from its producers' outputs, halo included,
``sources`` = those output tensors); a slice can be loaded once DRAM holds all its sources. An output read
by any tile is therefore *viewed*: it has no on-chip readers (so every planner stores it, like a model
output), and an untiled op reading it loads a whole-size slice of it instead. A tiled op's row-split tiles
share one weight tensor; its column blocks each read their own.

Zero-byte tensors are left out: they never occupy the scratchpad and never move (op order still
follows ``deps``). Sizes are in bytes; tensor ids are dense integers ``0 .. len(tensors) - 1``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from archsim.errors import MappingError
from archsim.trace import Trace

#: Tensor roles: produced on chip, or off-chip at the start (graph input, parameter).
ROLES = ("activation", "input", "weight", "slice")


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
    sources: tuple[int, ...] = ()
    viewed: bool = False

    @property
    def starts_offchip(self) -> bool:
        """True for graph inputs, weights and slices: planners load them from DRAM, never store them (a slice
        is in DRAM once its ``sources`` are; the checker enforces that)."""
        return self.producer is None

    @property
    def is_slice(self) -> bool:
        """True for a slice of producers' outputs that a tile (or an untiled reader of a viewed tensor) loads."""
        return self.role == "slice"

    @property
    def is_output(self) -> bool:
        """True for an activation nobody reads on chip: a model output, or an output read through slices —
        either must end up in DRAM."""
        return self.producer is not None and not self.consumers

    @property
    def is_model_output(self) -> bool:
        """True for a model output (stored once, compulsory); False for a tensor stored for its slices."""
        return self.is_output and not self.viewed


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
        return sum(t.size for t in self.tensors if t.starts_offchip and t.consumers and not t.is_slice)

    @property
    def compulsory_store_bytes(self) -> int:
        """Bytes every plan must store: each model output, once."""
        return sum(t.size for t in self.tensors if t.is_model_output)


def tensor_view(trace: Trace, include_weights: bool = False) -> TensorView:
    """Derive the TensorView of ``trace`` (rules in the module docstring; a ``TiledTrace`` adds slices)."""
    tiles = getattr(trace, "tiles", None) or {}
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

    def add(name: str, size: int, role: str, producer: int | None, consumers: tuple[int, ...],
            sources: tuple[int, ...] = (), viewed: bool = False) -> int:
        tensors.append(PlanTensor(len(tensors), name, int(size), role, producer, consumers, sources, viewed))
        return len(tensors) - 1

    viewed = {op.id for op in trace.ops if op.output_bytes > 0 and any(u in tiles for u in users[op.id])}
    for op in trace.ops:
        if op.output_bytes > 0:
            readers = () if op.id in viewed else tuple(dict.fromkeys(users[op.id]))
            out_of[op.id] = add(f"{op.name}:out", op.output_bytes, "activation", op.id, readers,
                                viewed=op.id in viewed)
        writes[op.id] = (out_of[op.id],) if op.id in out_of else ()
    weight_groups: dict[tuple[int, int], list[int]] = {}
    for op_id, tile in tiles.items():
        weight_groups.setdefault((tile.op, tile.weight_group), []).append(op_id)
    group_tensor: dict[tuple[int, int], int] = {}
    for op in trace.ops:
        tile = tiles.get(op.id)
        produced = 0
        if tile is not None:
            sources = tuple(out_of[d] for d in dict.fromkeys(op.deps) if d in out_of)
            if tile.slice_bytes > 0:
                reads[op.id].append(add(f"{op.name}:slice", tile.slice_bytes, "slice", None, (op.id,), sources))
                produced = tile.slice_bytes
        else:
            for d in dict.fromkeys(op.deps):
                if d not in out_of:
                    continue
                source = tensors[out_of[d]]
                if d in viewed:
                    reads[op.id].append(add(f"{op.name}:view({source.name})", source.size, "slice", None,
                                            (op.id,), (source.id,)))
                else:
                    reads[op.id].append(out_of[d])
                produced += source.size
        extra = op.input_bytes - produced
        if extra > 0:
            reads[op.id].append(add(f"{op.name}:in", extra, "input", None, (op.id,)))
        if include_weights and op.weight_bytes > 0:
            if tile is None:
                reads[op.id].append(add(f"{op.name}:w", op.weight_bytes, "weight", None, (op.id,)))
            else:
                key = (tile.op, tile.weight_group)
                if key not in group_tensor:
                    name = op.name.rsplit("#t", 1)[0]
                    group_tensor[key] = add(f"{name}:w{tile.weight_group}", op.weight_bytes, "weight", None,
                                            tuple(weight_groups[key]))
                reads[op.id].append(group_tensor[key])
    return TensorView(trace.name, tuple(ids), {op.id: tuple(dict.fromkeys(op.deps)) for op in trace.ops},
                      tuple(tensors), {k: tuple(v) for k, v in reads.items()}, writes, include_weights,
                      {k: tuple(v) for k, v in users.items()})

"""The memory plan of a Schedule: where every tensor sits in the scratchpad and what moves off-chip.

Execution model (the one COSMA's ILP encodes, and the one the checker and the simulator replay):
the plan has one step per op, in schedule order. At step ``t``

1. the step's ``actions`` run in order: ``store`` copies a resident tensor to DRAM (it stays resident),
   ``free`` drops it from the scratchpad, ``load`` copies a tensor from DRAM to the given address;
2. the op runs: every tensor it reads must be resident, and each tensor it writes is placed at the
   address ``outputs`` gives (the op's inputs and outputs are resident together).

``final_actions`` run after the last op (storing model outputs still on chip, freeing the rest).
Addresses and sizes are in bytes from the scratchpad's base; a tensor keeps its address while
resident. Traffic is split into *compulsory* bytes (first load of each off-chip tensor, first store of
each model output — any plan pays them) and *non-compulsory* bytes (spills and reloads); a tiled trace
adds *tiling* bytes (storing an output that tiles read through DRAM, first load of each slice of it —
``archsim.mapping.tiling``), which every planner pays equally for a given tiling.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

#: Action kinds: DRAM -> scratchpad, scratchpad -> DRAM, drop from the scratchpad.
ACTION_KINDS = ("load", "store", "free")


@dataclass(frozen=True)
class Action:
    """Move or drop one tensor: ``kind`` in ACTION_KINDS; ``address`` (bytes) only for loads."""

    kind: str
    tensor: int
    address: int = -1


@dataclass(frozen=True)
class StepPlan:
    """Step of the plan that runs op ``op_id``: ``actions`` before it, then its ``outputs`` as
    (tensor id, address in bytes) pairs."""

    op_id: int
    actions: tuple[Action, ...] = ()
    outputs: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Traffic:
    """Off-chip bytes of a plan: compulsory, non-compulsory and tiling (all in bytes)."""

    compulsory_load: int = 0
    compulsory_store: int = 0
    spill_store: int = 0
    reload: int = 0
    tile_store: int = 0
    tile_load: int = 0

    @property
    def compulsory(self) -> int:
        """First loads plus final stores (bytes)."""
        return self.compulsory_load + self.compulsory_store

    @property
    def non_compulsory(self) -> int:
        """Spills plus reloads (bytes) — what COSMA minimises."""
        return self.spill_store + self.reload

    @property
    def tiling(self) -> int:
        """Bytes tiling routes through DRAM: stores of outputs read as slices, first loads of slices."""
        return self.tile_store + self.tile_load

    @property
    def load(self) -> int:
        """All bytes loaded from DRAM."""
        return self.compulsory_load + self.reload + self.tile_load

    @property
    def store(self) -> int:
        """All bytes stored to DRAM."""
        return self.compulsory_store + self.spill_store + self.tile_store

    @property
    def total(self) -> int:
        """All off-chip bytes."""
        return self.compulsory + self.non_compulsory + self.tiling


@dataclass(frozen=True)
class SolveInfo:
    """How a plan was found: solver status, objective and bound (non-compulsory bytes), relative gap,
    wall time (s) and how many sub-problems (D&C segments) were solved."""

    method: str
    status: str = "heuristic"
    objective: float = float("nan")
    bound: float = float("nan")
    gap: float = float("nan")
    seconds: float = 0.0
    subproblems: int = 0


@dataclass(frozen=True)
class MemoryPlan:
    """A complete memory plan for a scratchpad of ``capacity`` bytes (see the module docstring).

    ``tensors`` gives (name, size in bytes, role, producer op id or -1) per tensor id so a plan read back
    from JSON is self-describing; ``traffic`` is what the plan claims and the checker recomputes.
    """

    capacity: int
    steps: tuple[StepPlan, ...]
    final_actions: tuple[Action, ...] = ()
    tensors: tuple[tuple[str, int, str, int], ...] = ()
    traffic: Traffic = field(default_factory=Traffic)
    info: SolveInfo = field(default_factory=lambda: SolveInfo("unknown"))

    @property
    def order(self) -> tuple[int, ...]:
        """Op ids in execution order."""
        return tuple(s.op_id for s in self.steps)

    def to_dict(self) -> dict:
        """A JSON-ready dict (bytes for sizes and addresses, seconds for times)."""
        return {
            "capacity_bytes": self.capacity,
            "tensors": [{"name": n, "bytes": s, "role": r, "producer": p} for n, s, r, p in self.tensors],
            "steps": [{"op": s.op_id, "actions": [_action_dict(a) for a in s.actions],
                       "outputs": [[t, a] for t, a in s.outputs]} for s in self.steps],
            "final_actions": [_action_dict(a) for a in self.final_actions],
            "traffic_bytes": {**asdict(self.traffic), "compulsory": self.traffic.compulsory,
                              "non_compulsory": self.traffic.non_compulsory, "tiling": self.traffic.tiling},
            "solve": {k: (None if isinstance(v, float) and v != v else v) for k, v in asdict(self.info).items()},
        }

    @classmethod
    def from_dict(cls, data: dict) -> MemoryPlan:
        """Inverse of ``to_dict``."""
        traffic = {k: int(v) for k, v in data.get("traffic_bytes", {}).items()
                   if k in Traffic.__dataclass_fields__}
        solve = {k: (float("nan") if v is None else v) for k, v in data.get("solve", {"method": "unknown"}).items()}
        return cls(
            capacity=int(data["capacity_bytes"]),
            steps=tuple(StepPlan(int(s["op"]), tuple(_action(a) for a in s["actions"]),
                                 tuple((int(t), int(a)) for t, a in s["outputs"])) for s in data["steps"]),
            final_actions=tuple(_action(a) for a in data.get("final_actions", [])),
            tensors=tuple((t["name"], int(t["bytes"]), t["role"], int(t["producer"])) for t in data.get("tensors", [])),
            traffic=Traffic(**traffic),
            info=SolveInfo(**solve),
        )


def _action_dict(a: Action) -> dict:
    d = {"kind": a.kind, "tensor": a.tensor}
    if a.kind == "load":
        d["address"] = a.address
    return d


def _action(d: dict) -> Action:
    return Action(d["kind"], int(d["tensor"]), int(d.get("address", -1)))


def tensor_table(view) -> tuple[tuple[str, int, str, int], ...]:
    """The ``MemoryPlan.tensors`` table of a TensorView."""
    return tuple((t.name, t.size, t.role, -1 if t.producer is None else t.producer) for t in view.tensors)

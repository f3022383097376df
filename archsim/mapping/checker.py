"""The schedule checker: replays a memory plan and rejects anything the hardware could not do.

Checked: the order runs every op exactly once and after its dependencies; every tensor an op reads is
resident when it runs; loads only fetch tensors DRAM holds; no two resident tensors overlap; nothing
lies outside ``[0, capacity)``; every model output reaches DRAM; the plan's tensor table matches the
trace; and the traffic the plan claims equals the traffic the replay counts. For a tiled trace also: the
tiles cover the original trace and sum to its ops' MACs and bytes (``tiling.check_tiling``), and a slice is
loaded only once DRAM holds every tensor it is cut from.
"""
from __future__ import annotations

from archsim.errors import MappingError
from archsim.mapping.memplan import Action, MemoryPlan, Traffic, tensor_table
from archsim.mapping.schedule import Schedule
from archsim.mapping.tensors import TensorView, tensor_view
from archsim.mapping.tiling import check_tiling


class ScheduleError(MappingError):
    """A Schedule or memory plan breaks a rule (the message names the step, op and tensor)."""


def check_schedule(schedule: Schedule) -> Traffic | None:
    """Check ``schedule`` (order, engines' op set, memory plan); return the replayed Traffic (bytes), or None
    when the schedule carries no memory plan. Raises ScheduleError on the first violation."""
    trace = schedule.trace
    try:
        check_tiling(trace)
    except MappingError as e:
        raise ScheduleError(str(e)) from None
    ids = [e.op.id for e in schedule.entries]
    if sorted(ids) != sorted(op.id for op in trace.ops):
        raise ScheduleError(f"schedule of {trace.name!r} does not run every op of the trace exactly once")
    _check_order(ids, {op.id: op.deps for op in trace.ops}, trace.name)
    plan = schedule.memory_plan
    if plan is None:
        return None
    if list(plan.order) != ids:
        raise ScheduleError("memory plan steps are not in the schedule's op order")
    weights = any(role == "weight" for _, _, role, _ in plan.tensors)
    return check_plan(tensor_view(trace, include_weights=weights), plan)


def _check_order(ids: list[int], deps: dict[int, tuple[int, ...]], name: str) -> None:
    done: set[int] = set()
    for op_id in ids:
        missing = [d for d in deps[op_id] if d not in done]
        if missing:
            raise ScheduleError(f"{name}: op {op_id} runs before its dependency {missing[0]}")
        done.add(op_id)


def check_plan(view: TensorView, plan: MemoryPlan) -> Traffic:
    """Replay ``plan`` against ``view``; return its Traffic (bytes). Raises ScheduleError on a violation."""
    if plan.tensors and plan.tensors != tensor_table(view):
        raise ScheduleError("the plan's tensor table does not match the tensors derived from the trace")
    if sorted(plan.order) != sorted(view.op_ids):
        raise ScheduleError("the memory plan does not run every op exactly once")
    _check_order(list(plan.order), view.deps, view.trace_name)
    replay = _Replay(view, plan.capacity)
    for t, step in enumerate(plan.steps):
        where = f"step {t} (op {step.op_id})"
        for action in step.actions:
            replay.apply(action, where)
        for tid in view.reads[step.op_id]:
            if tid not in replay.resident:
                raise ScheduleError(f"{where}: input tensor {view.tensor(tid).name!r} is not resident")
        written = dict(step.outputs)
        if set(written) != set(view.writes[step.op_id]):
            raise ScheduleError(f"{where}: outputs {sorted(written)} != tensors the op writes "
                                f"{sorted(view.writes[step.op_id])}")
        for tid, address in step.outputs:
            replay.place(tid, address, where)
    for action in plan.final_actions:
        replay.apply(action, "final actions")
    unsaved = [view.tensor(t).name for t in range(len(view.tensors))
               if view.tensor(t).is_output and t not in replay.in_dram]
    if unsaved:
        raise ScheduleError(f"model output {unsaved[0]!r} never stored to DRAM")
    traffic = replay.traffic()
    if plan.traffic != Traffic() and plan.traffic != traffic:
        raise ScheduleError(f"plan claims traffic {plan.traffic} but its actions move {traffic}")
    return traffic


class _Replay:
    """Scratchpad state during a replay: resident tensors and their addresses, what DRAM holds."""

    def __init__(self, view: TensorView, capacity: int):
        self.view, self.capacity = view, capacity
        self.resident: dict[int, int] = {}
        self.in_dram = {t.id for t in view.tensors if t.starts_offchip and not t.is_slice}
        self.loaded: set[int] = set()
        self.stored: set[int] = set()
        self.counts = {"compulsory_load": 0, "compulsory_store": 0, "spill_store": 0, "reload": 0,
                       "tile_store": 0, "tile_load": 0}

    def apply(self, action: Action, where: str) -> None:
        if not 0 <= action.tensor < len(self.view.tensors):
            raise ScheduleError(f"{where}: {action.kind} of unknown tensor id {action.tensor}")
        tensor = self.view.tensor(action.tensor)
        if action.kind == "load":
            if action.tensor in self.resident:
                raise ScheduleError(f"{where}: load of {tensor.name!r}, which is already resident")
            missing = [s for s in tensor.sources if s not in self.in_dram]
            if missing:
                raise ScheduleError(f"{where}: load of slice {tensor.name!r} before DRAM holds its source "
                                    f"{self.view.tensor(missing[0]).name!r}")
            if action.tensor not in self.in_dram and not tensor.is_slice:
                raise ScheduleError(f"{where}: load of {tensor.name!r}, which DRAM does not hold")
            self.place(action.tensor, action.address, where)
            first = tensor.starts_offchip and action.tensor not in self.loaded
            kind = ("tile_load" if tensor.is_slice else "compulsory_load") if first else "reload"
            self.counts[kind] += tensor.size
            self.loaded.add(action.tensor)
        elif action.kind == "store":
            if action.tensor not in self.resident:
                raise ScheduleError(f"{where}: store of {tensor.name!r}, which is not resident")
            first = tensor.is_output and action.tensor not in self.stored
            kind = ("tile_store" if tensor.viewed else "compulsory_store") if first else "spill_store"
            self.counts[kind] += tensor.size
            self.stored.add(action.tensor)
            self.in_dram.add(action.tensor)
        elif action.kind == "free":
            if action.tensor not in self.resident:
                raise ScheduleError(f"{where}: free of {tensor.name!r}, which is not resident")
            del self.resident[action.tensor]
        else:
            raise ScheduleError(f"{where}: unknown action kind {action.kind!r}")

    def place(self, tid: int, address: int, where: str) -> None:
        tensor = self.view.tensor(tid)
        if tid in self.resident:
            raise ScheduleError(f"{where}: {tensor.name!r} placed while already resident")
        if address < 0 or address + tensor.size > self.capacity:
            raise ScheduleError(f"{where}: {tensor.name!r} at [{address}, {address + tensor.size}) lies outside "
                                f"the scratchpad [0, {self.capacity})")
        for other, start in self.resident.items():
            end = start + self.view.tensor(other).size
            if address < end and start < address + tensor.size:
                raise ScheduleError(f"{where}: {tensor.name!r} at [{address}, {address + tensor.size}) overlaps "
                                    f"{self.view.tensor(other).name!r} at [{start}, {end})")
        self.resident[tid] = address

    def traffic(self) -> Traffic:
        return Traffic(**self.counts)

"""``simulate``: the whole pipeline (arch -> workload -> mapper -> event engine -> Result) in one call."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from tqdm import tqdm

from archsim.config import Arch, load_arch
from archsim.errors import ConfigError
from archsim.hw import registry
from archsim.mapping import MAPPERS
from archsim.sim.engine import run_schedule
from archsim.sim.result import Result
from archsim.trace import Trace


def build_engines(arch: Arch) -> dict:
    """Instantiate the hardware model of every engine of ``arch`` (name -> model), in YAML order."""
    engines = {}
    for name, params in arch.engines.items():
        component = registry.lookup("engine", params.kind)
        engines[name] = component.model(name, params, arch)
    return engines


def resolve_workload(workload: str | Path | Trace, overrides: Sequence[str] = ()) -> Trace:
    """A Trace from a Trace, a zoo name, a workload/trace file or a SCALE-Sim topology CSV."""
    if isinstance(workload, Trace):
        return workload
    from archsim.workload import load_workload

    return load_workload(str(workload), overrides)


def simulate(arch: Arch | str | Path, workload: str | Path | Trace, *, arch_overrides: Iterable[str] = (),
             workload_overrides: Sequence[str] = (), mapper: str = "by_kind",
             progress: bool = False, mapper_options: dict | None = None) -> Result:
    """Run ``workload`` on ``arch`` and return the Result (see ``archsim.sim.result``).

    ``mapper_options`` go to the mapper as keywords (e.g. ``capacity_bytes`` for the memory planners); a
    Schedule with a memory plan is checked (``archsim.mapping.checker``) before it runs."""
    if not isinstance(arch, Arch):
        arch = load_arch(arch, arch_overrides)
    trace = resolve_workload(workload, workload_overrides)
    if mapper not in MAPPERS:
        raise ConfigError("--mapper", "mapper", "unknown mapper", value=mapper, has_value=True,
                          expected=f"one of {sorted(MAPPERS)}")
    engines = build_engines(arch)
    schedule = MAPPERS[mapper](trace, engines, **(mapper_options or {}))
    if schedule.memory_plan is not None:
        from archsim.mapping.checker import check_schedule

        check_schedule(schedule)
    costs = {}
    for entry in tqdm(schedule.entries, desc=f"{trace.name} on {arch.name}", unit="op", disable=not progress,
                      leave=False):
        costs[entry.op.id] = engines[entry.engine].op_cost(entry.op)
    return run_schedule(schedule, arch, engines, costs)

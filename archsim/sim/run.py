"""``simulate``: the whole pipeline (arch -> workload -> mapper -> program -> event engine -> Result) in one
call, and ``run_program``: a Program on an architecture's engines and ports."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from archsim.config import Arch, load_arch
from archsim.errors import ConfigError
from archsim.hw import registry
from archsim.mapping import MAPPERS, mapper_for
from archsim.mapping.compiled import CompiledProgram
from archsim.sim.engine import Engine, PortSpec, full_collections_deferred
from archsim.sim.program import Program
from archsim.sim.result import PortStats, Result
from archsim.sim.totals import OpTotals
from archsim.trace import Trace


def build_engines(arch: Arch) -> dict:
    """Instantiate the hardware model of every engine of ``arch`` (name -> model), in YAML order."""
    engines = {}
    for name, params in arch.engines.items():
        component = registry.lookup("engine", params.kind)
        engines[name] = component.model(name, params, arch)
    return engines


def arch_ports(arch: Arch, engines: Mapping[str, object] | None = None) -> dict[str, PortSpec]:
    """The shared bandwidth resources of ``arch``: every memory that is a port (its kind's ``port_gbps``),
    every link and every port an engine model owns (``own_ports()``: name -> GB/s, e.g. an FPGA board's HBM,
    part of the engine's kind rather than a memory of the architecture), in bytes per cycle of the
    architecture clock."""
    ports = {}
    for name in arch.memories:
        gbps = registry.memory_model(arch, name).port_gbps(arch.clock_ghz)
        if gbps is not None:
            ports[name] = PortSpec(gbps / arch.clock_ghz, "memory")
    for name, lp in arch.links.items():
        ports[name] = PortSpec(lp.bandwidth_gbps / arch.clock_ghz, "link")
    for model in (engines or {}).values():
        for name, gbps in getattr(model, "own_ports", dict)().items():
            ports[name] = PortSpec(gbps / arch.clock_ghz, "memory")
    return ports


def time_resolution(engines: Mapping[str, object]) -> int:
    """Engine ticks per architecture cycle: the finest time step any engine model asks for
    (``ticks_per_cycle``; 1 — whole cycles — unless a model's demands are fractional cycles that must add up
    exactly, as FlightLLM's instructions over its cores do)."""
    return max([int(getattr(m, "ticks_per_cycle", 1)) for m in engines.values()] + [1])


def resolve_workload(workload: str | Path | Trace, overrides: Sequence[str] = ()) -> Trace:
    """A Trace from a Trace, a zoo name, a workload/trace file or a SCALE-Sim topology CSV."""
    if isinstance(workload, Trace):
        return workload
    from archsim.workload import load_workload

    return load_workload(str(workload), overrides)


def engine_for(arch: Arch, engines: Mapping[str, object], sink=None) -> Engine:
    """An event engine with ``arch``'s ports and ``engines`` as its queues' hardware models, keeping time in
    ticks of 1/``time_resolution(engines)`` architecture cycle (``result_of`` reports architecture cycles)."""
    ticks = time_resolution(engines)
    ports = {n: PortSpec(p.bytes_per_cycle / ticks, p.kind) for n, p in arch_ports(arch, engines).items()}
    return Engine(arch.clock_ghz * ticks, engines, ports, sink=sink)


def result_of(engine: Engine, arch: Arch, engines: Mapping[str, object], workload_name: str,
              tier_capacity: Mapping[str, int] | None = None) -> Result:
    """The Result of a finished ``engine`` run (``engine_for``'s). With an ``OpTotals`` sink its records are one
    per (op, engine)."""
    peak = {n: getattr(m, "peak_macs_per_cycle", 0) for n, m in engines.items()}
    if isinstance(engine.sink, OpTotals):
        records, transfers = engine.sink.records(peak), engine.sink.transfers()
    else:
        records, transfers = engine.records, engine.transfers
    ports = [PortStats(p.name, p.kind, p.bytes_per_cycle, p.bytes_moved, p.busy_cycles, p.held_cycles)
             for p in engine.ports.values()]
    return assemble_result(arch, engines, workload_name, records, transfers, ports, engine.busy_cycles,
                           engine.occupancy, tier_capacity)


def assemble_result(arch: Arch, engines: Mapping[str, object], workload_name: str, records, transfers, ports,
                    busy: Mapping[str, int], occupancy=(), tier_capacity: Mapping[str, int] | None = None) -> Result:
    """A Result from the parts of a run in ``engine_for``'s time unit (ticks of 1/``time_resolution(engines)``
    architecture cycle): records, transfers, port stats, busy ticks per queue, occupancy samples. Times are
    reported in architecture cycles (a record spans every cycle it touches)."""
    ticks = time_resolution(engines)
    peak = {n: getattr(m, "peak_macs_per_cycle", 0) for n, m in engines.items()}
    if ticks > 1:
        records = [replace(r, start_cycle=r.start_cycle // ticks, end_cycle=-(-r.end_cycle // ticks))
                   for r in records]
        transfers = [replace(t, start_cycle=t.start_cycle // ticks, end_cycle=-(-t.end_cycle // ticks))
                     for t in transfers]
        ports = [replace(p, bytes_per_cycle=p.bytes_per_cycle * ticks, busy_cycles=round(p.busy_cycles / ticks),
                         held_cycles=round(p.held_cycles / ticks)) for p in ports]
        occupancy = [replace(s, cycle=s.cycle // ticks) for s in occupancy]
    records = sorted(records, key=lambda r: (r.start_cycle, r.op_id, r.engine))
    occupancy = tuple(s for s in occupancy if tier_capacity and s.tier in tier_capacity)
    busy = {q: round(c / ticks) for q, c in busy.items() if q in engines}
    return Result(arch.name, workload_name, arch.clock_ghz, tuple(records), tuple(transfers), peak,
                  occupancy, dict(tier_capacity or {}), tuple(ports), busy, engine_clocks(arch, engines))


def engine_clocks(arch: Arch, engines: Mapping[str, object]) -> dict[str, float]:
    """Clock of each engine's model, GHz (the architecture clock for a model without one)."""
    return {n: float(getattr(m, "clock_ghz", None) or arch.clock_ghz) for n, m in engines.items()}


def run_program(program: Program, arch: Arch, engines: Mapping[str, object], workload_name: str,
                tier_capacity: Mapping[str, int] | None = None, progress: bool = False,
                records_per_op: bool = False) -> Result:
    """Run ``program`` on ``arch`` (its ports, ``engines`` as the models of its queues); return the Result.
    ``records_per_op``: one record per (op, engine), summed over the tasks labelled with that op (a compiled
    program cuts each op into many tasks), instead of one per task."""
    engine = engine_for(arch, engines)
    if records_per_op:
        engine.sink = OpTotals(engine.engine_scale)
    with full_collections_deferred():
        engine.extend(program)
        engine.run(progress=progress, label=f"{workload_name} on {arch.name}")
    return result_of(engine, arch, engines, workload_name, tier_capacity)


def simulate(arch: Arch | str | Path, workload: str | Path | Trace, *, arch_overrides: Iterable[str] = (),
             workload_overrides: Sequence[str] = (), mapper: str | None = None, progress: bool = False,
             mapper_options: dict | None = None, tier_plan="weights", tier_options: dict | None = None,
             prefetch_weights: bool = True) -> Result:
    """Run ``workload`` on ``arch`` and return the Result (see ``archsim.sim.result``).

    ``mapper``: None runs the architecture's default (``archsim.mapping.mapper_for``: ``partition``, or the
    compiler mapper of an engine kind that runs only its compiler's programs — ``flightllm`` on
    ``kind: fpga_llm``). A compiler mapper's Program runs as compiled, one record per (op, module queue).
    ``mapper_options`` go to the mapper as keywords (e.g. ``capacity_bytes`` for the memory planners); a
    Schedule with a memory plan is checked (``archsim.mapping.checker``) before it runs. On an architecture
    with memory tiers (``kind: tiers``) the weights live in the slower tiers and are staged into the fastest
    before each op (``tier_plan="weights"``, ``weight_staging_plan`` with ``tier_options``: ``stage``,
    ``home``, ``buffers``, ``tiers``); pass a ``TierPlan`` for another plan or None to ignore the tiers.
    ``prefetch_weights``: the mapping pass that streams an array op's weights into its weight SRAM ahead of
    it (``archsim.mapping.program``)."""
    from archsim.hw.tiers import build_tiers, tiers_memories
    from archsim.mapping.program import ProgramBuilder
    from archsim.mapping.tier_plan import weight_staging_plan

    if not isinstance(arch, Arch):
        arch = load_arch(arch, arch_overrides)
    trace = resolve_workload(workload, workload_overrides)
    mapper = mapper_for(arch, mapper)
    engines = build_engines(arch)
    schedule = MAPPERS[mapper](trace, engines, **(mapper_options or {}))
    if isinstance(schedule, CompiledProgram):
        return schedule.run(arch, progress=progress)
    if schedule.memory_plan is not None:
        from archsim.mapping.checker import check_schedule

        check_schedule(schedule)
    options = dict(tier_options or {})
    system = None
    if tier_plan is not None and (tiers_memories(arch) or not isinstance(tier_plan, str)):
        system = build_tiers(arch, options.pop("tiers", None))
        if isinstance(tier_plan, str):
            if tier_plan != "weights":
                raise ConfigError("simulate", "tier_plan", "unknown tier plan", value=tier_plan, has_value=True,
                                  expected="'weights', a TierPlan or None")
            tier_plan = weight_staging_plan(schedule, system, **options)
    else:
        tier_plan = None
    builder = ProgramBuilder(arch, engines, prefetch_weights=prefetch_weights)
    builder.add_schedule(schedule, tier_plan=tier_plan, tiers=system)
    capacity = {t.name: t.capacity_bytes for t in system.tiers} if system is not None else None
    return run_program(builder.take(), arch, engines, trace.name, capacity, progress)

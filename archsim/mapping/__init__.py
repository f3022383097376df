"""Mappers: turn a Trace and an Arch into a Schedule the simulator executes as given.

``MAPPERS`` maps a name to ``mapper(trace, engines, **options) -> Schedule``: ``by_kind`` (trace order, no
memory plan), ``cosma`` (the COSMA ILP), ``cosma_dc`` (divide-and-conquer over the ILP), ``belady`` and
``lru`` (greedy replacement, first-fit allocation), ``partition`` (each op on the engine where it
finishes earliest, by the engines' cost models). The planning mappers take ``capacity_bytes``,
``include_weights`` and ``time_limit_s`` (see ``archsim.mapping.planners``). ``flightllm`` and
``rdu_fusion`` are compiler mappers: FlightLLM's compiler for ``kind: fpga_llm`` engines and the SN40L's operator
fusion for ``kind: rdu`` engines, each emitting a Program (``archsim.mapping.compiled``);
an architecture's engine kinds decide which mappers apply and the default (``mapper_for``).
"""
# Loaded on first use (PEP 562): importing ``archsim.mapping.cli`` to build the command's parser must not
# import numpy and the ILP solver.
_LAZY = {"map_by_kind": "by_kind", "Action": "memplan", "MemoryPlan": "memplan", "StepPlan": "memplan",
         "Traffic": "memplan", "Schedule": "schedule", "ScheduledOp": "schedule"}


def _mappers() -> dict:
    from archsim.mapping.by_kind import map_by_kind
    from archsim.mapping.partition import map_partition
    from archsim.mapping.flightllm import map_flightllm
    from archsim.mapping.planners import map_belady, map_cosma, map_divide, map_lru
    from archsim.mapping.rdu_fusion import map_rdu_fusion

    return {"by_kind": map_by_kind, "cosma": map_cosma, "cosma_dc": map_divide, "belady": map_belady,
            "lru": map_lru, "partition": map_partition, "flightllm": map_flightllm, "rdu_fusion": map_rdu_fusion}


def mapper_for(arch, mapper: str | None = None, default: str = "partition") -> str:
    """The mapper to run on ``arch``: ``mapper`` (None: the architecture's default — the compiler mapper of
    an engine kind that runs only its compiler's programs, else ``default``). A ConfigError when ``mapper``
    cannot run there: another mapper on such an engine, or a compiler mapper for an engine it is not for."""
    from archsim.errors import ConfigError
    from archsim.hw import registry
    from archsim.mapping.names import COMPILER_MAPPERS, MAPPER_NAMES

    compilers = {name: getattr(registry.lookup("engine", p.kind), "mapper", None) for name, p in arch.engines.items()}
    owned = {n: c for n, c in compilers.items() if c}
    if mapper is None:
        return next(iter(owned.values()), default)
    if mapper not in MAPPER_NAMES:
        raise ConfigError("--mapper", "mapper", "unknown mapper", value=mapper, has_value=True,
                          expected=f"one of {sorted(MAPPER_NAMES)}")
    for name, compiler in owned.items():
        if mapper != compiler:
            raise ConfigError("--mapper", "mapper", f"engine {name!r} (kind {arch.engines[name].kind}) runs only "
                              f"the programs of its compiler", value=mapper, has_value=True,
                              expected=f"--mapper {compiler} (the default for {arch.name}) or no --mapper")
    if mapper in COMPILER_MAPPERS and mapper not in owned.values():
        raise ConfigError("--mapper", "mapper", "a compiler for an engine kind this architecture does not have",
                          value=mapper, has_value=True,
                          expected=f"one of {sorted(set(MAPPER_NAMES) - set(COMPILER_MAPPERS))} for {arch.name}")
    return mapper


def __getattr__(name: str):
    if name == "MAPPERS":
        globals()["MAPPERS"] = mappers = _mappers()
        return mappers
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"archsim.mapping.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["MAPPERS", "mapper_for", "Action", "MemoryPlan", "Schedule", "ScheduledOp", "StepPlan", "Traffic", "map_by_kind"]

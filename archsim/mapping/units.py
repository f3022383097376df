"""Units: identical engines of an architecture that work on every op together.

A multi-unit system uses all its units: eight identical 128x128 arrays run every GEMM as eight shares at
once, eight identical vector units every norm. Engines are identical when they have the same kind and the
same parameters (so they also name the same SRAMs: a broadcast operand is fetched into them once). Mappers
place an op on a *group* and the program gives each member its share (the engine model's ``split``).
"""
from __future__ import annotations


def _signature(name: str, model) -> tuple:
    params = getattr(model, "params", None)
    if params is None or not hasattr(params, "model_dump_json"):
        return (name,)
    return (type(model).__name__, params.model_dump_json())


def unit_groups(engines: dict) -> dict[str, tuple[str, ...]]:
    """Group name -> member engine names, in the engines' order; a group is named by its first member and
    holds every engine identical to it (see module docstring)."""
    groups: dict[tuple, list[str]] = {}
    for name, model in engines.items():
        groups.setdefault(_signature(name, model), []).append(name)
    return {members[0]: tuple(members) for members in groups.values()}


def group_demand_cycles_ns(engines: dict, members: tuple[str, ...], op, **args) -> float:
    """Nanoseconds ``members`` (identical units) need for ``op`` alone, its shares running at once: the
    slowest share's uncontended cycles over the clock."""
    model = engines[members[0]]
    if len(members) == 1:
        return model.demand(op, **args).cycles / getattr(model, "clock_ghz", 1.0)
    split = model.split(op, len(members))
    return max(model.demand(s, **args, **split.placement).cycles for s in split.shares) / getattr(model, "clock_ghz", 1.0)

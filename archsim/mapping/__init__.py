"""Mappers: turn a Trace and an Arch into a Schedule the simulator executes as given.

``MAPPERS`` maps a name to ``mapper(trace, engines, **options) -> Schedule``: ``by_kind`` (trace order, no
memory plan), ``cosma`` (the COSMA ILP), ``cosma_dc`` (divide-and-conquer over the ILP), ``belady`` and
``lru`` (greedy replacement, first-fit allocation), ``partition`` (each op on the engine where it
finishes earliest, by the engines' cost models). The planning mappers take ``capacity_bytes``,
``include_weights`` and ``time_limit_s`` (see ``archsim.mapping.planners``).
"""
# Loaded on first use (PEP 562): importing ``archsim.mapping.cli`` to build the command's parser must not
# import numpy and the ILP solver.
_LAZY = {"map_by_kind": "by_kind", "Action": "memplan", "MemoryPlan": "memplan", "StepPlan": "memplan",
         "Traffic": "memplan", "Schedule": "schedule", "ScheduledOp": "schedule"}


def _mappers() -> dict:
    from archsim.mapping.by_kind import map_by_kind
    from archsim.mapping.partition import map_partition
    from archsim.mapping.planners import map_belady, map_cosma, map_divide, map_lru

    return {"by_kind": map_by_kind, "cosma": map_cosma, "cosma_dc": map_divide, "belady": map_belady,
            "lru": map_lru, "partition": map_partition}


def __getattr__(name: str):
    if name == "MAPPERS":
        globals()["MAPPERS"] = mappers = _mappers()
        return mappers
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"archsim.mapping.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["MAPPERS", "Action", "MemoryPlan", "Schedule", "ScheduledOp", "StepPlan", "Traffic", "map_by_kind"]

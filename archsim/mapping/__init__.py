"""Mappers: turn a Trace and an Arch into a Schedule the simulator executes as given."""
from archsim.mapping.by_kind import map_by_kind
from archsim.mapping.schedule import Schedule, ScheduledOp

MAPPERS = {"by_kind": map_by_kind}

__all__ = ["MAPPERS", "Schedule", "ScheduledOp", "map_by_kind"]

"""Expand a sweep's space into points (dicts of dotted key -> value) and drop those its constraints reject."""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Any

from archsim.config.loader import apply_overrides
from archsim.errors import ConfigError
from archsim.sweep.spec import SweepSpec


@dataclass(frozen=True)
class Point:
    """One design point: its index in the sweep, swept values, and the resolved architecture mapping
    (``config``; None when applying the overrides failed, with the reason in ``error``)."""

    index: int
    values: dict[str, Any]
    config: dict[str, Any] | None
    error: str = ""
    serve: dict[str, Any] | None = None      # serving options of this point (None: a plain run)


def raw_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every candidate point before constraints: the grid product, a seeded random draw, or the list."""
    if spec.mode == "list":
        return [dict(p) for p in spec.points]
    keys = list(spec.parameters)
    grid = [dict(zip(keys, combo)) for combo in itertools.product(*(spec.parameters[k] for k in keys))]
    if spec.mode == "grid":
        return grid
    rng = random.Random(spec.seed)
    if spec.samples >= len(grid):
        return grid
    return [grid[i] for i in sorted(rng.sample(range(len(grid)), spec.samples))]


def expand(spec: SweepSpec) -> tuple[list[Point], int]:
    """The sweep's points that satisfy every constraint, and how many were rejected."""
    from archsim.sweep.spec import SERVE_PREFIX

    points, rejected = [], 0
    for values in raw_points(spec):
        arch_values = {k: v for k, v in values.items() if not k.startswith(SERVE_PREFIX)}
        serve = None
        if spec.serve is not None:
            serve = {**spec.serve, **{k[len(SERVE_PREFIX):]: v for k, v in values.items() if k.startswith(SERVE_PREFIX)}}
        overrides = [*spec.fixed.items(), *arch_values.items()]
        try:
            config = apply_overrides(spec.base, overrides, spec.base_source)
        except ConfigError as exc:
            points.append(Point(len(points), values, None, f"ConfigError: {exc}", serve))
            continue
        if all(c.holds(config) for c in spec.constraints):
            points.append(Point(len(points), values, config, "", serve))
        else:
            rejected += 1
    return points, rejected

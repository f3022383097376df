"""The one registry through which config, mappers and simulator find hardware models.

Each hardware module registers its ``kind:`` name once, with the pydantic model that validates
its YAML parameters and the class that models it::

    register(ComponentKind("systolic", "engine", SystolicParams, SystolicArray))

Adding a new engine touches its own module (plus a preset YAML); nothing else changes.
The table is filled at import time of ``archsim.hw`` and never mutated afterwards.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

Category = Literal["engine", "memory", "link"]


@dataclass(frozen=True)
class ComponentKind:
    """A registered hardware kind: its YAML ``kind:`` name, category, parameter schema and model class."""

    kind: str
    category: Category
    params: type[BaseModel]
    model: type
    description: str = ""


_KINDS: dict[tuple[Category, str], ComponentKind] = {}

# Modules whose import registers the built-in kinds (imported on first lookup, to keep
# `archsim.config` importable from inside the hardware modules without a cycle).
BUILTIN_MODULES = (
    "archsim.hw.sram",
    "archsim.hw.dram",
    "archsim.hw.tiers",
    "archsim.hw.systolic",
    "archsim.hw.vector",
    "archsim.hw.pim",
    "archsim.hw.gpu",
)


def load_builtin_kinds() -> None:
    """Import every built-in hardware module so that its kind is registered (idempotent)."""
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def register(component: ComponentKind) -> ComponentKind:
    """Add ``component`` to the registry; registering the same (category, kind) twice is a bug."""
    key = (component.category, component.kind)
    existing = _KINDS.get(key)
    if existing is not None and existing is not component:
        raise RuntimeError(f"{component.category} kind {component.kind!r} registered twice")
    _KINDS[key] = component
    return component


def lookup(category: Category, kind: str) -> ComponentKind | None:
    """Return the registered component of ``category`` named ``kind``, or None."""
    load_builtin_kinds()
    return _KINDS.get((category, kind))


def kinds(category: Category) -> list[str]:
    """Sorted names of all registered kinds in ``category``."""
    load_builtin_kinds()
    return sorted(k for (c, k) in _KINDS if c == category)

"""The one registry through which config, mappers, simulator and energy accounting find hardware kinds.

Each hardware module registers its ``kind:`` name once, in its own file, with the pydantic model that
validates its YAML parameters, the class that models it and the function that prices its energy::

    register(ComponentKind("systolic", "engine", SystolicParams, SystolicArray, pricer=price_systolic))

Built-in kinds are found by importing every module of the ``archsim.hw`` package (no hand-kept list; a
sub-package registers its kinds in its ``kind`` module, so that the package itself stays cheap to import), so
adding a kind is one new module plus its preset YAML; a kind registered from anywhere else (a plug-in, a
test) works the same way once its module has been imported.

* an **engine** model implements ``archsim.hw.demand.EngineModel`` (``supports``, ``demand``, ``split``);
  it is built as ``model(name, params, arch)``;
* a **memory** model is built as ``model(params)`` and answers ``port_gbps(clock_ghz)`` (the bandwidth
  concurrent streams share, GB/s; None for a memory that is not itself a port, such as ``kind: tiers``) and
  ``traffic_actions(direction, n_bytes)`` (the energy actions an access is made of);
* ``check(arch, name, params)`` (optional) raises a located ConfigError when the component's parameters do
  not fit the rest of the architecture (cross-references beyond the generic ones, checked when the file
  is loaded, so ``archsim validate`` finds what ``run`` would fail on);
* ``pricer(pricer, name, params)`` adds the component's prices, static power and area to an
  ``archsim.energy.prices.Pricer``'s book.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable, Literal

from pydantic import BaseModel

Category = Literal["engine", "memory", "link"]


@dataclass(frozen=True)
class ComponentKind:
    """A registered hardware kind: its YAML ``kind:`` name, category, parameter schema, model class and
    energy pricer (None: the kind has no energy model yet, and energy accounting says so). ``mapper``: the
    compiler mapper of an engine kind that runs only its compiler's programs (``archsim.mapping.compiled``);
    it is the default mapper of an architecture with such an engine, and the only one that applies."""

    kind: str
    category: Category
    params: type[BaseModel]
    model: type
    description: str = ""
    pricer: Callable | None = None
    check: Callable | None = None
    mapper: str | None = None


_KINDS: dict[tuple[Category, str], ComponentKind] = {}
_NOT_KINDS = frozenset({"registry", "demand", "shares", "dataflows"})
_loaded = False


def load_builtin_kinds() -> None:
    """Import every module of the ``archsim.hw`` package so that its kinds are registered (idempotent)."""
    global _loaded
    if _loaded:
        return
    import archsim.hw as hw

    for info in pkgutil.iter_modules(hw.__path__):
        if info.name not in _NOT_KINDS:
            importlib.import_module(f"archsim.hw.{info.name}.kind" if info.ispkg else f"archsim.hw.{info.name}")
    _loaded = True


def register(component: ComponentKind) -> ComponentKind:
    """Add ``component`` to the registry; registering the same (category, kind) twice is a bug."""
    key = (component.category, component.kind)
    existing = _KINDS.get(key)
    if existing is not None and existing is not component:
        raise RuntimeError(f"{component.category} kind {component.kind!r} registered twice")
    _KINDS[key] = component
    return component


def unregister(component: ComponentKind) -> None:
    """Remove ``component`` (for a kind a test registered for its own use)."""
    if _KINDS.get((component.category, component.kind)) is component:
        del _KINDS[(component.category, component.kind)]


def lookup(category: Category, kind: str) -> ComponentKind | None:
    """Return the registered component of ``category`` named ``kind``, or None."""
    load_builtin_kinds()
    return _KINDS.get((category, kind))


def kinds(category: Category) -> list[str]:
    """Sorted names of all registered kinds in ``category``."""
    load_builtin_kinds()
    return sorted(k for (c, k) in _KINDS if c == category)


def memory_model(arch, name: str):
    """The model object of memory ``name`` of ``arch`` (built from its validated parameters)."""
    params = arch.memories[name]
    return lookup("memory", params.kind).model(params)


def memory_port_gbps(arch, name: str) -> float:
    """Bandwidth (GB/s) concurrent streams share on memory ``name`` of ``arch`` (ValueError when it is not a
    port, e.g. a ``kind: tiers`` entry)."""
    gbps = memory_model(arch, name).port_gbps(arch.clock_ghz)
    if gbps is None:
        raise ValueError(f"memory {name!r} of {arch.name!r} is a {arch.memories[name].kind!r}, not a memory "
                         f"data can stream from")
    return float(gbps)

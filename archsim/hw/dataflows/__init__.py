"""Dataflows of the systolic kind: how an op maps onto an R x C array, and what that costs.

A dataflow is one module of this package. It defines a class implementing ``Dataflow`` and registers an
instance with one line, ``register_dataflow(MyDataflow("name"))``; ``dataflow: name`` in an architecture
file then selects it (the modules are found by listing this package, not from a hand-kept table).

* ``demand(array, op, scales)`` — the Demand of ``op`` (or of one share of it) on ``array`` (a
  ``SystolicArray``: geometry, buffers, DRAM port); ``scales`` gives each operand's DRAM traffic factor
  (``DramScales``: 0 when a mapper placed the operand on chip, 1/n when n arrays sharing its SRAM fetch
  it once);
* ``split(array, op, n)`` — ``n`` shares of ``op`` for ``n`` identical arrays working at once, and which
  operand every share reads in full (``Split``);
* ``pe_register_bits(operand_bits, accumulator_bits)`` — bits a MAC moves through PE pipeline registers
  (energy).

Shipped: ``fold`` (SCALE-Sim's output/weight/input-stationary fold mapping: ``os``, ``ws``, ``is``) and
``neupims_ws`` (the weight-stationary cores of NeuPIMs' public simulator, for comparisons with it).
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Protocol

from archsim.hw.demand import Demand
from archsim.hw.shares import Split


@dataclass(frozen=True)
class DramScales:
    """Factor on each operand's DRAM traffic (1 = fetched as the op runs, 0 = already on chip, 1/n =
    fetched once for n arrays that share its SRAM)."""

    input: float = 1.0
    weight: float = 1.0
    output: float = 1.0


class Dataflow(Protocol):
    """What a dataflow module implements (see module docstring)."""

    name: str

    def demand(self, array, op, scales: DramScales) -> Demand: ...

    def split(self, array, op, n: int) -> Split: ...

    def pe_register_bits(self, operand_bits: int, accumulator_bits: int) -> int: ...


_DATAFLOWS: dict[str, Dataflow] = {}


def register_dataflow(dataflow: Dataflow) -> Dataflow:
    """Make ``dataflow`` selectable as ``dataflow: <its name>``; a name registered twice is a bug."""
    existing = _DATAFLOWS.get(dataflow.name)
    if existing is not None and existing is not dataflow:
        raise RuntimeError(f"dataflow {dataflow.name!r} registered twice")
    _DATAFLOWS[dataflow.name] = dataflow
    return dataflow


def _load_modules() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def get_dataflow(name: str) -> Dataflow:
    """The registered dataflow ``name`` (KeyError naming the known ones otherwise)."""
    if name not in _DATAFLOWS:
        _load_modules()
    try:
        return _DATAFLOWS[name]
    except KeyError:
        raise KeyError(f"unknown dataflow {name!r}; expected one of {dataflow_names()}") from None


def dataflow_names() -> list[str]:
    """Names of every registered dataflow, sorted."""
    _load_modules()
    return sorted(_DATAFLOWS)

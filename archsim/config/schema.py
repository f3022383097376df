"""Pydantic schemas of the architecture YAML: the top level, and the base all component params share."""
from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

# Every number in an architecture file is a size, count, rate, time or energy: finite, not negative, and
# within these magnitudes (a non-zero value below SANE_MIN or above SANE_MAX is a typo or a unit slip, and
# would overflow the int64 cycle counters downstream).
SANE_MIN = 1e-9
SANE_MAX = 1e12
SANE_RANGE = f"a finite number ≥ 0: 0 or between {SANE_MIN:g} and {SANE_MAX:g}"


def number_problem(value: Any, takes_bool: bool, where: str = "") -> tuple[str, str, Any] | None:
    """``(where, problem, value)`` of the first bad number inside ``value`` (recursing into lists and
    mappings; ``where`` is the dotted path below ``value``), or None when every number is sane."""
    if isinstance(value, bool):
        return None if takes_bool else (where, "true/false is not a number", value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return where, "not a finite number", value
        if value < 0:
            return where, "negative number", value
        if value and not SANE_MIN <= value <= SANE_MAX:
            return where, "number out of range", value
        return None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = number_problem(item, takes_bool, f"{where}.{key}" if where else str(key))
        if found:
            return found
    return None


def memory_ref(description: str, kinds: tuple[str, ...], **field_kwargs: Any) -> Any:
    """A field naming a memory of the architecture; ``kinds`` are the memory kinds it may name (checked at
    load by ``archsim.config.loader``)."""
    return Field(description=description, json_schema_extra={"memory_kinds": list(kinds)}, **field_kwargs)


class StrictModel(BaseModel):
    """Base of every config model: unknown keys are errors, instances are immutable, and every number in
    it (nested ones included) is finite, not negative and of a sane magnitude (see ``SANE_RANGE``);
    true/false is accepted only where the field is a bool."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _bools_are_bools(cls, value: Any, info: ValidationInfo) -> Any:
        annotation = cls.model_fields[info.field_name].annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return value          # a nested model checks its own fields (its bools are bools)
        if annotation in (bool, bool | None) and value is not None and not isinstance(value, bool):
            raise PydanticCustomError("sane_number", "{problem}", {"problem": "not true or false", "at": "",
                                                                 "bad": value, "expected": "true or false"})
        if "bool" not in str(annotation) and "Any" not in str(annotation):
            found = number_problem(value, takes_bool=False)
            if found and isinstance(found[2], bool):
                _raise_number_problem(*found)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _sane_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if "Any" not in str(cls.model_fields[info.field_name].annotation):
            found = number_problem(value, takes_bool=True)
            if found:
                _raise_number_problem(*found)
        return value


def _raise_number_problem(where: str, problem: str, bad: Any) -> None:
    raise PydanticCustomError("sane_number", "{problem}", {"problem": problem, "at": where, "bad": bad,
                                                         "expected": SANE_RANGE})


class LinkParams(StrictModel):
    """A point-to-point link between two memories (or a memory and an engine)."""

    src: str = Field(description="name of the memory or engine the data leaves")
    dst: str = Field(description="name of the memory or engine the data reaches")
    bandwidth_gbps: float = Field(gt=0, description="GB/s (1e9 bytes per second)")
    latency_ns: float = Field(default=0.0, ge=0)
    energy_pj_per_bit: float | None = Field(default=None, gt=0, description="energy of an off-chip link "
                                            "(PHY/SerDes) per bit moved, pJ; when set it prices the link instead "
                                            "of an on-chip wire of energy.link_length_mm")


class ArchFile(StrictModel):
    """The top level of an architecture file after ``extends:`` is resolved.

    Component sections stay raw dicts here; each one is validated by the schema its ``kind:``
    registered (see archsim.hw.registry).
    """

    name: str
    description: str = ""
    clock_ghz: float = Field(gt=0, description="clock of the engines unless an engine sets its own, GHz")
    engines: dict[str, dict[str, Any]] = Field(min_length=1)
    memories: dict[str, dict[str, Any]] = Field(default_factory=dict)
    links: dict[str, LinkParams] = Field(default_factory=dict)

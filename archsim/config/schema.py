"""Pydantic schemas of the architecture YAML: the top level, and the base all component params share."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class StrictModel(BaseModel):
    """Base of every config model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LinkParams(StrictModel):
    """A point-to-point link between two memories (or a memory and an engine)."""

    src: str = Field(description="name of the memory or engine the data leaves")
    dst: str = Field(description="name of the memory or engine the data reaches")
    bandwidth_gbps: float = Field(gt=0, description="GB/s (1e9 bytes per second)")
    latency_ns: float = Field(default=0.0, ge=0)


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

"""What an energy evaluation needs beyond the architecture: target node/Vdd and the facts the arch YAML
does not state (operand dtype per engine, DRAM standard per memory, wire length per link).

Nothing here has a hidden default energy: the defaults are rules stated below, and anything a rule
cannot decide (a DRAM memory without a standard, a link without a length) is an EnergyError.

* ``engine_dtype``: systolic engines default to ``int{8*word_bytes}`` (the shipped arrays are integer
  arrays), vector engines to ``int32`` (post-processing on accumulator-width values);
* ``dram_standard``: the memory's own ``standard`` parameter if its kind has one, else this mapping;
* ``link_length_mm``: required for every link that carries a transfer.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from archsim.errors import ConfigError


@dataclass(frozen=True)
class EnergySpec:
    """Target technology and the per-component facts energy needs (node in nm, Vdd in V, mm)."""

    node_nm: float = 45.0
    vdd_v: float = 0.9
    engine_dtype: Mapping[str, str] = field(default_factory=dict)
    dram_standard: Mapping[str, str] = field(default_factory=dict)
    link_length_mm: Mapping[str, float] = field(default_factory=dict)
    include_static: bool = True
    strict: bool = False          # refuse placeholder table rows (for reproductions)
    table: str | None = None      # path of the energy table; None = the shipped default

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, source: str | Path = "<energy>",
                  prefix: str = "energy") -> "EnergySpec":
        """Build from a YAML mapping (e.g. a sweep file's ``energy:`` section); unknown keys are errors."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                raise ConfigError(source, f"{prefix}.{key}", "unknown key", expected=f"one of {sorted(known)}")
        for key in ("engine_dtype", "dram_standard", "link_length_mm"):
            if key in data and not isinstance(data[key], Mapping):
                raise ConfigError(source, f"{prefix}.{key}", "bad value", value=data[key], has_value=True,
                                  expected="a mapping of component name to value")
        for key in ("node_nm", "vdd_v"):
            if key in data and not (isinstance(data[key], (int, float)) and data[key] > 0):
                raise ConfigError(source, f"{prefix}.{key}", "bad value", value=data[key], has_value=True,
                                  expected="a number > 0")
        for key in ("include_static", "strict"):
            if key in data and not isinstance(data[key], bool):
                raise ConfigError(source, f"{prefix}.{key}", "bad value", value=data[key], has_value=True,
                                  expected="true or false")
        return cls(**data)

    @classmethod
    def from_overrides(cls, items: list[str], source: str = "--set") -> "EnergySpec":
        """Build from ``energy.KEY=VALUE`` / ``energy.MAPPING.NAME=VALUE`` command-line overrides, e.g.
        ``energy.node_nm=28``, ``energy.dram_standard.lpddr4=LPDDR4``, ``energy.include_static=false``
        (values are YAML scalars); checked like a sweep file's ``energy:`` section."""
        import yaml

        data: dict[str, Any] = {}
        for item in items:
            key, sep, raw = item.partition("=")
            path = key.strip().split(".")
            if not sep or path[0] != "energy" or len(path) < 2 or not all(path):
                raise ConfigError(source, key.strip() or item, "bad energy override",
                                  expected="energy.KEY=VALUE or energy.MAPPING.NAME=VALUE, e.g. energy.node_nm=28")
            try:
                value = yaml.safe_load(raw) if raw.strip() else None
            except yaml.YAMLError:
                value = raw
            if len(path) == 2:
                data[path[1]] = value
            elif len(path) == 3 and path[1] in ("engine_dtype", "dram_standard", "link_length_mm"):
                slot = data.setdefault(path[1], {})
                if not isinstance(slot, dict):
                    raise ConfigError(source, key.strip(), "bad energy override", expected="one value per key")
                slot[path[2]] = value
            else:
                raise ConfigError(source, key.strip(), "unknown energy key",
                                  expected="energy.<field> or energy.{engine_dtype,dram_standard,link_length_mm}.<name>")
        return cls.from_dict(data, source)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (for hashing sweep points and writing next to results)."""
        return {f.name: (dict(getattr(self, f.name)) if isinstance(getattr(self, f.name), Mapping)
                         else getattr(self, f.name)) for f in fields(self)}

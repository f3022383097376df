"""Build a ``DramStandard`` from a preset name and/or a YAML file, with located errors.

A DRAM YAML file starts from a preset and overrides any part of it::

    standard: HBM2                 # preset to start from (see `preset_names()`)
    name: HBM2_closed_page         # optional
    tck_ns: 1.0                    # optional
    org:        {channels: 4}      # any DramOrg field
    timing:     {tRFC: 350}        # any timing parameter (cycles of tck_ns)
    controller: {row_policy: closed, address_mapping: rorabgbachco}

Every problem raises ``archsim.errors.ConfigError`` naming the file, the dotted key and what was
expected.
"""
from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from pathlib import Path
from typing import Any

from archsim.errors import ConfigError
from archsim.hw.dram.standards import (
    REQUIRED_TIMINGS, ControllerConfig, DramOrg, DramStandard, UndefinedTiming, constraint_table,
    get_standard, preset_names, validate_controller,
)

_TOP_KEYS = ("standard", "name", "tck_ns", "org", "timing", "controller", "description")
_POW2_ORG = ("channels", "ranks", "bankgroups", "banks_per_group", "rows", "columns", "burst_length")


def resolve_standard(name: str, source: str | Path | None = None, key_path: str = "standard") -> DramStandard:
    """The preset ``name``; an unknown name raises a ConfigError listing the presets."""
    if not isinstance(name, str):
        raise ConfigError(source, key_path, "not a preset name", value=name, has_value=True,
                          expected=f"one of {preset_names()}")
    try:
        return get_standard(name)
    except KeyError:
        problem = "unknown DRAM standard"
        if name.strip().upper().replace("-", "_") == "HBM2E":
            problem += " (the reference timing facts hold no HBM2E set; start from HBM2 or HBM2_2400 in a YAML)"
        raise ConfigError(source, key_path, problem, value=name, has_value=True,
                          expected=f"one of {preset_names()}") from None


def _int_field(file, key, value, minimum=0, pow2=False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(file, key, "bad value", value=value, has_value=True,
                          expected=f"an integer ≥ {minimum}")
    if pow2 and value & (value - 1):
        raise ConfigError(file, key, "bad value", value=value, has_value=True, expected="a power of two")
    return value


def _mapping(file, key, value) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(file, key, "not a mapping", value=value, has_value=True,
                          expected="a mapping of keys to values")
    return value


def apply_overrides(base: DramStandard, data: dict[str, Any], file: str | Path | None = None) -> DramStandard:
    """``base`` with the ``org``/``timing``/``controller``/``tck_ns``/``name`` overrides in ``data``."""
    for key in data:
        if key not in _TOP_KEYS:
            raise ConfigError(file, str(key), "unknown key", expected=f"one of {list(_TOP_KEYS)}")
    std = base
    if "name" in data:
        if not isinstance(data["name"], str) or not data["name"]:
            raise ConfigError(file, "name", "bad value", value=data["name"], has_value=True,
                              expected="a non-empty string")
        std = std.replace(name=data["name"])
    if "tck_ns" in data:
        v = data["tck_ns"]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
            raise ConfigError(file, "tck_ns", "bad value", value=v, has_value=True, expected="a number > 0 (ns)")
        std = std.replace(tck_ns=float(v))
    org = _mapping(file, "org", data.get("org"))
    if org:
        fields = {f.name for f in dataclasses.fields(DramOrg)}
        new = dataclasses.asdict(std.org)
        for k, v in org.items():
            if k not in fields:
                raise ConfigError(file, f"org.{k}", "unknown key", expected=f"one of {sorted(fields)}")
            new[k] = _int_field(file, f"org.{k}", v, minimum=1, pow2=k in _POW2_ORG)
        if new["bus_width_bits"] % 8:
            raise ConfigError(file, "org.bus_width_bits", "bad value", value=new["bus_width_bits"],
                              has_value=True, expected="a multiple of 8")
        if new["columns"] < new["burst_length"]:
            raise ConfigError(file, "org.columns", "bad value", value=new["columns"], has_value=True,
                              expected=f"≥ burst_length ({new['burst_length']})")
        std = std.replace(org=DramOrg(**new))
    timing = _mapping(file, "timing", data.get("timing"))
    if timing:
        new_t = dict(std.timing)
        for k, v in timing.items():
            if not isinstance(k, str) or not k.isidentifier():
                raise ConfigError(file, f"timing.{k}", "bad timing name", expected="an identifier such as tRCD")
            new_t[k] = _int_field(file, f"timing.{k}", v, minimum=0)
        if "tRCD" in timing:  # DDR-style tRCD sets both directions unless given separately
            rcd = new_t.pop("tRCD")
            new_t["tRCDRD"] = timing.get("tRCDRD", rcd)
            new_t["tRCDWR"] = timing.get("tRCDWR", rcd)
        for k in ("tBL", "tREFI"):
            if new_t.get(k, 1) < 1:
                raise ConfigError(file, f"timing.{k}", "bad value", value=new_t[k], has_value=True,
                                  expected="an integer ≥ 1")
        std = std.replace(timing=new_t)
    ctrl = _mapping(file, "controller", data.get("controller"))
    if ctrl:
        fields = {f.name: f for f in dataclasses.fields(ControllerConfig)}
        new_c = dataclasses.asdict(std.controller)
        for k, v in ctrl.items():
            if k not in fields:
                raise ConfigError(file, f"controller.{k}", "unknown key", expected=f"one of {sorted(fields)}")
            default = new_c[k]
            if isinstance(default, bool):
                if not isinstance(v, bool):
                    raise ConfigError(file, f"controller.{k}", "bad value", value=v, has_value=True,
                                      expected="true or false")
            elif isinstance(default, int):
                v = _int_field(file, f"controller.{k}", v, minimum=0)
            elif not isinstance(v, str):
                raise ConfigError(file, f"controller.{k}", "bad value", value=v, has_value=True, expected="a string")
            new_c[k] = v
        problem = validate_controller(SimpleNamespace(**new_c))
        if problem:
            key = next((k for k in ctrl if problem.startswith(k)), next(iter(ctrl)))
            raise ConfigError(file, f"controller.{key}", "bad value", value=new_c[key], has_value=True,
                              expected=problem)
        std = std.replace(controller=ControllerConfig(**new_c))
    check_standard(std, file)
    return std


def check_standard(std: DramStandard, file: str | Path | None = None) -> None:
    """Raise a ConfigError if ``std`` lacks a required timing or a rule cannot be evaluated."""
    for k in REQUIRED_TIMINGS:
        if k not in std.timing:
            raise ConfigError(file, f"timing.{k}", "missing key", expected="an integer number of cycles")
    try:
        constraint_table(std)
    except UndefinedTiming as exc:
        raise ConfigError(file, f"timing.{exc.args[0]}", "missing key",
                          expected="an integer number of cycles (a timing rule uses it)") from None


def load_dram_config(path: str | Path, standard: str | None = None) -> DramStandard:
    """Read a DRAM YAML file; ``standard`` (e.g. from ``--standard``) is used when the file names none."""
    from archsim.config.loader import read_yaml_mapping

    path = Path(path)
    data = read_yaml_mapping(path)
    name = data.get("standard", standard)
    if name is None:
        raise ConfigError(path, "standard", "missing key", expected=f"a preset name, one of {preset_names()}")
    base = resolve_standard(name, path if "standard" in data else "<command line>",
                            "standard" if "standard" in data else "--standard")
    return apply_overrides(base, data, path)

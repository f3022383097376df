"""Load an architecture YAML into a validated, frozen ``Arch``.

Steps, each of which reports errors with the file and the dotted key path:
1. read YAML (UTF-8, duplicate keys rejected: ``archsim.config.yaml_file``); the top level must be a mapping;
2. resolve ``extends: other.yaml`` (relative to the file; chains allowed, cycles rejected) by a
   deep merge in which the child wins;
3. apply dotted-key overrides (``engines.npu.rows=64``; values parsed as YAML scalars);
4. validate the top level (``ArchFile``) and every engine/memory by the schema its ``kind:`` registered.
"""
from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml
from pydantic import BaseModel, ValidationError

from archsim.config.schema import ArchFile, LinkParams
from archsim.config.yaml_file import read_yaml_file
from archsim.errors import ConfigError
from archsim.hw import registry


@dataclass(frozen=True)
class Arch:
    """A validated architecture: engines and memories as their kinds' parameter models."""

    name: str
    clock_ghz: float
    engines: dict[str, BaseModel]
    memories: dict[str, BaseModel]
    links: dict[str, LinkParams]
    description: str = ""
    source: str = "<memory>"
    resolved: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The validated architecture as plain data, every default filled in (what ``summary.json`` records);
        ``build_arch(arch.to_dict())`` gives an equal Arch."""
        return {"name": self.name, "description": self.description, "clock_ghz": self.clock_ghz,
                "engines": {n: p.model_dump(mode="json") for n, p in self.engines.items()},
                "memories": {n: p.model_dump(mode="json") for n, p in self.memories.items()},
                "links": {n: p.model_dump(mode="json") for n, p in self.links.items()}}

    def engine_clock_ghz(self, engine: str) -> float:
        """Clock of ``engine`` in GHz (its own ``clock_ghz`` if set, else the architecture's)."""
        own = getattr(self.engines[engine], "clock_ghz", None)
        return float(own) if own else self.clock_ghz


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Read ``path`` as YAML and return its top-level mapping (ConfigError if missing or malformed)."""
    data = read_yaml_file(path)
    if not isinstance(data, dict):
        raise ConfigError(path, "", "top level is not a mapping", value=data, has_value=True,
                          expected="a mapping of keys to values")
    return data


def deep_merge(base: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` updated by ``child`` recursively (mappings merge, anything else is replaced)."""
    merged = copy.deepcopy(dict(base))
    for key, value in child.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve_extends(path: Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read ``path`` and merge it over the file its ``extends:`` names, recursively."""
    path = path.resolve()
    if path in _chain:
        cycle = " -> ".join(str(p) for p in (*_chain, path))
        raise ConfigError(path, "extends", f"inheritance cycle: {cycle}")
    data = read_yaml_mapping(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ConfigError(path, "extends", "bad value", value=parent, has_value=True,
                          expected="the path of another architecture YAML (relative to this file)")
    parent_path = (path.parent / parent)
    if not parent_path.is_file():
        raise ConfigError(path, "extends", "parent file not found", value=parent, has_value=True,
                          expected=f"an existing file (looked for {parent_path})")
    return deep_merge(resolve_extends(parent_path, (*_chain, path)), data)


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``'a.b.c=value'`` into the dotted key and the value parsed as a YAML scalar."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError("--set", text, "bad override", expected="KEY.PATH=VALUE, e.g. engines.npu.rows=64")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def apply_overrides(data: dict[str, Any], overrides: Iterable[str | tuple[str, Any]],
                    source: str) -> dict[str, Any]:
    """Return a copy of ``data`` with each dotted-key override set; missing parents are errors."""
    data = copy.deepcopy(data)
    for item in overrides:
        key, value = parse_override(item) if isinstance(item, str) else item
        parts = key.split(".")
        node: Any = data
        for i, part in enumerate(parts[:-1]):
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(source, ".".join(parts[: i + 1]),
                                  f"override {key!r} names a section that does not exist",
                                  expected="an existing section of the architecture")
            node = node[part]
        if not isinstance(node, dict):
            raise ConfigError(source, key, "override target's parent is not a mapping")
        node[parts[-1]] = value
    return data


def _known_keys(model: type[BaseModel] | None, loc: tuple) -> list[str] | None:
    """Field names of the (possibly nested) model at ``loc`` minus its last element, if resolvable."""
    for part in loc[:-1]:
        if model is None:
            return None
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None) if field else None
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return sorted(model.model_fields) if model is not None else None


def _expected_from(err: dict[str, Any], model: type[BaseModel] | None = None) -> str:
    etype = err.get("type", "")
    ctx = err.get("ctx") or {}
    if etype == "extra_forbidden":
        known = _known_keys(model, tuple(err["loc"]))
        if not known:
            return "a known key (check the spelling)"
        return f"one of the known keys {known}"
    if etype == "missing":
        return "this key to be present"
    if etype in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return err["msg"].replace("Input should be ", "a number ")
    if etype == "literal_error":
        return "one of " + str(ctx.get("expected", err["msg"]))
    return err["msg"].replace("Input should be ", "")


def validation_error(source: str, prefix: str, exc: ValidationError,
                     model: type[BaseModel] | None = None) -> ConfigError:
    """Turn the first pydantic error into a ConfigError located at ``prefix`` + its location."""
    # a misspelt key shows up as one unknown and one missing key: report the unknown one
    err = sorted(exc.errors(), key=lambda e: e.get("type") != "extra_forbidden")[0]
    loc = ".".join(str(p) for p in err["loc"])
    key_path = ".".join(p for p in (prefix, loc) if p)
    if err.get("type") == "extra_forbidden":
        known = _known_keys(model, tuple(err["loc"])) or []
        close = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
        problem = f"unknown key (did you mean {close[0]!r}?)" if close else "unknown key"
        return ConfigError(source, key_path, problem, expected=_expected_from(err, model))
    if err.get("type") == "missing":
        return ConfigError(source, key_path, "missing key", expected=_expected_from(err))
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, ValueError) and getattr(cause, "key_path", None):
        # a check across keys (a design that does not fit its FPGA) names the key it blames
        return ConfigError(source, f"{key_path}.{cause.key_path}", str(cause))
    if err.get("type") == "value_error":
        # a schema's own check (e.g. an unknown DRAM standard): its message says what and what was expected
        return ConfigError(source, key_path, "bad value", value=err.get("input"), has_value=True,
                           expected=str(err["msg"]).removeprefix("Value error, "))
    if err.get("type") == "sane_number":
        ctx = err["ctx"]
        key_path = ".".join(p for p in (key_path, ctx["at"]) if p)
        return ConfigError(source, key_path, ctx["problem"], value=ctx["bad"], has_value=True,
                           expected=ctx["expected"])
    return ConfigError(source, key_path, "bad value", value=err.get("input"), has_value=True,
                       expected=_expected_from(err))


def _validate_component(source: str, category: registry.Category, section: str, name: str,
                        raw: Any) -> BaseModel:
    path = f"{section}.{name}"
    if not isinstance(raw, dict):
        raise ConfigError(source, path, "not a mapping", value=raw, has_value=True,
                          expected=f"a mapping with a 'kind:' key")
    kind = raw.get("kind")
    if kind is None:
        raise ConfigError(source, f"{path}.kind", "missing key",
                          expected=f"one of {registry.kinds(category)}")
    component = registry.lookup(category, str(kind))
    if component is None:
        raise ConfigError(source, f"{path}.kind", f"unknown {category} kind", value=kind, has_value=True,
                          expected=f"one of {registry.kinds(category)}")
    try:
        return component.params.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(source, path, exc, component.params) from None


def build_arch(data: dict[str, Any], source: str = "<memory>") -> Arch:
    """Validate an already-merged architecture mapping and return the frozen ``Arch``."""
    try:
        top = ArchFile.model_validate(data)
    except ValidationError as exc:
        raise validation_error(source, "", exc, ArchFile) from None
    engines = {n: _validate_component(source, "engine", "engines", n, raw) for n, raw in top.engines.items()}
    memories = {n: _validate_component(source, "memory", "memories", n, raw)
                for n, raw in top.memories.items()}
    arch = Arch(name=top.name, clock_ghz=top.clock_ghz, engines=engines, memories=memories,
                links=dict(top.links), description=top.description, source=source,
                resolved=copy.deepcopy(data))
    _check_references(arch)
    return arch


def _check_references(arch: Arch) -> None:
    """Every memory a field declared with ``memory_ref`` names must exist and be of a kind the field
    accepts; every link end must exist; then each kind's own ``check`` runs (errors name the key)."""
    names = set(arch.memories) | set(arch.engines)
    for section, components in (("engines", arch.engines), ("memories", arch.memories)):
        for cname, params in components.items():
            for key, field in type(params).model_fields.items():
                kinds = (field.json_schema_extra or {}).get("memory_kinds") \
                    if isinstance(field.json_schema_extra, dict) else None
                value = getattr(params, key)
                if kinds is None or value is None:
                    continue
                fitting = sorted(n for n, m in arch.memories.items() if m.kind in kinds)
                if value not in arch.memories:
                    raise ConfigError(arch.source, f"{section}.{cname}.{key}", "names an unknown memory",
                                      value=value, has_value=True, expected=f"one of the memories {fitting}")
                if arch.memories[value].kind not in kinds:
                    raise ConfigError(arch.source, f"{section}.{cname}.{key}",
                                      f"names a memory of kind {arch.memories[value].kind!r}", value=value,
                                      has_value=True, expected=f"a {' or '.join(kinds)} memory, one of {fitting}")
    for lname, link in arch.links.items():
        for end in ("src", "dst"):
            value = getattr(link, end)
            if value not in names:
                raise ConfigError(arch.source, f"links.{lname}.{end}", "names an unknown component",
                                  value=value, has_value=True, expected=f"one of {sorted(names)}")
    for category, components in (("engine", arch.engines), ("memory", arch.memories)):
        for cname, params in components.items():
            check = registry.lookup(category, params.kind).check
            if check is not None:
                check(arch, cname, params)


def load_arch(path: str | Path, overrides: Iterable[str | tuple[str, Any]] = ()) -> Arch:
    """Load, merge (``extends:``), override (dotted keys) and validate an architecture YAML file (a path, or
    the short name of a shipped architecture, e.g. ``tpu_v1_like``)."""
    from archsim.config.shipped import resolve_arch

    path = resolve_arch(path)
    data = resolve_extends(path)
    data = apply_overrides(data, overrides, str(path))
    return build_arch(data, str(path))

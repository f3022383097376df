"""Reading YAML input files strictly: UTF-8 text, no duplicate keys, every failure a located ConfigError."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from archsim.errors import ConfigError


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that rejects a mapping naming the same key twice (PyYAML keeps the last silently)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)          # resolves `<<: *anchor` merges first; overriding a merged key is fine
    seen: dict[Any, yaml.Mark] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            first = seen.get(key)
        except TypeError:                 # an unhashable key: let the base constructor report it
            break
        if first is not None:
            raise yaml.constructor.ConstructorError(
                f"while reading the mapping that starts at line {node.start_mark.line + 1}", node.start_mark,
                f"duplicate key {key!r} (first at line {first.line + 1}); each key may appear once",
                key_node.start_mark)
        seen[key] = key_node.start_mark
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def read_text_file(path: Path, what: str = "file") -> str:
    """The text of ``path`` decoded as UTF-8 (ConfigError naming the line and byte when it is not)."""
    if not path.is_file():
        raise ConfigError(path, "", f"{what} not found", expected=f"an existing {what}")
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(path, "", f"not UTF-8 text: byte {raw[exc.start]:#04x} at line {line} "
                                    f"(offset {exc.start})", expected="a UTF-8 encoded text file") from None


def parse_yaml(text: str, source: str | Path) -> Any:
    """``text`` parsed as YAML with duplicate keys rejected (ConfigError with line and column)."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(source, "", f"not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None


def read_yaml_file(path: Path, what: str = "YAML file") -> Any:
    """The YAML document in ``path`` (UTF-8, no duplicate keys), located ConfigError otherwise."""
    return parse_yaml(read_text_file(path, what), path)

"""The architectures shipped with archsim (``arch_configs/*.yaml``), found by short name from any directory.

``arch_configs/dram/`` holds DRAM controller configs for ``archsim dram --config``, not architectures, so it is
not listed here."""
from __future__ import annotations

import difflib
from pathlib import Path

from archsim.errors import ConfigError


def arch_configs_dir() -> Path:
    """The directory of shipped architecture files (the checkout's ``arch_configs/`` or the installed copy)."""
    from archsim.shipped import shipped_dir

    return shipped_dir("arch_configs")


def shipped_architectures() -> dict[str, Path]:
    """Short name (file stem) → file of every shipped architecture, sorted by name."""
    directory = arch_configs_dir()
    return {p.stem: p for p in sorted(directory.glob("*.yaml"))} if directory.is_dir() else {}


def resolve_arch(name_or_path: str | Path) -> Path:
    """The architecture file ``name_or_path`` names: an existing file, else a shipped architecture's short name
    (``tpu_v1_like`` or ``tpu_v1_like.yaml``); ConfigError (with the closest shipped names) otherwise."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = shipped_architectures()
    text = str(name_or_path)
    stem = path.stem if path.suffix in (".yaml", ".yml") else path.name
    if path.parent == Path(".") and stem in shipped:
        return shipped[stem]
    close = difflib.get_close_matches(stem, list(shipped), n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise ConfigError(text, "", f"file not found, nor a shipped architecture of that name{hint}",
                      expected=f"an architecture YAML path or one of {list(shipped)}")

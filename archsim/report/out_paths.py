"""Where commands write: an output directory or file is checked before any work starts, so a bad ``--out``
is a ConfigError naming the flag and the path, not a traceback after a long run."""
from __future__ import annotations

import os
from pathlib import Path

from archsim.errors import ConfigError


def output_dir(path: str | Path, flag: str = "--out") -> Path:
    """``path`` as a writable directory (created with its parents); ConfigError if it is a file or not writable."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError("command line", flag, "is an existing file, not a directory", value=str(path), has_value=True,
                          expected="a directory (existing or new)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError("command line", flag, f"cannot create the directory ({exc.strerror})", value=str(path),
                          has_value=True, expected="a directory archsim may create and write") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError("command line", flag, "directory is not writable", value=str(path), has_value=True,
                          expected="a directory archsim may write")
    return path


def output_file(path: str | Path, flag: str = "--out") -> Path:
    """``path`` as a file archsim may write (its directory created); ConfigError if it is a directory or its
    directory is not writable."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError("command line", flag, "is a directory, not a file", value=str(path), has_value=True,
                          expected="a file path (e.g. out/schedule.json)")
    output_dir(path.parent if str(path.parent) else Path("."), flag)
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError("command line", flag, "file is not writable", value=str(path), has_value=True,
                          expected="a file archsim may overwrite")
    return path

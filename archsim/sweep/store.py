"""Per-task result files keyed by config hash (written once, atomically) and the assembled results table."""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from archsim.errors import ConfigError

MANIFEST = "sweep.json"
TABLE_FORMATS = ("csv", "parquet")
RUN_FILES = ("summary.json", "ops.csv", "ops.parquet", "ops.json")   # what marks a run directory


def claim_out_dir(out_dir: str | Path, name: str, source: str, definition: str) -> bool:
    """Make ``out_dir`` the home of sweep ``name``; ConfigError if it already holds another sweep or a run.

    One directory holds one sweep's results: ``<out>/sweep.json`` names the sweep that owns it. Running the
    same sweep again (same ``name``: a resume, a rerun, or an edited or widened version of that sweep file)
    is allowed - stored points are reused by config hash and the results table is rewritten for the current
    definition; another sweep is refused. Returns True when the definition changed since the last run.
    """
    out = Path(out_dir)
    manifest = out / MANIFEST
    changed = False
    if manifest.is_file():
        try:
            owner = json.loads(manifest.read_text())
        except json.JSONDecodeError:
            owner = {}
        if owner.get("name") != name:
            raise ConfigError(source, "name", f"--out {out} already holds the results of sweep "
                              f"{owner.get('name')!r} (from {owner.get('source', '?')}); one directory holds one "
                              f"sweep", value=name, has_value=True,
                              expected=f"another --out for sweep {name!r}, or delete {out} first")
        changed = owner.get("definition") != definition
    elif out.is_dir() and any((out / f).is_file() for f in RUN_FILES):
        raise ConfigError(source, "--out", f"{out} is the directory of an `archsim run`, not of a sweep",
                          expected="a new or empty directory, or one this sweep wrote")
    from archsim import __version__

    out.mkdir(parents=True, exist_ok=True)
    _atomic_write(manifest, json.dumps({"name": name, "source": source, "definition": definition,
                                        "archsim_version": __version__}, indent=2, sort_keys=True) + "\n")
    return changed


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


class PointStore:
    """``<out>/points/<config_hash>.json``: one file per finished task (ok or failed)."""

    def __init__(self, out_dir: str | Path) -> None:
        self.dir = Path(out_dir) / "points"
        self.dir.mkdir(parents=True, exist_ok=True)

    def path(self, config_hash: str) -> Path:
        """File of ``config_hash``."""
        return self.dir / f"{config_hash}.json"

    def get(self, config_hash: str) -> dict[str, Any] | None:
        """The stored task output, or None if the task has not finished (or its file is unreadable)."""
        p = self.path(config_hash)
        try:
            return json.loads(p.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def put(self, output: dict[str, Any]) -> None:
        """Write a task output atomically (temp file + rename), so a killed sweep leaves no torn files."""
        clean = {**output, "metrics": {k: (None if isinstance(v, float) and math.isnan(v) else v)
                                       for k, v in output.get("metrics", {}).items()}}
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(clean, fh, sort_keys=True)
        os.replace(tmp, self.path(output["config_hash"]))


def write_table(df: pd.DataFrame, out_dir: str | Path, formats: tuple[str, ...] = ("csv", "parquet")) -> list[Path]:
    """Write ``results.<fmt>`` for each format (parquet only when pyarrow/fastparquet is installed) and remove
    a ``results.<other>`` an earlier run left, so the directory never holds tables of two different runs."""
    out = Path(out_dir)
    paths = []
    for fmt in TABLE_FORMATS:
        (out / f"results.{fmt}").unlink(missing_ok=True)
    if "csv" in formats:
        df.to_csv(out / "results.csv", index=False)
        paths.append(out / "results.csv")
    if "parquet" in formats:
        try:
            df.to_parquet(out / "results.parquet", index=False)
            paths.append(out / "results.parquet")
        except ImportError:
            if formats == ("parquet",):
                raise
    return paths


def read_table(out_dir: str | Path) -> pd.DataFrame:
    """The results table of a sweep directory (Parquet if present, else CSV)."""
    out = Path(out_dir)
    if (out / "results.parquet").is_file():
        try:
            return pd.read_parquet(out / "results.parquet")
        except ImportError:
            pass
    return pd.read_csv(out / "results.csv")

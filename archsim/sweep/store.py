"""Per-task result files keyed by config hash (written once, atomically) and the assembled results table."""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd


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
    """Write ``results.<fmt>`` for each format (parquet only when pyarrow/fastparquet is installed)."""
    out = Path(out_dir)
    paths = []
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

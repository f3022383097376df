"""Write a Result to a directory: ops table, components table and summary.json."""
from __future__ import annotations

import json
from pathlib import Path

from archsim.errors import ConfigError
from archsim.sim.result import Result

FORMATS = ("csv", "parquet", "json")


def write_table(df, path: Path, fmt: str) -> Path:
    """Write DataFrame ``df`` to ``path`` with the suffix of ``fmt`` (csv, json or parquet); the path."""
    target = path.with_suffix("." + fmt)
    if fmt == "csv":
        df.to_csv(target, index=False)
    elif fmt == "json":
        df.to_json(target, orient="records", indent=1)
    else:
        try:
            df.to_parquet(target, index=False)
        except ImportError as exc:
            raise ConfigError("--format", "format", f"parquet needs pyarrow ({exc})",
                              expected="pip install 'archsim[parquet]' or --format csv") from None
    return target


def write_result(result: Result, out_dir: str | Path, fmt: str = "csv", energy=None) -> list[Path]:
    """Write ``ops.<fmt>``, ``components.<fmt>`` and ``summary.json`` into ``out_dir``; return the paths.
    With ``energy`` (an ``archsim.report.energy.RunEnergy``) the components table carries energy and area
    columns and summary.json an ``energy`` section."""
    from archsim.report.energy import components_with_energy, energy_summary

    if fmt not in FORMATS:
        raise ConfigError("--format", "format", "unknown output format", value=fmt, has_value=True,
                          expected=f"one of {FORMATS}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [write_table(result.ops, out / "ops", fmt), write_table(components_with_energy(result.components, energy), out / "components", fmt)]
    summary = out / "summary.json"
    summary.write_text(json.dumps({**result.summary(), **energy_summary(energy)}, indent=2, sort_keys=True) + "\n")
    paths.append(summary)
    return paths

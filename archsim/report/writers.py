"""Write a Result to a directory: ops table, components table and summary.json (with the run's provenance);
one directory holds one run."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

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


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def provenance_difference(old: dict[str, Any] | None, new: dict[str, Any] | None, limit: int = 3) -> str:
    """What differs between two runs' provenance records, briefly (``engines.npu.rows 256 -> 128; mapper ...``)."""
    if not old or not new:
        return "an earlier run without a provenance record" if not old else "a run with a provenance record"
    a = {**_flat(old.get("arch", {}), "arch"), "workload": old.get("workload", {}).get("spec"),
         "knobs": old.get("workload", {}).get("knobs"), "mapper": old.get("mapper")}
    b = {**_flat(new.get("arch", {}), "arch"), "workload": new.get("workload", {}).get("spec"),
         "knobs": new.get("workload", {}).get("knobs"), "mapper": new.get("mapper")}
    diffs = [f"{k.removeprefix('arch.')} {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b))
             if a.get(k) != b.get(k)]
    if not diffs and old.get("workload", {}).get("sha256") != new.get("workload", {}).get("sha256"):
        diffs = ["the workload file's content"]
    more = f" and {len(diffs) - limit} more" if len(diffs) > limit else ""
    return "; ".join(diffs[:limit]) + more if diffs else "the same run"


def prepare_run_dir(out_dir: str | Path, provenance: dict[str, Any] | None = None) -> str | None:
    """Make ``out_dir`` ready for one run's files, never mixing two runs: the files an earlier run wrote there
    (``ops.*``, ``components.*``, ``summary.json``, ``plots/``) are removed first. Returns None when the directory
    was new or held the same run (same ``provenance["fingerprint"]``), else a description of the run it replaced
    (for the caller to tell the user). A sweep's directory is a ConfigError."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError("--out", "--out", "is a file, not a directory", value=str(out), has_value=True,
                          expected="a directory for the run's tables")
    if (out / "sweep.json").is_file():
        raise ConfigError("--out", "--out", f"{out} holds a sweep's results, not a run's", value=str(out),
                          has_value=True, expected="another directory")
    previous = None
    summary = out / "summary.json"
    if summary.is_file():
        try:
            previous = json.loads(summary.read_text()).get("provenance") or {}
        except (json.JSONDecodeError, AttributeError):
            previous = {}
    stale = [p for p in out.glob("*.*") if p.stem in ("ops", "components") and p.suffix[1:] in FORMATS]
    replaced = None
    if previous is not None or stale:
        same = bool(previous and provenance and previous.get("fingerprint") == provenance.get("fingerprint"))
        replaced = None if same else provenance_difference(previous, provenance)
    for path in stale + ([summary] if summary.is_file() else []):
        path.unlink()
    if (out / "plots").is_dir():
        shutil.rmtree(out / "plots")
    out.mkdir(parents=True, exist_ok=True)
    return replaced


def write_result(result: Result, out_dir: str | Path, fmt: str = "csv",
                 provenance: dict[str, Any] | None = None, energy=None) -> list[Path]:
    """Write ``ops.<fmt>``, ``components.<fmt>`` and ``summary.json`` into ``out_dir``; return the paths.

    ``provenance`` (``archsim.report.provenance.run_provenance``) goes into ``summary.json`` under
    ``"provenance"``. Files of an earlier run in ``out_dir`` are removed first (``prepare_run_dir``).
    With ``energy`` (an ``archsim.report.energy.RunEnergy``) the components table carries energy and area
    columns and summary.json an ``energy`` section."""
    from archsim.report.energy import components_with_energy, energy_summary

    if fmt not in FORMATS:
        raise ConfigError("--format", "format", "unknown output format", value=fmt, has_value=True,
                          expected=f"one of {FORMATS}")
    out = Path(out_dir)
    prepare_run_dir(out, provenance)
    paths = [write_table(result.ops, out / "ops", fmt),
             write_table(components_with_energy(result.components, energy), out / "components", fmt)]
    summary = out / "summary.json"
    record = {**result.summary(), **energy_summary(energy)}
    if provenance is not None:
        record["provenance"] = provenance
    summary.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    paths.append(summary)
    return paths

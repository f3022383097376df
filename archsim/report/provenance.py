"""What made a run: the record ``summary.json`` keeps so that it alone reproduces the run, and the run's
default directory.

``run_provenance`` returns ``{"arch": <validated architecture, every default filled>, "arch_source",
"arch_overrides", "workload": {"spec", "overrides", "knobs", "file", "sha256"}, "mapper", "archsim_version",
"git_commit", "fingerprint"}``. ``fingerprint`` hashes what determines the result (architecture, workload and
its knobs, workload file content, mapper), not the version or the commit.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

DEFAULT_MAPPER = "partition"


def git_commit(where: str | Path | None = None) -> str:
    """The commit of the git checkout archsim runs from (``-dirty`` appended when it has uncommitted
    changes), or ``"unknown"`` (an installed package, or no git)."""
    root = Path(where) if where is not None else Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return "unknown"
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if dirty and commit else (commit or "unknown")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def workload_record(workload: Any, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The workload as ``summary.json`` records it: what was asked for, its ``--set`` overrides and the knobs
    they resolve to, and for a file (or zoo model file) its path and SHA-256."""
    from archsim.trace import Trace
    from archsim.workload.knobs import parse_knobs

    record: dict[str, Any] = {"spec": None, "overrides": list(overrides), "knobs": asdict(parse_knobs(overrides)),
                              "file": None, "sha256": None}
    if isinstance(workload, Trace):
        record["spec"] = f"<in-memory trace {workload.name}>"
        record["sha256"] = hashlib.sha256(repr(workload.ops).encode()).hexdigest()
        return record
    record["spec"] = str(workload)
    path = Path(str(workload))
    if not path.is_file():
        from archsim.workload.loader import resolve_zoo_name
        try:
            path = resolve_zoo_name(str(workload))
        except Exception:   # not a zoo name either: simulate already said so
            return record
    record["file"] = str(path.resolve())
    record["sha256"] = _sha256(path)
    return record


def fingerprint(arch: dict[str, Any], workload: dict[str, Any], mapper: str) -> str:
    """SHA-256 (hex, 16 chars) of what determines a run's result."""
    payload = {"arch": arch, "workload": {k: workload.get(k) for k in ("spec", "knobs", "sha256")}, "mapper": mapper}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def run_provenance(arch, workload: Any, workload_overrides: Sequence[str] = (),
                   arch_overrides: Sequence[str] = (), mapper: str = DEFAULT_MAPPER) -> dict[str, Any]:
    """The provenance record of one ``simulate(arch, workload, workload_overrides=..., mapper=...)``."""
    from archsim import __version__

    arch_dict = arch.to_dict()
    wl = workload_record(workload, workload_overrides)
    return {"arch": arch_dict, "arch_source": arch.source, "arch_overrides": list(arch_overrides),
            "workload": wl, "mapper": mapper, "archsim_version": __version__, "git_commit": git_commit(),
            "fingerprint": fingerprint(arch_dict, wl, mapper)}


def serving_provenance(arch, model: str, requests: str, options: dict[str, Any],
                       arch_overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The provenance record of an ``archsim serve`` run: ``run_provenance``'s, with the serving options and the
    request distribution (``serving``) in place of a mapper (the decode mapper places the ops)."""
    record = run_provenance(arch, model, (), arch_overrides, mapper="decode")
    record["serving"] = {"requests": requests, "options": dict(options)}
    payload = json.dumps([record["fingerprint"], record["serving"]], sort_keys=True, default=str)
    record["fingerprint"] = hashlib.sha256(payload.encode()).hexdigest()[:16]
    return record


def default_run_dir(arch_name: str, workload: Any, arch_overrides: Sequence[str] = (),
                    workload_overrides: Sequence[str] = (), mapper: str = DEFAULT_MAPPER,
                    root: str | Path = "runs") -> Path:
    """``runs/<arch>__<workload>``, plus ``__<8 hex>`` (a hash of the ``--set`` overrides and the mapper) when the
    run has overrides or a non-default mapper: runs that differ in their settings get different directories."""
    stem = f"{arch_name}__{Path(str(workload)).stem}"
    if arch_overrides or workload_overrides or mapper != DEFAULT_MAPPER:
        settings = json.dumps([list(arch_overrides), list(workload_overrides), mapper])
        stem += "__" + hashlib.sha256(settings.encode()).hexdigest()[:8]
    return Path(root) / stem

"""One sweep task (a point x a workload): its content hash and the function workers run.

``run_task`` never raises: an exception inside simulation or energy becomes a row with
``status = "failed"`` and the error text, so one bad point cannot stop a sweep.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import traceback
from dataclasses import dataclass
from typing import Any

RESULT_SCHEMA = 2   # bump when the metrics a task returns change: old cached points are then recomputed


@dataclass(frozen=True)
class Task:
    """Everything a worker needs, as plain picklable data (no file paths except workload files)."""

    point: int
    workload_label: str
    config_hash: str
    arch: dict[str, Any] | None        # resolved architecture mapping; None when it could not be built
    arch_source: str
    workload: Any                      # str (zoo name / absolute path) or archsim.trace.Trace
    workload_overrides: tuple[str, ...]
    mapper: str
    energy: dict[str, Any] | None      # EnergySpec.to_dict() or None
    error: str = ""                    # set when the point already failed while being expanded
    serve: dict[str, Any] | None = None   # serving options (a serving run instead of one simulate)


def workload_key(workload: Any, overrides: tuple[str, ...]) -> str:
    """JSON text naming a workload and its overrides (an in-memory Trace by a digest of its ops)."""
    if isinstance(workload, str):
        return json.dumps([workload, list(overrides)])
    digest = hashlib.sha256(repr(workload).encode()).hexdigest()
    return json.dumps([f"trace:{getattr(workload, 'name', '')}:{digest}", list(overrides)])


def config_hash(arch: dict[str, Any] | None, workload: Any, overrides: tuple[str, ...], mapper: str,
                energy: dict[str, Any] | None, error: str = "", serve: dict[str, Any] | None = None) -> str:
    """SHA-256 (hex, 20 chars) of everything that determines a task's result."""
    payload = {"arch": arch, "workload": workload_key(workload, overrides), "mapper": mapper,
               "energy": energy, "schema": RESULT_SCHEMA, "error": error}
    if serve is not None:
        payload["serve"] = serve
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@functools.lru_cache(maxsize=16)
def _trace(workload: str, overrides: tuple[str, ...]):
    # per-process memo: a worker lowers each workload once, not once per point
    from archsim.workload import load_workload
    return load_workload(workload, list(overrides))


@functools.lru_cache(maxsize=4)
def _table(path: str | None):
    from archsim.energy.table import DEFAULT_TABLE, load_table
    return load_table(path or DEFAULT_TABLE)


def _nan_none(x: Any) -> float:
    return float("nan") if x is None else float(x)


def metrics(result, report) -> dict[str, float]:
    """Flat metrics of one run: cycles, ms, MACs, per-engine utilization, per-memory bytes, energy (pJ),
    area (mm2)."""
    s = result.summary()
    row = {"total_cycles": float(s["total_cycles"]), "latency_ms": s["latency_ms"],
           "total_macs": float(s["total_macs"]), "stall_cycles": float(s["stall_cycles"]), "ops": float(s["ops"])}
    for engine, util in s["engine_mac_utilization"].items():
        row[f"util.{engine}"] = _nan_none(util)
    for mem, rw in s["memory_bytes"].items():
        row[f"bytes.{mem}"] = rw["read"] + rw["write"]
    if report is not None:
        row.update({"energy_pj": report.total_pj, "dynamic_energy_pj": report.dynamic_pj,
                    "static_energy_pj": report.static_pj, "area_mm2": report.area_mm2})
        if row["total_cycles"]:
            # energy-delay product in pJ*ms
            row["edp_pj_ms"] = report.total_pj * row["latency_ms"]
        for comp in report.per_component.itertuples():
            row[f"energy_pj.{comp.component}"] = comp.total_pj
    return {k: (v if not (isinstance(v, float) and math.isinf(v)) else float("nan")) for k, v in row.items()}


def serving_metrics(r, report) -> dict[str, float]:
    """Flat metrics of one serving run: throughput, iteration time, utilisation per unit kind, context, energy."""
    row = {"tokens_per_s": r.tokens_per_s, "ms_per_iteration": r.device_time_ns / max(1, len(r.iterations)) / 1e6,
           "npu_util": r.npu_utilization, "pim_util": r.pim_utilization, "npu_busy": r.npu_busy_fraction,
           "pim_busy": r.pim_busy_fraction, "mean_context": r.mean_context, "total_cycles": float(r.result.total_cycles),
           "total_macs": float(r.result.total_macs), "requests_completed": float(r.requests_completed)}
    for unit in r.units.itertuples():
        row[f"busy.{unit.component}"] = float(unit.busy_fraction)
    if report is not None:
        row.update({"energy_pj": report.total_pj, "dynamic_energy_pj": report.dynamic_pj,
                    "static_energy_pj": report.static_pj, "area_mm2": report.area_mm2,
                    "energy_pj_per_token": report.total_pj * r.scale / max(1, r.tokens)})
    return row


def _run_serving(task: Task, arch) -> tuple[dict[str, float], Any]:
    from archsim.serving import ServingOptions, load_request_dist, serve

    opts = {k: v for k, v in task.serve.items() if k != "requests"}
    options = ServingOptions.from_mapping(opts, task.arch_source, "serve.")
    r = serve(arch, str(task.workload), load_request_dist(task.serve.get("requests", "sharegpt")), options)
    return r, r.result


def run_task(task: Task) -> dict[str, Any]:
    """Simulate one task; returns {"config_hash", "status": "ok"|"failed", "error", "metrics": {...}}."""
    out: dict[str, Any] = {"config_hash": task.config_hash, "status": "ok", "error": "", "metrics": {}}
    if task.error or task.arch is None:
        out.update(status="failed", error=task.error or "no architecture")
        return out
    try:
        from archsim.config import build_arch
        from archsim.sim.run import simulate

        arch = build_arch(task.arch, task.arch_source)
        serving = None
        if task.serve is not None:
            serving, result = _run_serving(task, arch)
        else:
            trace = _trace(task.workload, task.workload_overrides) if isinstance(task.workload, str) else task.workload
            result = simulate(arch, trace, mapper=task.mapper)
        report = None
        if task.energy is not None:
            from archsim.energy import EnergySpec, estimate_energy

            spec = EnergySpec(**task.energy)
            report = estimate_energy(result, arch, spec, _table(spec.table))
        out["metrics"] = serving_metrics(serving, report) if serving is not None else metrics(result, report)
    except Exception as exc:   # a failing point is data, not a reason to stop the sweep
        out.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        out["traceback"] = traceback.format_exc(limit=8)
    return out

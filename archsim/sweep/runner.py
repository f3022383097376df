"""Run a sweep: expand points, skip tasks already stored, run the rest, assemble one results table.

The table has one row per (point, workload): ``point``, ``workload``, every swept key as its own column,
``status`` (ok/failed), ``error``, the metrics of ``archsim.sweep.point.metrics`` and ``config_hash``.
Rows are ordered by (point, workload), so the same sweep gives the same table on any executor.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from archsim.sweep.executors import make_executor
from archsim.sweep.point import Task, config_hash, run_task
from archsim.sweep.space import expand
from archsim.sweep.spec import SweepSpec
from archsim.sweep.store import PointStore, write_table


# metric columns in this order first, the rest (util.*, bytes.*, energy_pj.*) alphabetically after them
HEADLINE_METRICS = ("tokens_per_s", "ms_per_iteration", "total_cycles", "latency_ms", "total_macs", "stall_cycles",
                    "ops", "energy_pj", "dynamic_energy_pj", "static_energy_pj", "edp_pj_ms", "area_mm2")


@dataclass(frozen=True)
class SweepOutcome:
    """What a sweep run did: the table, counts of tasks computed / taken from the store / failed."""

    table: pd.DataFrame
    out_dir: Path
    computed: int
    cached: int
    failed: int
    rejected: int
    wall_s: float
    paths: tuple[Path, ...] = field(default=())

    @property
    def tasks(self) -> int:
        """Tasks in the table (points x workloads)."""
        return len(self.table)


def make_tasks(spec: SweepSpec) -> tuple[list[Task], list[tuple[int, dict[str, Any]]], int]:
    """All tasks of ``spec`` (in table order), the (point, swept values) pairs, and the rejected count."""
    points, rejected = expand(spec)
    energy = spec.energy.to_dict() if spec.energy is not None else None
    tasks = []
    for p in points:
        for wl in spec.workloads:
            h = config_hash(p.config, wl.name, wl.overrides, spec.mapper, energy, p.error, p.serve)
            tasks.append(Task(p.index, wl.label, h, p.config, f"{spec.base_source} (sweep point {p.index})",
                              wl.name, wl.overrides, spec.mapper, energy, p.error, p.serve))
    return tasks, [(p.index, p.values) for p in points], rejected


def assemble(spec: SweepSpec, tasks: list[Task], values: dict[int, dict[str, Any]],
             outputs: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The results table from task outputs keyed by config hash."""
    rows = []
    for t in tasks:
        out = outputs.get(t.config_hash, {"status": "failed", "error": "not run", "metrics": {}})
        row = {"point": t.point, "workload": t.workload_label}
        row.update({k: values[t.point].get(k) for k in spec.swept_keys})
        row.update({"status": out["status"], "error": out.get("error", "")})
        row.update({k: (float("nan") if v is None else v) for k, v in out.get("metrics", {}).items()})
        row["config_hash"] = t.config_hash
        rows.append(row)
    df = pd.DataFrame(rows)
    front = ["point", "workload", *spec.swept_keys, "status", "error"]
    rest = [c for c in df.columns if c not in front and c != "config_hash"]
    metric_cols = [c for c in HEADLINE_METRICS if c in rest] + sorted(c for c in rest if c not in HEADLINE_METRICS)
    return df[front + metric_cols + ["config_hash"]]


def run_sweep(spec: SweepSpec, out_dir: str | Path, *, scheduler: Any = None, workers: int | None = None,
              progress: bool = True, retry_failed: bool = False,
              formats: tuple[str, ...] = ("csv", "parquet")) -> SweepOutcome:
    """Run every task of ``spec`` not already in ``out_dir``'s store; write and return the table.

    ``scheduler``: a Dask scheduler address (or Client) - else a local process pool of ``workers``
    processes (``workers=0`` runs in this process). ``retry_failed`` re-runs tasks stored as failed.
    """
    start = time.perf_counter()
    out = Path(out_dir)
    store = PointStore(out)
    tasks, point_values, rejected = make_tasks(spec)
    values = dict(point_values)
    outputs: dict[str, dict[str, Any]] = {}
    pending: list[Task] = []
    seen: set[str] = set()
    for t in tasks:
        if t.config_hash in seen:
            continue
        seen.add(t.config_hash)
        stored = store.get(t.config_hash)
        if stored is not None and not (retry_failed and stored.get("status") == "failed"):
            outputs[t.config_hash] = stored
        else:
            pending.append(t)
    cached = len(seen) - len(pending)
    failed = sum(1 for o in outputs.values() if o.get("status") == "failed")
    bar = tqdm(total=len(seen), initial=cached, desc=f"sweep {spec.name}", unit="pt", disable=not progress,
               dynamic_ncols=True)
    bar.set_postfix(failed=failed, cached=cached)
    computed = 0
    if pending:
        executor = make_executor(scheduler, workers)
        try:
            futures = {executor.submit(run_task, t): t for t in pending}
            for fut in executor.as_completed(futures):
                task = futures[fut]
                try:
                    result = fut.result()
                    store.put(result)   # deterministic outcome (ok or an exception the point raised)
                except Exception as exc:  # the worker itself died: record, but do not store (retry next run)
                    result = {"config_hash": task.config_hash, "status": "failed",
                              "error": f"worker lost: {type(exc).__name__}: {exc}", "metrics": {}}
                outputs[task.config_hash] = result
                computed += 1
                failed += result["status"] == "failed"
                bar.update(1)
                bar.set_postfix(failed=failed, cached=cached)
        finally:
            executor.close()
    bar.close()
    table = assemble(spec, tasks, values, outputs)
    paths = write_table(table, out, formats)
    return SweepOutcome(table, out, computed, cached, int((table.status == "failed").sum()), rejected,
                        time.perf_counter() - start, tuple(paths))

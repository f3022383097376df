"""Run a sweep: expand points, skip tasks already stored, run the rest, assemble one results table.

The table has one row per (point, workload): ``point``, ``workload``, every swept key as its own column,
``status`` (ok/failed), ``error``, the metrics of ``archsim.sweep.point.metrics`` and ``config_hash``.
Rows are ordered by (point, workload), so the same sweep gives the same table on any executor.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from archsim.sweep.executors import DEFAULT_RETRIES, make_executor
from archsim.sweep.point import Task, workload_key, config_hash, run_task
from archsim.sweep.space import expand
from archsim.sweep.spec import SweepSpec
from archsim.sweep.store import PointStore, claim_out_dir, write_table


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
    definition_changed: bool = False    # the sweep's definition differs from the last run into out_dir

    @property
    def tasks(self) -> int:
        """Tasks in the table (points x workloads)."""
        return len(self.table)


def definition_hash(spec: SweepSpec) -> str:
    """SHA-256 (hex, 12 chars) of a sweep's definition: a rerun after an edit of the sweep file gets another."""
    definition = {"base": spec.base, "workloads": [workload_key(w.name, w.overrides) for w in spec.workloads],
                  "mode": spec.mode, "parameters": spec.parameters, "points": list(spec.points),
                  "samples": spec.samples, "seed": spec.seed, "constraints": [c.text for c in spec.constraints],
                  "fixed": spec.fixed, "energy": spec.energy.to_dict() if spec.energy is not None else None,
                  "mapper": spec.mapper, "serve": spec.serve}
    text = json.dumps(definition, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _as_text(value: Any) -> Any:
    """A swept value as the text a sweep file spells it (``16``, ``true``, ``single``, ``[hbm, ddr]`` as JSON)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value if isinstance(value, str) else json.dumps(value)


def swept_column(values: list[Any]) -> list[Any]:
    """A swept key's column, storable as one typed column in CSV and Parquet alike.

    Values of one type (ints and floats mixed count as numbers) are kept as they are; a column mixing types
    (``[16, "auto"]``, ``[true, 2]``) or holding lists/mappings is stored as text, each value as the sweep file
    spells it (``"16"``, ``"auto"``, ``"true"``), so both files hold the same strings and read back alike.
    Missing values (a key absent from some list-mode points) stay missing.
    """
    present = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    kinds = {"number" if isinstance(v, (int, float)) and not isinstance(v, bool) else type(v).__name__
             for v in present}
    if len(kinds) <= 1 and not kinds & {"list", "dict", "tuple"}:
        return values      # the same list: kept as it is
    return [_as_text(v) for v in values]


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
    front = ["point", "workload", *spec.swept_keys, "status", "error"]
    df = pd.DataFrame(rows, columns=None if rows else [*front, "config_hash"])
    for key in spec.swept_keys:
        column = list(df[key])
        stored = swept_column(column)
        if stored is not column:
            df[key] = pd.Series(stored, index=df.index, dtype=object)
    rest = [c for c in df.columns if c not in front and c != "config_hash"]
    metric_cols = [c for c in HEADLINE_METRICS if c in rest] + sorted(c for c in rest if c not in HEADLINE_METRICS)
    return df[front + metric_cols + ["config_hash"]]


def run_sweep(spec: SweepSpec, out_dir: str | Path, *, scheduler: Any = None, workers: int | None = None,
              progress: bool = True, retry_failed: bool = False,
              formats: tuple[str, ...] = ("csv", "parquet"), retries: int = DEFAULT_RETRIES,
              stop: threading.Event | None = None) -> SweepOutcome:
    """Run every task of ``spec`` not already in ``out_dir``'s store; write and return the table.

    ``scheduler``: a Dask scheduler address (or Client) - else a local process pool of ``workers``
    processes (``workers=0`` runs in this process). ``retry_failed`` re-runs tasks stored as failed;
    ``retries``: times a point whose worker process died is run again (alone) before it is recorded as lost.
    ``stop``: an event that, once set, stops the sweep (``SweepStopped``) and its workers; finished points stay
    stored. ``out_dir`` holds one sweep: a different sweep (another name) there is a ConfigError (``claim_out_dir``).
    """
    start = time.perf_counter()
    out = Path(out_dir)
    changed = claim_out_dir(out, spec.name, spec.source, definition_hash(spec))
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
        executor = make_executor(scheduler, workers, retries)
        # closing the generator (also on KeyboardInterrupt) stops the executor's worker processes
        with contextlib.closing(executor.run(run_task, pending, stop)) as finished, bar:
            for task, result in finished:
                if not result.pop("lost", False):
                    store.put(result)   # deterministic outcome (ok or an exception the point raised)
                # a point whose worker died every time is recorded but not stored: the next run retries it
                outputs[task.config_hash] = result
                computed += 1
                failed += result["status"] == "failed"
                bar.update(1)
                bar.set_postfix(failed=failed, cached=cached)
    bar.close()
    table = assemble(spec, tasks, values, outputs)
    paths = write_table(table, out, formats)
    return SweepOutcome(table, out, computed, cached, int((table.status == "failed").sum()), rejected,
                        time.perf_counter() - start, tuple(paths), changed)

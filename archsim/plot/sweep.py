"""Figures of a sweep's results table: Pareto fronts and heat maps over two swept keys."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from archsim.plot.style import new_figure, readable_log_axis, save

# metric column -> (axis label, divisor to reach that unit)
METRIC_UNITS = {
    "latency_ms": ("latency (ms)", 1.0),
    "total_cycles": ("cycles", 1.0),
    "energy_pj": ("energy (mJ)", 1e9),
    "dynamic_energy_pj": ("dynamic energy (mJ)", 1e9),
    "edp_pj_ms": ("energy-delay (mJ*ms)", 1e9),
    "area_mm2": ("area (mm2)", 1.0),
}


def metric_label(metric: str) -> str:
    """Axis label with unit for a metric column."""
    if metric in METRIC_UNITS:
        return METRIC_UNITS[metric][0]
    if metric.startswith("util."):
        return f"{metric[5:]} MAC utilization (fraction)"
    if metric.startswith("energy_pj."):
        return f"{metric[10:]} energy (mJ)"
    return metric


def metric_values(df: pd.DataFrame, metric: str) -> np.ndarray:
    """Column values in the unit ``metric_label`` states."""
    scale = METRIC_UNITS.get(metric, (None, 1e9 if metric.startswith("energy_pj.") else 1.0))[1]
    return df[metric].to_numpy(dtype=float) / scale


def pareto_mask(values: np.ndarray) -> np.ndarray:
    """Boolean mask of rows not dominated by any other row (every column minimised)."""
    n = len(values)
    mask = np.ones(n, dtype=bool)
    for i in range(n):
        if not mask[i]:
            continue
        dominated = np.all(values <= values[i], axis=1) & np.any(values < values[i], axis=1)
        if dominated.any():
            mask[i] = False
    return mask


def point_label(row, keys) -> str:
    """Short text naming a design point by its swept values (``rows=64 cols=32 dataflow=ws``; the last part of
    a dotted key)."""
    def fmt(v):
        return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)
    return " ".join(f"{str(k).rsplit('.', 1)[-1]}={fmt(row[k])}" for k in keys if k in row.index)


def pareto(table: pd.DataFrame, x: str = "latency_ms", y: str = "energy_pj", color: str = "area_mm2",
           title: str = "", label_keys=(), max_labels: int = 10):
    """Scatter of successful points (x vs y, coloured by ``color``) per workload, the x-y Pareto front as a
    line, points on the 3-metric (x, y, color) front circled, and the x-y front's points labelled with their
    ``label_keys`` values (at most ``max_labels`` per panel, spread along the front)."""
    ok = table[table.status == "ok"].dropna(subset=[x, y])
    workloads = list(dict.fromkeys(ok.workload)) or ["(none)"]
    fig, axes = new_figure(7.0 * len(workloads), 4.8, 1, len(workloads))
    axes = np.atleast_1d(axes)
    for ax, wl in zip(axes, workloads):
        d = ok[ok.workload == wl]
        if d.empty:
            ax.set_title(f"{wl}: no successful points")
            continue
        xs, ys = metric_values(d, x), metric_values(d, y)
        has_c = color in d and d[color].notna().all()
        sc = ax.scatter(xs, ys, c=metric_values(d, color) if has_c else None, s=16, cmap="viridis", alpha=0.8)
        if has_c:
            fig.colorbar(sc, ax=ax, label=metric_label(color))
        front2 = pareto_mask(np.column_stack([xs, ys]))
        order = np.argsort(xs[front2])
        ax.plot(xs[front2][order], ys[front2][order], color="#C44E52", lw=1.5, drawstyle="steps-post",
                label=f"{metric_label(x).split(' (')[0]}-{metric_label(y).split(' (')[0]} front")
        front = front2.copy()
        if has_c:
            front3 = pareto_mask(np.column_stack([xs, ys, metric_values(d, color)]))
            ax.scatter(xs[front3], ys[front3], s=60, facecolors="none", edgecolors="black", lw=0.8,
                       label="3-metric front")
            front |= front3
        keys = [k for k in label_keys if k in d.columns and d[k].nunique() > 1]
        if keys:        # name the front's design points by their swept values, spread along x
            idx = np.flatnonzero(front)[np.argsort(xs[front])]
            pick = idx[np.unique(np.linspace(0, len(idx) - 1, min(max_labels, len(idx))).round().astype(int))]
            lx, ly = np.log10(np.maximum(xs, 1e-300)), np.log10(np.maximum(ys, 1e-300))
            nx = (lx - lx.min()) / max(np.ptp(lx), 1e-12)     # positions in the (log) axes' unit square
            ny = (ly - ly.min()) / max(np.ptp(ly), 1e-12)
            placed: list[tuple[float, float]] = []
            for i in pick:      # skip a label that would sit on one already placed
                if any(abs(nx[i] - px) < 0.35 and abs(ny[i] - py) < 0.06 for px, py in placed):
                    continue
                placed.append((nx[i], ny[i]))
                right = nx[i] < 0.6     # text to the right of points on the left, to the left on the right
                ax.annotate(point_label(d.iloc[i], keys), (xs[i], ys[i]), xytext=(7 if right else -7, 3),
                            textcoords="offset points", ha="left" if right else "right", fontsize=8,
                            color="#7A1F25")
        ax.set_xscale("log")
        ax.set_yscale("log")
        readable_log_axis(ax.xaxis, float(xs.min()), float(xs.max()))
        readable_log_axis(ax.yaxis, float(ys.min()), float(ys.max()))
        ax.set_xlabel(metric_label(x))
        ax.set_ylabel(metric_label(y))
        ax.set_title(str(wl))
        ax.legend(fontsize="x-small")
    fig.suptitle(title or "Design space: Pareto front")
    return fig


def heatmap(table: pd.DataFrame, x_key: str, y_key: str, metric: str = "latency_ms", workload: str | None = None,
            title: str = ""):
    """Best (minimum over the other swept keys) ``metric`` for each (x_key, y_key) pair, annotated."""
    d = table[table.status == "ok"]
    if workload is not None:
        d = d[d.workload == workload]
    d = d.assign(_v=metric_values(d, metric)) if len(d) else d.assign(_v=[])
    grid = d.pivot_table(index=y_key, columns=x_key, values="_v", aggfunc="min")
    fig, ax = new_figure(1.2 + 0.9 * max(len(grid.columns), 3), 1.2 + 0.6 * max(len(grid.index), 3))
    im = ax.imshow(grid.to_numpy(dtype=float), origin="lower", cmap="viridis_r", aspect="auto")
    ax.set_xticks(range(len(grid.columns)), [str(c) for c in grid.columns])
    ax.set_yticks(range(len(grid.index)), [str(i) for i in grid.index])
    for (i, j), v in np.ndenumerate(grid.to_numpy(dtype=float)):
        if np.isfinite(v):
            r, g, b, _ = im.cmap(im.norm(v))
            ink = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"   # readable on any cell
            ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize="x-small", color=ink)
    fig.colorbar(im, ax=ax, label=metric_label(metric) + " (best)")
    ax.set_xlabel(x_key)
    ax.set_ylabel(y_key)
    ax.set_title(title or f"{metric_label(metric)}" + (f" - {workload}" if workload else ""))
    return fig


def write_sweep_plots(table: pd.DataFrame, out_dir: str | Path, swept_keys: tuple[str, ...] | list[str],
                      formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """Pareto plot and, for the first two swept keys, latency and energy heat maps per workload."""
    paths: list[Path] = []
    has_energy = "energy_pj" in table and table.energy_pj.notna().any()
    y = "energy_pj" if has_energy else "total_cycles"
    color = "area_mm2" if "area_mm2" in table else "total_cycles"
    paths += save(pareto(table, "latency_ms", y, color, label_keys=tuple(swept_keys)), out_dir, "pareto", formats)
    keys = [k for k in swept_keys if table[k].nunique() > 1] if len(table) else []
    if len(keys) >= 2:
        for wl in dict.fromkeys(table.workload):
            safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(wl))
            for metric in ("latency_ms", "energy_pj") if has_energy else ("latency_ms",):
                fig = heatmap(table, keys[0], keys[1], metric, wl)
                paths += save(fig, out_dir, f"heatmap_{metric}_{safe}", formats)
    return paths

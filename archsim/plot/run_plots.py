"""Figures of one run, drawn from its tables (``Result.ops``, ``Result.components``, transfers, energy).

Every function returns a ``matplotlib.figure.Figure`` with a title and unit-labelled axes; nothing is
shown or saved here (see ``archsim.plot.style.save``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from archsim.plot.style import color_map, new_figure


def unit_groups(ops: pd.DataFrame) -> dict[str, list[str]]:
    """Label -> engines for the rows a figure draws: engines whose ops run at exactly the same times (the
    identical units an op is spread over) share one row, labelled ``sa0–sa7 (x8)``."""
    members: dict[tuple, list[str]] = {}
    for engine, g in ops.groupby("engine", sort=False):
        members.setdefault(tuple(zip(g.start_cycle, g.end_cycle, g.kind)), []).append(engine)
    return {(m[0] if len(m) == 1 else f"{m[0]}–{m[-1]} (x{len(m)})"): m for m in members.values()}


def unit_rows(ops: pd.DataFrame) -> dict[str, str]:
    """Label -> the first engine of each of ``unit_groups``."""
    return {label: m[0] for label, m in unit_groups(ops).items()}


def utilization_over_time(ops: pd.DataFrame, peaks: dict[str, float], bins: int = 120, title: str = ""):
    """Per-engine utilization (%) over time: MAC utilization for engines with a MAC peak, busy % otherwise
    (identical units in lock step drawn once, ``unit_rows``).

    ``ops`` needs engine, start_cycle, end_cycle, macs; ``peaks`` maps engine -> MACs per cycle.
    """
    fig, ax = new_figure()
    span = max(int(ops.end_cycle.max()) if len(ops) else 1, 1)
    edges = np.linspace(0, span, bins + 1)
    width = edges[1] - edges[0]
    for name, engine in unit_rows(ops).items():
        group = ops[ops.engine == engine]
        util = np.zeros(bins)
        for r in group.itertuples():
            dur = max(r.end_cycle - r.start_cycle, 1)
            lo = np.clip(edges[:-1], r.start_cycle, r.end_cycle)
            hi = np.clip(edges[1:], r.start_cycle, r.end_cycle)
            overlap = hi - lo
            peak = peaks.get(engine, 0)
            util += overlap * (r.macs / (dur * peak) if peak else 1.0)
        label = name if peaks.get(engine) else f"{name} (busy)"
        ax.step(edges[:-1], 100 * util / width, where="post", label=label)
    ax.set_xlabel("time (cycles)")
    ax.set_ylabel("utilization (%)")
    ax.set_ylim(0, 105)
    ax.set_title(title or "Engine utilization over time")
    ax.legend(loc="upper right", fontsize="small")
    return fig


def utilization_per_op(ops: pd.DataFrame, title: str = ""):
    """Utilization (%) of each op on its engine, one bar per op in execution order, coloured by engine."""
    fig, ax = new_figure(max(7.0, min(0.08 * len(ops), 18.0)), 4.0)
    colors = color_map(ops.engine)
    x = np.arange(len(ops))
    ax.bar(x, 100 * ops.utilization.to_numpy(), color=[colors[e] for e in ops.engine], width=0.85)
    ax.legend(handles=[Patch(color=c, label=e) for e, c in colors.items()], fontsize="small")
    ax.set_xlabel("op (execution order)")
    ax.set_ylabel("utilization (%)")
    ax.set_title(title or "Utilization per op")
    return fig


def latency_breakdown(ops: pd.DataFrame, title: str = ""):
    """Cycles per op kind split into compute and stall (engine cycles), as stacked bars."""
    fig, ax = new_figure()
    agg = ops.groupby("kind", sort=False)[["compute_cycles", "stall_cycles"]].sum()
    agg = agg.loc[(agg.compute_cycles + agg.stall_cycles).sort_values(ascending=False).index]
    x = np.arange(len(agg))
    ax.bar(x, agg.compute_cycles, label="compute")
    ax.bar(x, agg.stall_cycles, bottom=agg.compute_cycles, label="stall (memory)")
    ax.set_xticks(x, agg.index, rotation=30, ha="right")
    ax.set_xlabel("op kind")
    ax.set_ylabel("cycles (engine clock)")
    ax.set_title(title or "Latency breakdown by op kind")
    ax.legend()
    return fig


def timeline(ops: pd.DataFrame, transfers: pd.DataFrame | None = None, title: str = ""):
    """Gantt chart: one row per engine (identical units in lock step share one, ``unit_rows``; bars coloured by
    op kind) and one per link or DMA queue carrying transfers."""
    units = unit_rows(ops)
    rows = list(units)
    links = [] if transfers is None or transfers.empty else list(dict.fromkeys(transfers.link))
    fig, ax = new_figure(9.0, 1.2 + 0.6 * (len(rows) + len(links)))
    colors = color_map(ops.kind)
    for i, label in enumerate(rows):
        g = ops[ops.engine == units[label]]
        ax.broken_barh(list(zip(g.start_cycle, g.end_cycle - g.start_cycle)), (i - 0.4, 0.8),
                       facecolors=[colors[k] for k in g.kind])
    for j, link in enumerate(links):
        g = transfers[transfers.link == link]
        ax.broken_barh(list(zip(g.start_cycle, g.end_cycle - g.start_cycle)), (len(rows) + j - 0.4, 0.8),
                       facecolors="#444444")
    ax.set_yticks(range(len(rows) + len(links)), rows + [f"DMA {l}" for l in links])
    ax.legend(handles=[Patch(color=c, label=k) for k, c in colors.items()], fontsize="x-small", ncols=min(len(colors), 6), loc="upper center", bbox_to_anchor=(0.5, -0.25))
    ax.set_xlabel("time (cycles)")
    ax.set_title(title or "Timeline")
    return fig


def roofline(ops: pd.DataFrame, peak_gmacs: dict[str, float], bandwidth_gbps: dict[str, float],
             dram: dict[str, str], title: str = ""):
    """Roofline per MAC engine (or unit group): achieved GMAC/s vs operational intensity (MACs per DRAM byte),
    log-log.

    ``ops``: one row per op and engine (or group), with ``macs``, ``duration_ns`` (wall time) and
    ``bytes.<mem>.*`` columns; ``peak_gmacs``: engine -> peak GMAC/s; ``bandwidth_gbps``: engine -> its
    DRAM's GB/s; ``dram``: engine -> memory whose ``bytes.<mem>.*`` columns count as off-chip traffic. An op
    whose weights were prefetched while earlier ops ran can sit above its roof: its bytes moved before it began.
    """
    fig, ax = new_figure()
    colors = color_map(peak_gmacs)
    for engine, peak in peak_gmacs.items():
        label = engine
        g = ops[(ops.engine == engine) & (ops.macs > 0)]
        cols = [c for c in g.columns if c.startswith(f"bytes.{dram[engine]}.")]
        dram_bytes = g[cols].sum(axis=1).to_numpy() if cols else np.zeros(len(g))
        oi = g.macs.to_numpy() / np.maximum(dram_bytes, 1.0)
        achieved = g.macs.to_numpy() / np.maximum(g.duration_ns.to_numpy(), 1e-9)
        bw = bandwidth_gbps[engine]
        xs = np.logspace(np.log10(max(min(oi.min(initial=1.0), peak / bw) / 10, 1e-3)),
                         np.log10(max(oi.max(initial=1.0), peak / bw) * 10), 200)
        ax.plot(xs, np.minimum(peak, bw * xs), color=colors[label], lw=2, label=f"{label} roof")
        ax.scatter(oi, achieved, s=14, color=colors[label], alpha=0.7, label=f"{label} ops")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("operational intensity (MACs / DRAM byte)")
    ax.set_ylabel("performance (GMAC/s)")
    ax.set_title(title or "Roofline")
    ax.legend(fontsize="small")
    return fig


def energy_breakdown(per_component: pd.DataFrame, by_kind: pd.DataFrame, title: str = ""):
    """Two panels of stacked bars: per component (dynamic + static), and per op kind (by component), in uJ."""
    fig, (a, b) = new_figure(11.0, 4.2, 1, 2)
    comps = per_component
    x = np.arange(len(comps))
    a.bar(x, comps.dynamic_pj / 1e6, label="dynamic")
    a.bar(x, comps.static_pj / 1e6, bottom=comps.dynamic_pj / 1e6, label="static")
    a.set_xticks(x, comps.component, rotation=30, ha="right")
    a.set_xlabel("component")
    a.set_ylabel("energy (uJ)")
    a.set_title("By component")
    a.legend()
    colors = color_map(by_kind.columns)
    xk = np.arange(len(by_kind))
    bottom = np.zeros(len(by_kind))
    for comp in by_kind.columns:
        vals = by_kind[comp].to_numpy() / 1e6
        b.bar(xk, vals, bottom=bottom, label=comp, color=colors[comp])
        bottom += vals
    b.set_xticks(xk, by_kind.index, rotation=30, ha="right")
    b.set_xlabel("op kind")
    b.set_ylabel("dynamic energy (uJ)")
    b.set_title("By op kind")
    b.legend(fontsize="small")
    fig.suptitle(title or "Energy breakdown")
    return fig

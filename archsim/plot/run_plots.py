"""Figures of one run, drawn from its tables (``Result.ops``, ``Result.components``, transfers, energy).

Every function returns a ``matplotlib.figure.Figure`` with a title and unit-labelled axes; nothing is
shown or saved here (see ``archsim.plot.style.save``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from archsim.plot.style import color_map, group_numbered, new_figure, readable_log_axis


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


def _over_time(ops: pd.DataFrame, units: dict[str, str], rate, bins: int):
    """(bin edges, label -> % per bin) for ``units`` (label -> engine); ``rate(row)`` is the op's share of its
    engine while it runs (MAC utilization, or 1.0 for busy)."""
    span = max(int(ops.end_cycle.max()) if len(ops) else 1, 1)
    edges = np.linspace(0, span, bins + 1)
    width = edges[1] - edges[0]
    curves = {}
    for name, engine in units.items():
        util = np.zeros(bins)
        for r in ops[ops.engine == engine].itertuples():
            lo = np.clip(edges[:-1], r.start_cycle, r.end_cycle)
            hi = np.clip(edges[1:], r.start_cycle, r.end_cycle)
            util += (hi - lo) * rate(r)
        curves[name] = 100 * util / width
    return edges, curves


def utilization_over_time(ops: pd.DataFrame, peaks: dict[str, float], bins: int = 120, title: str = ""):
    """MAC utilization (%) over time of each engine with MAC units (identical units in lock step drawn once,
    ``unit_rows``); units without MACs are in ``busy_over_time``. One metric per figure.

    ``ops`` needs engine, start_cycle, end_cycle, macs; ``peaks`` maps engine -> MACs per cycle.
    """
    units = {name: e for name, e in unit_rows(ops).items() if peaks.get(e) and ops[ops.engine == e].macs.sum() > 0}
    edges, curves = _over_time(ops, units, lambda r: r.macs / (max(r.end_cycle - r.start_cycle, 1)
                                                               * peaks[r.engine]), bins)
    return _percent_steps(edges, curves, "MAC utilization (%)", title or "MAC utilization over time",
                          "no engine with MAC units ran an op")


def busy_share(r) -> float:
    """Share of its span an op's record kept its unit busy: ``busy_cycles`` / span (1.0 for a table without
    the column). Below 1 for a record that sums an op over serving iterations or compiled layers."""
    span = r.end_cycle - r.start_cycle
    busy = getattr(r, "busy_cycles", None)
    return 1.0 if busy is None or busy != busy or span <= 0 else min(1.0, busy / span)


def busy_over_time(ops: pd.DataFrame, bins: int = 120, title: str = ""):
    """Busy fraction (%) over time of every unit that ran an op (identical lock-stepped units once)."""
    edges, curves = _over_time(ops, unit_rows(ops), busy_share, bins)
    return _percent_steps(edges, curves, "busy (%)", title or "Units busy over time", "no unit ran an op")


def _percent_steps(edges, curves: dict, ylabel: str, title: str, empty: str):
    """A figure of one step curve (0-100 %) per unit over time, legend beside the axes."""
    fig, ax = new_figure()
    for name, util in curves.items():
        ax.step(edges[:-1], util, where="post", label=name)
    ax.set_xlabel("time (cycles)")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 105)
    ax.set_title(title)
    if curves:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    else:
        ax.text(0.5, 0.5, empty, ha="center", transform=ax.transAxes)
    return fig


def op_labels(ops: pd.DataFrame, max_labels: int = 80) -> tuple[np.ndarray, list[str]]:
    """Tick positions and layer names for ops drawn in order: every op when there are at most ``max_labels``,
    else every k-th."""
    step = max(1, int(np.ceil(len(ops) / max_labels)))
    pos = np.arange(0, len(ops), step)
    return pos, [str(n) for n in ops.name.to_numpy()[pos]]


def utilization_per_op(ops: pd.DataFrame, title: str = ""):
    """MAC utilization (%) of each matrix op (ops that did MACs) on its engine, one bar per op in execution
    order labelled with its layer name, coloured by engine (lock-stepped units' shares of one op drawn once)."""
    mac_ops = ops[ops.macs > 0]
    rows = unit_rows(mac_ops) if len(mac_ops) else {}
    shown = mac_ops[mac_ops.engine.isin(list(rows.values()))].reset_index(drop=True)
    label_of = {e: lbl for lbl, e in rows.items()}
    fig, ax = new_figure(max(7.0, min(0.16 * len(shown) + 1.5, 22.0)), 4.6)
    colors = color_map(label_of[e] for e in shown.engine)
    x = np.arange(len(shown))
    ax.bar(x, 100 * shown.utilization.to_numpy(), color=[colors[label_of[e]] for e in shown.engine], width=0.85)
    if len(colors) > 1:
        ax.legend(handles=[Patch(color=c, label=e) for e, c in colors.items()], fontsize="small")
    pos, names = op_labels(shown)
    ax.set_xticks(pos, names, rotation=90, fontsize=8 if len(shown) <= 60 else 7)
    ax.set_xlim(-0.6, max(len(shown), 1) - 0.4)
    ax.set_xlabel("op (execution order)")
    ax.set_ylabel("MAC utilization (%)")
    ax.set_ylim(0, 105)
    ax.set_title(title or "MAC utilization per op")
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
    op kind) and one per link or DMA queue carrying transfers. Ops that ran together over the same span (the
    stages of a fused kernel's pipeline) share their bar as stacked stripes, one per op."""
    units = unit_rows(ops)
    rows = list(units)
    links = [] if transfers is None or transfers.empty else list(dict.fromkeys(transfers.link))
    fig, ax = new_figure(9.0, 1.2 + 0.6 * (len(rows) + len(links)))
    colors = color_map(ops.kind)
    for i, label in enumerate(rows):
        g = ops[ops.engine == units[label]]
        span = g.groupby(["start_cycle", "end_cycle"], sort=False)
        stripes = span.cumcount().to_numpy()
        together = span.kind.transform("size").to_numpy()
        for lane in np.unique(together):
            for k in range(lane):
                sel = (together == lane) & (stripes == k)
                if sel.any():
                    h = 0.8 / lane
                    ax.broken_barh(list(zip(g.start_cycle[sel], (g.end_cycle - g.start_cycle)[sel])),
                                   (i - 0.4 + k * h, h), facecolors=[colors[x] for x in g.kind[sel]])
    for j, link in enumerate(links):
        g = transfers[transfers.link == link]
        ax.broken_barh(list(zip(g.start_cycle, g.end_cycle - g.start_cycle)), (len(rows) + j - 0.4, 0.8),
                       facecolors="#444444")
    ax.set_yticks(range(len(rows) + len(links)), rows + [f"DMA {l}" for l in links])
    ax.legend(handles=[Patch(color=c, label=k) for k, c in colors.items()], fontsize="x-small", ncols=min(len(colors), 6), loc="upper center", bbox_to_anchor=(0.5, -0.32))
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
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    readable_log_axis(ax.xaxis, x0, x1)
    readable_log_axis(ax.yaxis, y0, y1)
    ax.set_xlabel("operational intensity (MACs / DRAM byte)")
    ax.set_ylabel("performance (GMAC/s)")
    ax.set_title(title or "Roofline")
    ax.legend(fontsize="small")
    return fig


def energy_breakdown(per_component: pd.DataFrame, by_kind: pd.DataFrame, title: str = ""):
    """Two panels of stacked bars in uJ: per component (dynamic + static), and dynamic energy per op kind by
    component. Identical numbered units (``sa0``…``sa7``) are summed into one bar / legend entry; components
    with no energy are left out; the axes leave head room above the tallest stack."""
    fig, (a, b) = new_figure(11.0, 4.4, 1, 2)
    comps = per_component.set_index("component")
    groups = group_numbered(comps.index)
    dyn = np.array([comps.loc[m, "dynamic_pj"].sum() for m in groups.values()]) / 1e6
    sta = np.array([comps.loc[m, "static_pj"].sum() for m in groups.values()]) / 1e6
    keep = (dyn + sta) > 0
    labels = [lbl for lbl, k in zip(groups, keep) if k]
    dyn, sta = dyn[keep], sta[keep]
    x = np.arange(len(labels))
    a.bar(x, dyn, label="dynamic")
    a.bar(x, sta, bottom=dyn, label="static")
    a.set_xticks(x, labels, rotation=30, ha="right")
    a.set_ylim(0, 1.12 * max(float((dyn + sta).max(initial=0.0)), 1e-12))
    a.set_xlabel("component")
    a.set_ylabel("energy (uJ)")
    a.set_title("By component")
    a.legend()
    kinds = pd.DataFrame({lbl: by_kind[[m for m in members if m in by_kind.columns]].sum(axis=1)
                          for lbl, members in group_numbered(by_kind.columns).items()}, index=by_kind.index)
    kinds = kinds.loc[:, kinds.sum() > 0]
    colors = color_map(kinds.columns)
    xk = np.arange(len(kinds))
    bottom = np.zeros(len(kinds))
    for comp in kinds.columns:
        vals = kinds[comp].to_numpy() / 1e6
        b.bar(xk, vals, bottom=bottom.copy(), label=comp, color=colors[comp])
        bottom += vals
    b.set_xticks(xk, kinds.index, rotation=30, ha="right")
    b.set_ylim(0, 1.12 * max(float(bottom.max(initial=0.0)), 1e-12))
    b.set_xlabel("op kind")
    b.set_ylabel("dynamic energy (uJ)")
    b.set_title("By op kind")
    if len(kinds.columns):
        b.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    else:          # e.g. an FPGA board priced by its power: all of its energy is static
        b.text(0.5, 0.5, "no dynamic energy", ha="center", transform=b.transAxes)
    fig.suptitle(title or "Energy breakdown")
    return fig

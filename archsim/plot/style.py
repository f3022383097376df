"""Figure creation and saving without pyplot's global state (Agg canvas, PNG + SVG)."""
from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 110
PALETTE = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C",
           "#CCB974", "#64B5CD")


def new_figure(width_in: float = 7.0, height_in: float = 4.0, nrows: int = 1, ncols: int = 1, **kw):
    """A Figure on an Agg canvas and its axes (an array when nrows*ncols > 1)."""
    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=True, **kw)
    return fig, axes


def color_map(names) -> dict[str, str]:
    """A stable colour per name (in first-seen order)."""
    out: dict[str, str] = {}
    for n in names:
        if n not in out:
            out[n] = PALETTE[len(out) % len(PALETTE)]
    return out


def save(fig: Figure, out_dir: str | Path, stem: str, formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """Write ``<out_dir>/<stem>.<fmt>`` for each format; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = out / f"{stem}.{fmt}"
        fig.savefig(path, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
        paths.append(path)
    return paths


def readable_log_axis(axis, lo: float, hi: float) -> None:
    """Log-scale ``axis`` (an ``ax.xaxis``/``ax.yaxis``) with plain-number labels on its major ticks whatever
    the data span ``lo``..``hi``: decades when it spans more than three of them, 1-2-5 steps over one to three,
    every integer multiple (30, 40 …) inside one decade; minor labels off (they collide)."""
    import math

    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    lo, hi = max(lo, 1e-300), max(hi, lo * 1.0001, 1e-300)
    decades = math.log10(hi / lo)
    subs = (1.0,) if decades > 3 else (1.0, 2.0, 5.0) if decades > 1 else tuple(float(k) for k in range(1, 10))
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def group_numbered(names) -> dict[str, list[str]]:
    """Label -> members for names that differ only by a trailing number (``sa0`` … ``sa7`` -> ``sa0–sa7
    (x8)``); other names stand alone. Order of first appearance."""
    import re

    groups: dict[str, list[str]] = {}
    for n in names:
        m = re.fullmatch(r"(.*?)(\d+)", str(n))
        groups.setdefault(m.group(1) + "#" if m else str(n), []).append(str(n))
    out: dict[str, list[str]] = {}
    for key, members in groups.items():
        out[members[0] if len(members) == 1 else f"{members[0]}–{members[-1]} (x{len(members)})"] = members
    return out

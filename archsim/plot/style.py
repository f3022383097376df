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

"""The validation figure: every row's error against its reference, one line of dots per system."""
from __future__ import annotations

from pathlib import Path

from archsim.plot.style import new_figure, save


def plot_validation(checks, path: str | Path) -> Path:
    """Dot plot of |error| per row (symmetric-log axis), grouped by system, with each system's target."""
    systems = list(dict.fromkeys(c.system for c in checks))
    fig, ax = new_figure(width_in=9.0, height_in=max(2.5, 0.45 * len(systems) + 1.2))
    for y, system in enumerate(systems):
        rows = [c for c in checks if c.system == system]
        for c in rows:
            err = min(abs(c.error_pct), 1e4)
            ax.scatter(err, y, s=22, color="tab:green" if c.status == "pass" else "tab:red", alpha=0.7,
                       edgecolors="none", zorder=3)
        for tol in sorted({c.tolerance_pct for c in rows}):
            ax.plot([tol, tol], [y - 0.35, y + 0.35], color="0.3", lw=1.2, zorder=2)
        passed = sum(c.status == "pass" for c in rows)
        ax.annotate(f"{passed}/{len(rows)}", (1.0, y), xycoords=("axes fraction", "data"), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=8)
    ax.set_xscale("symlog", linthresh=0.1)
    ax.set_xlim(-0.02, 2e4)
    ax.set_yticks(range(len(systems)), systems, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("|error| vs reference (%, symmetric log); bars: each system's target; green within, red outside")
    ax.set_title("archsim validation: every peer cross-check and paper reproduction (rows within target / rows)",
                 fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    path = Path(path)
    return save(fig, path.parent, path.stem, formats=("png",))[0]

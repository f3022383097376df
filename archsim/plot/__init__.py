"""Matplotlib figures (Agg, no pyplot state): run figures from Result tables and sweep figures.

    from archsim.plot import write_standard_plots, write_sweep_plots
    write_standard_plots(result, "runs/x/plots", arch=arch)      # PNG + SVG
"""

# Attributes load on first use (PEP 562) so that importing `archsim.plot.cli` for the command line
# does not import matplotlib.
_LAZY = {
    "write_standard_plots": "archsim.plot.standard",
    "heatmap": "archsim.plot.sweep",
    "pareto": "archsim.plot.sweep",
    "write_sweep_plots": "archsim.plot.sweep",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

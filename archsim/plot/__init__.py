"""Matplotlib figures (Agg, no pyplot state): run figures from Result tables and sweep figures.

    from archsim.plot import write_standard_plots, write_sweep_plots
    write_standard_plots(result, "runs/x/plots", arch=arch)      # PNG + SVG
"""
from archsim.plot.standard import write_standard_plots
from archsim.plot.sweep import heatmap, pareto, write_sweep_plots

__all__ = ["heatmap", "pareto", "write_standard_plots", "write_sweep_plots"]

"""The standard set of figures for one run (what ``archsim run --plot`` writes)."""
from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from archsim.plot import run_plots
from archsim.plot.style import save


def transfers_table(result) -> pd.DataFrame:
    """The link transfers of a Result as a table (link, start_cycle, end_cycle, bytes)."""
    return pd.DataFrame([{"link": t.link, "start_cycle": t.start_cycle, "end_cycle": t.end_cycle, "bytes": t.bytes}
                         for t in result.transfers], columns=["link", "start_cycle", "end_cycle", "bytes"])


def roofline_inputs(result, arch) -> tuple[dict, dict, dict]:
    """(peak GMAC/s, DRAM GB/s, DRAM memory name) per engine that has a MAC peak and a ``dram``."""
    peaks, bws, drams = {}, {}, {}
    for name, params in arch.engines.items():
        peak = result.engine_peak_macs_per_cycle.get(name, 0)
        mem = getattr(params, "dram", None)
        if peak and mem and hasattr(arch.memories[mem], "bandwidth_gbps"):
            peaks[name] = peak * arch.engine_clock_ghz(name)
            bws[name] = arch.memories[mem].bandwidth_gbps
            drams[name] = mem
    return peaks, bws, drams


def write_standard_plots(result, out_dir: str | Path, arch=None, energy_spec=None,
                         formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """Write utilization (over time, per op), latency breakdown and timeline; with ``arch`` also the
    roofline and, when energy can be computed for ``energy_spec``, the energy breakdown. Returns paths.

    An energy model error (e.g. a DRAM without a standard) skips only the energy figure, with a warning
    that says why.
    """
    out = Path(out_dir)
    ops = result.ops
    title = f"{result.workload_name} on {result.arch_name}"
    paths: list[Path] = []
    paths += save(run_plots.utilization_over_time(ops, result.engine_peak_macs_per_cycle,
                                                  title=f"Utilization over time - {title}"), out, "utilization_time", formats)
    paths += save(run_plots.utilization_per_op(ops, title=f"Utilization per op - {title}"), out,
                  "utilization_ops", formats)
    paths += save(run_plots.latency_breakdown(ops, title=f"Latency breakdown - {title}"), out, "latency_breakdown",
                  formats)
    paths += save(run_plots.timeline(ops, transfers_table(result), title=f"Timeline - {title}"), out, "timeline",
                  formats)
    if arch is not None:
        peaks, bws, drams = roofline_inputs(result, arch)
        if peaks:
            timed = ops.assign(duration_ns=(ops.end_cycle - ops.start_cycle) / result.clock_ghz)
            paths += save(run_plots.roofline(timed, peaks, bws, drams, title=f"Roofline - {title}"), out,
                          "roofline", formats)
        from archsim.energy import EnergyError, EnergySpec, estimate_energy
        try:
            report = estimate_energy(result, arch, energy_spec or EnergySpec())
        except EnergyError as exc:
            warnings.warn(f"energy breakdown not plotted: {exc}", stacklevel=2)
        else:
            fig = run_plots.energy_breakdown(report.per_component, report.by_op_kind(),
                                             title=f"Energy breakdown - {title}")
            paths += save(fig, out, "energy_breakdown", formats)
    return paths

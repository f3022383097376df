"""The standard set of figures for one run (what ``archsim run --plot`` writes)."""
from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from archsim.plot import run_plots
from archsim.plot.style import save


def transfers_table(result) -> pd.DataFrame:
    """The transfers of a Result (links and DMA queues) as a table (link, start_cycle, end_cycle, bytes)."""
    return pd.DataFrame([{"link": t.link, "start_cycle": t.start_cycle, "end_cycle": t.end_cycle, "bytes": t.bytes}
                         for t in result.transfers], columns=["link", "start_cycle", "end_cycle", "bytes"])


def roofline_inputs(result, arch) -> tuple[pd.DataFrame, dict, dict, dict]:
    """Per unit group with a MAC peak and a ``dram`` (identical units an op is spread over count as one):
    its ops summed over the group's shares (MACs, off-chip bytes including what DMA fetched for them, wall
    time from the first start to the last end), and its peak GMAC/s, DRAM GB/s and DRAM name."""
    from archsim.hw.registry import memory_port_gbps

    ops = result.ops
    served: dict[tuple[int, str], float] = {}
    for t in result.transfers:
        if t.kind != "link" and t.consumer_op >= 0 and t.src:
            served[(t.consumer_op, t.src)] = served.get((t.consumer_op, t.src), 0.0) + t.bytes
    rows, peaks, bws, drams = [], {}, {}, {}
    for label, members in run_plots.unit_groups(ops).items():
        params = arch.engines.get(members[0])
        if params is None:       # a compiled program's module queue (FlightLLM's flightllm.MV): no YAML engine
            continue
        peak = sum(result.engine_peak_macs_per_cycle.get(m, 0) for m in members)
        mem = getattr(params, "dram", None)
        if not (peak and mem and mem in arch.memories):
            continue
        peaks[label] = peak * arch.engine_clock_ghz(members[0])
        bws[label] = memory_port_gbps(arch, mem)
        drams[label] = mem
        mine = ops[ops.engine.isin(members)]
        cols = [c for c in mine.columns if c.startswith(f"bytes.{mem}.")]
        for op_id, g in mine.groupby("op_id", sort=False):
            rows.append({"engine": label, "macs": g.macs.sum(), f"bytes.{mem}.all": g[cols].to_numpy().sum()
                         + served.get((op_id, mem), 0.0),
                         "duration_ns": (g.end_cycle.max() - g.start_cycle.min()) / result.clock_ghz})
    return pd.DataFrame(rows).fillna(0.0), peaks, bws, drams


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
                                                  title=f"MAC utilization over time - {title}"), out,
                  "utilization_time", formats)
    paths += save(run_plots.busy_over_time(ops, title=f"Units busy over time - {title}"), out, "busy_time", formats)
    paths += save(run_plots.utilization_per_op(ops, title=f"MAC utilization per op - {title}"), out,
                  "utilization_ops", formats)
    paths += save(run_plots.latency_breakdown(ops, title=f"Latency breakdown - {title}"), out, "latency_breakdown",
                  formats)
    paths += save(run_plots.timeline(ops, transfers_table(result), title=f"Timeline - {title}"), out, "timeline",
                  formats)
    if arch is not None:
        grouped, peaks, bws, drams = roofline_inputs(result, arch)
        if peaks:
            paths += save(run_plots.roofline(grouped, peaks, bws, drams, title=f"Roofline - {title}"), out,
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

"""``archsim scalesim``: SCALE-Sim 3.0.0's reports from its own config and topology files.

Compute figures (cycles, utilisation, mapping efficiency, SRAM counts) come from the closed form in
``archsim.kernels.scalesim_compute``; memory figures (DRAM counts, start/stop cycles, bandwidths,
"Total Cycles (incl. prefetch)", and USER-mode stalls) from the emulation of SCALE-Sim's scratchpads
in ``archsim.scalesim.memory``. Both keep SCALE-Sim's quirks on purpose (see docs/systolic.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from archsim.errors import ConfigError
from archsim.kernels.native import kernels
from archsim.kernels.systolic_codes import DATAFLOW_CODES
from archsim.scalesim.config import ScaleSimConfig, read_scalesim_config
from archsim.scalesim.memory import LayerMemoryReport, simulate_layer_memory
from archsim.scalesim.reports import write_reports
from archsim.scalesim.topology import ScaleSimLayer, read_topology


@dataclass(frozen=True)
class LayerReport:
    """All three report rows of one layer, with the Python types SCALE-Sim prints."""

    compute_row: list
    bandwidth_row: list
    detailed_row: list


def layer_report(layer: ScaleSimLayer, cfg: ScaleSimConfig) -> LayerReport:
    """SCALE-Sim's COMPUTE / BANDWIDTH / DETAILED_ACCESS rows for ``layer`` under ``cfg``."""
    m, n, k = layer.gemm_mnk
    rows, cols = cfg.array_rows, cfg.array_cols
    calc_cycles, _, mapping_eff, compute_util, *_ = kernels("scalesim").scalesim_compute_figures(
        DATAFLOW_CODES[cfg.dataflow], rows, cols, m, n, k)
    mem: LayerMemoryReport = simulate_layer_memory(layer, cfg)
    total = mem.total_cycles if cfg.use_user_bandwidth else int(calc_cycles)
    stall = mem.stall_cycles if cfg.use_user_bandwidth else 0
    overall_util = (m * n * k * 100) / (total * rows * cols)
    compute_row = [int(mem.total_cycles_incl_prefetch), int(total), int(stall), overall_util,
                   float(mapping_eff), float(compute_util)]
    detailed = mem.detailed_access_row()
    # SCALE-Sim prints start/stop cycles as floats (they come out of numpy arrays), counts as ints
    detailed_row = [float(v) if i % 3 != 2 else int(v) for i, v in enumerate(detailed)]
    return LayerReport(compute_row, [float(v) for v in mem.bandwidth_row()], detailed_row)


def run_scalesim(cfg_path: str | Path, topology_path: str | Path, layer_kind: str = "conv",
                 out_dir: str | Path = "scalesim_out", progress: bool = False) -> Path:
    """Run every layer and write the three reports to ``out_dir/<run_name>/``; return that directory."""
    cfg = read_scalesim_config(cfg_path)
    if cfg.sparsity_support:
        raise ConfigError(cfg.source, "sparsity.SparsitySupport", "sparsity is not modelled by archsim's "
                          "SCALE-Sim compatibility mode", value="true", has_value=True, expected="false")
    layers = read_topology(topology_path, layer_kind)
    if progress:
        from tqdm import tqdm

        layers = tqdm(layers, desc=f"scalesim {Path(topology_path).name}", unit="layer", leave=False)
    reports = [layer_report(layer, cfg) for layer in layers]
    run_dir = Path(out_dir) / cfg.run_name
    write_reports(run_dir, [r.compute_row for r in reports], [r.bandwidth_row for r in reports],
                  [r.detailed_row for r in reports])
    return run_dir

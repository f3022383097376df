"""SCALE-Sim 3.0.0 memory-system reports for one layer (compat mode).

``simulate_layer_memory`` reproduces what SCALE-Sim writes into DETAILED_ACCESS_REPORT.csv and
BANDWIDTH_REPORT.csv, and the memory-dependent columns of COMPUTE_REPORT.csv ("Total Cycles (incl.
prefetch)", and in USER mode "Total Cycles" / "Stall Cycles"), by replaying SCALE-Sim's demand
matrices through an emulation of its double-buffered scratchpad
(``archsim.kernels.scalesim_memory``). SCALE-Sim's quirks are kept on purpose, e.g. CALC-mode DRAM
reads are "words that re-enter a 50-set window", USER mode double counts positive refill stalls, and
OFMAP DRAM writes count the padding of partially filled lines.

Only the default path is modelled: custom layouts, sparsity and Ramulator traces raise ConfigError.
"""
from __future__ import annotations

from dataclasses import dataclass

from archsim.errors import ConfigError
from archsim.kernels import scalesim_codes as K
from archsim.kernels.native import kernels
from archsim.kernels.systolic_codes import DATAFLOW_CODES
from archsim.scalesim.config import ScaleSimConfig
from archsim.scalesim.topology import ScaleSimLayer


@dataclass(frozen=True)
class MemoryStream:
    """One row group of DETAILED_ACCESS_REPORT: first/last cycle and number of words moved."""

    start_cycle: int
    stop_cycle: int
    count: int

    @property
    def dram_bw(self) -> float:
        """SCALE-Sim's average DRAM bandwidth: count / (stop - start + 1) words/cycle."""
        return self.count / (self.stop_cycle - self.start_cycle + 1)


@dataclass(frozen=True)
class LayerMemoryReport:
    """SCALE-Sim's memory-system numbers for one layer (cycles are SCALE-Sim cycle indices)."""

    total_cycles_incl_prefetch: int
    total_cycles: int
    stall_cycles: int
    sram_ifmap: MemoryStream
    sram_filter: MemoryStream
    sram_ofmap: MemoryStream
    dram_ifmap: MemoryStream
    dram_filter: MemoryStream
    dram_ofmap: MemoryStream
    avg_ifmap_sram_bw: float
    avg_filter_sram_bw: float
    avg_ofmap_sram_bw: float
    avg_ifmap_dram_bw: float
    avg_filter_dram_bw: float
    avg_ofmap_dram_bw: float
    demand_rows: int

    def detailed_access_row(self) -> list[int]:
        """The 18 DETAILED_ACCESS_REPORT values in SCALE-Sim's column order (after LayerID).

        SCALE-Sim prints every start/stop cycle as a float (``8.0``) and the counts as integers.
        """
        out: list[float] = []
        for s in (self.sram_ifmap, self.sram_filter, self.sram_ofmap,
                  self.dram_ifmap, self.dram_filter, self.dram_ofmap):
            out += [s.start_cycle, s.stop_cycle, s.count]
        return out

    def bandwidth_row(self) -> list[float]:
        """The 6 BANDWIDTH_REPORT values in SCALE-Sim's column order (after LayerID)."""
        return [self.avg_ifmap_sram_bw, self.avg_filter_sram_bw, self.avg_ofmap_sram_bw,
                self.avg_ifmap_dram_bw, self.avg_filter_dram_bw, self.avg_ofmap_dram_bw]


def sram_access_counts(layer: ScaleSimLayer, cfg: ScaleSimConfig) -> tuple[int, int, int]:
    """SCALE-Sim's SRAM IFMAP reads, FILTER reads and OFMAP writes (systolic_compute_* counters)."""
    m, n, k = layer.gemm_mnk
    figures = kernels("scalesim").scalesim_compute_figures(DATAFLOW_CODES[cfg.dataflow], cfg.array_rows,
                                                           cfg.array_cols, m, n, k)
    return int(figures[4]), int(figures[5]), int(figures[6])


def _check_supported(cfg: ScaleSimConfig) -> None:
    src = cfg.source
    unsupported = [
        (cfg.ifmap_custom_layout, "layout.IfmapCustomLayout"),
        (cfg.filter_custom_layout, "layout.FilterCustomLayout"),
        (cfg.sparsity_support, "sparsity.SparsitySupport"),
        (cfg.use_ramulator_trace, "run_presets.UseRamulatorTrace"),
    ]
    for on, key in unsupported:
        if on:
            raise ConfigError(src, key, "not supported by archsim's SCALE-Sim memory model",
                              value=True, has_value=True, expected="False (default layout, dense, "
                              "fixed-latency DRAM)")
    if cfg.dataflow not in DATAFLOW_CODES:
        raise ConfigError(src, "architecture_presets.Dataflow", "bad value", value=cfg.dataflow,
                          has_value=True, expected="one of os, ws, is")
    if cfg.use_user_bandwidth:
        if not cfg.bandwidths:
            raise ConfigError(src, "architecture_presets.Bandwidth", "missing in USER mode",
                              expected="comma-separated words/cycle (only the first is used)")
        if cfg.bandwidths[0] <= 0:
            raise ConfigError(src, "architecture_presets.Bandwidth", "bad value",
                              value=cfg.bandwidths[0], has_value=True, expected="an integer > 0")
        for name, bw, banks in (("Ifmap", cfg.ifmap_sram_bank_bandwidth, cfg.ifmap_sram_bank_num),
                                ("Filter", cfg.filter_sram_bank_bandwidth, cfg.filter_sram_bank_num)):
            if bw <= 0 or banks <= 0 or bw % banks != 0:
                raise ConfigError(src, f"layout.{name}SRAMBankNum",
                                  f"must divide layout.{name}SRAMBankBandwidth ({bw}) "
                                  "(SCALE-Sim asserts this)", value=banks, has_value=True,
                                  expected=f"a divisor of {bw}")


_ERRORS = {
    K.ERR_ZERO_PREFETCH_WINDOW: ("architecture_presets.IfmapSramSzkB",
                                 "an SRAM window fills twice in one cycle; SCALE-Sim 3.0.0 divides "
                                 "by zero here", "larger IFMAP/FILTER SRAMs or a smaller array"),
    K.ERR_NO_REQUESTS: (None, "an operand is never read; SCALE-Sim 3.0.0 fails on the empty DRAM "
                        "trace", None),
    K.ERR_ADDR_NOT_PREFETCHED: (None, "a demanded word is missing from the prefetch matrix "
                                "(SCALE-Sim would loop forever)", None),
    K.ERR_NO_OFMAP: (None, "the layer writes no OFMAP word", None),
}


def simulate_layer_memory(layer: ScaleSimLayer, cfg: ScaleSimConfig) -> LayerMemoryReport:
    """Replay ``layer`` through SCALE-Sim 3.0.0's memory system configured by ``cfg``."""
    _check_supported(cfg)
    _, n, k = layer.gemm_mnk
    if max(layer.ifmap_h * layer.ifmap_w * layer.channels, n * k) >= 2**31:
        raise ConfigError(cfg.source, f"layer {layer.name}", "operand too large for the SCALE-Sim "
                          "memory model (word indices are 32-bit)", expected="< 2**31 words")
    df = DATAFLOW_CODES[cfg.dataflow]
    if cfg.use_user_bandwidth:
        if_bw, fl_bw, of_bw = (cfg.ifmap_sram_bank_bandwidth, cfg.filter_sram_bank_bandwidth,
                               cfg.bandwidths[0])
    else:
        if_bw, fl_bw, of_bw = 10, 10, cfg.array_cols
    res = kernels("scalesim").simulate_memory(df, cfg.array_rows, cfg.array_cols,
                            layer.ifmap_h, layer.ifmap_w, layer.filter_h, layer.filter_w,
                            layer.channels, layer.num_filters, layer.stride,
                            bool(cfg.use_user_bandwidth),
                            cfg.sram_words("ifmap"), cfg.sram_words("filter"), cfg.sram_words("ofmap"),
                            if_bw, fl_bw, of_bw)
    res = [int(x) for x in res]
    err = res[K.RES_ERROR]
    if err != K.ERR_NONE:
        key, problem, expected = _ERRORS[err]
        raise ConfigError(cfg.source, key or f"layer {layer.name}", f"layer {layer.name}: {problem}",
                          expected=expected)

    if_reads, fl_reads, of_writes = sram_access_counts(layer, cfg)
    total = res[K.RES_TOTAL_CYCLES]

    def stream(start_idx: int, count: int) -> MemoryStream:
        # a stream that never carries a word keeps SCALE-Sim's initial value 0
        start, stop = (0 if res[i] == K.NO_CYCLE else res[i] for i in (start_idx, start_idx + 1))
        return MemoryStream(start, stop, count)

    dram_if = stream(K.RES_DRAM_IF_START, res[K.RES_DRAM_IF_COUNT])
    dram_fl = stream(K.RES_DRAM_FL_START, res[K.RES_DRAM_FL_COUNT])
    dram_of = stream(K.RES_DRAM_OF_START, res[K.RES_DRAM_OF_COUNT])
    return LayerMemoryReport(
        total_cycles_incl_prefetch=dram_of.stop_cycle - min(dram_if.start_cycle, dram_fl.start_cycle),
        total_cycles=total,
        stall_cycles=res[K.RES_STALL_CYCLES],
        sram_ifmap=stream(K.RES_SRAM_IF_START, if_reads),
        sram_filter=stream(K.RES_SRAM_FL_START, fl_reads),
        sram_ofmap=stream(K.RES_SRAM_OF_START, of_writes),
        dram_ifmap=dram_if,
        dram_filter=dram_fl,
        dram_ofmap=dram_of,
        avg_ifmap_sram_bw=if_reads / total,
        avg_filter_sram_bw=fl_reads / total,
        avg_ofmap_sram_bw=of_writes / total,
        avg_ifmap_dram_bw=dram_if.dram_bw,
        avg_filter_dram_bw=dram_fl.dram_bw,
        avg_ofmap_dram_bw=dram_of.dram_bw,
        demand_rows=res[K.RES_ROWS],
    )

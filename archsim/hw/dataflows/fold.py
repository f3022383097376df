"""SCALE-Sim's fold mapping of a GEMM onto an R x C array: output-, weight- and input-stationary.

=========  ==========================  ==========================  ==============
dataflow   Sr (spatial, array rows)    Sc (spatial, array cols)    T (streamed)
=========  ==========================  ==========================  ==============
os         M                           N                           K
ws         K                           N                           M
is         K                           M                           N
=========  ==========================  ==========================  ==============

The Numba kernel (``archsim.kernels.systolic_timing``) walks the fold loop nest, counts every SRAM and
DRAM access with LRU-managed double-buffered operand SRAMs and times the DRAM refills against the folds at
the array's DRAM port bandwidth; that is the demand's cycles, and its DRAM words are the stream the event
engine times against everything else sharing the port. WS/IS may tile the streamed dimension so that
partial sums stay in the OFMAP buffer (whichever of tiled / untiled finishes first; SCALE-Sim compatible
arrays never tile, as SCALE-Sim does not).
"""
from __future__ import annotations

import numpy as np

from archsim.hw.dataflows import DramScales, register_dataflow
from archsim.hw.shares import Split
from archsim.hw.demand import Demand, Phase
from archsim.hw.shares import split_matrix
from archsim.kernels import systolic_timing as kt


class FoldDataflow:
    """One of os / ws / is (see module docstring)."""

    def __init__(self, name: str, code: int):
        self.name = name
        self.code = code

    def output_tile(self, array, shape, word_bytes: int) -> int:
        """Streamed-dimension tile (0 = untiled) that keeps WS/IS partial sums inside the OFMAP buffer.

        Only offered when K spans several row folds and one column fold's partial sums (T x C words)
        overflow the buffer."""
        p = array.params
        if p.scalesim_compatible or self.code == kt.OS:
            return 0
        sr, _, t = kt.spatial_map(self.code, shape.m, shape.n, shape.k)
        ofmap_words = array.buffer_words(word_bytes)[2]
        if sr <= p.rows or t * p.cols <= ofmap_words:
            return 0
        return max(1, ofmap_words // p.cols)

    def stats(self, array, shape, scales: DramScales, word_bytes: int) -> np.ndarray:
        """The kernel's statistics vector for ``shape`` in words of ``word_bytes`` (``archsim.kernels.
        systolic_timing`` indices)."""
        p = array.params
        buffers = array.buffer_words(word_bytes)

        def run(t_tile):
            return kt.gemm_cycles_and_traffic(
                self.code, p.rows, p.cols, shape.m, shape.n, shape.k, shape.repeats, p.scalesim_compatible,
                *buffers, array.dram_bytes_per_cycle / word_bytes, shape.ifmap_unique_fraction, t_tile,
                p.double_buffered_pes, scales.input, scales.weight, scales.output)

        s = run(0)
        t_tile = self.output_tile(array, shape, word_bytes)
        if t_tile:
            tiled = run(t_tile)
            if tiled[kt.TOTAL_CYCLES] < s[kt.TOTAL_CYCLES]:
                s = tiled
        return s

    def demand(self, array, op, scales: DramScales) -> Demand:
        from archsim.hw.systolic import gemm_shapes

        total = np.zeros(kt.N_STATS)
        macs = 0
        wb = array.word_bytes(op)
        for shape in gemm_shapes(op):
            total += self.stats(array, shape, scales, wb)
            macs += shape.macs
        cycles = int(total[kt.TOTAL_CYCLES])
        folds = int(total[kt.FOLDS])
        pe = array.peak_macs_per_cycle
        traffic = array.traffic(wb, total[kt.IFMAP_SRAM_READS], total[kt.FILTER_SRAM_READS],
                                total[kt.OFMAP_SRAM_WRITES], total[kt.OFMAP_SRAM_READS],
                                total[kt.IFMAP_DRAM_READS], total[kt.FILTER_DRAM_READS],
                                total[kt.OFMAP_DRAM_WRITES], total[kt.OFMAP_DRAM_READS])
        dram = array.params.dram
        streamed = sum(v for k, v in traffic.items() if k.startswith(dram + "."))
        return Demand((Phase(cycles, ((dram, streamed),) if streamed else ()),),
                      compute_cycles=int(total[kt.COMPUTE_CYCLES]), macs=macs,
                      utilization=macs / (cycles * pe) if cycles else 0.0,
                      mapping_efficiency=total[kt.USED_PE_SLOTS] / (folds * pe) if folds else 0.0,
                      folds=folds, traffic_bytes=traffic, actions={"mac": macs, "pe_register": macs} if macs else {})

    def split(self, array, op, n: int) -> Split:
        return split_matrix(op, n)

    def pe_register_bits(self, operand_bits: int, accumulator_bits: int) -> int:
        """OS keeps the partial sum in the PE and forwards two operand words; WS/IS forward one operand word
        and one partial sum."""
        return 2 * operand_bits if self.code == kt.OS else operand_bits + accumulator_bits


OS = register_dataflow(FoldDataflow("os", kt.OS))
WS = register_dataflow(FoldDataflow("ws", kt.WS))
IS = register_dataflow(FoldDataflow("is", kt.IS))

"""Row-stationary (Eyeriss; Chen, Emer, Sze, ISCA 2016 / JSSC 2017): ``dataflow: rs`` on a ``kind: systolic``
array of ``rows`` x ``cols`` PEs.

The mapping (``rs_mapping``), in Eyeriss's terms, for a convolution with ofmap E x F, M filters of R x S,
C/G input channels per filter, stride U, on a P_h x P_w array:

1. **1-D primitive.** A PE keeps one filter row (S weights) in its register file, slides it over one ifmap row
   and produces one row of F partial sums: F*S MACs in F*S cycles.
2. **Logical PE set** (one input channel x one filter): R rows x E columns. Filter row i stays on PE row i
   (reused horizontally), ifmap rows are reused diagonally, partial sums accumulate up each column into one
   ofmap row.
3. **Folding.** E > P_w: the ofmap rows are strip-mined into n_E = ceil(E / P_w) strips of at most
   e = ceil(E / n_E) rows (the strips together cover the E rows; a pass lasts as long whatever its strips'
   widths); R > P_h: the filter rows are folded alike (their partial sums add up).
4. **Replication.** v = floor(P_h / r) sets fit vertically and h = floor(P_w / e) horizontally; the v*h
   concurrent sets take other input channels or other filters.
5. **Passes.** Work units W = batch * G * (M/G) * (C/G) * n_E * n_R (one unit: one channel x one filter x one
   strip x one row fold; depthwise: C * n_E); passes = ceil(W / (v*h)); compute cycles = passes * F * S.
   Depthwise and grouped convolutions need nothing special: a unit is always one channel of one filter.

A GEMM (M x K by K x N) is the 1 x 1 convolution of K channels into N filters over a 1 x M ofmap (each PE
keeps one weight and streams the M inputs past it).

**Off-chip traffic and memory-bound time.** Each datum crosses the DRAM port once (unpadded ifmap, weights,
ofmap) when the ifmap or the weights fit their on-chip buffer; otherwise the loop order that moves fewer
words is taken (weight chunks outer: the ifmap is re-read once per chunk, or ifmap chunks outer: the weights
are re-read). The op lasts max(compute cycles, DRAM bytes / port bytes per cycle): the buffers are double
buffered, so transfers hide behind compute until the port is the bottleneck (the event engine shares the
port with everything else using it, and contention only lengthens the op).

**Global-buffer (on-chip SRAM) accesses** (``archsim.kernels.row_stationary`` walks the passes): units fill the
sets filters fastest, channels slowest (MAESTRO's row-stationary loop order); a pass reads each ifmap block it
uses ((e-1)*U + r rows of (F-1)*U + S words) once, multicast; a filter row block (r*S words) is read when the
array did not already hold it in the previous pass (the row stays in its PE while the strips change); each
ofmap strip (e*F words) a pass adds to is written once and, unless it is the strip's first pass, its running
sum read back.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from archsim.errors import MappingError
from archsim.hw.dataflows import DramScales, register_dataflow
from archsim.hw.demand import Demand, Phase
from archsim.hw.shares import Split, split_matrix
from archsim.kernels.row_stationary import rs_buffer_loads
from archsim.trace import TraceOp


@dataclass(frozen=True)
class ConvShape:
    """A convolution as row-stationary sees it: ``batch`` images, ``groups`` groups of ``channels_per_group``
    input channels, ``filters`` filters of ``filter_rows`` x ``filter_cols``, an ofmap of ``out_rows`` x
    ``out_cols``, strides, and the unpadded input ``in_rows`` x ``in_cols`` (for off-chip words)."""

    batch: int
    groups: int
    channels_per_group: int
    filters: int
    filter_rows: int
    filter_cols: int
    out_rows: int
    out_cols: int
    stride_rows: int = 1
    stride_cols: int = 1
    in_rows: int = 0
    in_cols: int = 0

    @property
    def filters_per_group(self) -> int:
        return self.filters // self.groups

    @property
    def macs(self) -> int:
        """Multiply-accumulates."""
        return (self.batch * self.filters * self.channels_per_group * self.out_rows * self.out_cols
                * self.filter_rows * self.filter_cols)

    @property
    def ifmap_words(self) -> int:
        """Distinct input words (unpadded input feature map, every image)."""
        return self.batch * self.groups * self.channels_per_group * self.in_rows * self.in_cols

    @property
    def weight_words(self) -> int:
        return self.filters * self.channels_per_group * self.filter_rows * self.filter_cols

    @property
    def ofmap_words(self) -> int:
        return self.batch * self.filters * self.out_rows * self.out_cols


def conv_shapes(op: TraceOp) -> list[ConvShape]:
    """The convolutions of a conv2d op (one) or of a GEMM / GEMV / ragged op (one per GEMM shape)."""
    if op.kind == "conv2d":
        groups = op.dim("groups", 1)
        c, f = op.dim("C"), op.dim("F")
        if c % groups or f % groups:
            raise MappingError(f"op {op.name!r}: channels {c} and filters {f} must divide by groups {groups}")
        return [ConvShape(op.dim("N", 1), groups, c // groups, f, op.dim("R"), op.dim("S"), op.dim("OH"),
                          op.dim("OW"), op.dim("stride_h", 1), op.dim("stride_w", 1), op.dim("H"), op.dim("W"))]
    from archsim.hw.systolic import gemm_shapes

    return [ConvShape(g.repeats, 1, g.k, g.n, 1, 1, 1, g.m, 1, 1, 1, g.m) for g in gemm_shapes(op)]


@dataclass(frozen=True)
class RsMapping:
    """Row-stationary mapping of one ConvShape on a ``pe_rows`` x ``pe_cols`` array (module docstring)."""

    shape: ConvShape
    pe_rows: int
    pe_cols: int
    row_folds: int          # n_R: folds of the filter rows (R > pe_rows)
    set_rows: int           # r: filter rows per logical PE set
    strips: int             # n_E: strips of ofmap rows (E > pe_cols)
    strip_rows: int         # e: ofmap rows per strip = PE columns of a set
    sets_vertical: int      # v
    sets_horizontal: int    # h
    work_units: int         # W
    passes: int

    @property
    def concurrent_sets(self) -> int:
        """Logical PE sets the array holds at once (v * h)."""
        return self.sets_vertical * self.sets_horizontal

    @property
    def cycles_per_pass(self) -> int:
        """F * S: one filter row slid over one ofmap row's inputs."""
        return self.shape.out_cols * self.shape.filter_cols

    @property
    def compute_cycles(self) -> int:
        return self.passes * self.cycles_per_pass

    @property
    def active_pes_per_pass(self) -> float:
        """PEs a full pass keeps busy, strips at their average width (min(v*h, W) sets x r x E / n_E): MAESTRO's
        "average number of utilized PEs" (and the Eyeriss papers' "active PEs", except that JSSC'17 counts
        AlexNet CONV1's 55 ofmap rows as full 14-row strips: 154 where this gives 151.25)."""
        return min(self.concurrent_sets, self.work_units) * self.set_rows * self.shape.out_rows / self.strips

    @property
    def average_active_pes(self) -> float:
        """PEs busy, averaged over the compute cycles (narrower last strips and a partly filled last pass
        included): MACs / compute cycles, MAESTRO's "average number of utilized PEs"."""
        return self.shape.macs / self.compute_cycles

    @property
    def utilization(self) -> float:
        """MACs / (compute cycles x PEs): what the array did of its peak while computing."""
        return self.shape.macs / (self.compute_cycles * self.pe_rows * self.pe_cols)


def rs_mapping(shape: ConvShape, pe_rows: int, pe_cols: int) -> RsMapping:
    """Map ``shape`` onto ``pe_rows`` x ``pe_cols`` PEs (module docstring, steps 1-5)."""
    row_folds = -(-shape.filter_rows // pe_rows)
    set_rows = -(-shape.filter_rows // row_folds)
    strips = -(-shape.out_rows // pe_cols)
    strip_rows = -(-shape.out_rows // strips)
    v, h = pe_rows // set_rows, pe_cols // strip_rows
    units = shape.batch * shape.filters * shape.channels_per_group * strips * row_folds
    return RsMapping(shape, pe_rows, pe_cols, row_folds, set_rows, strips, strip_rows, v, h, units,
                     -(-units // (v * h)))


def glb_words(m: RsMapping) -> tuple[float, float, float, float]:
    """(ifmap reads, filter reads, ofmap writes, ofmap reads) of the global buffer, in words (convention in
    the module docstring; ``archsim.kernels.row_stationary`` walks the passes)."""
    s = m.shape
    ifmap_blocks, weight_blocks, psum_blocks = rs_buffer_loads(
        s.batch, m.strips, s.groups, s.filters_per_group, m.row_folds, s.channels_per_group, m.concurrent_sets)
    rows_per_block = (m.strip_rows - 1) * s.stride_rows + m.set_rows
    cols_per_block = (s.out_cols - 1) * s.stride_cols + s.filter_cols
    strip_words = m.strip_rows * s.out_cols
    first = s.batch * m.strips * s.filters          # the first pass of each ofmap strip has no sum to read
    return (float(ifmap_blocks * rows_per_block * cols_per_block), float(weight_blocks * m.set_rows * s.filter_cols),
            float(psum_blocks * strip_words), float((psum_blocks - first) * strip_words))


def dram_words(shape: ConvShape, buffer_words: tuple[int, int, int], scales: DramScales
               ) -> tuple[float, float, float]:
    """(ifmap, weight, ofmap) words crossing the DRAM port (module docstring): once each when the ifmap or the
    weights fit on chip, else the cheaper of re-reading the ifmap per weight chunk or the weights per ifmap
    chunk; ``scales`` applies the mapper's placement (0 = resident, 1/n = fetched once for n arrays)."""
    ifmap, weights, ofmap = shape.ifmap_words, shape.weight_words, shape.ofmap_words
    ifmap_buf, filter_buf, _ = buffer_words
    if weights <= filter_buf or ifmap <= ifmap_buf:
        reads_i, reads_w = ifmap, weights
    else:
        weight_chunks = -(-weights // max(1, filter_buf))
        ifmap_chunks = -(-ifmap // max(1, ifmap_buf))
        if ifmap * weight_chunks + weights <= weights * ifmap_chunks + ifmap:
            reads_i, reads_w = ifmap * weight_chunks, weights
        else:
            reads_i, reads_w = ifmap, weights * ifmap_chunks
    return reads_i * scales.input, reads_w * scales.weight, ofmap * scales.output


class RowStationary:
    """``dataflow: rs`` (module docstring)."""

    name = "rs"

    def mappings(self, array, op: TraceOp) -> list[RsMapping]:
        """The RS mapping of every convolution of ``op`` on ``array``."""
        p = array.params
        return [rs_mapping(s, p.rows, p.cols) for s in conv_shapes(op)]

    def demand(self, array, op: TraceOp, scales: DramScales) -> Demand:
        wb = array.word_bytes(op)
        buffers = array.buffer_words(wb)
        compute = macs = passes = 0
        active = 0.0
        glb = np.zeros(4)
        dram = np.zeros(3)
        for m in self.mappings(array, op):
            compute += m.compute_cycles
            macs += m.shape.macs
            passes += m.passes
            active += m.work_units * m.set_rows * m.strip_rows
            glb += glb_words(m)
            dram += dram_words(m.shape, buffers, scales)
        p = array.params
        port = p.dram
        dram_bytes = float(dram.sum()) * wb
        memory_cycles = math.ceil(dram_bytes / array.dram_bytes_per_cycle) if dram_bytes else 0
        cycles = max(compute, memory_cycles)
        pes = p.rows * p.cols
        traffic = array.traffic(wb, glb[0], glb[1], glb[2], glb[3], dram[0], dram[1], dram[2], 0.0)
        return Demand((Phase(cycles, ((port, dram_bytes),) if dram_bytes else ()),),
                      compute_cycles=compute, macs=macs,
                      utilization=macs / (cycles * pes) if cycles else 0.0,
                      mapping_efficiency=active / (passes * pes) if passes else 0.0,
                      folds=passes, traffic_bytes=traffic,
                      actions={"mac": macs, "pe_register": macs} if macs else {})

    def split(self, array, op: TraceOp, n: int) -> Split:
        return split_matrix(op, n)

    def pe_register_bits(self, operand_bits: int, accumulator_bits: int) -> int:
        """A row-stationary PE reads its weight and ifmap word from its register file and reads and writes the
        partial sum there on every MAC."""
        return 2 * operand_bits + 2 * accumulator_bits


RS = register_dataflow(RowStationary())

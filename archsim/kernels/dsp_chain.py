"""Cycle accounting of FlightLLM's configurable sparse DSP chains (CSD-chain) over one matrix tile.

A chain is ``chain_dsps`` DSP slices cascaded in DSP groups of ``dsp_group``; every DSP multiplies one
weight by ``pack`` activations at once (two on a DSP48E2, Xilinx WP486) and the cascade sums the chain into
one output per packed operand. ``chains`` chains run side by side.

* **Dense / fixed chain** (``configurable = 0``): a dot product of length K occupies the whole chain for
  ceil(K / chain_dsps) passes; zero weights are multiplied like any other.
* **Configurable chain** (``configurable = 1``): the sparse MUX in front of each DSP picks the activation of
  its non-zero weight (N:M, one of M inputs), so a dot product costs its non-zeros only; when it is shorter
  than the chain, **reduction nodes** break the cascade at DSP-group boundaries and the chain emits
  floor(chain_dsps / segment) outputs per pass (segment = its non-zeros rounded up to whole groups).
* **Overflow splitting**: with packed activations each partial sum has only 18 bits, so a cascade longer
  than ``oau_dsps`` overflows; the overflow adjust unit splits it into most/least-significant parts at each
  ``oau_dsps`` boundary (no cycles: it is pipelined, counted in ``splits``). A chain without the unit
  (``oau = 0``) and packed activations cannot cascade beyond ``oau_dsps``: the rest of its DSPs work on
  separate partial sums (of the same or other dot products) that an adder tree combines off the cascade.

Per-column non-zero counts (``nnz_cols``) describe N:M weights (N:M with different N per block give
different counts); ``block_mask`` (blocks of ``block`` × ``block`` outputs, 1 = computed) describes
block-sparse SDDMM (attention scores under a sparse mask); all ones for GEMM/GEMV/SpMM/SpMV.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def chain_tile_cycles(m, k, nnz_cols, chains, chain_dsps, pack, dsp_group, configurable, oau, oau_dsps,
                      block_mask, block):
    """(cycles, useful MACs, overflow splits, outputs) of an ``m`` × K × N tile (N = len(nnz_cols)) on the
    chains (module docstring). ``nnz_cols[j]``: non-zero weights of column j over K (K when dense)."""
    n = nnz_cols.shape[0]
    rows_packed = (m + pack - 1) // pack          # activations sharing one weight go through one DSP at once
    chain_passes = 0.0
    useful = 0
    splits = 0
    outputs = 0
    mb = block_mask.shape[0]
    nb = block_mask.shape[1]
    for j in range(n):
        kk = nnz_cols[j] if configurable else k
        nz = nnz_cols[j]
        if kk <= 0:
            continue
        # rows of this column the mask computes
        rows = 0
        bj = min(j // block, nb - 1)
        for bi in range(mb):
            if block_mask[bi, bj]:
                rows += min(block, m - bi * block)
        if rows <= 0:
            continue
        packed = (rows + pack - 1) // pack if rows < m else rows_packed
        if pack > 1 and not oau:
            reach = min(chain_dsps, oau_dsps)     # cascade length before an overflow
        else:
            reach = chain_dsps
        if kk >= reach:
            # whole passes of reach DSPs; without the OAU the chain's other DSPs take other partial sums
            per_dot = (kk + reach - 1) // reach * reach / chain_dsps
        elif configurable:
            seg = (kk + dsp_group - 1) // dsp_group * dsp_group
            per_dot = 1.0 / (chain_dsps // seg)
        else:
            per_dot = 1.0
        chain_passes += per_dot * packed
        useful += nz * rows
        outputs += rows
        if pack > 1 and oau:
            seg_len = min(kk, chain_dsps)
            splits += ((seg_len - 1) // oau_dsps) * packed
    cycles = int(np.ceil(chain_passes / chains)) + chain_dsps if chain_passes > 0 else 0
    return cycles, useful, splits, outputs

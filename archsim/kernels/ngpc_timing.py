"""Cycle accounting of a Neural Field Processor (NGPC, Mubarik et al., ISCA 2023) (Numba; pure functions).

* ``encoding_sample``: one level unit per grid level looks up the ``2^D`` corners of each query in its grid
  SRAM. The corner indices are tiny-cuda-nn's ``grid_index`` of the real coordinates: a hashed level uses
  the coherent prime hash (XOR over dims of ``coord_d × prime_d``, primes 1, 2654435761, 805459861, in
  uint32) ``mod T``; a dense level the row-major index ``mod`` its entries; a tiled level wraps each axis at
  the base resolution. A unit reads ``lookups_per_cycle`` corners per cycle from ``banks`` single-ported
  banks (bank = index mod banks), so a query-level takes ``max(ceil(C / lookups_per_cycle), busiest bank,
  ceil(C·F / interp_macs_per_cycle))`` cycles. A corner whose index is at or above the level's
  ``resident`` entries (the part of its table the SRAM holds) misses and is fetched from L2/DRAM.
* ``mlp_chunk_cycles``: the MLP engine (an R×C weight-stationary MAC array) runs one layer at a time over a
  chunk of queries; a layer of ``ceil(K/R)·ceil(N/C)`` folds pays the fill/skew of its first fold
  (``systolic_timing.native_fold_cycles``) and ``max(T, R)`` for each further fold, the next weight tile
  shifting in behind the streaming one (``overlapped_fold_cycles``).
* ``nfp_batch_cycles``: a batch split over N NFPs; inside each, encoder and MLP engine are fused and
  pipelined chunk by chunk (the encoder fills the MLP's input buffer directly: no memory round trip).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from archsim.kernels.systolic_timing import WS, native_fold_cycles, overlapped_fold_cycles

HASH, DENSE, TILED = 0, 1, 2
PRIMES = (np.uint32(1), np.uint32(2654435761), np.uint32(805459861))


@njit(cache=True)
def grid_index(grid: np.ndarray, dims: int, grid_type: int, resolution: int, entries: int, base: int) -> int:
    """tcnn's ``grid_index`` of integer vertex ``grid[:dims]`` on a level (see the module docstring)."""
    if grid_type == HASH and entries < _dense_count(resolution, dims):
        h = np.uint32(0)
        for d in range(dims):
            p = np.uint32(1) if d == 0 else (np.uint32(2654435761) if d == 1 else np.uint32(805459861))
            h ^= np.uint32(grid[d]) * p
        return np.int64(h % np.uint32(entries))
    stride = 1
    index = 0
    for d in range(dims):
        g = grid[d] % base if grid_type == TILED else grid[d]
        index += g * stride
        stride *= base if grid_type == TILED else resolution
    return np.int64(index % entries)


@njit(cache=True)
def _dense_count(resolution: int, dims: int) -> int:
    n = 1
    for _ in range(dims):
        n *= resolution
    return (n + 7) // 8 * 8


@njit(cache=True)
def encoding_sample(coords: np.ndarray, scales: np.ndarray, resolutions: np.ndarray, entries: np.ndarray,
                    resident: np.ndarray, grid_type: int, base: int, features: int, lookups_per_cycle: int,
                    banks: int, interp_macs_per_cycle: int):
    """Per level, over the sample ``coords`` [Q, D] in [0, 1): (unit cycles, corner misses) summed over the
    queries. ``scales``: tcnn's per-level ``N_min·b^l − 1``; ``resident``: entries of each level held on chip."""
    q, dims = coords.shape
    levels = scales.shape[0]
    corners = 1 << dims
    cycles = np.zeros(levels, np.int64)
    misses = np.zeros(levels, np.int64)
    base_cycles = max((corners + lookups_per_cycle - 1) // lookups_per_cycle,
                      (corners * features + interp_macs_per_cycle - 1) // interp_macs_per_cycle)
    cell = np.zeros(dims, np.int64)
    vertex = np.zeros(dims, np.int64)
    load = np.zeros(banks, np.int64)
    for lv in range(levels):
        for i in range(q):
            for d in range(dims):
                cell[d] = int(np.floor(coords[i, d] * scales[lv] + 0.5))
            load[:] = 0
            for c in range(corners):
                for d in range(dims):
                    vertex[d] = cell[d] + ((c >> d) & 1)
                idx = grid_index(vertex, dims, grid_type, resolutions[lv], entries[lv], base)
                load[idx % banks] += 1
                if idx >= resident[lv]:
                    misses[lv] += 1
            busiest = 0
            for b in range(banks):
                if load[b] > busiest:
                    busiest = load[b]
            cycles[lv] += max(base_cycles, busiest)
    return cycles, misses


@njit(cache=True)
def mlp_chunk_cycles(rows: int, cols: int, layer_k: np.ndarray, layer_n: np.ndarray, chunk: int) -> int:
    """Cycles of ``chunk`` queries through every layer (K_i → N_i) of the MLP on an R×C WS array."""
    total = 0
    for i in range(layer_k.shape[0]):
        folds = ((layer_k[i] + rows - 1) // rows) * ((layer_n[i] + cols - 1) // cols)
        total += native_fold_cycles(WS, rows, cols, chunk) + (folds - 1) * overlapped_fold_cycles(rows, chunk)
    return total


@njit(cache=True)
def nfp_batch_cycles(queries: int, nfps: int, level_cycles_per_query: np.ndarray, units_per_level: int,
                     rows: int, cols: int, layer_k: np.ndarray, layer_n: np.ndarray, chunk: int):
    """(cycles, encoder busy cycles, MLP busy cycles) of ``queries`` on ``nfps`` NFPs.

    Each NFP takes ``ceil(queries / nfps)``; its level units run in parallel, ``units_per_level`` units per
    level splitting the level's queries (16 units and 8 levels: two queries at once); the encoder and the MLP
    engine are pipelined over chunks of ``chunk`` queries (the encoder's first chunk and the MLP's last are
    not overlapped)."""
    per_nfp = (queries + nfps - 1) // nfps
    if per_nfp == 0:
        return 0, 0, 0
    full, rest = per_nfp // chunk, per_nfp % chunk
    sizes = np.empty(full + (1 if rest else 0), np.int64)
    sizes[:full] = chunk
    if rest:
        sizes[full] = rest
    n = sizes.shape[0]
    enc = np.empty(n, np.int64)
    mlp = np.empty(n, np.int64)
    for j in range(n):
        worst = 0.0
        for lv in range(level_cycles_per_query.shape[0]):
            c = level_cycles_per_query[lv] * sizes[j] / units_per_level
            if c > worst:
                worst = c
        enc[j] = int(np.ceil(worst - 1e-9))
        mlp[j] = mlp_chunk_cycles(rows, cols, layer_k, layer_n, sizes[j])
    # two chunk buffers between encoder and MLP engine: the encoder writes chunk j once chunk j-2 has left
    # the MLP; chunk j's MLP pass starts when it is encoded and the MLP is done with chunk j-1
    enc_done = 0
    mlp_done = np.zeros(n, np.int64)
    for j in range(n):
        start = enc_done if j < 2 else max(enc_done, mlp_done[j - 2])
        enc_done = start + enc[j]
        mlp_done[j] = max(mlp_done[j - 1] if j else 0, enc_done) + mlp[j]
    return mlp_done[n - 1], enc.sum(), mlp.sum()

"""Cycle accounting of a GEMM on an R x C systolic array (Numba).

Mapping of a GEMM out[M,N] = in[M,K] . w[K,N] onto the array (SCALE-Sim's convention):

=========  ==========================  ==========================  ==============
dataflow   Sr (spatial, array rows)    Sc (spatial, array cols)    T (streamed)
=========  ==========================  ==========================  ==============
os (0)     M                           N                           K
ws (1)     K                           N                           M
is (2)     K                           M                           N
=========  ==========================  ==========================  ==============

The array runs ``ceil(Sr/R) * ceil(Sc/C)`` folds strictly in sequence, column fold outer, row fold
inner. Every fold costs the full fill + stream + drain time even when it is partial.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from archsim.kernels.systolic_codes import DATAFLOW_CODES, IS, OS, WS  # noqa: F401  (re-exported)

# Indices of the per-GEMM statistics vector returned by ``gemm_pipeline``.
(TOTAL_CYCLES, COMPUTE_CYCLES, STALL_CYCLES, FOLDS,
 IFMAP_SRAM_READS, FILTER_SRAM_READS, OFMAP_SRAM_WRITES, OFMAP_SRAM_READS,
 IFMAP_DRAM_READS, FILTER_DRAM_READS, OFMAP_DRAM_WRITES, OFMAP_DRAM_READS,
 USED_PE_SLOTS, MAPPED_MACS) = range(14)
N_STATS = 14


@njit(cache=True)
def spatial_map(dataflow: int, m: int, n: int, k: int):
    """Return (Sr, Sc, T): the GEMM dims laid on array rows, array columns, and streamed in time."""
    if dataflow == OS:
        return m, n, k
    if dataflow == WS:
        return k, n, m
    return k, m, n


@njit(cache=True)
def scalesim_fold_cycles(dataflow: int, rows: int, cols: int, t: int) -> int:
    """Cycles of one fold as SCALE-Sim 3.0.0 counts them (OS lacks one R: its upstream issue #4)."""
    if dataflow == OS:
        return t + rows + cols - 2
    return 2 * rows + cols + t - 2


@njit(cache=True)
def native_fold_cycles(dataflow: int, rows: int, cols: int, t: int) -> int:
    """Cycles of one fold: R+C-2 skew, T streamed, R to load stationary weights/inputs or drain outputs.

    OS: operands skew in (R-1 + C-1), stream T, then the R stationary outputs per column shift out (R).
    WS/IS: the R stationary rows are loaded (R), operands skew in (R-1 + C-1) and stream T, and the
    last partial sums leave the bottom edge.
    """
    return 2 * rows + cols + t - 2


@njit(cache=True)
def fold_compute_cycles(dataflow: int, rows: int, cols: int, t: int, scalesim_compatible: bool) -> int:
    """Cycles of one fold in the chosen mode (SCALE-Sim compatible or native)."""
    if scalesim_compatible:
        return scalesim_fold_cycles(dataflow, rows, cols, t)
    return native_fold_cycles(dataflow, rows, cols, t)


@njit(cache=True)
def overlapped_fold_cycles(rows: int, t: int) -> int:
    """Cycles a fold adds behind the previous one when the stationary operand is double-buffered in the
    PEs: the next R-row stationary tile shifts in (or the R outputs shift out) while the current fold
    streams its T rows, and the skew fill/drain is paid once for the whole run of folds."""
    return max(t, rows)


@njit(cache=True)
def _ceil_div(a: int, b: int) -> int:
    return (a + b - 1) // b


# --- an LRU buffer of variable-size slices, as a doubly linked list over slice ids (O(1) per access).
# state = [head (least recent), tail (most recent), resident words]; prev/next/size/resident per id.
_HEAD, _TAIL, _USED = 0, 1, 2


@njit(cache=True)
def _lru_new(n_ids: int):
    state = np.array([-1, -1, 0], np.int64)
    prev = np.full(n_ids, -1, np.int64)
    nxt = np.full(n_ids, -1, np.int64)
    size = np.zeros(n_ids, np.int64)
    resident = np.zeros(n_ids, np.bool_)
    return state, prev, nxt, size, resident


@njit(cache=True)
def _lru_unlink(state, prev, nxt, sid: int) -> None:
    p, q = prev[sid], nxt[sid]
    if p >= 0:
        nxt[p] = q
    else:
        state[_HEAD] = q
    if q >= 0:
        prev[q] = p
    else:
        state[_TAIL] = p
    prev[sid] = -1
    nxt[sid] = -1


@njit(cache=True)
def _lru_append(state, prev, nxt, sid: int) -> None:
    tail = state[_TAIL]
    prev[sid] = tail
    nxt[sid] = -1
    if tail >= 0:
        nxt[tail] = sid
    else:
        state[_HEAD] = sid
    state[_TAIL] = sid


@njit(cache=True)
def _lru_access(lru, sid: int, words: int, capacity: int) -> int:
    """Use slice ``sid`` of ``words`` words in an LRU buffer of ``capacity`` words; return words fetched.

    A resident slice costs nothing and becomes most recent; otherwise least recently used slices are
    evicted until it fits, and it is fetched. A slice larger than the buffer streams through unkept.
    """
    state, prev, nxt, size, resident = lru
    if resident[sid]:
        _lru_unlink(state, prev, nxt, sid)
        _lru_append(state, prev, nxt, sid)
        return 0
    if words <= capacity:
        while state[_USED] + words > capacity:
            victim = state[_HEAD]
            _lru_unlink(state, prev, nxt, victim)
            resident[victim] = False
            state[_USED] -= size[victim]
        resident[sid] = True
        size[sid] = words
        state[_USED] += words
        _lru_append(state, prev, nxt, sid)
    return words


@njit(cache=True)
def gemm_fold_traffic(dataflow: int, rows: int, cols: int, m: int, n: int, k: int, repeats: int,
                      ifmap_buffer_words: int, filter_buffer_words: int, ofmap_buffer_words: int,
                      ifmap_unique_fraction: float = 1.0, t_tile: int = 0, ifmap_dram_scale: float = 1.0,
                      filter_dram_scale: float = 1.0, ofmap_dram_scale: float = 1.0):
    """Walk the fold loop nest of ``repeats`` independent MxNxK GEMMs and count every access.

    Loop nest: repeat (independent GEMM) > T tile > column fold > row fold. ``t_tile`` splits the
    streamed dimension T (WS: M, IS: N) into tiles of at most that length (0: one tile), so that the
    partial sums of a column fold can stay in the OFMAP buffer; the stationary operand's blocks are
    the same in every tile and are re-used from the buffer if they are still resident.

    Each input operand has a working buffer (the computing half of a double-buffered SRAM) of the
    given size in words, managed LRU over slices. A fold needs one slice of each input operand,
    fetched from DRAM unless resident. Each fold writes its output slice to the OFMAP SRAM; when K
    is split over several row folds (WS/IS) the partial sums stay in the OFMAP buffer if the slice
    fits, otherwise they spill to DRAM and are read back for the next fold.

    ``ifmap_unique_fraction`` is (distinct input words) / (M*K): below 1 for convolutions, whose
    im2col matrix repeats each input pixel in up to R*S windows. The SRAM holds (and DRAM supplies)
    the distinct words, so an input slice occupies and costs ``ceil(slice * fraction)`` words; the
    array still reads every im2col element from the SRAM. (Halo overlap between slices is ignored.)

    ``*_dram_scale`` scale each operand's DRAM traffic: 1 normally, 0 when a mapper has placed the whole
    operand on chip beforehand (nothing is fetched or drained, so nothing stalls on it), 1/n when n units
    sharing the operand's SRAM each run a share of the op and the operand is fetched once for all of them.

    Returns ``(stats, load_words, drain_words, fold_t)``: the stats vector (indices are this module's
    constants; counts in words) and, per fold, the words loaded before it, drained after it, and
    its streamed length T.
    """
    stats = np.zeros(N_STATS)
    sr, sc, t = spatial_map(dataflow, m, n, k)
    row_folds = _ceil_div(sr, rows)
    col_folds = _ceil_div(sc, cols)
    if dataflow == OS or t_tile <= 0 or t_tile >= t:
        t_tile = t
    n_tiles = _ceil_div(t, t_tile)
    n_folds = row_folds * col_folds * n_tiles * repeats
    load_words = np.zeros(n_folds)
    drain_words = np.zeros(n_folds)
    fold_t = np.zeros(n_folds, np.int64)
    n_ids = max(n_tiles, col_folds) * row_folds + col_folds + 1
    f = 0
    for rep in range(repeats):
        # a new independent GEMM: nothing of the previous one is reused
        if_lru = _lru_new(n_ids)
        fl_lru = _lru_new(n_ids)
        for tile in range(n_tiles):
            t_len = min(t_tile, t - tile * t_tile)
            for fc in range(col_folds):
                used_c = min(cols, sc - fc * cols)
                for fr in range(row_folds):
                    used_r = min(rows, sr - fr * rows)
                    if dataflow == OS:      # ifmap: M rows (fr) x K; filter: K x N cols (fc)
                        if_id, if_sz = fr, used_r * t_len
                        fl_id, fl_sz = fc, used_c * t_len
                    elif dataflow == WS:    # filter block (fc, fr) stationary; ifmap: M tile x K rows (fr)
                        if_id, if_sz = tile * row_folds + fr, used_r * t_len
                        fl_id, fl_sz = fc * row_folds + fr, used_r * used_c
                    else:                   # IS: ifmap block (fc, fr) stationary; filter: K rows (fr) x N tile
                        if_id, if_sz = fc * row_folds + fr, used_r * used_c
                        fl_id, fl_sz = tile * row_folds + fr, used_r * t_len
                    out_sz = used_r * used_c if dataflow == OS else t_len * used_c
                    stats[IFMAP_SRAM_READS] += if_sz
                    stats[FILTER_SRAM_READS] += fl_sz
                    stats[OFMAP_SRAM_WRITES] += out_sz
                    stats[USED_PE_SLOTS] += used_r * used_c
                    stats[MAPPED_MACS] += used_r * used_c * t_len

                    if_raw = if_sz if ifmap_unique_fraction >= 1.0 else int(np.ceil(if_sz * ifmap_unique_fraction))
                    if_fetch = _lru_access(if_lru, if_id, if_raw, ifmap_buffer_words) * ifmap_dram_scale
                    fl_fetch = _lru_access(fl_lru, fl_id, fl_sz, filter_buffer_words) * filter_dram_scale
                    stats[IFMAP_DRAM_READS] += if_fetch
                    stats[FILTER_DRAM_READS] += fl_fetch

                    psum_reads = 0.0
                    drain = float(out_sz)
                    if dataflow != OS and row_folds > 1:
                        if fr > 0:
                            stats[OFMAP_SRAM_READS] += out_sz      # accumulate onto earlier partial sums
                        if out_sz <= ofmap_buffer_words:
                            drain = float(out_sz) if fr == row_folds - 1 else 0.0
                        elif fr > 0:
                            psum_reads = float(out_sz)             # spilled partial sums come back
                    drain *= ofmap_dram_scale
                    psum_reads *= ofmap_dram_scale
                    stats[OFMAP_DRAM_WRITES] += drain
                    stats[OFMAP_DRAM_READS] += psum_reads
                    load_words[f] = if_fetch + fl_fetch + psum_reads
                    drain_words[f] = drain
                    fold_t[f] = t_len
                    f += 1
    stats[FOLDS] = n_folds
    return stats, load_words, drain_words, fold_t


@njit(cache=True)
def double_buffered_cycles(fold_cycles: np.ndarray, load_words: np.ndarray, drain_words: np.ndarray,
                           dram_words_per_cycle: float) -> float:
    """Cycles to run folds back to back with double-buffered inputs and outputs on one DRAM channel.

    Fold f+1's inputs load while fold f computes (into the half fold f-1 used); fold f's outputs
    drain after it ends; fold f may start once fold f-1 has ended, its inputs are loaded and the output
    half it writes (used by fold f-2) has drained. The channel serves transfers in issue order.
    The first load is exposed; so is the last drain. ``dram_words_per_cycle <= 0``: ideal memory.
    """
    n = load_words.shape[0]
    if n == 0:
        return 0.0
    if dram_words_per_cycle <= 0.0:
        return float(fold_cycles.sum())
    bw = dram_words_per_cycle
    channel_free = load_words[0] / bw
    next_loaded = channel_free
    prev_end = 0.0
    drained_1 = 0.0   # drain done of fold f-1
    drained_2 = 0.0   # drain done of fold f-2
    for f in range(n):
        start = max(prev_end, next_loaded, drained_2)
        if f + 1 < n:
            channel_free = max(channel_free, start) + load_words[f + 1] / bw
            next_loaded = channel_free
        end = start + fold_cycles[f]
        channel_free = max(channel_free, end) + drain_words[f] / bw
        drained_2 = drained_1
        drained_1 = channel_free
        prev_end = end
    return max(prev_end, drained_1)


@njit(cache=True)
def gemm_cycles_and_traffic(dataflow: int, rows: int, cols: int, m: int, n: int, k: int, repeats: int,
                            scalesim_compatible: bool, ifmap_buffer_words: int, filter_buffer_words: int,
                            ofmap_buffer_words: int, dram_words_per_cycle: float,
                            ifmap_unique_fraction: float = 1.0, t_tile: int = 0,
                            overlap_folds: bool = False, ifmap_dram_scale: float = 1.0,
                            filter_dram_scale: float = 1.0, ofmap_dram_scale: float = 1.0) -> np.ndarray:
    """Stats vector of ``repeats`` MxNxK GEMMs (T tiled by ``t_tile``, 0 = untiled; with
    ``overlap_folds`` every fold after the first costs ``overlapped_fold_cycles``; DRAM scales as in
    ``gemm_fold_traffic``): access counts (``gemm_fold_traffic``) plus cycles
    (``double_buffered_cycles``) — TOTAL, COMPUTE (sum of fold times) and STALL (the difference)."""
    stats, load_words, drain_words, fold_t = gemm_fold_traffic(
        dataflow, rows, cols, m, n, k, repeats, ifmap_buffer_words, filter_buffer_words, ofmap_buffer_words,
        ifmap_unique_fraction, t_tile, ifmap_dram_scale, filter_dram_scale, ofmap_dram_scale)
    fold_cycles = np.empty(fold_t.shape[0], np.int64)
    for f in range(fold_t.shape[0]):
        fold_cycles[f] = fold_compute_cycles(dataflow, rows, cols, fold_t[f], scalesim_compatible)
        if overlap_folds and f > 0 and not scalesim_compatible:
            fold_cycles[f] = overlapped_fold_cycles(rows, fold_t[f])
    total = np.ceil(double_buffered_cycles(fold_cycles, load_words, drain_words, dram_words_per_cycle))
    stats[COMPUTE_CYCLES] = fold_cycles.sum()
    stats[TOTAL_CYCLES] = total
    stats[STALL_CYCLES] = total - stats[COMPUTE_CYCLES]
    return stats

"""SCALE-Sim 3.0.0's per-layer compute figures in closed form (Numba).

These reproduce, bit for bit, the float arithmetic SCALE-Sim uses for its COMPUTE_REPORT: per-fold
mapping efficiency and compute utilisation are computed fold by fold (column fold outer, row fold
inner), summed in that order, then averaged — so the printed floats are identical.
"""
from __future__ import annotations

from numba import njit

from archsim.kernels.systolic_timing import OS, scalesim_fold_cycles, spatial_map


@njit(cache=True)
def scalesim_compute_figures(dataflow: int, rows: int, cols: int, m: int, n: int, k: int):
    """Return (total_cycles, folds, mapping_eff_pct, compute_util_pct, ifmap_reads, filter_reads,
    ofmap_writes) exactly as SCALE-Sim 3.0.0 reports them for one layer (stall-free CALC mode).

    ``total_cycles`` is SCALE-Sim's "Total Cycles": folds * per-fold rows - 1. SRAM counts include its
    OS OFMAP over-count (``+ R + C`` per fold).
    """
    sr, sc, t = spatial_map(dataflow, m, n, k)
    row_folds = (sr + rows - 1) // rows
    col_folds = (sc + cols - 1) // cols
    folds = row_folds * col_folds
    per_fold = scalesim_fold_cycles(dataflow, rows, cols, t)
    # the fold length SCALE-Sim divides by in its compute-utilisation figure
    if dataflow == OS:
        util_cycles = t + rows + cols - 2
    else:
        util_cycles = 2 * rows + 2 * cols + t - 3
    map_sum = 0.0
    util_sum = 0.0
    for fc in range(col_folds):
        used_c = min(cols, sc - fc * cols)
        for fr in range(row_folds):
            used_r = min(rows, sr - fr * rows)
            mac_used = used_r * used_c
            map_sum += mac_used / (rows * cols)
            util_sum += (mac_used * t) / (rows * cols * util_cycles)
    mapping_eff = map_sum / folds * 100
    compute_util = util_sum / folds * 100
    if dataflow == OS:
        ifmap_reads = col_folds * m * k
        filter_reads = row_folds * n * k
        ofmap_writes = m * n + folds * (rows + cols)
    elif dataflow == 1:  # WS
        ifmap_reads = col_folds * m * k
        filter_reads = k * n
        ofmap_writes = row_folds * m * n
    else:                # IS
        ifmap_reads = m * k
        filter_reads = col_folds * k * n
        ofmap_writes = row_folds * m * n
    return folds * per_fold - 1, folds, mapping_eff, compute_util, ifmap_reads, filter_reads, ofmap_writes

"""SCALE-Sim 3.0.0 memory system, re-implemented as Numba kernels (compat mode only).

SCALE-Sim turns a layer into three *demand matrices* (one row per cycle, one column per array edge
port, entry = word address or -1) and walks them row by row through a double-buffered scratchpad:
two read buffers (IFMAP, FILTER) backed by DRAM and one write buffer (OFMAP) that drains to DRAM.
This module does the same walk without ever building those matrices: each row is generated on the
fly from the fold indices (``_fill_row``), and the three buffers are emulated with small state
vectors. Everything SCALE-Sim reports about the memory system falls out of that walk: DRAM read /
write counts, the first and last cycle of every SRAM and DRAM stream, stall cycles and total cycles.

Addresses are handled as *dense indices* (address minus the operand's base offset): IFMAP
``((oh*s + r)*W + ow*s + c)*C + ch``, FILTER ``n*K + k``. The OFMAP write buffer only needs how many
valid words each row carries.

Three buffer models, each reproducing SCALE-Sim's behaviour including its quirks:

* ``_calc_read_pass`` (CALC mode, ``read_buffer_estimate_bw.py``): reads always hit. Newly seen
  words are grouped into sets of ``floor(words/100)``; a word is "resident" if it was inserted into a
  set at or after the start of the current 50-set window. When 50 new sets have been filled the window
  slides and a prefetch is logged. DRAM reads = number of insertions. Equivalently the buffer is an
  epoch cache (a window slide every W = 50*floor(words/100) insertions empties it), so one int32 per
  word (the epoch of its last insertion) is the whole state. CALC mode never stalls on reads, so the
  write buffer and each read buffer are run as separate passes (see "CALC mode, fast path").
* ``_user_read`` (USER mode, ``read_buffer.py``): the operand's *prefetch matrix* (operand in
  consumption order, diagonally unrolled for skewed operands) is cut into sets of
  ``ceil(words/100)`` valid words; the active window is a circular range of sets. On a miss the
  window slides by the prefetch half and ``ceil(prefetch_words/BW)`` DRAM lines are requested back
  to back after the previous prefetch; the stall bookkeeping keeps SCALE-Sim 3.0.0's double count of
  positive stalls. Set membership is a CSR table (word -> sorted set ids) built by ``build_hashed``.
* ``_write`` (both modes, ``write_buffer.py``): words are packed into DRAM lines of BW words; when
  occupancy exceeds the active half, ``ceil(drain_words/BW)`` lines are drained one per cycle. Lines
  forced out partially filled and SCALE-Sim's "only the last line's -1 are discounted" accounting are
  kept, since they show in the reported counts (e.g. 33307 writes for 33300 words).

Performance note: per-word work is written inline. Passing arrays to a small jitted helper inside a
hot loop costs reference-count updates on every call (about 10x slower here), so helpers taking
arrays are only called once per demand row or per layer.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from archsim.kernels.scalesim_codes import (  # noqa: F401  (re-exported)
    RES_TOTAL_CYCLES, RES_STALL_CYCLES, RES_ROWS, RES_SRAM_IF_START, RES_SRAM_IF_STOP, RES_SRAM_FL_START,
    RES_SRAM_FL_STOP, RES_SRAM_OF_START, RES_SRAM_OF_STOP, RES_DRAM_IF_START, RES_DRAM_IF_STOP,
    RES_DRAM_IF_COUNT, RES_DRAM_FL_START, RES_DRAM_FL_STOP, RES_DRAM_FL_COUNT, RES_DRAM_OF_START,
    RES_DRAM_OF_STOP, RES_DRAM_OF_COUNT, RES_ERROR, N_RES, ERR_NONE, ERR_ZERO_PREFETCH_WINDOW,
    ERR_NO_REQUESTS, ERR_ADDR_NOT_PREFETCHED, ERR_NO_OFMAP, NO_CYCLE,
)
from archsim.kernels.systolic_codes import DATAFLOW_CODES, IS, OS, WS  # noqa: F401

# SCALE-Sim constants (single_layer_sim / read_buffer_estimate_bw)
_CALC_SETS_PER_HALF = 50       # int(active_buf_frac * 100), active_buf_frac = 0.5
_CALC_DEFAULT_BW = 10          # words/cycle of the first CALC-mode fill
_DRAM_READ_LATENCY = 1         # read_port.latency


@njit(cache=True)
def _ceil_div(a, b):
    return -((-a) // b)


# ----------------------------------------------------------------------------------------------
# Operand address tables
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def ifmap_tables(h, w, fh, fw, ch, stride, oh, ow):
    """Split the im2col address of IFMAP element (m, k) into an m part and a k part.

    Element (m, k) is valid iff ``kr[k] < rlim[m] and kc[k] < clim[m]`` and then its dense index is
    ``base[m] + koff[k]`` (SCALE-Sim ``operand_matrix.calc_ifmap_elem_addr``).
    """
    m_total = oh * ow
    k_total = fh * fw * ch
    base = np.empty(m_total, np.int64)
    rlim = np.empty(m_total, np.int64)
    clim = np.empty(m_total, np.int64)
    for m in range(m_total):
        orow = m // ow
        ocol = m - orow * ow
        irow = orow * stride
        icol = ocol * stride
        base[m] = (irow * w + icol) * ch
        rlim[m] = h - irow
        clim[m] = w - icol
    koff = np.empty(k_total, np.int64)
    kr = np.empty(k_total, np.int64)
    kc = np.empty(k_total, np.int64)
    for k in range(k_total):
        r = k // (fw * ch)
        rem = k - r * fw * ch
        c = rem // ch
        cc = rem - c * ch
        koff[k] = (r * w + c) * ch + cc
        kr[k] = r
        kc[k] = c
    return base, rlim, clim, koff, kr, kc


# ----------------------------------------------------------------------------------------------
# Demand rows (systolic_compute_{os,ws,is}.create_*_demand_mat, generated one row at a time)
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def _fill_row(df, rows, cols, m_dim, n_dim, k_dim, used_r, used_c, fr, fc, q,
              base, rlim, clim, koff, kr, kc, if_buf, fl_buf):
    """Row ``q`` of fold (fc, fr): IFMAP / FILTER dense indices in port order, and the OFMAP count.

    Returns (n_ifmap, n_filter, n_ofmap_words). Ports with -1 are skipped (SCALE-Sim ignores them).
    """
    n_if = 0
    n_fl = 0
    n_of = 0
    if df == OS:
        t_dim = k_dim
        # IFMAP: col j streams ifmap[m = fr*R + j, t = q - j]  (skewed)
        j0 = max(0, q - t_dim + 1)
        j1 = min(used_r - 1, q)
        for j in range(j0, j1 + 1):
            m = fr * rows + j
            k = q - j
            if kr[k] < rlim[m] and kc[k] < clim[m]:
                if_buf[n_if] = base[m] + koff[k]
                n_if += 1
        # FILTER: col j streams filter[k = q - j, n = fc*C + j]  (skewed)
        j1 = min(used_c - 1, q)
        for j in range(j0, j1 + 1):
            fl_buf[n_fl] = (fc * cols + j) * k_dim + (q - j)
            n_fl += 1
        # OFMAP: (T-1) idle rows, then the R result rows flipped, skewed over the columns
        lo = max(0, q - t_dim - rows + 2)
        hi = min(used_c - 1, q - t_dim + 1 - rows + used_r)
        if hi >= lo:
            n_of = hi - lo + 1
    elif df == WS:
        t_dim = m_dim
        # IFMAP: R idle rows (weight load), then col j streams ifmap[m = q-R-j, k = fr*R + j]
        j0 = max(0, q - rows - t_dim + 1)
        j1 = min(used_r - 1, q - rows)
        for j in range(j0, j1 + 1):
            m = q - rows - j
            k = fr * rows + j
            if kr[k] < rlim[m] and kc[k] < clim[m]:
                if_buf[n_if] = base[m] + koff[k]
                n_if += 1
        # FILTER: R rows of weights, bottom row first, no skew
        if q < rows:
            p = rows - 1 - q
            if p < used_r:
                k = fr * rows + p
                for j in range(used_c):
                    fl_buf[n_fl] = (fc * cols + j) * k_dim + k
                    n_fl += 1
        # OFMAP: (2R-1) idle rows, then T rows, skewed over the columns
        lo = max(0, q - 2 * rows + 2 - t_dim)
        hi = min(used_c - 1, q - 2 * rows + 1)
        if hi >= lo:
            n_of = hi - lo + 1
    else:
        t_dim = n_dim
        # IFMAP: R rows of inputs (flipped), no skew; col j holds m = fc*C + j
        if q < rows:
            p = rows - 1 - q
            if p < used_r:
                k = fr * rows + p
                for j in range(used_c):
                    m = fc * cols + j
                    if kr[k] < rlim[m] and kc[k] < clim[m]:
                        if_buf[n_if] = base[m] + koff[k]
                        n_if += 1
        # FILTER: R idle rows, then col j streams filter[k = fr*R + j, n = q-R-j]  (skewed)
        j0 = max(0, q - rows - t_dim + 1)
        j1 = min(used_r - 1, q - rows)
        for j in range(j0, j1 + 1):
            fl_buf[n_fl] = (q - rows - j) * k_dim + fr * rows + j
            n_fl += 1
        lo = max(0, q - 2 * rows + 2 - t_dim)
        hi = min(used_c - 1, q - 2 * rows + 1)
        if hi >= lo:
            n_of = hi - lo + 1
    return n_if, n_fl, n_of


# ----------------------------------------------------------------------------------------------
# USER-mode read buffer (read_buffer.read_buffer, default layout)
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def _pf_shape(df, opnd, rows, cols, m_dim, n_dim, k_dim):
    """(rows, cols, diagonally_unrolled) of the prefetch matrix of operand 0=ifmap / 1=filter."""
    if df == OS:
        if opnd == 0:
            return _ceil_div(m_dim, rows) * k_dim, rows, True
        return _ceil_div(n_dim, cols) * k_dim, cols, True
    if df == WS:
        if opnd == 0:
            return _ceil_div(k_dim, rows) * m_dim, rows, True
        return _ceil_div(n_dim, cols) * k_dim, cols, False
    if opnd == 0:
        return _ceil_div(m_dim, cols) * k_dim, cols, False
    return _ceil_div(k_dim, rows) * n_dim, rows, True


@njit(cache=True)
def prefetch_matrix(df, opnd, rows, cols, m_dim, n_dim, k_dim, base, rlim, clim, koff, kr, kc):
    """The prefetch matrix of operand 0=ifmap / 1=filter (create_*_prefetch_mat before unrolling).

    Dense indices, -1 for padding. Returns (matrix, diagonally_unrolled).
    """
    pr, pc, unroll = _pf_shape(df, opnd, rows, cols, m_dim, n_dim, k_dim)
    mat = np.full((pr, pc), -1, np.int32)
    if df == OS and opnd == 0:          # per row fold fr: ifmap^T[k, fr*R + c]
        for r in range(pr):
            f = r // k_dim
            k = r - f * k_dim
            for c in range(min(pc, m_dim - f * rows)):
                m = f * rows + c
                if kr[k] < rlim[m] and kc[k] < clim[m]:
                    mat[r, c] = base[m] + koff[k]
    elif df == WS and opnd == 0:        # per row fold fr: ifmap[m, fr*R + c]
        for r in range(pr):
            f = r // m_dim
            m = r - f * m_dim
            for c in range(min(pc, k_dim - f * rows)):
                k = f * rows + c
                if kr[k] < rlim[m] and kc[k] < clim[m]:
                    mat[r, c] = base[m] + koff[k]
    elif df == IS and opnd == 0:        # per col fold fc: ifmap^T[k, fc*C + c]
        for r in range(pr):
            f = r // k_dim
            k = r - f * k_dim
            for c in range(min(pc, m_dim - f * cols)):
                m = f * cols + c
                if kr[k] < rlim[m] and kc[k] < clim[m]:
                    mat[r, c] = base[m] + koff[k]
    elif df == IS:                      # per row fold fr: filter^T[n, fr*R + c]
        for r in range(pr):
            f = r // n_dim
            nn = r - f * n_dim
            for c in range(min(pc, k_dim - f * rows)):
                mat[r, c] = nn * k_dim + f * rows + c
    else:                               # OS / WS filter, per col fold fc: filter[k, fc*C + c]
        for r in range(pr):
            f = r // k_dim
            k = r - f * k_dim
            for c in range(min(pc, n_dim - f * cols)):
                mat[r, c] = (f * cols + c) * k_dim + k
    return mat, unroll


@njit(cache=True)
def _walk_prefetch(mode, mat, unroll, eps, last, cnt, pos, sets):
    """Walk the prefetch sequence in SCALE-Sim's order, hashing valid words into sets of ``eps``.

    The sequence is ``mat`` read row-major, or anti-diagonal by anti-diagonal (each from the
    bottom row up) when ``unroll``. mode 0 counts distinct (word, set) pairs into ``cnt[word + 1]``;
    mode 1 writes the set ids into ``sets`` at ``pos[word]``. Returns the number of valid words.
    """
    pr, pc = mat.shape
    v = 0
    n_diag = pr + pc - 1 if unroll else pr
    for d in range(n_diag):
        if unroll:
            r_hi = min(d, pr - 1)
            r_lo = max(0, d - pc + 1)
        else:
            r_hi = d
            r_lo = d
        for r in range(r_hi, r_lo - 1, -1):
            c_lo = d - r if unroll else 0
            c_hi = d - r + 1 if unroll else pc
            for c in range(c_lo, c_hi):
                a = mat[r, c]
                if a >= 0:
                    sid = v // eps
                    if last[a] != sid:
                        last[a] = sid
                        if mode == 0:
                            cnt[a + 1] += 1
                        else:
                            sets[pos[a]] = sid
                            pos[a] += 1
                    v += 1
    return v


@njit(cache=True)
def build_hashed(df, opnd, rows, cols, m_dim, n_dim, k_dim, base, rlim, clim, koff, kr, kc,
                 footprint, eps):
    """read_buffer.prepare_hashed_buffer(): CSR (indptr, set ids), number of sets, matrix size."""
    mat, unroll = prefetch_matrix(df, opnd, rows, cols, m_dim, n_dim, k_dim,
                                  base, rlim, clim, koff, kr, kc)
    last = np.full(footprint, -1, np.int64)
    cnt = np.zeros(footprint + 1, np.int64)
    dummy = np.zeros(1, np.int32)
    v = _walk_prefetch(0, mat, unroll, eps, last, cnt, cnt, dummy)
    for i in range(footprint):
        cnt[i + 1] += cnt[i]
    sets = np.empty(cnt[footprint], np.int32)
    pos = cnt[:footprint].copy()
    last[:] = -1
    _walk_prefetch(1, mat, unroll, eps, last, cnt, pos, sets)
    return cnt, sets, v // eps + 1, mat.shape[0] * mat.shape[1]


_U_EPS, _U_LINES, _U_NA, _U_NP, _U_S, _U_E, _U_LAST, _U_INIT_LINES, _U_PREFETCHES, _U_LPP, \
    _U_BW, _U_STARTED, _U_ERR, _U_FETCH_ROWS = range(14)
_U_N = 14


@njit(cache=True)
def _user_init(words, bw, num_sets, eps, n_elems):
    """set_params + prepare_hashed_buffer bookkeeping for a USER-mode read buffer."""
    st = np.zeros(_U_N, np.int64)
    active = _ceil_div(words, 2)            # int(ceil(words * 0.5))
    prefetch = words - active
    st[_U_EPS] = eps
    st[_U_LINES] = num_sets
    max_na = _ceil_div(active, eps)
    max_np = _ceil_div(prefetch, eps)
    na = min(num_sets, max_na)
    st[_U_NA] = na
    st[_U_NP] = min(num_sets - na, max_np)
    st[_U_S] = 0
    st[_U_E] = na
    fetch_rows = _ceil_div(n_elems, bw)
    st[_U_FETCH_ROWS] = fetch_rows
    st[_U_INIT_LINES] = min(_ceil_div(active, bw), fetch_rows)
    st[_U_LPP] = _ceil_div(prefetch, bw)
    st[_U_BW] = bw
    return st


@njit(cache=True)
def _user_read(st, indptr, sets, buf, n, cycle):
    """service_reads() for one demand row; returns the serviced cycle."""
    if st[_U_STARTED] == 0:
        # prefetch_active_buffer(start_cycle=cycle): lines land at cycle-L .. cycle-1
        st[_U_STARTED] = 1
        st[_U_LAST] = cycle - 1
    offset = 1                               # hit latency
    for x in range(n):
        a = buf[x]
        lo = indptr[a]
        hi = indptr[a + 1]
        if lo == hi:
            st[_U_ERR] = ERR_ADDR_NOT_PREFETCHED
            return cycle + offset
        guard = 0
        while True:
            # hit test: does one of the word's (sorted) set ids lie in the circular window [s, e)?
            s = st[_U_S]
            e = st[_U_E]
            if s < e:
                l = lo
                h = hi
                while l < h:                 # first set id >= s
                    mid = (l + h) >> 1
                    if sets[mid] < s:
                        l = mid + 1
                    else:
                        h = mid
                if l < hi and sets[l] < e:
                    break
            elif sets[hi - 1] >= s or sets[lo] < e:
                break
            if guard > st[_U_LINES] + 2:
                st[_U_ERR] = ERR_ADDR_NOT_PREFETCHED
                return cycle + offset
            guard += 1
            # new_prefetch(): slide the window, request the next lines back to back
            s = (st[_U_S] + st[_U_NP]) % st[_U_LINES]
            st[_U_S] = s
            st[_U_E] = (s + st[_U_NA]) % st[_U_LINES]
            st[_U_LAST] += st[_U_LPP] + _DRAM_READ_LATENCY
            st[_U_PREFETCHES] += 1
            pot = st[_U_LAST] - (cycle + offset)
            offset += pot                    # SCALE-Sim 3.0.0 adds the potential stall...
            if pot > 0:
                offset += pot                # ...and adds it again when positive
    return cycle + offset


# ----------------------------------------------------------------------------------------------
# OFMAP write buffer (write_buffer.write_buffer)
# ----------------------------------------------------------------------------------------------
_W_TOTAL, _W_ACTIVE, _W_DRAIN, _W_BW, _W_FREE, _W_LINE_IDX, _W_LINES, _W_START_LINE, \
    _W_DRAIN_END, _W_ACCESS, _W_MIN, _W_MAX, _W_DRAINED = range(13)
_W_N = 13


@njit(cache=True)
def _write_init(words, bw):
    st = np.zeros(_W_N, np.int64)
    st[_W_TOTAL] = words
    st[_W_ACTIVE] = _ceil_div(words, 2)
    st[_W_DRAIN] = words - st[_W_ACTIVE]
    st[_W_BW] = bw
    st[_W_FREE] = words
    st[_W_MIN] = np.iinfo(np.int64).max
    st[_W_MAX] = np.iinfo(np.int64).min
    return st


@njit(cache=True)
def _drain(st, ring, start):
    """empty_drain_buf(): drain up to ceil(drain/BW) lines starting at ``start``; returns end cycle."""
    bw = st[_W_BW]
    ltf = _ceil_div(st[_W_DRAIN], bw)
    end = min(st[_W_START_LINE] + ltf, st[_W_LINES])
    k = end - st[_W_START_LINE]
    # only the -1 padding of the chunk's *last* line is discounted (SCALE-Sim)
    data = k * bw - (bw - ring[(end - 1) % ring.shape[0]])
    st[_W_ACCESS] += data
    st[_W_FREE] += data
    st[_W_START_LINE] = end
    st[_W_DRAINED] = 1
    if start < st[_W_MIN]:
        st[_W_MIN] = start
    if start + k - 1 > st[_W_MAX]:
        st[_W_MAX] = start + k - 1
    return start + k - 1


@njit(cache=True)
def _write(st, ring, n, cycle):
    """service_writes() for one demand row carrying ``n`` words; returns the serviced cycle."""
    cur = cycle
    bw = st[_W_BW]
    for _ in range(n):
        st[_W_LINE_IDX] += 1
        st[_W_FREE] -= 1
        if st[_W_LINE_IDX] == bw:       # line complete
            ring[st[_W_LINES] % ring.shape[0]] = bw
            st[_W_LINES] += 1
            st[_W_LINE_IDX] = 0
        if cur < st[_W_DRAIN_END]:
            if st[_W_FREE] <= 0:
                cur = st[_W_DRAIN_END]       # stall until the drain in flight completes
        elif st[_W_FREE] < st[_W_ACTIVE]:
            if st[_W_LINE_IDX] != 0:         # the partially filled line is forced out
                ring[st[_W_LINES] % ring.shape[0]] = st[_W_LINE_IDX]
                st[_W_LINES] += 1
                st[_W_LINE_IDX] = 0
            st[_W_DRAIN_END] = _drain(st, ring, cur)
    return cur


@njit(cache=True)
def _write_finish(st, ring, cycle):
    """empty_all_buffers(cycle)."""
    if st[_W_LINE_IDX] != 0:
        ring[st[_W_LINES] % ring.shape[0]] = st[_W_LINE_IDX]
        st[_W_LINES] += 1
        st[_W_LINE_IDX] = 0
    while st[_W_START_LINE] < st[_W_LINES]:
        st[_W_DRAIN_END] = _drain(st, ring, cycle)
        cycle = st[_W_DRAIN_END] + 1


@njit(cache=True)
def _grow_ring(st, ring, need):
    """Make room for ``need`` more undrained lines (keeps line ids -> slot mapping)."""
    pending = st[_W_LINES] - st[_W_START_LINE]
    size = ring.shape[0]
    if pending + need <= size:
        return ring
    new_size = max(2 * size, pending + need + 16)
    new = np.zeros(new_size, np.int64)
    for line in range(st[_W_START_LINE], st[_W_LINES]):
        new[line % new_size] = ring[line % size]
    return new


# ----------------------------------------------------------------------------------------------
# CALC mode, fast path
# ----------------------------------------------------------------------------------------------
# In CALC mode reads always hit, so the two read buffers never stall and never influence each other
# or the write buffer: the OFMAP write buffer alone decides the stalls (hence the cycle of every demand
# row), and each read buffer is a function of its own address stream plus those cycles. So the layer
# is done in three independent passes: the write pass (only rows that carry OFMAP words), then one
# pass per read operand.
#
# The CALC read buffer is an "epoch" cache: with W = 50 * floor(words/100), the window slides after
# every W insertions, and a word is resident iff it was inserted since the last slide (set id >=
# window start  <=>  insertion index >= W * floor(inserts / W)). So one int32 per word (the epoch of
# its last insertion) is the whole state. A fold whose address set was fully walked earlier in the
# current epoch inserts nothing and cannot slide the window, so it is skipped (e.g. OS filter folds
# repeat the same filter block for every row fold).


@njit(cache=True)
def _stalls_before(ev_row, ev_cum, n_ev, i):
    """Stall cycles accumulated by the write buffer before demand row ``i``."""
    lo = 0
    hi = n_ev
    while lo < hi:
        mid = (lo + hi) >> 1
        if ev_row[mid] < i:
            lo = mid + 1
        else:
            hi = mid
    return ev_cum[lo - 1] if lo > 0 else 0


@njit(cache=True)
def _calc_write_pass(df, rows, cols, t_dim, row_fold, col_fold, per_fold, sr, sc, of_words, of_bw):
    """OFMAP write buffer over the rows carrying OFMAP words.

    Returns (stall event rows, cumulative stalls after each event, number of events, total stalls,
    total cycles, sram of start, sram of stop, write-buffer state) where an event is a row that stalled.
    """
    wr = _write_init(of_words, of_bw)
    ring = np.zeros(max(16, 2 * (of_words // of_bw) + 2 * cols + 16), np.int64)
    ev_row = np.empty(16, np.int64)
    ev_cum = np.empty(16, np.int64)
    n_ev = 0
    stalls = 0
    of_start = NO_CYCLE
    of_stop = NO_CYCLE
    max_of = np.iinfo(np.int64).min
    n_rows = row_fold * col_fold * per_fold
    last_i = -1
    last_out = 0
    for fc in range(col_fold):
        used_c = min(cols, sc - fc * cols)
        for fr in range(row_fold):
            used_r = min(rows, sr - fr * rows)
            f = fc * row_fold + fr
            if df == OS:
                q0 = max(0, t_dim + rows - 1 - used_r)
                q1 = min(per_fold - 1, used_c + t_dim + rows - 3)
            else:
                q0 = max(0, 2 * rows - 1)
                q1 = min(per_fold - 1, used_c + 2 * rows + t_dim - 3)
            for q in range(q0, q1 + 1):
                if df == OS:
                    lo = max(0, q - t_dim - rows + 2)
                    hi = min(used_c - 1, q - t_dim + 1 - rows + used_r)
                else:
                    lo = max(0, q - 2 * rows + 2 - t_dim)
                    hi = min(used_c - 1, q - 2 * rows + 1)
                if hi < lo:
                    continue
                n_of = hi - lo + 1
                i = f * per_fold + q
                cycle = i + stalls
                ring = _grow_ring(wr, ring, n_of + 2)
                of_out = _write(wr, ring, n_of, cycle)
                st = of_out - cycle
                if st > 0:
                    stalls += st
                    if n_ev == ev_row.shape[0]:
                        ev_row = np.concatenate((ev_row, np.empty(n_ev, np.int64)))
                        ev_cum = np.concatenate((ev_cum, np.empty(n_ev, np.int64)))
                    ev_row[n_ev] = i
                    ev_cum[n_ev] = stalls
                    n_ev += 1
                if of_start == NO_CYCLE:
                    of_start = of_out
                of_stop = of_out
                if of_out > max_of:
                    max_of = of_out
                last_i = i
                last_out = of_out
    total = max_of
    if n_rows > 0:
        if last_i != n_rows - 1:
            last_out = n_rows - 1 + stalls      # the last row carries no OFMAP word
        if last_out > total:
            total = last_out
    ring = _grow_ring(wr, ring, 2)
    _write_finish(wr, ring, last_out)
    return ev_row, ev_cum, n_ev, stalls, total, of_start, of_stop, wr


@njit(cache=True)
def _calc_read_pass(opnd, df, rows, cols, m_dim, n_dim, k_dim, row_fold, col_fold, per_fold, sr, sc,
                    base, rlim, clim, koff, kr, kc, words, footprint, ev_row, ev_cum, n_ev):
    """One CALC-mode read buffer (operand 0=ifmap / 1=filter) over the whole layer.

    Returns (sram start, sram stop, dram start, dram stop, dram reads, error).
    """
    items = words // 100
    win = _CALC_SETS_PER_HALF * items        # insertions per window slide (0: never slides)
    ep = np.full(footprint, -1, np.int32)     # epoch of each word's last insertion
    ports = max(rows, cols)
    buf = np.empty(ports, np.int64)
    # folds of the same key read the same address set
    if (opnd == 0 and df != IS) or (opnd == 1 and df == IS):
        keyed = 1                            # key = row fold
        key_ep = np.full(row_fold, -1, np.int64)
    elif opnd == 1 and df == OS:
        keyed = 2                            # key = column fold
        key_ep = np.full(col_fold, -1, np.int64)
    else:
        keyed = 0
        key_ep = np.full(1, -1, np.int64)
    canon = opnd == 0 and df != IS
    kr_max = 0
    kc_max = 0
    for k in range(k_dim):
        kr_max = max(kr_max, kr[k] + 1)
        kc_max = max(kc_max, kc[k] + 1)
    tent = np.empty(win if win > 0 else (footprint if canon else 1), np.int64)
    cur = 0
    cnt = 0
    inserts = 0
    shifts = 0
    first_req = NO_CYCLE
    first_row = -1
    last_start = 0
    last_end = 0
    trace_start = 0
    err = ERR_NONE
    for fc in range(col_fold):
        used_c = min(cols, sc - fc * cols)
        for fr in range(row_fold):
            used_r = min(rows, sr - fr * rows)
            if keyed != 0:
                key = fr if keyed == 1 else fc
                if key_ep[key] == cur:
                    continue                 # every word of this fold is resident: no insertion
                key_ep[key] = cur
            f = fc * row_fold + fr
            if canon and first_row >= 0:
                # Unless the window slides inside this fold, the order of its reads does not matter:
                # walk it operand-major (cheap addressing) and fall back to demand order on a slide.
                c0 = cnt
                ntent = 0
                slid = False
                if df == OS:
                    m0 = fr * rows
                    m1 = m0 + used_r
                    k0 = 0
                    k1 = k_dim
                else:
                    m0 = 0
                    m1 = m_dim
                    k0 = fr * rows
                    k1 = k0 + used_r
                for m in range(m0, m1):
                    b = base[m]
                    if rlim[m] >= kr_max and clim[m] >= kc_max:
                        for k in range(k0, k1):
                            a = b + koff[k]
                            if ep[a] != cur:
                                ep[a] = cur
                                tent[ntent] = a
                                ntent += 1
                                cnt += 1
                                if cnt == win:
                                    slid = True
                                    break
                    else:
                        for k in range(k0, k1):
                            if kr[k] < rlim[m] and kc[k] < clim[m]:
                                a = b + koff[k]
                                if ep[a] != cur:
                                    ep[a] = cur
                                    tent[ntent] = a
                                    ntent += 1
                                    cnt += 1
                                    if cnt == win:
                                        slid = True
                                        break
                    if slid:
                        break
                if not slid:
                    inserts += ntent
                    continue
                for x in range(ntent):         # undo, then replay the fold in demand order
                    ep[tent[x]] = -1
                cnt = c0
            for q in range(per_fold):
                n = 0
                if opnd == 0:
                    if df == OS:
                        j0 = max(0, q - k_dim + 1)
                        j1 = min(used_r - 1, q)
                        for j in range(j0, j1 + 1):
                            m = fr * rows + j
                            k = q - j
                            if kr[k] < rlim[m] and kc[k] < clim[m]:
                                buf[n] = base[m] + koff[k]
                                n += 1
                    elif df == WS:
                        j0 = max(0, q - rows - m_dim + 1)
                        j1 = min(used_r - 1, q - rows)
                        for j in range(j0, j1 + 1):
                            m = q - rows - j
                            k = fr * rows + j
                            if kr[k] < rlim[m] and kc[k] < clim[m]:
                                buf[n] = base[m] + koff[k]
                                n += 1
                    else:
                        if q < rows:
                            p = rows - 1 - q
                            if p < used_r:
                                k = fr * rows + p
                                for j in range(used_c):
                                    m = fc * cols + j
                                    if kr[k] < rlim[m] and kc[k] < clim[m]:
                                        buf[n] = base[m] + koff[k]
                                        n += 1
                else:
                    if df == OS:
                        j0 = max(0, q - k_dim + 1)
                        j1 = min(used_c - 1, q)
                        for j in range(j0, j1 + 1):
                            buf[n] = (fc * cols + j) * k_dim + (q - j)
                            n += 1
                    elif df == WS:
                        if q < rows:
                            p = rows - 1 - q
                            if p < used_r:
                                k = fr * rows + p
                                for j in range(used_c):
                                    buf[n] = (fc * cols + j) * k_dim + k
                                    n += 1
                    else:
                        j0 = max(0, q - rows - n_dim + 1)
                        j1 = min(used_r - 1, q - rows)
                        for j in range(j0, j1 + 1):
                            buf[n] = (q - rows - j) * k_dim + fr * rows + j
                            n += 1
                if n == 0:
                    continue
                if first_row < 0:
                    first_row = f * per_fold + q
                    first_req = first_row + _stalls_before(ev_row, ev_cum, n_ev, first_row)
                for x in range(n):
                    a = buf[x]
                    if ep[a] == cur:
                        continue
                    ep[a] = cur
                    inserts += 1
                    cnt += 1
                    if cnt == win:
                        cnt = 0
                        cur += 1
                        i = f * per_fold + q
                        cycle = i + _stalls_before(ev_row, ev_cum, n_ev, i)
                        if shifts == 0:
                            end = first_req - 1 - _DRAM_READ_LATENCY
                            ncyc = _ceil_div(_CALC_SETS_PER_HALF * items, _CALC_DEFAULT_BW)
                            trace_start = end - ncyc + 1 + _DRAM_READ_LATENCY
                            last_start = end + 1
                        else:
                            if last_end - last_start + 1 <= 0:
                                err = ERR_ZERO_PREFETCH_WINDOW
                            last_start = last_end + 1
                        last_end = cycle
                        shifts += 1

    # SRAM stop: the last row reading this operand (folds may have been skipped, so look it up)
    sram_start = NO_CYCLE
    sram_stop = NO_CYCLE
    if first_row >= 0:
        sram_start = first_req + 1
        if_buf = np.empty(ports, np.int64)
        fl_buf = np.empty(ports, np.int64)
        i = row_fold * col_fold * per_fold - 1
        while i >= first_row:
            f = i // per_fold
            q = i - f * per_fold
            fc = f // row_fold
            fr = f - fc * row_fold
            n_if, n_fl, _ = _fill_row(df, rows, cols, m_dim, n_dim, k_dim,
                                      min(rows, sr - fr * rows), min(cols, sc - fc * cols),
                                      fr, fc, q, base, rlim, clim, koff, kr, kc, if_buf, fl_buf)
            if (n_if if opnd == 0 else n_fl) > 0:
                sram_stop = i + _stalls_before(ev_row, ev_cum, n_ev, i) + 1
                break
            i -= 1

    # complete_all_prefetches()
    if items > 0:
        cur_set = inserts // items
        elems = inserts - cur_set * items
    else:
        cur_set = 0
        elems = inserts
    last_set_id = cur_set if elems > 0 else cur_set - 1
    if shifts == 0:
        n_sets = last_set_id + 1
        ncyc = _ceil_div(n_sets * items, _CALC_DEFAULT_BW)
        if ncyc <= 0:
            return sram_start, sram_stop, NO_CYCLE, NO_CYCLE, 0, ERR_NO_REQUESTS
        end = -1 - _DRAM_READ_LATENCY
        start = end - ncyc + 1
        return (sram_start, sram_stop, start + _DRAM_READ_LATENCY, end + _DRAM_READ_LATENCY,
                inserts, err)
    if last_end - last_start + 1 <= 0:
        err = ERR_ZERO_PREFETCH_WINDOW
    return sram_start, sram_stop, trace_start, last_end + _DRAM_READ_LATENCY, inserts, err


@njit(cache=True)
def _simulate_calc(df, rows, cols, m_dim, n_dim, k_dim, sr, sc, t_dim, row_fold, col_fold, per_fold,
                   base, rlim, clim, koff, kr, kc, if_foot, fl_foot, if_words, fl_words, of_words,
                   of_bw):
    res = np.zeros(N_RES, np.int64)
    ev_row, ev_cum, n_ev, stalls, total, of_start, of_stop, wr = _calc_write_pass(
        df, rows, cols, t_dim, row_fold, col_fold, per_fold, sr, sc, of_words, of_bw)
    err = ERR_NONE
    for opnd in range(2):
        foot = if_foot if opnd == 0 else fl_foot
        words = if_words if opnd == 0 else fl_words
        s0, s1, d0, d1, dn, e = _calc_read_pass(opnd, df, rows, cols, m_dim, n_dim, k_dim, row_fold,
                                                col_fold, per_fold, sr, sc, base, rlim, clim, koff, kr,
                                                kc, words, foot, ev_row, ev_cum, n_ev)
        o = 3 * opnd
        res[RES_SRAM_IF_START + 2 * opnd] = s0
        res[RES_SRAM_IF_STOP + 2 * opnd] = s1
        res[RES_DRAM_IF_START + o] = d0
        res[RES_DRAM_IF_STOP + o] = d1
        res[RES_DRAM_IF_COUNT + o] = dn
        if e != 0:
            err = e
    res[RES_SRAM_OF_START] = of_start
    res[RES_SRAM_OF_STOP] = of_stop
    if wr[_W_DRAINED] == 0:
        err = ERR_NO_OFMAP
    res[RES_DRAM_OF_START] = wr[_W_MIN]
    res[RES_DRAM_OF_STOP] = wr[_W_MAX]
    res[RES_DRAM_OF_COUNT] = wr[_W_ACCESS]
    res[RES_TOTAL_CYCLES] = total
    res[RES_STALL_CYCLES] = stalls
    res[RES_ROWS] = row_fold * col_fold * per_fold
    res[RES_ERROR] = err
    return res


# ----------------------------------------------------------------------------------------------
# Whole layer
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def simulate_memory(df, rows, cols, h, w, fh, fw, ch, nf, stride,
                    user_mode, if_words, fl_words, of_words, if_bw, fl_bw, of_bw):
    """Run SCALE-Sim's double_buffered_scratchpad.service_memory_requests for one conv layer.

    ``df``: OS/WS/IS; ``rows`` x ``cols`` array; layer H, W, R, S, C, filters, stride (no padding);
    SRAM sizes in words; ``*_bw`` are the DRAM line widths (words/cycle): CALC uses 10/10/cols, USER
    the IfmapSRAMBankBandwidth / FilterSRAMBankBandwidth / Bandwidth[0]. Returns the result vector
    (``RES_*`` indices).
    """
    oh = (h - fh + stride + stride - 1) // stride
    ow = (w - fw + stride + stride - 1) // stride
    m_dim = oh * ow
    n_dim = nf
    k_dim = fh * fw * ch
    base, rlim, clim, koff, kr, kc = ifmap_tables(h, w, fh, fw, ch, stride, oh, ow)
    if_foot = h * w * ch
    fl_foot = n_dim * k_dim

    if df == OS:
        sr, sc, t_dim = m_dim, n_dim, k_dim
        per_fold = t_dim + rows + cols - 2
    elif df == WS:
        sr, sc, t_dim = k_dim, n_dim, m_dim
        per_fold = 2 * rows + cols + t_dim - 2
    else:
        sr, sc, t_dim = k_dim, m_dim, n_dim
        per_fold = 2 * rows + cols + t_dim - 2
    row_fold = _ceil_div(sr, rows)
    col_fold = _ceil_div(sc, cols)
    if not user_mode:
        return _simulate_calc(df, rows, cols, m_dim, n_dim, k_dim, sr, sc, t_dim, row_fold, col_fold,
                              per_fold, base, rlim, clim, koff, kr, kc, if_foot, fl_foot,
                              if_words, fl_words, of_words, of_bw)

    ports = max(rows, cols)
    if_buf = np.empty(ports, np.int64)
    fl_buf = np.empty(ports, np.int64)

    # USER-mode read buffers
    if_eps = _ceil_div(if_words, 100)
    fl_eps = _ceil_div(fl_words, 100)
    if_ptr, if_sets, if_nsets, if_elems = build_hashed(df, 0, rows, cols, m_dim, n_dim, k_dim,
                                                       base, rlim, clim, koff, kr, kc,
                                                       if_foot, if_eps)
    fl_ptr, fl_sets, fl_nsets, fl_elems = build_hashed(df, 1, rows, cols, m_dim, n_dim, k_dim,
                                                       base, rlim, clim, koff, kr, kc,
                                                       fl_foot, fl_eps)
    if_st = _user_init(if_words, if_bw, if_nsets, if_eps, if_elems)
    fl_st = _user_init(fl_words, fl_bw, fl_nsets, fl_eps, fl_elems)

    wr = _write_init(of_words, of_bw)
    ring = np.zeros(max(16, 2 * (of_words // of_bw) + 2 * cols + 16), np.int64)

    res = np.zeros(N_RES, np.int64)
    for i in range(RES_SRAM_IF_START, RES_SRAM_OF_STOP + 1):
        res[i] = NO_CYCLE
    stalls = 0
    total = np.iinfo(np.int64).min
    last_of_out = 0
    i = 0
    for fc in range(col_fold):
        used_c = min(cols, sc - fc * cols)
        for fr in range(row_fold):
            used_r = min(rows, sr - fr * rows)
            for q in range(per_fold):
                cycle = i + stalls
                n_if, n_fl, n_of = _fill_row(df, rows, cols, m_dim, n_dim, k_dim, used_r, used_c,
                                             fr, fc, q, base, rlim, clim, koff, kr, kc,
                                             if_buf, fl_buf)
                if_out = _user_read(if_st, if_ptr, if_sets, if_buf, n_if, cycle)
                fl_out = _user_read(fl_st, fl_ptr, fl_sets, fl_buf, n_fl, cycle)
                ring = _grow_ring(wr, ring, n_of + 2)
                of_out = _write(wr, ring, n_of, cycle)

                st = max(if_out - cycle - 1, fl_out - cycle - 1, of_out - cycle)
                stalls += st
                if n_if > 0:
                    if res[RES_SRAM_IF_START] == NO_CYCLE:
                        res[RES_SRAM_IF_START] = if_out
                    res[RES_SRAM_IF_STOP] = if_out
                if n_fl > 0:
                    if res[RES_SRAM_FL_START] == NO_CYCLE:
                        res[RES_SRAM_FL_START] = fl_out
                    res[RES_SRAM_FL_STOP] = fl_out
                if n_of > 0:
                    if res[RES_SRAM_OF_START] == NO_CYCLE:
                        res[RES_SRAM_OF_START] = of_out
                    res[RES_SRAM_OF_STOP] = of_out
                if of_out > total:
                    total = of_out
                last_of_out = of_out
                i += 1

    err = ERR_NONE
    for ust in (if_st, fl_st):
        if ust[_U_ERR] != 0:
            err = ust[_U_ERR]
    res[RES_DRAM_IF_START] = -if_st[_U_INIT_LINES]
    res[RES_DRAM_IF_STOP] = if_st[_U_LAST]
    res[RES_DRAM_IF_COUNT] = (if_st[_U_INIT_LINES] + if_st[_U_PREFETCHES] * if_st[_U_LPP]) * if_bw
    res[RES_DRAM_FL_START] = -fl_st[_U_INIT_LINES]
    res[RES_DRAM_FL_STOP] = fl_st[_U_LAST]
    res[RES_DRAM_FL_COUNT] = (fl_st[_U_INIT_LINES] + fl_st[_U_PREFETCHES] * fl_st[_U_LPP]) * fl_bw

    ring = _grow_ring(wr, ring, 2)
    _write_finish(wr, ring, last_of_out)
    if wr[_W_DRAINED] == 0:
        err = ERR_NO_OFMAP
    res[RES_DRAM_OF_START] = wr[_W_MIN]
    res[RES_DRAM_OF_STOP] = wr[_W_MAX]
    res[RES_DRAM_OF_COUNT] = wr[_W_ACCESS]

    res[RES_TOTAL_CYCLES] = total
    res[RES_STALL_CYCLES] = stalls
    res[RES_ROWS] = i
    res[RES_ERROR] = err
    return res

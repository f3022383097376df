"""Cycle-level DRAM controller + device timing core (Numba).

A pure function on arrays: requests in (arrival cycle, decoded address, read/write), completion
cycles and statistics out. The controller follows DRAMsim3's JEDEC controller (the validation
peer) cycle by cycle:

* per channel, a read queue and a write buffer (``trans_queue_size`` each) feed per-bank command
  queues (``cmd_queue_size``); at most one transaction moves per channel per cycle;
* writes drain when the write buffer is full, or holds more than ``write_drain_low`` while every
  command queue is empty, until that many writes have moved (a read to the same address stops it);
* command selection is FR-FCFS over the bank queues in round-robin order: the first ready command
  of the first queue that has one; a conflicting precharge is only issued by the head of its queue
  and only when no later row hit is pending or ``row_hit_cap`` hits were served since the ACT;
* open page (RD/WR) or closed page (RDA/WRA); one command per cycle, or one row + one column
  command per cycle with ``dual_issue`` (HBM);
* all-bank refresh: every ``tREFI / ranks`` cycles the next rank is due; its bank queues stop,
  its open banks are precharged one by one, then REF issues;
* every timing rule comes from the constraint table ``cons`` (prev, row, level, cycles): issuing
  ``prev`` raises the earliest issue cycle held in bound row ``row`` in every bank the level covers
  (commands with identical rules share a row: ``p[P_BOUND_ROW + cmd]``); rolling
  windows (tFAW) come from ``wins`` (window, cycles) on ACTs per rank, folded into the rank's ACT bound at each ACT.

The frontend is DRAMsim3's trace CPU generalised to ``issue_width``: each cycle, after the
controllers tick, up to ``issue_width`` requests are offered in order once released; a refused
request (its channel's queue full) blocks all later ones.

Times are memory-clock cycles. ``done[i]`` is the cycle read data returns (issue + read_delay)
or the cycle a write's WR command issued (-1: merged into an earlier write or never drained);
``accept[i]`` is the frontend cycle the controller took the request (its latency clock starts
the next cycle, as in DRAMsim3).

Entry points: ``simulate_requests`` (any channel count) and ``simulate_requests_one_channel`` (standards
with one channel), the same source compiled twice (``_simulate_requests_for``).
"""
from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from archsim.kernels.dram_codes import (
    ACT, PRE, RD, WR, RDA, WRA, REF, NCMD, L_BANK, L_BANKGROUP, L_RANK, L_OTHER_RANKS, L_CHANNEL, P_CHANNELS,
    P_RANKS, P_BANKGROUPS, P_BANKS_PER_GROUP, P_CMDQ, P_TRANSQ, P_ROW_HIT_CAP, P_DRAIN_LOW, P_CLOSED_PAGE,
    P_REFRESH_INTERVAL, P_DUAL_ISSUE, P_READ_DELAY, P_ISSUE_WIDTH, P_FLUSH_WRITES, P_MAX_CYCLES, P_LOG_CAP,
    P_BOUND_ROW, S_RD_HIT, S_WR_HIT, S_ONDEMAND_PRE, S_READ_FORWARDED, S_READ_MERGED, S_WRITE_MERGED,
    S_STALLED, N_STATS, STALL_CYCLES, ADDR_HASH_BITS, ADDR_HASH_MUL, PEND_RD, PEND_WR, B_ACT, B_RD, B_WR,
    B_OPEN_CYCLES,
)


def decode_addresses(addr, shift_bits, pos, width):
    """Address fields of every request in one pass: row ``f`` of the result is ``(addr >> shift_bits >> pos[f])
    & (2**width[f] - 1)``."""
    n = addr.shape[0]
    out = np.empty((pos.shape[0], n), np.int64)
    masks = (np.int64(1) << width) - 1
    for i in range(n):
        a = addr[i] >> shift_bits
        for f in range(pos.shape[0]):
            out[f, i] = (a >> pos[f]) & masks[f]
    return out


@njit
def _address_hash(a):
    """The pending-address filter's slot of byte address ``a`` (Fibonacci hashing to ADDR_HASH_BITS bits)."""
    return np.int64((np.uint64(a) * np.uint64(ADDR_HASH_MUL)) >> np.uint64(64 - ADDR_HASH_BITS))


def _simulate_requests_for(one_channel):
    """The controller/device model, compiled as two functions from this one source: with ``one_channel`` the
    channel index is the constant 0, so the per-channel array address arithmetic that every channel visit
    otherwise redoes folds away (15-40% faster on single-channel DDR4/LPDDR4 parts)."""

    def simulate_requests(release, is_write, addr, req_ch, req_bank, req_row, req_col, p, cons, wins):
        """Run the controller/device model over a request stream.

        Parameters: ``release`` (int64, cycle each request may be offered, non-decreasing order is not
        required but requests are offered strictly in array order), ``is_write`` (bool), ``addr`` (int64,
        byte address; equal addresses merge/forward as in DRAMsim3), decoded ``req_ch``/``req_bank``
        (bank index within the channel: (rank*bankgroups + bg)*banks_per_group + bank)/``req_row``/
        ``req_col``; ``p`` the int64 parameter vector (``P_*``); ``cons`` int64[k, 4] constraint rows
        (prev, bound row, level, cycles) sorted by prev; ``wins`` int64[m, 2] ACT windows (size, cycles).

        Returns ``(done, accept, counts, stats, bank_stats, end_cycle, cmd_log)``: per-request
        completion and accept cycles, per-channel command counts [ch, cmd], per-channel statistics
        [ch, S_*], per-bank statistics [ch, bank, B_*], the cycle the run stopped at, and the first
        ``p[P_LOG_CAP]`` issued commands as rows (cycle, channel, bank, command, request or -1).
        """
        n = release.shape[0]
        if one_channel and p[P_CHANNELS] != 1:
            raise ValueError("simulate_requests_one_channel: the standard has more than one channel")
        nch = 1 if one_channel else p[P_CHANNELS]
        ranks = p[P_RANKS]
        bpg = p[P_BANKS_PER_GROUP]
        bpr = p[P_BANKGROUPS] * bpg
        nb = ranks * bpr
        C = p[P_CMDQ]
        Q = p[P_TRANSQ]
        cap = p[P_ROW_HIT_CAP]
        drain_low = p[P_DRAIN_LOW]
        closed = p[P_CLOSED_PAGE] != 0
        ref_interval = p[P_REFRESH_INTERVAL]
        dual = p[P_DUAL_ISSUE] != 0
        width = p[P_ISSUE_WIDTH]
        flush = p[P_FLUSH_WRITES] != 0
        max_cycles = p[P_MAX_CYCLES]
        read_delay = p[P_READ_DELAY]
        log_cap = p[P_LOG_CAP]
        brow = p[P_BOUND_ROW:P_BOUND_ROW + NCMD]  # commands with identical rules share a row of bounds
        b_act, b_pre, b_ref = brow[ACT], brow[PRE], brow[REF]
        # the one read and one write command the queues hold (open page: RD, WR; closed page: RDA, WRA)
        rd_t = RDA if closed else RD
        wr_t = WRA if closed else WR
        b_rd, b_wr = brow[rd_t], brow[wr_t]
        cmd_log = np.zeros((log_cap, 5), np.int64)  # (cycle, channel, bank, command, request)
        n_log = 0

        # constraint rows grouped by prev command
        cons_start = np.zeros(NCMD, np.int64)
        cons_end = np.zeros(NCMD, np.int64)
        for c in range(NCMD):
            cons_start[c] = cons.shape[0]
        for k in range(cons.shape[0]):
            c = cons[k, 0]
            if k < cons_start[c]:
                cons_start[c] = k
            cons_end[c] = k + 1
        for c in range(NCMD):
            if cons_end[c] < cons_start[c]:
                cons_end[c] = cons_start[c]

        done = np.full(n, -1, np.int64)
        accept = np.full(n, -1, np.int64)
        follow = np.full(n, -1, np.int64)
        counts = np.zeros((nch, NCMD), np.int64)
        stats = np.zeros((nch, N_STATS), np.int64)
        bank_stats = np.zeros((nch, nb, 4), np.int64)

        rq = np.zeros((nch, Q), np.int64)
        rq_len = np.zeros(nch, np.int64)
        wq = np.zeros((nch, Q), np.int64)
        wq_len = np.zeros(nch, np.int64)
        cq = np.zeros((nch, nb, C), np.int64)
        cq_type = np.zeros((nch, nb, C), np.int64)
        cq_row = np.zeros((nch, nb, C), np.int64)  # the row of each queued command (saves a dependent load)
        hits_rd = np.zeros((nch, nb), np.int64)  # queued reads / writes that hit the open row
        hits_wr = np.zeros((nch, nb), np.int64)
        head_row = np.zeros((nch, nb), np.int64)  # the row of each queue's oldest command (= cq_row[ch, x, 0])
        cq_len = np.zeros((nch, nb), np.int64)
        cq_total = np.zeros(nch, np.int64)
        pending = np.zeros((nch, 1 << ADDR_HASH_BITS, 2), np.int32)  # [channel, address hash, PEND_*]
        open_row = np.full((nch, nb), -1, np.int64)
        hit_cnt = np.zeros((nch, nb), np.int64)
        act_conflict = np.zeros((nch, nb), np.bool_)
        open_since = np.zeros((nch, nb), np.int64)
        earliest = np.zeros((nch, NCMD, nb), np.int64)  # [channel, command, bank]: banks contiguous
        nw = wins.shape[0]
        wmax = 1
        for w in range(nw):
            if wins[w, 0] > wmax:
                wmax = wins[w, 0]
        ring = np.zeros((nch, ranks, max(nw, 1), wmax), np.int64)
        ring_cnt = np.zeros((nch, ranks, max(nw, 1)), np.int64)
        ring_pos = np.zeros((nch, ranks, max(nw, 1)), np.int64)
        qidx = np.zeros(nch, np.int64)
        due_ch = np.zeros(nch, np.int64)
        # a scan's candidate queues (occupied, bank_wake passed): bit q % 64 of word q // 64
        n_words = (nb + 63) // 64
        never = np.int64(1) << 62
        bank_wake = np.zeros((nch, nb), np.int64)  # no command of this bank queue can be ready before this cycle
        cand = np.zeros(n_words, np.int64)
        draining = np.zeros(nch, np.int64)
        wake = np.zeros(nch, np.int64)          # no command can be ready before this cycle
        # read queue / write buffer entries per bank, and how many entries have a bank whose command queue has
        # room: a move scan finds a transaction to move (or a hazard) iff that count is nonzero
        rq_in_bank = np.zeros((nch, nb), np.int64)
        wq_in_bank = np.zeros((nch, nb), np.int64)
        rq_room = np.zeros(nch, np.int64)
        wq_room = np.zeros(nch, np.int64)
        next_visit = np.zeros(nch, np.int64)    # no cycle before this can change the channel (see its body's end)
        raw_hold = np.zeros(nch, np.bool_)       # a drain just stopped at a read-after-write hazard
        last_progress = 0
        # refresh: FIFO of ranks due, per channel
        RF = 64
        ref_q = np.zeros((nch, RF), np.int64)
        ref_head = np.zeros(nch, np.int64)
        ref_len = np.zeros(nch, np.int64)
        in_ref = np.zeros(nch, np.bool_)
        ref_rank = np.full(nch, -1, np.int64)
        next_rank = np.zeros(nch, np.int64)

        next_ref = ref_interval if ref_interval > 0 else never  # the next cycle a rank becomes due
        nxt = 0
        t = 0
        while True:
            # ---------------- controllers ----------------
            ref_due = t == next_ref  # (t never passes next_ref unvisited: the idle skip stops there)
            if ref_due:
                next_ref += ref_interval
            # the channels due this cycle, listed without a branch per channel: a channel with nothing due (no
            # refresh, no command can be ready, no transaction to move and no write drain to start) is skipped, its
            # body would change nothing
            n_due = 0
            for c in range(nch):
                due_ch[n_due] = c
                n_due += 1 if ref_due or next_visit[c] <= t else 0
            for i_due in range(n_due):
                ch = 0 if one_channel else due_ch[i_due]
                if ref_due:
                    if ref_len[ch] < RF:
                        ref_q[ch, (ref_head[ch] + ref_len[ch]) % RF] = next_rank[ch]
                        ref_len[ch] += 1
                    next_rank[ch] = (next_rank[ch] + 1) % ranks
                first = -1
                # Slot 0: one command; slot 1 (dual issue): one more of the other kind (row vs column).
                # Everything is written inline in this one function: calls that pass arrays cost atomic
                # reference-count updates per array per call, which dominated the run time.
                for slot in range(2):
                    if slot == 1 and not (dual and first >= 0):
                        break
                    b = -1
                    cmd = -1
                    entry = -1
                    ondemand = False
                    # ---- a due refresh first: precharge its rank's open banks, then REF ----
                    if slot == 0 and ref_len[ch] > 0:
                        r = ref_q[ch, ref_head[ch]]
                        in_ref[ch] = True
                        ref_rank[ch] = r
                        nready = 0
                        for x in range(r * bpr, (r + 1) * bpr):
                            if open_row[ch, x] >= 0:
                                if t >= earliest[ch, b_pre, x]:
                                    b = x
                                    cmd = PRE
                                    break
                            elif t >= earliest[ch, b_ref, x]:
                                nready += 1
                        if cmd < 0 and nready == bpr:
                            b = r * bpr
                            cmd = REF
                    # ---- FR-FCFS over the bank queues, round robin ----
                    if cmd < 0 and cq_total[ch] > 0 and (slot == 1 or t >= wake[ch]):
                        # candidates: occupied queues whose bank_wake has passed (the others' earliest bound
                        # goes to best); they are visited in round-robin order after qidx, and the one a
                        # command is taken from becomes qidx (a scan that finds nothing leaves it as it was)
                        best = never
                        for wd in range(n_words):
                            m = np.int64(0)
                            lo = np.uint64(wd * 64)
                            # unsigned bank index: no negative-index wrap, so the loop vectorises with plain loads
                            for x in range(lo, np.uint64(min(nb, wd * 64 + 64))):
                                wv = bank_wake[ch, x]
                                if cq_len[ch, x] > 0:
                                    if wv <= t:
                                        m |= np.int64(1) << np.int64(x - lo)
                                    elif wv < best:
                                        best = wv
                            cand[wd] = m
                        pos = qidx[ch] + 1
                        if pos == nb:
                            pos = 0
                        left = nb
                        while left > 0:
                            off = pos & 63
                            span = min(64 - off, nb - pos, left)
                            bits = cand[pos >> 6] >> off
                            if span < 64:
                                bits &= (np.int64(1) << span) - 1
                            if bits == 0:
                                left -= span
                                pos += span
                                if pos == nb:
                                    pos = 0
                                continue
                            z = trailing_zeros(bits)
                            q = pos + z
                            left -= z + 1
                            pos = q + 1
                            if pos == nb:
                                pos = 0
                            n_q = cq_len[ch, q]
                            orow = open_row[ch, q]
                            if in_ref[ch] and q // bpr == ref_rank[ch]:
                                # its rank is refreshing: skipped; its timing bound still counts for wake
                                if orow < 0:
                                    wv = earliest[ch, b_act, q]
                                else:
                                    wv = never
                                    for i in range(n_q):
                                        if cq_row[ch, q, i] == orow:
                                            v = earliest[ch, brow[cq_type[ch, q, i]], q]
                                        elif i == 0:
                                            v = earliest[ch, b_pre, q]
                                        else:
                                            continue
                                        if v < wv:
                                            wv = v
                                if wv < best:
                                    best = wv
                                continue
                            if orow < 0:
                                # every entry needs the same ACT: ready for the oldest iff ready at all
                                wv = earliest[ch, b_act, q]
                                if t < wv:
                                    bank_wake[ch, q] = wv
                                    if wv < best:
                                        best = wv
                                    continue
                                b = q
                                cmd = ACT
                                entry = 0
                                qidx[ch] = q
                                break
                            # the first ready entry; else the earliest cycle one could be ready by timing alone
                            # (a write waiting for a read, or a precharge held back for pending row hits, waits
                            # for a command of this bank; every issue resets the bounds to the timing bounds)
                            # by timing alone: the earliest any queued row hit, or the head's precharge, could go
                            bound = earliest[ch, b_rd, q] if hits_rd[ch, q] > 0 else never
                            if hits_wr[ch, q] > 0 and earliest[ch, b_wr, q] < bound:
                                bound = earliest[ch, b_wr, q]
                            if head_row[ch, q] != orow and earliest[ch, b_pre, q] < bound:
                                bound = earliest[ch, b_pre, q]
                            if t < bound:
                                bank_wake[ch, q] = bound
                                if bound < best:
                                    best = bound
                                continue
                            bound = never
                            for i in range(n_q):
                                req = cq[ch, q, i]
                                typ = cq_type[ch, q, i]
                                if orow == cq_row[ch, q, i]:
                                    e = earliest[ch, brow[typ], q]
                                    if t < e:
                                        if e < bound:
                                            bound = e
                                        continue
                                    if typ == WR or typ == WRA:
                                        # write-after-read to the same column waits for the read
                                        dep = False
                                        for j in range(i):
                                            tj = cq_type[ch, q, j]
                                            rj = cq[ch, q, j]
                                            if ((tj == RD or tj == RDA) and cq_row[ch, q, j] == orow
                                                    and req_col[rj] == req_col[req]):
                                                dep = True
                                                break
                                        if dep:
                                            continue
                                    b = q
                                    cmd = typ
                                    entry = i
                                    break
                                else:
                                    # only the oldest command of a bank may close its row, and only when no
                                    # later row hit is pending or row_hit_cap hits were served already
                                    if i != 0:
                                        continue
                                    e = earliest[ch, b_pre, q]
                                    if t < e:
                                        if e < bound:
                                            bound = e
                                        continue
                                    pending_hit = False
                                    for j in range(n_q):
                                        if cq_row[ch, q, j] == orow:
                                            pending_hit = True
                                            break
                                    if pending_hit and hit_cnt[ch, q] < cap:
                                        continue
                                    b = q
                                    cmd = PRE
                                    ondemand = True
                                    break
                            if cmd >= 0:
                                qidx[ch] = q
                                break
                            bank_wake[ch, q] = bound
                            if bound < best:
                                best = bound
                        if cmd < 0:
                            # nothing ready (slot 1: after this cycle's first command): no queued command can be
                            # ready before the earliest bank bound unless a command issues (the bounds are then
                            # recomputed) or is enqueued (lowers it)
                            wake[ch] = best if best > t else t + 1
                    if cmd < 0:
                        break
                    is_col = cmd == RD or cmd == WR or cmd == RDA or cmd == WRA
                    if slot == 1:
                        first_col = first == RD or first == WR or first == RDA or first == WRA
                        if is_col == first_col:
                            break
                    # ---------------- issue ----------------
                    counts[ch, cmd] += 1
                    bank_wake[ch, b] = 0
                    if n_log < log_cap:
                        cmd_log[n_log, 0] = t
                        cmd_log[n_log, 1] = ch
                        cmd_log[n_log, 2] = b
                        cmd_log[n_log, 3] = cmd
                        cmd_log[n_log, 4] = cq[ch, b, entry] if entry >= 0 else -1
                        n_log += 1
                    if is_col:
                        last_progress = t
                        req = cq[ch, b, entry]
                        is_rd = cmd == RD or cmd == RDA
                        base = S_RD_HIT if is_rd else S_WR_HIT
                        if hit_cnt[ch, b] != 0:
                            stats[ch, base] += 1
                        elif act_conflict[ch, b]:
                            stats[ch, base + 2] += 1
                        else:
                            stats[ch, base + 1] += 1
                        pending[ch, _address_hash(addr[req]), PEND_RD if is_rd else PEND_WR] -= 1
                        if is_rd:
                            bank_stats[ch, b, B_RD] += 1
                            when = t + read_delay
                            r = req
                            while r >= 0:
                                done[r] = when
                                r = follow[r]
                        else:
                            bank_stats[ch, b, B_WR] += 1
                            done[req] = t
                        n_q = cq_len[ch, b]
                        if n_q == C:  # the bank's queue has room again
                            rq_room[ch] += rq_in_bank[ch, b]
                            wq_room[ch] += wq_in_bank[ch, b]
                        for j in range(entry, n_q - 1):
                            cq[ch, b, j] = cq[ch, b, j + 1]
                            cq_type[ch, b, j] = cq_type[ch, b, j + 1]
                            cq_row[ch, b, j] = cq_row[ch, b, j + 1]
                        cq_len[ch, b] = n_q - 1
                        cq_total[ch] -= 1
                        head_row[ch, b] = cq_row[ch, b, 0]
                        if is_rd:
                            hits_rd[ch, b] -= 1
                        else:
                            hits_wr[ch, b] -= 1
                        if cmd == RD or cmd == WR:
                            hit_cnt[ch, b] += 1
                        else:
                            bank_stats[ch, b, B_OPEN_CYCLES] += t - open_since[ch, b]
                            open_row[ch, b] = -1
                            hits_rd[ch, b] = 0
                            hits_wr[ch, b] = 0
                            hit_cnt[ch, b] = 0
                            act_conflict[ch, b] = False
                    elif cmd == ACT:
                        req = cq[ch, b, entry]
                        open_row[ch, b] = req_row[req]
                        hit_cnt[ch, b] = 0
                        for j in range(cq_len[ch, b]):
                            if cq_row[ch, b, j] == open_row[ch, b]:
                                if cq_type[ch, b, j] == rd_t:
                                    hits_rd[ch, b] += 1
                                else:
                                    hits_wr[ch, b] += 1
                        open_since[ch, b] = t
                        bank_stats[ch, b, B_ACT] += 1
                        rank = b // bpr
                        for w in range(nw):
                            size = wins[w, 0]
                            pos = ring_pos[ch, rank, w]
                            ring[ch, rank, w, pos] = t
                            pos += 1
                            if pos == size:
                                pos = 0
                            ring_pos[ch, rank, w] = pos
                            if ring_cnt[ch, rank, w] < size:
                                ring_cnt[ch, rank, w] += 1
                            if ring_cnt[ch, rank, w] == size:
                                # a full window: the rank's next ACT waits for its oldest ACT + the window
                                # (the window only moves at an ACT, so folding it in here is exact)
                                when = ring[ch, rank, w, pos] + wins[w, 1]
                                for x in range(np.uint64(rank * bpr), np.uint64((rank + 1) * bpr)):
                                    earliest[ch, b_act, x] = max(earliest[ch, b_act, x], when)
                    elif cmd == PRE:
                        bank_stats[ch, b, B_OPEN_CYCLES] += t - open_since[ch, b]
                        open_row[ch, b] = -1
                        hit_cnt[ch, b] = 0
                        hits_rd[ch, b] = 0
                        hits_wr[ch, b] = 0
                        act_conflict[ch, b] = ondemand
                        if ondemand:
                            stats[ch, S_ONDEMAND_PRE] += 1
                    else:  # REF
                        in_ref[ch] = False
                        ref_rank[ch] = -1
                        ref_head[ch] = (ref_head[ch] + 1) % RF
                        ref_len[ch] -= 1
                    # timing: every constraint whose prev is cmd, over the banks its level covers
                    rbase = (b // bpr) * bpr
                    gbase = rbase + ((b - rbase) // bpg) * bpg
                    for k in range(cons_start[cmd], cons_end[cmd]):
                        nxc = cons[k, 1]
                        lvl = cons[k, 2]
                        when = t + cons[k, 3]
                        if lvl == L_BANK:
                            if earliest[ch, nxc, b] < when:
                                earliest[ch, nxc, b] = when
                            continue
                        if lvl == L_BANKGROUP:
                            lo, hi = gbase, gbase + bpg
                        elif lvl == L_RANK:
                            lo, hi = rbase, rbase + bpr
                        elif lvl == L_CHANNEL:
                            lo, hi = 0, nb
                        else:  # L_OTHER_RANKS: the banks below and above this rank
                            lo, hi = 0, rbase
                            for x in range(np.uint64(rbase + bpr), np.uint64(nb)):
                                earliest[ch, nxc, x] = max(earliest[ch, nxc, x], when)
                        # unsigned bank index: no negative-index wrap, so the update vectorises
                        for x in range(np.uint64(lo), np.uint64(hi)):
                            earliest[ch, nxc, x] = max(earliest[ch, nxc, x], when)
                    first = cmd

                if first >= 0:
                    # a command issued: every bank's bound by timing alone, exact again (issues only raise bounds,
                    # so the bounds the scan left are stale low), and the channel's wake from them
                    best = never
                    for x in range(np.uint64(nb)):
                        orow = open_row[ch, x]
                        e_open = min(earliest[ch, b_rd, x] if hits_rd[ch, x] > 0 else never,
                                     earliest[ch, b_wr, x] if hits_wr[ch, x] > 0 else never,
                                     earliest[ch, b_pre, x] if head_row[ch, x] != orow else never)
                        tb = earliest[ch, b_act, x] if orow < 0 else e_open
                        tb = tb if cq_len[ch, x] > 0 else never
                        bank_wake[ch, x] = tb
                        best = min(best, tb)
                    wake[ch] = best if best > t else t + 1

                # ---- move one transaction into the command queues ----
                if raw_hold[ch]:
                    # A drain stopped at a write whose address has a pending read. DRAMsim3 re-enters
                    # the drain at once when the buffer is full, which livelocks if that read still
                    # sits in the read queue; archsim schedules from the read queue for one cycle.
                    raw_hold[ch] = False
                elif draining[ch] == 0:
                    if wq_len[ch] >= Q or (wq_len[ch] > drain_low and cq_total[ch] == 0):
                        draining[ch] = wq_len[ch]
                    elif flush and nxt >= n and rq_len[ch] == 0 and cq_total[ch] == 0 and wq_len[ch] > 0:
                        draining[ch] = wq_len[ch]
                use_w = draining[ch] > 0
                qlen = wq_len[ch] if use_w else rq_len[ch]
                if (wq_room[ch] if use_w else rq_room[ch]) == 0:
                    qlen = 0  # no queued transaction's bank has room
                for i in range(qlen):
                    req = wq[ch, i] if use_w else rq[ch, i]
                    b = req_bank[req]
                    if cq_len[ch, b] < C:
                        if use_w:
                            # a pending read of the same address must go first
                            blocked = False
                            h = _address_hash(addr[req])
                            for j in range(rq_len[ch] if pending[ch, h, PEND_RD] > 0 else 0):
                                if addr[rq[ch, j]] == addr[req]:
                                    blocked = True
                                    break
                            if not blocked and pending[ch, h, PEND_RD] > 0:
                                for j in range(cq_len[ch, b]):
                                    tj = cq_type[ch, b, j]
                                    if (tj == RD or tj == RDA) and addr[cq[ch, b, j]] == addr[req]:
                                        blocked = True
                                        break
                            if blocked:
                                draining[ch] = 0
                                raw_hold[ch] = True
                                break
                            draining[ch] -= 1
                            typ = wr_t
                        else:
                            typ = rd_t
                        k = cq_len[ch, b]
                        cq[ch, b, k] = req
                        cq_type[ch, b, k] = typ
                        cq_row[ch, b, k] = req_row[req]
                        if k == 0:
                            head_row[ch, b] = req_row[req]
                        if req_row[req] == open_row[ch, b]:
                            if use_w:
                                hits_wr[ch, b] += 1
                            else:
                                hits_rd[ch, b] += 1
                        cq_len[ch, b] = k + 1
                        cq_total[ch] += 1
                        if use_w:
                            wq_in_bank[ch, b] -= 1
                            wq_room[ch] -= 1
                        else:
                            rq_in_bank[ch, b] -= 1
                            rq_room[ch] -= 1
                        if k + 1 == C:  # the bank's queue is full now
                            rq_room[ch] -= rq_in_bank[ch, b]
                            wq_room[ch] -= wq_in_bank[ch, b]
                        last_progress = t
                        # the new command's own lower bound (the one the idle scan computes): nothing that
                        # was queued before became ready any earlier
                        if wake[ch] > t + 1 or bank_wake[ch, b] > t + 1:
                            orow = open_row[ch, b]
                            if orow < 0:
                                wv = earliest[ch, b_act, b]
                            elif req_row[req] == orow:
                                wv = earliest[ch, brow[typ], b]
                            elif k == 0:
                                wv = earliest[ch, b_pre, b]
                            else:
                                wv = never
                            if wv <= t:
                                wv = t + 1
                            if wv < wake[ch]:
                                wake[ch] = wv
                            if wv < bank_wake[ch, b]:
                                bank_wake[ch, b] = wv
                        if use_w:
                            for j in range(i, qlen - 1):
                                wq[ch, j] = wq[ch, j + 1]
                            wq_len[ch] -= 1
                        else:
                            for j in range(i, qlen - 1):
                                rq[ch, j] = rq[ch, j + 1]
                            rq_len[ch] -= 1
                        break
                # the next cycle this body can change anything (a transaction can move only while the queue it moves
                # from holds one whose bank has room, which only a column command or a request changes; no command
                # is ready before wake); the frontend brings it forward when it hands the channel a request
                if (ref_len[ch] > 0 or (wq_room[ch] > 0 if draining[ch] > 0 else rq_room[ch] > 0) or raw_hold[ch]
                        or (wq_len[ch] > 0 and not (wq_len[ch] < Q and (cq_total[ch] > 0 or wq_len[ch] <= drain_low)
                                                    and not (flush and nxt >= n and cq_total[ch] == 0)))):
                    next_visit[ch] = t + 1
                elif cq_total[ch] > 0:
                    next_visit[ch] = max(wake[ch], t + 1)
                else:
                    next_visit[ch] = never

            # ---------------- frontend ----------------
            for _ in range(width):
                if nxt >= n or release[nxt] > t:
                    break
                ch = 0 if one_channel else req_ch[nxt]
                w = is_write[nxt]
                if w:
                    if wq_len[ch] >= Q:
                        break
                elif rq_len[ch] >= Q:
                    break
                accept[nxt] = t
                last_progress = t
                next_visit[ch] = t + 1
                b = req_bank[nxt]
                a = addr[nxt]
                h = _address_hash(a)
                # pending write to the same address (write buffer or command queue)?
                pend_w = False
                for j in range(wq_len[ch] if pending[ch, h, PEND_WR] > 0 else 0):
                    if addr[wq[ch, j]] == a:
                        pend_w = True
                        break
                if not pend_w and pending[ch, h, PEND_WR] > 0:
                    for j in range(cq_len[ch, b]):
                        tj = cq_type[ch, b, j]
                        if (tj == WR or tj == WRA) and addr[cq[ch, b, j]] == a:
                            pend_w = True
                            break
                if w:
                    if pend_w:
                        stats[ch, S_WRITE_MERGED] += 1
                    else:
                        wq[ch, wq_len[ch]] = nxt
                        wq_len[ch] += 1
                        wq_in_bank[ch, b] += 1
                        if cq_len[ch, b] < C:
                            wq_room[ch] += 1
                        pending[ch, h, PEND_WR] += 1
                elif pend_w:
                    done[nxt] = t + 2  # served from the write buffer the cycle after it is added
                    stats[ch, S_READ_FORWARDED] += 1
                else:
                    leader = -1
                    for j in range(rq_len[ch] if pending[ch, h, PEND_RD] > 0 else 0):
                        if addr[rq[ch, j]] == a:
                            leader = rq[ch, j]
                            break
                    if leader < 0 and pending[ch, h, PEND_RD] > 0:
                        for j in range(cq_len[ch, b]):
                            tj = cq_type[ch, b, j]
                            if (tj == RD or tj == RDA) and addr[cq[ch, b, j]] == a:
                                leader = cq[ch, b, j]
                                break
                    if leader >= 0:
                        follow[nxt] = follow[leader]
                        follow[leader] = nxt
                        stats[ch, S_READ_MERGED] += 1
                    else:
                        rq[ch, rq_len[ch]] = nxt
                        rq_len[ch] += 1
                        rq_in_bank[ch, b] += 1
                        if cq_len[ch, b] < C:
                            rq_room[ch] += 1
                        pending[ch, h, PEND_RD] += 1
                nxt += 1
                if flush and nxt == n:
                    for c in range(nch):
                        next_visit[c] = t + 1  # the write buffers may drain now

            # ---------------- termination / idle skip ----------------
            idle = True
            for ch in range(nch):
                if rq_len[ch] > 0 or cq_total[ch] > 0 or draining[ch] > 0 or ref_len[ch] > 0:
                    idle = False
                    break
                if wq_len[ch] > 0 and (wq_len[ch] > drain_low or (flush and nxt >= n)):
                    idle = False
                    break
            if idle:
                if nxt >= n:
                    break
                target = release[nxt]
                if next_ref < target:
                    target = next_ref
                if target > t + 1:
                    t = target
                    continue
            t += 1
            if max_cycles > 0 and t >= max_cycles:
                break
            if t - last_progress > STALL_CYCLES:
                stats[0, S_STALLED] = 1
                break

        for ch in range(nch):
            for b in range(nb):
                if open_row[ch, b] >= 0:
                    bank_stats[ch, b, B_OPEN_CYCLES] += t - open_since[ch, b]
        return done, accept, counts, stats, bank_stats, t, cmd_log[:n_log]

    return simulate_requests


simulate_requests = _simulate_requests_for(False)
simulate_requests_one_channel = _simulate_requests_for(True)  # only for standards with one channel


"""The DRAM timing kernel's codes and array layouts, importable without Numba.

``archsim.kernels.dram_timing`` (the kernel) and ``archsim.hw.dram.model`` (its caller) both read them; the
kernel runs ahead-of-time compiled (``archsim.kernels.native``), so the caller need not import Numba.
"""
from __future__ import annotations

# Command codes (must match archsim.hw.dram.standards).
ACT, PRE, RD, WR, RDA, WRA, REF = 0, 1, 2, 3, 4, 5, 6
NCMD = 7
L_BANK, L_BANKGROUP, L_RANK, L_OTHER_RANKS, L_CHANNEL = 0, 1, 2, 3, 4

# Layout of the integer parameter vector.
P_CHANNELS, P_RANKS, P_BANKGROUPS, P_BANKS_PER_GROUP = 0, 1, 2, 3
P_CMDQ, P_TRANSQ, P_ROW_HIT_CAP, P_DRAIN_LOW = 4, 5, 6, 7
P_CLOSED_PAGE, P_REFRESH_INTERVAL, P_DUAL_ISSUE, P_READ_DELAY = 8, 9, 10, 11
P_ISSUE_WIDTH, P_FLUSH_WRITES, P_MAX_CYCLES, P_LOG_CAP = 12, 13, 14, 15
P_BOUND_ROW = 16  # p[P_BOUND_ROW + cmd]: the row of ``earliest`` that holds cmd's issue bounds
N_PARAMS = P_BOUND_ROW + NCMD

# Layout of the per-channel statistics matrix.
S_RD_HIT, S_RD_MISS, S_RD_CONFLICT, S_WR_HIT, S_WR_MISS, S_WR_CONFLICT = 0, 1, 2, 3, 4, 5
S_ONDEMAND_PRE, S_READ_FORWARDED, S_READ_MERGED, S_WRITE_MERGED, S_STALLED = 6, 7, 8, 9, 10
N_STATS = 11

# A run with queued work but no accepted request, moved transaction or column command for this
# many cycles is stuck (a model bug); it stops and reports S_STALLED instead of looping forever.
STALL_CYCLES = 1 << 22

# Pending-address filter: queued reads (read queue + RD/RDA commands) and writes (write buffer + WR/WRA
# commands) are counted per channel by a hash of their address; a zero count proves no queued request has
# that address, so the same-address scans are skipped. (An equal count only sends the lookup to the scan.)
ADDR_HASH_BITS = 12
ADDR_HASH_MUL = 0x9E3779B97F4A7C15  # Fibonacci hashing
PEND_RD, PEND_WR = 0, 1

# Per-bank statistics.
B_ACT, B_RD, B_WR, B_OPEN_CYCLES = 0, 1, 2, 3

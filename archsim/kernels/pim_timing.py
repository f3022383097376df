"""Command-level timing core of an all-bank PIM channel (Newton / NeuPIMs / AiM style), in Numba.

A channel executes a sequence of *jobs*. A job is one input-vector chunk broadcast to the PIM global
buffer (``GWRITE``) followed by ``tiles`` all-bank tiles; a tile is

1. all-bank activation: ``banks / banks_per_act`` grouped ACT commands, spaced by tRRD_S and at most
   four in any tFAW window, each no earlier than tRP after the previous tile's precharge;
2. ``mac_cmds`` all-bank MAC (dot-product) commands, one per ``tCCD_L`` once every bank's row is open
   (tRCD after the last grouped ACT) and the job's GWRITE has landed; each command consumes one
   column burst in every bank (``mac_units`` multipliers per bank);
3. ``readout`` result-read bursts (``RDRESULT``), one per max(tBL, tCCD_S), data back CL later;
4. an all-bank precharge, no earlier than tRAS after the last ACT and after the readout issued.

Refresh: the channel owes an all-bank REF every tREFI; a due refresh is taken at the next tile
boundary (banks precharged), blocking the channel for tRFC (refresh postponement as JEDEC allows).

Times are memory-clock cycles. The function returns, per channel, the finishing cycle and the command
counts [ACT (bank activations), MAC, RDRESULT bursts, GWRITE bursts, PRE, REF, C/A-bus commands].
"""
from __future__ import annotations

import numpy as np
from numba import njit

# Timing-vector layout.
T_RCD, T_RAS, T_RP, T_RRD, T_FAW, T_CCD_MAC, T_CCD_RD, T_BL, T_CL, T_CWL, T_REFI, T_RFC = range(12)
N_TIMING = 12
# Count columns.
C_ACT, C_MAC, C_RD, C_GWRITE, C_PRE, C_REF, C_CA = range(7)
N_COUNTS = 7


@njit(cache=True)
def channel_cycles(job_tiles, job_mac_cmds, job_gwrite_bursts, job_readout_bursts, job_channel,
                   n_channels, banks, banks_per_act, timing, refresh):
    """Finish cycle per channel and command counts per channel (see module docstring).

    ``job_*`` are int64 arrays of equal length, one entry per job, jobs of a channel in execution order
    (``job_channel`` names the channel). ``timing`` is the int64 vector laid out by ``T_*``.
    """
    finish = np.zeros(n_channels, np.int64)
    counts = np.zeros((n_channels, N_COUNTS), np.int64)
    # per-channel state
    pre_ready = np.zeros(n_channels, np.int64)     # earliest next ACT (after PRE + tRP)
    mac_free = np.zeros(n_channels, np.int64)      # global buffer free (previous MACs done)
    next_ref = np.full(n_channels, timing[T_REFI], np.int64)
    acts_per_tile = (banks + banks_per_act - 1) // banks_per_act
    act_hist = np.zeros(4, np.int64)
    t_rd = max(timing[T_BL], timing[T_CCD_RD])
    for j in range(job_tiles.shape[0]):
        c = job_channel[j]
        tiles = job_tiles[j]
        if tiles <= 0:
            continue
        # GWRITE of the vector chunk: may overlap the activation, not the previous job's MACs.
        gw_start = mac_free[c]
        gw_done = gw_start + timing[T_CWL] + job_gwrite_bursts[j] * timing[T_BL]
        counts[c, C_GWRITE] += job_gwrite_bursts[j]
        counts[c, C_CA] += job_gwrite_bursts[j]
        for _ in range(tiles):
            t = pre_ready[c]
            if refresh and t >= next_ref[c]:
                # banks are precharged at a tile boundary: REF now, then resume
                while next_ref[c] <= t:
                    next_ref[c] += timing[T_REFI]
                    counts[c, C_REF] += 1
                    counts[c, C_CA] += 1
                    t += timing[T_RFC]
            # grouped activations under tRRD and the four-activate window
            for k in range(4):
                act_hist[k] = -(1 << 40)
            last_act = t
            for a in range(acts_per_tile):
                ta = t if a == 0 else last_act + timing[T_RRD]
                oldest = act_hist[a % 4]
                if ta < oldest + timing[T_FAW]:
                    ta = oldest + timing[T_FAW]
                act_hist[a % 4] = ta
                last_act = ta
            counts[c, C_ACT] += banks
            counts[c, C_CA] += acts_per_tile
            mac_start = max(last_act + timing[T_RCD], gw_done)
            mac_end = mac_start + job_mac_cmds[j] * timing[T_CCD_MAC]
            counts[c, C_MAC] += job_mac_cmds[j]
            counts[c, C_CA] += job_mac_cmds[j]
            rd_issue_end = mac_end + job_readout_bursts[j] * t_rd
            counts[c, C_RD] += job_readout_bursts[j]
            counts[c, C_CA] += job_readout_bursts[j]
            data_end = rd_issue_end + timing[T_CL]
            pre = max(last_act + timing[T_RAS], rd_issue_end)
            counts[c, C_PRE] += 1
            counts[c, C_CA] += 1
            pre_ready[c] = pre + timing[T_RP]
            mac_free[c] = mac_end
            finish[c] = max(data_end, pre_ready[c])
    return finish, counts

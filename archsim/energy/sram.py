"""SRAM access energy per bit for any capacity, from the table's per-size rows.

The table gives energy per ``word_bits``-bit access at a few capacities. For another capacity the
energy is interpolated linearly in log(energy) vs log(capacity) between the two nearest rows (Horowitz's
8 KB / 32 KB / 1 MB points follow energy ~ sqrt(capacity) closely, which this reproduces). Beyond the
smallest or largest row the nearest segment's slope is extended, at most ``MAX_EXTRAPOLATION`` times
past the end; further is an EnergyError. The capacity looked up is one bank's (capacity / banks).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from archsim.energy.table import EnergyError, EnergyTable, TableRow

MAX_EXTRAPOLATION = 16.0


@dataclass(frozen=True)
class SramAccess:
    """Energy of one bit of SRAM access at the rows' node/Vdd, and how it was obtained."""

    pj_per_bit: float
    rows: tuple[TableRow, ...]
    method: str   # "exact", "interpolated" or "extrapolated"


def sram_access(table: EnergyTable, action: str, bank_kib: float, who: str = "sram") -> SramAccess:
    """pJ per bit of a ``action`` (read/write) on a bank of ``bank_kib`` KiB."""
    rows = sorted((r for r in table.rows_of("sram", action) if r.capacity_kib), key=lambda r: r.capacity_kib)
    if not rows:
        raise EnergyError(f"{who}: the energy table has no capacity rows for sram.{action}")
    per_bit = [(r.capacity_kib, r.value / r.word_bits, r) for r in rows]
    for cap, e, r in per_bit:
        if cap == bank_kib:
            return SramAccess(e, (r,), "exact")
    if len(per_bit) == 1:
        raise EnergyError(f"{who}: one sram.{action} row cannot be interpolated to {bank_kib} KiB")
    lo_cap, hi_cap = per_bit[0][0], per_bit[-1][0]
    if bank_kib < lo_cap / MAX_EXTRAPOLATION or bank_kib > hi_cap * MAX_EXTRAPOLATION:
        raise EnergyError(f"{who}: bank of {bank_kib:g} KiB is more than {MAX_EXTRAPOLATION:g}x outside the "
                          f"sram.{action} rows ({lo_cap:g}-{hi_cap:g} KiB); add a table row for it or bank it")
    if bank_kib < lo_cap:
        a, b, method = per_bit[0], per_bit[1], "extrapolated"
    elif bank_kib > hi_cap:
        a, b, method = per_bit[-2], per_bit[-1], "extrapolated"
    else:
        i = next(i for i, (cap, _, _) in enumerate(per_bit) if cap > bank_kib)
        a, b, method = per_bit[i - 1], per_bit[i], "interpolated"
    slope = math.log(b[1] / a[1]) / math.log(b[0] / a[0])
    e = a[1] * (bank_kib / a[0]) ** slope
    return SramAccess(e, (a[2], b[2]), method)

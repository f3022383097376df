"""Parser of DRAMsim3-format trace text (Numba; compiled by ``archsim.kernels.native``): bytes in,
request arrays out.

It reads the canonical form only -- per line ``0x<hex address> <word> <decimal cycle>``, blanks and tabs
between fields, blank lines allowed -- and stops at the first line of any other form, returning its number:
``archsim.hw.dram.traces`` then reads that file line by line in Python, which accepts the rest of the
format (comments, addresses without ``0x``) and words its errors. A ``<word>`` of ``WRITE``, ``write``,
``P_MEM_WR`` or ``BOFF`` is a write (DRAMsim3's rule); cycles of at least ``sentinel`` are dropped.
"""
from __future__ import annotations

import numpy as np
from numba import njit

_SPACE, _TAB, _CR, _NL = 32, 9, 13, 10
MAX_HEX_DIGITS = 15     # below 2**60: no int64 overflow
MAX_DEC_DIGITS = 18


@njit
def _is_blank(c):
    return c == _SPACE or c == _TAB or c == _CR


@njit
def _word_is_write(text, lo, hi):
    n = hi - lo
    if n == 5:
        w = (text[lo] == 87 and text[lo + 1] == 82 and text[lo + 2] == 73 and text[lo + 3] == 84
             and text[lo + 4] == 69)                                                        # WRITE
        lw = (text[lo] == 119 and text[lo + 1] == 114 and text[lo + 2] == 105 and text[lo + 3] == 116
              and text[lo + 4] == 101)                                                      # write
        return w or lw
    if n == 4:
        return text[lo] == 66 and text[lo + 1] == 79 and text[lo + 2] == 70 and text[lo + 3] == 70  # BOFF
    if n == 8:
        return (text[lo] == 80 and text[lo + 1] == 95 and text[lo + 2] == 77 and text[lo + 3] == 69
                and text[lo + 4] == 77 and text[lo + 5] == 95 and text[lo + 6] == 87
                and text[lo + 7] == 82)                                                     # P_MEM_WR
    return False


def parse_dramsim3_text(text, sentinel):
    """``(addr, is_write, cycle, n, bad_line)``: the first ``n`` entries of the arrays are the requests;
    ``bad_line`` is 0, or the 1-based number of the first line not in the canonical form (then ``n`` is 0)."""
    size = text.shape[0]
    cap = 1
    for i in range(size):
        if text[i] == _NL:
            cap += 1
    addr = np.empty(cap, np.int64)
    is_write = np.empty(cap, np.bool_)
    cycle = np.empty(cap, np.int64)
    n = 0
    line = 1
    i = 0
    while i < size:
        while i < size and _is_blank(text[i]):
            i += 1
        if i >= size:
            break
        if text[i] == _NL:
            line += 1
            i += 1
            continue
        # address: 0x + hex digits
        if not (i + 2 < size and text[i] == 48 and (text[i + 1] == 120 or text[i + 1] == 88)):
            return addr, is_write, cycle, 0, line
        i += 2
        a = 0
        digits = 0
        while i < size:
            c = text[i]
            if 48 <= c <= 57:
                v = c - 48
            elif 97 <= c <= 102:
                v = c - 87
            elif 65 <= c <= 70:
                v = c - 55
            else:
                break
            a = a * 16 + v
            digits += 1
            i += 1
        if digits == 0 or digits > MAX_HEX_DIGITS or i >= size or not _is_blank(text[i]):
            return addr, is_write, cycle, 0, line
        while i < size and _is_blank(text[i]):
            i += 1
        # word
        lo = i
        while i < size and not _is_blank(text[i]) and text[i] != _NL:
            i += 1
        if i == lo or i >= size or text[i] == _NL:
            return addr, is_write, cycle, 0, line
        w = _word_is_write(text, lo, i)
        while i < size and _is_blank(text[i]):
            i += 1
        # cycle: decimal digits
        c_val = 0
        digits = 0
        while i < size and 48 <= text[i] <= 57:
            c_val = c_val * 10 + (text[i] - 48)
            digits += 1
            i += 1
        if digits == 0 or digits > MAX_DEC_DIGITS:
            return addr, is_write, cycle, 0, line
        while i < size and _is_blank(text[i]):
            i += 1
        if i < size and text[i] != _NL:
            return addr, is_write, cycle, 0, line
        if c_val < sentinel:
            addr[n] = a
            is_write[n] = w
            cycle[n] = c_val
            n += 1
    return addr, is_write, cycle, n, 0

"""Cycle-level DRAM simulation from Python: address mapping, the kernel call and the statistics.

``simulate_trace(standard, requests)`` runs the Numba core in ``archsim.kernels.dram_timing`` (compiled
ahead of time by ``archsim.kernels.native``) and returns a ``DramStats`` record. Definitions follow
the shared DRAMsim3 reference (``reference/dram/README.md``):

* ``total_cycles``: the smallest cycle count at which every read has returned, every write has
  been accepted and every write command that will ever issue has issued (memory-clock cycles);
* ``bandwidth_gbps`` = requests × access bytes / (total_cycles × tCK_ns), GB = 1e9 B;
* read latency: from the cycle the controller accepted the transaction to the cycle its data
  returned (frontend waiting excluded).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from archsim.hw.dram.standards import (
    CMD_INDEX, COMMANDS, LEVEL_INDEX, DramStandard, constraint_table, validate_controller,
)
from archsim.kernels import dram_codes as K
from archsim.kernels.native import kernels

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Requests:
    """A request stream: byte addresses, write flags and release cycles (memory clock), in order."""

    addr: np.ndarray       # int64 byte addresses
    is_write: np.ndarray   # bool
    cycle: np.ndarray      # int64 release cycles

    @classmethod
    def from_arrays(cls, addr, is_write, cycle=None) -> "Requests":
        addr = np.ascontiguousarray(addr, dtype=np.int64)
        is_write = np.ascontiguousarray(is_write, dtype=np.bool_)
        cycle = np.zeros(addr.shape[0], np.int64) if cycle is None else np.ascontiguousarray(cycle, dtype=np.int64)
        if not (addr.shape == is_write.shape == cycle.shape) or addr.ndim != 1:
            raise ValueError("addr, is_write and cycle must be 1-D arrays of the same length")
        if addr.size and (addr.min() < 0 or cycle.min() < 0):
            raise ValueError("addresses and cycles must be non-negative")
        return cls(addr, is_write, cycle)

    def __len__(self) -> int:
        return int(self.addr.shape[0])


@dataclass(frozen=True)
class AddressMap:
    """Bit positions of the DRAMsim3-style address fields (after dropping the access-offset bits)."""

    shift_bits: int
    pos: dict[str, int]
    width: dict[str, int]

    def decode(self, addr: np.ndarray) -> dict[str, np.ndarray]:
        """Decode: {'ch','ra','bg','ba','ro','co'} → int64 arrays (one pass of a Numba kernel)."""
        names = list(self.pos)
        rows = kernels("dram").decode_addresses(np.ascontiguousarray(addr, dtype=np.int64), self.shift_bits,
                                                np.array([self.pos[f] for f in names], np.int64),
                                                np.array([self.width[f] for f in names], np.int64))
        return dict(zip(names, rows))


def _log2_exact(x: int, what: str) -> int:
    if x < 1 or x & (x - 1):
        raise ValueError(f"{what} must be a power of two, got {x}")
    return x.bit_length() - 1


def address_map(std: DramStandard) -> AddressMap:
    """The address map of ``std`` (its controller's ``address_mapping`` string, MSB first)."""
    o = std.org
    widths = {
        "ch": _log2_exact(o.channels, "channels"),
        "ra": _log2_exact(o.ranks, "ranks"),
        "bg": _log2_exact(o.bankgroups, "bankgroups"),
        "ba": _log2_exact(o.banks_per_group, "banks_per_group"),
        "ro": _log2_exact(o.rows, "rows"),
        "co": _log2_exact(o.columns, "columns") - _log2_exact(o.burst_length, "burst_length"),
    }
    m = std.controller.address_mapping
    fields = [m[i:i + 2] for i in range(0, len(m), 2)]
    pos, p = {}, 0
    for f in reversed(fields):  # LSB first
        pos[f] = p
        p += widths[f]
    return AddressMap(_log2_exact(o.access_bytes, "access bytes"), pos, widths)


def kernel_inputs(std: DramStandard, issue_width: int = 1, flush_writes: bool = False,
                  max_cycles: int = 0, log_commands: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The kernel's parameter vector, constraint rows and ACT-window rows for ``std``."""
    problem = validate_controller(std.controller)
    if problem:
        raise ValueError(problem)
    o, c = std.org, std.controller
    p = np.zeros(K.N_PARAMS, np.int64)
    p[K.P_CHANNELS] = o.channels
    p[K.P_RANKS] = o.ranks
    p[K.P_BANKGROUPS] = o.bankgroups
    p[K.P_BANKS_PER_GROUP] = o.banks_per_group
    p[K.P_CMDQ] = c.cmd_queue_size
    p[K.P_TRANSQ] = c.trans_queue_size
    p[K.P_ROW_HIT_CAP] = c.row_hit_cap
    p[K.P_DRAIN_LOW] = c.write_drain_low
    p[K.P_CLOSED_PAGE] = 1 if c.row_policy == "closed" else 0
    p[K.P_REFRESH_INTERVAL] = 0 if c.refresh == "none" else int(std.timing["tREFI"]) // o.ranks
    p[K.P_DUAL_ISSUE] = 1 if c.dual_command_issue else 0
    p[K.P_READ_DELAY] = std.read_latency_cycles
    p[K.P_ISSUE_WIDTH] = max(1, int(issue_width))
    p[K.P_FLUSH_WRITES] = 1 if flush_writes else 0
    p[K.P_MAX_CYCLES] = int(max_cycles)
    p[K.P_LOG_CAP] = int(log_commands)
    rows, wins = [], []
    for con in constraint_table(std):
        if con.window > 1:
            if (con.prev, con.next, con.level) != ("ACT", "ACT", "rank"):
                raise ValueError("rolling-window constraints are supported for ACT → ACT at rank level only")
            wins.append((con.window, con.cycles))
        elif not (con.level == "other_ranks" and o.ranks == 1):   # (a rule on other ranks covers no bank)
            rows.append((CMD_INDEX[con.prev], CMD_INDEX[con.next], LEVEL_INDEX[con.level], con.cycles))
    rows, bound_row = compact_constraints(rows, has_act_window=bool(wins))
    p[K.P_BOUND_ROW:K.P_BOUND_ROW + K.NCMD] = bound_row
    cons = np.array(sorted(rows), dtype=np.int64).reshape(-1, 4)
    win = np.array(wins, dtype=np.int64).reshape(-1, 2)
    return p, cons, win


# Banks a level covers, as a set of the levels it contains (other ranks and own rank are disjoint).
_LEVEL_CONTAINS = {
    LEVEL_INDEX["bank"]: {LEVEL_INDEX["bank"]},
    LEVEL_INDEX["bankgroup"]: {LEVEL_INDEX["bank"], LEVEL_INDEX["bankgroup"]},
    LEVEL_INDEX["rank"]: {LEVEL_INDEX["bank"], LEVEL_INDEX["bankgroup"], LEVEL_INDEX["rank"]},
    LEVEL_INDEX["other_ranks"]: {LEVEL_INDEX["other_ranks"]},
    LEVEL_INDEX["channel"]: set(LEVEL_INDEX.values()),
}


def compact_constraints(rows: list[tuple[int, int, int, int]], has_act_window: bool
                        ) -> tuple[list[tuple[int, int, int, int]], list[int]]:
    """The fewest (prev, bound row, level, cycles) rows that give the kernel the same issue bounds.

    Exact rewrites of the (prev, next, level, cycles) table, applied in order:

    * a rule of 0 cycles or fewer never delays anything (the next command cannot issue before the
      previous one anyway) and is dropped;
    * a rule on the own rank and the same rule on the other ranks, with equal cycles, are one rule on
      the channel;
    * a rule covered by another rule of the same (prev, next) over a superset of its banks with at
      least as many cycles is dropped;
    * commands whose rules are identical as ``next`` (RD and RDA, WR and WRA in every JEDEC standard)
      share one row of bounds: ``bound_row[cmd]`` is the row the kernel keeps ``cmd``'s bounds in.
      The ACT windows (tFAW) raise ACT's bounds only, so ACT shares its row with no other command.
    """
    rows = {r for r in rows if r[3] > 0}
    rank, others, channel = LEVEL_INDEX["rank"], LEVEL_INDEX["other_ranks"], LEVEL_INDEX["channel"]
    for prev, nxt, level, cycles in list(rows):
        if level == rank and (prev, nxt, others, cycles) in rows:
            rows -= {(prev, nxt, rank, cycles), (prev, nxt, others, cycles)}
            rows.add((prev, nxt, channel, cycles))
    by_pair: dict[tuple[int, int], list[tuple[int, int, int, int]]] = {}
    for r in rows:
        by_pair.setdefault(r[:2], []).append(r)
    rows = {a for group in by_pair.values() for a in group
            if not any(b != a and a[2] in _LEVEL_CONTAINS[b[2]] and b[3] >= a[3] for b in group)}
    signature: dict[int, set] = {c: set() for c in range(K.NCMD)}
    for r in rows:
        signature[r[1]].add((r[0], r[2], r[3]))
    bound_row = []
    for c in range(K.NCMD):
        shared = [d for d in range(c) if signature[d] == signature[c]
                  and not (has_act_window and K.ACT in (c, d))]
        bound_row.append(bound_row[shared[0]] if shared else c)
    return [r for r in rows if bound_row[r[1]] == r[1]], bound_row


@dataclass
class DramStats:
    """Results of one DRAM simulation (cycles are memory-clock cycles of ``tck_ns``)."""

    standard: str
    tck_ns: float
    n_requests: int
    n_reads: int
    n_writes: int
    total_cycles: int
    bandwidth_gbps: float
    peak_gbps: float
    avg_read_latency_cycles: float
    p50_read_latency_cycles: float
    p95_read_latency_cycles: float
    p99_read_latency_cycles: float
    max_read_latency_cycles: int
    read_row_hits: int
    read_row_misses: int
    read_row_conflicts: int
    write_row_hits: int
    write_row_misses: int
    write_row_conflicts: int
    act_cmds: int
    pre_cmds: int
    read_cmds: int
    write_cmds: int
    ref_cmds: int
    ondemand_pre_cmds: int
    reads_forwarded: int
    reads_merged: int
    writes_merged: int
    writes_not_drained: int
    stalled: bool                                        # the run stopped without progress (a bug)
    bank_stats: np.ndarray = field(repr=False)           # the kernel's [channel, bank, B_*] counters
    done_cycle: np.ndarray = field(repr=False)           # per request: data return / WR issue cycle
    accept_cycle: np.ndarray = field(repr=False)         # per request: cycle the controller took it
    command_log: pd.DataFrame | None = field(default=None, repr=False)  # with log_commands > 0

    @property
    def avg_read_latency_ns(self) -> float:
        return self.avg_read_latency_cycles * self.tck_ns

    @property
    def read_latency_cycles(self) -> np.ndarray:
        """Per-read latency (accept+1 → data return), in request order of the reads."""
        return _read_latencies(self.done_cycle, self.accept_cycle, np.flatnonzero(~self._is_write))

    @property
    def per_bank(self) -> pd.DataFrame:
        """One row per (channel, bank): rank, bank group, bank, ACT/RD/WR commands, cycles its row was open."""
        import pandas as pd

        nch, nb = self.bank_stats.shape[:2]
        o = self._org
        b = np.arange(nb)
        per_bank = pd.DataFrame({
            "channel": np.repeat(np.arange(nch), nb),
            "rank": np.tile(b // o.banks_per_rank, nch),
            "bankgroup": np.tile((b % o.banks_per_rank) // o.banks_per_group, nch),
            "bank": np.tile(b % o.banks_per_group, nch),
            "act_cmds": self.bank_stats[:, :, K.B_ACT].ravel(),
            "read_cmds": self.bank_stats[:, :, K.B_RD].ravel(),
            "write_cmds": self.bank_stats[:, :, K.B_WR].ravel(),
            "row_open_cycles": self.bank_stats[:, :, K.B_OPEN_CYCLES].ravel(),
        })
        per_bank["row_open_fraction"] = per_bank["row_open_cycles"] / max(self.total_cycles, 1)
        return per_bank

    def to_frame(self) -> pd.DataFrame:
        """The scalar statistics as a one-row DataFrame (one column per statistic)."""
        import pandas as pd

        return pd.DataFrame([self.to_dict()])

    def to_dict(self) -> dict[str, Any]:
        """Scalar statistics as a JSON-ready dict (per-bank and per-request arrays excluded)."""
        skip = ("bank_stats", "done_cycle", "accept_cycle", "command_log")
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        for k, v in d.items():
            if isinstance(v, (np.integer,)):
                d[k] = int(v)
            elif isinstance(v, (np.floating, float)):
                d[k] = float(round(float(v), 6))
        return d


def _percentiles(values: np.ndarray, qs) -> tuple[float, ...]:
    """``np.percentile(values, qs)`` (linear interpolation) for non-negative integers, from a histogram: the
    order statistics come from cumulative counts instead of a partition of the whole array."""
    cum = np.cumsum(np.bincount(values))
    out = []
    for q in qs:
        x = q / 100 * (values.size - 1)
        lo = int(np.floor(x))
        v_lo, v_hi = (float(v) for v in np.searchsorted(cum, [lo, min(lo + 1, values.size - 1)], side="right"))
        t = x - lo            # numpy's lerp, bit for bit: from the nearer end
        out.append(v_hi - (v_hi - v_lo) * (1 - t) if t >= 0.5 else v_lo + (v_hi - v_lo) * t)
    return tuple(out)


def _read_latencies(done, accept, reads):
    """Latency of the reads at indices ``reads``: accept + 1 (the controller's clock starts) to data return."""
    return done[reads] - (accept[reads] + 1)


def simulate_trace(standard: DramStandard, requests: Requests, issue_width: int = 1,
                   flush_writes: bool = False, max_cycles: int = 0, log_commands: int = 0) -> DramStats:
    """Simulate ``requests`` on ``standard``; return a ``DramStats``.

    ``issue_width``: requests the frontend may offer per memory cycle (1 = DRAMsim3's trace CPU).
    ``flush_writes``: once the trace is exhausted, drain writes left in the write buffer (DRAMsim3
    leaves up to ``write_drain_low`` of them unissued; the default matches it).
    ``max_cycles`` > 0 stops the run there (requests not finished keep done = -1).
    ``log_commands`` > 0 records the first that many issued commands in ``stats.command_log``.
    """
    std = standard
    p, cons, win = kernel_inputs(std, issue_width, flush_writes, max_cycles, log_commands)
    amap = address_map(std)
    f = amap.decode(requests.addr)
    o = std.org
    bank = (f["ra"] * o.bankgroups + f["bg"]) * o.banks_per_group + f["ba"]
    k = kernels("dram")
    simulate = k.simulate_requests_one_channel if o.channels == 1 else k.simulate_requests
    done, accept, counts, st, bank_stats, _end, log = simulate(
        requests.cycle, requests.is_write, requests.addr, np.ascontiguousarray(f["ch"]),
        np.ascontiguousarray(bank), np.ascontiguousarray(f["ro"]), np.ascontiguousarray(f["co"]), p, cons, win)
    stats = build_stats(std, requests, done, accept, counts, st, bank_stats)
    if log_commands:
        import pandas as pd

        stats.command_log = pd.DataFrame({
            "cycle": log[:, 0], "channel": log[:, 1], "bank": log[:, 2],
            "command": np.array(COMMANDS, dtype=object)[log[:, 3]], "request": log[:, 4]})
    return stats


def transfer(standard: DramStandard, n_bytes: int, start_addr: int = 0, is_write: bool = False,
             issue_width: int | None = None) -> DramStats:
    """Simulate one contiguous DMA of ``n_bytes`` from ``start_addr`` (all requests released at 0).

    ``issue_width`` defaults to twice the channel count (a DMA engine that is not the bottleneck).
    Returns the ``DramStats``; ``total_cycles × tck_ns`` is the transfer time in ns.
    """
    acc = standard.org.access_bytes
    first = (int(start_addr) // acc) * acc
    n = max(0, -(-(int(start_addr) + int(n_bytes) - first) // acc)) if n_bytes > 0 else 0
    addr = (first + np.arange(n, dtype=np.int64) * acc) % standard.org.capacity_bytes
    req = Requests.from_arrays(addr, np.full(n, bool(is_write)))
    width = issue_width if issue_width is not None else 2 * standard.org.channels
    return simulate_trace(standard, req, issue_width=width, flush_writes=True)


def build_stats(std: DramStandard, requests: Requests, done, accept, counts, st, bank_stats) -> DramStats:
    """Reduce the kernel's raw outputs to a ``DramStats`` (vectorised)."""
    is_w = requests.is_write
    n = len(requests)
    rd = np.flatnonzero(~is_w)
    n_r = int(rd.size)
    n_w = n - n_r
    rd_done = done[rd]
    # every request's last cycle: a read's data return, a write's WR issue, or its acceptance
    last = int(max(done.max(), accept.max())) if n else -1
    total = last + 1
    lat = _read_latencies(done, accept, rd)
    lat = lat[rd_done >= 0]
    if lat.size:
        avg = float(lat.mean())
        p50, p95, p99 = _percentiles(lat, (50, 95, 99))
        mx = int(lat.max())
    else:
        avg = p50 = p95 = p99 = 0.0
        mx = 0
    tot = counts.sum(axis=0)
    s = st.sum(axis=0)
    o = std.org
    bw = n * o.access_bytes / (total * std.tck_ns) if total > 0 else 0.0
    stats = DramStats(
        standard=std.name, tck_ns=std.tck_ns, n_requests=n, n_reads=n_r, n_writes=n_w,
        total_cycles=total, bandwidth_gbps=bw, peak_gbps=std.peak_gbps,
        avg_read_latency_cycles=avg, p50_read_latency_cycles=p50, p95_read_latency_cycles=p95,
        p99_read_latency_cycles=p99, max_read_latency_cycles=mx,
        read_row_hits=int(s[K.S_RD_HIT]), read_row_misses=int(s[K.S_RD_MISS]),
        read_row_conflicts=int(s[K.S_RD_CONFLICT]), write_row_hits=int(s[K.S_WR_HIT]),
        write_row_misses=int(s[K.S_WR_MISS]), write_row_conflicts=int(s[K.S_WR_CONFLICT]),
        act_cmds=int(tot[CMD_INDEX["ACT"]]), pre_cmds=int(tot[CMD_INDEX["PRE"]]),
        read_cmds=int(tot[CMD_INDEX["RD"]] + tot[CMD_INDEX["RDA"]]),
        write_cmds=int(tot[CMD_INDEX["WR"]] + tot[CMD_INDEX["WRA"]]), ref_cmds=int(tot[CMD_INDEX["REF"]]),
        ondemand_pre_cmds=int(s[K.S_ONDEMAND_PRE]), reads_forwarded=int(s[K.S_READ_FORWARDED]),
        reads_merged=int(s[K.S_READ_MERGED]), writes_merged=int(s[K.S_WRITE_MERGED]),
        writes_not_drained=int(((done < 0) & is_w).sum()) - int(s[K.S_WRITE_MERGED]),
        stalled=bool(s[K.S_STALLED]),
        bank_stats=bank_stats, done_cycle=done, accept_cycle=accept,
    )
    stats._is_write = is_w  # kept for read_latency_cycles
    stats._org = o          # kept for per_bank
    return stats


__all__ = ["AddressMap", "DramStats", "Requests", "address_map", "compact_constraints", "kernel_inputs",
           "simulate_trace", "transfer", "COMMANDS"]

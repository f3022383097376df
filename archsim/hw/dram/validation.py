"""Validation of the DRAM model against DRAMsim3: synthetic patterns and recorded peer results.

``requests_for_pattern`` regenerates the synthetic traces of ``reference/dram/gen_traces.py``
(same algorithm, same Mersenne-Twister draws, so the same seed gives the same requests; the
SHA-256 of the DRAMsim3-format rendering is checked against the reference where one is recorded).

``DRAMSIM3_RESULTS`` holds DRAMsim3's numbers for every case in ``CASES``:

* source ``reference``: the shared results (``reference/dram/dramsim3_reference.csv``,
  DRAMsim3 @2981759, unmodified, its trace CPU);
* source ``side-by-side``: measured by archsim's developers with DRAMsim3 @2981759 built
  unmodified (CMD_TRACE on, to time the last write command) and driven through its public
  ``MemorySystem`` API with the trace-CPU frontend (tick, then offer up to ``issue_width``
  requests in order, a refused request blocking later ones), using the reference definitions of
  total cycles and read latency. The first three cases reproduce the shared reference exactly,
  which checks the harness.

``validate(case, issue_width)`` runs archsim on one case and returns its errors.
"""
from __future__ import annotations

import dataclasses
import hashlib
import random
from dataclasses import dataclass

import numpy as np

from archsim.hw.dram.model import Requests, simulate_trace
from archsim.hw.dram.standards import get_standard

HBM2_CAPACITY = 8 * 2**30
DDR4_CAPACITY = 16 * 2**30
LPDDR4_CAPACITY = 8 * 2**30


@dataclass(frozen=True)
class Case:
    """One validation case: a pattern of ``n`` requests on a standard."""

    name: str
    standard: str
    pattern: str
    n: int
    capacity_bytes: int
    seed: int = 1
    stride_bytes: int = 0
    gap: int = 0
    line_bytes: int = 64
    row_policy: str = ""   # "" = the preset's own policy
    note: str = ""


CASES: tuple[Case, ...] = (
    Case("hbm2_seq_read", "HBM2", "seq_read", 100_000, HBM2_CAPACITY),
    Case("hbm2_rand_read", "HBM2", "rand_read", 100_000, HBM2_CAPACITY),
    Case("hbm2_rand_rw50", "HBM2", "rand_rw50", 100_000, HBM2_CAPACITY),
    Case("hbm2_seq_write", "HBM2", "seq_write", 100_000, HBM2_CAPACITY),
    Case("hbm2_stride_onebank", "HBM2", "stride_read", 20_000, HBM2_CAPACITY, stride_bytes=256 * 1024,
         note="every request a row conflict in channel 0, bank 0"),
    Case("hbm2_stride_spread", "HBM2", "stride_read", 100_000, HBM2_CAPACITY, stride_bytes=2048,
         note="consecutive requests sweep the channels"),
    Case("hbm2_rand_read_idle", "HBM2", "rand_read_idle", 20_000, HBM2_CAPACITY, gap=200,
         note="one request every 200 cycles: unloaded latency"),
    Case("ddr4_seq_read", "DDR4_3200", "seq_read", 100_000, DDR4_CAPACITY),
    Case("ddr4_rand_read", "DDR4_3200", "rand_read", 100_000, DDR4_CAPACITY),
    Case("ddr4_rand_rw50", "DDR4_3200", "rand_rw50", 100_000, DDR4_CAPACITY),
    Case("ddr4_seq_write", "DDR4_3200", "seq_write", 100_000, DDR4_CAPACITY),
    Case("ddr4_stride_onebank", "DDR4_3200", "stride_read", 20_000, DDR4_CAPACITY, stride_bytes=256 * 1024,
         note="every request a row conflict in rank 0, bank 0"),
    Case("ddr4_stride_spread", "DDR4_3200", "stride_read", 100_000, DDR4_CAPACITY, stride_bytes=8192,
         note="consecutive requests sweep banks, bank groups and ranks"),
    Case("ddr4_rand_read_idle", "DDR4_3200", "rand_read_idle", 20_000, DDR4_CAPACITY, gap=200,
         note="one request every 200 cycles: unloaded latency"),
    Case("hbm2_closed_seq_read", "HBM2", "seq_read", 100_000, HBM2_CAPACITY, row_policy="closed"),
    Case("hbm2_closed_rand_rw50", "HBM2", "rand_rw50", 100_000, HBM2_CAPACITY, row_policy="closed"),
    Case("ddr4_closed_seq_read", "DDR4_3200", "seq_read", 100_000, DDR4_CAPACITY, row_policy="closed"),
    Case("ddr4_closed_rand_rw50", "DDR4_3200", "rand_rw50", 100_000, DDR4_CAPACITY, row_policy="closed"),
    Case("ddr4_2400_seq_read", "DDR4_2400", "seq_read", 50_000, DDR4_CAPACITY),
    Case("ddr4_2400_rand_rw50", "DDR4_2400", "rand_rw50", 50_000, DDR4_CAPACITY),
    Case("lpddr4_seq_read", "LPDDR4", "seq_read", 50_000, LPDDR4_CAPACITY, line_bytes=128),
    Case("lpddr4_rand_rw50", "LPDDR4", "rand_rw50", 50_000, LPDDR4_CAPACITY, line_bytes=128),
)
CASE_BY_NAME = {c.name: c for c in CASES}

# (case, issue_width) -> (total_cycles, avg_read_latency_cycles, source)
DRAMSIM3_RESULTS: dict[tuple[str, int], tuple[int, float, str]] = {
    ("hbm2_seq_read", 1): (101798, 61.3139, "reference"),
    ("hbm2_rand_read", 1): (104818, 315.5505, "reference"),
    ("hbm2_rand_rw50", 1): (104731, 473.8002, "reference"),
    ("hbm2_seq_read", 4): (26995, 75.6638, "side-by-side"),
    ("hbm2_rand_read", 4): (104506, 468.2243, "side-by-side"),
    ("hbm2_rand_rw50", 4): (104706, 698.1686, "side-by-side"),
    ("hbm2_seq_write", 1): (102005, 0.0, "side-by-side"),
    ("hbm2_seq_write", 4): (26981, 0.0, "side-by-side"),
    ("hbm2_stride_onebank", 1): (1032849, 2078.7518, "side-by-side"),
    ("hbm2_stride_onebank", 4): (1032849, 2078.7830, "side-by-side"),
    ("hbm2_stride_spread", 1): (102883, 503.6998, "side-by-side"),
    ("hbm2_stride_spread", 4): (103116, 680.7577, "side-by-side"),
    ("hbm2_rand_read_idle", 1): (3999833, 45.2512, "side-by-side"),
    ("hbm2_rand_read_idle", 4): (3999833, 45.2512, "side-by-side"),
    ("ddr4_seq_read", 1): (602230, 284.7894, "side-by-side"),
    ("ddr4_seq_read", 4): (602230, 284.7957, "side-by-side"),
    ("ddr4_rand_read", 1): (498075, 531.8688, "side-by-side"),
    ("ddr4_rand_read", 4): (498075, 531.9549, "side-by-side"),
    ("ddr4_rand_rw50", 1): (542416, 938.3756, "side-by-side"),
    ("ddr4_rand_rw50", 4): (546758, 898.1186, "side-by-side"),
    ("ddr4_seq_write", 1): (600121, 0.0, "side-by-side"),
    ("ddr4_seq_write", 4): (600123, 0.0, "side-by-side"),
    ("ddr4_stride_onebank", 1): (1552230, 3126.4802, "side-by-side"),
    ("ddr4_stride_onebank", 4): (1552230, 3126.5110, "side-by-side"),
    ("ddr4_stride_spread", 1): (565574, 446.3205, "side-by-side"),
    ("ddr4_stride_spread", 4): (565574, 446.4245, "side-by-side"),
    ("ddr4_rand_read_idle", 1): (3999851, 78.2485, "side-by-side"),
    ("ddr4_rand_read_idle", 4): (3999851, 78.2485, "side-by-side"),
    # DRAMsim3 inis with row_buf_policy = CLOSE_PAGE (nothing else changed)
    ("hbm2_closed_seq_read", 1): (244573, 818.5350, "side-by-side"),
    ("hbm2_closed_rand_rw50", 1): (105700, 393.5615, "side-by-side"),
    ("ddr4_closed_seq_read", 1): (5354981, 2338.3364, "side-by-side"),
    ("ddr4_closed_rand_rw50", 1): (530364, 887.1489, "side-by-side"),
    ("ddr4_2400_seq_read", 1): (258272, 244.7318, "side-by-side"),
    ("ddr4_2400_rand_rw50", 1): (247749, 858.6946, "side-by-side"),
    ("lpddr4_seq_read", 1): (418822, 434.0647, "side-by-side"),
    ("lpddr4_rand_rw50", 1): (445403, 1171.8795, "side-by-side"),
}

# SHA-256 of the DRAMsim3-format trace (with its sentinel line) as recorded in the reference CSV.
REFERENCE_SHA256 = {
    "hbm2_seq_read": "9bb77831266288c7c5bcdb6999f6b5af9a387d4e221a3d1c7d8b2712b91bac81",
    "hbm2_rand_read": "83ee66eccde53d873b0335973fad298c72bbfcb77df3498a7fdbbafc40c4558c",
    "hbm2_rand_rw50": "aa0ed589fb10aba9839a03fcb895ef71511d78577528be36ddaf17ea8c057b0c",
}


def requests_for_pattern(pattern: str, n: int, capacity_bytes: int, seed: int = 1, line_bytes: int = 64,
                         stride_bytes: int = 0, gap: int = 0) -> Requests:
    """The requests ``reference/dram/gen_traces.py`` generates for these arguments."""
    if capacity_bytes % line_bytes:
        raise ValueError("capacity_bytes must be a multiple of line_bytes")
    n_lines = capacity_bytes // line_bytes
    if n_lines & (n_lines - 1):
        raise ValueError("capacity in lines must be a power of two")
    i = np.arange(n, dtype=np.int64)
    if pattern in ("seq_read", "seq_write"):
        return Requests.from_arrays((i % n_lines) * line_bytes, np.full(n, pattern == "seq_write"))
    if pattern == "stride_read":
        if stride_bytes <= 0 or stride_bytes % line_bytes:
            raise ValueError("stride_read needs stride_bytes, a multiple of line_bytes")
        return Requests.from_arrays((i * stride_bytes) % capacity_bytes, np.zeros(n, np.bool_))
    if pattern not in ("rand_read", "rand_rw50", "rand_read_idle"):
        raise ValueError(f"unknown pattern {pattern!r}")
    if n > n_lines // 4:
        raise ValueError("too many requests for unique random lines")
    bits = n_lines.bit_length() - 1
    rng = random.Random(seed)
    seen: set[int] = set()
    lines = np.empty(n, np.int64)
    writes = np.zeros(n, np.bool_)
    k = 0
    rw = pattern == "rand_rw50"
    while k < n:  # trace generation, not simulation: the draws must follow the reference generator
        line = rng.getrandbits(bits)
        if line in seen:
            continue
        seen.add(line)
        if rw:
            writes[k] = bool(rng.getrandbits(1))
        lines[k] = line
        k += 1
    cycle = i * gap if pattern == "rand_read_idle" else None
    return Requests.from_arrays(lines * line_bytes, writes, cycle)


def requests_for_case(case: Case) -> Requests:
    return requests_for_pattern(case.pattern, case.n, case.capacity_bytes, case.seed, case.line_bytes,
                                case.stride_bytes, case.gap)


def standard_for_case(case: Case):
    """The preset of ``case`` with its row-policy override applied."""
    std = get_standard(case.standard)
    if case.row_policy:
        std = std.replace(controller=dataclasses.replace(std.controller, row_policy=case.row_policy))
    return std


def dramsim3_trace_sha256(req: Requests) -> str:
    """SHA-256 of ``req`` rendered in DRAMsim3 trace format with the reference sentinel line."""
    h = hashlib.sha256()
    ops = np.where(req.is_write, "WRITE", "READ")
    text = "".join(f"0x{a:x} {o} {c}\n" for a, o, c in zip(req.addr.tolist(), ops.tolist(), req.cycle.tolist()))
    h.update(text.encode())
    h.update(b"0x0 READ 999999999999")
    return h.hexdigest()


def validate(case: Case | str, issue_width: int = 1) -> dict:
    """Run archsim on ``case`` and compare with DRAMsim3: a dict with both results and the errors (%)."""
    case = CASE_BY_NAME[case] if isinstance(case, str) else case
    std = standard_for_case(case)
    stats = simulate_trace(std, requests_for_case(case), issue_width=issue_width)
    ref_cycles, ref_lat, source = DRAMSIM3_RESULTS[(case.name, issue_width)]
    n_bytes = case.n * std.org.access_bytes
    assert std.org.access_bytes == case.line_bytes, "trace lines must be one access"
    ref_bw = n_bytes / (ref_cycles * std.tck_ns)
    return {
        "case": case.name, "standard": std.name, "row_policy": std.controller.row_policy,
        "issue_width": issue_width, "source": source,
        "dramsim3_total_cycles": ref_cycles, "archsim_total_cycles": stats.total_cycles,
        "dramsim3_bandwidth_gbps": ref_bw, "archsim_bandwidth_gbps": stats.bandwidth_gbps,
        "bandwidth_error_pct": 100.0 * (stats.bandwidth_gbps / ref_bw - 1.0),
        "dramsim3_avg_read_latency_cycles": ref_lat,
        "archsim_avg_read_latency_cycles": stats.avg_read_latency_cycles,
        "latency_error_pct": (100.0 * (stats.avg_read_latency_cycles / ref_lat - 1.0)) if ref_lat else 0.0,
    }


def validation_checks(quick: bool):
    """Rows for ``archsim validate-all``: total cycles (exact) and average read latency per DRAMsim3 case
    (``quick``: the three shared reference cases)."""
    import time

    from archsim.report.validation import Check

    keys = [(c, 1) for c in ("hbm2_seq_read", "hbm2_rand_read", "hbm2_rand_rw50")] if quick else sorted(DRAMSIM3_RESULTS)
    rows = []
    for case, width in keys:
        t0 = time.perf_counter()
        r = validate(case, width)
        wall = time.perf_counter() - t0
        source = ("DRAMsim3 @2981759, shared reference results" if r["source"] == "reference"
                  else "DRAMsim3 @2981759 side by side (archsim/hw/dram/validation.py)")
        name = f"{case} (issue width {width}, {r['standard']}, {r['row_policy']} page)"
        rows.append(Check("DRAMsim3", name, "total cycles", r["dramsim3_total_cycles"], source,
                          r["archsim_total_cycles"], 0.0, wall_s=wall))
        if r["dramsim3_avg_read_latency_cycles"]:
            rows.append(Check("DRAMsim3", name, "average read latency (cycles)", r["dramsim3_avg_read_latency_cycles"],
                              source, r["archsim_avg_read_latency_cycles"], 0.001,
                              explanation="the peer prints 4 decimals"))
    return rows

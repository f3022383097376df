"""Behaviour of the cycle-level DRAM model: bandwidth bounds, row policies, latency, queues,
determinism and address mapping."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from archsim.hw.dram import get_standard, preset_names, simulate_trace
from archsim.hw.dram.model import Requests, address_map
from archsim.hw.dram.validation import requests_for_pattern


def _with(std, **controller):
    return std.replace(controller=dataclasses.replace(std.controller, **controller))


def _pattern(std, pattern, n, **kw):
    return requests_for_pattern(pattern, n, std.org.capacity_bytes, line_bytes=std.org.access_bytes, **kw)


@pytest.mark.parametrize("name", preset_names())
@pytest.mark.parametrize("pattern", ["seq_read", "rand_rw50", "seq_write"])
def test_bandwidth_never_exceeds_the_standards_peak(name, pattern):
    std = get_standard(name)
    stats = simulate_trace(std, _pattern(std, pattern, 4000), issue_width=4 * std.org.channels)
    assert 0 < stats.bandwidth_gbps <= std.peak_gbps


# Row-hit streams reach ≥ 90% of peak where the standard allows it: where tCCD_L exceeds the
# burst, only a stream that alternates bank groups can, so the mapping puts channel and bank
# group in the lowest address bits ("rorabacobgch") for those.
BG_INTERLEAVED = "rorabacobgch"
STREAMS = [("HBM2", None), ("HBM2_4Gb", None), ("LPDDR4", None)] + [
    (n, BG_INTERLEAVED) for n in ("DDR4_3200", "DDR4_2400", "DDR5_4800", "DDR5_6400", "HBM3", "HBM2_2400",
                                  "GDDR6", "LPDDR5")]


@pytest.mark.parametrize("name,mapping", STREAMS)
def test_row_hit_stream_reaches_90_percent_of_peak(name, mapping):
    std = get_standard(name)
    if mapping:
        std = _with(std, address_mapping=mapping)
    stats = simulate_trace(std, _pattern(std, "seq_read", 30000), issue_width=2 * std.org.channels)
    assert stats.read_row_hits > 0.9 * stats.n_reads
    assert stats.bandwidth_gbps >= 0.9 * std.peak_gbps


@pytest.mark.parametrize("name", ["HBM2", "DDR4_3200", "LPDDR4"])
def test_closed_page_costs_more_than_open_page_on_streaming(name):
    std = get_standard(name)
    req = _pattern(std, "seq_read", 5000)
    open_ = simulate_trace(std, req)
    closed = simulate_trace(_with(std, row_policy="closed"), req)
    assert closed.total_cycles > open_.total_cycles
    assert closed.avg_read_latency_cycles > open_.avg_read_latency_cycles
    assert closed.read_row_hits == 0 and closed.act_cmds >= closed.n_reads


def test_unloaded_closed_page_read_latency_is_queue_move_plus_trcd_plus_cl_plus_burst():
    std = _with(get_standard("HBM2"), row_policy="closed")
    stats = simulate_trace(std, _pattern(std, "rand_read_idle", 300, gap=200))
    t = std.timing
    expected = 1 + t["tRCDRD"] + t["CL"] + t["tBL"]  # one cycle to move into the command queue
    lat = stats.read_latency_cycles
    assert np.median(lat) == expected and lat.min() == expected


def test_unloaded_open_page_conflict_adds_trp():
    std = get_standard("HBM2")
    stats = simulate_trace(std, _pattern(std, "rand_read_idle", 300, gap=200))
    t = std.timing
    miss = 1 + t["tRCDRD"] + t["CL"] + t["tBL"]
    lat = stats.read_latency_cycles
    # a closed bank (refresh closes rows every tREFI) costs a miss, an open other row adds tRP;
    # the few others waited for a refresh (tRFC)
    assert (lat == miss).sum() + (lat == miss + t["tRP"]).sum() >= 0.9 * lat.size
    assert (lat == miss + t["tRP"]).sum() == stats.read_row_conflicts


def test_results_are_deterministic():
    std = get_standard("DDR4_3200")
    req = _pattern(std, "rand_rw50", 3000)
    a = simulate_trace(std, req)
    b = simulate_trace(std, req)
    assert a.to_dict() == b.to_dict()
    assert np.array_equal(a.done_cycle, b.done_cycle) and np.array_equal(a.accept_cycle, b.accept_cycle)
    assert a.per_bank.equals(b.per_bank)


def test_wider_issue_does_not_lower_streaming_bandwidth():
    std = get_standard("HBM2")
    req = _pattern(std, "seq_read", 5000)
    assert simulate_trace(std, req, issue_width=8).total_cycles < simulate_trace(std, req).total_cycles


def test_few_writes_stay_in_the_write_buffer_unless_flushed():
    std = get_standard("HBM2")
    req = Requests.from_arrays(np.arange(5) * 64, np.ones(5, bool))
    kept = simulate_trace(std, req)
    assert kept.write_cmds == 0 and kept.writes_not_drained == 5
    flushed = simulate_trace(std, req, flush_writes=True)
    assert flushed.write_cmds == 5 and flushed.writes_not_drained == 0


def test_write_buffer_drains_when_more_than_the_low_watermark_and_queues_idle():
    std = get_standard("HBM2")
    req = Requests.from_arrays(np.arange(9) * 64, np.ones(9, bool))
    stats = simulate_trace(std, req)
    assert stats.write_cmds == 9


def test_read_after_pending_write_is_forwarded_and_duplicate_reads_merge():
    std = get_standard("HBM2")
    req = Requests.from_arrays([0, 0, 4096, 4096], [True, False, False, False])
    stats = simulate_trace(std, req, flush_writes=True)
    assert stats.reads_forwarded == 1 and stats.reads_merged == 1
    assert stats.read_cmds == 1
    lat = stats.read_latency_cycles
    assert lat[0] == 1  # served from the write buffer
    assert stats.done_cycle[2] == stats.done_cycle[3]


def test_refused_request_blocks_later_ones():
    std = _with(get_standard("HBM2"), trans_queue_size=2)
    # three reads to channel 0 (queue of 2), then one to channel 1: it waits behind the refused one
    ch_stride = 1 << 11  # co bits (5) + offset (6): the channel field starts at bit 11
    req = Requests.from_arrays([0, 64 * 1024 * 1024, 128 * 1024 * 1024, ch_stride], np.zeros(4, bool))
    stats = simulate_trace(std, req)
    assert (np.diff(stats.accept_cycle) >= 0).all()
    assert stats.accept_cycle[3] > stats.accept_cycle[1] + 1


def test_row_hit_cap_lets_a_waiting_conflict_through():
    # bank 0: one request to row 1 queued behind a stream of hits to row 0
    row = 1 << (6 + 5 + 3 + 2 + 2)
    addr = np.concatenate([[0], [row], np.arange(1, 20) * 64 % 2048])
    req = Requests.from_arrays(addr, np.zeros(addr.size, bool))

    def hits_before_precharge(cap):
        log = simulate_trace(_with(get_standard("HBM2"), row_hit_cap=cap), req, log_commands=1000).command_log
        pre_t = log[log.command == "PRE"].cycle.min()
        return int(((log.command == "RD") & (log.cycle < pre_t)).sum()), int(pre_t)

    uncapped, pre_uncapped = hits_before_precharge(1000)
    assert uncapped == 20  # FR-FCFS without a cap serves every hit first
    # With a cap of 1 the conflict wins as soon as the precharge is timing-legal. (Back-to-back
    # hits keep pushing RD -> PRE (tRTP) out, as in DRAMsim3, so it still waits for a gap.)
    capped, pre_capped = hits_before_precharge(1)
    assert capped <= uncapped and pre_capped <= pre_uncapped
    std = get_standard("DDR4_3200")
    req2 = _pattern(std, "stride_read", 3000, stride_bytes=8192 * 3 + 64)
    few = simulate_trace(_with(std, row_hit_cap=1), req2)
    many = simulate_trace(_with(std, row_hit_cap=64), req2)
    assert few.read_row_hits <= many.read_row_hits


def test_address_mapping_string_places_fields_msb_to_lsb():
    std = get_standard("HBM2")  # rorabgbachco
    amap = address_map(std)
    f = amap.decode(np.array([(3 << 6) | (5 << 11) | (2 << 14) | (1 << 16) | (7 << 18)]))
    assert (int(f["co"][0]), int(f["ch"][0]), int(f["ba"][0]), int(f["bg"][0]), int(f["ro"][0])) == (3, 5, 2, 1, 7)
    other = address_map(_with(std, address_mapping="chrorabgbaco"))
    assert other.pos["ch"] > other.pos["ro"] > other.pos["co"]


def test_decode_kernel_equals_shift_and_mask():
    std = get_standard("DDR4_3200")
    amap = address_map(std)
    addr = np.random.default_rng(3).integers(0, std.org.capacity_bytes, 5000)
    f = amap.decode(addr)
    for name in ("ch", "ra", "bg", "ba", "ro", "co"):
        expect = (addr >> amap.shift_bits >> amap.pos[name]) & ((1 << amap.width[name]) - 1)
        assert np.array_equal(f[name], expect), name


@pytest.mark.parametrize("n", [1, 2, 3, 10, 101, 4096])
def test_latency_percentiles_equal_numpys(n):
    from archsim.hw.dram.model import _percentiles

    rng = np.random.default_rng(n)
    for high in (1, 7, 400):
        v = rng.integers(0, high, n)
        assert _percentiles(v, (50, 95, 99)) == tuple(float(x) for x in np.percentile(v, [50, 95, 99]))


def test_per_bank_statistics_add_up():
    std = get_standard("DDR4_3200")
    stats = simulate_trace(std, _pattern(std, "rand_rw50", 2000))
    pb = stats.per_bank
    assert len(pb) == std.org.channels * std.org.banks_per_channel
    assert pb.act_cmds.sum() == stats.act_cmds
    assert pb.read_cmds.sum() == stats.read_cmds and pb.write_cmds.sum() == stats.write_cmds
    assert stats.read_row_hits + stats.read_row_misses + stats.read_row_conflicts == stats.read_cmds
    assert (pb.row_open_fraction <= 1).all()


def test_empty_trace_gives_zero_cycles():
    stats = simulate_trace(get_standard("HBM2"), Requests.from_arrays([], []))
    assert stats.total_cycles == 0 and stats.bandwidth_gbps == 0.0 and stats.n_requests == 0


def test_contiguous_transfer_time_is_near_the_bandwidth_bound():
    from archsim.hw.dram import transfer

    std = get_standard("HBM2")
    n_bytes = 1 << 20
    stats = transfer(std, n_bytes)
    bound = n_bytes / std.peak_gbps / std.tck_ns  # cycles at peak bandwidth
    assert stats.n_requests == n_bytes // 64
    assert bound <= stats.total_cycles <= 1.25 * bound
    wr = transfer(std, n_bytes, is_write=True)
    assert wr.write_cmds == wr.n_writes  # flushed to the device


def test_refresh_can_be_switched_off_and_then_costs_nothing():
    std = get_standard("HBM2")
    req = _pattern(std, "seq_read", 20000)
    on = simulate_trace(std, req)
    off = simulate_trace(_with(std, refresh="none"), req)
    assert on.ref_cmds > 0 and off.ref_cmds == 0
    assert off.total_cycles <= on.total_cycles


def test_stats_convert_to_a_one_row_table():
    std = get_standard("HBM2")
    df = simulate_trace(std, _pattern(std, "seq_read", 100)).to_frame()
    assert len(df) == 1 and {"total_cycles", "bandwidth_gbps", "avg_read_latency_cycles"} <= set(df.columns)


@pytest.mark.parametrize("name", preset_names())
@pytest.mark.parametrize("policy", ["open", "closed"])
def test_every_request_completes_with_duplicates_and_bursty_releases(name, policy):
    std = _with(get_standard(name), row_policy=policy)
    rng = np.random.default_rng(3)
    n = 3000
    lines = rng.integers(0, 400, n)  # few distinct lines: forwarding and merging paths
    addr = lines * std.org.access_bytes * 37 % std.org.capacity_bytes
    cycle = np.sort(rng.integers(0, 20000, n))
    req = Requests.from_arrays(addr, rng.random(n) < 0.4, cycle)
    stats = simulate_trace(std, req, issue_width=3, flush_writes=True)
    rd = ~req.is_write
    assert (stats.accept_cycle >= req.cycle).all()
    assert (stats.done_cycle[rd] > stats.accept_cycle[rd]).all()
    assert stats.writes_not_drained == 0
    assert stats.write_cmds + stats.writes_merged == stats.n_writes
    assert stats.read_cmds + stats.reads_merged + stats.reads_forwarded == stats.n_reads


@pytest.mark.parametrize("name", ["HBM2", "DDR4_3200", "LPDDR4"])
def test_forwarded_and_merged_reads_are_exactly_those_a_pending_request_explains(name):
    # Oracle from the outputs alone: a read accepted at cycle T is forwarded iff a write accepted before it
    # (same address, not merged) had not issued its WR by T; else merged iff such a read had not issued
    # its RD by T (RD cycle = data return - read delay). Guards the pending-address filter in the kernel.
    std = get_standard(name)
    rng = np.random.default_rng(11)
    n = 4000
    addr = rng.integers(0, 120, n) * std.org.access_bytes * 37 % std.org.capacity_bytes
    req = Requests.from_arrays(addr, rng.random(n) < 0.3, np.sort(rng.integers(0, 8000, n)))
    stats = simulate_trace(std, req, issue_width=2, flush_writes=True)
    assert stats.writes_not_drained == 0
    acc, done, w = stats.accept_cycle, stats.done_cycle, req.is_write
    issued = np.where(w, done, done - std.read_latency_cycles)  # WR issue cycle / RD issue cycle
    forwarded = merged = 0
    for i in np.flatnonzero(~w):
        t = acc[i]
        earlier = (req.addr[:i] == req.addr[i]) & (acc[:i] <= t) & (issued[:i] > t)
        if (earlier & w[:i] & (done[:i] >= 0)).any():
            forwarded += 1
        elif (earlier & ~w[:i] & (done[:i] > acc[:i] + 2)).any():
            merged += 1
    assert (forwarded, merged) == (stats.reads_forwarded, stats.reads_merged)
    assert forwarded > 50 and merged > 20


@pytest.mark.parametrize("name", preset_names())
@pytest.mark.parametrize("policy", ["open", "closed"])
def test_compacted_constraint_table_issues_the_same_commands_as_the_full_one(name, policy):
    # kernel_inputs hands the kernel compact_constraints' rows (aliased bound rows, merged and dropped
    # rules); the full table, each command in its own row, must give the same command stream
    from archsim.hw.dram.model import kernel_inputs
    from archsim.hw.dram.standards import CMD_INDEX, LEVEL_INDEX, constraint_table
    from archsim.kernels import dram_codes as K
    from archsim.kernels.native import kernels

    std = _with(get_standard(name), row_policy=policy)
    req = _pattern(std, "rand_rw50", 3000, seed=7)
    p, cons, win = kernel_inputs(std, issue_width=2, log_commands=100_000)
    full = np.array(sorted((CMD_INDEX[c.prev], CMD_INDEX[c.next], LEVEL_INDEX[c.level], c.cycles)
                           for c in constraint_table(std)
                           if c.window <= 1 and not (c.level == "other_ranks" and std.org.ranks == 1)),
                    np.int64).reshape(-1, 4)
    assert len(cons) < len(full)
    p_full = p.copy()
    p_full[K.P_BOUND_ROW:K.P_BOUND_ROW + K.NCMD] = np.arange(K.NCMD)
    f = address_map(std).decode(req.addr)
    o = std.org
    bank = (f["ra"] * o.bankgroups + f["bg"]) * o.banks_per_group + f["ba"]
    args = (req.cycle, req.is_write, req.addr, f["ch"], np.ascontiguousarray(bank), f["ro"], f["co"])
    compact = kernels("dram").simulate_requests(*args, p, cons, win)
    reference = kernels("dram").simulate_requests(*args, p_full, full, win)
    for got, want in zip(compact, reference):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", [n for n in preset_names() if get_standard(n).org.channels == 1])
@pytest.mark.parametrize("policy", ["open", "closed"])
def test_one_channel_kernel_equals_the_general_kernel(name, policy):
    # simulate_trace runs single-channel standards on the kernel compiled with the channel index fixed at 0;
    # the general kernel must give the same outputs, command log included
    from archsim.hw.dram.model import kernel_inputs
    from archsim.kernels.native import kernels

    std = _with(get_standard(name), row_policy=policy)
    req = _pattern(std, "rand_rw50", 3000, seed=11)
    p, cons, win = kernel_inputs(std, issue_width=2, log_commands=100_000)
    f = address_map(std).decode(req.addr)
    o = std.org
    bank = (f["ra"] * o.bankgroups + f["bg"]) * o.banks_per_group + f["ba"]
    args = (req.cycle, req.is_write, req.addr, f["ch"], np.ascontiguousarray(bank), f["ro"], f["co"], p, cons, win)
    one = kernels("dram").simulate_requests_one_channel(*args)
    general = kernels("dram").simulate_requests(*args)
    assert len(one[6]) > 3000  # the command log is compared too
    for got, want in zip(one, general):
        np.testing.assert_array_equal(got, want)


def test_one_channel_kernel_refuses_a_multi_channel_standard():
    from archsim.hw.dram.model import kernel_inputs
    from archsim.kernels.native import kernels

    std = get_standard("HBM2")
    assert std.org.channels > 1
    req = _pattern(std, "rand_rw50", 100, seed=1)
    p, cons, win = kernel_inputs(std)
    f = address_map(std).decode(req.addr)
    zeros = np.zeros(len(req), np.int64)
    with pytest.raises(ValueError, match="more than one channel"):
        kernels("dram").simulate_requests_one_channel(req.cycle, req.is_write, req.addr, f["ch"], zeros, zeros,
                                                      zeros, p, cons, win)

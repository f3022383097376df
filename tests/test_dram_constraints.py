"""One test per timing constraint: the issued command schedule never violates it, and the
constraint is binding somewhere (a command that would have gone earlier was delayed to exactly
``prev + n`` cycles by it). Plus the four-activate window and refresh every tREFI."""
from __future__ import annotations

import functools

import numpy as np
import pytest

from archsim.hw.dram import get_standard, simulate_trace
from archsim.hw.dram.model import Requests
from archsim.hw.dram.standards import CMD_INDEX, COMMANDS, constraint_table

N_CMD = len(COMMANDS)


def _workload(std, n_rand: int, seed: int) -> Requests:
    """Random reads/writes, then a sequential burst, then a one-bank conflict stream, all mixed so
    that every rule gets a chance to bind; released over more than two refresh intervals."""
    rng = np.random.default_rng(seed)
    cap = std.org.capacity_bytes
    line = std.org.access_bytes
    a_rand = rng.integers(0, cap // line, n_rand) * line
    w_rand = rng.random(n_rand) < 0.5
    a_seq = np.arange(n_rand) * line
    w_seq = (np.arange(n_rand) // 64) % 2 == 1  # alternating read and write runs: turnarounds
    row_stride = cap // std.org.rows  # same bank, next row under a row-most-significant mapping
    a_conf = (np.arange(n_rand // 4) % 8) * row_stride + (np.arange(n_rand // 4) % 3) * line
    w_conf = np.arange(n_rand // 4) % 3 == 0
    addr = np.concatenate([a_rand, a_seq, a_conf])
    is_w = np.concatenate([w_rand, w_seq, w_conf])
    cyc = np.sort(rng.integers(0, 3 * int(std.timing["tREFI"]), addr.size))
    return Requests.from_arrays(addr, is_w, cyc)


def _scope_masks(std):
    o = std.org
    nb = o.banks_per_channel
    b = np.arange(nb)
    rank = b // o.banks_per_rank
    bg = b // o.banks_per_group  # bank-group id unique per rank
    return {
        "bank": b[:, None] == b[None, :],
        "bankgroup": bg[:, None] == bg[None, :],
        "rank": rank[:, None] == rank[None, :],
        "other_ranks": rank[:, None] != rank[None, :],
        "channel": np.ones((nb, nb), bool),
    }


def _check(std, log):
    """Replay ``log`` against the constraint table: (violations, binding counts) per constraint."""
    cons = [c for c in constraint_table(std) if c.window == 1]
    masks = _scope_masks(std)
    o = std.org
    nch, nb = o.channels, o.banks_per_channel
    last = np.full((nch, nb, N_CMD), -(10**12), np.int64)
    by_next: dict[int, list[int]] = {}
    for k, c in enumerate(cons):
        by_next.setdefault(CMD_INDEX[c.next], []).append(k)
    viol = np.zeros(len(cons), np.int64)
    bind = np.zeros(len(cons), np.int64)
    for t, ch, b, cmd, _req in log:
        targets = np.arange((b // o.banks_per_rank) * o.banks_per_rank,
                            (b // o.banks_per_rank + 1) * o.banks_per_rank) if cmd == CMD_INDEX["REF"] else [b]
        for k in by_next.get(cmd, ()):
            c = cons[k]
            scope = np.any(masks[c.level][targets], axis=0)
            if not scope.any():
                continue
            bound = last[ch, scope, CMD_INDEX[c.prev]].max() + c.cycles
            if t < bound:
                viol[k] += 1
            elif t == bound:
                bind[k] += 1
        last[ch, targets, cmd] = t
    return cons, viol, bind


@functools.lru_cache(maxsize=None)
def _results(name: str, row_policy: str):
    std = get_standard(name)
    if row_policy != std.controller.row_policy:
        import dataclasses
        std = std.replace(controller=dataclasses.replace(std.controller, row_policy=row_policy))
    n = 1500 if std.org.channels >= 8 else 600
    stats = simulate_trace(std, _workload(std, n, 7), log_commands=10**6)
    log = stats.command_log[["cycle", "channel", "bank", "command", "request"]].copy()
    log["command"] = log["command"].map(CMD_INDEX)
    cons, viol, bind = _check(std, log.to_numpy())
    out = {}
    for c, v, bd in zip(cons, viol, bind):
        key = f"{c.prev}->{c.next}@{c.level}"
        pv, pb = out.get(key, (0, 0))
        out[key] = (pv + int(v), pb + int(bd))
    return out, stats


CONFIGS = [("HBM2", "open"), ("HBM2", "closed"), ("DDR4_3200", "open"), ("DDR4_3200", "closed"),
           ("LPDDR4", "open"), ("LPDDR4", "closed")]


def _all_keys():
    keys = set()
    for name, _ in CONFIGS:
        for c in constraint_table(get_standard(name)):
            if c.window == 1:
                keys.add(f"{c.prev}->{c.next}@{c.level}")
    return sorted(keys)


def _cannot_bind(key: str) -> bool:
    """Rules no single run can make binding: a plain column command (RD/WR, open page) next to an
    auto-precharge one (RDA/WRA, closed page) never meet in one run since the row policy is fixed;
    REF -> REF (tRFC) is always covered by the refresh interval tREFI >> tRFC."""
    prev, rest = key.split("->")
    nxt = rest.split("@")[0]
    plain, auto = {"RD", "WR"}, {"RDA", "WRA"}
    return (prev in plain and nxt in auto) or (prev in auto and nxt in plain) or key == "REF->REF@rank"


@pytest.mark.parametrize("key", _all_keys())
def test_timing_constraint_never_violated_and_binding(key):
    total_v, total_b = 0, 0
    for name, pol in CONFIGS:
        res, _ = _results(name, pol)
        v, b = res.get(key, (0, 0))
        total_v += v
        total_b += b
    assert total_v == 0, f"{key}: {total_v} commands issued earlier than the constraint allows"
    cycles = [c.cycles for name, _ in CONFIGS for c in constraint_table(get_standard(name))
              if f"{c.prev}->{c.next}@{c.level}" == key]
    if not _cannot_bind(key) and max(cycles) > 0:  # a 0-cycle rule imposes nothing to bind
        assert total_b > 0, f"{key}: never the binding constraint in the test workloads"


@pytest.mark.parametrize("name", ["HBM2", "DDR4_3200"])
def test_four_activate_window_holds_and_binds(name):
    _, stats = _results(name, "open")
    std = get_standard(name)
    log = stats.command_log
    acts = log[log.command == "ACT"].copy()
    acts["rank"] = acts.bank // std.org.banks_per_rank
    gaps = []
    for _, g in acts.groupby(["channel", "rank"]):
        t = np.sort(g.cycle.to_numpy())
        if t.size > 4:
            gaps.append(t[4:] - t[:-4])
    gaps = np.concatenate(gaps)
    assert gaps.min() >= std.timing["tFAW"]
    assert (gaps == std.timing["tFAW"]).any()


@pytest.mark.parametrize("name", ["HBM2", "DDR4_3200"])
def test_refresh_happens_every_trefi_per_rank(name):
    std = get_standard(name)
    _, stats = _results(name, "open")
    log = stats.command_log
    refs = log[log.command == "REF"]
    interval = std.timing["tREFI"] // std.org.ranks
    end = int(log.cycle.max())
    for ch in range(std.org.channels):
        r = refs[refs.channel == ch]
        # one REF per staggered interval, rank by rank, each within tRFC + a row cycle of being due
        assert len(r) == end // interval or len(r) == end // interval - 1
        due = np.arange(1, len(r) + 1) * interval
        delay = r.cycle.to_numpy() - due
        assert (delay >= 0).all() and (delay <= std.timing["tRC"] + std.timing["tRFC"]).all()
        ranks = (r.bank // std.org.banks_per_rank).to_numpy()
        assert (ranks == np.arange(len(r)) % std.org.ranks).all()
        for rank in range(std.org.ranks):
            t = r.cycle.to_numpy()[ranks == rank]
            if t.size > 1:
                assert abs(np.diff(t).mean() - std.timing["tREFI"]) <= std.timing["tRFC"]

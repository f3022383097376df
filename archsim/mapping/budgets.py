"""COSMA's scratchpad budgets: M_R (largest op footprint), M_P (minimum peak footprint over all schedules,
the "MPMF" schedule of COSMA Eq. 13-15) and M_H = (M_R + M_P) / 2. All sizes in bytes.

The footprint of a schedule without spills at step ``t`` is the op's inputs and outputs plus every tensor
produced (or first read) earlier and read again later; allocation (fragmentation) is ignored, as in the
paper's MPMF formulation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from archsim.mapping.cosma import _windows
from archsim.mapping.solver import HighsBackend, Milp, MilpBackend
from archsim.mapping.tensors import TensorView


@dataclass(frozen=True)
class Budgets:
    """The three budgets (bytes), the MPMF order that reaches ``m_p`` and whether the solver proved it
    minimal (``m_p_optimal``; otherwise ``m_p`` is the best peak found within the time limit)."""

    m_r: int
    m_p: int
    m_h: int
    mpmf_order: tuple[int, ...]
    m_p_optimal: bool


def peak_footprint(view: TensorView, order: Sequence[int]) -> int:
    """Peak scratchpad bytes of ``order`` when nothing is ever spilled (bytes)."""
    pos = {v: i for i, v in enumerate(order)}
    delta = [0] * (len(order) + 1)
    for t in view.tensors:
        steps = [pos[c] for c in t.consumers]
        if t.producer is not None:
            steps.append(pos[t.producer])
        if steps:
            delta[min(steps)] += t.size
            delta[max(steps) + 1] -= t.size
    peak = running = 0
    for d in delta[:-1]:
        running += d
        peak = max(peak, running)
    return peak


def mpmf_order(view: TensorView, time_limit_s: float = 30.0, backend: MilpBackend | None = None
               ) -> tuple[tuple[int, ...], int, bool]:
    """The order of minimum peak footprint (COSMA Eq. 13-15): (order, peak in bytes, proven optimal).
    Seeded with the trace order, so the result is never worse than it."""
    order = list(view.op_ids)
    n = len(order)
    early, late = _windows(view, order)
    m = Milp()
    X = {(v, t): m.var() for v in order for t in range(early[v], late[v] + 1)}
    for v in order:
        m.add({X[v, t]: 1 for t in range(early[v], late[v] + 1)}, 1, 1)
    for t in range(n):
        m.add({X[v, t]: 1 for v in order if (v, t) in X}, 1, 1)
    base_peak = peak_footprint(view, order)
    peak = m.var(0, base_peak, cost=1.0, integer=False)

    def by(v: int, t: int) -> dict[int, float]:
        """Terms of 'v has run at or before step t'."""
        return {X[v, k]: 1.0 for k in range(early[v], min(t, late[v]) + 1)}

    for v in order:
        for u in view.deps[v]:
            for t in range(early[v], late[v] + 1):
                terms = by(v, t)
                for c, k in by(u, t - 1).items():
                    terms[c] = terms.get(c, 0) - k
                m.add(terms, upper=0)
    occupancy: list[dict[int, float]] = [dict() for _ in range(n)]
    for tensor in view.tensors:
        users = list(tensor.consumers) + ([tensor.producer] if tensor.producer is not None else [])
        if not users:
            continue
        lo = min(early[u] for u in users)
        hi = max(late[u] for u in users)
        for t in range(lo, hi + 1):
            # resident at t when some user ran by t and some user runs at or after t
            r = m.var()
            # r >= [user a ran by t] - [user b ran by t-1]: a tensor is live from its first to last user
            firsts = [tensor.producer] if tensor.producer is not None else users
            for a in firsts:
                for b in users:
                    terms = {r: 1.0}
                    for c, k in by(a, t).items():
                        terms[c] = terms.get(c, 0) - k
                    for c, k in by(b, t - 1).items():
                        terms[c] = terms.get(c, 0) + k
                    m.add(terms, lower=0)
            occupancy[t][r] = occupancy[t].get(r, 0) + tensor.size
    for t in range(n):
        m.add({**occupancy[t], peak: -1.0}, upper=0)
    result = (backend or HighsBackend()).solve(m, time_limit_s, None)
    if not result.has_solution or result.objective >= base_peak:
        return tuple(order), base_peak, result.status == "optimal"
    found = sorted(((t, v) for (v, t), c in X.items() if result.values[c] > 0.5))
    best = tuple(v for _, v in found)
    return best, peak_footprint(view, best), result.status == "optimal"


def budgets(view: TensorView, time_limit_s: float = 30.0, backend: MilpBackend | None = None) -> Budgets:
    """M_R, M_P and M_H of ``view`` (bytes)."""
    order, m_p, optimal = mpmf_order(view, time_limit_s, backend)
    m_r = view.min_capacity
    return Budgets(m_r, m_p, (m_r + m_p) // 2, order, optimal)

"""A small mixed-integer linear program and the backend that solves it (HiGHS through ``highspy``).

Formulations (``archsim.mapping.cosma``) build a ``Milp`` — columns with bounds, costs and integrality,
rows as sparse ``{column: coefficient}`` dicts with lower/upper bounds — and hand it to a backend. The
backend interface is one method, ``solve(milp, time_limit_s, start) -> MilpResult``, so OR-Tools or
another MILP solver can replace HiGHS without touching a formulation.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Protocol, Sequence

from archsim.errors import MappingError

INF = math.inf


@dataclass
class Milp:
    """A minimisation MILP under construction (columns indexed from 0, in insertion order)."""

    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    rows: list[tuple[float, dict[int, float], float]] = field(default_factory=list)
    offset: float = 0.0

    def var(self, lower: float = 0.0, upper: float = 1.0, cost: float = 0.0, integer: bool = True) -> int:
        """Add a column; returns its index. Defaults make a binary."""
        self.lower.append(lower)
        self.upper.append(upper)
        self.cost.append(cost)
        self.integer.append(integer)
        return len(self.lower) - 1

    def add(self, terms: dict[int, float], lower: float = -INF, upper: float = INF) -> None:
        """Add the row ``lower <= sum(coef * x[col]) <= upper`` (zero coefficients dropped)."""
        terms = {c: v for c, v in terms.items() if v != 0}
        if terms:
            self.rows.append((lower, terms, upper))
        elif lower > 1e-9 or upper < -1e-9:
            raise MappingError("internal: an empty MILP row is infeasible")

    @property
    def num_vars(self) -> int:
        """Number of columns."""
        return len(self.lower)


@dataclass(frozen=True)
class MilpResult:
    """Outcome of a solve: ``status`` ("optimal", "time_limit", "infeasible", …); ``objective`` of the best
    incumbent and the proven ``bound`` (both include the MILP's offset; NaN when absent); relative
    ``gap``; wall ``seconds``; ``values`` of the incumbent (empty when there is none)."""

    status: str
    objective: float
    bound: float
    gap: float
    seconds: float
    values: tuple[float, ...] = ()

    @property
    def has_solution(self) -> bool:
        """True when an incumbent exists."""
        return bool(self.values)


class MilpBackend(Protocol):
    """Anything that can solve a Milp."""

    def solve(self, milp: Milp, time_limit_s: float, start: Sequence[float] | None = None) -> MilpResult:
        ...


@dataclass(frozen=True)
class HighsBackend:
    """HiGHS via ``highspy``: ``threads`` worker threads, proven-optimal stop at ``abs_gap`` (objective units)."""

    threads: int = 1
    abs_gap: float = 1e-6
    rel_gap: float = 0.0

    def solve(self, milp: Milp, time_limit_s: float, start: Sequence[float] | None = None) -> MilpResult:
        """Solve ``milp`` within ``time_limit_s`` seconds, from the ``start`` incumbent when it is feasible."""
        try:
            import highspy
            import numpy as np
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise MappingError("the COSMA ILP needs the 'highspy' package (pip install highspy)") from exc
        t0 = time.perf_counter()
        h = _quiet_highs(highspy)
        h.setOptionValue("output_flag", False)
        h.setOptionValue("time_limit", float(max(time_limit_s, 0.01)))
        h.setOptionValue("mip_rel_gap", self.rel_gap)
        h.setOptionValue("mip_abs_gap", self.abs_gap)
        h.setOptionValue("threads", self.threads)
        h.setOptionValue("random_seed", 0)
        n = milp.num_vars
        h.addVars(n, np.array(milp.lower, dtype=float), np.array(milp.upper, dtype=float))
        h.changeColsCost(n, np.arange(n, dtype=np.int32), np.array(milp.cost, dtype=float))
        ints = np.array([i for i, flag in enumerate(milp.integer) if flag], dtype=np.int32)
        if len(ints):
            h.changeColsIntegrality(len(ints), ints, np.full(len(ints), highspy.HighsVarType.kInteger))
        if milp.rows:
            lo, hi, starts, index, value = [], [], [], [], []
            for lower, terms, upper in milp.rows:
                lo.append(lower)
                hi.append(upper)
                starts.append(len(index))
                index.extend(terms.keys())
                value.extend(terms.values())
            h.addRows(len(lo), np.array(lo, dtype=float), np.array(hi, dtype=float), len(index),
                      np.array(starts, dtype=np.int32), np.array(index, dtype=np.int32),
                      np.array(value, dtype=float))
        if start is not None:
            sol = highspy.HighsSolution()
            sol.col_value = [float(x) for x in start]
            sol.value_valid = True
            h.setSolution(sol)
        h.run()
        status = h.modelStatusToString(h.getModelStatus()).lower()
        info = h.getInfo()
        has = info.primal_solution_status == 2  # kSolutionStatusFeasible
        values = tuple(h.getSolution().col_value) if has else ()
        objective = info.objective_function_value + milp.offset if has else math.nan
        bound = info.mip_dual_bound + milp.offset if math.isfinite(info.mip_dual_bound) else math.nan
        if "optimal" in status:
            status, bound = "optimal", objective
        elif "time limit" in status:
            status = "time_limit"
        elif "infeasible" in status:
            status = "infeasible"
        gap = _gap(objective, bound)
        return MilpResult(status, objective, bound, gap, time.perf_counter() - t0, values)


def _quiet_highs(highspy):
    """A Highs instance, without the banner HiGHS writes to the process's stdout on creation."""
    import os
    import sys

    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):  # no real stdout (e.g. captured): nothing to hide
        return highspy.Highs()
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _gap(objective: float, bound: float) -> float:
    """Relative gap |objective - bound| / max(|objective|, 1); 0 when proven optimal, NaN when unknown."""
    if math.isnan(objective) or math.isnan(bound):
        return math.nan
    return max(0.0, objective - bound) / max(abs(objective), 1.0)

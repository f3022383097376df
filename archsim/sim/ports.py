"""Bandwidth resources: memory ports and links whose bandwidth concurrent streams share.

A ``Port`` has a peak of ``bytes_per_cycle`` (architecture clock). Every stream crossing it is a *flow*
with bytes to move, a rate cap (the rate its task would have moved them alone: bytes over the task's
uncontended cycles; unlimited for a plain transfer) and a weight (how many identical streams it stands
for). The port divides its bandwidth by weighted max-min fairness (water-filling): a flow never exceeds
its cap, and what capped flows leave is shared by the others in proportion to their weights. So
concurrent streams never exceed the peak, N equal unlimited streams each get 1/N of it, and a lone flow
moves at its cap — the task takes exactly the cycles its hardware model gave.

A *hold* reserves a fraction of the bandwidth for its owner (a PIM phase in blocked mode holds 1.0: no
ordinary access proceeds; with dual row buffers it holds only the command-bus share its commands take);
flows share what is left, and resume when the hold ends.

Time advances in whole cycles: rates are piecewise constant between changes (a flow starts or ends, a
hold begins or ends), and the port wakes at the first cycle boundary by which some flow is through. A
flow therefore finishes at most one cycle late per rate change it lives through (the error bound of this
fluid model against an exact processor-sharing one); uncontended flows finish exactly on time. One SimPy
event per rate change, never per cycle.
"""
from __future__ import annotations

import math
from typing import Callable

import simpy

_EPS_CYCLES = 1e-6     # a flow with less than this many cycles of work left is done


class Flow:
    """One stream on a port (see module docstring). ``on_done()`` is called once its bytes are through."""

    __slots__ = ("port", "remaining", "cap", "weight", "rate", "on_done", "total")

    def __init__(self, port: "Port", n_bytes: float, cap: float, weight: float, on_done: Callable[[], None]):
        self.port = port
        self.total = float(n_bytes)
        self.remaining = float(n_bytes)
        self.cap = cap
        self.weight = weight
        self.rate = 0.0
        self.on_done = on_done


class Port:
    """A shared bandwidth resource (a memory port, a link); see module docstring."""

    def __init__(self, env: simpy.Environment, name: str, bytes_per_cycle: float, kind: str = "memory"):
        if not bytes_per_cycle > 0:
            raise ValueError(f"port {name!r}: bandwidth must be positive, got {bytes_per_cycle} bytes/cycle")
        self.env = env
        self.name = name
        self.kind = kind
        self.bytes_per_cycle = float(bytes_per_cycle)
        self.flows: list[Flow] = []
        self.held = 0.0
        self._t = 0
        self._timer = 0                # generation of the pending wake-up; older ones are stale
        # statistics over the run
        self.bytes_moved = 0.0
        self.busy_cycles = 0           # cycles with at least one flow moving
        self.held_cycles = 0           # cycles with some bandwidth held
        self.peak_flows = 0

    # ------------------------------------------------------------------ public
    def start_flow(self, n_bytes: float, cap: float, weight: float, on_done: Callable[[], None]) -> Flow:
        """Begin moving ``n_bytes`` at up to ``cap`` bytes/cycle (``math.inf``: no cap) for ``weight``
        identical streams; ``on_done`` runs when they are through."""
        self._advance()
        flow = Flow(self, n_bytes, cap, weight, on_done)
        self.flows.append(flow)
        self.peak_flows = max(self.peak_flows, len(self.flows))
        self._settle()
        return flow

    def hold(self, fraction: float) -> None:
        """Reserve ``fraction`` of the bandwidth (until ``unhold``)."""
        self._advance()
        self.held += fraction
        self._settle()

    def unhold(self, fraction: float) -> None:
        """End a reservation made with ``hold``."""
        self._advance()
        self.held = max(0.0, self.held - fraction)
        if self.held < 1e-12:
            self.held = 0.0
        self._settle()

    @property
    def available(self) -> float:
        """Bytes per cycle the flows may share now (the peak minus what is held)."""
        return self.bytes_per_cycle * max(0.0, 1.0 - self.held)

    # ------------------------------------------------------------------ internals
    def _advance(self) -> None:
        now = self.env.now
        dt = now - self._t
        if dt <= 0:
            return
        moving = False
        for f in self.flows:
            if f.rate > 0:
                moved = min(f.remaining, f.rate * dt)
                f.remaining -= moved
                self.bytes_moved += moved
                moving = True
        if moving:
            self.busy_cycles += dt
        if self.held > 0:
            self.held_cycles += dt
        self._t = now

    def _allocate(self) -> None:
        """Weighted max-min fair rates under each flow's cap (water-filling)."""
        flows = self.flows
        if not flows:
            return
        avail = self.available
        if sum(f.cap for f in flows) <= avail:
            for f in flows:
                f.rate = f.cap
            return
        left, weight = avail, sum(f.weight for f in flows)
        ordered = sorted(flows, key=lambda f: f.cap / f.weight)
        for i, f in enumerate(ordered):
            if f.cap * weight <= left * f.weight:
                f.rate = f.cap
                left -= f.cap
                weight -= f.weight
            else:
                for g in ordered[i:]:
                    g.rate = left * g.weight / weight
                return

    def _settle(self) -> None:
        """Finish flows that are through, recompute rates, schedule the next wake-up, then tell the owners
        of finished flows (who may start or hold something here again: that settles the port anew)."""
        done = [f for f in self.flows if f.remaining <= max(f.total * 1e-12, f.rate * _EPS_CYCLES, 1e-9)]
        if done:
            for f in done:
                self.bytes_moved += f.remaining
                f.remaining = 0.0
            self.flows = [f for f in self.flows if f.remaining > 0.0]
        self._allocate()
        self._timer += 1
        soonest = min((f.remaining / f.rate for f in self.flows if f.rate > 0), default=None)
        if soonest is not None:
            wake = max(1, math.ceil(soonest - _EPS_CYCLES))
            gen = self._timer
            self.env.timeout(wake).callbacks.append(lambda _e, g=gen: self._wake(g))
        for f in done:
            f.on_done()

    def _wake(self, gen: int) -> None:
        if gen != self._timer:
            return
        self._advance()
        self._settle()

    def utilization(self, span_cycles: int) -> float:
        """Bytes moved / (peak bytes per cycle x ``span_cycles``)."""
        return self.bytes_moved / (self.bytes_per_cycle * span_cycles) if span_cycles else 0.0

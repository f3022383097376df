"""Tier plans: what a run does with an architecture's memory tiers (``kind: tiers``: SRAM → HBM → DDR …).

A ``TierPlan`` says where each tensor starts (``home``), which tensors an op needs in which tier before it
may start (``fetch``: staged copies are freed when the op ends unless ``keep``), which tensors an op writes
into a tier (``produce``), and what happens after an op (``after``: ``store`` copies, ``free`` drops a
resident copy). ``archsim.mapping.program`` compiles it into DMA tasks and token pools (one per tier, its
capacity in bytes) of the event engine, with double buffering: the fetches of the k-th staged op are issued
once the (k − ``buffers``)-th staged op has ended (``buffers=2``: the next op's inputs load while the current
op computes), so allocation never deadlocks as long as each op's own set fits.

``weight_staging_plan`` builds the common plan: weights live in the slower tiers (the first one below the
staging tier with room, as SN40L's allocator does — HBM if it fits, else DDR) and each op's weights are
staged into the fastest tier before it runs. ``archsim.simulate`` uses it on any architecture with tiers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from archsim.hw.tiers import TierCapacityError, TierSystem


@dataclass(frozen=True)
class Fetch:
    """``tensor`` must have a valid copy in ``tier`` before the op starts. The copy is pinned while the op
    runs and freed afterwards unless ``keep`` (then it stays resident, like a home copy)."""

    tensor: str
    tier: str
    keep: bool = False
    operand: str = ""      # the op operand this copy supplies (input, weight …): resident for the op


@dataclass(frozen=True)
class Produce:
    """The op writes ``tensor`` into ``tier``: its bytes are allocated before the op starts and the copy is
    valid once it ends."""

    tensor: str
    tier: str


@dataclass(frozen=True)
class After:
    """An action run once the op has ended: ``store`` copies ``tensor`` into ``tier`` (resident),
    ``free`` drops the resident copy of ``tensor`` in ``tier`` (once no running op pins it)."""

    kind: str       # "store" | "free"
    tensor: str
    tier: str


@dataclass(frozen=True)
class TierPlan:
    """What a run does with the tiers (sizes in bytes; op ids of the Schedule's trace)."""

    sizes: Mapping[str, int]
    home: Mapping[str, str]                                   # tensor -> tier holding it at cycle 0
    fetch: Mapping[int, tuple[Fetch, ...]] = field(default_factory=dict)
    produce: Mapping[int, tuple[Produce, ...]] = field(default_factory=dict)
    after: Mapping[int, tuple[After, ...]] = field(default_factory=dict)
    buffers: int = 2                                          # ops whose staged inputs may be resident at once


# -------------------------------------------------------------------- plans
def weight_tensor(op_id: int) -> str:
    """Name of the weight tensor of op ``op_id`` in the plans built here."""
    return f"w{op_id}"


def weight_staging_plan(schedule, system: TierSystem, stage: str | None = None,
                        home: str | Iterable[str] | None = None, buffers: int = 2) -> TierPlan:
    """Weights of every op (``weight_bytes`` > 0) live in a slower tier and are staged into ``stage``
    (default: the fastest tier) before the op runs, then freed.

    ``home``: a tier, or tiers in order of preference (default: every tier after ``stage``, fastest
    first); each weight goes to the first with room left, in schedule order (SN40L's policy: HBM if it
    fits, else DDR). TierCapacityError when a weight fits nowhere or in no staging buffer."""
    stage = stage or system.names[0]
    system.tier(stage)
    if home is None:
        homes = [n for n in system.names if n != stage and system.tier(n).level > system.tier(stage).level]
    else:
        homes = [home] if isinstance(home, str) else list(home)
    for h in homes:
        system.tier(h)
    room = {h: system.tier(h).capacity_bytes for h in homes}
    sizes, placed, fetch = {}, {}, {}
    stage_cap = system.tier(stage).capacity_bytes
    for entry in schedule.entries:
        op = entry.op
        if op.weight_bytes <= 0:
            continue
        name = weight_tensor(op.id)
        n = int(op.weight_bytes)
        if n > stage_cap:
            raise TierCapacityError(f"tier {stage!r}: weights of op {op.id} ({op.name}) need {n} bytes, more "
                                    f"than the tier's {stage_cap} bytes")
        target = next((h for h in homes if room[h] >= n), None)
        if target is None:
            raise TierCapacityError(f"weights of op {op.id} ({op.name}, {n} bytes) fit in none of the tiers "
                                    f"{homes} (room left: {room})")
        room[target] -= n
        sizes[name] = n
        placed[name] = target
        fetch[op.id] = (Fetch(name, stage, operand="weight"),)
    return TierPlan(sizes, placed, fetch, buffers=buffers)

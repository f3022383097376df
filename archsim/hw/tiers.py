"""Multi-tier memory (``kind: tiers``): an ordered set of memories, e.g. SRAM → HBM → DDR as in SN40L.

The tiers themselves are ordinary memories of the architecture (``kind: sram`` or ``kind: dram``), so
engines keep naming them as usual (``filter_sram: pmu_sram``, ``dram: hbm``). One extra memory entry
of ``kind: tiers`` orders them, fastest (nearest the engines) first::

    memories:
      pmu_sram: {kind: sram, capacity_kib: 532480, banks: 1040, word_bytes: 64}
      hbm:      {kind: dram, standard: HBM3, bandwidth_gbps: 1800, capacity_gib: 64}
      ddr:      {kind: dram, standard: DDR5_4800, bandwidth_gbps: 200, capacity_gib: 1536}
      tiers:    {kind: tiers, order: [pmu_sram, hbm, ddr]}
    links:
      ddr_hbm:  {src: ddr, dst: hbm, bandwidth_gbps: 200}

DMA transfers between two tiers stream: the slowest of (reading the source, writing the destination,
crossing the link between them, if ``links:`` declares one) sets the time, and a per-transfer
``dma_setup_ns`` is added. A link declared in one direction carries both (its bandwidth shared by
whatever crosses it, either way); declare both directions to get two independent links. Without a
declared link the two tiers' own ports are the only limit; all of them are shared bandwidth ports of the
event engine, so concurrent transfers divide them.

The time of one side of a transfer:

* a ``kind: dram`` tier with a ``standard:`` — the cycle-level DRAM model (``archsim.hw.dram.model.
  transfer``: a contiguous DMA, every request released at once, FR-FCFS controller, refresh …). A tier
  whose ``bandwidth_gbps`` exceeds the standard's peak is ``devices`` independent copies of the
  standard (HBM stacks, DDR channels/DIMMs) and a transfer is striped evenly over them; ``devices``
  defaults to ``round(bandwidth_gbps / peak)``. Results are cached per (standard, bytes per device,
  direction); above ``max_simulated_kib`` per device the time is extended linearly with the slope the
  model shows between half that size and that size (steady-state streaming), which keeps big weight
  copies fast;
* any other tier (SRAM, a DRAM without a standard) — ``bytes / bandwidth + latency``.

Each tier has ``dma_channels`` DMA engines (default 1 for DRAM tiers — copies between two tiers queue one
after another; an SRAM's ``ports_per_bank`` otherwise): copies between two tiers rotate over as many DMA
queues as both tiers have channels, and run at once sharing the ports. The SimPy side
(capacities as token pools, DMA transfers as tasks, occupancy over time) is compiled from a tier plan by
``archsim.mapping.program``; ``archsim.mapping.tier_plan`` says what a run does with the tiers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, Optional

from pydantic import Field

from archsim.config.schema import StrictModel
from archsim.errors import ArchsimError, ConfigError
from archsim.hw.registry import ComponentKind, register

DEFAULT_MAX_SIMULATED_KIB = 4096


class TierCapacityError(ArchsimError):
    """A tier would hold more bytes than its capacity (the message names the tier and the tensor)."""


class TiersParams(StrictModel):
    """YAML parameters of ``kind: tiers``."""

    kind: Literal["tiers"]
    order: list[str] = Field(min_length=2, description="memory names, fastest (nearest the engines) first")
    devices: dict[str, int] = Field(default_factory=dict, description="DRAM tier -> independent devices a "
                                    "transfer is striped over (default: bandwidth_gbps / the standard's peak)")
    dma_channels: dict[str, int] = Field(default_factory=dict, description="tier -> concurrent transfers")
    dma_setup_ns: float = Field(default=0.0, ge=0, description="fixed cost of each DMA transfer, ns")
    max_simulated_kib: int = Field(default=DEFAULT_MAX_SIMULATED_KIB, gt=1,
                                   description="largest per-device transfer run through the DRAM model; "
                                   "larger ones are extrapolated linearly")


@dataclass(frozen=True)
class MemoryTiers:
    """The registry's model class of ``kind: tiers`` (the parameters; see ``build_tiers``). It orders other
    memories and is no port itself: the bytes a DMA moves cross the tiers' own ports."""

    params: TiersParams

    def port_gbps(self, arch_clock_ghz: float) -> None:
        """None: a tiers entry holds and moves no bits of its own."""
        return None

    @staticmethod
    def traffic_actions(direction: str, n_bytes: float) -> list[tuple[str, float]]:
        """None: accesses are priced at the tier memories themselves."""
        return []


@dataclass(frozen=True)
class Tier:
    """One tier: a memory of the architecture with its capacity (bytes) and transfer model."""

    name: str
    level: int                 # 0 = fastest
    kind: str                  # "sram" or "dram"
    capacity_bytes: int
    bandwidth_gbps: float      # GB/s over all devices, the memory's ``efficiency`` applied
    latency_ns: float
    standard: Optional[str]    # DRAM preset whose cycle-level model times transfers, or None
    devices: int               # DRAM devices a transfer is striped over
    dma_channels: int
    efficiency: float = 1.0    # the memory's ``efficiency`` (bandwidth_gbps already includes it)


@dataclass(frozen=True)
class TierLink:
    """A declared link between two tiers (usable in both directions unless the reverse is declared)."""

    name: str
    src: str
    dst: str
    bandwidth_gbps: float
    latency_ns: float


@lru_cache(maxsize=4096)
def dram_transfer_ns(standard: str, n_bytes: int, is_write: bool = False,
                     max_simulated_bytes: int = DEFAULT_MAX_SIMULATED_KIB * 1024) -> float:
    """ns for one contiguous DMA of ``n_bytes`` on one device of DRAM preset ``standard`` — the cycle-level
    model's ``total_cycles × tCK`` (linearly extended above ``max_simulated_bytes``). Cached."""
    from archsim.hw.dram.model import transfer
    from archsim.hw.dram.standards import get_standard

    if n_bytes <= 0:
        return 0.0
    if n_bytes > max_simulated_bytes:
        half = max_simulated_bytes // 2
        t_full = dram_transfer_ns(standard, max_simulated_bytes, is_write, max_simulated_bytes)
        t_half = dram_transfer_ns(standard, half, is_write, max_simulated_bytes)
        slope = (t_full - t_half) / (max_simulated_bytes - half)
        return t_full + slope * (n_bytes - max_simulated_bytes)
    std = get_standard(standard)
    stats = transfer(std, int(n_bytes), is_write=is_write)
    return stats.total_cycles * std.tck_ns


@dataclass(frozen=True)
class TierSystem:
    """The tiers of an architecture, in order, with their links; computes DMA transfer times."""

    name: str
    tiers: tuple[Tier, ...]
    links: tuple[TierLink, ...]
    clock_ghz: float                 # architecture clock: transfer times are in its cycles
    dma_setup_ns: float = 0.0
    max_simulated_bytes: int = DEFAULT_MAX_SIMULATED_KIB * 1024

    @property
    def names(self) -> tuple[str, ...]:
        """Tier names, fastest first."""
        return tuple(t.name for t in self.tiers)

    def tier(self, name: str) -> Tier:
        """The tier called ``name`` (KeyError naming the known tiers otherwise)."""
        for t in self.tiers:
            if t.name == name:
                return t
        raise KeyError(f"{name!r} is not a tier of {self.name!r}; tiers are {list(self.names)}")

    def link_between(self, src: str, dst: str) -> TierLink | None:
        """The link carrying ``src`` → ``dst``: one declared that way, else one declared the other way."""
        for link in self.links:
            if (link.src, link.dst) == (src, dst):
                return link
        for link in self.links:
            if (link.src, link.dst) == (dst, src):
                return link
        return None

    def side_ns(self, tier: str, n_bytes: int, is_write: bool) -> float:
        """ns for ``tier`` to read (or write) ``n_bytes`` of one contiguous transfer."""
        t = self.tier(tier)
        if n_bytes <= 0:
            return 0.0
        if t.standard is not None:
            per_device = -(-int(n_bytes) // t.devices)
            return dram_transfer_ns(t.standard, per_device, is_write, self.max_simulated_bytes) / t.efficiency
        return n_bytes / t.bandwidth_gbps + t.latency_ns

    def transfer_ns(self, src: str, dst: str, n_bytes: int) -> float:
        """ns to move ``n_bytes`` from tier ``src`` to tier ``dst``: the slowest of the source read, the
        destination write and the link, plus the DMA setup."""
        if src == dst:
            raise ValueError(f"a transfer needs two different tiers, got {src!r} twice")
        if n_bytes <= 0:
            return 0.0
        parts = [self.side_ns(src, n_bytes, False), self.side_ns(dst, n_bytes, True)]
        link = self.link_between(src, dst)
        if link is not None:
            parts.append(n_bytes / link.bandwidth_gbps + link.latency_ns)
        return max(parts) + self.dma_setup_ns

    def transfer_cycles(self, src: str, dst: str, n_bytes: int) -> int:
        """Cycles of the architecture clock to move ``n_bytes`` from ``src`` to ``dst`` (rounded up)."""
        return math.ceil(self.transfer_ns(src, dst, n_bytes) * self.clock_ghz - 1e-9)


def tiers_memories(arch) -> list[str]:
    """Names of the ``kind: tiers`` entries of ``arch.memories`` (in YAML order)."""
    return [n for n, p in arch.memories.items() if p.kind == "tiers"]


def build_tiers(arch, name: str | None = None) -> TierSystem:
    """The ``TierSystem`` of ``arch`` (its ``kind: tiers`` memory ``name``, or the only one).

    Cross-references are checked here, each failure a ConfigError naming the file and the dotted key."""
    src = arch.source
    entries = tiers_memories(arch)
    if name is None:
        if not entries:
            raise ConfigError(src, "memories", "no 'kind: tiers' memory",
                              expected="a memory with kind: tiers and order: [fastest, …, slowest]")
        if len(entries) > 1:
            raise ConfigError(src, "memories", f"several 'kind: tiers' memories {entries}",
                              expected="a tiers name to choose one")
        name = entries[0]
    if name not in entries:
        raise ConfigError(src, f"memories.{name}", "not a 'kind: tiers' memory", expected=f"one of {entries}")
    p: TiersParams = arch.memories[name]
    where = f"memories.{name}"
    seen: set[str] = set()
    tiers = []
    for i, mem in enumerate(p.order):
        key = f"{where}.order.{i}"
        if mem not in arch.memories:
            others = sorted(n for n in arch.memories if arch.memories[n].kind != "tiers")
            raise ConfigError(src, key, "names an unknown memory", value=mem, has_value=True,
                              expected=f"one of the memories {others}")
        if mem in seen:
            raise ConfigError(src, key, "names a tier twice", value=mem, has_value=True,
                              expected="each memory at most once")
        seen.add(mem)
        tiers.append(_tier(arch, where, key, i, mem, p))
    for key_name, mapping in (("devices", p.devices), ("dma_channels", p.dma_channels)):
        for mem, value in mapping.items():
            if mem not in seen:
                raise ConfigError(src, f"{where}.{key_name}.{mem}", "names a memory that is not a tier",
                                  expected=f"one of {list(p.order)}")
            if value < 1:
                raise ConfigError(src, f"{where}.{key_name}.{mem}", "bad value", value=value, has_value=True,
                                  expected="an integer ≥ 1")
    for mem in p.devices:
        if arch.memories[mem].kind != "dram" or arch.memories[mem].standard is None:
            raise ConfigError(src, f"{where}.devices.{mem}", "devices only apply to a DRAM tier with a standard",
                              expected="a kind: dram tier with standard: set")
    links = tuple(TierLink(n, lp.src, lp.dst, lp.bandwidth_gbps, lp.latency_ns)
                  for n, lp in arch.links.items() if lp.src in seen and lp.dst in seen and lp.src != lp.dst)
    return TierSystem(name, tuple(tiers), links, arch.clock_ghz, p.dma_setup_ns, p.max_simulated_kib * 1024)


def _tier(arch, where: str, key: str, level: int, mem: str, p: TiersParams) -> Tier:
    params = arch.memories[mem]
    channels = p.dma_channels.get(mem)
    if params.kind == "sram":
        from archsim.hw.sram import Sram

        sram = Sram(params)
        return Tier(mem, level, "sram", sram.capacity_bytes, sram.port_gbps(arch.clock_ghz),
                    sram.latency_ns(arch.clock_ghz), None, 1, channels or params.ports_per_bank, params.efficiency)
    if params.kind == "dram":
        devices = 1
        if params.standard is not None:
            from archsim.hw.dram.standards import get_standard

            peak = get_standard(params.standard).peak_gbps
            devices = p.devices.get(mem) or max(1, round(params.bandwidth_gbps / peak))
        return Tier(mem, level, "dram", int(params.capacity_gib * 2**30),
                    float(params.bandwidth_gbps) * params.efficiency,
                    float(params.latency_ns), params.standard, devices, channels or 1, params.efficiency)
    raise ConfigError(arch.source, key, f"memory of kind {params.kind!r} cannot be a tier", value=mem,
                      has_value=True, expected="a kind: sram or kind: dram memory")


def price_tiers(pricer, name: str, p: TiersParams) -> None:
    """``kind: tiers`` only orders other memories: no energy or area of its own."""
    pricer.book.area_um2[name] = 0.0


TIERS = register(ComponentKind("tiers", "memory", TiersParams, MemoryTiers,
                               "ordered memory tiers (e.g. SRAM → HBM → DDR) with DMA between them",
                               pricer=price_tiers, check=lambda arch, name, params: build_tiers(arch, name)))

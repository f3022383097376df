"""On-chip SRAM scratchpads: capacity, banking, ports, word width, energy hooks and double buffering.

The model is a banked scratchpad: ``banks`` banks of ``word_bytes``-wide words, word ``w`` in bank
``w % banks`` (low-order interleaving), each bank with ``ports_per_bank`` ports that each move one word
per cycle (read or write). From that follow

* the peak bandwidth, ``banks × ports_per_bank × word_bytes`` bytes per cycle (``bytes_per_cycle``), or
  ``bandwidth_gbps`` when the YAML gives it explicitly (a DMA port narrower than the banks);
* the cycles a set of word accesses takes with bank conflicts (``access_cycles``): the busiest bank
  serialises, ``max_b ceil(accesses_b / ports_per_bank)``;
* double buffering (``double_buffered``): half of the capacity is filled while the other half is used
  by the computing side (``working_words``, as the systolic model uses it), and a tiled loop runs as a
  two-stage pipeline (``double_buffer_cycles``).

Energy hooks: ``read_pj_per_word`` / ``write_pj_per_word`` pin the access energy of this SRAM (e.g. from a
CACTI run); when they are left out ``access_energy_pj`` returns None and the energy model's table
(``archsim.energy.sram``, interpolated by bank size) decides.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional, Sequence

import numpy as np
from pydantic import Field

from archsim.config.schema import StrictModel
from archsim.hw.registry import ComponentKind, register


class SramParams(StrictModel):
    """YAML parameters of ``kind: sram``."""

    kind: Literal["sram"]
    capacity_kib: float = Field(gt=0, description="capacity in KiB (1024 bytes)")
    word_bytes: int = Field(default=1, gt=0, description="bytes per word")
    banks: int = Field(default=1, gt=0)
    ports_per_bank: int = Field(default=2, gt=0, description="ports per bank, each one word per cycle")
    double_buffered: bool = Field(default=True, description="half is filled while the other half is used")
    clock_ghz: Optional[float] = Field(default=None, gt=0, description="SRAM clock; the architecture's if unset")
    bandwidth_gbps: Optional[float] = Field(
        default=None, gt=0, description="DMA bandwidth into/out of this SRAM, GB/s; banks × ports × word "
        "bytes × clock if unset")
    latency_cycles: int = Field(default=1, ge=0, description="access latency, cycles of the SRAM clock")
    efficiency: float = Field(default=1.0, gt=0, le=1, description="fraction of the bandwidth concurrent "
                              "streams (DMA, engines' stage buffers) sustain on this SRAM's port")
    read_pj_per_word: Optional[float] = Field(default=None, ge=0, description="energy hook: pJ per word read")
    write_pj_per_word: Optional[float] = Field(default=None, ge=0, description="energy hook: pJ per word written")


@dataclass(frozen=True)
class Sram:
    """An SRAM scratchpad built from ``SramParams``."""

    params: SramParams

    @property
    def capacity_bytes(self) -> int:
        """Capacity in bytes."""
        return int(self.params.capacity_kib * 1024)

    @property
    def capacity_words(self) -> int:
        """Capacity in words of ``word_bytes``."""
        return self.capacity_bytes // self.params.word_bytes

    @property
    def working_words(self) -> int:
        """Words usable by the computing side: half the capacity when double-buffered."""
        return self.capacity_words // 2 if self.params.double_buffered else self.capacity_words

    @property
    def bank_bytes(self) -> int:
        """Bytes per bank."""
        return self.capacity_bytes // self.params.banks

    @property
    def words_per_cycle(self) -> int:
        """Peak words moved per SRAM cycle over all banks and ports."""
        return self.params.banks * self.params.ports_per_bank

    def clock_ghz(self, arch_clock_ghz: float) -> float:
        """The SRAM's clock in GHz (its own, else the architecture's)."""
        return float(self.params.clock_ghz or arch_clock_ghz)

    def bandwidth_gbps(self, arch_clock_ghz: float) -> float:
        """Peak bandwidth in GB/s: the explicit ``bandwidth_gbps``, else banks × ports × word × clock."""
        if self.params.bandwidth_gbps is not None:
            return float(self.params.bandwidth_gbps)
        return self.words_per_cycle * self.params.word_bytes * self.clock_ghz(arch_clock_ghz)

    def port_gbps(self, arch_clock_ghz: float) -> float:
        """The bandwidth concurrent streams into and out of this SRAM share (GB/s): ``bandwidth_gbps`` times
        ``efficiency``."""
        return self.bandwidth_gbps(arch_clock_ghz) * self.params.efficiency

    @staticmethod
    def traffic_actions(direction: str, n_bytes: float) -> list[tuple[str, float]]:
        """Energy actions of moving ``n_bytes`` in ``direction`` (read/write): that many bits read or written."""
        return [(direction, 8.0 * n_bytes)]

    def latency_ns(self, arch_clock_ghz: float) -> float:
        """Access latency in ns."""
        return self.params.latency_cycles / self.clock_ghz(arch_clock_ghz)

    def bank_of(self, word_addresses: np.ndarray) -> np.ndarray:
        """Bank of each word address (low-order interleaving)."""
        return np.asarray(word_addresses, dtype=np.int64) % self.params.banks

    def access_cycles(self, word_addresses: Sequence[int] | np.ndarray) -> int:
        """SRAM cycles to serve one batch of word accesses issued together: the busiest bank's
        accesses divided over its ports (bank conflicts serialise; distinct banks run in parallel)."""
        addr = np.asarray(word_addresses, dtype=np.int64)
        if addr.size == 0:
            return 0
        per_bank = np.bincount(self.bank_of(addr), minlength=self.params.banks)
        return int(-(-per_bank.max() // self.params.ports_per_bank))

    def stream_cycles(self, n_bytes: int) -> int:
        """SRAM cycles to stream ``n_bytes`` of consecutive words (no conflicts: all banks busy)."""
        words = -(-int(n_bytes) // self.params.word_bytes)
        return -(-words // self.words_per_cycle)

    def access_energy_pj(self, read_words: float, write_words: float) -> float | None:
        """Energy hook: pJ of ``read_words`` reads and ``write_words`` writes when the YAML pins the per-word
        energies, else None (the energy table decides)."""
        p = self.params
        if (p.read_pj_per_word is None and read_words) or (p.write_pj_per_word is None and write_words):
            return None
        return (p.read_pj_per_word or 0.0) * read_words + (p.write_pj_per_word or 0.0) * write_words


def double_buffer_cycles(fill_cycles: Sequence[float], compute_cycles: Sequence[float],
                         double_buffered: bool = True) -> float:
    """Cycles of a tiled loop whose tile ``i`` is first filled (``fill_cycles[i]``) then computed on
    (``compute_cycles[i]``).

    Double-buffered, the fill of tile i+1 overlaps the compute of tile i (a two-stage pipeline:
    ``fill_0 + Σ max(compute_i, fill_{i+1}) + compute_last``); single-buffered, they serialise
    (``Σ fill_i + compute_i``)."""
    fill = [float(x) for x in fill_cycles]
    comp = [float(x) for x in compute_cycles]
    if len(fill) != len(comp):
        raise ValueError("fill_cycles and compute_cycles must have one entry per tile")
    if not fill:
        return 0.0
    if not double_buffered:
        return sum(fill) + sum(comp)
    # exact two-stage pipeline with one buffer each side: fill i+1 may start when fill i is done and
    # compute i-1 has released its buffer (so at most two tiles are resident)
    fill_end = comp_end = 0.0
    prev_comp_end = 0.0   # end of compute i-1
    for i in range(len(fill)):
        fill_start = max(fill_end, prev_comp_end if i >= 2 else 0.0) if i else 0.0
        fill_end_i = fill_start + fill[i]
        comp_start = max(fill_end_i, comp_end)
        prev_comp_end = comp_end
        comp_end = comp_start + comp[i]
        fill_end = fill_end_i
    return comp_end


def fits(n_bytes: int, sram: Sram, double_buffered: bool | None = None) -> bool:
    """True when a working set of ``n_bytes`` fits in ``sram`` (in one half when double-buffered)."""
    db = sram.params.double_buffered if double_buffered is None else double_buffered
    usable = sram.capacity_bytes // 2 if db else sram.capacity_bytes
    return int(n_bytes) <= usable


def price_sram(pricer, name: str, p: SramParams) -> None:
    """Read/write energy per bit by bank capacity (``archsim.energy.sram``); area = bits × bit-cell area;
    static power = bits × bit-cell leakage."""
    from archsim.energy.prices import Price
    from archsim.energy.sram import sram_access

    who = f"memories.{name}"
    bank_kib = p.capacity_kib / p.banks
    for action in ("read", "write"):
        access = sram_access(pricer.table, action, bank_kib, who)
        for row in access.rows:
            pricer.use(row, who)
        # all sram rows share one node/Vdd per action; scale with the first
        factor = pricer.energy(access.rows[0], who) / access.rows[0].value
        pricer.book.dynamic[(name, action)] = Price(name, action, access.pj_per_bit * factor, "bit",
                                                    tuple(r.label for r in access.rows), access.method)
    bits = p.capacity_kib * 1024 * 8
    pricer.book.area_um2[name] = bits * pricer.area(pricer.table.find("sram", "area"), who)
    if pricer.spec.include_static:
        pricer.book.static_mw[name] = bits * pricer.energy(pricer.table.find("sram", "leak"), who)


SRAM = register(ComponentKind("sram", "memory", SramParams, Sram, "on-chip scratchpad SRAM", pricer=price_sram))
__all__ = ["SRAM", "Sram", "SramParams", "double_buffer_cycles", "fits"]

"""``kind: dram`` for the registry: a DRAM seen by the engines as a bandwidth/latency source.

Either give ``bandwidth_gbps`` (and optionally ``latency_ns``, ``capacity_gib``) directly, or name a standard
(``standard: HBM2``) and let them be derived from its preset: peak bandwidth, the unloaded row-miss read
latency (tRCD + CL + burst) and the capacity. Explicit values win.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, Optional

from pydantic import Field, field_validator, model_validator

from archsim.config.schema import StrictModel
from archsim.hw.registry import ComponentKind, register


class DramParams(StrictModel):
    """YAML parameters of ``kind: dram``."""

    kind: Literal["dram"]
    bandwidth_gbps: float = Field(gt=0, description="sustained bandwidth, GB/s (1e9 bytes/s)")
    latency_ns: float = Field(default=0.0, ge=0, description="unloaded access latency, ns")
    capacity_gib: float = Field(default=16.0, gt=0, description="capacity in GiB")
    standard: Optional[str] = Field(default=None, description="DRAM preset (e.g. HBM2, DDR4_3200) that "
                                    "fills in bandwidth_gbps/latency_ns/capacity_gib when omitted")
    efficiency: float = Field(default=1.0, gt=0, le=1, description="fraction of bandwidth_gbps that streams "
                              "sustain (a measured or claimed figure, e.g. SN40L's 0.85 of HBM); multiplies "
                              "the standard's own streaming efficiency when one is named")
    energy_standard: Optional[str] = Field(default=None, description="IDD set of the energy table that prices "
                                           "this DRAM's accesses and background power (default: standard); "
                                           "energy only, it does not change timing")

    @field_validator("energy_standard")
    @classmethod
    def _known_idd_set(cls, value: Optional[str]) -> Optional[str]:
        from archsim.energy.table import check_idd_set_name

        return None if value is None else check_idd_set_name(value)

    @model_validator(mode="before")
    @classmethod
    def _derive_from_standard(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("standard") is None:
            return data
        from archsim.hw.dram.standards import get_standard, preset_names

        name = data["standard"]
        try:
            std = get_standard(str(name))
        except KeyError:
            raise ValueError(f"unknown DRAM standard {name!r}; expected one of {preset_names()}") from None
        derived = {
            "bandwidth_gbps": std.peak_gbps,
            "latency_ns": (std.timing["tRCDRD"] + std.read_latency_cycles) * std.tck_ns,
            "capacity_gib": std.org.capacity_bytes / 2**30,
        }
        return {**derived, **data}


@lru_cache(maxsize=None)
def stream_efficiency(standard: str) -> float:
    """Sustained / peak bandwidth of one long sequential read (8 MiB) on DRAM preset ``standard`` in archsim's
    cycle-level controller model (refresh, row switches and bus turnarounds included)."""
    from archsim.hw.dram.model import transfer
    from archsim.hw.dram.standards import get_standard

    std = get_standard(standard)
    return min(1.0, transfer(std, 8 * 2**20).bandwidth_gbps / std.peak_gbps)


@dataclass(frozen=True)
class Dram:
    """A DRAM built from ``DramParams``, seen by engines as a bandwidth/latency source."""

    params: DramParams

    def port_gbps(self, arch_clock_ghz: float = 1.0) -> float:
        """The bandwidth concurrent streams share (GB/s): ``bandwidth_gbps``, times the sustained streaming
        efficiency of its standard from the cycle-level DRAM model when it names one, times ``efficiency``."""
        if self.params.standard is None:
            return float(self.params.bandwidth_gbps) * self.params.efficiency
        return float(self.params.bandwidth_gbps) * stream_efficiency(self.params.standard) * self.params.efficiency

    @staticmethod
    def traffic_actions(direction: str, n_bytes: float) -> list[tuple[str, float]]:
        """Energy actions of streaming ``n_bytes``: the bits read or written, and as many bits activated (each
        opened row is read out whole)."""
        return [(direction, 8.0 * n_bytes), ("activate", 8.0 * n_bytes)]

    def standard(self):
        """The ``DramStandard`` named by ``params.standard`` (None for a pure bandwidth model)."""
        if self.params.standard is None:
            return None
        from archsim.hw.dram.standards import get_standard

        return get_standard(self.params.standard)


def energy_standard_of(pricer, name: str, p: DramParams) -> str | None:
    """The IDD set name pricing DRAM ``name``: ``energy.dram_standard.<name>`` of the energy spec, else the
    memory's ``energy_standard``, else its timing ``standard`` (None when none is given)."""
    return pricer.spec.dram_standard.get(name) or p.energy_standard or p.standard


def price_dram(pricer, name: str, p: DramParams) -> None:
    """Read/write energy per bit and ACT+PRE per bit moved from the standard's IDD figures (not node-scaled:
    DRAM has its own process); static = devices × (background + refresh), devices = ceil(bandwidth / device
    bandwidth); off-chip, so no area. The IDD set is ``energy_standard_of``; a timing preset without an IDD set
    of its own name (DDR4_3200, HBM2_NeuPIMs) is priced with its family's (``EnergyTable.dram_idd_set``)."""
    from archsim.energy.dram import dram_energy
    from archsim.energy.prices import Price
    from archsim.energy.table import EnergyError

    who = f"memories.{name}"
    standard = energy_standard_of(pricer, name, p)
    if not standard:
        raise EnergyError(f"{who}: DRAM energy needs its standard; set {who}.energy_standard (or "
                          f"--set energy.dram_standard.{name}=NAME) to one of {sorted(pricer.table.dram_standards)}")
    std, chosen = pricer.table.dram_idd_set(str(standard), who)
    if std.provenance == "placeholder":
        if pricer.spec.strict:
            raise EnergyError(f"{who}: DRAM standard {standard} has placeholder currents")
        pricer.book.placeholders.add(f"dram[{standard}]")
    de = dram_energy(std)
    if de.activate_underivable:
        pricer.book.placeholders.add(f"dram[{std.name}].activate (0: its IDD set holds no activation current)")
    label = f"dram[{chosen}] ({std.file})"
    pricer.book.dynamic[(name, "read")] = Price(name, "read", de.read_pj_per_bit, "bit", (label,))
    pricer.book.dynamic[(name, "write")] = Price(name, "write", de.write_pj_per_bit, "bit", (label,))
    pricer.book.dynamic[(name, "activate")] = Price(name, "activate", de.activate_pj_per_row_bit, "bit", (label,))
    pricer.book.area_um2[name] = float("nan")
    if pricer.spec.include_static:
        devices = de.devices_for(p.bandwidth_gbps)
        pricer.book.static_mw[name] = devices * (de.background_mw_per_device + de.refresh_mw_per_device)


DRAM = register(ComponentKind("dram", "memory", DramParams, Dram, "off-chip DRAM (bandwidth model or a DRAM standard)",
                              pricer=price_dram))

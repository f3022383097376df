"""DRAM command energies and background power from a standard's IDD currents (Micron method).

The formulas are DRAMsim3's (``Config::InitPowerParams``), per device, converted from mA*V*cycles to pJ
by multiplying by tCK in ns (1 mA * 1 V * 1 ns = 1 pJ):

* ACT+PRE pair: ``VDD * (IDD0*tRC - (IDD3N*tRAS + IDD2N*tRP)) * tCK``, tRC = tRAS + tRP;
* read burst:   ``VDD * (IDD4R - IDD3N) * burst_cycles * tCK`` (write: IDD4W), moving BL*device_width bits;
* refresh:      ``VDD * (IDD5AB - IDD3N) * tRFC * tCK`` once per tREFI;
* background:   ``VDD * IDD3N`` (active standby: open-page streaming keeps a bank open).

Per-bit energies therefore do not depend on how many devices form the channel. I/O (termination)
energy is not part of the IDD figures and is not counted.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from archsim.energy.table import DramStandard


@dataclass(frozen=True)
class DramEnergy:
    """Derived energies of one DRAM standard (pJ per bit; mW per device; GB/s per device)."""

    standard: str
    read_pj_per_bit: float
    write_pj_per_bit: float
    activate_pj_per_row_bit: float
    background_mw_per_device: float
    refresh_mw_per_device: float
    device_gbps: float
    row_bits_per_device: int
    activate_underivable: bool = False

    def devices_for(self, bandwidth_gbps: float) -> int:
        """Devices (channels for HBM) needed to supply ``bandwidth_gbps`` GB/s."""
        return max(1, math.ceil(bandwidth_gbps / self.device_gbps - 1e-9))


def dram_energy(std: DramStandard) -> DramEnergy:
    """Per-bit command energies and per-device static power of ``std``."""
    p = std.params
    vdd, tck = p["VDD"], p["tCK_ns"]
    burst_cycles = p.get("burst_cycles", p["BL"] / 2)
    burst_bits = p["BL"] * p["device_width"]
    t_rc = p["tRAS"] + p["tRP"]
    act_pj = vdd * (p["IDD0"] * t_rc - (p["IDD3N"] * p["tRAS"] + p["IDD2N"] * p["tRP"])) * tck
    row_bits = int(p["columns"] * p["device_width"])
    return DramEnergy(
        standard=std.name,
        read_pj_per_bit=vdd * (p["IDD4R"] - p["IDD3N"]) * burst_cycles * tck / burst_bits,
        write_pj_per_bit=vdd * (p["IDD4W"] - p["IDD3N"]) * burst_cycles * tck / burst_bits,
        # an IDD set whose activation current is on another rail (DDR5's VPP, not in the set) can give
        # IDD0*tRC below the standby currents: no VDD activation energy is then derivable, so 0 (flagged)
        activate_pj_per_row_bit=max(0.0, act_pj) / row_bits,
        activate_underivable=act_pj <= 0.0,
        background_mw_per_device=vdd * p["IDD3N"],
        refresh_mw_per_device=vdd * (p["IDD5AB"] - p["IDD3N"]) * p["tRFC"] / p["tREFI"],
        device_gbps=p["device_width"] * (p["BL"] / burst_cycles) / tck / 8.0,
        row_bits_per_device=row_bits,
    )

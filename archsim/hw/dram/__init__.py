"""Off-chip DRAM. ``kind: dram`` with a bandwidth/latency description.

(The cycle-level controller/device model plugs in here: see the memory-system issue.)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from archsim.config.schema import StrictModel
from archsim.hw.registry import ComponentKind, register


class DramParams(StrictModel):
    """YAML parameters of ``kind: dram``."""

    kind: Literal["dram"]
    bandwidth_gbps: float = Field(gt=0, description="sustained bandwidth, GB/s (1e9 bytes/s)")
    latency_ns: float = Field(default=0.0, ge=0, description="unloaded access latency, ns")
    capacity_gib: float = Field(default=16.0, gt=0, description="capacity in GiB")


@dataclass(frozen=True)
class Dram:
    """A DRAM built from ``DramParams``, seen by engines as a bandwidth/latency source."""

    params: DramParams

    def bytes_per_cycle(self, clock_ghz: float) -> float:
        """Bytes this DRAM delivers per cycle of a ``clock_ghz`` clock."""
        return self.params.bandwidth_gbps / clock_ghz


DRAM = register(ComponentKind("dram", "memory", DramParams, Dram, "off-chip DRAM (bandwidth model)"))

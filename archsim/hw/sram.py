"""On-chip SRAM scratchpads: capacity, banking, ports and word width."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from archsim.config.schema import StrictModel
from archsim.hw.registry import ComponentKind, register


class SramParams(StrictModel):
    """YAML parameters of ``kind: sram``."""

    kind: Literal["sram"]
    capacity_kib: float = Field(gt=0, description="capacity in KiB (1024 bytes)")
    word_bytes: int = Field(default=1, gt=0, description="bytes per word")
    banks: int = Field(default=1, gt=0)
    ports_per_bank: int = Field(default=2, gt=0)
    double_buffered: bool = Field(default=True, description="half is filled while the other half is used")


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


SRAM = register(ComponentKind("sram", "memory", SramParams, Sram, "on-chip scratchpad SRAM"))

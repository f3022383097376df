"""What running one operator on one engine costs: the record every hardware model returns."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OpCost:
    """Cycles and traffic of one op on one engine (cycles of that engine's clock; traffic in bytes).

    ``traffic_bytes`` maps ``"<memory>.<operand>.<read|write>"`` (e.g. ``"dram.ifmap.read"``) to bytes,
    so per-memory totals are sums over matching keys.
    """

    total_cycles: int
    compute_cycles: int
    stall_cycles: int
    macs: int
    utilization: float
    mapping_efficiency: float = 1.0
    folds: int = 0
    traffic_bytes: dict[str, float] = field(default_factory=dict)

    def bytes_of(self, memory: str, direction: str | None = None) -> float:
        """Bytes this op moved through ``memory`` (reads and writes, or only ``direction``)."""
        total = 0.0
        for key, value in self.traffic_bytes.items():
            mem, _, rest = key.partition(".")
            if mem == memory and (direction is None or rest.endswith("." + direction)):
                total += value
        return total

"""Simulation results: one record per executed op, convertible to pandas tables."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pandas as pd


@dataclass(frozen=True)
class OpRecord:
    """One executed op. Start/end in cycles of the architecture clock; the op's own cycle counts in
    cycles of its engine's clock; traffic in bytes keyed ``<memory>.<operand>.<read|write>``."""

    op_id: int
    name: str
    kind: str
    layer: str
    engine: str
    start_cycle: int
    end_cycle: int
    total_cycles: int
    compute_cycles: int
    stall_cycles: int
    macs: int
    utilization: float
    mapping_efficiency: float
    folds: int
    traffic_bytes: dict[str, float] = field(default_factory=dict)
    actions: dict[str, float] = field(default_factory=dict)    # the engine's own energy actions
    dtype: str = ""            # the op's element type, as the workload gave it
    compute_dtype: str = ""    # the type its engine converted it to (quantised / widened); "" = none


@dataclass(frozen=True)
class TransferRecord:
    """A DMA transfer (cycles of the architecture clock, bytes): ``link`` names its path (a link, ``<dram>.load``
    or ``<dram>.store`` for a memory plan, ``<src>-><dst>`` for tiers), ``src``/``dst`` the memories or engines,
    ``tensor`` what moved, ``producer_op``/``consumer_op`` the ops it served (-1: none); ``kind`` is link |
    plan | tier | dma."""

    link: str
    producer_op: int
    consumer_op: int
    start_cycle: int
    end_cycle: int
    bytes: int
    src: str = ""
    dst: str = ""
    tensor: str = ""
    kind: str = "link"


@dataclass(frozen=True)
class PortStats:
    """One shared port over a run: peak bytes per cycle, bytes moved, cycles with traffic, cycles held."""

    name: str
    kind: str
    bytes_per_cycle: float
    bytes_moved: float
    busy_cycles: int
    held_cycles: int


@dataclass(frozen=True)
class OccupancySample:
    """Bytes allocated in ``tier`` from ``cycle`` on (until the tier's next sample)."""

    cycle: int
    tier: str
    bytes: int


@dataclass(frozen=True)
class Result:
    """Everything a run produced. ``ops`` and ``components`` are the tables reports and plots read."""

    arch_name: str
    workload_name: str
    clock_ghz: float
    records: tuple[OpRecord, ...]
    transfers: tuple[TransferRecord, ...] = ()
    engine_peak_macs_per_cycle: dict[str, float] = field(default_factory=dict)
    tier_occupancy: tuple[OccupancySample, ...] = ()
    tier_capacity_bytes: dict[str, int] = field(default_factory=dict)   # tier -> capacity, fastest first
    ports: tuple[PortStats, ...] = ()
    engine_busy_cycles: dict[str, int] = field(default_factory=dict)   # engine -> cycles it ran tasks
    engine_clock_ghz: dict[str, float] = field(default_factory=dict)   # engine -> its clock (default: clock_ghz)

    @property
    def total_cycles(self) -> int:
        """Makespan in cycles of the architecture clock."""
        ends = [r.end_cycle for r in self.records] + [t.end_cycle for t in self.transfers]
        return max(ends, default=0)

    @property
    def tier_transfers(self) -> tuple[TransferRecord, ...]:
        """The DMA copies between memory tiers."""
        return tuple(t for t in self.transfers if t.kind == "tier")

    @property
    def tier_traffic(self) -> pd.DataFrame:
        """One row per memory tier: bytes read (copied out), written (copied in), transfers, busy cycles of
        transfers touching it, capacity and peak occupancy (bytes). Empty without tiers."""
        cols = ["tier", "read_bytes", "write_bytes", "transfers", "transfer_cycles", "capacity_bytes",
                "peak_bytes", "final_bytes"]
        rows = []
        for tier, cap in self.tier_capacity_bytes.items():
            out = [t for t in self.tier_transfers if t.src == tier]
            inn = [t for t in self.tier_transfers if t.dst == tier]
            occ = [o.bytes for o in self.tier_occupancy if o.tier == tier]
            rows.append({"tier": tier, "read_bytes": sum(t.bytes for t in out),
                         "write_bytes": sum(t.bytes for t in inn), "transfers": len(out) + len(inn),
                         "transfer_cycles": sum(t.end_cycle - t.start_cycle for t in out + inn),
                         "capacity_bytes": cap, "peak_bytes": max(occ, default=0),
                         "final_bytes": occ[-1] if occ else 0})
        return pd.DataFrame(rows, columns=cols)

    @property
    def occupancy(self) -> pd.DataFrame:
        """Occupancy over time: one row per change (``cycle``, ``tier``, ``bytes`` allocated from then on)."""
        return pd.DataFrame([asdict(o) for o in self.tier_occupancy], columns=["cycle", "tier", "bytes"])

    @property
    def tier_transfer_table(self) -> pd.DataFrame:
        """One row per DMA copy between tiers."""
        cols = ["tensor", "src", "dst", "op_id", "start_cycle", "end_cycle", "bytes"]
        rows = [{**asdict(t), "op_id": t.consumer_op if t.consumer_op >= 0 else t.producer_op}
                for t in self.tier_transfers]
        return pd.DataFrame(rows, columns=cols)

    @property
    def total_macs(self) -> int:
        """MACs executed over all ops."""
        return sum(r.macs for r in self.records)

    @property
    def latency_ms(self) -> float:
        """Makespan in milliseconds."""
        return self.total_cycles / (self.clock_ghz * 1e6)

    @property
    def ops(self) -> pd.DataFrame:
        """One row per executed op; traffic flattened into ``bytes.<memory>.<operand>.<dir>`` columns."""
        rows = []
        for r in self.records:
            row = asdict(r)
            row.pop("actions")
            traffic = row.pop("traffic_bytes")
            row.update({f"bytes.{k}": v for k, v in sorted(traffic.items())})
            rows.append(row)
        df = pd.DataFrame(rows)
        byte_cols = [c for c in df.columns if c.startswith("bytes.")]
        df[byte_cols] = df[byte_cols].fillna(0.0)
        if len(df):
            # architecture cycles the engine worked on the op: its own cycles at the engine clock, never more than
            # its span (a record summed over iterations or compiled layers spans more than it worked)
            ratio = df.engine.map(lambda e: self.clock_ghz / self.engine_clock_ghz.get(e, self.clock_ghz))
            span = df.end_cycle - df.start_cycle
            df.insert(df.columns.get_loc("total_cycles") + 1, "busy_cycles",
                      (df.total_cycles * ratio).clip(upper=span).round().astype("int64"))
        return df

    @property
    def components(self) -> pd.DataFrame:
        """One row per engine and per memory: busy cycles, MACs, utilization, bytes read/written (by the ops
        and by DMA transfers). An engine's row holds the bytes it moved inside its own memory (``own_memory``:
        a PIM's ``banks`` — the weights / KV its MAC units read in place, never crossing a bus —, a GPU's or
        CPU's ``dram``); an architecture memory's row holds the traffic through it."""
        span = self.total_cycles or 1
        rows = []
        by_engine: dict[str, list[OpRecord]] = {}
        for r in self.records:
            by_engine.setdefault(r.engine, []).append(r)
        own: dict[str, list] = {}
        for r in self.records:
            for key, value in r.traffic_bytes.items():
                mem, _, rest = key.partition(".")
                if mem in by_engine:
                    acc = own.setdefault(mem, [0.0, 0.0, set()])
                    acc[0 if key.endswith(".read") else 1] += value
                    acc[2].add(rest.split(".")[0])
        for engine, recs in by_engine.items():
            busy = self.engine_busy_cycles.get(engine)
            if busy is None:
                busy = sum(r.end_cycle - r.start_cycle for r in recs)
            macs = sum(r.macs for r in recs)
            peak = self.engine_peak_macs_per_cycle.get(engine, 0.0)
            rows.append({"component": engine, "type": "engine", "ops": len(recs), "busy_cycles": busy,
                         "macs": macs, "busy_fraction": busy / span,
                         "mac_utilization": macs / (peak * span) if peak else float("nan"),
                         "read_bytes": own.get(engine, [0.0])[0], "write_bytes": own.get(engine, [0.0, 0.0])[1],
                         "own_memory": "+".join(sorted(own.get(engine, [0, 0, ()])[2]))})
        memories: dict[str, list[float]] = {}
        for r in self.records:
            for key, value in r.traffic_bytes.items():
                mem, _, rest = key.partition(".")
                if mem in by_engine:      # an engine's own memory: counted in its row above
                    continue
                acc = memories.setdefault(mem, [0.0, 0.0])
                acc[0 if key.endswith(".read") else 1] += value
        for t in self.transfers:       # DMA moves bytes out of its source memory and into its destination
            if t.kind == "link":
                continue
            for mem, side in ((t.src, 0), (t.dst, 1)):
                if mem and mem not in by_engine:
                    memories.setdefault(mem, [0.0, 0.0])[side] += t.bytes
        for mem, (rd, wr) in sorted(memories.items()):
            rows.append({"component": mem, "type": "memory", "ops": 0, "busy_cycles": 0, "macs": 0,
                         "busy_fraction": float("nan"), "mac_utilization": float("nan"),
                         "read_bytes": rd, "write_bytes": wr, "own_memory": ""})
        return pd.DataFrame(rows)

    def dtype_conversions(self) -> dict[str, dict[str, int]]:
        """Engine -> ``"<op dtype>-><engine dtype>"`` -> ops it converted (an array with a ``compute_dtype``
        other than the op's quantises or widens it); empty when every op ran in its own dtype."""
        out: dict[str, dict[str, int]] = {}
        seen: set[tuple[int, str]] = set()
        for r in self.records:
            if r.compute_dtype and (r.op_id, r.engine) not in seen:
                seen.add((r.op_id, r.engine))
                key = f"{r.dtype}->{r.compute_dtype}"
                out.setdefault(r.engine, {})[key] = out.get(r.engine, {}).get(key, 0) + 1
        return out

    def summary(self) -> dict:
        """Headline numbers as a JSON-ready dict (cycles of the architecture clock, ms, counts, bytes)."""
        comps = self.components
        mem = comps[comps.type == "memory"]
        return {
            "arch": self.arch_name,
            "workload": self.workload_name,
            "ops": len(self.records),
            "total_cycles": int(self.total_cycles),
            "clock_ghz": self.clock_ghz,
            "latency_ms": self.latency_ms,
            "total_macs": int(self.total_macs),
            "stall_cycles": int(sum(r.stall_cycles for r in self.records)),
            "memory_bytes": {row.component: {"read": float(row.read_bytes), "write": float(row.write_bytes)}
                             for row in mem.itertuples()},
            **({"tiers": {row.tier: {"read": int(row.read_bytes), "write": int(row.write_bytes),
                                     "peak_bytes": int(row.peak_bytes), "capacity_bytes": int(row.capacity_bytes)}
                          for row in self.tier_traffic.itertuples()}} if self.tier_capacity_bytes else {}),
            "dtypes": sorted({r.dtype for r in self.records if r.dtype}),
            **({"dtype_conversions": self.dtype_conversions()} if any(r.compute_dtype for r in self.records) else {}),
            # engines without MAC units (vector units) have no MAC utilization: null in JSON
            "engine_mac_utilization": {row.component: (None if row.mac_utilization != row.mac_utilization
                                                       else float(row.mac_utilization))
                                       for row in comps[comps.type == "engine"].itertuples()},
        }


def plan_offchip_bytes(result: Result) -> dict[str, int]:
    """Bytes a memory plan moved off-chip in ``result``: ``{"load": …, "store": …}`` (bytes)."""
    out = {"load": 0, "store": 0}
    for t in result.transfers:
        if t.kind == "plan":
            out[t.link.rsplit(".", 1)[-1]] += t.bytes
    return out

"""A serving system read from an architecture file: which engines are the NPU, the PIM or the GPU.

``ServingSystem.from_arch(arch)`` finds, through the hardware registry's kinds:

* ``kind: systolic`` engines — the NPU's arrays (all identical; a GEMM is split over them along N);
* ``kind: vector`` engines — the NPU's SIMD lanes (summed);
* ``kind: pim`` — the PIM memory (at most one);
* ``kind: gpu`` / ``kind: cpu`` — a roofline baseline instead of an NPU;
* the memory: the PIM device's normal-access bandwidth, else the first ``kind: dram`` with a standard,
  else the largest ``kind: dram`` (bytes/ns = GB/s); the weight buffer is the arrays' ``filter_sram``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from archsim.config import Arch
from archsim.hw.registry import lookup
from archsim.serving.costs import NpuCosts


@lru_cache(maxsize=None)
def _stream_gbps(standard: str) -> float:
    """GB/s of an 8 MiB sequential read on ``standard`` in archsim's DRAM controller model."""
    from archsim.hw.dram.model import transfer
    from archsim.hw.dram.standards import get_standard
    return transfer(get_standard(standard), 8 * 2**20).bandwidth_gbps


@dataclass
class ServingSystem:
    """The hardware a serving run uses. ``kind`` is ``npu`` (NPU, optionally with PIM) or ``gpu``."""

    name: str
    kind: str
    npu: NpuCosts | None
    npu_clock_ghz: float
    pim: object | None
    gpu: object | None
    memory_bytes_per_ns: float
    memory_capacity_bytes: float
    weight_buffer_bytes: int
    # every engine model of the architecture (name -> model), for the mappers' partitioner
    partition_engines: dict = field(default_factory=dict, repr=False)
    dram_standard: str | None = None     # the main memory's DRAM standard, if it names one

    @property
    def stream_bytes_per_ns(self) -> float:
        """Sustained bandwidth of one long sequential read (a weight stream), from archsim's DRAM model of
        the memory's standard (``memory_bytes_per_ns`` when it has none)."""
        std = self.pim.params.standard if self.pim is not None else self.dram_standard
        return _stream_gbps(std) if std else self.memory_bytes_per_ns

    def npu_ns(self, cycles: float) -> float:
        """NPU cycles → ns."""
        return cycles / self.npu_clock_ghz

    @property
    def npu_peak_macs_per_ns(self) -> float:
        if self.kind == "gpu":
            p = self.gpu.params
            return p.peak_tflops * 1e3 / 2
        return self.npu.peak_macs_per_cycle * self.npu_clock_ghz

    @property
    def pim_peak_macs_per_ns(self) -> float:
        return self.pim.peak_macs_per_cycle * self.pim.clock_ghz if self.pim is not None else 0.0

    @classmethod
    def from_arch(cls, arch: Arch) -> "ServingSystem":
        """Build from a validated ``Arch`` (see module docstring for what is looked up)."""
        import archsim.hw.gpu  # noqa: F401  (register the kinds this package relies on)
        import archsim.hw.pim  # noqa: F401
        from archsim.hw.dram import Dram
        from archsim.hw.sram import Sram

        def build(name):
            p = arch.engines[name]
            return lookup("engine", p.kind).model(name, p, arch)

        by_kind: dict[str, list[str]] = {}
        for name, p in arch.engines.items():
            by_kind.setdefault(p.kind, []).append(name)
        pim = build(by_kind["pim"][0]) if "pim" in by_kind else None
        engines = {name: (pim if pim is not None and name == by_kind["pim"][0] else build(name))
                   for name in arch.engines}
        drams = {n: Dram(p) for n, p in arch.memories.items() if p.kind == "dram"}
        std_drams = [d for d in drams.values() if d.params.standard]
        main = std_drams[0] if std_drams else (max(drams.values(), key=lambda d: d.params.bandwidth_gbps)
                                               if drams else None)
        for kind in ("gpu", "cpu"):
            if kind in by_kind:
                gpu = engines[by_kind[kind][0]]
                return cls(arch.name, "gpu", None, gpu.clock_ghz, None, gpu, gpu.params.bandwidth_gbps,
                           float(main.params.capacity_gib * 2**30) if main else 40 * 2**30, 0, engines)
        if "systolic" not in by_kind:
            raise ValueError(f"architecture {arch.name!r} has no systolic, gpu or cpu engine to serve with")
        arrays = [engines[n] for n in by_kind["systolic"]]
        lanes = sum(arch.engines[n].lanes for n in by_kind.get("vector", []))
        vus = by_kind.get("vector", [])
        npu = NpuCosts(arrays[0], len(arrays), max(1, lanes), arch.engines[vus[0]].lanes if vus else max(1, lanes))
        bw = pim.bytes_per_cycle * pim.clock_ghz if pim is not None else main.params.bandwidth_gbps
        cap = (pim.params.capacity_gib if pim is not None and pim.params.capacity_gib else main.params.capacity_gib)
        wbuf = Sram(arch.memories[arch.engines[by_kind["systolic"][0]].filter_sram]).capacity_bytes
        return cls(arch.name, "npu", npu, arrays[0].clock_ghz, pim, None, bw, float(cap) * 2**30, wbuf, engines,
                   main.params.standard if main is not None else None)

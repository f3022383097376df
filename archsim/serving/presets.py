"""The systems of NeuPIMs' throughput comparison: an architecture file plus the serving policy that goes with it,
and the two ways archsim can build the paper's baselines (``BASELINE_PROFILES``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from archsim.shipped import shipped_dir

ARCH_DIR = shipped_dir("arch_configs")


@dataclass(frozen=True)
class SystemPreset:
    """``arch`` file stem in ``arch_configs/``, channel policy and the smallest batch that interleaves
    two sub-batches (0 = never)."""

    name: str
    arch: str
    channel_policy: str
    interleave_from_batch: int

    def sub_batches(self, batch: int) -> int:
        """2 when this system interleaves sub-batches at ``batch``, else 1."""
        return 2 if self.interleave_from_batch and batch >= self.interleave_from_batch and batch % 2 == 0 else 1

    @property
    def arch_path(self) -> Path:
        return ARCH_DIR / f"{self.arch}.yaml"


NEUPIMS_SYSTEMS = {
    "GPU-only": SystemPreset("GPU-only", "gpu_a100_40gb", "round_robin", 0),
    "NPU-only": SystemPreset("NPU-only", "npu_only", "round_robin", 0),
    "NPU+PIM": SystemPreset("NPU+PIM", "npu_pim_naive", "round_robin", 0),
    # NeuPIMs README: "Sub-batch interleaving is enabled only when batch size >= 256"
    "NeuPIMs": SystemPreset("NeuPIMs", "neupims", "greedy", 256),
}


@dataclass(frozen=True)
class BaselineProfile:
    """How the NPU-only and NPU+PIM baselines (and NeuPIMs itself) are built: architecture overrides per system
    (``pim``), the systolic dataflow of each system's arrays (``dataflow``; default the file's) and whether
    weights are prefetched into the weight buffer (``weight_prefetch``)."""

    name: str
    description: str
    pim: dict[str, tuple[tuple[str, object], ...]] = field(default_factory=dict)
    dataflow: dict[str, str] = field(default_factory=dict)
    weight_prefetch: bool = True

    def overrides(self, system: str) -> tuple[tuple[str, object], ...]:
        """The dotted architecture overrides of ``system`` under this profile (every systolic engine of its
        file gets the profile's dataflow)."""
        out = list(self.pim.get(system, ()))
        dataflow = self.dataflow.get(system)
        if dataflow:
            from archsim.config import load_arch

            arch = load_arch(NEUPIMS_SYSTEMS[system].arch_path)
            out += [(f"engines.{n}.dataflow", dataflow) for n, p in arch.engines.items() if p.kind == "systolic"]
        return tuple(out)

    def arch(self, system: str):
        """The architecture of ``system`` under this profile."""
        from archsim.config import load_arch

        return load_arch(NEUPIMS_SYSTEMS[system].arch_path, self.overrides(system))


BASELINE_PROFILES = {
    # archsim's own hardware models: the arrays' fold model for every matrix op (attention GEMVs included),
    # weights prefetched by DMA, Newton PIM commands as fast as each channel's command bus takes them.
    "native": BaselineProfile(
        "native", "archsim's own models: every matrix op (NPU-only attention too) through the arrays' WS fold "
        "model, weight prefetch DMA, Newton PIM commands limited only by each channel's C/A bus"),
    # What NeuPIMs' released simulator does (casys-kaist/NeuPIMs branches npu-only and npu+pim, checked
    # against runs of it in tests/fixtures/neupims_peer): its WS cores (archsim.hw.dataflows.neupims_ws:
    # GEMM passes, FusedMHA's serialised attention GEMVs), no weight prefetch; the Newton baseline issues every
    # PIM_COMP as its own NPU instruction, one per cycle; PIM tiles follow NewtonSim's timeline.
    "neupims_sim": BaselineProfile(
        "neupims_sim", "NeuPIMs' simulator's execution model: its WS cores (GEMM passes, FusedMHA attention), "
        "no weight prefetch, NewtonSim tiles, Newton PIM commands issued one per NPU cycle",
        pim={"NPU+PIM": (("engines.pim.host_command_issue", "per_command"), ("engines.pim.timing_model", "newtonsim"),
                         ("engines.pim.ranks", 2)),
             "NeuPIMs": (("engines.pim.host_command_issue", "composite"), ("engines.pim.timing_model", "newtonsim"),
                         ("engines.pim.ranks", 2))},
        dataflow={"NPU-only": "onnxim_ws", "NPU+PIM": "neupims_ws", "NeuPIMs": "neupims_ws"},
        weight_prefetch=False),
}

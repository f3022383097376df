"""The systems of NeuPIMs' throughput comparison: an architecture file plus the serving policy that goes with it,
and the two ways archsim can build the paper's baselines (``BASELINE_PROFILES``)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ARCH_DIR = Path(__file__).resolve().parents[2] / "arch_configs"


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
    """How the NPU-only and NPU+PIM baselines are built.

    ``npu_attention``: NPU-side decode attention model (``ServingOptions.npu_attention``); ``npu_gemm``: weight
    GEMM model (``ServingOptions.npu_gemm``);
    ``arch_overrides``: system name -> dotted ``--set`` overrides of its architecture file."""

    name: str
    npu_attention: str
    npu_gemm: str
    arch_overrides: dict[str, tuple[tuple[str, object], ...]]

    def overrides(self, system: str) -> tuple[tuple[str, object], ...]:
        """The architecture overrides of ``system`` under this profile."""
        return self.arch_overrides.get(system, ())
    description: str


BASELINE_PROFILES = {
    # What the hardware could do: NPU-only attention streams the KV cache at the HBM roofline; the Newton
    # host issues PIM commands as fast as each channel's command bus takes them.
    "efficient": BaselineProfile(
        "efficient", "roofline", "array", {},
        "NPU-only attention at the 1,024 GB/s roofline; Newton PIM commands limited only by each channel's C/A bus"),
    # What NeuPIMs' released simulator does (casys-kaist/NeuPIMs branches npu-only and npu+pim, checked
    # against runs of it in tests/fixtures/neupims_peer): FusedMHA serialises every attention GEMV on the
    # arrays; the Newton baseline issues every PIM_COMP as its own NPU instruction, one per cycle; PIM tiles
    # follow NewtonSim's timeline (PimDevice.newtonsim_channel_cycles).
    "neupims_sim": BaselineProfile(
        "neupims_sim", "fused_mha", "neupims_sim",
        {"NPU+PIM": (("engines.pim.host_command_issue", "per_command"), ("engines.pim.timing_model", "newtonsim"),
                     ("engines.pim.ranks", 2)),
         "NeuPIMs": (("engines.pim.host_command_issue", "composite"), ("engines.pim.timing_model", "newtonsim"),
                     ("engines.pim.ranks", 2))},
        "NPU-only attention as NeuPIMs' npu-only FusedMHA; Newton PIM commands issued one per NPU cycle"),
}

"""The systems of NeuPIMs' throughput comparison: an architecture file plus the serving policy that goes with it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ARCH_DIR = Path(__file__).resolve().parents[2] / "arch_configs"


@dataclass(frozen=True)
class SystemPreset:
    """``arch`` file stem in ``arch_configs/``, channel policy, the smallest batch that interleaves
    two sub-batches (0 = never), and the NPU-only attention model."""

    name: str
    arch: str
    channel_policy: str
    interleave_from_batch: int
    # How NPU-side attention is timed when the system has no PIM (archsim.serving.loop.ServingOptions).
    npu_attention: str = "roofline"

    def sub_batches(self, batch: int) -> int:
        """2 when this system interleaves sub-batches at ``batch``, else 1."""
        return 2 if self.interleave_from_batch and batch >= self.interleave_from_batch and batch % 2 == 0 else 1

    @property
    def arch_path(self) -> Path:
        return ARCH_DIR / f"{self.arch}.yaml"


NEUPIMS_SYSTEMS = {
    "GPU-only": SystemPreset("GPU-only", "gpu_a100_40gb", "round_robin", 0),
    # Attention at the bandwidth roofline. NeuPIMs' npu-only branch runs decode attention as FusedMHA (per
    # request, per head, serialised GEMVs; archsim.serving.costs.fused_mha_cycles, npu_attention="fused_mha"),
    # but that model makes NPU-only ~3x slower than the A100 and NeuPIMs/NPU-only 8.1x (paper: 2.4x, GPU ≈ NPU),
    # so the paper's baseline was not produced by it as released; see docs/pim.md.
    "NPU-only": SystemPreset("NPU-only", "npu_only", "round_robin", 0),
    "NPU+PIM": SystemPreset("NPU+PIM", "npu_pim_naive", "round_robin", 0),
    # NeuPIMs README: "Sub-batch interleaving is enabled only when batch size >= 256"
    "NeuPIMs": SystemPreset("NeuPIMs", "neupims", "greedy", 256),
}

"""Read and write SCALE-Sim topology CSVs exactly as SCALE-Sim 3.0.0 interprets them.

SCALE-Sim skips the first line whatever it holds, and drops the last comma-separated field of each
row (so rows must end with a comma). Conv rows: ``name, H, W, R, S, C, F, stride[, N:M],``; GEMM rows
(``-i gemm``): ``name, M, N, K[, N:M],`` which SCALE-Sim turns into a conv with H=M, W=K, R=1, S=K,
C=1, F=N, stride 1. There is no padding: ``OH = ceil((H - R + s) / s)``. A conv layer whose name
contains ``DP`` is expanded into ``C`` single-channel layers (SCALE-Sim's depthwise handling).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from archsim.errors import ConfigError


@dataclass(frozen=True)
class ScaleSimLayer:
    """One layer of a SCALE-Sim topology, in SCALE-Sim's conv view (no padding, batch 1)."""

    name: str
    ifmap_h: int
    ifmap_w: int
    filter_h: int
    filter_w: int
    channels: int
    num_filters: int
    stride: int
    sparsity_nm: str = ""

    @property
    def ofmap_h(self) -> int:
        """Output rows: ceil((H - R + s) / s), SCALE-Sim's (padding-free) formula."""
        return math.ceil((self.ifmap_h - self.filter_h + self.stride) / self.stride)

    @property
    def ofmap_w(self) -> int:
        """Output columns: ceil((W - S + s) / s)."""
        return math.ceil((self.ifmap_w - self.filter_w + self.stride) / self.stride)

    @property
    def gemm_mnk(self) -> tuple[int, int, int]:
        """The GEMM view (M = output pixels, N = filters, K = R*S*C)."""
        return (self.ofmap_h * self.ofmap_w, self.num_filters,
                self.filter_h * self.filter_w * self.channels)


def parse_topology(text: str, source: str, layer_kind: str = "conv") -> list[ScaleSimLayer]:
    """Parse topology CSV ``text`` (SCALE-Sim semantics) into layers; ``layer_kind`` is conv or gemm."""
    if layer_kind not in ("conv", "gemm"):
        raise ConfigError(source, "-i", "bad topology kind", value=layer_kind, has_value=True,
                          expected="'conv' or 'gemm'")
    layers: list[ScaleSimLayer] = []
    lines = text.splitlines()
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")][:-1]  # SCALE-Sim drops the last field
        need = 4 if layer_kind == "gemm" else 8
        if len(fields) < need:
            raise ConfigError(source, f"line {lineno}", "too few fields", value=line.strip(), has_value=True,
                              expected=f"{need} fields followed by a trailing comma")
        try:
            nums = [int(float(f)) for f in fields[1:need]]
        except ValueError:
            raise ConfigError(source, f"line {lineno}", "non-numeric layer dimension", value=line.strip(),
                              has_value=True, expected="integers after the layer name") from None
        extra = fields[need] if len(fields) > need else ""
        name = fields[0]
        if layer_kind == "gemm":
            m, n, k = nums
            layer = ScaleSimLayer(name, m, k, 1, k, 1, n, 1, extra)
        else:
            layer = ScaleSimLayer(name, *nums, sparsity_nm=extra)
        if min(nums) <= 0:
            raise ConfigError(source, f"line {lineno}", "dimensions must be positive", value=nums,
                              has_value=True, expected="integers > 0")
        if layer.filter_h > layer.ifmap_h or layer.filter_w > layer.ifmap_w:
            raise ConfigError(source, f"line {lineno}", "filter larger than the input feature map",
                              value=line.strip(), has_value=True, expected="R <= H and S <= W")
        if layer_kind == "conv" and "DP" in name:
            layers.extend(ScaleSimLayer(f"{name}Channel_{i}", layer.ifmap_h, layer.ifmap_w, layer.filter_h,
                                        layer.filter_w, 1, layer.num_filters, layer.stride, extra)
                          for i in range(layer.channels))
        else:
            layers.append(layer)
    return layers


def read_topology(path: str | Path, layer_kind: str = "conv") -> list[ScaleSimLayer]:
    """Read a SCALE-Sim topology CSV file (see ``parse_topology``)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(path, "", "topology file not found", expected="an existing CSV file")
    return parse_topology(path.read_text(), str(path), layer_kind)


def write_topology(layers: list[ScaleSimLayer], path: str | Path) -> None:
    """Write ``layers`` as a SCALE-Sim conv topology CSV (header, trailing commas)."""
    rows = ["Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"]
    for l in layers:
        rows.append(f"{l.name}, {l.ifmap_h}, {l.ifmap_w}, {l.filter_h}, {l.filter_w}, {l.channels}, "
                    f"{l.num_filters}, {l.stride},")
    Path(path).write_text("\n".join(rows) + "\n")

"""Frames of a neural-graphics renderer: how many encoding + MLP queries one frame issues, in batches.

A frame at a display resolution has ``pixels`` pixels; the app's renderer issues ``queries_per_pixel``
network queries per pixel on average (NeRF: samples per ray that survive occupancy-grid culling; NSDF:
sphere-tracing steps; NVR: delta-tracking steps; GIA: exactly one), so ``queries = pixels × queries_per_pixel``,
processed in batches of ``batch_queries`` (the last batch takes the remainder).

The defaults are ASSUMPTIONS (the NGPC paper states none of them, reference setups_ngpc_draco.md 1.5): NeRF
``DEFAULT_QUERIES_PER_PIXEL['nerf']`` is the one value the ``ngpc`` experiment calibrates; the others are
renderer estimates stated beside them. ``batch_queries`` defaults to 2^18, one tcnn inference batch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from archsim.errors import WorkloadError

#: Display resolutions (width, height) in pixels.
RESOLUTIONS = {"1080p": (1920, 1080), "4k": (3840, 2160), "8k": (7680, 4320)}

#: Average queries per pixel per app (see the module docstring; every value is an assumption).
#: nerf: calibrated by ``experiments/ngpc.py`` (NGPC-8 average hashgrid speedup 12x; ``--calibrate``);
#: sdf: instant-ngp's SDF renderer sphere-traces each ray, ~4 steps on average to the surface after the
#: octree skips empty space (estimate); volume: delta tracking through the density grid, ~4 steps (estimate);
#: image: one query per pixel (exact: the gigapixel app evaluates the image at each pixel centre).
DEFAULT_QUERIES_PER_PIXEL = {"nerf": 14.039, "sdf": 4.0, "image": 1.0, "volume": 4.0}

#: Queries per batch: one tcnn inference batch (2^18).
DEFAULT_BATCH_QUERIES = 1 << 18


@dataclass(frozen=True)
class Frame:
    """One rendered frame of ``app`` at ``resolution``: its queries and how they are batched."""

    app: str
    resolution: str
    pixels: int
    queries_per_pixel: float
    batch_queries: int

    @property
    def queries(self) -> int:
        """Network queries of the frame (encoding + MLP evaluations)."""
        return int(round(self.pixels * self.queries_per_pixel))

    @property
    def batches(self) -> int:
        """Batches the frame's queries are processed in."""
        return max(1, math.ceil(self.queries / self.batch_queries))

    def batch_sizes(self) -> list[int]:
        """Queries of each batch, in order (all ``batch_queries`` but the last, which takes the rest)."""
        full, rest = divmod(self.queries, self.batch_queries)
        return [self.batch_queries] * full + ([rest] if rest else [])


def frame(app: str, resolution: str = "1080p", queries_per_pixel: float | None = None,
          batch_queries: int = DEFAULT_BATCH_QUERIES) -> Frame:
    """The frame of ``app`` (``nerf``, ``sdf``, ``image``, ``volume``) at ``resolution`` (``RESOLUTIONS``);
    ``queries_per_pixel`` (NeRF: samples per ray) defaults to ``DEFAULT_QUERIES_PER_PIXEL[app]``."""
    if app not in DEFAULT_QUERIES_PER_PIXEL:
        raise WorkloadError(f"unknown neural-graphics app {app!r}; expected one of {sorted(DEFAULT_QUERIES_PER_PIXEL)}")
    key = resolution.lower()
    if key not in RESOLUTIONS:
        raise WorkloadError(f"unknown resolution {resolution!r}; expected one of {sorted(RESOLUTIONS)}")
    qpp = DEFAULT_QUERIES_PER_PIXEL[app] if queries_per_pixel is None else float(queries_per_pixel)
    if qpp <= 0 or batch_queries < 1:
        raise WorkloadError("queries_per_pixel must be > 0 and batch_queries >= 1")
    w, h = RESOLUTIONS[key]
    return Frame(app, key, w * h, qpp, int(batch_queries))

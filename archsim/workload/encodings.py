"""Input encodings of neural graphics primitives: tiny-cuda-nn grid levels and per-point work.

Grid semantics follow tiny-cuda-nn's ``GridEncoding`` exactly (the code instant-ngp, and therefore
the NGPC paper's GPU baseline, runs):

* level ``l`` has scale ``s_l = N_min · b^l − 1`` and resolution ``R_l = ceil(s_l) + 1`` grid vertices
  per axis (tcnn ``grid_scale`` / ``grid_resolution``);
* a level stores ``next_multiple(R_l^d, 8)`` entries, capped at ``2^T`` for a ``HashGrid`` (the level is
  *hashed* only when the cap bites) and at ``N_min^d`` for a ``TiledGrid``; a ``DenseGrid`` is never capped;
* every entry holds ``F`` features, so a level owns ``entries · F`` parameters;
* ``b`` is the config's ``per_level_scale`` or, when absent, ``exp(ln(N_max / N_min) / (L − 1))`` with
  ``N_max`` the finest resolution (instant-ngp's ``desired_resolution``: 2048 for NeRF/SDF, half the
  longest image side for images).

Work counted per point and level (``d`` input dims, ``C = 2^d`` corners, ``F`` features), documented
in ``archsim.workload.costs``: ``4d`` to scale the coordinate and split it into cell + fraction, ``d``
for the ``1 − w`` weights and ``C·(d−1)`` for the corner weight products, the corner index (hashed:
``d`` prime multiplies, ``d−1`` XORs, one modulo per corner; dense: ``d−1`` multiply-adds and the
modulo, ``2d−1`` ops), and ``2·C·F`` for the weighted feature accumulation. Table bytes read are the
gathered entries, ``points · L · C · F`` elements, with no cache reuse assumed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from archsim.errors import WorkloadError

#: Default encoded points per step: 2^18, instant-ngp's NeRF training batch of samples (and the size
#: of one tcnn inference batch); NeRF rendering at 1080p with ~8 live samples per ray issues ~2^24.
DEFAULT_POINTS = 262_144

#: Grid types of tcnn's GridEncoding, by the ``otype`` names instant-ngp configs use.
GRID_TYPES = {"hashgrid": "hash", "multilevelhashgrid": "hash", "densegrid": "dense", "tiledgrid": "tiled"}

#: tcnn's FullyFusedMLP pads its input and output widths to a multiple of 16.
MLP_PAD = 16


@dataclass(frozen=True)
class GridLevel:
    """One level of a multiresolution grid: vertices per axis, table entries, and whether it is hashed."""

    resolution: int
    entries: int
    hashed: bool


def grid_levels(input_dims: int, levels: int, base_resolution: int, per_level_scale: float,
                grid_type: str = "hash", log2_table_size: int = 19) -> list[GridLevel]:
    """The levels of a tcnn GridEncoding (see the module docstring for the rules)."""
    if grid_type not in ("hash", "dense", "tiled"):
        raise WorkloadError(f"unknown grid type {grid_type!r}; expected hash, dense or tiled")
    if input_dims < 1 or levels < 1 or base_resolution < 1 or per_level_scale <= 0:
        raise WorkloadError("grid encoding needs input_dims, levels, base_resolution >= 1 and per_level_scale > 0")
    out = []
    for level in range(levels):
        scale = base_resolution * per_level_scale ** level - 1.0
        # ceil with a relative guard so 16·(2048/16)^(15/15) − 1 = 2047.0000000000002 gives 2047.
        resolution = math.ceil(scale - 1e-9 * max(1.0, abs(scale))) + 1
        dense = -(-resolution ** input_dims // 8) * 8
        entries, hashed = dense, False
        if grid_type == "hash" and dense > 1 << log2_table_size:
            entries, hashed = 1 << log2_table_size, True
        elif grid_type == "tiled":
            entries = min(dense, base_resolution ** input_dims)
        out.append(GridLevel(resolution, entries, hashed))
    return out


def per_level_scale(levels: int, base_resolution: int, finest_resolution: float) -> float:
    """instant-ngp's growth factor ``b = exp(ln(N_max / N_min) / (L − 1))`` (1.0 for a single level)."""
    if levels == 1:
        return 1.0
    return math.exp(math.log(finest_resolution / base_resolution) / (levels - 1))


def encoding_flops_per_point(input_dims: int, features: int, levels: list[GridLevel]) -> int:
    """FLOPs (integer index ops included) of encoding one point over ``levels`` (module docstring)."""
    d, corners = input_dims, 2 ** input_dims
    common = 4 * d + d + corners * (d - 1) + 2 * corners * features
    return sum(common + corners * (2 * d if lv.hashed else 2 * d - 1) for lv in levels)


#: Frequency (positional) encoding, tcnn ``Frequency``: each input dim gives ``2·n_frequencies``
#: outputs ``sin(2^k·π·x + φ)``, φ ∈ {0, π/2}; per output 2 FLOPs to scale (×2^k, ×π) + 4 for the sine
#: (the transcendental convention of sigmoid/tanh in ``archsim.workload.costs``).
FREQUENCY_FLOPS_PER_OUTPUT = 6

#: Spherical-harmonics encoding, tcnn ``SphericalHarmonics``: ``degree²`` outputs per point. FLOPs per
#: output element; exact for degree 4 (6 to map [0,1]→[−1,1], 6 for xy, xz, yz, x², y², z², 36 for
#: the 16 polynomial terms = 48 per point), used as the estimate for the other degrees.
SH_FLOPS_PER_OUTPUT = 3
SH_MAX_DEGREE = 8


#: Codes of the grid types in a trace op's ``grid_type`` dim (trace dims are integers).
GRID_TYPE_CODES = {"hash": 0, "dense": 1, "tiled": 2}


def level_dims(grid_type: str, input_dims: int, base_resolution: int, log2_table_size: int,
               levels: list[GridLevel], per_level_scale: float = 1.0) -> dict[str, int]:
    """The per-level facts of a grid encoding as integer trace dims, so that an encoding engine can rebuild
    the exact levels (``levels_of``): ``grid_type`` (``GRID_TYPE_CODES``), ``input_dims``,
    ``base_resolution``, ``log2_table_size``, ``per_level_scale_ppb`` (b × 10^9, rounded) and, per level ``l``, ``res_l<l>`` (vertices per axis) and
    ``entries_l<l>`` (table entries; a level is hashed when this is below its dense vertex count)."""
    dims = {"grid_type": GRID_TYPE_CODES[grid_type], "input_dims": input_dims,
            "base_resolution": base_resolution, "log2_table_size": log2_table_size,
            "per_level_scale_ppb": int(round(per_level_scale * 1e9))}
    for i, lv in enumerate(levels):
        dims[f"res_l{i}"] = lv.resolution
        dims[f"entries_l{i}"] = lv.entries
    return dims


def levels_of(dims: dict[str, int]) -> tuple[str, list[GridLevel]]:
    """(grid type, levels) of a ``hash_encoding``/``grid_encoding`` trace op's dims (``level_dims``)."""
    grid_type = {v: k for k, v in GRID_TYPE_CODES.items()}[int(dims["grid_type"])]
    out = []
    for i in range(int(dims["levels"])):
        res, entries = int(dims[f"res_l{i}"]), int(dims[f"entries_l{i}"])
        dense = -(-res ** int(dims["input_dims"]) // 8) * 8
        out.append(GridLevel(res, entries, grid_type == "hash" and entries < dense))
    return grid_type, out

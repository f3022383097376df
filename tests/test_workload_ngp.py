"""Neural-graphics workloads: hash / dense grid encodings and the instant_ngp zoo models.

Anchors (exact unless stated):
* hash-table sizes follow tiny-cuda-nn's GridEncoding (R_l = ceil(16·b^l − 1) + 1, entries =
  min(next8(R_l^d), 2^T)); NeRF (L=16, F=2, T=2^19, 16 → 2048): levels 0–4 dense, 6,098,120 entries
  (= 23.3 MiB at FP16, as setups_ngpc_draco.md derives), below the paper's L·T·F = 16.8 M bound;
* instant-ngp's own config comments: densegrid.json "8 levels, from res 16 to 173 … less than half
  of 33m params"; densegrid_1res.json "128^3 with 2 8-wide levels" (= 33.5 M);
* MLP MACs per point by hand from the tcnn layer widths (no biases, widths padded to 16):
  NeRF 10,240, NSDF / GIA 7,168 (setups_ngpc_draco.md §1.5).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from archsim.errors import ConfigError, WorkloadError
from archsim.trace import check_trace, read_trace, write_trace
from archsim.trace.kinds import VECTOR_KINDS, is_matrix
from archsim.workload import build_graph, list_workloads, load_workload
from archsim.workload.builder import GraphBuilder
from archsim.workload.encodings import DEFAULT_POINTS, encoding_flops_per_point, grid_levels
from archsim.workload.lower import lower

ROOT = Path(__file__).resolve().parents[1]
NGP_MODELS = ["instant_ngp_nerf", "instant_ngp_nerf_densegrid", "instant_ngp_nerf_densegrid_1res",
              "instant_ngp_sdf", "instant_ngp_gigapixel"]
SMALL = ["points=4096"]

NERF_RESOLUTIONS = (16, 23, 31, 43, 59, 81, 112, 154, 213, 295, 407, 562, 777, 1073, 1483, 2048)
NERF_DENSE_ENTRIES = (16**3 + 0, 12_168, 29_792, 79_512, 205_384)  # 23³, 31³, 43³, 59³ rounded up to 8
NERF_TABLE_ENTRIES = sum(NERF_DENSE_ENTRIES) + 11 * 2**19  # 6,098,120
NERF_MLP_MACS = (32 * 64 + 64 * 16) + (32 * 64 + 64 * 64 + 64 * 16)  # density + color = 10,240
SINGLE_MLP_MACS = 32 * 64 + 64 * 64 + 64 * 16  # NSDF / GIA / NVR = 7,168


def _encoding(trace):
    return next(op for op in trace.ops if op.kind in ("hash_encoding", "grid_encoding"))


def test_the_neural_graphics_models_are_in_the_zoo():
    assert set(NGP_MODELS) <= set(list_workloads())
    assert load_workload("instant-ngp", SMALL).name == "instant_ngp_nerf"  # alias


def test_nerf_hash_grid_levels_match_tiny_cuda_nn():
    attrs = build_graph("instant_ngp_nerf", SMALL).ops[0].attrs
    assert attrs["resolutions"] == NERF_RESOLUTIONS
    assert attrs["level_entries"] == (*NERF_DENSE_ENTRIES, *[2**19] * 11)
    assert attrs["hashed"] == (False,) * 5 + (True,) * 11
    assert attrs["per_level_scale"] == pytest.approx(1.3819, abs=1e-4)  # 128^(1/15)


def test_nerf_parameter_counts():
    trace = load_workload("instant_ngp_nerf", SMALL)
    enc = _encoding(trace)
    assert NERF_TABLE_ENTRIES == 6_098_120
    assert enc.params == 2 * NERF_TABLE_ENTRIES == 12_196_240
    assert enc.params < 16 * 2**19 * 2  # the paper's bound L·T·F = 16,777,216 (coarse levels capped by res³)
    assert enc.params * 2 / 2**20 == pytest.approx(23.26, abs=0.01)  # MiB at FP16
    assert enc.dims["table_entries"] == NERF_TABLE_ENTRIES and enc.dims["hashed_levels"] == 11
    assert trace.total_params == 12_196_240 + NERF_MLP_MACS  # MLPs have no biases: params = MACs/point


def test_densegrid_parameter_counts_match_the_config_comments():
    dense = build_graph("instant_ngp_nerf_densegrid", SMALL).ops[0].attrs
    assert dense["resolutions"][0] == 16 and dense["resolutions"][-1] == 173
    dense_params = _encoding(load_workload("instant_ngp_nerf_densegrid", SMALL)).params
    assert dense_params == 2 * sum(-(-r**3 // 8) * 8 for r in dense["resolutions"]) == 16_312_048
    assert dense_params < 33e6 / 2
    assert _encoding(load_workload("instant_ngp_nerf_densegrid_1res", SMALL)).params == 2 * 128**3 * 8


def test_gigapixel_is_two_dimensional_with_four_hashed_levels():
    enc = _encoding(load_workload("instant_ngp_gigapixel", SMALL))
    assert enc.dims["corners"] == 4 and enc.dims["hashed_levels"] == 4
    assert enc.dims["max_level_entries"] == 2**24
    assert enc.dims["lookups"] == 4096 * 16 * 4


@pytest.mark.parametrize("model, macs", [("instant_ngp_nerf", NERF_MLP_MACS), ("instant_ngp_sdf", SINGLE_MLP_MACS),
                                         ("instant_ngp_gigapixel", SINGLE_MLP_MACS),
                                         ("instant_ngp_nerf_densegrid", NERF_MLP_MACS - 16 * 64)])
def test_mlp_macs_per_point_by_hand(model, macs):
    trace = load_workload(model, SMALL)
    assert trace.total_macs == 4096 * macs
    assert all(op.kind == "gemm" and op.dims["M"] == 4096 for op in trace.ops if op.macs)


def test_nerf_ops_and_dependencies():
    trace = load_workload("instant_ngp_nerf", SMALL)
    by_name = {op.name: op for op in trace.ops}
    assert [op.kind for op in trace.ops] == ["hash_encoding", "gemm", "gemm", "sh_encoding", "gemm", "gemm", "gemm"]
    assert by_name["network.0"].dims == {"B": 1, "M": 4096, "N": 64, "K": 32}
    assert by_name["rgb_network.2"].dims["N"] == 16  # 3 colors padded to 16, as tcnn computes them
    assert set(by_name["rgb_network.0"].deps) == {by_name["network.1"].id, by_name["dir_encoding"].id}
    assert by_name["network.0"].fused == "relu" and by_name["network.1"].fused == ""
    assert by_name["dir_encoding"].flops == 4096 * 48  # SH degree 4: 48 FLOPs per direction


def test_hash_encoding_work_per_point():
    enc = _encoding(load_workload("instant_ngp_nerf", SMALL))
    n = 4096
    assert enc.kind in VECTOR_KINDS and not is_matrix(enc.kind) and enc.macs == 0
    assert enc.dims["points"] == n and enc.dims["levels"] == 16 and enc.dims["features"] == 2
    assert enc.dims["elements"] == n * 32 and enc.dims["lookups"] == n * 16 * 8  # 128 reads per point
    # per level: 4d scale/fract + d (1−w) + 8·(d−1) weight products + 2·8·F weighted sums = 63,
    # + 8 corners × (2d = 6 hashed | 2d−1 = 5 dense) index ops.
    assert enc.flops == n * (5 * (63 + 40) + 11 * (63 + 48)) == n * 1736
    assert enc.weight_bytes == n * 128 * 2 * 2  # gathered FP16 entries, F = 2
    assert enc.input_bytes == n * 3 * 4 and enc.output_bytes == n * 32 * 2


def test_work_scales_linearly_with_points_and_batch():
    a = load_workload("instant_ngp_nerf", ["points=1024"])
    b = load_workload("instant_ngp_nerf", ["points=4096"])
    c = load_workload("instant_ngp_nerf", ["points=1024", "batch=4"])
    for x, y in ((a, b), (a, c)):
        assert y.total_macs == 4 * x.total_macs and y.total_flops == 4 * x.total_flops
        assert y.total_bytes == 4 * x.total_bytes - 3 * sum(op.weight_bytes for op in x.ops if op.kind == "gemm")
        assert y.total_params == x.total_params
    assert b.metadata["set.points"] == "4096"


def test_default_points():
    assert _encoding(load_workload("instant_ngp_nerf")).dims["points"] == DEFAULT_POINTS == 262_144


@pytest.mark.parametrize("model", NGP_MODELS)
def test_round_trip_through_the_csv_format(model, tmp_path):
    trace = check_trace(load_workload(model, SMALL))
    assert read_trace(write_trace(trace, tmp_path / f"{model}.csv")) == trace


def test_simulate_runs_encodings_on_the_vector_unit_and_mlps_on_the_array():
    from archsim.sim.run import simulate

    result = simulate(str(ROOT / "arch_configs" / "edge_32x32_os.yaml"), "instant_ngp_nerf")
    engines = {r.kind: r.engine for r in result.records}
    assert engines == {"hash_encoding": "vector", "sh_encoding": "vector", "gemm": "npu"}
    assert len(result.records) == 7 and result.total_cycles > 0
    assert result.total_macs == DEFAULT_POINTS * NERF_MLP_MACS


def test_builder_encodings_directly():
    b = GraphBuilder("toy", "fp16")
    x = b.input("xy", (10, 2), dtype="fp32")
    h = b.hash_encoding("hash", x, levels=4, features_per_level=2, log2_table_size=8, base_resolution=4,
                        per_level_scale=2.0)
    g = b.grid_encoding("grid", x, levels=2, features_per_level=4, base_resolution=4, per_level_scale=1.0)
    f = b.frequency_encoding("freq", x, n_frequencies=3)
    d = b.input("dir", (10, 3), dtype="fp32")
    s = b.sh_encoding("sh", d, degree=3)
    assert b.shape(h) == (10, 8) and b.shape(g) == (10, 8) and b.shape(f) == (10, 12) and b.shape(s) == (10, 9)
    # 2-D levels with R = 4, 8, 16, 32 → 16, 64, 256 (= 2^8), 1024 capped to 256 (hashed).
    assert b.tensors["hash.table"].shape == (16 + 64 + 256 + 256, 2)
    trace = lower(b.build())
    ops = {op.name: op for op in trace.ops}
    levels = grid_levels(2, 4, 4, 2.0, "hash", 8)
    assert [lv.hashed for lv in levels] == [False, False, False, True]
    assert ops["hash"].flops == 10 * encoding_flops_per_point(2, 2, levels)
    assert ops["freq"].flops == 10 * 12 * 6 and ops["freq"].dims == {"elements": 120, "points": 10}
    assert all(op.kind in VECTOR_KINDS for op in trace.ops)
    with pytest.raises(WorkloadError, match="spherical harmonics"):
        b.sh_encoding("bad", x, degree=4)


def test_unsupported_encoding_is_a_located_config_error(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("model_type: instant_ngp\napp: sdf\nencoding: {otype: OneBlob}\nnetwork: {n_neurons: 64}\n")
    with pytest.raises(ConfigError, match="encoding.otype"):
        load_workload(str(path))


def test_frequency_encoded_nerf_from_a_user_file(tmp_path):
    path = tmp_path / "nerf_freq.yaml"
    path.write_text("model_type: instant_ngp\napp: nerf\nencoding: {otype: Frequency, n_frequencies: 12}\n"
                    "network: {n_neurons: 64, n_hidden_layers: 1}\ndir_encoding: {otype: SphericalHarmonics}\n"
                    "rgb_network: {n_neurons: 64, n_hidden_layers: 2}\n")
    trace = check_trace(load_workload(str(path), ["points=16"]))
    assert trace.ops[0].kind == "frequency_encoding" and trace.ops[0].dims["elements"] == 16 * 72
    assert trace.ops[1].dims["K"] == 80  # 72 padded to a multiple of 16

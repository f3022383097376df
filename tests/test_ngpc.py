"""NGPC (kind: ngpc + kind: gpu_profile + frame programs): the issue's invariants and bad input."""
from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest

from archsim.config import load_arch
from archsim.errors import ArchsimError
from archsim.kernels import ngpc_timing as kt
from archsim.mapping.ngpc_frame import simulate_frame
from archsim.workload import load_workload
from archsim.workload.frames import DEFAULT_QUERIES_PER_PIXEL, frame

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "arch_configs"
RESIDENT = "engines.ngpc.level_sram_kib=65536"


def _arch(name, *overrides):
    return load_arch(str(CONFIGS / f"{name}.yaml"), list(overrides))


@pytest.fixture(scope="module")
def experiment():
    return runpy.run_path(str(ROOT / "experiments" / "ngpc.py"), run_name="ngpc_test")


@pytest.mark.parametrize("workload, levels, dims", [("instant_ngp_nerf", 16, 3), ("instant_ngp_gigapixel", 16, 2),
                                                    ("instant_ngp_nerf_densegrid", 8, 3),
                                                    ("instant_ngp_nerf_densegrid_1res", 2, 3)])
def test_encoding_lookups_are_queries_x_levels_x_corners(workload, levels, dims):
    queries = 1000
    trace = load_workload(workload, [f"points={queries}"])
    grid = [o for o in trace.ops if o.kind in ("hash_encoding", "grid_encoding")]
    assert len(grid) == 1
    assert grid[0].dim("lookups") == queries * levels * 2 ** dims


@pytest.mark.parametrize("workload, macs_per_query", [("instant_ngp_nerf", 10_240), ("instant_ngp_sdf", 7_168),
                                                      ("instant_ngp_gigapixel", 7_168), ("instant_ngp_volume", 7_168)])
def test_mlp_macs_are_queries_x_macs_per_query(workload, macs_per_query):
    queries = 4096
    trace = load_workload(workload, [f"points={queries}"])
    assert sum(o.macs for o in trace.ops if o.kind == "gemm") == queries * macs_per_query


def _tcnn_hash(vertex, entries):
    primes = (1, 2654435761, 805459861)
    h = 0
    for d, c in enumerate(vertex):
        h ^= (int(c) * primes[d]) & 0xFFFFFFFF
    return h % entries


def test_hashed_level_index_is_tiny_cuda_nns_hash():
    rng = np.random.default_rng(3)
    for dims in (2, 3):
        for _ in range(200):
            vertex = rng.integers(0, 2048, size=dims).astype(np.int64)
            got = kt.grid_index(vertex, dims, kt.HASH, 2048, 1 << 19, 16)
            assert got == _tcnn_hash(vertex, 1 << 19)


def test_a_level_half_resident_misses_about_half_its_corners():
    coords = np.random.default_rng(0).random((4096, 3))
    res = np.array([2049], np.int64)
    entries = np.array([1 << 19], np.int64)
    scale = np.array([2048.0])
    _, all_in = kt.encoding_sample(coords, scale, res, entries, entries.copy(), kt.HASH, 16, 2, 8, 8, 16)
    _, half = kt.encoding_sample(coords, scale, res, entries, entries // 2, kt.HASH, 16, 2, 8, 8, 16)
    assert all_in.sum() == 0
    assert 0.45 < half.sum() / (4096 * 8) < 0.55


@pytest.mark.parametrize("app, workload", [("image", "instant_ngp_gigapixel"), ("volume", "instant_ngp_volume")])
@pytest.mark.parametrize("sram", [RESIDENT, "engines.ngpc.level_sram_kib=1024"])
def test_more_nfps_never_slower(app, workload, sram):
    fr = frame(app, "1080p")
    times = [simulate_frame(_arch("ngpc", f"engines.ngpc.nfps={n}", sram), workload, fr, "ngpc").seconds
             for n in (1, 2, 4, 8, 16, 32, 64)]
    assert all(b <= a * (1 + 1e-9) for a, b in zip(times, times[1:])), times
    if sram == RESIDENT:
        assert times[-1] < times[0] / 4


def test_overlap_is_shorter_than_the_sum_and_no_shorter_than_either_queue():
    fr = frame("sdf", "1080p")
    run = simulate_frame(_arch("ngpc", "engines.ngpc.nfps=16", RESIDENT), "instant_ngp_sdf", fr, "ngpc")
    assert run.batches > 2
    assert run.seconds < run.gpu_busy_s + run.ngpc_busy_s
    assert run.seconds >= max(run.gpu_busy_s, run.ngpc_busy_s) * (1 - 1e-9)
    assert run.gpu_rest_s == pytest.approx(run.gpu_busy_s)     # the NGPC system's GPU runs only the rest


def test_speedup_never_exceeds_the_amdahl_bound(experiment):
    qpp = experiment["default_nerf_qpp"]()
    for app in ("nerf", "volume"):
        r = experiment["run_app"](app, "hash", (8, 64, 256), qpp)
        bound = experiment["amdahl_bound"](r["gpu"])
        assert max(r["speedup"].values()) <= bound * (1 + 1e-6)
        assert r["speedup"][256] > 0.9 * bound       # and the bound is reached once the NGPC is fast enough


def test_gpu_profile_reproduces_the_papers_kernel_shares(experiment):
    qpp = experiment["default_nerf_qpp"]()
    for grid, paper in experiment["PAPER_SHARE_PCT"].items():
        _, apps = experiment["average_speedup"]((8,), qpp, grid)
        mean = 100 * sum(r["gpu"].gpu_encoding_mlp_share for r in apps) / len(apps)
        assert mean == pytest.approx(paper, abs=0.02), grid


def test_the_reference_frame_takes_its_measured_time():
    g = _arch("rtx3090")
    ref = g.engines["gpu"].reference
    run = simulate_frame(g, "instant_ngp_nerf", frame("nerf", "1080p"), "gpu")
    assert run.seconds * 1e3 == pytest.approx(ref.frame_ms, rel=1e-4)
    assert DEFAULT_QUERIES_PER_PIXEL["nerf"] == ref.queries_per_pixel   # one calibrated value, two readers


def test_frames_count_pixels_and_batches():
    f = frame("nerf", "4k", queries_per_pixel=2.5, batch_queries=1 << 18)
    assert f.pixels == 3840 * 2160
    assert sum(f.batch_sizes()) == f.queries == round(3840 * 2160 * 2.5)
    assert len(f.batch_sizes()) == f.batches


def test_area_and_power_are_linear_in_nfps(experiment):
    rows = experiment["area_power"]((8, 16, 64))
    assert rows[1]["area_mm2"] == pytest.approx(2 * rows[0]["area_mm2"])
    assert rows[2]["power_w"] == pytest.approx(8 * rows[0]["power_w"])


@pytest.mark.parametrize("override, needle", [("engines.ngpc.nfps=0", "engines.ngpc.nfps"),
                                               ("engines.ngpc.lookups_per_cycle=-1", "engines.ngpc.lookups_per_cycle"),
                                               ("engines.gpu.app_shares.sdf=1.5", "app_shares")])
def test_bad_ngpc_yaml_names_the_file_and_key(override, needle):
    with pytest.raises(ArchsimError) as err:
        _arch("ngpc", override)
    assert "ngpc.yaml" in str(err.value) or "rtx3090.yaml" in str(err.value)
    assert needle in str(err.value)


def test_a_rest_kernel_of_an_unknown_app_is_refused():
    from archsim.mapping.ngpc_frame import frame_program, batch_traces
    from archsim.sim.run import build_engines, run_program

    arch = _arch("rtx3090")
    engines = build_engines(arch)
    fr = frame("nerf", "1080p", queries_per_pixel=0.01)
    prog = frame_program(fr, batch_traces("instant_ngp_nerf", fr), engines, "gpu")
    for t in prog.tasks:
        t.args["app"] = "hologram"
    with pytest.raises(ArchsimError, match="hologram"):
        run_program(prog, arch, engines, "bad")


def test_experiment_quick_writes_its_tables_and_figure(experiment, tmp_path, capsys):
    assert experiment["main"](["--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "paper avg" in out and "interface bandwidth" in out
    import csv

    rows = list(csv.DictReader((tmp_path / "ngpc_speedups.csv").open()))
    nerf8 = next(r for r in rows if r["grid"] == "hash" and r["app"] == "nerf" and r["nfps"] == "8")
    qpp = experiment["default_nerf_qpp"]()
    fr = frame("nerf", "1080p", qpp)
    gpu = simulate_frame(_arch("rtx3090"), "instant_ngp_nerf", fr, "gpu")
    ngpc = simulate_frame(_arch("ngpc", "engines.ngpc.nfps=8", RESIDENT), "instant_ngp_nerf", fr, "ngpc")
    assert float(nerf8["speedup"]) == pytest.approx(gpu.seconds / ngpc.seconds, rel=1e-9)
    assert (tmp_path / "ngpc.png").stat().st_size > 10_000

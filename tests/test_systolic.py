"""The systolic array model: hand-derived small cases per dataflow, and properties that must always hold."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.kernels import systolic_timing as kt
from archsim.kernels.scalesim_compute import scalesim_compute_figures

BIG = 1 << 40  # words: buffers that hold everything


def run(df, r, c, m, n, k, repeats=1, compat=False, buf=(BIG, BIG, BIG), bw=0.0):
    return kt.gemm_cycles_and_traffic(kt.DATAFLOW_CODES[df], r, c, m, n, k, repeats, compat, *buf, bw)


# --- SCALE-Sim's closed form (reference §2): 20x12x30 on 8x8 -> os 6 folds x 44 - 1, ws 8 x 42 - 1, is 12 x 34 - 1
@pytest.mark.parametrize("df,cycles,folds", [("os", 263, 6), ("ws", 335, 8), ("is", 407, 12)])
def test_scalesim_cycles_of_the_reference_example(df, cycles, folds):
    total, n_folds, *_ = scalesim_compute_figures(kt.DATAFLOW_CODES[df], 8, 8, 20, 12, 30)
    assert (total, n_folds) == (cycles, folds)


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_native_fold_time_is_2r_plus_c_plus_t_minus_2(df):
    # 20x12x30 on 8x8: T = K (os), M (ws), N (is)
    t = {"os": 30, "ws": 20, "is": 12}[df]
    folds = {"os": 3 * 2, "ws": 4 * 2, "is": 4 * 3}[df]
    s = run(df, 8, 8, 20, 12, 30)
    assert s[kt.COMPUTE_CYCLES] == folds * (2 * 8 + 8 + t - 2)
    assert s[kt.TOTAL_CYCLES] == s[kt.COMPUTE_CYCLES] and s[kt.STALL_CYCLES] == 0


def test_os_native_counts_one_more_r_per_fold_than_scalesim():
    native = run("os", 8, 8, 20, 12, 30)[kt.COMPUTE_CYCLES]
    compat = run("os", 8, 8, 20, 12, 30, compat=True)[kt.COMPUTE_CYCLES]
    assert native - compat == 6 * 8


@pytest.mark.parametrize("df,ifmap,filt,ofmap", [
    # os: ifmap re-read per column fold, filter per row fold, each output written once
    ("os", 2 * 20 * 30, 3 * 12 * 30, 20 * 12),
    # ws: ifmap per column fold, weights once, partial sums written once per K fold
    ("ws", 2 * 20 * 30, 30 * 12, 4 * 20 * 12),
    # is: inputs once, weights per column fold, partial sums per K fold
    ("is", 20 * 30, 3 * 30 * 12, 4 * 20 * 12),
])
def test_sram_access_counts(df, ifmap, filt, ofmap):
    s = run(df, 8, 8, 20, 12, 30)
    assert (s[kt.IFMAP_SRAM_READS], s[kt.FILTER_SRAM_READS], s[kt.OFMAP_SRAM_WRITES]) == (ifmap, filt, ofmap)


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_big_buffers_read_each_operand_from_dram_once(df):
    s = run(df, 8, 8, 20, 12, 30)
    assert s[kt.IFMAP_DRAM_READS] == 20 * 30
    assert s[kt.FILTER_DRAM_READS] == 30 * 12
    assert s[kt.OFMAP_DRAM_WRITES] == 20 * 12
    assert s[kt.OFMAP_DRAM_READS] == 0


def test_small_buffers_refetch_operands():
    # os, 8x8: filter slice = 8 cols x 30 = 240 words; a 300-word buffer holds one slice only, and the
    # column fold is the outer loop, so filters are still fetched once; ifmap slices (8 x 30) cycle
    # through 3 row folds per column fold and are re-fetched for every column fold.
    s = run("os", 8, 8, 20, 12, 30, buf=(300, 300, BIG))
    assert s[kt.FILTER_DRAM_READS] == 30 * 12
    assert s[kt.IFMAP_DRAM_READS] == 2 * 20 * 30


def test_ws_partial_sums_spill_when_the_output_slice_does_not_fit():
    # ws, 8x8, K=30 -> 4 K folds; output slice = M x 8 = 160 words
    fits = run("ws", 8, 8, 20, 12, 30, buf=(BIG, BIG, 160))
    spills = run("ws", 8, 8, 20, 12, 30, buf=(BIG, BIG, 159))
    assert fits[kt.OFMAP_DRAM_WRITES] == 20 * 12 and fits[kt.OFMAP_DRAM_READS] == 0
    # column fold 0 (8 filters, 160 words) spills on every K fold and reads back 3 times;
    # column fold 1 (4 filters, 80 words) fits and is written once
    assert spills[kt.OFMAP_DRAM_WRITES] == 4 * 160 + 80
    assert spills[kt.OFMAP_DRAM_READS] == 3 * 160


def test_slow_dram_stalls_by_at_least_the_transfer_time():
    s = run("ws", 8, 8, 200, 64, 300, bw=0.5)
    moved = s[kt.IFMAP_DRAM_READS] + s[kt.FILTER_DRAM_READS] + s[kt.OFMAP_DRAM_WRITES] + s[kt.OFMAP_DRAM_READS]
    assert s[kt.TOTAL_CYCLES] >= moved / 0.5
    assert s[kt.STALL_CYCLES] > 0


def test_fast_dram_hides_everything_but_first_load_and_last_drain():
    ideal = run("os", 8, 8, 64, 64, 64)
    fast = run("os", 8, 8, 64, 64, 64, bw=1000.0)
    # only the first fold's load (8x64 + 64x8 words) and the last drain (64 words) are exposed
    assert fast[kt.TOTAL_CYCLES] == pytest.approx(ideal[kt.TOTAL_CYCLES] + (1024 + 64) / 1000.0, abs=1)


def test_repeats_scale_linearly_with_ideal_memory():
    one = run("ws", 16, 16, 49, 1, 9)
    many = run("ws", 16, 16, 49, 1, 9, repeats=32)
    assert many[kt.TOTAL_CYCLES] == 32 * one[kt.TOTAL_CYCLES]
    assert many[kt.FOLDS] == 32 * one[kt.FOLDS]


dims = st.integers(1, 300)
arrays = st.sampled_from([(4, 4), (8, 8), (16, 4), (12, 14), (32, 32)])
dataflows = st.sampled_from(["os", "ws", "is"])


@settings(max_examples=150, deadline=None)
@given(df=dataflows, arr=arrays, m=dims, n=dims, k=dims, compat=st.booleans(),
       buf=st.integers(1, 1 << 16), bw=st.sampled_from([0.0, 0.25, 4.0, 64.0]))
def test_properties_hold_for_any_gemm(df, arr, m, n, k, compat, buf, bw):
    r, c = arr
    s = run(df, r, c, m, n, k, compat=compat, buf=(buf, buf, buf), bw=bw)
    macs = m * n * k
    # cycles can never beat the array's peak rate, and utilization is at most 100 %
    assert s[kt.TOTAL_CYCLES] >= math.ceil(macs / (r * c))
    assert macs / (s[kt.TOTAL_CYCLES] * r * c) <= 1.0
    assert s[kt.STALL_CYCLES] >= 0
    # every MAC is mapped exactly once: sum over folds of PEs used x streamed length = MACs
    assert s[kt.MAPPED_MACS] == macs
    # DRAM traffic is at least the compulsory footprint
    assert s[kt.IFMAP_DRAM_READS] >= m * k and s[kt.FILTER_DRAM_READS] >= k * n
    assert s[kt.OFMAP_DRAM_WRITES] >= m * n
    # with a real memory, total time covers the DRAM transfers
    if bw > 0:
        moved = (s[kt.IFMAP_DRAM_READS] + s[kt.FILTER_DRAM_READS] + s[kt.OFMAP_DRAM_WRITES]
                 + s[kt.OFMAP_DRAM_READS])
        assert s[kt.TOTAL_CYCLES] >= math.floor(moved / bw)


def test_tiling_the_streamed_dimension_keeps_partial_sums_on_chip():
    # ws, 8x8, K=30 (4 K folds), M=200: one column fold's partial sums are 200 x 8 = 1600 words
    untiled = run("ws", 8, 8, 200, 16, 30, buf=(BIG, BIG, 400), bw=2.0)
    tiled = kt.gemm_cycles_and_traffic(kt.WS, 8, 8, 200, 16, 30, 1, False, BIG, BIG, 400, 2.0, 1.0, 50)
    assert untiled[kt.OFMAP_DRAM_READS] > 0
    assert tiled[kt.OFMAP_DRAM_READS] == 0 and tiled[kt.OFMAP_DRAM_WRITES] == 200 * 16
    # stationary weights are fetched once, not once per tile
    assert tiled[kt.FILTER_DRAM_READS] == 30 * 16
    assert tiled[kt.MAPPED_MACS] == 200 * 16 * 30
    assert tiled[kt.TOTAL_CYCLES] < untiled[kt.TOTAL_CYCLES]


@settings(max_examples=100, deadline=None)
@given(df=st.sampled_from(["ws", "is"]), m=dims, n=dims, k=dims, tile=st.integers(1, 64),
       buf=st.integers(1, 1 << 14))
def test_tiled_runs_conserve_macs_and_compulsory_traffic(df, m, n, k, tile, buf):
    s = kt.gemm_cycles_and_traffic(kt.DATAFLOW_CODES[df], 8, 8, m, n, k, 1, False, buf, buf, buf, 4.0, 1.0, tile)
    assert s[kt.MAPPED_MACS] == m * n * k
    assert s[kt.IFMAP_DRAM_READS] >= m * k and s[kt.FILTER_DRAM_READS] >= k * n
    assert s[kt.OFMAP_DRAM_WRITES] >= m * n
    assert s[kt.TOTAL_CYCLES] >= s[kt.COMPUTE_CYCLES] >= m * n * k / 64


def test_double_buffered_pes_hide_the_stationary_load_behind_streaming():
    # ws, 8x8, 20x12x30: 8 folds with T = M = 20 >= R
    plain = run("ws", 8, 8, 20, 12, 30)
    overlapped = kt.gemm_cycles_and_traffic(kt.WS, 8, 8, 20, 12, 30, 1, False, BIG, BIG, BIG, 0.0, 1.0, 0, True)
    assert plain[kt.COMPUTE_CYCLES] == 8 * (2 * 8 + 8 + 20 - 2)
    # first fold pays fill, stationary load and drain; each later fold only its T streamed rows
    assert overlapped[kt.COMPUTE_CYCLES] == (2 * 8 + 8 + 20 - 2) + 7 * 20
    # when T < R the next tile's R-cycle shift-in is the bottleneck
    short = kt.gemm_cycles_and_traffic(kt.WS, 8, 8, 3, 12, 30, 1, False, BIG, BIG, BIG, 0.0, 1.0, 0, True)
    assert short[kt.COMPUTE_CYCLES] == (2 * 8 + 8 + 3 - 2) + 7 * 8


def test_scalesim_compatible_mode_ignores_fold_overlap():
    a = kt.gemm_cycles_and_traffic(kt.OS, 8, 8, 20, 12, 30, 1, True, BIG, BIG, BIG, 0.0, 1.0, 0, True)
    b = run("os", 8, 8, 20, 12, 30, compat=True)
    assert a[kt.COMPUTE_CYCLES] == b[kt.COMPUTE_CYCLES]

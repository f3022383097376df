"""The systolic engine's view of trace ops: convolutions as GEMMs, grouped and depthwise explicitly."""
import pytest

from archsim.config import build_arch
from archsim.errors import MappingError
from archsim.hw.systolic import SystolicArray, gemm_shape
from archsim.trace import TraceOp


def conv(groups=1, c=32, f=64, n=1):
    dims = {"N": n, "H": 16, "W": 16, "C": c, "R": 3, "S": 3, "F": f, "stride_h": 1, "stride_w": 1,
            "pad_h": 1, "pad_w": 1, "groups": groups, "OH": 16, "OW": 16}
    return TraceOp(0, "conv", "conv2d", dims, macs=n * 16 * 16 * f * 9 * c // groups)


def test_conv_is_an_im2col_gemm():
    s = gemm_shape(conv())
    assert (s.m, s.n, s.k, s.repeats) == (16 * 16, 64, 9 * 32, 1)


def test_batch_multiplies_output_pixels():
    assert gemm_shape(conv(n=4)).m == 4 * 16 * 16


def test_grouped_conv_is_independent_smaller_gemms():
    s = gemm_shape(conv(groups=4))
    assert (s.n, s.k, s.repeats) == (16, 9 * 8, 4)
    assert s.macs == conv(groups=4).macs


def test_depthwise_conv_is_one_gemm_per_channel():
    op = conv(groups=32, c=32, f=32)
    s = gemm_shape(op)
    assert (s.m, s.n, s.k, s.repeats) == (256, 1, 9, 32)
    assert s.macs == op.macs


def test_groups_must_divide_channels():
    with pytest.raises(MappingError, match="groups"):
        gemm_shape(conv(groups=5))


def test_depthwise_on_the_array_uses_one_column():
    arch = build_arch({
        "name": "t", "clock_ghz": 1.0,
        "engines": {"npu": {"kind": "systolic", "rows": 8, "cols": 8, "dataflow": "ws", "ifmap_sram": "s",
                            "filter_sram": "s", "ofmap_sram": "s", "dram": "d"}},
        "memories": {"s": {"kind": "sram", "capacity_kib": 64}, "d": {"kind": "dram", "bandwidth_gbps": 1e6}},
    })
    cost = SystolicArray("npu", arch.engines["npu"], arch).demand(conv(groups=32, c=32, f=32))
    # K = 9 on 8 rows -> 2 row folds, N = 1 -> 1 column of 8 used: mapping efficiency (8+1)/2 / 64
    assert cost.mapping_efficiency == pytest.approx((8 * 1 + 1 * 1) / 2 / 64)
    assert cost.macs == conv(groups=32, c=32, f=32).macs


def test_conv_reads_the_distinct_input_pixels_from_dram_not_the_im2col_copies():
    arch = build_arch({
        "name": "t", "clock_ghz": 1.0,
        "engines": {"npu": {"kind": "systolic", "rows": 8, "cols": 8, "dataflow": "os", "ifmap_sram": "s",
                            "filter_sram": "s", "ofmap_sram": "s", "dram": "d"}},
        "memories": {"s": {"kind": "sram", "capacity_kib": 1024}, "d": {"kind": "dram", "bandwidth_gbps": 8}},
    })
    cost = SystolicArray("npu", arch.engines["npu"], arch).demand(conv())
    # buffers hold everything: DRAM supplies the 16x16x32 input once (not 256 x 288 im2col words) ...
    assert cost.traffic_bytes["d.ifmap.read"] == pytest.approx(16 * 16 * 32, rel=0.01)
    # ... while the array still reads every im2col element from the SRAM (once per column fold)
    assert cost.traffic_bytes["s.ifmap.read"] == 8 * 256 * 288

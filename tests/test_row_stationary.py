"""Row-stationary dataflow (``dataflow: rs``): the Eyeriss mapping, its limits, and conservation."""
from __future__ import annotations

import pytest

import archsim
from archsim.config import load_arch
from archsim.hw.dataflows import get_dataflow
from archsim.hw.dataflows.row_stationary import ConvShape, conv_shapes, glb_words, rs_mapping
from archsim.kernels.row_stationary import rs_buffer_loads
from archsim.sim.run import build_engines
from archsim.workload import load_workload


def _dw1() -> ConvShape:
    """MobileNetV1's first depthwise layer: 112x112x32, 3x3, stride 1."""
    return ConvShape(1, 32, 1, 32, 3, 3, 112, 112, 1, 1, 112, 112)


def test_mobilenet_dw1_on_64x64_matches_the_hand_derived_mapping():
    # setups_ngpc_draco.md §2.5: 2 strips of 56, 21 sets, 4 passes, 1,344 cycles, 65.6 %
    m = rs_mapping(_dw1(), 64, 64)
    assert (m.strips, m.strip_rows, m.sets_vertical, m.sets_horizontal) == (2, 56, 21, 1)
    assert (m.work_units, m.passes, m.compute_cycles) == (64, 4, 1344)
    assert m.utilization == pytest.approx(3_612_672 / (1344 * 4096))
    assert m.active_pes_per_pass == 3528


def test_mobilenet_pw1_on_64x64_uses_56_of_64_columns():
    m = rs_mapping(ConvShape(1, 1, 32, 64, 1, 1, 112, 112, 1, 1, 112, 112), 64, 64)
    assert (m.passes, m.compute_cycles) == (64, 7168)
    assert m.utilization == pytest.approx(56 / 64)


def test_small_layer_on_eyeriss_12x14_by_hand():
    # 5x5 ofmap, 3x3 filters, 2 channels, 2 filters: a set is 3 x 5 PEs; 4 fit vertically and 2 horizontally,
    # so all 4 units run in one pass of F*S = 15 cycles; 900 MACs / (15 * 168) PEs
    m = rs_mapping(ConvShape(1, 1, 2, 2, 3, 3, 5, 5, 1, 1, 7, 7), 12, 14)
    assert (m.sets_vertical, m.sets_horizontal, m.passes, m.compute_cycles) == (4, 2, 1, 15)
    assert m.shape.macs == 900
    assert m.utilization == pytest.approx(900 / (15 * 168))


def test_filters_taller_than_the_array_are_folded():
    # 7 filter rows on 4 PE rows: two folds of 4 rows; each fold is a unit of its own
    m = rs_mapping(ConvShape(1, 1, 1, 1, 7, 7, 10, 10, 1, 1, 16, 16), 4, 16)
    assert (m.row_folds, m.set_rows, m.sets_vertical) == (2, 4, 1)
    assert m.work_units == 2 and m.passes == 2
    assert m.utilization <= 1.0


@pytest.mark.parametrize("model", ["mobilenet_v1", "alexnet", "resnet18", "vgg11"])
@pytest.mark.parametrize("array", [(12, 14), (64, 64), (7, 3)])
def test_utilization_never_exceeds_one_and_macs_are_conserved(model, array):
    for op in load_workload(model).ops:
        if op.kind not in ("conv2d", "gemm", "gemv"):
            continue
        shapes = conv_shapes(op)
        assert sum(s.macs for s in shapes) == op.macs, op.name
        for s in shapes:
            m = rs_mapping(s, *array)
            assert 0 < m.utilization <= 1.0 + 1e-12, op.name
            assert m.average_active_pes <= array[0] * array[1]


def test_depthwise_reads_every_ifmap_block_and_filter_once():
    # one channel per filter: every unit has its own ifmap block and psum strip; the two strips of a channel
    # share its filter rows (multicast in a pass, or kept from the pass before)
    m = rs_mapping(_dw1(), 64, 64)
    ifmap, weights, psums = rs_buffer_loads(1, m.strips, 32, 1, 1, 1, m.concurrent_sets)
    assert ifmap == psums == m.work_units
    assert weights == 32


def test_sets_of_one_filter_add_their_psums_in_the_array():
    # 1x1 conv, 64 channels into 1 filter, 1 strip: 64 units in one pass -> one psum strip written, no read back
    m = rs_mapping(ConvShape(1, 1, 64, 1, 1, 1, 8, 8, 1, 1, 8, 8), 64, 64)
    assert m.passes == 1
    _, _, psum_writes, psum_reads = glb_words(m)
    assert psum_writes == 8 * 8 and psum_reads == 0


def test_filters_stay_in_the_array_while_the_strips_change():
    # pointwise 112x112, 32 -> 64 on 64x64: a pass is the 64 filters of one (channel, strip); the next strip
    # finds the same filter rows in place, so every weight is read once, and every channel's ifmap once
    m = rs_mapping(ConvShape(1, 1, 32, 64, 1, 1, 112, 112, 1, 1, 112, 112), 64, 64)
    ifmap, weights, psum_writes, psum_reads = glb_words(m)
    assert weights == 32 * 64
    assert ifmap == 32 * 112 * 112
    assert psum_writes == 32 * 64 * 112 * 112      # every channel's psums go through the buffer
    assert psum_reads == psum_writes - 64 * 112 * 112


def _array(name: str, *overrides: str):
    arch = load_arch(name, list(overrides))
    return build_engines(arch)["pe_array"]


def test_memory_bound_layer_lasts_its_dram_bytes_over_the_port():
    arr = _array("draco_64x64", "memories.dram.bandwidth_gbps=1")
    op = next(o for o in load_workload("mobilenet_v1").ops if o.name == "block1.dw")
    d = arr.demand(op)
    dram_bytes = d.bytes_of("dram")
    shape = conv_shapes(op)[0]                                                  # int8: a word is a byte
    assert dram_bytes == shape.ifmap_words + shape.weight_words + shape.ofmap_words   # each once (fits on chip)
    assert d.cycles == -(-int(dram_bytes) // 1)                                 # 1 GB/s at 1 GHz = 1 B/cycle
    assert d.compute_cycles == 1344 and d.cycles > d.compute_cycles


def test_compute_bound_layer_lasts_its_passes():
    arr = _array("draco_64x64", "memories.dram.bandwidth_gbps=100000")
    op = next(o for o in load_workload("mobilenet_v1").ops if o.name == "block1.pw")
    d = arr.demand(op)
    assert d.cycles == d.compute_cycles == 7168
    assert d.macs == op.macs


def test_operands_that_fit_nowhere_are_refetched():
    big = _array("draco_64x64", "memories.glb_ifmap.capacity_kib=1", "memories.glb_filter.capacity_kib=1")
    roomy = _array("draco_64x64")
    op = next(o for o in load_workload("mobilenet_v1").ops if o.name == "block13.pw")
    assert big.demand(op).bytes_of("dram", "read") > roomy.demand(op).bytes_of("dram", "read")


def test_eyeriss_like_runs_alexnet_row_stationary_on_the_engine():
    arch = load_arch("eyeriss_like")
    assert arch.engines["pe_array"].dataflow == "rs"
    r = archsim.simulate(arch, "alexnet")
    matrix = r.ops[r.ops.kind.isin(["conv2d", "gemm", "gemv"])]
    assert int(matrix.macs.sum()) == sum(o.macs for o in load_workload("alexnet").ops
                                         if o.kind in ("conv2d", "gemm", "gemv"))
    assert (matrix.utilization <= 1.0).all() and (matrix.utilization > 0).all()


def test_rs_is_listed_and_unknown_dataflows_name_it():
    assert get_dataflow("rs").name == "rs"
    with pytest.raises(Exception, match="rs"):
        load_arch("draco_64x64", ["engines.pe_array.dataflow=row"])


def test_alexnet_active_pes_on_eyeriss():
    # Eyeriss JSSC'17 Table V: 154/135/156/156/156 active PEs for CONV1-5, where CONV1 counts its 55 ofmap rows as
    # full 14-row strips; with the last strip 13 rows wide, 11 * 55 / 4 = 151.25 (MAESTRO's number, too)
    conv = [op for op in load_workload("alexnet").ops if op.kind == "conv2d"]
    maps = [rs_mapping(conv_shapes(op)[0], 12, 14) for op in conv]
    assert [m.active_pes_per_pass for m in maps] == [151.25, 135.0, 156.0, 156.0, 156.0]
    assert [m.average_active_pes for m in maps] == [151.25, 135.0, 156.0, 156.0, 156.0]   # every pass full

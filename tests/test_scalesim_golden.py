"""`archsim scalesim` reproduces SCALE-Sim 3.0.0's reports byte for byte.

Golden reports were produced by running SCALE-Sim 3.0.0 itself (tests/fixtures/scalesim/README.md
has the exact commands); SCALE-Sim is not needed to run these tests.
"""
from pathlib import Path

import pytest

from archsim.cli import main
from archsim.scalesim.reports import REPORT_FILES, read_report
from archsim.scalesim.validation import compare_with_golden, golden_cases

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "scalesim"


def golden_dirs():
    return [pytest.param(d, id=d.name) for d in golden_cases()]


@pytest.mark.parametrize("golden", golden_dirs())
def test_reports_identical_to_scalesim(golden, tmp_path):
    cmp = compare_with_golden(golden, tmp_path)
    assert cmp.cells > 0 and cmp.layers > 0
    assert cmp.differing_cells == 0, f"{cmp.differing_cells} of {cmp.cells} report cells differ"
    assert cmp.identical_bytes            # and the files themselves are the same bytes
    assert cmp.archsim_total_cycles == cmp.golden_total_cycles


def test_the_command_writes_the_reports_of_one_run(tmp_path):
    golden = FIXTURES / "golden" / "os_8x8__conv_edge"
    code = main(["scalesim", "-c", str(FIXTURES / "cfgs" / "os_8x8.cfg"), "-t", str(FIXTURES / "topologies" /
                 "conv_edge.csv"), "-i", "conv", "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    runs = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(runs) == 1
    for name in REPORT_FILES:
        assert (runs[0] / name).read_bytes() == (golden / name).read_bytes()


def test_there_are_goldens_for_every_dataflow_and_at_least_four_array_shapes():
    names = [p.values[0].name for p in golden_dirs()]
    assert {n.split("_")[0] for n in names} >= {"os", "ws", "is"}
    shapes = {n.split("__")[0].split("_")[1] for n in names if not n.startswith("user_")}
    assert len(shapes) >= 4


def test_sparsity_configs_are_refused_with_the_key(tmp_path):
    cfg = (FIXTURES / "cfgs" / "ws_8x8.cfg").read_text().replace("SparsitySupport : false",
                                                                   "SparsitySupport : true")
    assert "SparsitySupport : true" in cfg
    path = tmp_path / "sparse.cfg"
    path.write_text(cfg)
    code = main(["scalesim", "-c", str(path), "-t", str(FIXTURES / "topologies" / "gemm_small.csv"),
                 "-i", "gemm", "--out", str(tmp_path / "o")])
    assert code == 2


@pytest.mark.parametrize("df", ["os", "ws"])
def test_compatible_engine_under_archsim_run_counts_scalesim_cycles(df):
    """`archsim run` with a `scalesim_compatible` engine gives each layer SCALE-Sim's fold cycles
    (SCALE-Sim's "Total Cycles" is the index of the last row, one less than the row count)."""
    from archsim.config import build_arch
    from archsim.sim.run import simulate

    golden = read_report(FIXTURES / "golden" / f"{df}_128x128__resnet18" / "COMPUTE_REPORT.csv")
    arch = build_arch({
        "name": "compat", "clock_ghz": 1.0,
        "engines": {"npu": {"kind": "systolic", "rows": 128, "cols": 128, "dataflow": df,
                            "scalesim_compatible": True, "ifmap_sram": "s", "filter_sram": "s",
                            "ofmap_sram": "s", "dram": "d"}},
        "memories": {"s": {"kind": "sram", "capacity_kib": 512}, "d": {"kind": "dram", "bandwidth_gbps": 1e9}},
    })
    result = simulate(arch, str(FIXTURES / "topologies" / "resnet18.csv"))
    ours = [r.compute_cycles for r in sorted(result.records, key=lambda r: r.op_id)]
    assert ours == [int(row["Total Cycles"]) + 1 for row in golden]

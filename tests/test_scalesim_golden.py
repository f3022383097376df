"""`archsim scalesim` reproduces SCALE-Sim 3.0.0's reports byte for byte.

Golden reports were produced by running SCALE-Sim 3.0.0 itself (tests/fixtures/scalesim/README.md
has the exact commands); SCALE-Sim is not needed to run these tests.
"""
from pathlib import Path

import pytest

from archsim.cli import main
from archsim.scalesim.reports import REPORT_FILES, read_report

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "scalesim"
GEMM_TOPOLOGIES = {"gemm_small", "gemm_user"}


def golden_dirs():
    dirs = sorted(d for d in (FIXTURES / "golden").iterdir()
                  if all((d / name).exists() for name in REPORT_FILES))
    return [pytest.param(d, id=d.name) for d in dirs]


def run_archsim_scalesim(golden: Path, out: Path) -> Path:
    cfg, topo = golden.name.split("__")
    kind = "gemm" if topo in GEMM_TOPOLOGIES else "conv"
    code = main(["scalesim", "-c", str(FIXTURES / "cfgs" / f"{cfg}.cfg"),
                 "-t", str(FIXTURES / "topologies" / f"{topo}.csv"), "-i", kind, "--out", str(out),
                 "--no-progress"])
    assert code == 0
    runs = [p for p in out.iterdir() if p.is_dir()]
    assert len(runs) == 1
    return runs[0]


@pytest.mark.parametrize("golden", golden_dirs())
def test_reports_identical_to_scalesim(golden, tmp_path):
    produced = run_archsim_scalesim(golden, tmp_path)
    for name in REPORT_FILES:
        ours = read_report(produced / name)
        theirs = read_report(golden / name)
        assert len(ours) == len(theirs), f"{name}: layer count"
        for layer, (a, b) in enumerate(zip(ours, theirs)):
            assert a == b, f"{name} layer {layer}: archsim {a} != SCALE-Sim {b}"
        # and the files themselves are the same bytes
        assert (produced / name).read_text() == (golden / name).read_text()


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

"""`archsim compare RUN_A RUN_B`: per-op and total deltas, speedups, unmatched ops, located errors."""
import pandas as pd

from archsim.cli import main

TOPO = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
        "conv1, 32, 32, 3, 3, 16, 32, 1,\nconv2, 30, 30, 3, 3, 32, 32, 1,\n")


def _runs(tmp_path, arch_dir):
    topo = tmp_path / "topo.csv"
    topo.write_text(TOPO)
    for name, rows in (("a", 32), ("b", 8)):
        assert main(["run", str(arch_dir / "edge_32x32_ws.yaml"), str(topo), "--set", f"engines.npu.rows={rows}",
                     "--out", str(tmp_path / name), "--no-progress"]) == 0
    return tmp_path / "a", tmp_path / "b"


def test_compare_prints_totals_per_op_deltas_and_speedups(tmp_path, arch_dir, capsys):
    a, b = _runs(tmp_path, arch_dir)
    capsys.readouterr()
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "cmp")]) == 0
    text = capsys.readouterr().out
    assert "speedup of B over A" in text and "conv1" in text and "speedup by op kind" in text
    ops = pd.read_csv(tmp_path / "cmp" / "compare_ops.csv").set_index("op")
    oa, ob = pd.read_csv(a / "ops.csv").set_index("name"), pd.read_csv(b / "ops.csv").set_index("name")
    for op in ("conv1", "conv2"):
        assert ops.loc[op, "total_cycles_delta"] == ob.loc[op, "total_cycles"] - oa.loc[op, "total_cycles"]
        assert ops.loc[op, "speedup"] == oa.loc[op, "total_cycles"] / ob.loc[op, "total_cycles"]
    assert (ops.speedup < 1).all()          # a quarter of the rows is slower on every conv
    totals = pd.read_csv(tmp_path / "cmp" / "compare_totals.csv").set_index("metric")
    assert totals.loc["cycles", "delta"] > 0


def test_compare_reports_unmatched_ops_and_rejects_non_runs(tmp_path, arch_dir, capsys):
    a, b = _runs(tmp_path, arch_dir)
    ops = pd.read_csv(b / "ops.csv")
    ops.loc[ops.name == "conv2", "name"] = "conv2_renamed"
    ops.to_csv(b / "ops.csv", index=False)
    capsys.readouterr()
    assert main(["compare", str(a), str(b)]) == 0
    text = capsys.readouterr().out
    assert "unmatched: 1 ops only in A: conv2" in text and "1 ops only in B: conv2_renamed" in text
    assert main(["compare", str(a), str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err
    ops["name"] = "x" + ops["name"]
    ops.to_csv(b / "ops.csv", index=False)
    assert main(["compare", str(a), str(b)]) == 2
    assert "no op of this run matches" in capsys.readouterr().err

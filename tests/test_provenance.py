"""Provenance: summary.json alone reproduces a run; run directories are never overwritten silently."""
import json

from archsim.cli import main
from archsim.config import build_arch, load_arch
from archsim.report.provenance import default_run_dir, git_commit
from archsim.sim.run import simulate

TOPO = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
        "conv1, 16, 16, 3, 3, 8, 16, 1,\nconv2, 14, 14, 3, 3, 16, 16, 1,\n")


def test_summary_json_alone_reproduces_the_run(tmp_path, arch_dir, capsys):
    topo = tmp_path / "topo.csv"
    topo.write_text(TOPO)
    out = tmp_path / "run"
    assert main(["run", str(arch_dir / "edge_32x32_ws.yaml"), str(topo), "--set", "engines.npu.rows=16",
                 "--out", str(out), "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    prov = summary["provenance"]
    assert prov["arch_overrides"] == ["engines.npu.rows=16"] and prov["arch"]["engines"]["npu"]["rows"] == 16
    assert prov["mapper"] == "partition" and prov["archsim_version"] and prov["git_commit"]
    assert prov["workload"]["knobs"]["batch"] == 1 and len(prov["workload"]["sha256"]) == 64
    again = simulate(build_arch(prov["arch"]), prov["workload"]["spec"],
                     workload_overrides=prov["workload"]["overrides"], mapper=prov["mapper"])
    assert again.summary()["total_cycles"] == summary["total_cycles"]


def test_the_resolved_architecture_round_trips_for_every_shipped_arch(arch_dir):
    for path in sorted(arch_dir.glob("*.yaml")):
        arch = load_arch(path)
        back = build_arch(arch.to_dict(), "summary.json")
        assert (back.engines, back.memories, back.links, back.clock_ghz) == \
               (arch.engines, arch.memories, arch.links, arch.clock_ghz), path


def test_runs_with_different_overrides_get_different_default_directories():
    plain = default_run_dir("tpu", "resnet18")
    assert plain.as_posix() == "runs/tpu__resnet18"
    a = default_run_dir("tpu", "resnet18", ["engines.mxu.rows=64"])
    b = default_run_dir("tpu", "resnet18", ["engines.mxu.rows=128"])
    c = default_run_dir("tpu", "resnet18", [], [], "cosma")
    assert len({plain, a, b, c}) == 4 and a.name.startswith("tpu__resnet18__")
    assert a == default_run_dir("tpu", "resnet18", ["engines.mxu.rows=64"])   # deterministic


def test_replacing_a_different_run_is_announced_and_leaves_no_stale_files(tmp_path, arch_dir, capsys):
    topo = tmp_path / "topo.csv"
    topo.write_text(TOPO)
    out = tmp_path / "run"
    base = ["run", str(arch_dir / "edge_32x32_ws.yaml"), str(topo), "--out", str(out), "--no-progress"]
    assert main(base + ["--format", "json"]) == 0
    capsys.readouterr()
    assert main(base) == 0                                   # the same run again: quiet
    assert "replaced" not in capsys.readouterr().err
    assert main(base + ["--set", "engines.npu.rows=16"]) == 0
    err = capsys.readouterr().err
    assert "replaced the earlier run" in err and "engines.npu.rows 32 -> 16" in err
    assert not (out / "ops.json").exists() and (out / "ops.csv").exists()


def test_git_commit_is_unknown_outside_a_checkout(tmp_path):
    assert git_commit(tmp_path) == "unknown"


def test_shipped_folders_are_found_in_a_checkout_and_in_an_installed_package(tmp_path):
    from archsim.shipped import PACKAGE_DIR, shipped_dir

    assert shipped_dir("experiments") == PACKAGE_DIR.parent / "experiments"
    installed = tmp_path / "site-packages" / "archsim"          # a wheel's layout: no pyproject.toml beside it
    (installed / "_shipped" / "experiments").mkdir(parents=True)
    assert shipped_dir("experiments", installed) == installed / "_shipped" / "experiments"
    assert shipped_dir("arch_configs", installed) == installed / "_shipped" / "arch_configs"


def test_reproduce_writes_under_runs_not_into_the_tracked_figures(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["reproduce", "pim_gpt", "--quick"]) == 0
    assert (tmp_path / "runs" / "reproduce" / "pim_gpt" / "pim_gpt_speedup.csv").is_file()

"""The archsim command: exit codes and messages users see."""
import json

from archsim.cli import main, split_overrides


def test_validate_ok(capsys, arch_dir):
    assert main(["validate", str(arch_dir / "tpu_v1_like.yaml")]) == 0
    assert "OK" in capsys.readouterr().out


def test_validate_bad_override_exits_2_with_located_message(capsys, arch_dir):
    code = main(["validate", str(arch_dir / "tpu_v1_like.yaml"), "--set", "engines.mxu.rows=0"])
    err = capsys.readouterr().err
    assert code == 2
    assert "tpu_v1_like.yaml: engines.mxu.rows" in err and "Traceback" not in err


def test_list_names_shipped_archs_and_kinds(capsys):
    assert main(["list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert "arch_configs/tpu_v1_like.yaml" in listing["architectures"]
    assert {"systolic", "vector"} <= set(listing["engine kinds"])
    assert "by_kind" in listing["mappers"]


def test_set_items_are_split_between_arch_and_workload():
    arch, workload = split_overrides(["engines.npu.rows=64", "batch=8", "clock_ghz=2", "context=128"])
    assert arch == ["engines.npu.rows=64", "clock_ghz=2"]
    assert workload == ["batch=8", "context=128"]


def test_reproduce_runs_an_experiment_script(tmp_path, capsys):
    assert main(["reproduce", "pim_gpt", "--quick", "--out", str(tmp_path)]) == 0
    assert "paper" in capsys.readouterr().out
    assert (tmp_path / "pim_gpt_headline.csv").exists()


def test_reproduce_unknown_name_lists_the_experiments(capsys):
    assert main(["reproduce", "nope"]) == 2
    assert "neupims" in capsys.readouterr().err

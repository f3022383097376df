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
    assert "tpu_v1_like" in listing["architectures"]      # short names, as run accepts them
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


def test_serve_writes_iteration_op_and_unit_tables(tmp_path, capsys, arch_dir):
    import pandas as pd

    out = tmp_path / "serve"
    code = main(["serve", str(arch_dir / "neupims.yaml"), "llama2_7b", "--batch", "32", "--sub-batches", "2",
                 "--tp", "4", "--iterations", "3", "--sim-layers", "2", "--warm-up", "300", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and "tokens/s" in text and "attention on pim" in text
    it = pd.read_csv(out / "iterations.csv")
    assert list(it.iteration) == [0, 1, 2] and (it.ns > 0).all()
    units = pd.read_csv(out / "units.csv").set_index("component")
    assert units.loc["pim", "busy_fraction"] > 0 and (units.loc[[f"sa{i}" for i in range(8)], "busy_fraction"] > 0).all()
    ops = pd.read_csv(out / "ops.csv")
    assert (ops[ops.name == "layers.0.attn.qkv_proj"].runs == 6).all()          # 3 iterations x 2 sub-batches
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tokens_per_s"] > 0 and summary["options"]["sub_batches"] == 2


def test_serve_bad_input_is_a_located_error_not_a_traceback(capsys, arch_dir):
    assert main(["serve", str(arch_dir / "neupims.yaml"), "resnet18", "--iterations", "1"]) == 2
    assert "not a decoder LLM" in capsys.readouterr().err
    assert main(["serve", str(arch_dir / "neupims.yaml"), "gpt3_7b", "--batch", "10", "--sub-batches", "4"]) == 2
    err = capsys.readouterr().err
    assert "--sub_batches" in err and "Traceback" not in err


def test_reproduce_piped_into_head_still_writes_its_tables(tmp_path):
    # `archsim reproduce X | head`: the reader leaves after one line; the experiment must still write its files
    import subprocess
    import sys

    cmd = [sys.executable, "-c", "import sys; from archsim.cli import main; sys.exit(main(sys.argv[1:]))",
           "reproduce", "ngpc", "--quick", "--out", str(tmp_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    first = proc.stdout.readline()
    proc.stdout.close()
    assert proc.wait(timeout=300) == 0
    assert first.startswith(b"NGPC")
    assert (tmp_path / "ngpc_speedups.csv").exists() and (tmp_path / "ngpc.png").exists()

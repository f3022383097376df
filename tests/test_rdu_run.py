"""`archsim run|map` on the SN40L configs: the rdu_fusion compiler mapper is their default and runs exactly the
program the experiment times (fusion.run_kernels)."""
import json
from pathlib import Path

import pytest

from archsim.cli import main
from archsim.config import load_arch
from archsim.errors import ConfigError
from archsim.mapping.fusion import run_kernels
from archsim.sim.run import simulate
from archsim.workload import load_workload

ROOT = Path(__file__).resolve().parents[1]
KNOBS = ["phase=decode", "context=128", "layers=2"]


@pytest.fixture(scope="module")
def trace():
    return load_workload("llama3_8b", KNOBS)


@pytest.mark.parametrize("mode", ["fused", "unfused"])
def test_simulate_runs_the_experiments_kernel_program(trace, mode):
    arch = load_arch(ROOT / "arch_configs" / "sn40l.yaml", [f"engines.rdu.fusion={mode}"])
    via_run = simulate(arch, trace)
    via_experiment = run_kernels(load_arch(ROOT / "arch_configs" / "sn40l.yaml"), trace, mode)
    assert via_run.total_cycles == via_experiment.result.total_cycles
    if mode == "fused":
        assert len(via_experiment.kernels) < len(trace.ops)
    else:
        assert len(via_experiment.kernels) == len([op for op in trace.ops])


def test_fused_never_moves_more_hbm_bytes_than_unfused(trace):
    arch = load_arch(ROOT / "arch_configs" / "sn40l.yaml")
    fused, unfused = run_kernels(arch, trace, "fused"), run_kernels(arch, trace, "unfused")
    assert fused.hbm_bytes <= unfused.hbm_bytes
    assert fused.seconds < unfused.seconds


def test_map_writes_every_op_in_exactly_one_kernel(tmp_path, capsys, trace):
    out = tmp_path / "kernels.json"
    assert main(["map", "sn40l", "llama3_8b", *sum((["--set", k] for k in KNOBS), []), "-o", str(out)]) == 0
    assert "rdu_fusion" in capsys.readouterr().out
    data = json.loads(out.read_text())
    ids = [i for k in data["kernels"] for i in k["ops"]]
    assert sorted(ids) == sorted(op.id for op in trace.ops)
    assert data["mode"] == "fused" and data["mapper"] == "rdu_fusion"


def test_bad_fusion_value_and_a_foreign_mapper_are_refused(capsys):
    with pytest.raises(ConfigError) as err:
        load_arch(ROOT / "arch_configs" / "sn40l.yaml", ["engines.rdu.fusion=maybe"])
    assert "engines.rdu.fusion" in str(err.value) and "sn40l.yaml" in str(err.value)
    assert main(["run", "sn40l", "llama3_8b", "--mapper", "partition", *sum((["--set", k] for k in KNOBS), [])]) == 2
    assert "rdu_fusion" in capsys.readouterr().err

"""`archsim run` / `archsim map` / `simulate()` on the FPGA configs: the `flightllm` mapper (FlightLLM's compiler)
is the default mapper of `kind: fpga_llm`, and what it runs is what experiments/flightllm.py times."""
from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path

import pandas as pd
import pytest

from archsim.cli import main
from archsim.config import load_arch
from archsim.errors import ConfigError, WorkloadError
from archsim.hw.fpga import MODULES, Instruction
from archsim.mapping import mapper_for
from archsim.mapping.flightllm import map_flightllm
from archsim.mapping.fpga_compile import compile_decode
from archsim.mapping.fpga_streams import run_stream
from archsim.sim.run import build_engines, simulate
from archsim.sim.totals import merge_records
from archsim.workload import load_workload

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {n: ROOT / "arch_configs" / f"{n}_flightllm.yaml" for n in ("u280", "vhk158")}


def _decode(context, layers=1):
    return load_workload("llama2_7b", ["phase=decode", "batch=1", f"context={context}", f"layers={layers}"])


@pytest.mark.parametrize("board", sorted(CONFIGS))
def test_archsim_run_compiles_and_runs_a_decode_step_with_the_usual_report(board, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", board + "_flightllm", "llama2_7b", "--set", "phase=decode", "--set", "layers=1",
                 "--no-progress", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "flightllm.MV" in text and "flightllm.LD" in text and "energy: " in text and "slowest ops" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["provenance"]["mapper"] == "flightllm"
    assert summary["energy"]["total_pj"] > 0
    ops = pd.read_csv(out / "ops.csv")
    # one row per (compiled layer, module): qkv_proj is three layers (q, k, v); the projections' MACs are the
    # trace's, the last MV tile padded to a whole tile (lm_head: 32,000 columns in tiles of 512)
    assert ops[(ops.name == "layers.0.attn.qkv_proj") & (ops.engine == "flightllm.MV")].shape[0] == 3
    assert not ops[ops.name == "layers.0.attn.o_proj"].duplicated("engine").any()
    trace = _decode(128)
    tile = load_arch(CONFIGS[board]).engines["flightllm"].design.mv_tile.n
    for name in ("layers.0.attn.o_proj", "layers.0.mlp.down_proj", "lm_head"):
        op = next(o for o in trace.ops if o.name == name)
        padded = op.dims["K"] * -(-op.dims["N"] // tile) * tile
        assert ops[ops.name == name].macs.sum() == padded >= op.macs
    assert set(ops.engine) <= {f"flightllm.{m}" for m in MODULES}


@pytest.mark.parametrize("board", sorted(CONFIGS))
def test_simulate_equals_what_the_experiment_computes(board):
    import experiments.flightllm as exp

    arch = load_arch(CONFIGS[board])
    fpga = exp.Fpga(board, CONFIGS[board], layers=1)
    for context in (128, 512):
        result = simulate(arch, _decode(context))
        assert result.latency_ms / 1e3 == pytest.approx(fpga.decode(context).total_s, rel=1e-12)
        # and both are the compiled stream's time on the engine, to the cycle the Result reports in
        stream = compile_decode(_decode(context), arch.engines["flightllm"].design, arch.engines["flightllm"].compiler)
        ref = run_stream(build_engines(arch)["flightllm"], stream)
        assert abs(result.latency_ms / 1e3 - ref.total_s) <= 1 / (arch.clock_ghz * 1e9)
        assert sum(p.bytes_moved for p in result.ports) == pytest.approx(ref.hbm_bytes, rel=1e-12)


def test_layer_by_layer_result_equals_the_whole_stream_run():
    arch = load_arch(CONFIGS["vhk158"])
    for trace in (_decode(300, layers=2), load_workload("llama2_7b", ["layers=1"])):
        program = map_flightllm(trace, build_engines(arch))
        layered, whole = program.run(arch), program.run(arch, layered=False)
        assert layered.total_cycles == whole.total_cycles
        assert layered.engine_busy_cycles == whole.engine_busy_cycles
        peaks = layered.engine_peak_macs_per_cycle          # layered: a record per layer; whole: per op
        a = pd.DataFrame([asdict(r) for r in merge_records(layered.records, peaks)]).set_index(["name", "engine"])
        b = pd.DataFrame([asdict(r) for r in merge_records(whole.records, peaks)]).set_index(["name", "engine"])
        a, b = a.sort_index(), b.sort_index()
        assert list(a.index) == list(b.index)
        assert (a.macs == b.macs).all()
        traffic = [sorted(t.items()) for t in a.traffic_bytes], [sorted(t.items()) for t in b.traffic_bytes]
        assert [[k for k, _ in t] for t in traffic[0]] == [[k for k, _ in t] for t in traffic[1]]
        assert [v for t in traffic[0] for _, v in t] == pytest.approx([v for t in traffic[1] for _, v in t], rel=1e-12)
        assert (a.total_cycles - b.total_cycles).abs().max() <= 3       # per-layer rounding to whole cycles
        assert [p.bytes_moved for p in layered.ports] == pytest.approx([p.bytes_moved for p in whole.ports])


def test_a_length_is_run_with_the_program_of_its_bucket():
    arch = load_arch(CONFIGS["u280"])
    engines = build_engines(arch)
    assert map_flightllm(_decode(500), engines).length == 512
    assert simulate(arch, _decode(500)).total_cycles == simulate(arch, _decode(512)).total_cycles
    assert simulate(arch, _decode(512)).total_cycles < simulate(arch, _decode(513)).total_cycles
    prefill = load_workload("llama2_7b", ["seq_len=100", "layers=1"])
    assert map_flightllm(prefill, engines).length == 128


def test_the_compiler_settings_come_from_the_config_and_can_be_overridden():
    base = simulate(load_arch(CONFIGS["u280"]), _decode(512))
    off = simulate(load_arch(CONFIGS["u280"], ["engines.flightllm.compiler.always_on_chip=false"]), _decode(512))
    assert off.total_cycles > base.total_cycles
    dense = simulate(load_arch(CONFIGS["u280"], ["engines.flightllm.compiler.densities={}"]), _decode(512))
    assert sum(p.bytes_moved for p in dense.ports) > sum(p.bytes_moved for p in base.ports)


def test_archsim_map_writes_the_compiled_instruction_program(tmp_path, capsys):
    out = tmp_path / "program.json"
    assert main(["map", "vhk158_flightllm", "llama2_7b", "--set", "phase=decode", "--set", "context=512",
                 "--set", "layers=1", "-o", str(out)]) == 0
    assert "decode compiled for 512 tokens by flightllm" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["mapper"] == "flightllm" and data["format"] == "archsim-program"
    insts = [Instruction(*[tuple(v) if isinstance(v, list) else v for v in row]) for row in data["instructions"]]
    assert data["fields"] == [f.name for f in fields(Instruction)]
    arch = load_arch(CONFIGS["vhk158"])
    p = arch.engines["flightllm"]
    assert insts == compile_decode(_decode(512), p.design, p.compiler)
    assert data["modules"] == {m: sum(i.module == m for i in insts) for m in MODULES}
    assert [layer["op"] for layer in data["layers"]][:2] == ["layers.0.input_norm", "layers.0.attn.qkv_proj"]


def test_mappers_that_cannot_run_on_an_architecture_are_refused():
    fpga, tpu = load_arch(CONFIGS["u280"]), load_arch(ROOT / "arch_configs" / "tpu_v1_like.yaml")
    assert mapper_for(fpga) == "flightllm" and mapper_for(tpu) == "partition"
    with pytest.raises(ConfigError, match=r"runs only the programs of its compiler.*--mapper flightllm"):
        simulate(fpga, _decode(128), mapper="partition")
    with pytest.raises(ConfigError, match=r"compiler for an engine kind this architecture does not have"):
        simulate(tpu, "resnet18", mapper="flightllm")
    with pytest.raises(WorkloadError, match="LLaMA-class"):
        simulate(fpga, "bert_base", workload_overrides=["layers=1"])


def test_archsim_run_names_a_mapper_that_cannot_run_there(capsys):
    assert main(["run", "u280_flightllm", "llama2_7b", "--mapper", "cosma", "--no-progress"]) == 2
    assert "--mapper flightllm" in capsys.readouterr().err
    assert main(["map", "u280_flightllm", "llama2_7b", "--mapper", "cosma", "-o", "/dev/null"]) == 2
    assert "runs only the programs of its compiler" in capsys.readouterr().err


@pytest.mark.slow
def test_validation_rows_match_the_profiler_and_explain_every_outside_row():
    import experiments.flightllm as exp

    rows = exp.validation_checks(quick=True)
    profiler = [r for r in rows if r.system == "FlightLLM profiler"]
    assert profiler and all(r.status == "pass" for r in profiler)
    assert {r.system for r in rows} == {"FlightLLM profiler", "FlightLLM (U280 board)", "FlightLLM (paper)"}
    assert all(r.explanation for r in rows if r.status != "pass")
    assert {r.metric.split(" (")[0] for r in rows if r.system == "FlightLLM (paper)"} == set(exp.PAPER)

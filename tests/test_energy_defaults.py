"""Energy and area by default: every shipped architecture is priced, `archsim run` reports and writes energy,
and the advice its messages give (`--set energy....`, `energy_standard`) works."""
import json
from pathlib import Path

import pandas as pd
import pytest

from archsim.cli import main
from archsim.config import load_arch
from archsim.energy import EnergyError, EnergySpec, load_table
from archsim.energy.dram import dram_energy
from archsim.energy.prices import price_arch
from archsim.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(p for p in (ROOT / "arch_configs").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_architecture_prices_every_component(path):
    arch = load_arch(path)
    book = price_arch(arch, EnergySpec(), load_table())
    assert set(book.kind) == set(arch.engines) | set(arch.memories)
    for name, params in arch.memories.items():
        if params.kind == "dram":
            assert book.price(name, "read").pj_per_unit > 0


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_architecture_gets_energy_from_a_run(path):
    from archsim.report.energy import run_energy
    from archsim.sim.run import simulate

    arch = load_arch(path)
    # FlightLLM's compiler (the mapper of kind: fpga_llm) lowers LLaMA- and OPT-class decoders (docs/fpga.md)
    kinds = {p.kind for p in arch.engines.values()}
    model, knobs = "gpt2", ["phase=decode", "layers=1"]
    if "fpga_llm" in kinds:
        model = "llama2_7b"
    if kinds & {"gpu_profile", "ngpc"}:           # neural-graphics systems run instant-ngp batches (docs/ngpc.md)
        model, knobs = "instant_ngp_nerf", ["points=4096"]
    result = simulate(arch, model, workload_overrides=knobs)
    energy = run_energy(result, arch)
    assert energy.error == "" and energy.report.total_pj > 0
    engines = energy.report.per_component[energy.report.per_component.type == "engine"]
    assert (engines.total_pj > 0).any()


def test_a_timing_preset_is_priced_with_its_familys_idd_set():
    table = load_table()
    std, how = table.dram_idd_set("HBM2_NeuPIMs", "memories.hbm")
    assert std.name == "HBM2" and "HBM2_NeuPIMs" in how
    assert table.dram_idd_set("DDR5_4800", "memories.ddr")[0].name == "DDR5"
    with pytest.raises(EnergyError, match=r"energy_standard=NAME"):
        table.dram_idd_set("HBM3", "memories.hbm")


def test_ddr5_costs_more_per_bit_than_hbm2_and_its_burst_moves_bl_times_width_bits():
    table = load_table()
    ddr5, hbm2 = dram_energy(table.dram_standards["DDR5"]), dram_energy(table.dram_standards["HBM2"])
    assert ddr5.read_pj_per_bit > hbm2.read_pj_per_bit
    p = table.dram_standards["DDR5"].params
    # DDR5-4800 x8: BL16 over 8 CK of 0.416 ns moves 128 bits: 2.4 GB/s per device
    assert ddr5.device_gbps == pytest.approx(8 * 16 / (8 * p["tCK_ns"]) / 8)
    # its activation current is on VPP (not in the set): no negative ACT energy, and a run says so
    assert ddr5.activate_underivable and ddr5.activate_pj_per_row_bit == 0.0
    assert not hbm2.activate_underivable and hbm2.activate_pj_per_row_bit > 0
    book = price_arch(load_arch(ROOT / "arch_configs" / "sn40l_like.yaml"), EnergySpec(), table)
    assert any(p.startswith("dram[DDR5].activate") for p in book.placeholders)


def test_energy_standard_names_an_idd_set_or_the_config_is_rejected(arch_dir):
    with pytest.raises(ConfigError, match=r"memories\.lpddr4\.energy_standard"):
        load_arch(arch_dir / "edge_32x32_os.yaml", ["memories.lpddr4.energy_standard=LPDDR9"])
    arch = load_arch(arch_dir / "edge_32x32_os.yaml", ["memories.lpddr4.energy_standard=DDR4"])
    book = price_arch(arch, EnergySpec(), load_table())
    assert "DDR4" in book.price("lpddr4", "read").rows[0]


def test_energy_overrides_parse_into_a_spec_and_bad_keys_are_located():
    spec = EnergySpec.from_overrides(["energy.node_nm=28", "energy.dram_standard.d=DDR4",
                                      "energy.include_static=false"])
    assert spec.node_nm == 28 and spec.dram_standard == {"d": "DDR4"} and spec.include_static is False
    with pytest.raises(ConfigError, match=r"energy\.nodes"):
        EnergySpec.from_overrides(["energy.nodes=28"])
    with pytest.raises(ConfigError, match=r"energy\.include_static"):
        EnergySpec.from_overrides(["energy.include_static=maybe"])


def test_run_prints_and_writes_energy_per_component(tmp_path, capsys, arch_dir):
    out = tmp_path / "run"
    assert main(["run", str(arch_dir / "edge_32x32_ws.yaml"), "resnet18", "--set", "layers=1", "--no-progress",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "energy uJ" in text and "energy: " in text and " nm / " in text
    summary = json.loads((out / "summary.json").read_text())
    energy = summary["energy"]
    comps = pd.read_csv(out / "components.csv")
    assert energy["total_pj"] > 0
    assert energy["total_pj"] == pytest.approx(sum(c["total_pj"] for c in energy["per_component"].values()))
    assert comps.set_index("component").energy_pj.sum() == pytest.approx(energy["total_pj"])
    assert comps.set_index("component").loc["npu", "area_um2"] > 0


def test_run_energy_override_is_applied(tmp_path, capsys, arch_dir):
    base, scaled = tmp_path / "a", tmp_path / "b"
    args = ["run", str(arch_dir / "edge_32x32_ws.yaml"), "resnet18", "--set", "layers=1", "--no-progress"]
    assert main(args + ["--out", str(base)]) == 0
    assert main(args + ["--out", str(scaled), "--set", "energy.node_nm=16", "--set", "energy.vdd_v=0.8"]) == 0
    a = json.loads((base / "summary.json").read_text())["energy"]
    b = json.loads((scaled / "summary.json").read_text())["energy"]
    assert b["node_nm"] == 16 and b["per_component"]["npu"]["dynamic_pj"] < a["per_component"]["npu"]["dynamic_pj"]
    # DRAM is not node-scaled
    assert b["per_component"]["lpddr4"]["dynamic_pj"] == pytest.approx(a["per_component"]["lpddr4"]["dynamic_pj"])


def test_a_dram_without_a_standard_reports_why_and_the_advice_works(tmp_path, capsys, arch_dir):
    args = ["run", str(arch_dir / "edge_32x32_ws.yaml"), "resnet18", "--set", "layers=1", "--no-progress",
            "--set", "memories.lpddr4.energy_standard=null"]
    assert main(args + ["--out", str(tmp_path / "a")]) == 0
    text = capsys.readouterr().out
    assert "energy: not computed" in text and "--set energy.dram_standard.lpddr4=NAME" in text
    assert "error" in json.loads((tmp_path / "a" / "summary.json").read_text())["energy"]
    assert main(args + ["--out", str(tmp_path / "b"), "--set", "energy.dram_standard.lpddr4=LPDDR4"]) == 0
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["energy"]["total_pj"] > 0

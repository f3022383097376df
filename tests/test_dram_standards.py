"""DRAM standards as data: presets, their sources, the constraint table, YAML configs, the CLI,
trace readers and the ``kind: dram`` registry entry."""
from __future__ import annotations

import argparse
import functools
import io
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from archsim.errors import ConfigError, WorkloadError
from archsim.hw.dram import Dram, DramParams, get_standard, preset_names
from archsim.hw.dram import cli as dram_cli
from archsim.hw.dram.config import load_dram_config
from archsim.hw.dram.standards import CONSTRAINT_RULES, PRESETS, REQUIRED_TIMINGS, constraint_table
from archsim.hw.dram.traces import read_csv_trace, read_dramsim3_trace, read_trace

FACTS = Path(__file__).resolve().parents[2] / "shared" / "reference" / "dram_timings.yaml"


@functools.lru_cache(maxsize=1)
def _facts():
    return yaml.safe_load(FACTS.read_text())["standards"]


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_cites_a_source_and_defines_every_required_timing(name):
    std = get_standard(name)
    assert "DRAMsim3" in std.source or "Ramulator" in std.source
    assert all(k in std.timing for k in REQUIRED_TIMINGS)
    assert std.timing["tRC"] >= std.timing["tRAS"]
    assert len(constraint_table(std)) > len(CONSTRAINT_RULES)


def test_constraint_rules_are_declarative_and_cover_the_jedec_set():
    names = {(r.prev, r.next, r.level, r.expr) for r in CONSTRAINT_RULES}
    assert (("ACT",), ("RD", "RDA"), "bank", "tRCDRD - AL") in names
    assert any(r.window == 4 and r.expr == "tFAW" for r in CONSTRAINT_RULES)
    hbm = {(c.prev, c.next, c.level): c.cycles for c in constraint_table(get_standard("HBM2"))}
    # DRAMsim3 timing.cc numbers for its HBM2 preset
    assert hbm[("RD", "RD", "bankgroup")] == 2 and hbm[("RD", "WR", "rank")] == 14 + 2 - 4 + 2
    assert hbm[("WR", "RD", "bankgroup")] == 4 + 2 + 8 and hbm[("WR", "PRE", "bank")] == 4 + 2 + 16
    assert hbm[("RDA", "ACT", "bank")] == 2 + 5 + 14 and hbm[("REF", "ACT", "rank")] == 260


@pytest.mark.parametrize("name", ["HBM2", "DDR4_3200", "DDR4_2400", "LPDDR4"])
def test_peak_bandwidth_matches_the_reference(name):
    expected = {"HBM2": 256.0, "DDR4_3200": 25.397, "DDR4_2400": 19.277, "LPDDR4": 19.277}[name]
    assert get_standard(name).peak_gbps == pytest.approx(expected, rel=1e-3)


@pytest.mark.skipif(not FACTS.is_file(), reason="shared reference facts not available")
@pytest.mark.parametrize("name", preset_names())
def test_preset_timings_transcribe_the_reference_facts(name):
    facts = _facts()
    std = get_standard(name)
    entry = None
    for family in facts.values():
        for key, val in family.items():
            tail = key.split("/", 1)[1]
            if (key.startswith("dramsim3/") and f"configs/{tail}.ini" in std.source) or \
               (key.startswith("ramulator2/") and all(part in std.source for part in tail.split("+"))) or \
               (key.startswith("neupims/") and "NeuPIMs" in std.source):
                entry = val
    assert entry is not None, f"no reference entry for {std.source}"
    ref = dict(entry["timing_cycles"])
    ref.setdefault("tBL", ref.get("burst_cycles", ref.get("burst_cycles_min", entry["org"].get("burst_cycles"))))
    if "tRCD" in ref:
        ref["tRCDRD"] = ref["tRCDWR"] = ref.pop("tRCD")
    if "tRTP" not in ref and "tRTP_L" in ref:
        ref["tRTP"] = ref["tRTP_L"]
    for k, v in std.timing.items():
        if k in ref:
            assert v == ref[k], f"{name}.{k}: {v} != reference {ref[k]}"
    assert std.tck_ns == pytest.approx(entry["clock"]["tCK_ns"])


def test_standard_lookup_is_forgiving_about_case_and_dashes():
    assert get_standard("ddr4-3200") is PRESETS["DDR4_3200"]
    assert get_standard("hbm2") is PRESETS["HBM2"]
    with pytest.raises(KeyError):
        get_standard("HBM9")


# ---------------------------------------------------------------- YAML configs ----------

def _write(tmp_path, text, name="d.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_yaml_overrides_a_preset(tmp_path):
    p = _write(tmp_path, "standard: HBM2\norg: {channels: 4}\ntiming: {tRFC: 350}\n"
                         "controller: {row_policy: closed, address_mapping: chrorabgbaco}\n")
    std = load_dram_config(p)
    assert std.org.channels == 4 and std.timing["tRFC"] == 350
    assert std.controller.row_policy == "closed" and std.peak_gbps == 128.0


def test_shipped_example_configs_load():
    root = Path(__file__).resolve().parents[1] / "arch_configs" / "dram"
    files = sorted(root.glob("*.yaml"))
    assert files
    for f in files:
        load_dram_config(f)


@pytest.mark.parametrize("text,key,fragment", [
    ("standard: HBM9\n", "standard", "unknown DRAM standard"),
    ("standard: HBM2\norg: {channel: 4}\n", "org.channel", "unknown key"),
    ("standard: HBM2\norg: {channels: 3}\n", "org.channels", "power of two"),
    ("standard: HBM2\ntiming: {CL: -1}\n", "timing.CL", "bad value"),
    ("standard: HBM2\ncontroller: {row_policy: sometimes}\n", "controller.row_policy", "open"),
    ("standard: HBM2\ncontroller: {address_mapping: rorabgbachcoxx}\n", "controller.address_mapping", "exactly once"),
    ("standard: HBM2\ncontroller: {queue_depth: 3}\n", "controller.queue_depth", "unknown key"),
    ("standard: HBM2\ntimings: {}\n", "timings", "unknown key"),
    ("standard: HBM2\norg: [1, 2]\n", "org", "not a mapping"),
])
def test_bad_yaml_gives_a_located_error(tmp_path, text, key, fragment):
    p = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_dram_config(p)
    err = info.value
    assert err.file == str(p) and err.key_path == key
    assert fragment in str(err)


def test_malformed_yaml_names_the_file(tmp_path):
    p = _write(tmp_path, "standard: [HBM2\n")
    with pytest.raises(ConfigError) as info:
        load_dram_config(p)
    assert str(p) in str(info.value) and "YAML" in str(info.value)


# ---------------------------------------------------------------- traces ----------

def test_dramsim3_trace_reader_drops_the_sentinel(tmp_path):
    p = _write(tmp_path, "0x40 READ 0\n0x80 WRITE 3\n0x0 READ 999999999999", "t.trace")
    r = read_dramsim3_trace(p)
    assert r.addr.tolist() == [64, 128] and r.is_write.tolist() == [False, True] and r.cycle.tolist() == [0, 3]


@pytest.mark.parametrize("text", [
    "0x40 READ 0\n0x80 WRITE 3\n",
    "0x40\tread 0\r\n\n   \n0xAbC0  P_MEM_WR   7  \n0x100 BOFF 9\n0x140 write 11",       # tabs, CR, blanks
    "0x40 READ 0\n# a comment\n40 WRITE 3\n",                                             # the line-by-line path
    "0x7fffffffffffff00 READ 5\n0x40 WRITE 999999999999\n0x80 READX 12\n",
    "",
])
def test_compiled_trace_parser_reads_what_the_line_reader_reads(tmp_path, text):
    from archsim.hw.dram.traces import _read_dramsim3_lines

    p = _write(tmp_path, text, "t.trace")
    fast, slow = read_dramsim3_trace(p), _read_dramsim3_lines(p)
    for got, want in ((fast.addr, slow.addr), (fast.is_write, slow.is_write), (fast.cycle, slow.cycle)):
        np.testing.assert_array_equal(got, want)


def test_compiled_trace_parser_flags_the_first_non_canonical_line():
    from archsim.hw.dram.traces import SENTINEL_CYCLE
    from archsim.kernels.native import kernels

    parse = kernels("dram").parse_dramsim3_text
    for text, bad in [(b"0x40 READ 0\n0x80 WRITE\n", 2), (b"0x40 READ 0\n\n64 READ 1\n", 3),
                      (b"0x40 READ 0 extra\n", 1), (b"0x READ 0\n", 1), (b"0x40 READ -1\n", 1),
                      (b"0x40 READ 1\n0x1" + b"0" * 16 + b" READ 2\n", 2)]:
        assert parse(np.frombuffer(text, np.uint8), SENTINEL_CYCLE)[3:] == (0, bad), text
    addr, is_write, cycle, n, bad = parse(np.frombuffer(b"0x40 WRITE 5\n0x80 READ 6", np.uint8), SENTINEL_CYCLE)
    assert (n, bad) == (2, 0) and addr[:n].tolist() == [64, 128] and is_write[:n].tolist() == [True, False]


def test_csv_trace_reader_accepts_hex_and_words(tmp_path):
    p = _write(tmp_path, "addr,is_write,cycle\n0x40,0,0\n128,WRITE,5\n", "t.csv")
    r = read_trace(p)
    assert r.addr.tolist() == [64, 128] and r.is_write.tolist() == [False, True] and r.cycle.tolist() == [0, 5]


def test_bad_trace_line_names_file_and_line(tmp_path):
    p = _write(tmp_path, "0x40 READ 0\n0xZZ READ 1\n", "t.trace")
    with pytest.raises(WorkloadError, match=r"t\.trace:2"):
        read_dramsim3_trace(p)
    q = _write(tmp_path, "addr,is_write\n64,maybe\n", "t.csv")
    with pytest.raises(WorkloadError, match="row 2: column 'is_write'"):
        read_csv_trace(q)


# ---------------------------------------------------------------- CLI ----------

def _cli(argv):
    parser = argparse.ArgumentParser(prog="archsim")
    dram_cli.add_subcommand(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    out = io.StringIO()
    assert args.func(args, out=out) == 0
    return out.getvalue()


def test_cli_json_reports_the_reference_quantities(tmp_path):
    lines = [f"0x{i * 64:x} READ 0" for i in range(200)] + ["0x0 READ 999999999999"]
    p = _write(tmp_path, "\n".join(lines), "seq.trace")
    d = json.loads(_cli(["dram", "--standard", "HBM2", "--trace", str(p), "--json"]))
    for key in ("total_cycles", "bandwidth_gbps", "avg_read_latency_cycles", "act_cmds", "ref_cmds"):
        assert key in d
    assert d["n_reads"] == 200 and d["read_cmds"] == 200
    assert d["bandwidth_gbps"] == pytest.approx(200 * 64 / d["total_cycles"], rel=1e-6)
    assert _cli(["dram", "--standard", "HBM2", "--trace", str(p), "--json"]) == \
        _cli(["dram", "--standard", "HBM2", "--trace", str(p), "--json"])


def test_cli_text_output_and_config_file(tmp_path):
    t = _write(tmp_path, "addr,is_write,cycle\n0,0,0\n64,1,0\n", "t.csv")
    c = _write(tmp_path, "standard: DDR4_3200\ncontroller: {row_policy: closed}\n")
    text = _cli(["dram", "--config", str(c), "--trace", str(t), "--issue-width", "2", "--flush-writes"])
    assert "DDR4_3200" in text and "total cycles" in text


def test_cli_bad_standard_is_a_located_config_error(tmp_path):
    t = _write(tmp_path, "0x0 READ 0\n", "t.trace")
    with pytest.raises(ConfigError) as info:
        _cli(["dram", "--standard", "HBM9", "--trace", str(t)])
    assert info.value.key_path == "--standard"


# ---------------------------------------------------------------- registry ----------

def test_bandwidth_only_dram_params_still_work():
    p = DramParams.model_validate({"kind": "dram", "bandwidth_gbps": 12.8})
    assert Dram(p).port_gbps() == pytest.approx(12.8) and p.standard is None


def test_a_dram_with_a_standard_shares_its_sustained_streaming_bandwidth():
    from archsim.hw.dram.model import transfer
    from archsim.hw.dram.standards import get_standard

    p = DramParams.model_validate({"kind": "dram", "standard": "HBM2", "bandwidth_gbps": 512})
    sustained = transfer(get_standard("HBM2"), 8 * 2**20).bandwidth_gbps
    assert Dram(p).port_gbps() == pytest.approx(512 * sustained / 256.0)
    assert 0.8 * 512 < Dram(p).port_gbps() < 512


def test_dram_params_derive_from_a_standard():
    p = DramParams.model_validate({"kind": "dram", "standard": "HBM2"})
    assert p.bandwidth_gbps == 256.0 and p.capacity_gib == 8.0
    assert p.latency_ns == pytest.approx(14 + 14 + 2)
    q = DramParams.model_validate({"kind": "dram", "standard": "HBM2", "bandwidth_gbps": 200})
    assert q.bandwidth_gbps == 200 and Dram(q).standard().name == "HBM2"


def test_unknown_standard_in_an_arch_file_is_a_located_error():
    from archsim.config.loader import build_arch

    data = {"name": "t", "clock_ghz": 1.0,
            "engines": {"v": {"kind": "vector", "lanes": 8, "dram": "hbm"}},
            "memories": {"hbm": {"kind": "dram", "standard": "HBM9"}}}
    with pytest.raises(ConfigError) as info:
        build_arch(data)
    assert info.value.key_path.startswith("memories.hbm")

"""Architecture YAML: shipped files load, extends/overrides work, bad input fails with a located error."""
from pathlib import Path

import pytest

from archsim.config import load_arch
from archsim.errors import ConfigError

SHIPPED = sorted((Path(__file__).resolve().parent.parent / "arch_configs").glob("*.yaml"))

BASE = """
name: tiny
clock_ghz: 1.0
engines:
  npu:
    kind: systolic
    rows: 4
    cols: 4
    dataflow: os
    ifmap_sram: s
    filter_sram: s
    ofmap_sram: s
    dram: d
memories:
  s: {kind: sram, capacity_kib: 8}
  d: {kind: dram, bandwidth_gbps: 10}
"""


def write(tmp_path: Path, text: str, name: str = "arch.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_arch_validates(path):
    arch = load_arch(path)
    assert arch.engines and arch.name


def test_extends_inherits_and_child_wins(arch_dir):
    parent = load_arch(arch_dir / "edge_32x32_os.yaml")
    child = load_arch(arch_dir / "edge_32x32_ws.yaml")
    assert child.engines["npu"].dataflow == "ws"
    assert parent.engines["npu"].dataflow == "os"
    assert child.engines["npu"].rows == parent.engines["npu"].rows == 32
    assert child.memories == parent.memories


def test_dotted_override_sets_a_nested_key(tmp_path):
    arch = load_arch(write(tmp_path, BASE), ["engines.npu.rows=64", "memories.s.capacity_kib=16"])
    assert arch.engines["npu"].rows == 64
    assert arch.memories["s"].capacity_kib == 16


def test_override_of_missing_section_names_it(tmp_path):
    with pytest.raises(ConfigError, match=r"engines\.gpu"):
        load_arch(write(tmp_path, BASE), ["engines.gpu.rows=4"])


def test_typo_key_names_its_path_and_the_known_keys(tmp_path):
    path = write(tmp_path, BASE.replace("rows: 4", "rowz: 4"))
    with pytest.raises(ConfigError) as err:
        load_arch(path)
    msg = str(err.value)
    assert str(path) in msg and "engines.npu.rowz" in msg and "'rows'" in msg


def test_wrong_type_names_key_value_and_expectation(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_arch(write(tmp_path, BASE.replace("cols: 4", "cols: four")))
    assert err.value.key_path == "engines.npu.cols"
    assert "'four'" in str(err.value) and "integer" in str(err.value)


def test_negative_size_is_rejected_with_its_path(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_arch(write(tmp_path, BASE.replace("capacity_kib: 8", "capacity_kib: -8")))
    assert err.value.key_path == "memories.s.capacity_kib"
    assert "greater than 0" in str(err.value)


def test_unknown_kind_lists_the_registered_kinds(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_arch(write(tmp_path, BASE.replace("kind: systolic", "kind: tensorcore")))
    assert err.value.key_path == "engines.npu.kind"
    assert "systolic" in str(err.value) and "tensorcore" in str(err.value)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found") as err:
        load_arch(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(err.value)


def test_missing_required_key_is_reported(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_arch(write(tmp_path, BASE.replace("    dram: d\n", "")))
    assert err.value.key_path == "engines.npu.dram" and "missing" in str(err.value)


def test_reference_to_unknown_memory_is_reported(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_arch(write(tmp_path, BASE.replace("dram: d", "dram: hbm")))
    assert err.value.key_path == "engines.npu.dram" and "'hbm'" in str(err.value)


def test_malformed_yaml_reports_line(tmp_path):
    with pytest.raises(ConfigError, match="line"):
        load_arch(write(tmp_path, "name: [unclosed\n"))


def test_extends_cycle_is_detected(tmp_path):
    write(tmp_path, "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    with pytest.raises(ConfigError, match="cycle"):
        load_arch(tmp_path / "a.yaml")


def test_extends_missing_parent_is_reported(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_arch(write(tmp_path, "extends: parent.yaml\n" + BASE))
    assert err.value.key_path == "extends"


def test_arch_is_frozen(tmp_path):
    arch = load_arch(write(tmp_path, BASE))
    with pytest.raises(Exception):
        arch.engines["npu"].rows = 8

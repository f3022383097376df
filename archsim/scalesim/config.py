"""Read SCALE-Sim ``.cfg`` files as they are, into a ``ScaleSimConfig``.

Keys are read the way SCALE-Sim 3.0.0 reads them (configparser, case-insensitive keys, both ``:``
and ``=`` separators). Unlike SCALE-Sim, a bad or missing key stops with a located error instead of
printing a warning and continuing.
"""
from __future__ import annotations

import configparser
from dataclasses import dataclass, field
from pathlib import Path

from archsim.errors import ConfigError


@dataclass(frozen=True)
class ScaleSimConfig:
    """A SCALE-Sim architecture config. SRAM sizes in kB of 1-byte words (SCALE-Sim's fixed word size)."""

    run_name: str
    array_rows: int
    array_cols: int
    ifmap_sram_kb: int
    filter_sram_kb: int
    ofmap_sram_kb: int
    dataflow: str
    ifmap_offset: int = 0
    filter_offset: int = 10_000_000
    ofmap_offset: int = 20_000_000
    use_user_bandwidth: bool = False
    bandwidths: tuple[int, ...] = ()
    ifmap_sram_bank_bandwidth: int = 10
    filter_sram_bank_bandwidth: int = 10
    ifmap_sram_bank_num: int = 10
    filter_sram_bank_num: int = 10
    ifmap_sram_bank_port: int = 2
    filter_sram_bank_port: int = 2
    ifmap_custom_layout: bool = False
    filter_custom_layout: bool = False
    sparsity_support: bool = False
    use_ramulator_trace: bool = False
    source: str = field(default="<memory>", compare=False)

    @property
    def word_bytes(self) -> int:
        """SCALE-Sim's word size: always one byte."""
        return 1

    def sram_words(self, operand: str) -> int:
        """Capacity in words of the ``ifmap``, ``filter`` or ``ofmap`` SRAM."""
        return {"ifmap": self.ifmap_sram_kb, "filter": self.filter_sram_kb,
                "ofmap": self.ofmap_sram_kb}[operand] * 1024


def _get(cp: configparser.ConfigParser, source: str, section: str, key: str, kind: type,
         default: object = None):
    if not cp.has_section(section) or not cp.has_option(section, key):
        if default is not None:
            return default
        raise ConfigError(source, f"{section}.{key}", "missing key", expected=f"a {kind.__name__} value")
    raw = cp.get(section, key).strip()
    try:
        if kind is bool:
            if raw.lower() not in ("true", "false"):
                raise ValueError
            return raw.lower() == "true"
        value = kind(raw)
    except ValueError:
        raise ConfigError(source, f"{section}.{key}", "bad value", value=raw, has_value=True,
                          expected=f"a {kind.__name__}") from None
    if kind is int and value <= 0 and not key.lower().endswith("offset"):
        raise ConfigError(source, f"{section}.{key}", "bad value", value=raw, has_value=True,
                          expected="an integer > 0")
    return value


def read_scalesim_config(path: str | Path) -> ScaleSimConfig:
    """Parse a SCALE-Sim ``.cfg`` file; ConfigError names the section.key of any problem."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise ConfigError(path, "", "config file not found", expected="an existing SCALE-Sim .cfg file")
    cp = configparser.ConfigParser()
    try:
        cp.read(path)
    except configparser.Error as exc:
        raise ConfigError(path, "", f"not a valid .cfg file: {exc}") from None
    arch = "architecture_presets"
    mode = _get(cp, source, "run_presets", "InterfaceBandwidth", str, "CALC").upper()
    if mode not in ("CALC", "USER"):
        raise ConfigError(source, "run_presets.InterfaceBandwidth", "bad value", value=mode, has_value=True,
                          expected="CALC or USER")
    dataflow = _get(cp, source, arch, "Dataflow", str).lower()
    if dataflow not in ("os", "ws", "is"):
        raise ConfigError(source, f"{arch}.Dataflow", "bad value", value=dataflow, has_value=True,
                          expected="one of os, ws, is")
    bandwidths: tuple[int, ...] = ()
    if mode == "USER":
        raw_bw = _get(cp, source, arch, "Bandwidth", str)
        try:
            bandwidths = tuple(int(x.strip()) for x in raw_bw.split(","))
        except ValueError:
            raise ConfigError(source, f"{arch}.Bandwidth", "bad value", value=raw_bw, has_value=True,
                              expected="comma-separated integers (words/cycle)") from None
    return ScaleSimConfig(
        run_name=_get(cp, source, "general", "run_name", str, "scale_run"),
        array_rows=_get(cp, source, arch, "ArrayHeight", int),
        array_cols=_get(cp, source, arch, "ArrayWidth", int),
        ifmap_sram_kb=_get(cp, source, arch, "IfmapSramSzkB", int),
        filter_sram_kb=_get(cp, source, arch, "FilterSramSzkB", int),
        ofmap_sram_kb=_get(cp, source, arch, "OfmapSramSzkB", int),
        dataflow=dataflow,
        ifmap_offset=_get(cp, source, arch, "IfmapOffset", int, 0),
        filter_offset=_get(cp, source, arch, "FilterOffset", int, 10_000_000),
        ofmap_offset=_get(cp, source, arch, "OfmapOffset", int, 20_000_000),
        use_user_bandwidth=(mode == "USER"),
        bandwidths=bandwidths,
        ifmap_sram_bank_bandwidth=_get(cp, source, "layout", "IfmapSRAMBankBandwidth", int, 10),
        filter_sram_bank_bandwidth=_get(cp, source, "layout", "FilterSRAMBankBandwidth", int, 10),
        ifmap_sram_bank_num=_get(cp, source, "layout", "IfmapSRAMBankNum", int, 10),
        filter_sram_bank_num=_get(cp, source, "layout", "FilterSRAMBankNum", int, 10),
        ifmap_sram_bank_port=_get(cp, source, "layout", "IfmapSRAMBankPort", int, 2),
        filter_sram_bank_port=_get(cp, source, "layout", "FilterSRAMBankPort", int, 2),
        ifmap_custom_layout=_get(cp, source, "layout", "IfmapCustomLayout", bool, False),
        filter_custom_layout=_get(cp, source, "layout", "FilterCustomLayout", bool, False),
        sparsity_support=_get(cp, source, "sparsity", "SparsitySupport", bool, False),
        use_ramulator_trace=_get(cp, source, "run_presets", "UseRamulatorTrace", bool, False),
        source=source,
    )

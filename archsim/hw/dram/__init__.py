"""Off-chip DRAM: ``kind: dram`` for the registry, plus the cycle-level DRAM model.

``kind`` registers ``kind: dram`` (``DramParams``, ``Dram``): a DRAM described to the engines as a
bandwidth/latency source, given directly or derived from a named standard.

The cycle-level model (controller + device, validated against DRAMsim3) lives in
``standards`` (presets and timing rules as data), ``model`` (``simulate_trace``), ``traces``
(trace readers), ``config`` (YAML) and ``cli`` (``archsim dram``). The common names are
re-exported here lazily (PEP 562), so that importing this package (for ``archsim dram``'s parser,
or the registry) loads neither pydantic nor Numba until a name is used.
"""
from __future__ import annotations

_LAZY = {
    "DRAM": "kind", "Dram": "kind", "DramParams": "kind", "stream_efficiency": "kind", "price_dram": "kind",
    "DramStandard": "standards", "DramOrg": "standards", "ControllerConfig": "standards",
    "get_standard": "standards", "preset_names": "standards", "constraint_table": "standards",
    "PRESETS": "standards", "CONSTRAINT_RULES": "standards",
    "simulate_trace": "model", "transfer": "model", "Requests": "model", "DramStats": "model", "address_map": "model",
    "read_trace": "traces", "read_dramsim3_trace": "traces", "read_csv_trace": "traces",
    "load_dram_config": "config", "resolve_standard": "config",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"archsim.hw.dram.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'archsim.hw.dram' has no attribute {name!r}")


__all__ = list(_LAZY)

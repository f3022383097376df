"""The DRAM kernels' ahead-of-time build: keyed by the sources, equal to the JIT fallback."""
from __future__ import annotations

import numpy as np
import pytest

from archsim.hw.dram import get_standard, simulate_trace
from archsim.hw.dram.validation import requests_for_pattern
from archsim.kernels import dram_native


def test_extension_name_changes_with_the_kernel_source(tmp_path, monkeypatch):
    copies = []
    for src in dram_native._SOURCES:
        dst = tmp_path / src.name
        dst.write_bytes(src.read_bytes())
        copies.append(dst)
    monkeypatch.setattr(dram_native, "_SOURCES", tuple(copies))
    before = dram_native.module_name()
    copies[0].write_bytes(copies[0].read_bytes() + b"\n# edited\n")
    assert dram_native.module_name() != before and before.startswith("archsim_dram_")


def test_cache_directory_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSIM_CACHE_DIR", str(tmp_path / "c"))
    assert dram_native.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("ARCHSIM_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert dram_native.cache_dir() == tmp_path / "x" / "archsim"


def test_jit_fallback_gives_the_same_results_and_says_why(monkeypatch):
    std = get_standard("DDR4_3200")
    req = requests_for_pattern("rand_rw50", 2000, std.org.capacity_bytes, seed=5, line_bytes=std.org.access_bytes)
    built = simulate_trace(std, req)

    def no_compiler(name, out_dir):
        raise OSError("no C compiler here")

    monkeypatch.setattr(dram_native, "_compile", no_compiler)
    monkeypatch.setattr(dram_native, "cache_dir", lambda: dram_native.Path("/nonexistent-archsim-cache"))
    dram_native.dram_kernels.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="no C compiler here"):
            kernels = dram_native.dram_kernels()
        assert not kernels.ahead_of_time
        jitted = simulate_trace(std, req)
    finally:
        dram_native.dram_kernels.cache_clear()
    np.testing.assert_array_equal(jitted.done_cycle, built.done_cycle)
    assert jitted.to_dict() == built.to_dict()

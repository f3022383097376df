"""Kernels built ahead of time: keyed by the sources, equal to the JIT fallback."""
from __future__ import annotations

import numpy as np
import pytest

from archsim.hw.dram import get_standard, simulate_trace
from archsim.hw.dram.validation import requests_for_pattern
from archsim.kernels import native


def test_extension_name_changes_with_any_kernel_source(tmp_path, monkeypatch):
    copies = []
    for src in native._sources():
        dst = tmp_path / src.name
        dst.write_bytes(src.read_bytes())
        copies.append(dst)
    assert {"dram_timing.py", "scalesim_memory.py", "systolic_timing.py"} <= {p.name for p in copies}
    monkeypatch.setattr(native, "_sources", lambda: copies)
    before = native.module_name("dram")
    assert native.module_name("scalesim") != before and before.startswith("archsim_dram_")
    copies[-1].write_bytes(copies[-1].read_bytes() + b"\n# edited\n")
    assert native.module_name("dram") != before


def test_cache_directory_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSIM_CACHE_DIR", str(tmp_path / "c"))
    assert native.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("ARCHSIM_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert native.cache_dir() == tmp_path / "x" / "archsim"


def test_jit_fallback_gives_the_same_results_and_says_why(monkeypatch):
    std = get_standard("DDR4_3200")
    req = requests_for_pattern("rand_rw50", 2000, std.org.capacity_bytes, seed=5, line_bytes=std.org.access_bytes)
    built = simulate_trace(std, req)

    def no_compiler(group, name, out_dir):
        raise OSError("no C compiler here")

    monkeypatch.setattr(native, "_compile", no_compiler)
    monkeypatch.setattr(native, "cache_dir", lambda: native.Path("/nonexistent-archsim-cache"))
    native.kernels.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="no C compiler here"):
            assert not native.kernels("dram").ahead_of_time
        jitted = simulate_trace(std, req)
    finally:
        native.kernels.cache_clear()
    np.testing.assert_array_equal(jitted.done_cycle, built.done_cycle)
    assert jitted.to_dict() == built.to_dict()


def test_a_new_build_prunes_day_old_builds_of_its_group_only(tmp_path):
    import os
    import time

    keep = tmp_path / "archsim_dram_new.so"
    files = {name: tmp_path / name for name in ("archsim_dram_old.so", "archsim_dram_recent.so",
                                                "archsim_scalesim_old.so")}
    for p in [keep, *files.values()]:
        p.write_bytes(b"")
    two_days_ago = time.time() - 2 * 86400
    for name in ("archsim_dram_old.so", "archsim_scalesim_old.so"):
        os.utime(files[name], (two_days_ago, two_days_ago))
    native._prune("dram", keep)
    assert keep.exists() and files["archsim_dram_recent.so"].exists() and files["archsim_scalesim_old.so"].exists()
    assert not files["archsim_dram_old.so"].exists()

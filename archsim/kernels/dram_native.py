"""The DRAM timing kernels, compiled ahead of time so that running them needs no Numba import.

``dram_kernels()`` returns a namespace with ``simulate_requests`` and ``decode_addresses`` (the functions
of ``archsim.kernels.dram_timing``, argument for argument) and ``parse_dramsim3_text``
(``archsim.kernels.dram_trace_parse``). The first call on a machine compiles them with
Numba's ahead-of-time compiler (``numba.pycc``, ~15 s) into a C extension in the cache directory; every
later process imports that extension in about a millisecond, without Numba (whose import and target set-up
cost ~0.5 s, more than a whole DRAMsim3 run of 100k requests). The extension is keyed by the kernel
sources, the Numba version and the Python ABI, so editing the kernel rebuilds it.

Where the ahead-of-time compiler cannot run (no C compiler, or a Numba without ``pycc``), the same
functions are JIT-compiled instead (``numba.njit``, cached), with a warning: same results, slower start.

Cache directory: ``$ARCHSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/archsim``, else ``~/.cache/archsim``.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import os
import sys
import sysconfig
import tempfile
import warnings
from pathlib import Path
from types import SimpleNamespace

_HERE = Path(__file__).resolve().parent
_SOURCES = (_HERE / "dram_timing.py", _HERE / "dram_codes.py", _HERE / "dram_trace_parse.py")

# Numba signatures of the exported kernels (C-contiguous int64/bool arrays, as the model passes them).
_SIGNATURES = {
    "simulate_requests": (
        "Tuple((i8[::1], i8[::1], i8[:, ::1], i8[:, ::1], i8[:, :, ::1], i8, i8[:, ::1]))"
        "(i8[::1], b1[::1], i8[::1], i8[::1], i8[::1], i8[::1], i8[::1], i8[::1], i8[:, ::1], i8[:, ::1])"),
    "decode_addresses": "i8[:, ::1](i8[::1], i8, i8[::1], i8[::1])",
    "parse_dramsim3_text": "Tuple((i8[::1], b1[::1], i8[::1], i8, i8))(u1[::1], i8)",
}
_MODULES = {"simulate_requests": "dram_timing", "decode_addresses": "dram_timing",
            "parse_dramsim3_text": "dram_trace_parse"}


def cache_dir() -> Path:
    """Where compiled kernels are kept (see the module docstring)."""
    if os.environ.get("ARCHSIM_CACHE_DIR"):
        return Path(os.environ["ARCHSIM_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "archsim"


def module_name() -> str:
    """The extension's module name: a digest of the kernel sources, the Numba version and the Python ABI."""
    h = hashlib.sha256()
    for path in _SOURCES:
        h.update(path.read_bytes())
    h.update(importlib.metadata.version("numba").encode())
    h.update(sys.implementation.cache_tag.encode())
    h.update(sysconfig.get_platform().encode())
    return f"archsim_dram_{h.hexdigest()[:16]}"


def _compile(name: str, out_dir: Path) -> Path:
    """Build the extension ``name`` into ``out_dir`` (atomically: a partial build is never seen)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba.pycc is marked pending-deprecation
        from numba.pycc import CC

        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".build-") as tmp:
            cc = CC(name)
            cc.output_dir = tmp
            cc.target_cpu = "host"  # built where it runs: use this CPU's vector units
            cc.verbose = False
            for fn, sig in _SIGNATURES.items():
                source = importlib.import_module(f"archsim.kernels.{_MODULES[fn]}")
                cc.export(fn, sig)(getattr(source, fn))
            cc.compile()
            built = Path(tmp) / f"{name}{sysconfig.get_config_var('EXT_SUFFIX')}"
            final = out_dir / built.name
            os.replace(built, final)
    return final


def _load(name: str, path: Path):
    loader = importlib.machinery.ExtensionFileLoader(name, str(path))
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def _jit(fn: str, module: str):
    from numba import njit

    return njit(cache=True, error_model="numpy")(getattr(importlib.import_module(f"archsim.kernels.{module}"), fn))


def _jit_fallback(reason: str) -> SimpleNamespace:
    warnings.warn(f"archsim: DRAM kernels JIT-compiled instead of ahead of time ({reason}); "
                  "results are the same, start-up is ~0.5 s slower", RuntimeWarning, stacklevel=3)
    return SimpleNamespace(**{fn: _jit(fn, mod) for fn, mod in _MODULES.items()}, ahead_of_time=False)


@functools.cache
def dram_kernels() -> SimpleNamespace:
    """The compiled DRAM kernels (built on first use; see the module docstring)."""
    name = module_name()
    path = cache_dir() / f"{name}{sysconfig.get_config_var('EXT_SUFFIX')}"
    if not path.exists():
        try:
            path = _compile(name, cache_dir())
        except Exception as exc:  # no compiler, no pycc, unwritable cache: fall back to the JIT
            first_line = (str(exc).strip().splitlines() or [""])[0]
            return _jit_fallback(f"{type(exc).__name__}: {first_line}")
    module = _load(name, path)
    return SimpleNamespace(**{fn: getattr(module, fn) for fn in _MODULES}, ahead_of_time=True)

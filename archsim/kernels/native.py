"""Kernels compiled ahead of time, so that running them needs no Numba import.

``kernels(group)`` returns a namespace with the group's functions, argument for argument the Numba-source
functions named in ``GROUPS``: ``"dram"`` (the DRAM controller/device core, its address decoder and trace
parser) and ``"scalesim"`` (the SCALE-Sim compute and memory models). The first call on a machine compiles
the group with Numba's ahead-of-time compiler (``numba.pycc``, ~20 s) into a C extension in the cache
directory; every later process imports it in about a millisecond, without Numba (whose import and target
set-up cost ~0.5 s, more than a whole DRAMsim3 run of 100k requests). The extension is keyed by every
kernel source in ``archsim/kernels``, the Numba version and the Python ABI, so editing a kernel rebuilds it.

Where the ahead-of-time compiler cannot run (no C compiler, or a Numba without ``pycc``), the same
functions are JIT-compiled instead (``numba.njit``, cached), with a warning: same results, slower start.

Cache directory: ``$ARCHSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/archsim``, else ``~/.cache/archsim``. A new
build deletes the group's builds of other sources that are more than a day old.
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
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

_HERE = Path(__file__).resolve().parent

_DRAM_SIG = ("Tuple((i8[::1], i8[::1], i8[:, ::1], i8[:, ::1], i8[:, :, ::1], i8, i8[:, ::1]))"
             "(i8[::1], b1[::1], i8[::1], i8[::1], i8[::1], i8[::1], i8[::1], i8[::1], i8[:, ::1], i8[:, ::1])")

# group -> {function: (module in archsim.kernels, Numba signature)}; arrays are C-contiguous, as callers pass them
GROUPS: dict[str, dict[str, tuple[str, str]]] = {
    "dram": {
        "simulate_requests": ("dram_timing", _DRAM_SIG),
        "simulate_requests_one_channel": ("dram_timing", _DRAM_SIG),
        "decode_addresses": ("dram_timing", "i8[:, ::1](i8[::1], i8, i8[::1], i8[::1])"),
        "parse_dramsim3_text": ("dram_trace_parse", "Tuple((i8[::1], b1[::1], i8[::1], i8, i8))(u1[::1], i8)"),
    },
    "scalesim": {
        "scalesim_compute_figures": ("scalesim_compute", "Tuple((i8, i8, f8, f8, i8, i8, i8))(i8, i8, i8, i8, i8, i8)"),
        "simulate_memory": ("scalesim_memory",
                            "i8[::1](i8, i8, i8, i8, i8, i8, i8, i8, i8, i8, b1, i8, i8, i8, i8, i8, i8)"),
    },
}


def _sources() -> list[Path]:
    return sorted(_HERE.glob("*.py"))


def cache_dir() -> Path:
    """Where compiled kernels are kept (see the module docstring)."""
    if os.environ.get("ARCHSIM_CACHE_DIR"):
        return Path(os.environ["ARCHSIM_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "archsim"


def module_name(group: str) -> str:
    """The extension's module name: a digest of the kernel sources, the Numba version and the Python ABI."""
    h = hashlib.sha256(group.encode())
    for path in _sources():
        h.update(path.read_bytes())
    h.update(importlib.metadata.version("numba").encode())
    h.update(sys.implementation.cache_tag.encode())
    h.update(sysconfig.get_platform().encode())
    return f"archsim_{group}_{h.hexdigest()[:16]}"


def _compile(group: str, name: str, out_dir: Path) -> Path:
    """Build ``group`` as the extension ``name`` into ``out_dir`` (atomically: a partial build is never seen)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba.pycc is marked pending-deprecation
        from numba.pycc import CC

        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".build-") as tmp:
            cc = CC(name)
            cc.output_dir = tmp
            cc.target_cpu = "host"  # built where it runs: use this CPU's vector units
            cc.verbose = False
            for fn, (module, sig) in GROUPS[group].items():
                cc.export(fn, sig)(_python_function(module, fn))
            cc.compile()
            built = Path(tmp) / f"{name}{sysconfig.get_config_var('EXT_SUFFIX')}"
            final = out_dir / built.name
            os.replace(built, final)
    _prune(group, final)
    return final


def _prune(group: str, keep: Path, min_age_s: float = 86400.0) -> None:
    """Delete the group's builds of other sources older than a day (a build in use stays loadable)."""
    now = time.time()
    for old in keep.parent.glob(f"archsim_{group}_*"):
        try:
            if old != keep and old.is_file() and now - old.stat().st_mtime > min_age_s:
                old.unlink()
        except OSError:
            pass


def _load(name: str, path: Path):
    loader = importlib.machinery.ExtensionFileLoader(name, str(path))
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def _python_function(module: str, fn: str):
    """The Python source function (a plain function, or the one under an ``njit`` dispatcher)."""
    f = getattr(importlib.import_module(f"archsim.kernels.{module}"), fn)
    return getattr(f, "py_func", f)


def _jit(module: str, fn: str):
    from numba import njit

    return njit(cache=True, error_model="numpy")(_python_function(module, fn))


def _jit_fallback(group: str, reason: str) -> SimpleNamespace:
    warnings.warn(f"archsim: {group} kernels JIT-compiled instead of ahead of time ({reason}); "
                  "results are the same, start-up is ~0.5 s slower", RuntimeWarning, stacklevel=3)
    return SimpleNamespace(**{fn: _jit(module, fn) for fn, (module, _) in GROUPS[group].items()},
                           ahead_of_time=False)


@functools.cache
def kernels(group: str) -> SimpleNamespace:
    """The compiled kernels of ``group`` (built on first use; see the module docstring)."""
    name = module_name(group)
    path = cache_dir() / f"{name}{sysconfig.get_config_var('EXT_SUFFIX')}"
    if not path.exists():
        try:
            path = _compile(group, name, cache_dir())
        except Exception as exc:  # no compiler, no pycc, unwritable cache: fall back to the JIT
            first_line = (str(exc).strip().splitlines() or [""])[0]
            return _jit_fallback(group, f"{type(exc).__name__}: {first_line}")
    module = _load(name, path)
    return SimpleNamespace(**{fn: getattr(module, fn) for fn in GROUPS[group]}, ahead_of_time=True)

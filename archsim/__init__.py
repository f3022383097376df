"""archsim: a cycle-level, event-driven accelerator architecture simulator.

    import archsim
    arch = archsim.load_arch("arch_configs/edge_32x32_os.yaml", ["engines.npu.rows=64"])
    result = archsim.simulate(arch, "resnet18")
"""
from archsim.errors import ArchsimError, ConfigError

__version__ = "0.1.0"

# Loaded on first use (PEP 562): commands that never read an architecture YAML (``archsim
# scalesim``, ``archsim dram``) do not pay for importing pydantic and yaml.
_LAZY = {"Arch": "archsim.config", "load_arch": "archsim.config"}

__all__ = ["Arch", "ArchsimError", "ConfigError", "load_arch", "simulate", "__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def simulate(arch, workload, **kwargs):
    """Simulate ``workload`` (name, file or Trace) on ``arch`` (Arch or YAML path); returns a Result."""
    from archsim.sim.run import simulate as _simulate

    return _simulate(arch, workload, **kwargs)

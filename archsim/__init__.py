"""archsim: a cycle-level, event-driven accelerator architecture simulator."""
from archsim.config import Arch, load_arch
from archsim.errors import ArchsimError, ConfigError

__version__ = "0.1.0"

__all__ = ["Arch", "ArchsimError", "ConfigError", "load_arch", "simulate", "__version__"]


def simulate(arch, workload, **kwargs):
    """Simulate ``workload`` (name, file or Trace) on ``arch`` (Arch or YAML path); returns a Result."""
    from archsim.sim.run import simulate as _simulate

    return _simulate(arch, workload, **kwargs)

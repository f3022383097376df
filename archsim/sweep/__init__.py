"""Design-space sweeps over dotted architecture keys, on a local process pool or a Dask cluster; resumable.

    from archsim.sweep import load_sweep, run_sweep
    outcome = run_sweep(load_sweep("experiments/sweep_systolic.yaml"), "sweeps/systolic")
    outcome.table        # one row per point x workload, swept keys as columns

See docs/sweeps.md.
"""

# Attributes load on first use (PEP 562) so that `archsim --help` and other subcommands do not pay for
# importing pandas/dask/matplotlib.
_LAZY = {
    "SweepOutcome": "archsim.sweep.runner",
    "run_sweep": "archsim.sweep.runner",
    "SweepSpec": "archsim.sweep.spec",
    "WorkloadSpec": "archsim.sweep.spec",
    "build_sweep": "archsim.sweep.spec",
    "load_sweep": "archsim.sweep.spec",
    "read_table": "archsim.sweep.store",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

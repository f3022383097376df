"""Design-space sweeps over dotted architecture keys, on a local process pool or a Dask cluster; resumable.

    from archsim.sweep import load_sweep, run_sweep
    outcome = run_sweep(load_sweep("experiments/sweep_systolic.yaml"), "sweeps/systolic")
    outcome.table        # one row per point x workload, swept keys as columns

See docs/sweeps.md.
"""
from archsim.sweep.runner import SweepOutcome, run_sweep
from archsim.sweep.spec import SweepSpec, WorkloadSpec, build_sweep, load_sweep
from archsim.sweep.store import read_table

__all__ = ["SweepOutcome", "SweepSpec", "WorkloadSpec", "build_sweep", "load_sweep", "read_table", "run_sweep"]

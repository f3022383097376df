"""Per-action energy and area: a cited table, explicit node/Vdd scaling, and accounting over a Result.

    from archsim.energy import EnergySpec, estimate_energy
    report = estimate_energy(result, arch, EnergySpec(dram_standard={"hbm2": "HBM2"}))
    report.per_op, report.per_component, report.total_pj

See docs/energy.md for the table, its sources and the modelling rules.
"""
from archsim.energy.model import EnergyReport, estimate_area, estimate_energy
from archsim.energy.spec import EnergySpec
from archsim.energy.table import DEFAULT_TABLE, EnergyError, EnergyTable, load_table

__all__ = ["DEFAULT_TABLE", "EnergyError", "EnergyReport", "EnergySpec", "EnergyTable", "estimate_area",
           "estimate_energy", "load_table"]

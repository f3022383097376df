"""The SimPy event engine, the Result it produces, and ``simulate`` (the whole pipeline)."""
from archsim.sim.result import OpRecord, Result, TransferRecord

__all__ = ["OpRecord", "Result", "TransferRecord"]

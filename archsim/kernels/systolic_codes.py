"""Dataflow codes of the systolic kernels, importable without Numba."""
from __future__ import annotations

OS, WS, IS = 0, 1, 2
DATAFLOW_CODES = {"os": OS, "ws": WS, "is": IS}

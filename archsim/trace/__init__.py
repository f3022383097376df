"""Operator traces: the table format between the workload frontend and the mappers."""
from archsim.trace.schema import TRACE_FORMAT_VERSION, Trace, TraceOp

__all__ = ["TRACE_FORMAT_VERSION", "Trace", "TraceOp"]

"""Operator traces: the table format between the workload frontend and the mappers."""
from archsim.trace.checks import check_trace, trace_problems
from archsim.trace.io import read_trace, trace_to_dataframe, write_trace
from archsim.trace.schema import TRACE_FORMAT_VERSION, Trace, TraceOp

__all__ = ["TRACE_FORMAT_VERSION", "Trace", "TraceOp", "check_trace", "read_trace",
           "trace_problems", "trace_to_dataframe", "write_trace"]

"""Workload frontend: graph IR, model zoo, ONNX import and lowering to operator traces.

``load_workload(spec, overrides)`` is the entry point: a zoo name or a file in, a Trace out.
"""
from archsim.workload.graph import Graph, Op, Tensor
from archsim.workload.knobs import RunKnobs, parse_knobs
from archsim.workload.loader import build_graph, list_workloads, load_workload
from archsim.workload.lower import lower

__all__ = ["Graph", "Op", "RunKnobs", "Tensor", "build_graph", "list_workloads", "load_workload", "lower",
           "parse_knobs"]

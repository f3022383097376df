"""Workload frontend: graph IR, model zoo, ONNX import and lowering to operator traces.

``load_workload(spec, overrides)`` is the entry point: a zoo name or a file in, a Trace out; ``archsim.workload.lower.lower(graph)`` lowers a Graph.
"""
# Loaded on first use (PEP 562): importing ``archsim.workload.cli`` to build the command's parser must not
# import numpy and the zoo.
_LAZY = {"Graph": "graph", "Op": "graph", "Tensor": "graph", "RunKnobs": "knobs", "parse_knobs": "knobs",
         "build_graph": "loader", "list_workloads": "loader", "load_workload": "loader"}

__all__ = ["Graph", "Op", "RunKnobs", "Tensor", "build_graph", "list_workloads", "load_workload", "parse_knobs"]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"archsim.workload.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

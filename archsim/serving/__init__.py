"""LLM serving: batched decode iterations over a request stream, run as a driver on the one event engine.

``serve(arch, model, dist, options)`` (``driver``) holds the policy — batching, KV growth, request
replacement, channel placement (``state``) — and keeps no timing of its own; ``requests`` reads the shipped
request-length distributions; ``presets`` names the systems of the NeuPIMs comparison; ``speculative`` is
the draft-and-verify arithmetic of speculative decoding over engine-timed decode steps.
"""
# Loaded on first use (PEP 562): importing ``archsim.serving.cli`` to build the command's parser must not
# import pandas and the engine.
_LAZY = {"ServingOptions": "driver", "ServingResult": "driver", "serve": "driver",
         "RequestDist": "requests", "load_request_dist": "requests"}

__all__ = ["RequestDist", "ServingOptions", "ServingResult", "load_request_dist", "serve"]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"archsim.serving.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""LLM serving: batched decode iterations over a request stream, run as a driver on the one event engine.

``serve(arch, model, dist, options)`` (``driver``) holds the policy — batching, KV growth, request
replacement, channel placement (``state``) — and keeps no timing of its own; ``requests`` reads the shipped
request-length distributions; ``presets`` names the systems of the NeuPIMs comparison.
"""
from archsim.serving.driver import ServingOptions, ServingResult, serve
from archsim.serving.requests import RequestDist, load_request_dist

__all__ = ["RequestDist", "ServingOptions", "ServingResult", "load_request_dist", "serve"]

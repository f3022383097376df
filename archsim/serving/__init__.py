"""LLM serving: batched decode iterations over a request stream, simulated on NPU / PIM / GPU systems.

``serve(system, shape, dist, options)`` runs the SimPy serving loop (``loop``); ``presets`` names the
systems the NeuPIMs comparison uses; ``requests`` reads the shipped request-length distributions.
"""
import archsim.hw.gpu  # noqa: F401  registers kind: gpu / cpu (until archsim.hw.registry lists it)
import archsim.hw.pim  # noqa: F401  registers kind: pim
from archsim.serving.decoder import DecoderShape
from archsim.serving.loop import ServingOptions, ServingResult, serve
from archsim.serving.requests import RequestDist, load_request_dist
from archsim.serving.system import ServingSystem

__all__ = ["DecoderShape", "RequestDist", "ServingOptions", "ServingResult", "ServingSystem", "load_request_dist",
           "serve"]

"""A GPU whose kernel times come from a measured profile (``kind: gpu_profile``), for neural-graphics apps.

The NGPC paper's baseline is an RTX 3090 *measured* with Nsight (kernel-level time shares), not a model;
``kind: gpu`` (``archsim.hw.gpu``) is a roofline and would invent those shares. This kind turns a profile of
one reference frame into per-work rates and prices every op of an instant-ngp batch with them:

* the reference app (``reference.workload``, NeRF) takes ``frame_ms`` per frame of ``pixels`` at
  ``queries_per_pixel``; its encoding and MLP kernels take ``encoding_share`` and ``mlp_share`` of it;
* hence per query ``enc_q``, ``mlp_q``, ``rest_q``; ``ns_per_mac = mlp_q / MACs per query`` and, for the hash
  grid, ``ns_per_lookup = enc_q / lookups per query`` (the reference workload's own counts);
* every app keeps its rest kernels whatever its encoding (they do not depend on it); for another grid type
  ``g`` (``grid_shares[g]``: the encoding + MLP share the paper gives for it, read as the mean over the apps
  of ``grid_workloads[g]``) the one ``ns_per_lookup[g]`` is solved (bisection) so that the mean of the apps'
  ``(enc + mlp) / (enc + mlp + rest)`` equals it;
* another app ``a`` (``app_shares[a]``: its hash-grid encoding + MLP share) runs its own encoding and MLP at
  those rates (same tcnn kernels), and its rest kernels take ``(enc + mlp) · (1 − s_a) / s_a`` per query.

Ops: grid encodings cost ``lookups × ns_per_lookup[grid type]``; GEMMs ``MACs × ns_per_mac``; direction
encodings nothing of their own (inside the measured encoding share); a ``render_rest`` op (``REST_KIND``,
``dims.points`` queries) costs the app's ``rest_q`` per query, divided by ``rest_fusion_speedup`` when the
task asks for ``fused=True`` (the paper's single fused Vulkan kernel, 9.94×). The app comes from the task's
``app=`` placement argument. The device's own memory is inside the profile (no port streams); energy is
``board_power_w`` over time, as for ``kind: gpu``.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator

from archsim.config.schema import StrictModel
from archsim.errors import MappingError
from archsim.hw.demand import IDLE, Demand, single_phase
from archsim.hw.gpu import price_roofline
from archsim.hw.registry import ComponentKind, register
from archsim.hw.shares import Split, split_op
from archsim.trace import TraceOp
from archsim.trace.kinds import is_zero_cost

#: Kind of the op that stands for an app's non-accelerated ("rest of") kernels of a batch.
REST_KIND = "render_rest"
GRID_KINDS = ("hash_encoding", "grid_encoding")
DIRECTION_KINDS = ("sh_encoding", "frequency_encoding")
GRID_TYPES = ("hash", "dense", "tiled")


class ReferenceFrame(StrictModel):
    """The measured reference frame the per-work rates come from."""

    workload: str = Field(description="zoo workload of the reference app (its hash-grid version)")
    frame_ms: float = Field(gt=0, description="measured time of one frame, ms")
    pixels: int = Field(gt=0, description="pixels of that frame")
    queries_per_pixel: float = Field(gt=0, description="network queries per pixel of that frame")
    encoding_share: float = Field(gt=0, lt=1, description="share of the frame in the encoding kernel")
    mlp_share: float = Field(gt=0, lt=1, description="share of the frame in the MLP kernels")

    @model_validator(mode="after")
    def _below_one(self):
        if self.encoding_share + self.mlp_share >= 1:
            raise ValueError("encoding_share + mlp_share must be below 1 (the rest kernels take the remainder)")
        return self


class GpuProfileParams(StrictModel):
    """YAML parameters of ``kind: gpu_profile``."""

    kind: Literal["gpu_profile"]
    clock_ghz: float = Field(gt=0, description="clock the cycle counts are expressed in, GHz")
    reference: ReferenceFrame
    grid_workloads: dict[Literal["dense", "tiled"], dict[str, str]] = Field(
        default_factory=dict, description="per other grid type: app -> zoo workload with that grid")
    grid_shares: dict[Literal["dense", "tiled"], float] = Field(
        default_factory=dict, description="per other grid type: encoding + MLP share, mean over its apps")
    app_workloads: dict[str, str] = Field(default_factory=dict, description="zoo workload (hash grid) per other app")
    app_shares: dict[str, float] = Field(default_factory=dict, description="hash-grid encoding + MLP share per other app")
    rest_fusion_speedup: float = Field(default=1.0, ge=1, description="speedup of the fused rest-of kernels")
    board_power_w: float | None = Field(default=None, gt=0, description="average board power, W")
    devices: int = Field(default=1, gt=0, description="identical devices (energy only)")

    @model_validator(mode="after")
    def _consistent(self):
        for what, shares, loads in (("grid", self.grid_shares, self.grid_workloads),
                                    ("app", self.app_shares, self.app_workloads)):
            if set(shares) != set(loads):
                raise ValueError(f"{what}_shares and {what}_workloads must name the same keys "
                                 f"({sorted(shares)} vs {sorted(loads)})")
            for k, s in shares.items():
                if not 0 < s < 1:
                    raise ValueError(f"{what}_shares.{k} = {s} must be between 0 and 1")
        return self


@lru_cache(maxsize=32)
def per_query_work(workload: str) -> tuple[str, str, float, float]:
    """(app, grid type, table lookups, MLP MACs) per query of zoo ``workload``."""
    from archsim.workload import load_workload
    from archsim.workload.encodings import GRID_TYPE_CODES

    trace = load_workload(workload, ["points=16"])
    grid = [o for o in trace.ops if o.kind in GRID_KINDS]
    if len(grid) != 1:
        raise MappingError(f"gpu_profile: workload {workload!r} is not a single-grid neural-graphics primitive")
    names = {v: k for k, v in GRID_TYPE_CODES.items()}
    app = trace.metadata.get("app", "")
    lookups = grid[0].dim("lookups") / 16
    macs = sum(o.macs for o in trace.ops if o.kind == "gemm") / 16
    return app, names[grid[0].dim("grid_type")], lookups, macs


class ProfiledGpu:
    """Engine model of ``kind: gpu_profile`` (see the module docstring)."""

    peak_macs_per_cycle = 0

    def __init__(self, name: str, params: GpuProfileParams, arch=None) -> None:
        self.name = name
        self.params = params
        self.clock_ghz = params.clock_ghz
        self.rates = profile_rates(params)

    def supports(self, op: TraceOp) -> bool:
        """The ops of an instant-ngp batch and its rest-of kernels."""
        return (op.kind in GRID_KINDS or op.kind in DIRECTION_KINDS or op.kind in ("gemm", REST_KIND)
                or is_zero_cost(op.kind))

    def op_ns(self, op: TraceOp, app: str | None = None, fused: bool = False) -> float:
        """Nanoseconds of ``op`` on the profiled GPU."""
        r = self.rates
        if op.kind in GRID_KINDS:
            from archsim.workload.encodings import GRID_TYPE_CODES

            grid = {v: k for k, v in GRID_TYPE_CODES.items()}[op.dim("grid_type")]
            if grid not in r["ns_per_lookup"]:
                raise MappingError(f"{self.name}: the profile has no {grid} grid (add grid_shares.{grid})")
            return op.dim("lookups") * r["ns_per_lookup"][grid]
        if op.kind == "gemm":
            return op.macs * r["ns_per_mac"]
        if op.kind == REST_KIND:
            if app not in r["rest_ns_per_query"]:
                raise MappingError(f"{self.name}: rest-of kernels of app {app!r} are not in the profile (apps: "
                                   f"{sorted(r['rest_ns_per_query'])}; the task passes app=...)")
            ns = op.dim("points") * r["rest_ns_per_query"][app]
            return ns / self.params.rest_fusion_speedup if fused else ns
        if op.kind in DIRECTION_KINDS or is_zero_cost(op.kind):
            return 0.0
        raise MappingError(f"{self.name}: a profiled GPU has no time for op {op.name!r} of kind {op.kind!r}")

    def demand(self, op: TraceOp, resident: frozenset[str] = frozenset(), app: str | None = None,
               fused: bool = False, **_placement) -> Demand:
        """Profile demand of ``op`` (cycles of ``clock_ghz``)."""
        ns = self.op_ns(op, app, fused)
        if ns == 0:
            return IDLE
        cycles = int(math.ceil(ns * self.clock_ghz - 1e-9))
        return single_phase(cycles, None, compute_cycles=cycles, macs=op.macs)

    def split(self, op: TraceOp, n: int) -> Split:
        return split_op(op, n)


def profile_rates(p: GpuProfileParams) -> dict:
    """``ns_per_lookup`` per grid type, ``ns_per_mac`` and ``rest_ns_per_query`` per app (module docstring)."""
    ref = p.reference
    app, grid, lookups, macs = per_query_work(ref.workload)
    if grid != "hash":
        raise MappingError(f"gpu_profile: the reference workload {ref.workload!r} must use the hash grid")
    t_q = ref.frame_ms * 1e6 / (ref.pixels * ref.queries_per_pixel)
    ns_mac = ref.mlp_share * t_q / macs
    rest_ref = (1 - ref.encoding_share - ref.mlp_share) * t_q
    ns_lookup = {"hash": ref.encoding_share * t_q / lookups}
    rest = {app: rest_ref}
    for a, share in p.app_shares.items():
        a_app, a_grid, a_lookups, a_macs = per_query_work(p.app_workloads[a])
        if a_app != a or a_grid != "hash":
            raise MappingError(f"gpu_profile: app_workloads.{a} = {p.app_workloads[a]!r} is a {a_grid} grid "
                               f"{a_app!r} workload, not the hash-grid {a!r} app")
        encmlp = a_lookups * ns_lookup["hash"] + a_macs * ns_mac
        rest[a] = encmlp * (1 - share) / share
    for g, share in p.grid_shares.items():
        work = []
        for a, workload in p.grid_workloads[g].items():
            w_app, w_grid, w_lookups, w_macs = per_query_work(workload)
            if w_app != a or w_grid != g or a not in rest:
                raise MappingError(f"gpu_profile: grid_workloads.{g}.{a} = {workload!r} is a {w_grid} grid "
                                   f"{w_app!r} workload; expected a {g} grid of one of the apps {sorted(rest)}")
            work.append((w_lookups, w_macs * ns_mac, rest[a]))

        def mean_share(ns: float) -> float:
            return sum((lk * ns + m) / (lk * ns + m + r) for lk, m, r in work) / len(work)

        lo, hi = 0.0, 1e3
        if not mean_share(lo) < share < mean_share(hi):
            raise MappingError(f"gpu_profile: grid_shares.{g} = {share} is out of reach: the apps' MLP and rest "
                               f"kernels alone give a mean share of {mean_share(lo):.4f}")
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if mean_share(mid) < share else (lo, mid)
        ns_lookup[g] = 0.5 * (lo + hi)
    return {"ns_per_lookup": ns_lookup, "ns_per_mac": ns_mac, "rest_ns_per_query": rest,
            "reference_ns_per_query": t_q}


GPU_PROFILE = register(ComponentKind("gpu_profile", "engine", GpuProfileParams, ProfiledGpu,
                                     "GPU with per-kernel times from a measured profile (neural graphics)",
                                     pricer=price_roofline))

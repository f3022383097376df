"""The ``rdu_fusion`` mapper: the SN40L compiler's operator fusion as the mapper of ``kind: rdu`` engines.

``map_rdu_fusion(trace, engines)`` groups the trace's operators into kernels (``archsim.mapping.fusion``:
``fused`` = consecutive operators of a layer in one spatial pipeline, ``unfused`` = one operator per kernel,
the paper's baseline) and returns an ``RduKernelProgram``; ``run(arch)`` places each kernel's operators on
PCU/PMU groups and runs its launch and pipeline tasks on the one event engine. The engine's ``fusion`` and
``orchestration`` parameters pick the mode (``--set engines.rdu.fusion=unfused``,
``--set engines.rdu.orchestration=software``). ``archsim run sn40l llama3_8b`` and ``experiments/sn40l.py``
(through ``fusion.run_kernels``) run exactly this program.
"""
from __future__ import annotations

from dataclasses import dataclass

from archsim.errors import MappingError
from archsim.mapping.compiled import CompiledProgram
from archsim.mapping.fusion import DEFAULT_CHUNKS, Kernel, add_kernels, check_capacity, group_kernels, resident_bytes
from archsim.trace import Trace


@dataclass(frozen=True)
class RduKernelProgram(CompiledProgram):
    """A trace compiled into kernels for the RDU engine ``engine``: ``mode`` (fused/unfused), who launches
    them (``orchestration``), the tier the weights are read from (``weight_tier``; None: the RDU's HBM)."""

    engine: str = ""
    kernels: tuple[Kernel, ...] = ()
    mode: str = "fused"
    orchestration: str = "hardware"
    weight_tier: str | None = None
    continues_program: bool = False  # a step of a program already running on chip: no host launch starts it

    def run(self, arch, progress: bool = False):
        """Launch + pipeline tasks of every kernel on ``arch``'s engines; the Result. Weights and the KV cache
        must fit their tier: TierCapacityError names the tier and the shortfall."""
        from archsim.mapping.program import ProgramBuilder
        from archsim.sim.run import build_engines, run_program

        engines = build_engines(arch)
        model = engines[self.engine]
        check_capacity(self.trace, arch, self.weight_tier or model.params.hbm, resident_bytes(self.trace))
        builder = ProgramBuilder(arch, engines, prefetch_weights=False)
        add_kernels(builder, self.kernels, self.trace, self.engine, orchestration=self.orchestration,
                    weight_tier=self.weight_tier, continues_program=self.continues_program)
        return run_program(builder.take(), arch, engines, self.trace.name, progress=progress)

    def to_dict(self) -> dict:
        """Kernels with their operators (by trace op id and name) and chunks, the mode and orchestration."""
        data = super().to_dict()
        data.update({"engine": self.engine, "mode": self.mode, "orchestration": self.orchestration,
                     "weight_tier": self.weight_tier,
                     "kernels": [{"name": k.name, "chunks": k.chunks, "ops": [op.id for op in k.ops],
                                  "op_names": [op.name for op in k.ops]} for k in self.kernels]})
        return data

    def summary_lines(self) -> list[str]:
        ops = sum(len(k.ops) for k in self.kernels)
        return [f"{self.trace.name}: {ops} ops compiled by {self.mapper} into {len(self.kernels)} {self.mode} kernels "
                f"on {self.engine} ({self.orchestration} orchestration)"]


def rdu_engine(engines: dict, engine: str | None = None) -> str:
    """The name of the ``kind: rdu`` engine (``engine`` if given)."""
    if engine is not None:
        return engine
    rdus = [n for n, m in engines.items() if getattr(getattr(m, "params", None), "kind", "") == "rdu"]
    if not rdus:
        raise MappingError("rdu_fusion: the architecture has no kind: rdu engine")
    return rdus[0]


def map_rdu_fusion(trace: Trace, engines: dict, *, mode: str | None = None, orchestration: str | None = None,
                   chunks: int = DEFAULT_CHUNKS, engine: str | None = None,
                   weight_tier: str | None = None, continues_program: bool = False) -> RduKernelProgram:
    """Compile ``trace`` into kernels for the RDU (``mode``/``orchestration``: default the engine's ``fusion``
    and ``orchestration`` parameters)."""
    name = rdu_engine(engines, engine)
    model = engines[name]
    how = orchestration or model.params.orchestration
    if how not in ("software", "hardware"):
        raise MappingError(f"rdu_fusion: orchestration {how!r}: expected 'software' or 'hardware'")
    mode = mode or model.params.fusion
    kernels = group_kernels(trace, mode, pcus=model.params.pcus, sram_bytes=model.sram_bytes, chunks=chunks)
    return RduKernelProgram(trace, "rdu_fusion", name, tuple(kernels), mode, how, weight_tier, continues_program)

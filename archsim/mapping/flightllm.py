"""The ``flightllm`` mapper: FlightLLM's compiler as the mapper of ``kind: fpga_llm`` engines.

``map_flightllm(trace, engines)`` lowers one decode step or one prefill of a dense decoder
(``archsim.mapping.fpga_compile.compile_trace``: the program of the length bucket the trace falls in, with
the engine's ``compiler:`` settings) into LD/ST/MM/MV/MISC/SYS instruction streams with wait/release tokens,
and those into a Program on the engine's module queues (``archsim.mapping.fpga_streams.stream_program``):
``archsim run u280_flightllm llama2_7b`` and ``simulate(arch, trace)`` run it on the one event engine, and
``experiments/flightllm.py`` times the same compiled programs. Each task is labelled with the trace op its
layer computes (ops the compiler fuses — RoPE, residual adds, SwiGLU's product, softmax with always-on-chip
decode — run inside their producer's layer and have no row of their own; the embedding row gather is not an
instruction of the stream, so it has none either).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, fields

from archsim.errors import MappingError
from archsim.hw.fpga import MODULES, CompileOptions, FpgaLlm, Instruction
from archsim.mapping.compiled import CompiledProgram
from archsim.mapping.fpga_compile import CompiledStream, compile_trace
from archsim.mapping.fpga_streams import layered_result, stream_program
from archsim.trace import Trace

INSTRUCTION_FIELDS = tuple(f.name for f in fields(Instruction))


@dataclass(frozen=True)
class FlightLlmProgram(CompiledProgram):
    """A FlightLLM program: the compiled ``stream`` for the FPGA engine ``model``, its ``phase``, bucket
    ``length`` and compile ``options``; ``ops``: the trace ops its layers compute, by name."""

    model: FpgaLlm | None = None
    stream: CompiledStream | None = None
    phase: str = ""
    length: int = 0
    options: CompileOptions | None = None
    coalesced: bool = True

    @property
    def sources(self) -> list[tuple[int, object]]:
        """(first instruction, trace op) of every layer (None where the trace has no op of that name)."""
        ops = {op.name: op for op in self.trace.ops}
        return [(i, ops.get(name)) for i, name in self.stream.layers]

    def program(self):
        """The whole stream as one Program on the engine's module queues (``fpga_streams.stream_program``)."""
        return stream_program(self.stream.instructions, self.model.name, self.coalesced, self.sources)[0]

    def run(self, arch, progress: bool = False, layered: bool = True):
        """The Result of the program on ``arch``: layer by layer (``fpga_streams.layered_result``; each distinct
        layer runs once on the engine — SYS barriers keep layers apart, so this equals the whole stream), or
        with ``layered=False`` the whole stream as one program (``archsim.sim.run.run_program``)."""
        from archsim.sim.run import run_program

        if layered:
            return layered_result(self.model, self.stream.instructions, self.sources, arch, self.trace.name,
                                  self.coalesced)
        return run_program(self.program(), arch, self.model.module_queues(), self.trace.name, progress=progress,
                           records_per_op=True)

    def module_counts(self) -> dict[str, int]:
        """Instructions per module."""
        counts = Counter(i.module for i in self.stream.instructions)
        return {m: counts.get(m, 0) for m in MODULES}

    def to_dict(self) -> dict:
        """The program as JSON: per layer the op it computes and its first instruction, every instruction as a
        row of ``fields`` (``archsim.hw.fpga.Instruction``), the compile settings."""
        data = super().to_dict()
        data.update({"engine": self.model.name, "phase": self.phase, "length": self.length,
                     "compiler": self.options.model_dump(), "modules": self.module_counts(),
                     "layers": [{"op": op, "first": i} for i, op in self.stream.layers],
                     "fields": list(INSTRUCTION_FIELDS),
                     "instructions": [list(asdict(x).values()) for x in self.stream.instructions]})
        return data

    def summary_lines(self) -> list[str]:
        counts = self.module_counts()
        return [f"{self.trace.name}: {self.phase} compiled for {self.length} tokens by {self.mapper} into "
                f"{len(self.stream.instructions):,} instructions ({', '.join(f'{m} {n:,}' for m, n in counts.items())}) "
                f"in {len(self.stream.layers)} layers on {self.model.name}'s modules"]


def fpga_engine(engines: dict) -> FpgaLlm:
    """The one ``kind: fpga_llm`` engine among ``engines`` (name -> model)."""
    found = [m for m in engines.values() if isinstance(m, FpgaLlm)]
    if len(found) != 1:
        raise MappingError(f"the flightllm mapper compiles for one 'kind: fpga_llm' engine; this architecture has "
                           f"{len(found)} (engines: {', '.join(engines)})")
    return found[0]


def map_flightllm(trace: Trace, engines: dict, options: CompileOptions | None = None, masks=None,
                  coalesced: bool = True) -> FlightLlmProgram:
    """Compile ``trace`` for the architecture's FPGA engine (``options``: default its ``compiler:`` block;
    ``masks``: prefill attention layouts, default dense causal) and return the program."""
    model = fpga_engine(engines)
    o = options if options is not None else model.params.compiler
    stream, phase, length = compile_trace(trace, model.design, o, masks)
    return FlightLlmProgram(trace, "flightllm", model, stream, phase, length, o, coalesced)

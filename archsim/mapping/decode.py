"""The decode mapper: one LLM decode iteration of a live batch, as a Schedule for the program builder.

Decisions, each an ordinary mapping pass over the iteration's traces (one per sub-batch, from
``archsim.workload.decode.DecodeStep``); the rest (spreading over units, weight prefetch shared by the
sub-batches, DMA) is ``archsim.mapping.program``'s, as for any Schedule:

* **placement** — every op of the step goes to the unit group where the partitioner
  (``archsim.mapping.partition``, earliest finish by the engines' own demands) puts it, decided once for
  the run on the step at its starting mean context: GEMMs on the arrays, attention on PIM when PIM is
  faster for it, norms on the vector units, everything on a GPU when that is all there is;
* **residency** — when the system's scratchpad holds an op's activations they stay on chip (its demand
  does not stream them); the KV cache (read by attention, written by ``kv_append``) and weights live off
  chip;
* **KV placement** — attention ops get the channel of each request's KV cache (a PIM device times its
  attention by it; other engines ignore it);
* **sub-batch interleaving** — with several sub-batches each layer is emitted for every sub-batch in turn
  and the engines dispatch ready-first, so one sub-batch's attention on PIM overlaps another's GEMMs on
  the NPU exactly as far as dependencies and resources allow;
* iteration k+1 of a sub-batch starts after its iteration k (the next token needs the last).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from archsim.mapping.partition import partition
from archsim.mapping.program import ProgramBuilder
from archsim.mapping.schedule import Schedule, ScheduledOp
from archsim.mapping.units import unit_groups
from archsim.sim.program import Program, Task
from archsim.trace import Trace


@dataclass
class IterationTasks:
    """What one iteration added: the last task of each sub-batch (the next iteration waits for it) and the
    control task that ends once the whole iteration has."""

    last: list[int]
    end_task: int


class DecodeMapper:
    """Maps decode iterations onto ``engines`` of ``arch`` (see module docstring); ``template`` is one
    sub-batch's step at the starting contexts (for placement)."""

    def __init__(self, arch, engines: dict, template: Trace, sub_batches: int = 1, weight_prefetch: bool = True):
        self.arch, self.engines, self.template = arch, engines, template
        groups = unit_groups(engines)
        placed = {p.op_id: groups[p.engine] for p in partition(template, engines)}
        self.placement = [placed[op.id] for op in template.ops]
        index = {op.id: i for i, op in enumerate(template.ops)}
        self.deps = [tuple(index[d] for d in op.deps if d in index) for op in template.ops]
        consumed = {d for ds in self.deps for d in ds}
        self.sinks = [k for k in range(len(template.ops)) if k not in consumed]
        capacity = max((getattr(m, "scratchpad_bytes", 0) or 0 for m in engines.values()), default=0)
        self.on_chip = capacity > 0 and max(
            (op.input_bytes - op.kv_cache_bytes + op.output_bytes for op in template.ops), default=0) <= capacity
        # on chip: activations; a KV append's output is the KV cache, which stays off chip
        self.resident = [frozenset() if not self.on_chip else
                         frozenset({"input"}) if op.kind == "kv_append" else frozenset({"input", "output"})
                         for op in template.ops]
        layers = [op.layer for op in template.ops]
        self.runs = []          # contiguous runs of ops of one layer: (first, end)
        i = 0
        while i < len(layers):
            j = i
            while j < len(layers) and layers[j] == layers[i]:
                j += 1
            self.runs.append((i, j))
            i = j
        self.builder = ProgramBuilder(arch, engines, prefetch_weights=weight_prefetch, ready_first=sub_batches > 1)
        self._renumbered: dict[tuple[int, int], tuple] = {}     # (sub-batch, op) -> (template op, renumbered op)

    def attention_units(self) -> set[str]:
        """Kinds of the engines the decode attention (ops over the KV cache) was placed on."""
        return {self.arch.engines[self.placement[k][0]].kind for k, op in enumerate(self.template.ops)
                if op.kv_cache_bytes}


    def iteration(self, traces: list[Trace], kv_channels: list[np.ndarray | None],
                  previous: list[int] | None) -> tuple[Program, IterationTasks]:
        """The Program chunk of one iteration: ``traces[s]`` is sub-batch s's step, ``kv_channels[s]`` the PIM
        channel of each of its requests, ``previous[s]`` the last task of its previous iteration (or None)."""
        n = len(self.template.ops)
        ops, entries, after, args = [], [], {}, {}
        for first, end in self.runs:
            for s, trace in enumerate(traces):
                for k in range(first, end):
                    src = trace.ops[k]
                    hit = self._renumbered.get((s, k))
                    if hit is not None and hit[0] is src:
                        op = hit[1]
                    else:
                        op = replace(src, id=s * n + k, deps=tuple(s * n + d for d in self.deps[k]))
                        if not src.seq_lens:
                            self._renumbered[(s, k)] = (src, op)
                    ops.append(op)
                    entries.append(ScheduledOp(op, self.placement[k]))
                    a = {}
                    resident = self.resident[k]
                    if resident:
                        a["resident"] = resident
                    if src.kv_cache_bytes and kv_channels[s] is not None:
                        a["kv_channels"] = kv_channels[s]       # models that place KV caches use it
                    if a:
                        args[op.id] = a
                    if not self.deps[k] and previous is not None:
                        after[op.id] = (previous[s],)
        schedule = Schedule(Trace(self.template.name, tuple(ops), self.template.metadata), tuple(entries), "decode")
        op_task = self.builder.add_schedule(schedule, after=after, args=args)
        last = [max(op_task[s * n + k] for k in range(n)) for s in range(len(traces))]
        end = self.builder.add(Task("iteration_end", (), kind="control",
                                    after=tuple(op_task[s * n + k] for s in range(len(traces)) for k in self.sinks)))
        return self.builder.take(), IterationTasks(last, end)

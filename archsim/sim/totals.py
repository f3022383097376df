"""Engine record sinks: what the engine reports per finished task, summed into one OpRecord per (op, engine)."""
from __future__ import annotations

import math

from archsim.sim.result import OpRecord, TransferRecord


class OpTotals:
    """An engine record sink: per (op, engine) sums over the tasks that ran it — serving sums an op over its
    iterations (``ServingResult.ops``), a compiled program (FlightLLM's instruction streams) over the tasks
    its compiler cut it into.

    Demands recur from iteration to iteration (the models cache them), so a finished task only counts how
    often its tuple of part demands ran; the sums are taken when a task's distinct tuples pass a bound
    (ragged attention differs every iteration) and at the end."""

    FLUSH = 32

    def __init__(self, engine_scale):
        self.scale = engine_scale
        self.tasks: dict[tuple, list] = {}   # (name, queues) -> [ops, first start, last end, cycles, runs, counts]
        self.sums: dict[tuple[str, str], list] = {}      # (op, engine) -> [compute, macs, traffic, actions]
        self.moved: dict[tuple, list] = {}               # (path, src, dst, kind) -> [first start, last end, bytes]

    def transfer(self, info, start: int, end: int) -> None:
        row = self.moved.setdefault((info.path, info.src, info.dst, info.kind), [start, end, 0])
        row[1] = max(row[1], end)
        row[2] += info.bytes

    def transfers(self) -> list[TransferRecord]:
        """One TransferRecord per (path, source, destination, kind): its bytes summed over the run."""
        return [TransferRecord(path, -1, -1, a, b, n, src, dst, "", kind)
                for (path, src, dst, kind), (a, b, n) in self.moved.items()]

    def task(self, task, members, start: int, end: int) -> None:
        key = (task.name, task.queues)
        row = self.tasks.get(key)
        ids = tuple(id(d) for _, _, d in members)
        if row is None:
            label = task.source
            row = self.tasks[key] = [[label if label is not None else op for _, op, _ in members], start, end, 0, 0,
                                     {}]
        row[2] = end
        row[3] += end - start
        row[4] += 1
        counts = row[5]
        hit = counts.get(ids)
        if hit is not None and all(a is b for a, (_, _, b) in zip(hit[0], members)):
            hit[1] += 1
            return
        counts[ids] = [[d for _, _, d in members], 1]
        if len(counts) > self.FLUSH:
            self._flush(key, row)

    def _flush(self, key, row) -> None:
        for demands, n in row[5].values():
            for q, op, d in zip(key[1], row[0], demands):
                acc = self.sums.setdefault((getattr(op, "name", key[0]), q), [0, 0, {}, {}, ""])
                acc[4] = acc[4] or d.dtype
                acc[0] += d.compute_cycles * n
                acc[1] += d.macs * n
                for out, src in ((acc[2], d.traffic_bytes), (acc[3], d.actions)):
                    for k, v in src.items():
                        out[k] = out.get(k, 0.0) + v * n
        row[5] = {}

    def records(self, peaks: dict) -> list[OpRecord]:
        """One OpRecord per (op, engine): its runs, summed cycles, MACs, traffic and actions."""
        spans: dict[tuple[str, str], list] = {}
        for key, row in self.tasks.items():
            self._flush(key, row)
            ops, start, stop, span, runs, _ = row
            for q, op in zip(key[1], ops):
                name = getattr(op, "name", key[0])
                acc = spans.setdefault((name, q), [op, start, stop, 0, 0])
                acc[1], acc[2] = min(acc[1], start), max(acc[2], stop)
                acc[3] += span
                acc[4] += runs
        out = []
        for (name, q), (op, start, stop, span, runs) in spans.items():
            compute, macs, traffic, actions, compute_dtype = self.sums[(name, q)]
            cycles = math.ceil(span / self.scale(q) - 1e-9)
            peak = peaks.get(q, 0) or 0
            util = macs / (cycles * peak) if cycles and peak else 0.0
            out.append(OpRecord(getattr(op, "id", -1), name, getattr(op, "kind", ""), getattr(op, "layer", ""), q,
                                start, stop, cycles, compute, max(0, cycles - compute), macs, util, 1.0, runs,
                                traffic, actions, getattr(op, "dtype", ""), compute_dtype))
        return out


def merge_records(records, peaks: dict) -> list[OpRecord]:
    """One OpRecord per (op name, engine) of ``records``: first start, last end, cycles, MACs, traffic,
    actions and runs summed, utilisation over the summed cycles (``peaks``: MACs per cycle per engine)."""
    out: dict[tuple[str, str], OpRecord] = {}
    for r in records:
        acc = out.get((r.name, r.engine))
        if acc is None:
            out[(r.name, r.engine)] = r
            continue
        traffic, actions = dict(acc.traffic_bytes), dict(acc.actions)
        for mine, theirs in ((traffic, r.traffic_bytes), (actions, r.actions)):
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0.0) + v
        cycles, macs = acc.total_cycles + r.total_cycles, acc.macs + r.macs
        peak = peaks.get(r.engine, 0) or 0
        out[(r.name, r.engine)] = OpRecord(
            acc.op_id, acc.name, acc.kind, acc.layer, acc.engine, min(acc.start_cycle, r.start_cycle),
            max(acc.end_cycle, r.end_cycle), cycles, acc.compute_cycles + r.compute_cycles,
            acc.stall_cycles + r.stall_cycles, macs, macs / (cycles * peak) if cycles and peak else 0.0,
            acc.mapping_efficiency, acc.folds + r.folds, traffic, actions, acc.dtype, acc.compute_dtype)
    return list(out.values())

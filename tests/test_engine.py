"""The one event engine: shared bandwidth, holds, tokens, pipelines, gangs, launches, dispatch, a new kind."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.config import build_arch, load_arch
from archsim.hw.demand import Demand, Phase, single_phase
from archsim.mapping.program import transfer_demand
from archsim.sim.engine import DeadlockError, Engine, PortSpec
from archsim.sim.program import Program, Task
from archsim.sim.run import build_engines, engine_for, simulate
from archsim.trace import Trace, TraceOp
from tests.conftest import REPO


def bare_engine(bytes_per_cycle=10.0, models=None):
    return Engine(1.0, models or {}, {"m": PortSpec(bytes_per_cycle)})


def stream(name, n_bytes, cycles=0, queue=None, **kw):
    return Task(name, (queue or name,), demand=Demand((Phase(cycles, (("m", float(n_bytes)),)),)), **kw)


def run(engine, tasks, **program):
    engine.extend(Program(tasks=list(tasks), **program))
    engine.run()
    return engine


# ---------------------------------------------------------------------------------------------- bandwidth
def test_equal_streams_on_one_port_share_it_evenly():
    e = run(bare_engine(), [stream(f"s{i}", 1000) for i in range(5)])
    assert list(e.end_cycle) == [500] * 5          # 5 x 1000 B at 10 B/cycle


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5000), st.integers(0, 400), st.integers(0, 300)), min_size=1, max_size=8))
def test_concurrent_streams_never_beat_the_port_and_never_undercut_their_own_cycles(specs):
    """N streams (bytes, own cycles, start delay) on a 10 B/cycle port: together they take at least total
    bytes / peak after the first starts, and each at least its own cycles."""
    tasks, starts = [], []
    for i, (n, cycles, delay) in enumerate(specs):
        if delay:
            tasks.append(Task(f"wait{i}", (f"q{i}",), demand=single_phase(delay)))
        tasks.append(stream(f"s{i}", n, cycles, queue=f"q{i}"))
        starts.append(delay)
    streams = [k for k, t in enumerate(tasks) if t.name.startswith("s")]
    e = run(bare_engine(), tasks)
    ends = [e.end_cycle[k] for k in streams]
    assert max(ends) >= min(starts) + sum(n for n, _, _ in specs) / 10.0 - 1e-6
    for end, (n, cycles, delay) in zip(ends, specs):
        assert end >= delay + max(cycles, math.ceil(n / 10.0))


def test_a_lone_task_takes_exactly_its_demand():
    two_phases = Demand((Phase(100, (("m", 500.0),)), Phase(10, (("m", 1000.0),))))
    e = run(bare_engine(), [Task("t", ("q",), demand=two_phases)])
    assert e.end_cycle[0] == 100 + 100          # max(100, 500/10) then max(10, 1000/10)


def test_a_hold_takes_its_share_of_the_port_while_its_task_runs():
    hold = Task("pim", ("p",), demand=Demand((Phase(100),), holds={"m": 0.5}))
    e = run(bare_engine(), [hold, stream("dma", 1000)])
    assert e.end_cycle[1] == 150                # 500 B at 5 B/cycle while held, the rest at 10


def test_two_memory_bound_ops_on_two_engines_sharing_one_dram_never_beat_its_roofline():
    """The engine issue's case: two independent memory-bound adds on two vector units sharing a 16 GB/s DRAM
    used to run over cycles 0-131072 each (32 GB/s out of a 16 GB/s part)."""
    arch = build_arch({"name": "two_vu", "clock_ghz": 1.0,
                       "engines": {"v0": {"kind": "vector", "lanes": 64, "dram": "d"},
                                   "v1": {"kind": "vector", "lanes": 32, "dram": "d"}},
                       "memories": {"d": {"kind": "dram", "bandwidth_gbps": 16}}})
    add = lambda i: TraceOp(i, f"add{i}", "add", {"elements": 2**20}, flops=2**20, input_bytes=2**20,  # noqa: E731
                            output_bytes=2**20)
    alone = simulate(arch, Trace("one", (add(0),)))
    assert alone.total_cycles == 131072
    both = simulate(arch, Trace("two", (add(0), add(1))))
    assert {r.engine for r in both.records} == {"v0", "v1"}
    assert both.total_cycles >= 2 * 2**21 / 16 and both.total_cycles == 262144
    assert all(r.start_cycle == 0 for r in both.records)                     # they did run at once


def test_concurrent_decode_never_beats_the_hbm_roofline():
    arch = load_arch(REPO / "arch_configs" / "neupims.yaml")
    r = simulate(arch, "gpt3_7b", workload_overrides=["phase=decode", "batch=32", "context=256", "tp=4",
                                                        "layers=2"])
    hbm = next(p for p in r.ports if p.name == "hbm")
    assert r.total_cycles >= hbm.bytes_moved / hbm.bytes_per_cycle
    assert {r.engine for r in r.records} >= {f"sa{i}" for i in range(8)} | {"pim"}


# ---------------------------------------------------------------------------------------------- PIM holds
@pytest.mark.parametrize("system, overlap", [("npu_pim_naive", False), ("neupims", True)])
def test_blocked_pim_and_dma_never_overlap_dual_row_buffers_do(system, overlap):
    arch = load_arch(REPO / "arch_configs" / f"{system}.yaml")
    engines = build_engines(arch)
    gemv = TraceOp(0, "gemv", "gemv", {"B": 64, "M": 1, "N": 4096, "K": 4096}, macs=64 * 4096 * 4096,
                   weight_bytes=64 * 4096 * 4096 * 2)
    pim_cycles = engines["pim"].demand(gemv).cycles
    n_bytes = 8 * 2**20
    bpc = engine_for(arch, engines).ports["hbm"].bytes_per_cycle
    alone = math.ceil(n_bytes / bpc)
    assert alone < pim_cycles                                   # the DMA fits inside the PIM phase
    e = engine_for(arch, engines)
    run(e, [Task("pim", ("pim",), (gemv,)), Task("dma", ("dma",), demand=transfer_demand(n_bytes, alone, ("hbm",)))])
    dma_end = e.end_cycle[1]
    if overlap:
        assert dma_end == alone                                 # ran beside the PIM at full speed
    else:
        assert dma_end >= pim_cycles + alone                    # waited for the banks to stop computing


# ---------------------------------------------------------------------------------------------- sync
def test_a_token_consumer_never_starts_before_the_release():
    """Decoupled instruction streams (FlightLLM's LD / MM queues): each MM waits for its LD's token."""
    tasks = []
    for i in range(3):
        tasks.append(Task(f"ld{i}", ("LD",), demand=single_phase(100 + 50 * i), release=(("loaded", 1),)))
    for i in range(3):
        tasks.append(Task(f"mm{i}", ("MM",), demand=single_phase(30), wait=(("loaded", 1),)))
    e = run(bare_engine(), tasks, pools={"loaded": 0})
    ld_end = list(e.end_cycle[:3])
    mm_start = list(e.start_cycle[3:])
    assert all(s >= end for s, end in zip(mm_start, ld_end))
    assert mm_start == [100, 250, 450]


def test_tokens_never_released_are_a_deadlock_that_names_the_pool():
    with pytest.raises(DeadlockError, match="buffer: needs 4, has 3"):
        run(bare_engine(), [Task("t", ("q",), demand=single_phase(1), wait=(("buffer", 4),))], pools={"buffer": 3})


def test_a_streaming_consumer_starts_with_its_producer_and_ends_after_it():
    producer = Task("weights", ("dma",), demand=single_phase(500))
    consumer = Task("gemm", ("npu",), demand=single_phase(100), after_start=(0,), end_after=(0,))
    e = run(bare_engine(), [producer, consumer])
    assert e.start_cycle[1] == e.start_cycle[0] == 0 and e.end_cycle[1] == 500


def test_ready_first_queues_let_another_stream_go_ahead_of_a_blocked_task():
    def tasks():
        return [Task("a_slow", ("x",), demand=single_phase(100)),
                Task("a_next", ("npu",), demand=single_phase(10), after=(0,)),
                Task("b", ("npu",), demand=single_phase(10))]
    in_order = run(bare_engine(), tasks())
    ready_first = run(bare_engine(), tasks(), ready_first=frozenset({"npu"}))
    assert in_order.start_cycle[2] == 110            # b waited behind a_next, which waited for a_slow
    assert ready_first.start_cycle[2] == 0 and ready_first.end_cycle[1] == 110


def test_kernel_launches_are_tasks_with_their_own_overhead():
    tasks = []
    for i in range(4):
        tasks.append(Task(f"launch{i}", ("host",), demand=single_phase(7), kind="launch"))
        tasks.append(Task(f"kernel{i}", ("npu",), demand=single_phase(20), after=(2 * i,)))
    e = run(bare_engine(), tasks)
    assert e.end_cycle[-1] == 7 + 4 * 20            # launches overlap earlier kernels, the first does not


# ---------------------------------------------------------------------------------------------- gangs, pipelines
def test_a_pipeline_takes_its_first_item_plus_its_slowest_stage_per_item_for_the_rest():
    arch = load_arch(REPO / "arch_configs" / "edge_32x32_os.yaml")
    engines = build_engines(arch)
    gemm = TraceOp(0, "mlp", "gemm", {"B": 1, "M": 256, "N": 64, "K": 64}, macs=256 * 64 * 64,
                   input_bytes=256 * 64, weight_bytes=64 * 64, output_bytes=256 * 64)
    norm = TraceOp(1, "enc", "elementwise", {"elements": 256 * 512}, flops=256 * 512 * 4)
    stages = [engines["npu"].demand(gemm), engines["vector"].demand(norm)]
    e = engine_for(arch, engines)
    run(e, [Task("fused", ("vector", "npu"), (norm, gemm), pipeline_items=64)])
    per_item = [d.cycles / 64 for d in stages]
    assert e.end_cycle[0] >= max(per_item) * 64
    assert e.end_cycle[0] == math.ceil(sum(per_item) + 63 * max(per_item) - 1e-9)
    assert {r.engine for r in e.records} == {"vector", "npu"}


def test_identical_engines_run_every_op_as_shares_at_once():
    arch = load_arch(REPO / "arch_configs" / "neupims.yaml")
    r = simulate(arch, Trace("g", (TraceOp(0, "g", "gemm", {"M": 256, "N": 4096, "K": 4096},
                                           macs=256 * 4096 * 4096, input_bytes=2 * 256 * 4096,
                                           weight_bytes=2 * 4096 * 4096, output_bytes=2 * 256 * 4096),)))
    shares = [x for x in r.records if x.name == "g"]
    assert sorted(x.engine for x in shares) == [f"sa{i}" for i in range(8)]
    assert sum(x.macs for x in shares) == 256 * 4096 * 4096
    assert len({(x.start_cycle, x.end_cycle) for x in shares}) == 1


# ---------------------------------------------------------------------------------------------- a new kind
@pytest.fixture
def toy_kind():
    """A new engine kind, registered here and nowhere else: a MAC engine doing 4 MACs per cycle."""
    from typing import Literal

    from pydantic import Field

    from archsim.config.schema import StrictModel
    from archsim.energy.prices import Price
    from archsim.hw.registry import ComponentKind, register, unregister
    from archsim.hw.shares import split_op

    class ToyParams(StrictModel):
        kind: Literal["toy"]
        macs_per_cycle: int = Field(gt=0)
        dram: str

    class Toy:
        def __init__(self, name, params, arch):
            self.name, self.params, self.clock_ghz = name, params, arch.clock_ghz
            self.peak_macs_per_cycle = params.macs_per_cycle

        def supports(self, op):
            return op.kind == "gemm"

        def demand(self, op, resident=frozenset(), **_):
            moved = op.input_bytes + op.weight_bytes + op.output_bytes
            return single_phase(-(-op.macs // self.params.macs_per_cycle), {self.params.dram: moved},
                                compute_cycles=-(-op.macs // self.params.macs_per_cycle), macs=op.macs,
                                traffic_bytes={f"{self.params.dram}.all.read": float(moved)}, actions={"mac": op.macs})

        def split(self, op, n):
            return split_op(op, n)

    def price(pricer, name, params):
        pricer.book.dynamic[(name, "mac")] = Price(name, "mac", 2.5, "MAC", ("toy",))
        pricer.book.area_um2[name] = 1.0

    kind = register(ComponentKind("toy", "engine", ToyParams, Toy, "toy MAC engine", pricer=price))
    yield kind
    unregister(kind)


def test_a_new_engine_kind_registered_in_one_module_runs_end_to_end_with_energy(toy_kind):
    from archsim.energy import EnergySpec, estimate_energy

    arch = build_arch({"name": "toy", "clock_ghz": 1.0,
                       "engines": {"t": {"kind": "toy", "macs_per_cycle": 4, "dram": "d"},
                                   "v": {"kind": "vector", "lanes": 8, "dram": "d"}},
                       "memories": {"d": {"kind": "dram", "bandwidth_gbps": 1000}}})
    trace = Trace("t", (TraceOp(0, "g", "gemm", {"M": 8, "N": 8, "K": 8}, macs=512, input_bytes=64, weight_bytes=64,
                                output_bytes=64), TraceOp(1, "r", "relu", {"elements": 64}, flops=64, deps=(0,))))
    result = simulate(arch, trace)
    assert [r.engine for r in result.records] == ["t", "v"] and result.records[0].total_cycles == 128
    report = estimate_energy(result, arch, EnergySpec(dram_standard={"d": "DDR4"}))
    toy = report.per_op[(report.per_op.component == "t") & (report.per_op.action == "mac")]
    assert toy.energy_pj.sum() == pytest.approx(2.5 * 512)
    with pytest.raises(Exception, match="engines.t.macs_per_cycle"):
        build_arch({"name": "bad", "clock_ghz": 1.0, "engines": {"t": {"kind": "toy", "macs_per_cycle": 0, "dram": "d"}},
                    "memories": {"d": {"kind": "dram", "bandwidth_gbps": 1}}}, "bad.yaml")

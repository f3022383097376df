"""Serving on the one event engine: KV growth, interleaving, blocked vs dual row buffers, any zoo LLM,
conservation against the lowered decode step, experiments."""
import numpy as np
import pytest

from archsim.config import load_arch
from archsim.errors import ConfigError
from archsim.serving import ServingOptions, load_request_dist, serve
from archsim.serving.state import BatchState
from archsim.workload import load_workload
from archsim.workload.decode import DecodeStep
from tests.conftest import REPO


def arch(name):
    return load_arch(REPO / "arch_configs" / f"{name}.yaml")


@pytest.fixture(scope="module")
def systems():
    return {n: arch(n) for n in ("neupims", "npu_pim_naive", "npu_only", "gpu_a100_40gb")}


def run(system, model="gpt3_7b", **kw):
    opts = dict(batch=64, iterations=2, sim_layers=2, tp=4, warm_up_iterations=200)
    opts.update(kw)
    return serve(system, model, load_request_dist("sharegpt"), ServingOptions(**opts))


def test_ragged_decode_step_equals_the_uniform_lowering_and_sums_per_request():
    step = DecodeStep("llama2_70b", 4, ["tp=8", "layers=1"])
    uniform = load_workload("llama2_70b", ["phase=decode", "batch=4", "context=63", "tp=8", "layers=1"])
    assert step.trace([63] * 4).ops == uniform.ops
    ragged = step.trace([10, 200, 35, 7])
    qk = next(op for op in ragged.ops if op.name.endswith("attn_qk"))
    assert qk.seq_lens == (10, 200, 35, 7) and qk.ragged_dim == "N" and qk.dim("N") == 200
    # GQA: 8 query heads share each KV head (M = 8); one KV head per TP-8 device; head_dim 128
    assert qk.macs == sum(8 * 128 * n for n in (10, 200, 35, 7))
    assert qk.kv_cache_bytes == sum(128 * 2 * n for n in (10, 200, 35, 7))


@pytest.mark.parametrize("model, kv_heads, head_dim, tp", [("llama2_70b", 8, 128, 8), ("mistral_7b", 8, 128, 1),
                                                           ("gpt3_7b", 32, 128, 4), ("mixtral_8x7b", 8, 128, 2)])
def test_gqa_kv_bytes_per_token_and_layer(model, kv_heads, head_dim, tp):
    step = DecodeStep(model, 2, [f"tp={tp}", "layers=1"])
    per_device_heads = max(1, kv_heads // tp)
    assert step.kv_bytes_per_token == 2 * per_device_heads * head_dim * 2      # K and V, fp16


def test_kv_cache_grows_one_token_per_iteration(systems):
    r = run(systems["neupims"], iterations=3)
    step = DecodeStep("gpt3_7b", 64, ["tp=4", "layers=2", "blocks_only=true"])
    per_token = step.kv_bytes_per_token / 2 * 32       # all 32 layers of the device
    dist = load_request_dist("sharegpt")
    st = BatchState(dist, 64, 1, 32, "greedy", np.random.default_rng(0))
    st.warm_up(200)
    expected = []
    for _ in range(3):
        before, remaining = st.context.copy(), st.remaining.copy()
        st.step(np.arange(64))
        live = remaining > 1
        assert (st.context[live] == np.minimum(before[live] + 1, dist.max_seq_len)).all()
        assert st.remaining[live].tolist() == (remaining[live] - 1).tolist()
        expected.append(int(st.context.sum()) * per_token)
    assert r.kv_bytes == expected
    assert r.kv_bytes[0] > 64 * per_token


def test_iterations_tile_the_simulated_time(systems):
    r = run(systems["neupims"], iterations=3)
    it = r.iterations
    assert list(it.start_cycle[1:]) == list(it.end_cycle[:-1]) and it.end_cycle.iloc[-1] == r.result.total_cycles
    assert r.time_ns == pytest.approx(it.ns.sum())


def test_sub_batch_interleaving_faster_when_both_units_busy(systems):
    one = run(systems["neupims"], batch=256, sub_batches=1)
    two = run(systems["neupims"], batch=256, sub_batches=2)
    assert two.tokens_per_s > one.tokens_per_s
    assert two.pim_busy_fraction > 0.1 and two.npu_busy_fraction > 0.5


def test_dual_row_buffers_never_slower_than_blocked(systems):
    for b, sb in ((64, 1), (256, 2)):
        dual = run(systems["neupims"], batch=b, sub_batches=sb, channel_policy="round_robin")
        blocked = run(systems["npu_pim_naive"], batch=b, sub_batches=sb, channel_policy="round_robin")
        assert dual.tokens_per_s >= blocked.tokens_per_s * 0.999
    # with interleaving the weight DMA overlaps attention: blocked PIM stalls it, dual row buffers do not
    assert dual.tokens_per_s > blocked.tokens_per_s * 1.01


def test_pim_beats_npu_only_on_long_contexts(systems):
    assert run(systems["npu_pim_naive"]).tokens_per_s > run(systems["npu_only"]).tokens_per_s


def test_serving_is_deterministic(systems):
    a, b = run(systems["neupims"]), run(systems["neupims"])
    assert a.time_ns == b.time_ns and a.ops.equals(b.ops)


def test_greedy_channel_placement_balances_at_least_as_well_at_admission():
    st = BatchState(load_request_dist("sharegpt"), 128, 1, 32, "greedy", np.random.default_rng(0))
    load = np.bincount(st.channel, weights=st.context, minlength=32)
    assert load.max() <= st.context.sum() / 32 + st.context.max()


@pytest.mark.parametrize("model, tp", [("llama2_7b", 4), ("mixtral_8x7b", 4), ("gpt3_7b", 4)])
@pytest.mark.parametrize("system", ["neupims", "gpu_a100_40gb"])
def test_any_zoo_llm_serves_and_conserves_macs(systems, model, tp, system):
    snap = (np.array([37, 500, 120, 9] * 4), np.arange(16) % 32)
    r = serve(systems[system], model, load_request_dist("sharegpt"),
              ServingOptions(batch=16, iterations=2, tp=tp, sub_batches=2), snapshot=snap)
    step = DecodeStep(model, 16, [f"tp={tp}"])      # MACs are linear in the requests: split or not
    lowered = sum(step.trace(snap[0] + 1 + it).total_macs for it in range(2))
    assert r.result.total_macs == lowered
    assert r.tokens_per_s > 0 and len(r.iterations) == 2


def test_gpu_baseline_runs_every_op_on_the_gpu(systems):
    r = run(systems["gpu_a100_40gb"])
    assert set(r.ops.engine) == {"gpu"} and r.tokens_per_s > 0


def test_partitioner_places_attention_on_pim_only_when_pim_is_cheaper(systems, tmp_path):
    assert run(systems["neupims"]).attention_unit == "pim"
    assert run(systems["npu_only"]).attention_unit == "npu"
    # the same NPU beside a PIM with one bank and one multiplier: attention stays on the arrays
    slow = tmp_path / "slow_pim.yaml"
    slow.write_text(f"extends: {REPO / 'arch_configs' / 'neupims.yaml'}\nname: slow_pim\n"
                    "engines:\n  pim: {channels: 1, banks_per_channel: 1, mac_units_per_bank: 1}\n")
    r = run(load_arch(slow))
    assert r.attention_unit == "npu" and r.pim_macs == 0


def test_snapshot_replay_serves_exactly_the_given_requests(systems):
    ctx = np.array([100, 200, 300, 400] * 16)
    ch = np.arange(64) % 32
    opts = ServingOptions(batch=64, iterations=2, sim_layers=1, tp=4)
    r = serve(systems["neupims"], "gpt3_7b", load_request_dist("sharegpt"), opts, snapshot=(ctx, ch))
    assert r.mean_context == pytest.approx((ctx.mean() + 1 + ctx.mean() + 2) / 2)   # +1: the new token
    per_token = DecodeStep("gpt3_7b", 64, ["tp=4", "layers=1", "blocks_only=true"]).kv_bytes_per_token * 32
    assert r.kv_bytes[0] == (ctx + 1).sum() * per_token
    with pytest.raises(ConfigError, match="snapshot: channels: channel 32 is not"):
        serve(systems["neupims"], "gpt3_7b", load_request_dist("sharegpt"), opts, snapshot=(ctx, ch + 32))


@pytest.mark.parametrize("bad, key", [(dict(batch=0), "batch"), (dict(batch=65, sub_batches=2), "sub_batches"),
                                      (dict(channel_policy="nope"), "channel_policy"),
                                      (dict(sim_layers=0), "sim_layers")])
def test_bad_serving_options_are_located_errors(systems, bad, key):
    with pytest.raises(ConfigError) as err:
        run(systems["neupims"], **bad)
    assert err.value.key_path == key
    with pytest.raises(ConfigError, match=r"s.yaml: serve.bacth: unknown serving option \(did you mean 'batch'"):
        ServingOptions.from_mapping({"bacth": 4}, "s.yaml", "serve.")


def test_neupims_experiment_quick(tmp_path, capsys):
    import experiments.neupims as exp
    assert exp.main(["--quick", "--iterations", "1", "--sim-layers", "1", "--warm-up", "100", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "neupims_headline.csv").exists() and "paper" in capsys.readouterr().out


def test_pim_gpt_experiment_quick(tmp_path, capsys):
    import experiments.pim_gpt as exp
    assert exp.main(["--quick", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "pim_gpt_headline.csv").exists() and "paper" in capsys.readouterr().out

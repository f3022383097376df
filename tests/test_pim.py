"""PIM device model: GEMV timing scales with bank parallelism; blocked vs dual row buffers; configs load."""
import numpy as np
import pytest

import archsim.serving  # noqa: F401  (registers kind: pim / gpu / cpu)
from archsim.config import load_arch
from archsim.errors import ConfigError
from archsim.hw.pim import PimDevice, PimParams


def device(**kw) -> PimDevice:
    base = dict(kind="pim", standard="HBM2_NeuPIMs", channels=1, banks_per_channel=32, mac_units_per_bank=16,
                row_bytes=1024, refresh=False)
    base.update(kw)
    return PimDevice("pim", PimParams(**base))


def test_gemv_cycles_scale_with_rows_over_banks_times_mac_units():
    d = device()
    one = d.run(d.gemv_jobs(32 * 8, 4096, 0)).cycles
    assert d.run(d.gemv_jobs(32 * 16, 4096, 0)).cycles == pytest.approx(2 * one, rel=0.02)
    # twice the banks: half the tiles (each tile's grouped activation takes longer under tFAW)
    wide = device(banks_per_channel=64)
    two = d.run(d.gemv_jobs(32 * 16, 4096, 0))
    wide_cost = wide.run(wide.gemv_jobs(32 * 16, 4096, 0))
    assert wide_cost.counts["precharges"] * 2 == two.counts["precharges"]
    assert wide_cost.cycles < two.cycles
    # twice the MAC units: MAC phase of each tile halves, so strictly faster (activation/precharge remain)
    more_macs = device(mac_units_per_bank=32)
    assert more_macs.run(more_macs.gemv_jobs(32 * 8, 4096, 0)).cycles < one


def test_channels_work_in_parallel():
    d = device(channels=4)
    jobs_one = d.gemv_jobs(np.array([256] * 4), 1024, np.array([0, 0, 0, 0]))
    jobs_spread = d.gemv_jobs(np.array([256] * 4), 1024, np.arange(4))
    assert d.run(jobs_spread).cycles * 4 == pytest.approx(d.run(jobs_one).cycles, rel=0.02)


def test_refresh_adds_time_and_refresh_commands():
    on, off = device(refresh=True), device(refresh=False)
    a, b = on.run(on.gemv_jobs(4096, 4096, 0)), off.run(off.gemv_jobs(4096, 4096, 0))
    assert a.cycles > b.cycles and a.counts["refreshes"] > 0 and b.counts["refreshes"] == 0


def test_one_tile_is_in_neupims_estimator_range():
    # NeuPIMs' own latency estimator: gemv 184 + gwrite 100 cycles per 32-bank x 512-element tile
    d = device()
    assert 100 <= d.run(d.gemv_jobs(32, 512, 0)).cycles <= 300


def test_macs_are_conserved():
    d = device(channels=4)
    assert d.weight_gemv_jobs(1000, 3000).macs == 1000 * 3000
    assert d.run(d.gemv_jobs(np.array([100, 7]), 128, np.array([0, 3]), repeats=3)).macs == 3 * (100 + 7) * 128


@pytest.mark.parametrize("name", ["neupims", "npu_pim_naive", "npu_only", "pim_gpt", "gpu_a100_40gb", "gpu_t4",
                                  "cpu_xeon_gold_6154"])
def test_shipped_configs_load(arch_dir, name):
    load_arch(arch_dir / f"{name}.yaml")


def test_bad_pim_key_names_file_and_key(arch_dir, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(f"extends: {arch_dir / 'neupims.yaml'}\nname: bad\nengines:\n  pim:\n    row_buffers: triple\n")
    with pytest.raises(ConfigError, match="engines.pim.row_buffers"):
        load_arch(f)


def test_host_issue_bounds_a_phase_by_instructions_per_cycle():
    # 32 channels of attention-like work: per-command (Newton) issue sends every MAC command through the
    # host's single issue port, so it is bound by the instruction count; composite issue is not
    kw = dict(channels=32)
    free, comp, newton = (device(host_command_issue=m, **kw) for m in ("unlimited", "composite", "per_command"))
    jobs = free.gemv_jobs(np.full(64, 300), 128, np.arange(64) % 32, repeats=8)
    c_free, c_comp, c_newton = free.run(jobs), comp.run(jobs), newton.run(jobs)
    assert c_free.counts == c_newton.counts                       # same DRAM commands either way
    assert c_free.cycles <= c_comp.cycles <= c_newton.cycles
    per_ch = np.bincount(jobs.channel, weights=jobs.tiles * (1 + jobs.mac_cmds + jobs.readout_bursts) + 1,
                         minlength=32).astype(int)      # GWRITE + per tile: header, MAC commands, results
    n_instr = int(per_ch.sum())
    # per-command issue goes channel after channel: channel c starts once channels 0..c-1's instructions left
    start = np.concatenate([[0], np.cumsum(per_ch)[:-1]])
    assert c_newton.cycles == int((start + c_free.channel_cycles).max()) > n_instr > c_free.cycles
    # composite issue is a bound only: a phase lasts at least its instructions (no MAC commands) at one per cycle
    n_comp = int(np.bincount(jobs.channel, weights=jobs.tiles * (1 + jobs.readout_bursts) + 1).sum())
    assert c_comp.cycles == max(c_free.cycles, n_comp)
    # twice the issue rate halves the channels' start offsets
    fast = device(host_command_issue="per_command", host_issue_per_ns=2.0, **kw)
    assert fast.run(jobs).cycles == int((-(-start // 2) + c_free.channel_cycles).max())


def test_newtonsim_tile_timeline_matches_measured_neupims_tiles():
    # NeuPIMs' NewtonSim, measured on an instrumented run (docs/pim.md): a logit tile (4 heads x 8 COMPs,
    # 4 READRES) takes 197 cycles, an attend tile (1 READRES) 143 whatever its COMP count, a GWRITE 93 more
    from archsim.hw.pim import PimJobs
    d = device(timing_model="newtonsim", ranks=2, refresh=False)

    def jobs(tiles, mac, rd):
        a = np.array
        return PimJobs(a([tiles]), a([mac]), a([8]), a([rd]), a([0]), 0)

    assert d.newtonsim_channel_cycles(jobs(1, 32, 4))[0] == 197 + 93
    assert d.newtonsim_channel_cycles(jobs(10, 32, 4))[0] == 10 * 197 + 93
    assert d.newtonsim_channel_cycles(jobs(4, 20, 1))[0] == d.newtonsim_channel_cycles(jobs(4, 32, 1))[0] == 4 * 143 + 93
    # refresh: one rank-staggered refresh every tREFI / 2 = 1,950 cycles costs ~507
    r = device(timing_model="newtonsim", ranks=2, refresh=True)
    assert r.newtonsim_channel_cycles(jobs(100, 32, 4))[0] == pytest.approx((100 * 197 + 93) / (1 - 507 / 1950), abs=1)
    # Newton (single row buffer, npu+pim branch): every COMP / READRES its own command, tile = 2n + 141
    # (logit tile: 32 COMPs + 4 READRES = 213), a GWRITE reopens the normal row: 14 + 14 + 96 = 124
    newton = device(timing_model="newtonsim", ranks=2, refresh=False, row_buffers="single")
    assert newton.newtonsim_channel_cycles(jobs(1, 32, 4))[0] == 213 + 124
    assert newton.newtonsim_channel_cycles(jobs(3, 6, 1))[0] == 3 * 155 + 124
    # the command counts do not depend on the timing model
    j = d.gemv_jobs(300, 128, 0, repeats=8)
    assert d.run(j).counts == device().run(j).counts

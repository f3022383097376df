"""PIM-GPT (Wu, Wang, Lu; arXiv 2310.09385, npj Unconv. Comput. 2024): token-generation speedup and energy
efficiency over a T4 GPU and a Xeon Gold 6154 CPU on 8 GPT-2/GPT-3 models (batch 1).

archsim runs every GEMV of a generation step (QKV, attention logits over the K cache, attention·V over the
column-major V cache, O-projection, FC1, FC2, LM head) on the PIM device of ``arch_configs/pim_gpt.yaml``
(command-level PIM timing, matrices partitioned over 8 channels × 16 banks, blocked mode: one phase at a
time) and the nonlinear ops (LayerNorm, softmax, GELU, residuals, partial-sum reduction) on the ASIC's
vector lanes. The baselines are the roofline + launch-overhead models of ``gpu_t4.yaml`` and
``cpu_xeon_gold_6154.yaml`` (FP32 weights on the CPU). Latency per token is averaged over contexts 128,
512 and 896 (a 1,024-token generation; the paper's token count is not in the text we have).

Energy: PIM-GPT = DRAM command energies from archsim.energy (DRAMsim3's GDDR6 IDD set, one x16 device per
16-bit channel; an all-bank MAC command = 4 × a read per bank, NeuPIMs' relation in the table) + background power
+ ASIC power (assumed 0.5 W, 28 nm); GPU and CPU = their presets' average power × time.
Paper values are its stated ranges (per-model numbers are only in figures); archsim values are computed.

    PYTHONPATH=. python experiments/pim_gpt.py [--quick]
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import archsim.serving  # noqa: E402,F401  (registers kind: pim / gpu / cpu)
from archsim.config import load_arch  # noqa: E402
from archsim.energy.dram import dram_energy  # noqa: E402
from archsim.energy.table import load_table  # noqa: E402
from archsim.hw.gpu import RooflineProcessor  # noqa: E402
from archsim.hw.pim import PimDevice  # noqa: E402
from archsim.serving.decoder import DecoderShape  # noqa: E402
from archsim.workload import load_workload  # noqa: E402

MODELS = [("GPT2-small", "gpt2"), ("GPT2-medium", "gpt2_medium"), ("GPT2-large", "gpt2_large"),
          ("GPT2-XL", "gpt2_xl"), ("GPT3-small", "gpt3_125m"), ("GPT3-medium", "gpt3_350m"),
          ("GPT3-large", "gpt3_760m"), ("GPT3-XL", "gpt3_1p3b")]
CONTEXTS = (128, 512, 896)
PAPER = {"speedup vs GPU": (41, 137), "speedup vs CPU": (631, 1074),
         "energy eff. vs GPU": (123, 383), "energy eff. vs CPU": (320, 602)}
ASIC_POWER_W = 0.5
FIG = ROOT / "experiments" / "figures"


def vocab_of(model: str) -> int:
    trace = load_workload(model, ["phase=decode", "batch=1", "context=2", "layers=1"])
    return next(op for op in trace.ops if op.name == "lm_head").dim("N")


def pim_token(pim: PimDevice, asic_lanes: int, shape: DecoderShape, vocab: int, context: int):
    """(ns, command counts, MACs) of one token on PIM-GPT at ``context``."""
    ns, counts, macs = 0.0, {}, 0

    def add(cost, times=1):
        nonlocal ns, macs
        ns += times * cost.cycles / pim.clock_ghz
        macs += times * cost.macs
        for k, v in cost.counts.items():
            counts[k] = counts.get(k, 0) + times * v

    for g in shape.gemms:
        add(pim.run(pim.weight_gemv_jobs(g.n, g.k)), shape.layers)
    # attention: heads spread over channels; K row-major (context × d), V column-major (d × context)
    heads = shape.heads
    ch = [h % pim.channels for h in range(heads)]
    add(pim.run(pim.gemv_jobs(context, shape.head_dim, ch)), shape.layers)
    add(pim.run(pim.gemv_jobs(shape.head_dim, context, ch)), shape.layers)
    add(pim.run(pim.weight_gemv_jobs(vocab, shape.hidden)))
    # ASIC: 2 LN (5 ops/elem), softmax (5 ops/score), GELU (8 ops/elem of 4E), 2 residuals, partial sums
    e = shape.hidden
    asic_ops = shape.layers * (2 * 5 * e + 5 * heads * context + 8 * 4 * e + 2 * e + 4 * e) + vocab
    ns += asic_ops / asic_lanes
    return ns, counts, macs


def baseline_token(proc: RooflineProcessor, shape: DecoderShape, vocab: int, context: int, word_bytes: int) -> float:
    """ns of one token on a GPU/CPU roofline: 13 operators per layer + LM head, weights and KV streamed."""
    e, ns = shape.hidden, 0.0
    for g in shape.gemms:
        ns += shape.layers * proc.op_time_ns(2 * g.n * g.k, g.n * g.k * word_bytes)
    kv = 2 * context * e * word_bytes
    ns += shape.layers * (2 * proc.op_time_ns(2 * context * e, kv / 2)        # QK^T, ·V
                          + 7 * proc.op_time_ns(10 * e, 4 * e * word_bytes)     # LN×2, softmax, GELU, add×2, KV cat
                          + proc.op_time_ns(0, 0, launches=0))
    ns += proc.op_time_ns(2 * vocab * e, vocab * e * word_bytes)
    return ns


def pim_energy_j(counts: dict, ns: float, pim: PimDevice) -> float:
    """DRAM command + background + ASIC energy of a token, J."""
    table = load_table()
    de = dram_energy(table.dram_standard("GDDR6", "pim_gpt"))
    mult = table.pim_relation("all_bank_compute")["read_command_multiple"]
    read_cmd_bits = pim.access_bytes * 8     # NeuPIMs: one all-bank compute command = 4 x one read command
    pj = (counts["bank_activations"] * de.activate_pj_per_row_bit * pim.row_bytes * 8
          + counts["mac_cmds"] * mult * de.read_pj_per_bit * read_cmd_bits
          + (counts["readout_bursts"] + counts["gwrite_bursts"]) * de.read_pj_per_bit * pim.access_bytes * 8)
    devices = pim.channels      # the IDD set is per x16 device: one per 16-bit channel (two per GDDR6 chip)
    static_w = devices * (de.background_mw_per_device + de.refresh_mw_per_device) / 1e3 + ASIC_POWER_W
    return pj * 1e-12 + static_w * ns * 1e-9


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="two models (test-suite size)")
    ap.add_argument("--out", default=str(FIG))
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    arch = load_arch(ROOT / "arch_configs" / "pim_gpt.yaml")
    pim = PimDevice("pim", arch.engines["pim"], arch)
    lanes = arch.engines["asic"].lanes
    gpu_p = load_arch(ROOT / "arch_configs" / "gpu_t4.yaml").engines["gpu"]
    cpu_p = load_arch(ROOT / "arch_configs" / "cpu_xeon_gold_6154.yaml").engines["cpu"]
    gpu, cpu = RooflineProcessor("gpu", gpu_p), RooflineProcessor("cpu", cpu_p)
    models = MODELS[:1] + MODELS[3:4] if args.quick else MODELS
    rows = []
    for label, model in models:
        shape = DecoderShape.from_workload(model, 1)
        vocab = vocab_of(model)
        p_ns = p_j = g_ns = c_ns = 0.0
        hits = acts = 0
        for ctx in CONTEXTS:
            ns, counts, _ = pim_token(pim, lanes, shape, vocab, ctx)
            p_ns += ns / len(CONTEXTS)
            p_j += pim_energy_j(counts, ns, pim) / len(CONTEXTS)
            g_ns += baseline_token(gpu, shape, vocab, ctx, 2) / len(CONTEXTS)
            c_ns += baseline_token(cpu, shape, vocab, ctx, 4) / len(CONTEXTS)
        g_j, c_j = g_ns * 1e-9 * gpu_p.board_power_w, c_ns * 1e-9 * cpu_p.board_power_w
        rows.append({"model": label, "params_m": round(shape.layers * shape.layer_weight_bytes / 2 / 1e6),
                     "pim_gpt_us": p_ns / 1e3, "t4_us": g_ns / 1e3, "xeon_us": c_ns / 1e3,
                     "speedup vs GPU": g_ns / p_ns, "speedup vs CPU": c_ns / p_ns,
                     "energy eff. vs GPU": g_j / p_j, "energy eff. vs CPU": c_j / p_j, "pim_gpt_mj": p_j * 1e3})
    print(f"{'model':12s} {'PIM-GPT us':>10s} {'T4 us':>9s} {'Xeon us':>9s} {'xGPU':>7s} {'xCPU':>7s} {'E xGPU':>7s} {'E xCPU':>7s}")
    for r in rows:
        print(f"{r['model']:12s} {r['pim_gpt_us']:10.0f} {r['t4_us']:9.0f} {r['xeon_us']:9.0f} "
              f"{r['speedup vs GPU']:7.1f} {r['speedup vs CPU']:7.1f} {r['energy eff. vs GPU']:7.1f} {r['energy eff. vs CPU']:7.1f}")
    print("\nrange over models         paper           archsim          archsim/paper (min, max)")
    summary = []
    for key, (lo, hi) in PAPER.items():
        vals = [r[key] for r in rows]
        print(f"  {key:20s} {lo:5.0f}-{hi:<5.0f}x   {min(vals):7.1f}-{max(vals):<7.1f}x   {min(vals) / lo:5.2f}, {max(vals) / hi:5.2f}")
        summary.append([key, lo, hi, round(min(vals), 2), round(max(vals), 2)])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "pim_gpt_speedup.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with open(out / "pim_gpt_headline.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["metric", "paper_min", "paper_max", "archsim_min", "archsim_max"])
        w.writerows(summary)
    _plot(rows, out / "pim_gpt_speedup.png")
    print(f"\nwrote {out / 'pim_gpt_speedup.csv'}, {out / 'pim_gpt_headline.csv'}, {out / 'pim_gpt_speedup.png'}"
          f"  ({time.perf_counter() - t0:.1f} s)")
    return 0


def _plot(rows, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4))
    keys = list(PAPER)
    x = range(len(rows))
    for i, k in enumerate(keys):
        ax.bar([j + (i - 1.5) * 0.2 for j in x], [r[k] for r in rows], 0.2, label=k)
        lo, hi = PAPER[k]
        ax.axhspan(lo, hi, alpha=0.05, color=f"C{i}")
    ax.set_yscale("log")
    ax.set_xticks(list(x))
    ax.set_xticklabels([r["model"] for r in rows], rotation=30, fontsize=8)
    ax.set_ylabel("PIM-GPT gain (x); shaded: paper ranges")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())

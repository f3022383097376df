"""PIM-GPT (Wu, Wang, Lu; arXiv 2310.09385, npj Unconv. Comput. 2024): token-generation speedup and energy
efficiency over a T4 GPU and a Xeon Gold 6154 CPU on 8 GPT-2/GPT-3 models (batch 1).

Every system serves one decode token through the same path as any serving run (``archsim.serving.serve`` on
the one event engine): PIM-GPT (``arch_configs/pim_gpt.yaml``) gets every GEMV of the step — QKV, attention
logits and attention·V over the KV cache (PIM-GPT's layout: heads spread over the 8 channels), O-projection,
FC1, FC2, LM head — placed on the PIM by the partitioner (command-level PIM timing, 8 channels × 16 banks,
blocked mode: while the banks compute, nothing else uses GDDR6), and the nonlinear ops (LayerNorm, softmax,
GELU, residuals, KV append) on the ASIC's vector lanes. The baselines are the roofline + launch-overhead models
of ``gpu_t4.yaml`` and ``cpu_xeon_gold_6154.yaml`` (FP32 on the CPU). Latency per token is averaged over
contexts 128, 512 and 896 (a 1,024-token generation; the paper's token count is not in the text we have).

Energy: ``archsim.energy.estimate_energy`` on each run's Result at 28 nm — PIM commands priced from DRAMsim3's
GDDR6 IDD set (an all-bank MAC command = 4 × a read per bank, NeuPIMs' relation in the table), GDDR6
background and refresh, the ASIC's vector lanes from the energy table; GPU and CPU = their presets' board power
× time. Paper values are its stated ranges (per-model numbers are only in figures); archsim values are computed.

    PYTHONPATH=. python experiments/pim_gpt.py [--quick]
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archsim.config import load_arch  # noqa: E402
from archsim.shipped import shipped_dir  # noqa: E402
from archsim.energy import EnergySpec, estimate_energy  # noqa: E402
from archsim.serving import ServingOptions, load_request_dist, serve  # noqa: E402

MODELS = [("GPT2-small", "gpt2"), ("GPT2-medium", "gpt2_medium"), ("GPT2-large", "gpt2_large"),
          ("GPT2-XL", "gpt2_xl"), ("GPT3-small", "gpt3_125m"), ("GPT3-medium", "gpt3_350m"),
          ("GPT3-large", "gpt3_760m"), ("GPT3-XL", "gpt3_1p3b")]
CONTEXTS = (128, 512, 896)
PAPER = {"speedup vs GPU": (41, 137), "speedup vs CPU": (631, 1074),
         "energy eff. vs GPU": (123, 383), "energy eff. vs CPU": (320, 602)}
SYSTEMS = {"PIM-GPT": ("pim_gpt", None), "T4": ("gpu_t4", None), "Xeon": ("cpu_xeon_gold_6154", "fp32")}
ENERGY = {"PIM-GPT": EnergySpec(node_nm=28, vdd_v=0.9, dram_standard={"gddr6": "GDDR6"})}


def token(arch, model: str, context: int, dtype: str | None, spec: EnergySpec | None):
    """(ns, J) of generating one token at ``context`` (the new token included) on ``arch``."""
    opts = ServingOptions(batch=1, iterations=1, dtype=dtype)
    r = serve(arch, model, load_request_dist("sharegpt"), opts, snapshot=(np.array([context - 1]), np.array([0])))
    report = estimate_energy(r.result, arch, spec or EnergySpec())
    return r.time_ns, report.total_pj * 1e-12, r


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="two models (test-suite size)")
    ap.add_argument("--out", default=str(Path("runs") / "reproduce" / "pim_gpt"),
                    help="output directory (default runs/reproduce/pim_gpt; --out experiments/figures regenerates the "
                         "committed figure)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    archs = {name: load_arch(shipped_dir("arch_configs") / f"{stem}.yaml") for name, (stem, _) in SYSTEMS.items()}
    models = MODELS[:1] + MODELS[3:4] if args.quick else MODELS
    rows = []
    for label, model in models:
        ns = {s: 0.0 for s in SYSTEMS}
        joules = {s: 0.0 for s in SYSTEMS}
        for ctx in CONTEXTS:
            for name, (_, dtype) in SYSTEMS.items():
                t, j, r = token(archs[name], model, ctx, dtype, ENERGY.get(name))
                ns[name] += t / len(CONTEXTS)
                joules[name] += j / len(CONTEXTS)
                if name == "PIM-GPT" and ctx == CONTEXTS[0]:
                    on_pim = r.pim_macs / max(1, r.result.total_macs)
        rows.append({"model": label, "pim_gpt_us": ns["PIM-GPT"] / 1e3, "t4_us": ns["T4"] / 1e3,
                     "xeon_us": ns["Xeon"] / 1e3, "speedup vs GPU": ns["T4"] / ns["PIM-GPT"],
                     "speedup vs CPU": ns["Xeon"] / ns["PIM-GPT"],
                     "energy eff. vs GPU": joules["T4"] / joules["PIM-GPT"],
                     "energy eff. vs CPU": joules["Xeon"] / joules["PIM-GPT"], "pim_gpt_mj": joules["PIM-GPT"] * 1e3,
                     "macs_on_pim": on_pim})
    print(f"{'model':12s} {'PIM-GPT us':>10s} {'T4 us':>9s} {'Xeon us':>9s} {'xGPU':>7s} {'xCPU':>7s} {'E xGPU':>7s} "
          f"{'E xCPU':>7s} {'MACs on PIM':>12s}")
    for r in rows:
        print(f"{r['model']:12s} {r['pim_gpt_us']:10.0f} {r['t4_us']:9.0f} {r['xeon_us']:9.0f} "
              f"{r['speedup vs GPU']:7.1f} {r['speedup vs CPU']:7.1f} {r['energy eff. vs GPU']:7.1f} "
              f"{r['energy eff. vs CPU']:7.1f} {r['macs_on_pim']:12.1%}")
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

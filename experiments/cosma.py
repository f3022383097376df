"""COSMA (Li, Gupta, Malik; arXiv 2311.18246): non-compulsory off-chip traffic, ILP vs heuristics.

For CNN and transformer zoo models (int8 activations, COSMA's activation-only setting) and a NAS-like
cell network, at the paper's three scratchpad budgets M_R (largest op footprint), M_H = (M_R + M_P)/2 and
M_P (minimum peak footprint), this prints the non-compulsory off-chip bytes (spills + reloads) of

* the paper's four baselines: TFLite's arena allocator (best fit) x {trace ("default") order, MPMF order} x
  {Belady, ILP-based greedy replacement (``least_cost``)}, and the best of all twelve {order} x {Belady, LRU,
  least cost} x {first, best fit} combinations;
* divide-and-conquer (ILP on segments) and the full COSMA ILP (HiGHS; status, gap and solve time),
  the ILP seeded with the better of the greedy and divide-and-conquer plans;

and the ILP's reduction against each baseline, beside the paper's figures. The paper gives per-network
results only as bar charts, so the *expected* values are its stated aggregates: an average 84% reduction
at M_R on human-designed DNNs, 85% with divide-and-conquer on NAS graphs, and zero non-compulsory
traffic for COSMA at M_P. archsim values are always computed. Writes
``cosma_traffic.csv`` and ``cosma_traffic.png`` in --out (default runs/reproduce/cosma).

    PYTHONPATH=. python experiments/cosma.py [--quick] [--time-limit-s 20]
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archsim.mapping.budgets import budgets  # noqa: E402
from archsim.mapping.cosma import cosma_plan  # noqa: E402
from archsim.mapping.divide import divide_and_conquer_plan  # noqa: E402
from archsim.mapping.greedy import FITS, POLICIES, greedy_plan  # noqa: E402
from archsim.mapping.synthetic import nas_cell_trace  # noqa: E402
from archsim.mapping.tensors import tensor_view  # noqa: E402

#: (label, zoo name, overrides, family). int8 everywhere, as in the paper.
MODELS = [
    ("ResNet-18", "resnet18", [], "cnn"),
    ("ResNet-50", "resnet50", [], "cnn"),
    ("MobileNetV2", "mobilenet_v2", [], "cnn"),
    ("VGG-16", "vgg16", [], "cnn"),
    ("YOLOv3-tiny", "yolov3_tiny", [], "cnn"),
    ("BERT-base s128", "bert_base", ["seq_len=128", "dtype=int8"], "transformer"),
    ("ViT-B/16", "vit_b16", ["dtype=int8"], "transformer"),
    ("GPT-2 s128", "gpt2", ["seq_len=128", "dtype=int8"], "transformer"),
]
NAS = [("NAS cells x8 (synthetic)", 0, 8)]
QUICK = {"ResNet-50", "MobileNetV2", "BERT-base s128", "ViT-B/16"}

#: What the paper states (abstract and §V-B, via papers_setups.md); per-network bars are not in text form.
PAPER = {
    "M_R": "avg -84% vs existing methods (human-designed); -85% D&C (NAS)",
    "M_H": "COSMA <= every baseline",
    "M_P": "COSMA = 0; baselines > 0 except FCN",
}
#: The paper's four baselines (§V-A2): TFLite's arena allocator (best fit) x {default, MPMF order} x
#: {Belady, ILP-based greedy replacement (``least_cost``)}; LRU is shown too.
BASELINES = ("belady_default", "belady_mpmf", "least_cost_default", "least_cost_mpmf")
ARENA_FIT = "best"


def evaluate(label: str, family: str, view, time_limit_s: float, segment_ops: int) -> list[dict]:
    """Rows (one per budget) of non-compulsory bytes for every method on ``view``."""
    b = budgets(view, time_limit_s=min(time_limit_s, 10.0))
    orders = {"default": tuple(view.op_ids), "mpmf": b.mpmf_order}
    rows = []
    for budget, capacity in (("M_R", b.m_r), ("M_H", b.m_h), ("M_P", b.m_p)):
        row = {"model": label, "family": family, "ops": len(view.op_ids), "budget": budget,
               "capacity_bytes": capacity, "m_p_proven": b.m_p_optimal,
               "compulsory_bytes": view.compulsory_load_bytes + view.compulsory_store_bytes}
        best = None
        for order_name, order in orders.items():
            for policy in POLICIES:
                for fit in FITS:
                    nc = greedy_plan(view, order, capacity, policy, fit).traffic.non_compulsory
                    if fit == ARENA_FIT:
                        row[f"{policy}_{order_name}"] = nc
                    best = nc if best is None else min(best, nc)
        row["best_baseline"] = best
        t0 = time.perf_counter()
        dc = divide_and_conquer_plan(view, capacity, segment_ops, time_limit_s)
        row["dc"], row["dc_s"] = dc.traffic.non_compulsory, round(time.perf_counter() - t0, 3)
        ilp = cosma_plan(view, capacity, time_limit_s, seed=dc)
        row["ilp"], row["ilp_status"], row["ilp_s"] = ilp.traffic.non_compulsory, ilp.info.status, round(ilp.info.seconds, 3)
        row["ilp_gap"] = ilp.info.gap
        row["paper_expected"] = PAPER[budget]
        rows.append(row)
    return rows


def reduction(ours: float, base: float) -> float | None:
    """Fraction of ``base``'s non-compulsory bytes that ``ours`` removes (None when base is 0)."""
    return None if base == 0 else 1.0 - ours / base


def print_table(rows: list[dict]) -> None:
    mb = lambda x: f"{x / 1e6:8.3f}"  # noqa: E731
    head = (f"{'model':26s} {'bud':3s} {'cap MB':>7s} | {'bel-def':>8s} {'bel-mpmf':>8s} {'lc-def':>8s} "
            f"{'best-bl':>8s} | {'D&C':>8s} {'ILP':>8s} {'status':>10s} {'ILP s':>6s} | {'-% vs best':>10s} "
            f"{'-% vs bel':>9s} | paper (expected)")
    print("Non-compulsory off-chip traffic (MB = 1e6 bytes), int8 activations, activation-only tensors")
    print(head)
    print("-" * len(head))
    for r in rows:
        red_best = reduction(r["ilp"], r["best_baseline"])
        red_bel = reduction(r["ilp"], r["belady_default"])
        fmt = lambda x: "      n/a" if x is None else f"{100 * x:9.1f}"  # noqa: E731
        print(f"{r['model']:26s} {r['budget']:3s} {r['capacity_bytes'] / 1e6:7.3f} | {mb(r['belady_default'])} "
              f"{mb(r['belady_mpmf'])} {mb(r['least_cost_default'])} {mb(r['best_baseline'])} | {mb(r['dc'])} "
              f"{mb(r['ilp'])} {r['ilp_status']:>10s} {r['ilp_s']:6.2f} | {fmt(red_best)} {fmt(red_bel)} | "
              f"{r['paper_expected']}")


def print_summary(rows: list[dict]) -> None:
    print("\nAverages at M_R over networks where the baseline spills (paper: 84% human-designed, 85% NAS w/ D&C)")
    for family in ("cnn", "transformer", "nas"):
        fam = [r for r in rows if r["family"] == family and r["budget"] == "M_R"]
        for base in (*BASELINES, "best_baseline"):
            mean = mean_reduction(rows, (family,), base, method="dc" if family == "nas" else "ilp")
            spilled = sum(r[base] > 0 for r in fam)
            if mean is not None:
                print(f"  {family:11s} vs {base:15s}: {100 * mean:5.1f}% fewer non-compulsory "
                      f"bytes ({spilled} networks)")
    at_mp = [r for r in rows if r["budget"] == "M_P"]
    print(f"  ILP at M_P: {sum(r['ilp'] == 0 for r in at_mp)}/{len(at_mp)} networks with zero non-compulsory "
          f"traffic (paper: all); baselines with traffic > 0 at M_P: "
          f"{sum(r['best_baseline'] > 0 for r in at_mp)}/{len(at_mp)} (best of 12), "
          f"{sum(r['belady_default'] > 0 for r in at_mp)}/{len(at_mp)} (Belady, trace order)")
    worse = [r for r in rows if r["ilp"] > r["best_baseline"]]
    print(f"  ILP worse than the best baseline: {len(worse)} of {len(rows)} cases")
    both = [r for r in rows if r["ilp_status"] == "optimal" and r["ilp"] > 0]
    if both:
        excess = [r["dc"] / r["ilp"] - 1 for r in both]
        print(f"  D&C vs proven-optimal ILP (where ILP > 0): mean +{100 * sum(excess) / len(excess):.1f}%, "
              f"max +{100 * max(excess):.1f}% ({len(both)} cases)")
    solved = [r["ilp_s"] for r in rows if r["ilp_status"] == "optimal"]
    if solved:
        print(f"  ILP solve time (proven optimal cases): mean {sum(solved) / len(solved):.2f} s, max {max(solved):.2f} s "
              f"(paper: 0.296 s average with Gurobi)")


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = [("belady_default", "Belady (default order)"), ("belady_mpmf", "Belady (MPMF order)"),
               ("least_cost_default", "ILP-greedy (default order)"), ("best_baseline", "best of 12 baselines"),
               ("dc", "divide & conquer"), ("ilp", "COSMA ILP")]
    budgets_ = ["M_R", "M_H"]
    fig, axes = plt.subplots(len(budgets_), 1, figsize=(12, 7), sharex=True)
    models = list(dict.fromkeys(r["model"] for r in rows))
    width = 0.8 / len(methods)
    for ax, budget in zip(axes, budgets_):
        sel = {r["model"]: r for r in rows if r["budget"] == budget}
        for k, (key, name) in enumerate(methods):
            ax.bar([i + k * width for i in range(len(models))], [sel[m][key] / 1e6 for m in models], width, label=name)
        ax.set_ylabel(f"non-compulsory MB at {budget}")
        ax.set_yscale("symlog", linthresh=0.1)
    axes[-1].set_xticks([i + 0.4 - width / 2 for i in range(len(models))], models, rotation=20, ha="right")
    axes[0].legend(ncol=3, fontsize=8)
    axes[0].set_title("COSMA reproduction: non-compulsory off-chip traffic (int8, activations only)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def evaluate_all(quick: bool, time_limit_s: float, segment_ops: int, log=lambda msg: None) -> list[dict]:
    """``evaluate`` over the zoo networks (``quick``: four of them) and, in full, the NAS cell network."""
    from archsim.workload import load_workload

    t0 = time.perf_counter()
    rows = []
    for label, name, overrides, family in MODELS:
        if quick and label not in QUICK:
            continue
        rows += evaluate(label, family, tensor_view(load_workload(name, overrides)), time_limit_s, segment_ops)
        log(f"  … {label} done ({time.perf_counter() - t0:.0f} s)")
    if not quick:
        for label, seed, cells in NAS:
            rows += evaluate(label, "nas", tensor_view(nas_cell_trace(seed, cells)), time_limit_s, segment_ops)
            log(f"  … {label} done ({time.perf_counter() - t0:.0f} s)")
    return rows


def mean_reduction(rows: list[dict], families: tuple[str, ...], base: str, method: str = "ilp") -> float | None:
    """Mean over the networks of ``families`` at M_R of the fraction of ``base``'s non-compulsory bytes ``method``
    removes (networks where the baseline does not spill are left out); None when none spills."""
    reds = [reduction(r[method], r[base]) for r in rows if r["family"] in families and r["budget"] == "M_R"]
    reds = [x for x in reds if x is not None]
    return sum(reds) / len(reds) if reds else None


def gap_notes(rows: list[dict]) -> dict[str, str]:
    """Why each validation row may differ from the paper, with the evidence computed from ``rows``."""
    notes = {"human": "the zoo's networks are not the paper's ten (no DenseNet/ResNeXt/R(2+1)D/S3D/FCN/L-RASPP/"
                      "DeepLabV3 definitions); on the zoo CNNs M_R = M_P, so every baseline spill is avoidable and "
                      "the ILP removes all of it"}
    nas = {r["budget"]: r for r in rows if r["family"] == "nas"}
    if nas:
        m_r, m_p = nas["M_R"]["capacity_bytes"], nas["M_P"]["capacity_bytes"]
        notes["nas"] = (f"synthetic NAS cells (archsim/mapping/synthetic.py, {nas['M_R']['ops']} ops), not PNASNet/"
                        f"AmoebaNet/NASNet/DARTS; its M_R ({m_r:,} B) is below its minimum peak footprint M_P "
                        f"({m_p:,} B), so some spill at M_R cannot be avoided (the paper does not give its graphs' M_R/M_P): "
                        f"D&C {nas['M_R']['dc']:,} B vs the best baseline {nas['M_R']['best_baseline']:,} B")
    left = [r for r in rows if r["budget"] == "M_P" and r["ilp"] > 0]
    if left:
        notes["m_p"] = "; ".join(f"{r['model']}: ILP {r['ilp_status']} after {r['ilp_s']:.0f} s "
                                 f"({r['ilp']:,} B left)" for r in left)
    return notes


def validation_checks(quick: bool):
    """Rows for ``archsim validate-all``: the paper's M_R average reductions and COSMA's zero traffic at M_P."""
    from archsim.report.validation import Check

    t0 = time.perf_counter()
    rows = evaluate_all(quick, 20.0, 15)
    wall = time.perf_counter() - t0
    nets = sorted({r["model"] for r in rows})
    case = f"{len(nets)} networks" + (" (quick subset)" if quick else "")
    src = "Li, Gupta, Malik, arXiv 2311.18246, abstract / Sec. V-B"
    checks = []
    notes = gap_notes(rows)
    means = [mean_reduction(rows, ("cnn", "transformer"), base) for base in BASELINES]
    if any(m is not None for m in means):
        human = sum(m for m in means if m is not None) / sum(m is not None for m in means)
        checks.append(Check("COSMA (paper)", case, "M_R: mean % of non-compulsory traffic removed vs the four "
                            "baselines, human-designed", 84.0, src, 100 * human, 20.0,
                            explanation=notes["human"], wall_s=wall / 3,
                            load_dependent=any(r["ilp_status"] != "optimal" for r in rows
                                               if r["family"] != "nas" and r["budget"] == "M_R")))
    nas_means = [m for m in (mean_reduction(rows, ("nas",), base, method="dc") for base in BASELINES) if m is not None]
    if nas_means:
        nas = sum(nas_means) / len(nas_means)
        checks.append(Check("COSMA (paper)", case, "M_R: mean % removed vs the four baselines, NAS graphs, "
                            "divide-and-conquer",
                            85.0, src, 100 * nas, 20.0, explanation=notes.get("nas", ""), wall_s=wall / 3,
                            load_dependent=True))
    at_mp = [r for r in rows if r["budget"] == "M_P"]
    checks.append(Check("COSMA (paper)", case, "M_P: networks where COSMA has zero non-compulsory traffic",
                        len(at_mp), src, sum(r["ilp"] == 0 for r in at_mp), 0.0, explanation=notes.get("m_p", ""),
                        wall_s=wall / 3, load_dependent=any(r["ilp_status"] != "optimal" for r in at_mp)))
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="four networks only")
    parser.add_argument("--time-limit-s", type=float, default=20.0, help="ILP time limit per instance (s)")
    parser.add_argument("--segment-ops", type=int, default=15, help="divide-and-conquer segment length")
    parser.add_argument("--out", default=str(Path("runs") / "reproduce" / "cosma"),
                        help="output directory (default runs/reproduce/cosma; --out experiments/figures regenerates "
                             "the committed figure)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    rows = evaluate_all(args.quick, args.time_limit_s, args.segment_ops,
                        log=lambda msg: print(msg, file=sys.stderr))
    print_table(rows)
    print_summary(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "cosma_traffic.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, out / "cosma_traffic.png")
    print(f"\nwrote {out / 'cosma_traffic.csv'} and {out / 'cosma_traffic.png'} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""FlightLLM (Zeng et al., FPGA'24): LLaMA2-7B on FPGAs vs GPUs, paper vs archsim.

For the paper's [prefill, decode] cases (batch 1) this prints and writes (CSV + PNG):

* latency and decode throughput of FlightLLM on the Versal VHK158 and the Alveo U280 — archsim's own
  compiler lowers each length bucket (decode every 16 tokens, prefill every 128) into instruction streams
  that run on the one event engine (``archsim.mapping.fpga_compile`` / ``fpga_streams``) — and of the GPU
  baselines (V100S, A100-80GB: archsim's roofline ``kind: gpu``, its efficiency fitted to the *measured* vLLM
  and HuggingFace runs of the FlightLLM artifact's README, never to the paper's ratios);
* energy and cost efficiency of the U280 vs V100S and A100 (paper: 6.0x / 1.8x vs V100S, 4.2x / 1.4x vs A100);
* HBM bandwidth utilisation of U280 decode with and without always-on-chip decode (paper Tab 5: 35.6% -> 65.9%);
* the configurable sparse DSP chain's computation efficiency over a fixed dense chain (paper: 1.6x);
* VHK158 vs A100 throughput (paper: 1.2x; the artifact's own example: 1.10x decode, 1.02x total);
* archsim vs the artifact's profiler goldens (tests/fixtures/flightllm) for the VHK158.

Every assumed value is printed under "assumptions". ``--quick`` (test-suite size) simulates a 2-layer model
and decode buckets every 256 tokens (linear in between); the full run simulates every bucket of all 32
layers (about 5 minutes on this machine).

    PYTHONPATH=. python experiments/flightllm.py [--quick] [--out DIR]
"""
from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from dataclasses import dataclass
from types import SimpleNamespace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archsim.config import load_arch  # noqa: E402
from archsim.hw.fpga import dsp_chain_tile  # noqa: E402
from archsim.hw.fpga import MODULES, CompileOptions  # noqa: E402
from archsim.mapping.flightllm import map_flightllm  # noqa: E402
from archsim.mapping.fpga_compile import bucket  # noqa: E402
from archsim.sim.run import build_engines, simulate  # noqa: E402
from archsim.workload import load_workload  # noqa: E402

CASES = [(128, 512), (128, 1024), (128, 1536), (512, 512), (512, 1024), (512, 1536)]
CONFIGS = ROOT / "arch_configs"
FIX = ROOT / "tests" / "fixtures" / "flightllm"

#: The paper's headline numbers (abstract, §1, Tab 5).
PAPER = {
    "energy vs V100S": 6.0, "cost vs V100S": 1.8, "energy vs A100": 4.2, "cost vs A100": 1.4,
    "VHK158 / A100 throughput": 1.2, "DSP-chain efficiency gain": 1.6,
    "BW util without on-chip decode": 0.356, "BW util with on-chip decode": 0.659,
}

#: The artifact README's example output (profile/README.md), ms: measured GPU (A100-80GB: vLLM 0.1.7 FP16 =
#: "opt", HuggingFace PyTorch = "naive") and the artifact's VHK158 profiler. Used to fit the GPU model (opt and
#: naive [128, 512] only) and printed as reference values.
ARTIFACT = {
    (128, 512): dict(naive_prefill=26.1, naive_total=11343.0, opt_prefill=17.6, opt_total=5744.6, vhk_total=5236.3),
    (128, 1024): dict(naive_prefill=23.3, naive_total=22650.9, opt_prefill=15.5, opt_total=11660.7, vhk_total=10608.4),
    (128, 1536): dict(naive_total=34219.9, opt_total=17577.2, vhk_total=16393.0),
    (512, 512): dict(naive_total=11443.9, opt_total=5920.1, vhk_total=6450.5),
    (512, 1024): dict(naive_total=23276.3, opt_total=11940.2, vhk_total=12131.9),
    (512, 1536): dict(naive_total=35180.6, opt_total=17667.7, vhk_total=18225.7),
}

#: Board power and price: assumptions, each with its source.
POWER_W = {"U280": (45.0, "paper Fig 1 (~45 W, xbutil)"),
           "VHK158": (75.0, "ASSUMED: no VHK158 power is published"),
           "V100S": (250.0, "ASSUMED = TDP (datasheet); the paper measured with nvprof, values not recovered"),
           "A100": (400.0, "ASSUMED = TDP of the A100-80GB SXM (datasheet)")}
PRICE_USD = {"U280": (8000.0, "secondary source (reference B.2); the 1.8x implies ~$8.1K"),
             "VHK158": (13000.0, "ASSUMED: no list price recovered"),
             "V100S": (12000.0, "secondary source (reference B.2)"),
             "A100": (17000.0, "secondary source (reference B.2)")}


def geomean(xs):
    xs = list(xs)
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def decode_contexts() -> list[int]:
    """Every decode bucket the cases touch (the attention length of step i of a case is P + i + 1)."""
    return sorted({bucket(p + i + 1, 16) for p, d in CASES for i in range(d)})


def interpolate(points: dict[int, float], x: int) -> float:
    """``points`` at ``x`` (linear between the nearest simulated buckets)."""
    if x in points:
        return points[x]
    xs = sorted(points)
    lo = max([k for k in xs if k <= x], default=xs[0])
    hi = min([k for k in xs if k >= x], default=xs[-1])
    if lo == hi:
        return points[lo]
    return points[lo] + (points[hi] - points[lo]) * (x - lo) / (hi - lo)


def case_seconds(prefill: dict[int, float], decode: dict[int, float], p: int, d: int) -> tuple[float, float]:
    """(prefill, decode) seconds of case [p, d]: the prefill bucket plus every decode step's bucket."""
    return prefill[bucket(p, 128)], sum(interpolate(decode, bucket(p + i + 1, 16)) for i in range(d))


@dataclass(frozen=True)
class FpgaRun:
    """One compiled program's run: seconds, HBM bytes, HBM bandwidth utilisation, busy seconds and instructions
    per module."""

    total_s: float
    hbm_bytes: float
    bandwidth_utilization: float
    busy_s: dict
    instructions: dict


class Fpga:
    """One FPGA configuration: its ``flightllm`` mapper (FlightLLM's compiler, what ``archsim run`` uses) per
    length bucket, each program run on the one event engine (``simulate``'s path: ``FlightLlmProgram.run``)."""

    def __init__(self, name: str, path: Path, layers: int | None, masks=None, model: str = "llama2_7b"):
        self.arch, self.model = load_arch(path), model
        self.masks = masks
        self.name, self.params_name = name, "flightllm"
        self.params = self.arch.engines[self.params_name]
        self.engines = build_engines(self.arch)
        self.options, self.layers = self.params.compiler, layers

    def _over(self):
        return [f"layers={self.layers}"] if self.layers else []

    def run(self, trace, options: CompileOptions | None = None, masks=None) -> FpgaRun:
        program = map_flightllm(trace, self.engines, options, masks)
        result = program.run(self.arch)
        hbm = next(p for p in result.ports if p.name == f"{self.params_name}.hbm")
        seconds = result.latency_ms / 1e3
        busy = {q.rsplit(".", 1)[1]: c / (self.arch.clock_ghz * 1e9) for q, c in result.engine_busy_cycles.items()}
        return FpgaRun(seconds, hbm.bytes_moved, hbm.bytes_moved / (seconds * hbm.bytes_per_cycle * self.arch.clock_ghz * 1e9),
                       busy, program.module_counts())

    def decode(self, context: int, options: CompileOptions | None = None) -> FpgaRun:
        return self.run(load_workload(self.model, ["phase=decode", "batch=1", f"context={context}", *self._over()]),
                        options)

    def prefill(self, tokens: int) -> FpgaRun:
        return self.run(load_workload(self.model, ["phase=prefill", "batch=1", f"seq_len={tokens}", *self._over()]),
                        masks=self.masks)


class Gpu:
    """A GPU baseline: archsim's roofline GPU kind with a fitted framework efficiency."""

    def __init__(self, path: Path, layers: int | None, model: str = "llama2_7b"):
        self.path, self.layers, self.model = path, layers, model

    def seconds(self, phase: str, length: int, dtype: str, efficiency: float, launch_us: float) -> float:
        arch = load_arch(self.path, [f"engines.gpu.memory_efficiency={efficiency}",
                                     f"engines.gpu.kernel_launch_us={launch_us}"])
        key = "context" if phase == "decode" else "seq_len"
        over = ["batch=1", f"phase={phase}", f"{key}={length}", f"dtype={dtype}"]
        if self.layers:
            over.append(f"layers={self.layers}")
        t = load_workload(self.model, over)
        return simulate(arch, t).latency_ms / 1e3

    def ops_per_step(self) -> int:
        over = ["batch=1", "phase=decode", "context=512"] + ([f"layers={self.layers}"] if self.layers else [])
        return len(load_workload(self.model, over).ops)


def fit_gpu(gpu: Gpu, contexts: list[int], scale: float) -> tuple[float, float, list[str]]:
    """The A100-80GB's vLLM memory efficiency and HuggingFace per-kernel overhead fitted to the artifact
    README's measured [128, 512] decode (opt 5,744.6 - 17.6 ms, naive 11,343.0 - 26.1 ms)."""
    steps = [bucket(128 + i + 1, 16) for i in range(512)]
    ideal = {c: gpu.seconds("decode", c, "fp16", 1.0, 0.0) for c in contexts}
    model_ideal = sum(interpolate(ideal, c) for c in steps)
    opt_measured = (ARTIFACT[(128, 512)]["opt_total"] - ARTIFACT[(128, 512)]["opt_prefill"]) / 1e3 * scale
    eff = min(1.0, model_ideal / opt_measured)
    naive_measured = (ARTIFACT[(128, 512)]["naive_total"] - ARTIFACT[(128, 512)]["naive_prefill"]) / 1e3 * scale
    launch_us = max(0.0, (naive_measured - opt_measured) / (512 * gpu.ops_per_step()) * 1e6)
    notes = [f"A100-80GB vLLM FP16 decode memory efficiency fitted to the artifact's measured 5,727.0 ms "
             f"([128,512]): {eff:.3f} of 2,039 GB/s",
             f"HuggingFace (naive) per-operator overhead fitted to the measured 11,316.9 ms: {launch_us:.1f} us x "
             f"{gpu.ops_per_step()} ops per step"]
    return eff, launch_us, notes


def chain_gain(path: Path, densities: dict[str, float], tokens: int = 128) -> float:
    """Computation efficiency (useful MACs per DSP slot) of the configurable sparse chain over a fixed dense
    chain on LLaMA2-7B's projections of a ``tokens`` prefill tile, weighted by MACs."""
    p = load_arch(path).engines["flightllm"]
    import numpy as np

    shapes = {"q_proj": (4096, 4096), "k_proj": (4096, 4096), "v_proj": (4096, 4096), "o_proj": (4096, 4096),
              "gate_proj": (4096, 11008), "up_proj": (4096, 11008), "down_proj": (11008, 4096)}
    used = {True: 0.0, False: 0.0}
    slots = {True: 0.0, False: 0.0}
    for name, (k, n) in shapes.items():
        nnz = np.full(16, int(round(k * densities.get(name, 1.0))), dtype=np.int64)
        reps = n // 16
        for conf in (True, False):
            t = dsp_chain_tile("spmm", min(tokens, 128), k, 16, p.device, p.design, nnz_cols=nnz, configurable=conf)
            used[conf] += t.useful_macs * reps
            slots[conf] += t.cycles * t.dsps * t.pack * reps
    return (used[True] / slots[True]) / (used[False] / slots[False])


def evaluate(quick: bool, artifact_masks: str | None = None, with_opt: bool = True):
    """Everything the experiment computes: FPGA and GPU series per case, the headline ratios (``ours``), the
    bandwidth-utilisation ablation (``bw``), the DSP-chain gains, the FPGA models, the assumptions."""
    t0 = time.perf_counter()
    layers = 2 if quick else None
    scale = (2 * 14 + 3) / (32 * 14 + 3) if quick else 1.0     # measured GPU times scaled to the ops simulated
    contexts = decode_contexts()
    if quick:
        contexts = sorted({c for c in contexts if c % 256 == 0} | {contexts[0], contexts[-1]})
    assumptions = [
        "VHK158 and U280 streams are compiled by the flightllm mapper (what `archsim run` uses) with the configs' "
        "compiler: block = the artifact's setting (INT4 weights, q/k at N:M density 0.7, biases on q/k/v/o, KV "
        "re-read on append, its tile over-fetch)",
        "artifact 'correction factor' 3.2 = cores x core_parallel_efficiency: VHK158 4 x 0.8; U280 3 x 0.8 "
        "(ASSUMED for the U280)",
        "VHK158 HBM: 819.2 GiB/s as the artifact counts it (27.49e9 B/s per channel); U280 HBM 14.375e9 B/s per "
        "channel (UG1393); efficiencies 0.70 same-channel / 0.35 cross-channel (artifact; ASSUMED for U280)",
        "V100S framework efficiency = the A100-80GB fit (ASSUMED: no measured V100S data in reach)",
        "GPU-opt series: vLLM FP16 (the artifact's GPU-opt, measured); '+SQ' variants model the paper's W8A8 "
        "SmoothQuant as the INT8 trace at the same efficiency (ASSUMED)",
        "prefill attention layouts: " + ("the artifact's sparse ones (--artifact-masks)" if artifact_masks
                                         else "dense causal (the artifact's sparse layouts are its data, not "
                                              "shipped; --artifact-masks DIR uses them)"),
    ] + [f"power {k}: {v} W ({s})" for k, (v, s) in POWER_W.items()] + \
        [f"price {k}: ${v:,.0f} ({s})" for k, (v, s) in PRICE_USD.items()]
    if quick:
        assumptions.append("QUICK: 2 of 32 decoder layers simulated (absolute times are not LLaMA2-7B's)")

    # ---------------------------------------------------------------- FPGAs
    masks = None
    if artifact_masks:
        from archsim.mapping.fpga_compile import read_artifact_masks
        masks = read_artifact_masks(artifact_masks, layers or 32)
    fpgas = {"VHK158": Fpga("VHK158", CONFIGS / "vhk158_flightllm.yaml", layers, masks),
             "U280": Fpga("U280", CONFIGS / "u280_flightllm.yaml", layers, masks)}
    fpga_prefill, fpga_decode, fpga_util = {}, {}, {}
    for name, f in fpgas.items():
        fpga_prefill[name] = {p: f.prefill(p).total_s for p in sorted({bucket(p, 128) for p, _ in CASES})}
        runs = {c: f.decode(c) for c in contexts}
        fpga_decode[name] = {c: r.total_s for c, r in runs.items()}
        fpga_util[name] = {c: r.bandwidth_utilization for c, r in runs.items()}
        print(f"[{time.perf_counter() - t0:6.1f} s] {name}: {len(contexts)} decode buckets, "
              f"{len(fpga_prefill[name])} prefill buckets simulated")

    # ---------------------------------------------------------------- GPUs
    a100 = Gpu(CONFIGS / "gpu_a100_80gb.yaml", layers)
    v100s = Gpu(CONFIGS / "gpu_v100s.yaml", layers)
    gpu_ctx = sorted({c for c in contexts if c % 128 == 0} | {contexts[0], contexts[-1]})
    eff, launch_us, fit_notes = fit_gpu(a100, gpu_ctx, scale)
    series = {}          # name -> (prefill dict, decode dict, board)
    for label, gpu, board, dtype, launch in (("A100-naive", a100, "A100", "fp16", launch_us),
                                             ("A100-opt", a100, "A100", "fp16", 0.0),
                                             ("A100-opt+SQ", a100, "A100", "int8", 0.0),
                                             ("V100S-naive", v100s, "V100S", "fp16", launch_us),
                                             ("V100S-opt", v100s, "V100S", "fp16", 0.0),
                                             ("V100S-opt+SQ", v100s, "V100S", "int8", 0.0)):
        pre = {p: gpu.seconds("prefill", p, dtype, eff, launch) for p in sorted({bucket(p, 128) for p, _ in CASES})}
        dec = {c: gpu.seconds("decode", c, dtype, eff, launch) for c in gpu_ctx}
        series[label] = (pre, dec, board)
    for name in fpgas:
        series[name] = (fpga_prefill[name], fpga_decode[name], name)

    # ---------------------------------------------------------------- cases
    rows = []
    for p, d in CASES:
        row = {"prefill": p, "decode": d}
        for label, (pre, dec, board) in series.items():
            tp, td = case_seconds(pre, dec, p, d)
            row[f"{label} prefill_ms"] = tp * 1e3
            row[f"{label} decode_ms"] = td * 1e3
            row[f"{label} total_ms"] = (tp + td) * 1e3
            row[f"{label} tok_s"] = d / td
            row[f"{label} tok_per_J"] = d / ((tp + td) * POWER_W[board][0])
            row[f"{label} tok_s_per_kusd"] = d / (tp + td) / (PRICE_USD[board][0] / 1e3)
        art = ARTIFACT[(p, d)]
        row["artifact VHK158 total_ms"] = art["vhk_total"]
        row["measured A100 vLLM total_ms"] = art["opt_total"]
        row["measured A100 HF total_ms"] = art["naive_total"]
        rows.append(row)

    def ratio(a, b, key):
        return geomean(r[f"{a} {key}"] / r[f"{b} {key}"] for r in rows)

    # ---------------------------------------------------------------- bandwidth utilisation (Tab 5)
    u280 = fpgas["U280"]
    ctx_bw = [c for c in contexts if c <= 640] or contexts[:1]
    bw = {}
    for label, opts in (("archsim setting", CompileOptions()), ("artifact setting", CompileOptions.artifact())):
        for on in (False, True):
            o = opts.model_copy(update={"always_on_chip": on})
            us = [u280.decode(c, o).bandwidth_utilization for c in ctx_bw[:: max(1, len(ctx_bw) // 4)]]
            bw[(label, on)] = sum(us) / len(us)

    # ---------------------------------------------------------------- DSP chain
    gains = {"artifact sparsity (q/k 0.7)": chain_gain(CONFIGS / "u280_flightllm.yaml", {"q_proj": 0.7, "k_proj": 0.7}),
             "8:16 on every projection": chain_gain(CONFIGS / "u280_flightllm.yaml",
                                                    {k: 0.5 for k in ("q_proj", "k_proj", "v_proj", "o_proj",
                                                                      "gate_proj", "up_proj", "down_proj")}),
             "10:16 on every projection": chain_gain(CONFIGS / "u280_flightllm.yaml",
                                                     {k: 0.625 for k in ("q_proj", "k_proj", "v_proj", "o_proj",
                                                                         "gate_proj", "up_proj", "down_proj")})}

    # ---------------------------------------------------------------- OPT-6.7B (the paper's second model)
    opt = opt_energy(layers, contexts, eff, launch_us, ratio) if with_opt else None

    # ---------------------------------------------------------------- headline
    # GPU-opt = vLLM FP16, the baseline measured data calibrates (the paper's Fig 1 V100 point, ~45 tok/s, is
    # what the FP16 model gives; the INT8 SmoothQuant variant would be twice as fast and is printed beside)
    ours = {
        "energy vs V100S": ratio("U280", "V100S-opt", "tok_per_J"),
        "cost vs V100S": ratio("U280", "V100S-opt", "tok_s_per_kusd"),
        "energy vs A100": ratio("U280", "A100-opt", "tok_per_J"),
        "cost vs A100": ratio("U280", "A100-opt", "tok_s_per_kusd"),
        "VHK158 / A100 throughput": ratio("VHK158", "A100-opt", "tok_s"),
        "DSP-chain efficiency gain": gains["artifact sparsity (q/k 0.7)"],
        "BW util without on-chip decode": bw[("archsim setting", False)],
        "BW util with on-chip decode": bw[("archsim setting", True)],
    }
    return SimpleNamespace(**{k: v for k, v in locals().items() if k not in ("ratio", "opt")}, ratio=ratio, opt=opt)


#: Energy efficiency (tokens/J) of the U280 over each GPU series, geomean over the 6 cases, per model: a secondary
#: source's breakdown (reference B.6, low confidence: it conflicts with the abstract in parts).
ENERGY_BREAKDOWN = {"LLaMA2-7B": {"V100S-naive": 6.0, "V100S-opt": 5.5, "A100-naive": 4.4, "A100-opt": 3.8},
                    "OPT-6.7B": {"V100S-naive": 6.7, "V100S-opt": 6.0, "A100-naive": 4.6, "A100-opt": 4.2}}


def opt_energy(layers: int | None, contexts: list[int], efficiency: float, launch_us: float, llama_ratio) -> dict:
    """OPT-6.7B on the U280 and the four GPU series, every case, and the U280's energy-efficiency ratio over each
    GPU series beside LLaMA2-7B's (``llama_ratio``). Same compiler setting as LLaMA2-7B (the artifact's: INT4, q/k
    at 0.7; OPT's own N:M settings are not recovered) and the same GPU fit (ASSUMED to carry over: no measured
    OPT GPU times are in reach). Decode buckets every 64 tokens, linear in between (a step's time is linear in
    its context within 0.1%)."""
    u280 = Fpga("U280", CONFIGS / "u280_flightllm.yaml", layers, model="opt_6p7b")
    coarse = sorted({c for c in contexts if c % 64 == 0} | {contexts[0], contexts[-1]})
    prefills = sorted({bucket(p, 128) for p, _ in CASES})
    series = {"U280": ({p: u280.prefill(p).total_s for p in prefills}, {c: u280.decode(c).total_s for c in coarse},
                       "U280")}
    for label, path, board, launch in (("V100S-naive", "gpu_v100s.yaml", "V100S", launch_us),
                                       ("V100S-opt", "gpu_v100s.yaml", "V100S", 0.0),
                                       ("A100-naive", "gpu_a100_80gb.yaml", "A100", launch_us),
                                       ("A100-opt", "gpu_a100_80gb.yaml", "A100", 0.0)):
        gpu = Gpu(CONFIGS / path, layers, model="opt_6p7b")
        series[label] = ({p: gpu.seconds("prefill", p, "fp16", efficiency, launch) for p in prefills},
                         {c: gpu.seconds("decode", c, "fp16", efficiency, launch) for c in coarse}, board)
    per_j = {}
    for label, (pre, dec, board) in series.items():
        per_j[label] = []
        for p, d in CASES:
            tp, td = case_seconds(pre, dec, p, d)
            per_j[label].append(d / ((tp + td) * POWER_W[board][0]))
    u280_tok_s = geomean(d / sum(case_seconds(series["U280"][0], series["U280"][1], p, d)) for p, d in CASES)
    return {"ratios": {"OPT-6.7B": {g: geomean(a / b for a, b in zip(per_j["U280"], per_j[g])) for g in per_j
                                    if g != "U280"},
                       "LLaMA2-7B": {g: llama_ratio("U280", g, "tok_per_J") for g in ENERGY_BREAKDOWN["LLaMA2-7B"]}},
            "u280_tok_s": u280_tok_s}


#: Why a row is outside its target (the evidence; docs/fpga.md and the issue-16 notes have the detail).
GAPS = {
    "DSP-chain efficiency gain": "the artifact's sparsity (N:M on q/k only, density 0.7) gives 1.05x; the paper's "
                                 "per-layer N:M settings are not recovered (10:16 on every projection gives 1.59x, "
                                 "printed by the experiment)",
    "BW util with on-chip decode": "U280 decode is LD-bound (LD busy 96%, HBM moving 96% of the step), but 99.9% of "
                                   "the bytes are LDs over 8 pseudo-channels per core at the artifact's 0.7 "
                                   "same-channel efficiency, over 3 cores x 0.8: 193 GB/s = 42% of 460 GB/s while "
                                   "loading. 65.9% needs ~1.6x that channel parallelism, which the artifact's design "
                                   "(a_channels 8) does not have; HBM as 32 ports would not change it (one in-order LD "
                                   "queue never saturates the port)",
    "BW util without on-chip decode": "fusion only removes activation round-trips (KB per layer): 2% of the step, "
                                      "< 1 point of utilisation (see the on-chip row)",
}
QUICK_NOTE = "QUICK: 2 of 32 decoder layers and decode buckets every 256 tokens; the full run is the comparison"


def validation_checks(quick: bool):
    """Rows for ``archsim validate-all``: VHK158 end-to-end and per-module times vs the authors' profiler
    (tests/fixtures/flightllm goldens), the U280 decode step vs the board measured, and the paper's headline
    ratios (``evaluate``)."""
    from archsim.report.validation import Check

    rows = []
    peer = "FlightLLM artifact profiler @4a96251 (tests/fixtures/flightllm)"
    gold = {}
    for name in ("modules.csv", "modules_causal.csv"):
        with open(FIX / name) as fgold:
            for r in csv.DictReader(fgold):
                gold.setdefault((name, r["stage"], int(r["tokens"])), {})[r["module"]] = r
    vhk = Fpga("VHK158", CONFIGS / "vhk158_flightllm.yaml", None)
    decode = [16, 512, 2048] if quick else [16, 128, 512, 1024, 1536, 2048]
    cases = [("modules.csv", "decode", n) for n in decode]
    cases += [] if quick else [("modules_causal.csv", "prefill", n) for n in (128, 256)]
    for name, stage, tokens in cases:
        t0 = time.perf_counter()
        ours = vhk.decode(tokens) if stage == "decode" else vhk.prefill(tokens)
        wall = time.perf_counter() - t0
        g = gold[(name, stage, tokens)]
        label = f"LLaMA2-7B {stage} {tokens} tokens" + (" (dense causal attention)" if stage == "prefill" else "")
        rows.append(Check("FlightLLM profiler", f"VHK158, {label}", "ms end to end", float(g["LD"]["total_ms"]),
                          peer, ours.total_s * 1e3, 2.0, wall_s=wall))
        if stage == "decode" and tokens == 512:
            for m in ("LD", "MV", "MISC", "ST"):
                rows.append(Check("FlightLLM profiler", f"VHK158, {label}", f"{m} module busy ms",
                                  float(g[m]["busy_ms"]), peer, ours.busy_s.get(m, 0.0) * 1e3, 2.0))
            rows.append(Check("FlightLLM profiler", f"VHK158, {label}", "instructions (all modules)",
                              sum(int(g[m]["instructions"]) for m in MODULES), peer,
                              sum(ours.instructions.values()), 0.0))
    u280 = Fpga("U280", CONFIGS / "u280_flightllm.yaml", None)
    for tokens, ms in ((128, 17.50), (512, 18.99)):
        t0 = time.perf_counter()
        ours = u280.decode(tokens)
        rows.append(Check("FlightLLM (U280 board)", f"LLaMA2-7B decode step, {tokens}-token program",
                          "ms per step", ms, "board measured, reading note (reference B.6, secondary, M)",
                          ours.total_s * 1e3, 10.0, wall_s=time.perf_counter() - t0,
                          explanation="U280 HBM efficiencies and core efficiency carried over from the VHK158 "
                                      "artifact (assumed)"))
    t0 = time.perf_counter()
    ev = evaluate(quick, with_opt=False)
    wall = (time.perf_counter() - t0) / len(PAPER)
    quick_tag = " (quick: 2 of 32 layers)" if quick else ""
    for key, paper in PAPER.items():
        if key.startswith("BW util"):
            case, metric = "U280 LLaMA2-7B decode, contexts <= 640, archsim's lowering", key + " (fraction of HBM peak)"
        elif key.startswith("DSP"):
            case, metric = "U280 chains, LLaMA2-7B projections of a 128-token prefill, artifact sparsity", key + " (x)"
        else:
            case, metric = "LLaMA2-7B batch 1, geomean of the 6 [prefill, decode] cases", key + " (x)"
        note = "; ".join(n for n in (QUICK_NOTE if quick and not key.startswith("DSP") else "", GAPS.get(key, "")) if n)
        rows.append(Check("FlightLLM (paper)", case + (quick_tag if not key.startswith("DSP") else ""), metric, paper,
                          "Zeng et al., FPGA'24 (abstract, Sec. 1, Tab 5)", ev.ours[key], 20.0,
                          explanation=note, wall_s=wall))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2-layer model, decode buckets every 256 tokens")
    ap.add_argument("--out", default=str(ROOT / "runs" / "reproduce" / "flightllm"))
    ap.add_argument("--artifact-masks", default=None, help="the FlightLLM artifact's attention_mask/ folder: its "
                    "sparse prefill attention layouts (default dense causal)")
    args = ap.parse_args(argv)
    if args.artifact_masks and not Path(args.artifact_masks).is_dir():
        from archsim.errors import ConfigError
        raise ConfigError("--artifact-masks", "artifact_masks", "not a directory", value=args.artifact_masks,
                          has_value=True, expected="the artifact's .compiler_output/ir_output/attention_mask")
    t0 = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ev = evaluate(args.quick, args.artifact_masks)
    rows, series, ours, bw, gains, ratio = ev.rows, ev.series, ev.ours, ev.bw, ev.gains, ev.ratio
    fpgas, fpga_decode, fpga_prefill = ev.fpgas, ev.fpga_decode, ev.fpga_prefill
    fit_notes, assumptions = ev.fit_notes, ev.assumptions
    labels = list(series)
    print("\nLatency per case (ms, prefill + decode) and decode throughput (tok/s)")
    print(f"{'case':12s} " + " ".join(f"{l:>13s}" for l in labels))
    for r in rows:
        print(f"[{r['prefill']:4d},{r['decode']:4d}] " + " ".join(f"{r[f'{l} total_ms']:13.1f}" for l in labels))
        print(f"{'':12s} " + " ".join(f"{r[f'{l} tok_s']:10.1f}t/s" for l in labels))
    print("\nreference (artifact README): VHK158 profiler total / measured A100 vLLM FP16 / measured A100 HF (ms)")
    for r in rows:
        print(f"[{r['prefill']:4d},{r['decode']:4d}]  {r['artifact VHK158 total_ms']:9.1f} / "
              f"{r['measured A100 vLLM total_ms']:9.1f} / {r['measured A100 HF total_ms']:9.1f}   archsim: "
              f"{r['VHK158 total_ms']:9.1f} / {r['A100-opt total_ms']:9.1f} / {r['A100-naive total_ms']:9.1f}")

    print("\nheadline (geomean over the 6 cases)           paper    archsim   archsim/paper")
    for k, v in PAPER.items():
        print(f"  {k:40s} {v:7.3f}  {ours[k]:8.3f}   {ours[k] / v:6.2f}")
    print("  GPU-opt above = vLLM FP16 (measured-calibrated). With W8A8 SmoothQuant modelled as INT8 bytes at the same "
          f"efficiency: U280 vs V100S energy {ratio('U280', 'V100S-opt+SQ', 'tok_per_J'):.2f}x, cost "
          f"{ratio('U280', 'V100S-opt+SQ', 'tok_s_per_kusd'):.2f}x; vs A100 energy {ratio('U280', 'A100-opt+SQ', 'tok_per_J'):.2f}x,"
          f" cost {ratio('U280', 'A100-opt+SQ', 'tok_s_per_kusd'):.2f}x; VHK158 / A100 {ratio('VHK158', 'A100-opt+SQ', 'tok_s'):.2f}x")
    print(f"  V100S-opt decode {geomean(r['V100S-opt tok_s'] for r in rows):.1f} tok/s (FP16) vs "
          f"{geomean(r['V100S-opt+SQ tok_s'] for r in rows):.1f} (INT8); paper Fig 1: ~45 tok/s"
          + ("" if args.quick else " -> the FP16 model is the one the paper's own GPU point supports"))
    print(f"  U280 decode {geomean(r['U280 tok_s'] for r in rows):.1f} tok/s (paper Fig 1: ~55); artifact's own "
          f"example VHK158 vs A100 vLLM: total-time {geomean(r['measured A100 vLLM total_ms'] / r['artifact VHK158 total_ms'] for r in rows):.2f}x, decode 1.10x")
    print("\nHBM bandwidth utilisation of U280 decode (bytes / (time x 460 GB/s)), contexts <= 640")
    for (label, on), v in bw.items():
        print(f"  {label:17s} always-on-chip {'on ' if on else 'off'}: {v:6.1%}")
    print("  paper Tab 5: 35.6% off -> 65.9% on; the board's measured step (reference B.8: 3.43 GB in 17.5 ms) is 42.6%")
    print("\nDSP chain: configurable sparse vs fixed dense chain, useful MACs per DSP slot (prefill 128 projections)")
    for k, v in gains.items():
        print(f"  {k:30s} {v:5.2f}x")
    print("  paper: 1.6x (its per-layer N:M settings are not recovered; 1/1.6 = 0.625 overall density)")
    print("\nenergy efficiency of the U280 over each GPU series (tokens/J, geomean of the 6 cases), both models of the paper")
    print("  (paper = a secondary source's breakdown, LOW confidence; OPT-6.7B uses LLaMA2-7B's compiler setting and GPU fit)")
    print(f"  {'':10s} " + " ".join(f"{g:>20s}" for g in ENERGY_BREAKDOWN["LLaMA2-7B"]))
    for m, want in ENERGY_BREAKDOWN.items():
        got = ev.opt["ratios"][m]
        print(f"  {m:10s} " + " ".join(f"{want[g]:5.1f} vs {got[g]:5.2f} ({got[g] / want[g]:4.2f})" for g in want))
    opt_over_llama = geomean(ev.opt["ratios"]["OPT-6.7B"][g] / ev.opt["ratios"]["LLaMA2-7B"][g] for g in ENERGY_BREAKDOWN["OPT-6.7B"])
    paper_over = geomean(ENERGY_BREAKDOWN["OPT-6.7B"][g] / ENERGY_BREAKDOWN["LLaMA2-7B"][g] for g in ENERGY_BREAKDOWN["OPT-6.7B"])
    print(f"  OPT-6.7B / LLaMA2-7B gain: paper {paper_over:.2f}x, archsim {opt_over_llama:.2f}x; "
          f"U280 OPT-6.7B decode {ev.opt['u280_tok_s']:.1f} tok/s")

    # ---------------------------------------------------------------- profiler vs archsim
    print("\nVHK158: archsim vs the artifact profiler goldens (per decode step / prefill; ms)")
    gold = {}
    with open(FIX / "modules.csv") as fgold:
        for r in csv.DictReader(fgold):
            gold[(r["stage"], int(r["tokens"]))] = float(r["total_ms"])
    prof_rows = []
    vhk = fpgas["VHK158"]
    for (stage, tokens), want in sorted(gold.items()):
        if args.quick:
            break
        if stage == "decode":
            got = fpga_decode["VHK158"].get(tokens) or vhk.decode(tokens).total_s
        else:
            got = fpga_prefill["VHK158"].get(tokens) or vhk.prefill(tokens).total_s
        prof_rows.append((stage, tokens, want, got * 1e3))
        print(f"  {stage:7s} {tokens:5d}  profiler {want:9.3f}  archsim {got * 1e3:9.3f}  ratio {got * 1e3 / want:.5f}")
    if args.quick:
        print("  (skipped in --quick: tests/test_flightllm.py checks them)")
    u280_steps = {c: fpga_decode["U280"][c] * 1e3 for c in (144, 512) if c in fpga_decode["U280"]}
    if not args.quick and u280_steps:
        print("\nU280 decode step vs the board (reference B.6, one decode step incl. lm_head): "
              + ", ".join(f"ctx {c}: archsim {v:.2f} ms" for c, v in u280_steps.items())
              + "; measured 17.50 ms (ctx 128), 18.99 ms (ctx 512)")

    print("\nprofiler vs paper (which the experiment follows):")
    for line in (
            "HBM: the profiler counts 819.2 GB/s as GiB/s (+7.4%); the VHK158 config follows the profiler",
            "1.2x vs A100: the artifact's own example gives 1.10x decode / 1.02x total vs vLLM FP16; the paper's "
            "A100-opt adds SmoothQuant. The headline follows the measured vLLM FP16 baseline; INT8 is printed beside",
            "Tab 5 bandwidth: the VHK158 profiler's decode is MV-compute-bound (MV busy ~92%); on the U280 decode "
            "is LD-bound (LD busy ~96%) but its LDs span 8 pseudo-channels per core at 0.7 efficiency over 3 cores "
            "x 0.8 = 193 GB/s, 42% of peak: the paper's 65.9% needs ~1.6x the artifact design's channel parallelism "
            "(modelling HBM as 32 ports would not change it). The BW row uses archsim's own lowering (exact "
            "weights+KV, no over-fetch); the artifact setting is printed beside it",
            "the artifact re-reads the whole KV cache in its KV-append layer and over-fetches short last tiles; "
            "the latency series follow the artifact (its compiler is the authors')"):
        print("  - " + line)
    print("\nassumptions:")
    for a in fit_notes + assumptions:
        print("  - " + a)

    # ---------------------------------------------------------------- files
    with open(out / "flightllm_cases.csv", "w", newline="") as fcsv:
        w = csv.DictWriter(fcsv, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with open(out / "flightllm_headline.csv", "w", newline="") as fcsv:
        w = csv.writer(fcsv)
        w.writerow(["metric", "paper", "archsim", "ratio"])
        for k, v in PAPER.items():
            w.writerow([k, v, ours[k], ours[k] / v])
        for m, want in ENERGY_BREAKDOWN.items():
            for g, v in want.items():
                w.writerow([f"{m} U280 energy vs {g} (secondary source)", v, ev.opt["ratios"][m][g],
                            ev.opt["ratios"][m][g] / v])
        for stage, tokens, want, got in prof_rows:
            w.writerow([f"VHK158 {stage} {tokens} ms (profiler)", want, got, got / want])
    plot(rows, ours, bw, gains, out / "flightllm.png", args.quick)
    print(f"\nwrote {out / 'flightllm_cases.csv'}, {out / 'flightllm_headline.csv'}, {out / 'flightllm.png'} "
          f"({time.perf_counter() - t0:.0f} s)")
    return 0


def plot(rows, ours, bw, gains, path: Path, quick: bool) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(2, 2, figsize=(13, 8.5))
    labels = ["V100S-opt", "V100S-opt+SQ", "A100-opt", "A100-opt+SQ", "U280", "VHK158"]
    cases = [f"[{r['prefill']},{r['decode']}]" for r in rows]
    width = 0.8 / len(labels)
    for i, lab in enumerate(labels):
        ax[0, 0].bar([x + i * width for x in range(len(rows))], [r[f"{lab} tok_s"] for r in rows], width, label=lab)
    ax[0, 0].set_xticks([x + 0.4 - width / 2 for x in range(len(rows))], cases)
    ax[0, 0].set_ylabel("decode throughput (tok/s)")
    ax[0, 0].set_title("LLaMA2-7B, batch 1: decode throughput per case" + (" (QUICK: 2 layers)" if quick else ""))
    ax[0, 0].legend(fontsize=8, ncol=3)

    keys = ["energy vs V100S", "cost vs V100S", "energy vs A100", "cost vs A100", "VHK158 / A100 throughput",
            "DSP-chain efficiency gain"]
    x = range(len(keys))
    ax[0, 1].bar([k - 0.2 for k in x], [PAPER[k] for k in keys], 0.4, label="paper")
    ax[0, 1].bar([k + 0.2 for k in x], [ours[k] for k in keys], 0.4, label="archsim")
    ax[0, 1].set_xticks(list(x), [k.replace(" vs ", "\nvs ").replace(" / ", "/\n").replace(" efficiency", "\neff.")
                                  for k in keys], fontsize=8)
    ax[0, 1].set_ylabel("ratio (x)")
    ax[0, 1].set_title("headline ratios (geomean over cases)")
    ax[0, 1].legend()

    groups = ["archsim setting", "artifact setting"]
    for j, on in enumerate((False, True)):
        ax[1, 0].bar([g + (j - 0.5) * 0.35 for g in range(2)], [bw[(g, on)] * 100 for g in groups], 0.35,
                     label=f"always-on-chip {'on' if on else 'off'}")
    ax[1, 0].axhline(35.6, color="gray", ls="--", lw=1)
    ax[1, 0].axhline(65.9, color="black", ls="--", lw=1)
    ax[1, 0].text(1.45, 36.5, "paper off 35.6%", ha="right", fontsize=8)
    ax[1, 0].text(1.45, 66.8, "paper on 65.9%", ha="right", fontsize=8)
    ax[1, 0].set_xticks(range(2), groups)
    ax[1, 0].set_ylim(0, 80)
    ax[1, 0].set_ylabel("HBM bandwidth utilisation (%)")
    ax[1, 0].set_title("U280 decode: always-on-chip decode")
    ax[1, 0].legend(fontsize=8, loc="upper left")

    names = list(gains)
    ax[1, 1].bar(range(len(names)), [gains[n] for n in names], 0.5, label="archsim")
    ax[1, 1].axhline(PAPER["DSP-chain efficiency gain"], color="black", ls="--", lw=1, label="paper 1.6x")
    ax[1, 1].set_xticks(range(len(names)), [n.replace(" on every", "\non every").replace(" (", "\n(") for n in names],
                        fontsize=8)
    ax[1, 1].set_ylabel("configurable / fixed chain efficiency (x)")
    ax[1, 1].set_title("CSD chain vs fixed dense DSP chain (prefill projections)")
    ax[1, 1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())

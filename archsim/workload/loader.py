"""``load_workload``: turn a zoo name or a file into a Trace — the one entry point the rest of archsim uses."""
from __future__ import annotations

import difflib
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

from archsim.errors import WorkloadError
from archsim.trace.io import is_trace_csv, read_trace
from archsim.trace.schema import Trace
from archsim.workload.graph import Graph
from archsim.workload.knobs import RunKnobs, parse_knobs
from archsim.workload.lower import lower
from archsim.workload.model_file import build_model_graph, read_model_file
from archsim.workload.scalesim_topology import read_topology_trace, topology_kind

MODEL_SUFFIXES = (".yaml", ".yml", ".json")
TRACE_SUFFIXES = (".parquet", ".pq")


def zoo_dir() -> Path:
    """The directory of shipped model files (``workloads/`` next to the ``archsim`` package)."""
    from archsim.shipped import shipped_dir

    return shipped_dir("workloads")


def _zoo_files() -> dict[str, Path]:
    """Zoo name (file stem, plus any ``_archsim.aliases``) → model file."""
    files: dict[str, Path] = {}
    directory = zoo_dir()
    if not directory.is_dir():
        return files
    for path in sorted(directory.glob("*.yaml")):
        files[path.stem] = path
    return files


def _aliases(files: dict[str, Path]) -> dict[str, str]:
    """Alias → zoo stem, from each file's ``_archsim: {aliases: [...]}`` block."""
    aliases = {}
    for stem, path in files.items():
        meta = read_model_file(path).get("_archsim") or {}
        for alias in meta.get("aliases", []) if isinstance(meta, dict) else []:
            aliases[_normalise(str(alias))] = stem
    return aliases


def list_workloads() -> list[str]:
    """Names of the shipped zoo models, sorted (what ``archsim list`` prints)."""
    return sorted(_zoo_files())


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def _compact(name: str) -> str:
    return name.replace("_", "").replace("-", "")


def resolve_zoo_name(name: str) -> Path:
    """The model file of zoo model ``name`` (case-insensitive; ``-`` = ``_``; aliases allowed)."""
    files = _zoo_files()
    key = _normalise(name)
    if key in files:
        return files[key]
    aliases = _aliases(files)
    if key in aliases:
        return files[aliases[key]]
    compact = {_compact(k): stem for k, stem in [*((s, s) for s in files), *aliases.items()]}
    if _compact(key) in compact:  # "ResNet-18", "llama-2-7b"
        return files[compact[_compact(key)]]
    close = difflib.get_close_matches(key, list(files) + list(aliases), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise WorkloadError(f"unknown workload {name!r}: not a file and not a zoo model{hint} "
                        f"(zoo: {', '.join(sorted(files))}; or give a .yaml/.json model file, a "
                        f".csv/.parquet trace, a SCALE-Sim topology .csv or an .onnx file)")


def _looks_like_path(spec: str) -> bool:
    return Path(spec).suffix.lower() in (*MODEL_SUFFIXES, *TRACE_SUFFIXES, ".csv", ".onnx") or "/" in spec


def build_graph(spec: str, overrides: Sequence[str] = ()) -> Graph:
    """The Graph IR of a zoo model, model file (YAML / HF config.json) or ONNX file, under ``overrides``."""
    knobs = parse_knobs(overrides)
    path = Path(spec)
    if path.suffix.lower() == ".onnx":
        from archsim.workload.onnx_import import import_onnx

        return _regrouped(import_onnx(path, knobs), knobs)
    if _looks_like_path(spec):
        if not path.is_file():
            raise WorkloadError(f"{spec}: workload file not found")
        if path.suffix.lower() not in MODEL_SUFFIXES:
            raise WorkloadError(f"{spec}: a {path.suffix} file is a trace, not a model; expected .yaml/.json/.onnx")
        name = path.stem if path.stem != "config" else path.parent.name or "config"
        source = spec
    else:
        path = resolve_zoo_name(spec)
        name = path.stem
        source = f"workloads/{path.name}"
    data = read_model_file(path)
    return _regrouped(build_model_graph(name, data, source, knobs), knobs)


def _regrouped(graph: Graph, knobs) -> Graph:
    """``graph`` after the regrouping pass when the knobs ask for it (``archsim.workload.regroup``)."""
    if knobs.dw_group_size == 1 and knobs.pw_groups == 1:
        return graph
    from archsim.workload.regroup import regroup_convolutions

    return regroup_convolutions(graph, knobs.dw_group_size, knobs.pw_groups)[0]


def load_workload(spec: str, overrides: Sequence[str] = ()) -> Trace:
    """Return the Trace of ``spec`` — a zoo name (``resnet18``, ``llama2_7b`` …), a model YAML, a HF
    ``config.json``, an ``.onnx`` file, a trace (``.csv``/``.parquet``) or a SCALE-Sim topology CSV —
    with run ``overrides`` such as ``batch=32``, ``phase=decode``, ``context=2048``, ``seq_len=128``.

    Raises WorkloadError (unknown name, unreadable trace) or ConfigError (bad model file or override).
    """
    path = Path(spec)
    suffix = path.suffix.lower()
    if suffix in TRACE_SUFFIXES or suffix == ".csv":
        if not path.is_file():
            raise WorkloadError(f"{spec}: workload file not found")
        return _load_table(path, overrides)
    knobs = parse_knobs(overrides)
    graph = build_graph(spec, overrides)
    trace = lower(graph, fuse_epilogues=knobs.fuse)
    meta = dict(trace.metadata)
    meta["workload"] = spec
    meta["dtype"] = trace.ops[0].dtype if trace.ops else (knobs.dtype or "")
    for key, value in asdict(knobs).items():
        if value is not None and value != getattr(RunKnobs(), key):
            meta[f"set.{key}"] = str(value)
    return Trace(trace.name, trace.ops, meta)


def _load_table(path: Path, overrides: Sequence[str]) -> Trace:
    first = ""
    if not suffix_is_trace(path):
        with path.open(errors="replace") as handle:
            first = handle.readline()
    if suffix_is_trace(path) or is_trace_csv(first):
        if overrides:
            raise WorkloadError(f"{path}: a trace file is fixed; overrides {list(overrides)} cannot be applied "
                                f"(lower the model again with `archsim lower ... --set`)")
        return read_trace(path)
    kind = topology_kind(first)
    if kind is None:
        raise WorkloadError(f"{path}: CSV is neither an archsim trace (first line '# archsim-trace,version=N') "
                            f"nor a SCALE-Sim topology (header 'Layer name, IFMAP Height, …' or 'Layer, M, N, K')")
    knobs = parse_knobs(overrides)
    unsupported = [k for k in ("batch", "phase", "seq_len", "context", "image_size", "tp", "layers",
                               "experts_per_token", "points") if getattr(knobs, k) != getattr(RunKnobs(), k)]
    if unsupported:
        raise WorkloadError(f"{path}: SCALE-Sim topologies fix their shapes; cannot apply {', '.join(unsupported)}")
    return read_topology_trace(path, kind, knobs.dtype or "int8")


def suffix_is_trace(path: Path) -> bool:
    """True for Parquet traces (CSV needs its header line checked)."""
    return path.suffix.lower() in TRACE_SUFFIXES

"""The sweep file: base architecture, workloads, the space of points and their constraints.

```yaml
name: systolic_shapes
base: ../arch_configs/edge_32x32_ws.yaml     # relative to this file
workloads: [resnet50, {name: bert_base, set: [seq_len=128]}]
mode: grid                                   # grid | random | list
parameters:                                  # grid/random: dotted key -> values
  engines.npu.rows: [16, 32, 64, 128]
  engines.npu.cols: [16, 32, 64, 128]
samples: 20                                  # random: number of points drawn (seeded by `seed`)
seed: 0
points: [{engines.npu.rows: 16}, ...]        # list: explicit points
constraints: ["rows * cols <= 16384"]
fixed: {memories.lpddr4.bandwidth_gbps: 25.6}  # applied to every point
energy: {dram_standard: {lpddr4: LPDDR3}}      # archsim.energy.EnergySpec; `false` = no energy
mapper: partition
serve: {batch: 64, iterations: 4, tp: 4}       # optional: serve the (LLM) workloads instead of one run
```

With ``serve:`` every (point, workload) is a serving run (``archsim.serving.ServingOptions``; ``requests:``
names the request distribution) and keys ``serve.<option>`` in ``parameters``/``points`` sweep its options
(``serve.batch: [64, 128, 256]``) beside the architecture's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from archsim.config.loader import read_yaml_mapping
from archsim.energy.spec import EnergySpec
from archsim.errors import ConfigError
from archsim.sweep.constraints import Constraint

MODES = ("grid", "random", "list")
TOP_KEYS = ("name", "description", "base", "workloads", "mode", "parameters", "samples", "seed", "points",
            "constraints", "fixed", "energy", "mapper", "serve")
SERVE_PREFIX = "serve."


@dataclass(frozen=True)
class WorkloadSpec:
    """A workload of the sweep: a zoo name / file path (or an in-memory Trace) plus its overrides."""

    name: Any                       # str, or archsim.trace.Trace from the Python API
    overrides: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """Name shown in the results table (``bert_base[seq_len=128]``)."""
        base = self.name if isinstance(self.name, str) else getattr(self.name, "name", "trace")
        base = Path(base).stem if isinstance(self.name, str) and ("/" in base or "." in base) else base
        return base + (f"[{','.join(self.overrides)}]" if self.overrides else "")


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep definition (see the module docstring for the file format)."""

    name: str
    base: dict[str, Any]                      # the base architecture, extends-resolved
    base_source: str
    workloads: tuple[WorkloadSpec, ...]
    mode: str = "grid"
    parameters: dict[str, list[Any]] = field(default_factory=dict)
    points: tuple[dict[str, Any], ...] = ()
    samples: int = 0
    seed: int = 0
    constraints: tuple[Constraint, ...] = ()
    fixed: dict[str, Any] = field(default_factory=dict)
    energy: EnergySpec | None = field(default_factory=EnergySpec)
    mapper: str = "partition"
    source: str = "<memory>"
    serve: dict[str, Any] | None = None       # serving options of every point (None: plain runs)

    @property
    def swept_keys(self) -> tuple[str, ...]:
        """Dotted keys that vary between points, in file order."""
        if self.mode == "list":
            keys: dict[str, None] = {}
            for p in self.points:
                keys.update(dict.fromkeys(p))
            return tuple(keys)
        return tuple(self.parameters)


def _workloads(raw: Any, src: str, root: Path) -> tuple[WorkloadSpec, ...]:
    if isinstance(raw, (str, dict)):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise ConfigError(src, "workloads", "missing or empty", expected="a list of workload names or files")
    specs = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            name, sets = item, []
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            unknown = set(item) - {"name", "set"}
            if unknown:
                raise ConfigError(src, f"workloads[{i}].{sorted(unknown)[0]}", "unknown key",
                                  expected="'name' and optional 'set' (list of KEY=VALUE)")
            name, sets = item["name"], item.get("set") or []
            if not isinstance(sets, list) or not all(isinstance(s, str) and "=" in s for s in sets):
                raise ConfigError(src, f"workloads[{i}].set", "bad value", value=sets, has_value=True,
                                  expected="a list of KEY=VALUE strings")
        else:
            raise ConfigError(src, f"workloads[{i}]", "bad value", value=item, has_value=True,
                              expected="a workload name/file or {name: ..., set: [KEY=VALUE]}")
        candidate = root / name
        if candidate.is_file():
            name = str(candidate.resolve())
        specs.append(WorkloadSpec(name, tuple(sets)))
    return tuple(specs)


def _mapper(mapper: Any, base: dict, base_source: str, fixed: dict, src: str) -> str:
    """The sweep's mapper: ``mapper:`` of the file, checked against the base architecture, or the base
    architecture's default (``archsim.mapping.mapper_for``: its engine kind's compiler, e.g. ``flightllm`` on
    the FPGA configs, else ``partition``)."""
    from archsim.config.loader import apply_overrides, build_arch
    from archsim.mapping import mapper_for

    if mapper is not None and not isinstance(mapper, str):
        raise ConfigError(src, "mapper", "bad value", value=mapper, has_value=True, expected="a mapper name")
    try:
        arch = build_arch(apply_overrides(base, list(fixed.items()), base_source), base_source)
    except ConfigError:
        return mapper or "partition"        # an incomplete base: each point reports its own error
    try:
        return mapper_for(arch, mapper)
    except ConfigError as exc:
        raise ConfigError(src, "mapper", exc.problem, value=mapper, has_value=True,
                          expected=f"mapper: {mapper_for(arch)} (the default of {base_source}) or no mapper: key"
                          ) from None


def _check_arch_keys(spec: SweepSpec) -> None:
    """Every dotted architecture key the sweep sets (``parameters``, ``points``, ``fixed``) must name a key of the
    base architecture's schema: a misspelt key is one ConfigError naming the sweep file and the key, before any
    point runs. (A bad *value* stays a failed point: sweeps explore values some of which are invalid.)"""
    from archsim.config.loader import apply_overrides, build_arch

    settings: dict[str, tuple[str, Any]] = {}
    for key, value in spec.fixed.items():
        settings.setdefault(str(key), (f"fixed.{key}", value))
    for key, values in spec.parameters.items():
        settings.setdefault(key, (f"parameters.{key}", values[0]))
    for i, point in enumerate(spec.points):
        for key, value in point.items():
            settings.setdefault(str(key), (f"points[{i}].{key}", value))
    for key, (where, value) in settings.items():
        if key.startswith(SERVE_PREFIX):
            continue          # serving options are checked against ServingOptions in build_sweep
        try:
            build_arch(apply_overrides(spec.base, [*spec.fixed.items(), (key, value)], spec.base_source),
                       spec.base_source)
        except ConfigError as exc:
            unknown = exc.problem.startswith("unknown key") and exc.key_path == key
            missing = "does not exist" in exc.problem or "parent is not a mapping" in exc.problem
            if missing:
                node: Any = spec.base
                for part in exc.key_path.split(".")[:-1]:
                    node = node.get(part, {}) if isinstance(node, dict) else {}
                if isinstance(node, dict) and node:
                    exc.expected = f"one of {sorted(node)}"
            if unknown or missing:
                raise ConfigError(spec.source, where, f"not a key of the architecture {spec.base_source}: "
                                  f"{exc.key_path}: {exc.problem}", expected=exc.expected
                                  or "an existing dotted key (engines.<name>.<key>, memories.<name>.<key>, ...)"
                                  ) from None


def _check_workloads(specs: tuple[WorkloadSpec, ...], src: str, root: Path) -> None:
    """Every workload of the sweep must exist (a zoo name or a file) and take its ``set:`` overrides: a misspelt
    name is one located error before any point runs, not a failed row per point."""
    from archsim.errors import WorkloadError
    from archsim.workload.knobs import parse_knobs
    from archsim.workload.loader import MODEL_SUFFIXES, TRACE_SUFFIXES, resolve_zoo_name

    for i, wl in enumerate(specs):
        if not isinstance(wl.name, str):
            continue          # an in-memory Trace from the Python API
        path = Path(wl.name)
        if path.suffix.lower() in (*MODEL_SUFFIXES, *TRACE_SUFFIXES, ".csv", ".onnx") or "/" in wl.name:
            if not path.is_file():
                raise ConfigError(src, f"workloads[{i}]", "workload file not found", value=wl.name, has_value=True,
                                  expected=f"a zoo model name or an existing file (looked for {root / wl.name})")
        else:
            try:
                resolve_zoo_name(wl.name)
            except WorkloadError as exc:
                raise ConfigError(src, f"workloads[{i}]", str(exc)) from None
        parse_knobs(wl.overrides, f"{src}: workloads[{i}].set")


def build_sweep(data: Mapping[str, Any], source: str | Path = "<memory>", root: Path | None = None,
                workloads: tuple[WorkloadSpec, ...] | None = None) -> SweepSpec:
    """Validate a sweep mapping. ``base`` may be a path (relative to ``root``) or an arch mapping;
    ``workloads`` given here (e.g. in-memory Traces) replace the file's."""
    from archsim.config.loader import resolve_extends

    src = str(source)
    root = root or Path(".")
    for key in data:
        if key not in TOP_KEYS:
            raise ConfigError(src, key, "unknown key", expected=f"one of {list(TOP_KEYS)}")
    base = data.get("base")
    if isinstance(base, str):
        base_path = (root / base)
        if not base_path.is_file():
            from archsim.config.shipped import shipped_architectures

            shipped = shipped_architectures()
            if Path(base).stem not in shipped or "/" in base:
                raise ConfigError(src, "base", "architecture file not found", value=base, has_value=True,
                                  expected=f"an arch YAML (relative to the sweep file; looked for {base_path}) "
                                           f"or a shipped architecture, one of {list(shipped)}")
            base_path = shipped[Path(base).stem]
        base_dict, base_source = resolve_extends(base_path), str(base_path)
    elif isinstance(base, dict):
        base_dict, base_source = dict(base), f"{src}:base"
    else:
        raise ConfigError(src, "base", "missing key" if base is None else "bad value", value=base,
                          has_value=base is not None, expected="the path of an architecture YAML")
    mode = data.get("mode", "grid")
    if mode not in MODES:
        raise ConfigError(src, "mode", "bad value", value=mode, has_value=True, expected=f"one of {MODES}")
    params = data.get("parameters") or {}
    if not isinstance(params, dict):
        raise ConfigError(src, "parameters", "bad value", value=params, has_value=True,
                          expected="a mapping of dotted key to a list of values")
    for key, values in params.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(src, f"parameters.{key}", "bad value", value=values, has_value=True,
                              expected="a non-empty list of values")
    points = data.get("points") or []
    if mode == "list":
        if not isinstance(points, list) or not points or not all(isinstance(p, dict) for p in points):
            raise ConfigError(src, "points", "missing or bad", expected="a non-empty list of {dotted key: value}")
    elif mode in ("grid", "random") and not params:
        raise ConfigError(src, "parameters", "missing key", expected=f"swept keys for mode {mode!r}")
    samples = data.get("samples", 0)
    if mode == "random" and not (isinstance(samples, int) and samples > 0):
        raise ConfigError(src, "samples", "bad value", value=samples, has_value=True,
                          expected="an integer > 0 (points drawn in random mode)")
    seed = data.get("seed", 0)
    if not isinstance(seed, int):
        raise ConfigError(src, "seed", "bad value", value=seed, has_value=True, expected="an integer")
    fixed = data.get("fixed") or {}
    if not isinstance(fixed, dict):
        raise ConfigError(src, "fixed", "bad value", value=fixed, has_value=True, expected="a mapping")
    energy_raw = data.get("energy", {})
    energy = None if energy_raw is False else EnergySpec.from_dict(energy_raw or {}, src)
    serve = data.get("serve")
    swept_serve = [k for k in (*params, *(k for p in points for k in p)) if str(k).startswith(SERVE_PREFIX)]
    if serve is None and swept_serve:
        raise ConfigError(src, swept_serve[0], "serving option swept without a 'serve:' section",
                          expected="a 'serve:' mapping of serving options (batch, iterations, ...)")
    if serve is not None:
        if not isinstance(serve, dict):
            raise ConfigError(src, "serve", "bad value", value=serve, has_value=True,
                              expected="a mapping of serving options (batch, iterations, tp, requests, ...)")
        from archsim.serving import ServingOptions
        from archsim.serving.requests import load_request_dist

        opts = {k: v for k, v in serve.items() if k != "requests"}
        for key in swept_serve:     # check every swept value too, before any point runs
            for value in (params.get(key) or [p[key] for p in points if key in p]):
                ServingOptions.from_mapping({**opts, key[len(SERVE_PREFIX):]: value}, src, SERVE_PREFIX)
        if not swept_serve:
            ServingOptions.from_mapping(opts, src, SERVE_PREFIX)
        load_request_dist(serve.get("requests", "sharegpt"))
    spec = SweepSpec(
        name=str(data.get("name") or Path(src).stem), base=base_dict, base_source=base_source,
        workloads=workloads if workloads is not None else _workloads(data.get("workloads"), src, root),
        mode=mode, parameters={str(k): list(v) for k, v in params.items()},
        points=tuple(dict(p) for p in points), samples=int(samples or 0), seed=seed, fixed=dict(fixed),
        energy=energy, mapper=_mapper(data.get("mapper"), base_dict, base_source, dict(fixed), src), source=src,
        serve=dict(serve) if serve is not None else None)
    raw_constraints = data.get("constraints") or []
    if isinstance(raw_constraints, str):
        raw_constraints = [raw_constraints]
    constraints = tuple(Constraint(str(c), spec.swept_keys, src, f"constraints[{i}]")
                        for i, c in enumerate(raw_constraints))
    spec = SweepSpec(**{**spec.__dict__, "constraints": constraints})
    _check_arch_keys(spec)
    _check_workloads(spec.workloads, src, root)
    return spec


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep YAML (errors name the file and the key)."""
    path = Path(path)
    return build_sweep(read_yaml_mapping(path), path, path.resolve().parent)

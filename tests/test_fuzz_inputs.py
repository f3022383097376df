"""Fuzzing every input archsim reads: mutated shipped architectures, corrupted traces, random command lines.

The property, for each input: archsim either reports a located error (an ``ArchsimError`` naming the file and
the key path or row) or gives a correct result — never a traceback, and never a silent acceptance of an input
``run`` then fails on (``validate`` accepting a config means ``run`` works on it).
"""
from __future__ import annotations

import contextlib
import io
import math
import random
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archsim.cli import main
from archsim.config import load_arch
from archsim.config.shipped import arch_configs_dir
from archsim.errors import ArchsimError, ConfigError, TraceError
from archsim.sim.run import simulate
from archsim.trace import Trace, TraceOp, read_trace, write_trace
from archsim.trace.io import trace_to_csv

FUZZ = settings(max_examples=int(__import__("os").environ.get("ARCHSIM_FUZZ_EXAMPLES", 40)), deadline=None, derandomize=not __import__("os").environ.get("ARCHSIM_FUZZ_EXAMPLES"), database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# architectures on which the tiny trace below runs (pim_gpt has no unit for a 16-row GEMM, by design)
ARCHS = ("edge_32x32_ws", "tpu_v1_like", "sn40l_like", "neupims", "gpu_t4")


def tiny_trace() -> Trace:
    """Four ops touching every engine class: a conv, a GEMM, a GEMV and vector ops, with dependencies."""
    conv = {"N": 1, "H": 8, "W": 8, "C": 4, "R": 3, "S": 3, "F": 8, "stride_h": 1, "stride_w": 1, "pad_h": 1,
            "pad_w": 1, "groups": 1, "OH": 8, "OW": 8}
    return Trace("tiny", (
        TraceOp(0, "conv", "conv2d", conv, macs=8 * 8 * 8 * 9 * 4, input_bytes=256, weight_bytes=288,
                output_bytes=512),
        TraceOp(1, "relu", "relu", {"elements": 512}, flops=512, input_bytes=512, output_bytes=512, deps=(0,)),
        TraceOp(2, "fc", "gemm", {"B": 1, "M": 16, "N": 16, "K": 32}, macs=16 * 16 * 32, input_bytes=512,
                weight_bytes=512, output_bytes=256, deps=(1,)),
        TraceOp(3, "head", "gemv", {"B": 1, "M": 1, "N": 8, "K": 16}, macs=128, input_bytes=16,
                weight_bytes=128, output_bytes=8, deps=(2,)),
        TraceOp(4, "softmax", "softmax", {"elements": 8, "reduce": 8}, flops=40, input_bytes=8, output_bytes=8,
                deps=(3,)),
    ))


def _leaves(node, prefix=""):
    """Dotted paths of every scalar (or list) leaf of a resolved architecture mapping."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix


def _resolved(name: str) -> dict:
    return load_arch(name).resolved


LEAVES = {name: sorted(_leaves(_resolved(name))) for name in ARCHS}
MEMORY_NAMES = sorted({m for name in ARCHS for m in _resolved(name).get("memories", {})})

bad_numbers = st.sampled_from([-3, -1, 0, 0.0, 1e-300, 1e300, math.inf, -math.inf, math.nan, 2 ** 70, 1e12 + 1,
                               0.5, 3.7, True, False])
other_values = st.one_of(st.text(max_size=6), st.sampled_from(MEMORY_NAMES + ["HBM9", "", "os", "ws"]),
                         st.none(), st.lists(st.integers(-2, 4), max_size=3),
                         st.dictionaries(st.text(max_size=3), st.integers(-2, 3), max_size=2),
                         st.integers(-10, 10 ** 6), st.floats(allow_nan=True, allow_infinity=True))


def _assert_located(exc: ArchsimError) -> None:
    if isinstance(exc, ConfigError):
        assert exc.file and exc.key_path, exc
    elif isinstance(exc, TraceError):
        assert exc.file, exc
    assert str(exc), exc


def _assert_correct(result, trace: Trace) -> None:
    assert result.total_macs == trace.total_macs
    assert 0 < result.total_cycles < 2 ** 62 and math.isfinite(result.latency_ms)
    ops = result.ops
    assert (ops.select_dtypes("number") >= 0).all().all(), "negative numbers in the ops table"


@FUZZ
@given(arch=st.sampled_from(ARCHS), data=st.data(), value=st.one_of(bad_numbers, other_values))
def test_a_mutated_shipped_architecture_is_a_located_error_or_runs(arch, data, value):
    key = data.draw(st.sampled_from(LEAVES[arch]), label="key")
    override = (key, value)
    try:
        loaded = load_arch(arch, [override])
    except ConfigError as exc:
        _assert_located(exc)
        return
    # validate accepted it: run must give a correct result (or a located error about the workload's fit,
    # never a traceback)
    trace = tiny_trace()
    try:
        result = simulate(loaded, trace)
    except ArchsimError as exc:
        pytest.fail(f"validate accepted {key}={value!r} on {arch}, but run failed: {exc}")
    _assert_correct(result, trace)


def _corrupt(text: str, rnd: random.Random, how: str) -> str:
    lines = text.splitlines(keepends=True)
    body = [i for i, line in enumerate(lines) if not line.startswith("#")][1:]   # rows after the column header
    if how == "truncate":
        return text[: rnd.randrange(len(text))]
    if how == "drop_char":
        i = rnd.randrange(len(text))
        return text[:i] + text[i + 1:]
    if how == "field":
        i = rnd.choice(body)
        fields = lines[i].rstrip("\n").split(",")
        j = rnd.randrange(len(fields))
        fields[j] = rnd.choice(["-1", "0", "x", "", "1e3", "99", "999999999999999999999", "0;1", "3;3", "2", "nan",
                                "relu", "gemm", "frob", "1.5"])
        lines[i] = ",".join(fields) + "\n"
    elif how == "swap":
        i, j = rnd.sample(body, 2)
        lines[i], lines[j] = lines[j], lines[i]
    elif how == "duplicate":
        i = rnd.choice(body)
        lines.insert(i, lines[i])
    elif how == "drop_row":
        del lines[rnd.choice(body)]
    elif how == "header":
        lines[0] = rnd.choice(["# archsim-trace,version=9\n", "# archsim-trace,version=x\n", "garbage\n",
                               "# archsim-trace\n"])
    elif how == "bytes":
        return text.replace(",", "\udcff", 1)
    return "".join(lines)


@FUZZ
@given(how=st.sampled_from(["truncate", "drop_char", "field", "swap", "duplicate", "drop_row", "header", "bytes"]),
       seed=st.integers(0, 10 ** 6))
def test_a_corrupted_trace_is_a_located_error_or_runs(tmp_path, how, seed):
    trace = tiny_trace()
    path = tmp_path / f"t{seed}_{how}.csv"
    text = _corrupt(trace_to_csv(trace), random.Random(seed), how)
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    try:
        read = read_trace(path)
    except TraceError as exc:
        _assert_located(exc)
        return
    except ArchsimError as exc:
        pytest.fail(f"{how}: not a located TraceError: {type(exc).__name__}: {exc}")
    try:
        result = simulate("edge_32x32_ws", read)
    except ArchsimError as exc:
        pytest.fail(f"{how}: the trace check accepted the file but run failed: {exc}")
    _assert_correct(result, read)


def _run_cli(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:     # argparse's usage errors and --help
            code = exc.code if isinstance(exc.code, int) else 2
    return code, err.getvalue()


@pytest.fixture(scope="module")
def tiny_trace_file(tmp_path_factory) -> Path:
    return write_trace(tiny_trace(), tmp_path_factory.mktemp("fuzz") / "tiny.csv")


FLAG_VALUES = st.sampled_from(["", "garbage", "-1", "0", "1e300", "nan", "csv", "json", "partition", "cosma",
                               "engines.npu.rows=true", "clock_ghz=-1", "batch=0", "nope=1", "=", "a.b.c=1"])


@FUZZ
@given(command=st.sampled_from(["run", "validate", "map", "lower", "list", "reproduce", "sweep", "serve", "plot"]),
       flags=st.lists(st.tuples(st.sampled_from(["--out", "-o", "--format", "--mapper", "--set", "--time-limit-s",
                                                 "--scheduler", "--json", "--no-progress", "--bogus"]), FLAG_VALUES),
                      max_size=3))
def test_random_command_lines_end_in_a_result_or_a_clear_error(tmp_path, monkeypatch, tiny_trace_file, command,
                                                              flags):
    monkeypatch.chdir(tmp_path)       # flag values used as relative output paths land here, not in the repo
    positional = {"run": ["edge_32x32_ws", str(tiny_trace_file)], "validate": ["edge_32x32_ws"],
                  "map": ["edge_32x32_ws", str(tiny_trace_file)], "lower": [str(tiny_trace_file)],
                  "list": [], "reproduce": ["no_such_experiment"], "sweep": [str(tmp_path / "none.yaml")],
                  "serve": ["edge_32x32_ws", "no_such_model"], "plot": [str(tmp_path)]}[command]
    argv = [command, *positional]
    for flag, value in flags:
        if flag in ("--out", "-o") and value in ("", "garbage"):
            value = str(tmp_path / "out" / value) if value else str(tmp_path)   # a directory where a file goes
        argv += [flag] if flag in ("--json", "--no-progress") else [flag, value]
    if command in ("run", "map", "lower") and not any(f in ("--out", "-o") for f, _ in flags):
        argv += ["-o" if command in ("map", "lower") else "--out", str(tmp_path / "result.csv")]
    if command == "map" and not any(f == "--mapper" for f, _ in flags):
        argv += ["--mapper", "partition"]
    code, err = _run_cli(argv)        # any exception other than SystemExit fails the test with its traceback
    assert code in (0, 2), (argv, code, err)
    if code:
        assert "error" in err, (argv, err)
        assert "Traceback" not in err, (argv, err)

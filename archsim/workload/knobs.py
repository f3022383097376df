"""Run knobs: what a user varies per run (batch, phase, lengths, dtype, TP …), never part of a model file."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Sequence

import yaml

from archsim.errors import ConfigError
from archsim.workload.graph import DTYPE_BYTES

PHASES = ("prefill", "decode")


@dataclass(frozen=True)
class RunKnobs:
    """Per-run workload parameters, set with ``--set key=value``.

    batch: sequences / images per step. phase: ``prefill`` (whole prompt) or ``decode`` (one new
    token per sequence against a KV cache). seq_len: prompt (or encoder input) length in tokens;
    default 128. context: tokens in the KV cache attended by a decode step, the new one included;
    default ``seq_len``. image_size: input resolution in pixels (square). dtype: element type of
    weights and activations (default: the model's own, int8 for CNNs). tp: tensor-parallel degree;
    the trace describes one device. layers: emit only the first N blocks (per-block studies). blocks_only:
    emit only the decoder blocks of an LLM, without embedding, final norm and LM head (one pipeline stage's
    share; a per-layer comparison).
    experts_per_token: MoE top-k (default the model's). fuse: run activations as matrix-op
    epilogues. strict: fail on unsupported ONNX ops instead of skipping them. points: encoded sample
    points per step of a neural-graphics primitive (``instant_ngp``: NeRF rays × samples per ray,
    SDF/volume queries, image pixels; default 262,144 = 2^18), multiplied by ``batch``.
    dw_group_size / pw_groups: regroup a CNN's depthwise convs to that many input channels per group and
    split its pointwise convs into that many groups (DRACO's transformation, ``archsim.workload.regroup``).
    decode_tokens: new tokens per sequence in one decode step (default 1); a speculative-decoding
    verification pass of k drafted tokens is ``decode_tokens=k+1`` (``archsim.serving.speculative``).
    """

    batch: int = 1
    phase: str = "prefill"
    seq_len: int | None = None
    context: int | None = None
    image_size: int | None = None
    dtype: str | None = None
    tp: int = 1
    layers: int | None = None
    blocks_only: bool = False
    experts_per_token: int | None = None
    fuse: bool = True
    strict: bool = True
    points: int | None = None
    dw_group_size: int = 1
    pw_groups: int = 1
    decode_tokens: int = 1

    @property
    def prompt_len(self) -> int:
        """Prompt length in tokens (seq_len, default 128)."""
        return self.seq_len if self.seq_len is not None else 128

    @property
    def kv_len(self) -> int:
        """Tokens attended by a decode step (context, default the prompt length)."""
        return self.context if self.context is not None else self.prompt_len


_INT_KNOBS = {"batch", "seq_len", "context", "image_size", "tp", "layers", "experts_per_token", "points", "dw_group_size", "pw_groups", "decode_tokens"}
_BOOL_KNOBS = {"fuse", "strict", "blocks_only"}
KNOB_NAMES = tuple(f.name for f in fields(RunKnobs))


def parse_knobs(overrides: Sequence[str | tuple[str, Any]], source: str = "--set",
                base: RunKnobs | None = None) -> RunKnobs:
    """Apply ``key=value`` overrides to ``base`` (default RunKnobs()); ConfigError on bad keys/values."""
    knobs = base or RunKnobs()
    for item in overrides:
        if isinstance(item, str):
            key, sep, raw = item.partition("=")
            if not sep or not key.strip():
                raise ConfigError(source, item, "bad override", expected="KEY=VALUE, e.g. batch=32")
            key = key.strip()
            try:
                value = yaml.safe_load(raw) if raw.strip() else None
            except yaml.YAMLError:
                value = raw
        else:
            key, value = item
        knobs = replace(knobs, **{key: _check(key, value, source)})
    return knobs


def _check(key: str, value: Any, source: str) -> Any:
    if key not in KNOB_NAMES:
        raise ConfigError(source, key, "unknown workload setting", expected=f"one of {', '.join(KNOB_NAMES)}")
    if key in _INT_KNOBS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(source, key, "bad value", value=value, has_value=True, expected="an integer >= 1")
    elif key in _BOOL_KNOBS:
        if not isinstance(value, bool):
            raise ConfigError(source, key, "bad value", value=value, has_value=True, expected="true or false")
    elif key == "phase":
        if value not in PHASES:
            raise ConfigError(source, key, "bad value", value=value, has_value=True, expected="prefill or decode")
    elif key == "dtype":
        if value not in DTYPE_BYTES:
            raise ConfigError(source, key, "bad value", value=value, has_value=True,
                              expected=f"one of {', '.join(DTYPE_BYTES)}")
    return value

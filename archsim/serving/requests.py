"""Request-length distributions (``workloads/requests/*.yaml``) and seeded sampling of request sets.

A distribution file gives input and output lengths in tokens as a clipped log-normal fitted to the
dataset's median and mean (the datasets themselves are not shipped). Sampling is deterministic for a
seed (numpy ``default_rng``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from archsim.errors import ConfigError


def requests_dir() -> Path:
    """The directory of shipped request-length distributions."""
    return Path(__file__).resolve().parents[2] / "workloads" / "requests"


@dataclass(frozen=True)
class LengthDist:
    """A clipped log-normal over token counts: ``median``/``mean`` of the unclipped fit, clip [min, max]."""

    median: float
    mean: float
    min_tokens: int
    max_tokens: int

    @property
    def sigma(self) -> float:
        """Log-space standard deviation: sqrt(2 ln(mean / median))."""
        return math.sqrt(max(0.0, 2.0 * math.log(self.mean / self.median)))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` lengths in tokens (int64)."""
        x = rng.lognormal(math.log(self.median), self.sigma, size=n)
        return np.clip(np.rint(x), self.min_tokens, self.max_tokens).astype(np.int64)


@dataclass(frozen=True)
class RequestDist:
    """Input and output length distributions of one dataset (tokens)."""

    name: str
    input_tokens: LengthDist
    output_tokens: LengthDist
    max_seq_len: int = 2048

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(input lengths, output lengths) of ``n`` requests; input + output ≤ max_seq_len."""
        inp = self.input_tokens.sample(rng, n)
        out = self.output_tokens.sample(rng, n)
        out = np.minimum(out, np.maximum(1, self.max_seq_len - inp))
        return inp, out


def _length(file: Path, key: str, data) -> LengthDist:
    if not isinstance(data, dict) or data.get("distribution") != "lognormal":
        raise ConfigError(file, f"{key}.distribution", "bad value", value=(data or {}).get("distribution")
                          if isinstance(data, dict) else data, has_value=True, expected="lognormal")
    try:
        d = LengthDist(float(data["median"]), float(data["mean"]), int(data.get("min", 1)), int(data["max"]))
    except KeyError as exc:
        raise ConfigError(file, f"{key}.{exc.args[0]}", "missing key", expected="a number") from None
    if not (0 < d.median <= d.mean) or d.min_tokens < 1 or d.max_tokens < d.min_tokens:
        raise ConfigError(file, key, "bad value", value=data, has_value=True,
                          expected="0 < median <= mean, 1 <= min <= max")
    return d


def load_request_dist(name_or_path: str | Path) -> RequestDist:
    """A shipped distribution by name (``alpaca``, ``sharegpt``) or a YAML file path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = requests_dir() / f"{name_or_path}.yaml"
    if not path.is_file():
        shipped = sorted(p.stem for p in requests_dir().glob("*.yaml"))
        raise ConfigError(str(name_or_path), "<file>", "no such request distribution",
                          expected=f"a YAML file or one of {shipped}")
    data = yaml.safe_load(path.read_text()) or {}
    return RequestDist(str(data.get("name", path.stem)), _length(path, "input_tokens", data.get("input_tokens")),
                       _length(path, "output_tokens", data.get("output_tokens")),
                       int(data.get("max_seq_len", 2048)))

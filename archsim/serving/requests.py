"""Request-length distributions (``workloads/requests/*.yaml``) and seeded sampling of request sets.

A distribution file gives input and output lengths in tokens either as

* ``distribution: empirical`` — a table of equal-probability quantiles of the dataset's token counts
  (inverse-CDF sampling, piecewise constant), with an optional ``rank_correlation`` (Spearman) between
  input and output applied through a Gaussian copula; or
* ``distribution: lognormal`` — a clipped log-normal fitted to a median and mean.

The datasets themselves are not shipped. Sampling is deterministic for a seed (numpy ``default_rng``).
Lengths are not clipped to ``max_seq_len``: as in NeuPIMs' trace generator, a request's KV context is
capped at ``max_seq_len`` while it keeps generating (``archsim.serving.state``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archsim.errors import ConfigError


def requests_dir() -> Path:
    """The directory of shipped request-length distributions."""
    from archsim.shipped import shipped_dir

    return shipped_dir("workloads") / "requests"


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
class EmpiricalDist:
    """Token counts by inverse CDF over ``quantiles`` (equal-probability bins, sorted ascending)."""

    quantiles: tuple[int, ...]

    @property
    def mean(self) -> float:
        return float(np.mean(self.quantiles))

    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        """Lengths for uniform variates ``u`` in [0, 1)."""
        q = np.asarray(self.quantiles, np.int64)
        return q[np.minimum((np.asarray(u) * q.size).astype(np.int64), q.size - 1)]

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.from_uniform(rng.random(n))


_ERF = np.vectorize(math.erf, otypes=[float])


def standard_normal_cdf(z: np.ndarray) -> np.ndarray:
    """Phi(z) of the standard normal, elementwise (via math.erf; n is a request count, not a hot loop)."""
    return 0.5 * (1.0 + _ERF(np.asarray(z, dtype=float) / math.sqrt(2.0)))


@dataclass(frozen=True)
class RequestDist:
    """Input and output length distributions of one dataset (tokens)."""

    name: str
    input_tokens: LengthDist | EmpiricalDist
    output_tokens: LengthDist | EmpiricalDist
    max_seq_len: int = 2048
    rank_correlation: float = 0.0

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(input lengths, output lengths ≥ 1) of ``n`` requests. Empirical pairs are drawn through a
        Gaussian copula with the file's Spearman ``rank_correlation``; log-normal ones independently."""
        if isinstance(self.input_tokens, EmpiricalDist) and isinstance(self.output_tokens, EmpiricalDist):
            rho = 2.0 * math.sin(math.pi * self.rank_correlation / 6.0)   # Spearman -> Pearson (normal)
            z1 = rng.standard_normal(n)
            z2 = rho * z1 + math.sqrt(max(0.0, 1.0 - rho * rho)) * rng.standard_normal(n)
            inp = self.input_tokens.from_uniform(standard_normal_cdf(z1))
            out = self.output_tokens.from_uniform(standard_normal_cdf(z2))
        else:
            inp = self.input_tokens.sample(rng, n)
            out = self.output_tokens.sample(rng, n)
        return inp, np.maximum(1, out)


def _length(file: Path, key: str, data) -> LengthDist | EmpiricalDist:
    kind = data.get("distribution") if isinstance(data, dict) else data
    if kind == "empirical":
        q = data.get("quantiles")
        if not isinstance(q, list) or not q or any(not isinstance(x, int) or x < 1 for x in q) or q != sorted(q):
            raise ConfigError(file, f"{key}.quantiles", "bad value", value=q, has_value=True,
                              expected="a non-empty ascending list of positive integers")
        return EmpiricalDist(tuple(q))
    if kind != "lognormal":
        raise ConfigError(file, f"{key}.distribution", "bad value", value=kind, has_value=True,
                          expected="lognormal or empirical")
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
    from archsim.config.yaml_file import read_yaml_file

    data = read_yaml_file(path, "request distribution") or {}
    return RequestDist(str(data.get("name", path.stem)), _length(path, "input_tokens", data.get("input_tokens")),
                       _length(path, "output_tokens", data.get("output_tokens")),
                       int(data.get("max_seq_len", 2048)), float(data.get("rank_correlation", 0.0)))

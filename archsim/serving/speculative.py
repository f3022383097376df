"""Speculative decoding (Leviathan et al., ICML'23; Chen et al., 2023): a small draft model proposes
``draft_tokens`` = k tokens one decode step at a time, then the target model checks all of them in one
verification pass of k + 1 tokens per sequence (``--set phase=decode --set decode_tokens=k+1``).

With each drafted token accepted independently with probability ``acceptance`` = α (Leviathan et al. §3.1),
a round yields

    tokens per round = (1 - α^(k+1)) / (1 - α)          (k + 1 when α = 1)

(the accepted prefix plus the target's own next token), and takes

    round time = k × draft step + verification pass,

both step times coming from engine runs of the two models on the same system (the draft runs on the
target's devices, in turn with it). Decode that streams its weights is memory-bound, so a pass of k + 1
tokens costs about one token's time, and the speed-up is close to the tokens per round.

This module is the arithmetic only: ``step_seconds(model, decode_tokens)`` is whatever runs one decode step
of ``model`` on the system under study (``experiments/sn40l.py`` uses the RDU's fused kernels).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from archsim.errors import ArchsimError


def expected_tokens_per_round(acceptance: float, draft_tokens: int) -> float:
    """Tokens a round yields on average: (1 - α^(k+1)) / (1 - α), for 0 <= α <= 1 and k >= 0."""
    if not 0.0 <= acceptance <= 1.0:
        raise ArchsimError(f"acceptance rate {acceptance} is outside [0, 1]")
    if draft_tokens < 0:
        raise ArchsimError(f"draft_tokens={draft_tokens} must be >= 0")
    if acceptance == 1.0:
        return float(draft_tokens + 1)
    return (1.0 - acceptance ** (draft_tokens + 1)) / (1.0 - acceptance)


def acceptance_for_tokens_per_round(tokens_per_round: float, draft_tokens: int) -> float:
    """The α at which a round of k drafted tokens yields ``tokens_per_round`` (bisection: it rises with α)."""
    if not 1.0 <= tokens_per_round <= draft_tokens + 1:
        raise ArchsimError(f"{tokens_per_round:.3f} tokens per round is unreachable with draft_tokens="
                           f"{draft_tokens}: a round yields between 1 and {draft_tokens + 1}")
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if expected_tokens_per_round(mid, draft_tokens) < tokens_per_round:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@dataclass(frozen=True)
class SpeculativeDecode:
    """One speculative-decoding configuration and its per-sequence rate."""

    draft_tokens: int          # k drafted per round
    acceptance: float          # α, per drafted token
    draft_step_s: float        # one decode step of the draft model
    verify_step_s: float       # one decode step of the target over k + 1 tokens
    plain_step_s: float        # one ordinary decode step of the target (the baseline)

    @property
    def tokens_per_round(self) -> float:
        return expected_tokens_per_round(self.acceptance, self.draft_tokens)

    @property
    def round_s(self) -> float:
        return self.draft_tokens * self.draft_step_s + self.verify_step_s

    @property
    def tokens_per_s(self) -> float:
        """Tokens per second per sequence."""
        return self.tokens_per_round / self.round_s

    @property
    def speedup(self) -> float:
        """Over plain decoding of the target."""
        return self.tokens_per_s * self.plain_step_s


StepSeconds = Callable[[str, int], float]


def speculative_decode(step_seconds: StepSeconds, target: str, draft: str, draft_tokens: int,
                       acceptance: float) -> SpeculativeDecode:
    """Run the three steps (draft, verification of k + 1, plain target) and combine them."""
    if draft_tokens < 1:
        raise ArchsimError(f"draft_tokens={draft_tokens} must be >= 1 (0 is plain decoding)")
    return SpeculativeDecode(draft_tokens, acceptance, step_seconds(draft, 1),
                             step_seconds(target, draft_tokens + 1), step_seconds(target, 1))


def calibrate_acceptance(step_seconds: StepSeconds, target: str, draft: str, draft_tokens: int,
                         tokens_per_s: float) -> SpeculativeDecode:
    """The configuration whose α makes ``target`` reach ``tokens_per_s`` per sequence with k drafted tokens."""
    base = speculative_decode(step_seconds, target, draft, draft_tokens, 0.0)
    alpha = acceptance_for_tokens_per_round(tokens_per_s * base.round_s, draft_tokens)
    return SpeculativeDecode(draft_tokens, alpha, base.draft_step_s, base.verify_step_s, base.plain_step_s)

"""The live batch: request slots, their KV-cache lengths, PIM channel placement and replacement.

Slots are split into ``sub_batches`` equal groups (sub-batch interleaving runs each group as its own
stream). When a request emits its last token its slot takes the next request of the seeded request
stream (continuous batching); the newcomer's KV cache holds its prompt (prefill is not timed, as in
NeuPIMs' generation-phase throughput). Channel placement is fixed at admission:

* ``round_robin``: the n-th admitted request of a sub-batch goes to channel n mod channels;
* ``greedy``: NeuPIMs' greedy min-load bin packing — the channel whose requests of that sub-batch hold
  the fewest KV tokens.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from archsim.errors import ConfigError
from archsim.serving.requests import RequestDist


@dataclass
class BatchState:
    """Per-slot arrays (int64): ``context`` tokens in the KV cache, ``remaining`` tokens to generate,
    ``channel`` holding its KV cache, ``sub_batch`` of the slot."""

    dist: RequestDist
    batch: int
    sub_batches: int
    channels: int
    policy: str
    rng: np.random.Generator
    context: np.ndarray = field(init=False)
    remaining: np.ndarray = field(init=False)
    channel: np.ndarray = field(init=False)
    sub_batch: np.ndarray = field(init=False)
    admitted: int = 0
    completed: int = 0
    _rr: np.ndarray = field(init=False)
    _placed: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        if self.policy not in ("greedy", "round_robin"):
            raise ValueError(f"channel policy {self.policy!r}: expected 'greedy' or 'round_robin'")
        self.sub_batch = np.arange(self.batch, dtype=np.int64) % self.sub_batches
        self.context = np.zeros(self.batch, np.int64)
        self.remaining = np.zeros(self.batch, np.int64)
        self.channel = np.zeros(self.batch, np.int64)
        self._rr = np.zeros(self.sub_batches, np.int64)
        self._placed = np.zeros(self.batch, bool)
        self.admit(np.arange(self.batch))

    @classmethod
    def from_snapshot(cls, dist: RequestDist, contexts, channels, sub_batches: int, n_channels: int,
                      policy: str, rng: np.random.Generator, remaining: int) -> "BatchState":
        """A batch that starts from given KV lengths and channels (e.g. one of NeuPIMs' request-trace
        snapshots): slot i holds ``contexts[i]`` tokens on channel ``channels[i]`` with ``remaining``
        tokens still to generate; later admissions sample ``dist``."""
        contexts = np.asarray(contexts, np.int64)
        channels = np.asarray(channels, np.int64)
        if contexts.shape != channels.shape or contexts.ndim != 1 or contexts.size == 0:
            raise ConfigError("snapshot", "contexts", "contexts and channels differ in shape",
                              expected="equal-length, non-empty 1-D arrays")
        if channels.min() < 0 or channels.max() >= n_channels:
            bad = int(channels[(channels < 0) | (channels >= n_channels)][0])
            raise ConfigError("snapshot", "channels", f"channel {bad} is not a PIM channel",
                              expected=f"channels 0..{n_channels - 1}")
        state = cls(dist, contexts.size, sub_batches, n_channels, policy, rng)
        state.context[:] = contexts
        state.channel[:] = channels
        state.remaining[:] = remaining
        if sub_batches > 1:
            # NeuPIMs splits every channel's requests into sub-batches of balanced PIM work
            # (Scheduler::group_sub_batches); here longest-first into the sub-batch lightest on that channel,
            # ties to the sub-batch with the fewest requests so far
            count = np.zeros(sub_batches, np.int64)
            for ch in np.unique(channels):
                load = np.zeros(sub_batches)
                mine = np.flatnonzero(channels == ch)
                for slot in mine[np.argsort(-contexts[mine], kind="stable")]:
                    k = min(range(sub_batches), key=lambda j: (load[j], count[j], j))
                    state.sub_batch[slot] = k
                    load[k] += contexts[slot]
                    count[k] += 1
        return state

    def admit(self, slots: np.ndarray) -> None:
        """Fill ``slots`` with fresh requests from the stream and place their KV caches."""
        if slots.size == 0:
            return
        inp, out = self.dist.sample(self.rng, slots.size)
        self.context[slots] = np.minimum(inp, self.dist.max_seq_len)
        self.remaining[slots] = out
        self._placed[slots] = False
        for slot in slots:
            sb = self.sub_batch[slot]
            if self.policy == "round_robin":
                self.channel[slot] = self._rr[sb] % self.channels
                self._rr[sb] += 1
            else:
                mine = (self.sub_batch == sb) & self._placed
                load = np.bincount(self.channel[mine], weights=self.context[mine], minlength=self.channels)
                self.channel[slot] = int(np.argmin(load))
            self._placed[slot] = True
        self.admitted += slots.size

    def warm_up(self, iterations: int) -> None:
        """Advance ``iterations`` decode steps without timing them (reach the steady-state length mix)."""
        for _ in range(iterations):
            self.step(np.arange(self.batch))

    def step(self, slots: np.ndarray) -> int:
        """One decode step of ``slots``: each gains one KV token; finished requests are replaced.
        Returns the number of requests that finished."""
        # NeuPIMs' trace generator: seq_len = min(input + generated, max_seq_len)
        self.context[slots] = np.minimum(self.context[slots] + 1, self.dist.max_seq_len)
        self.remaining[slots] -= 1
        done = slots[self.remaining[slots] <= 0]
        self.completed += done.size
        self.admit(done)
        return int(done.size)

    def slots_of(self, sb: int) -> np.ndarray:
        """Slot indices of sub-batch ``sb``."""
        return np.flatnonzero(self.sub_batch == sb)

"""Processing-in-memory DRAM (``kind: pim``): all-bank GEMV units beside every bank of a DRAM standard.

Each channel has ``banks_per_channel`` PIM banks with ``mac_units_per_bank`` multipliers each; a GEMV
runs in every bank at once (bank-level parallelism), one column burst per all-bank MAC command. The
command-level timing (grouped activation under tRRD/tFAW, MAC commands at tCCD_L, result readout,
precharge, refresh) is the Numba core ``archsim.kernels.pim_timing``; the timing numbers come from the
named DRAM standard (``archsim.hw.dram.standards``), so ``standard: HBM2_NeuPIMs`` is NeuPIMs' PIM HBM2.

Layout of a matrix (N output rows × K inputs, FP16 words) in one channel, Newton/NeuPIMs style:

* K ≤ one DRAM row's elements: ``row_elements // K`` matrix rows are packed side by side in a DRAM row
  (attention heads' keys, PIM-GPT's head concatenation) and the input vector is replicated in the
  global buffer; one job, ``ceil(rows / banks)`` tiles;
* K > a row: K is cut into row-sized chunks, one job (one GWRITE of that vector chunk) per chunk, each
  with ``ceil(N / banks)`` tiles; partial sums are read out per tile and reduced outside the banks.

``row_buffers`` is the NeuPIMs distinction: ``single`` (Newton, *blocked*: while a PIM command runs no
normal read/write can use the channel) or ``dual`` (a second row buffer per bank: normal reads and writes
proceed concurrently with PIM work, sharing only the command bus, where PIM commands have priority). A PIM
task's demand holds the data bus of ``memory`` (the DRAM of the architecture whose banks compute) for its
whole duration: all of it when blocked, with dual row buffers the share ordinary streams lose to the
command slots PIM commands take (``bus_hold``); the event engine makes ordinary traffic on that memory wait
or slow down accordingly.

``host_command_issue`` bounds a phase by the host's instruction issue (NeuPIMs' simulator issues one PIM
instruction per core cycle for all channels: NeuPIMSystolicWS::pim_ld_queue_cycle, casys-kaist/NeuPIMs
branch npu+pim). With ``per_command`` (Newton) every MAC command is an instruction
(NeuPIMSLogitSoftmax.cc: ``comps_per_head`` × PIM_COMP + PIM_READRES per head when dram_type is NEWTON);
with ``composite`` (NeuPIMs) one PIM_COMPS_READRES stands for a head's MACs and readout. Instructions
per phase: one GWRITE per job, one PIM_HEADER per tile, plus the MAC commands (per_command only) and one
per result burst; the phase takes at least instructions / rate. A bound, not an event-level model of
the issue queue.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from archsim.config.schema import StrictModel, memory_ref
from archsim.hw.demand import Demand, single_phase
from archsim.hw.registry import ComponentKind, register
from archsim.hw.shares import Split, split_op
from archsim.hw.systolic import op_key
from archsim.trace import TraceOp


class PimParams(StrictModel):
    """YAML parameters of ``kind: pim``."""

    kind: Literal["pim"]
    standard: str = Field(description="DRAM preset giving organisation and timing (e.g. HBM2_NeuPIMs, GDDR6)")
    channels: int | None = Field(default=None, gt=0, description="PIM channels (default: the standard's)")
    banks_per_channel: int = Field(gt=0, description="PIM banks per channel that compute at once")
    mac_units_per_bank: int = Field(gt=0, description="multipliers per bank (elements per MAC command)")
    word_bytes: int = Field(default=2, gt=0, description="bytes per element (FP16/BF16 = 2)")
    row_bytes: int | None = Field(default=None, gt=0, description="DRAM row (page) bytes per bank "
                                  "(default: the standard's row)")
    banks_per_activate: int = Field(default=4, gt=0, description="banks one grouped activation opens")
    mac_interval_cycles: int | None = Field(default=None, gt=0, description="cycles between all-bank MAC "
                                            "commands (default: the standard's tCCD_L)")
    row_buffers: Literal["single", "dual"] = Field(default="dual", description="single = blocked mode "
                                                   "(Newton); dual = NeuPIMs' dual row buffers")
    refresh: bool = Field(default=True, description="model all-bank refresh (tREFI/tRFC)")
    host_command_issue: Literal["unlimited", "per_command", "composite"] = Field(
        default="unlimited", description="how the host (NPU/ASIC) issues PIM work, one instruction at a time: "
        "per_command = Newton, every MAC command is its own instruction; composite = NeuPIMs' PIM_GEMV, one "
        "instruction per result; unlimited = issue never limits")
    host_issue_per_ns: float = Field(default=1.0, gt=0, description="PIM instructions the host issues per ns, "
                                     "over all channels (NeuPIMs' core: one per 1 GHz cycle)")
    timing_model: Literal["command", "newtonsim"] = Field(
        default="command", description="command = archsim's command-level core; newtonsim = the per-tile "
        "timeline NeuPIMs' NewtonSim produces (serial per-bank precharges, one grouped ACT per tFAW per rank, "
        "serialised GWRITE, pre-emptive refresh stalls), for comparisons with NeuPIMs' simulator")
    ranks: int = Field(default=1, gt=0, description="ranks per channel (newtonsim: grouped ACTs and refresh "
                       "are per rank; NeuPIMs' 1 GB HBM2 channels have 2)")
    clock_ghz: float | None = Field(default=None, gt=0, description="default: 1 / the standard's tCK")
    memory: str | None = memory_ref("the memory of the architecture whose banks compute (its data bus is held "
                                    "while PIM runs: all of it blocked, the command-bus share with dual row "
                                    "buffers)", ("dram",), default=None)
    kv_layout: Literal["neupims", "pim_gpt"] = Field(
        default="neupims", description="decode-attention layout: neupims = a request's KV on one channel, keys "
        "token-major with heads concatenated, V^T one row per bank row; pim_gpt = heads spread over channels, "
        "K and V^T per head with short rows packed")
    energy_standard: str | None = Field(default=None, description="DRAM standard of the energy table whose IDD "
                                        "currents price the commands (default: standard)")

    @field_validator("standard")
    @classmethod
    def _known_standard(cls, name: str) -> str:
        from archsim.hw.dram.standards import get_standard, preset_names

        try:
            get_standard(name)
        except KeyError:
            raise ValueError(f"unknown DRAM standard {name!r}; expected one of {preset_names()}") from None
        return name
    @field_validator("energy_standard")
    @classmethod
    def _known_idd_set(cls, value: str | None) -> str | None:
        from archsim.energy.table import check_idd_set_name

        return None if value is None else check_idd_set_name(value)


@dataclass(frozen=True)
class PimJobs:
    """Jobs for the timing core: one entry per (vector chunk, channel), in execution order per channel."""

    tiles: np.ndarray
    mac_cmds: np.ndarray
    gwrite_bursts: np.ndarray
    readout_bursts: np.ndarray
    channel: np.ndarray
    macs: int = 0

    @staticmethod
    def concat(parts: list["PimJobs"]) -> "PimJobs":
        """All jobs of ``parts``, in order."""
        parts = [p for p in parts if p.tiles.size]
        if not parts:
            z = np.zeros(0, np.int64)
            return PimJobs(z, z, z, z, z, 0)
        return PimJobs(*(np.concatenate([getattr(p, f) for p in parts]).astype(np.int64)
                         for f in ("tiles", "mac_cmds", "gwrite_bursts", "readout_bursts", "channel")),
                       macs=sum(p.macs for p in parts))


@dataclass(frozen=True)
class PimCost:
    """Timing of a batch of PIM jobs: cycles of the PIM clock, per channel and overall, and command counts.

    ``counts`` columns: bank activations, MAC commands, RDRESULT bursts, GWRITE bursts, precharges,
    refreshes, command-bus slots. ``ca_fraction`` is the share of the busiest channel's cycles its
    command bus carried PIM commands (what dual-row-buffer normal traffic has to share).
    """

    cycles: int
    channel_cycles: np.ndarray
    counts: dict[str, int]
    macs: int
    ca_fraction: float
    peak_macs_per_cycle: int = 0

    @property
    def utilization(self) -> float:
        """MACs done / (cycles × all multipliers)."""
        return self.macs / (self.cycles * self.peak_macs_per_cycle) if self.cycles and self.peak_macs_per_cycle else 0.0


# Mean cycles NewtonSim loses per (rank-staggered) refresh in NeuPIMs mode, measured on an instrumented run of
# NeuPIMs' simulator (80 refreshes on one channel: ~232 idle pre-emptive stall + 30 to issue the REF + 226 more
# to the first PIM command, as tRFC delays the refreshed rank's grouped activation); see newtonsim_channel_cycles.
NEWTONSIM_REFRESH_LOSS = 507

COUNT_NAMES = ("bank_activations", "mac_cmds", "readout_bursts", "gwrite_bursts", "precharges", "refreshes",
               "ca_commands")


class PimDevice:
    """Engine model of ``kind: pim``: GEMV timing on all banks of all channels."""

    def __init__(self, name: str, params: PimParams, arch=None) -> None:
        from archsim.hw.dram.standards import get_standard

        self.name = name
        self.params = params
        std = get_standard(params.standard)
        self.standard = std
        t = std.timing
        self.channels = params.channels or std.org.channels
        self.banks = params.banks_per_channel
        self.access_bytes = std.org.access_bytes
        self.row_bytes = params.row_bytes or std.org.row_bytes
        self.row_elements = self.row_bytes // params.word_bytes
        self.clock_ghz = params.clock_ghz or 1.0 / std.tck_ns
        mac_interval = params.mac_interval_cycles or int(t["tCCD_L"])
        self.timing = np.array([t["tRCDRD"], t["tRAS"], t["tRP"], t["tRRD_S"], t["tFAW"], mac_interval,
                                t["tCCD_S"], t["tBL"], t["CL"], t["CWL"], t["tREFI"], t["tRFC"]], np.int64)
        self._demands: dict[tuple, Demand] = {}

    # ------------------------------------------------------------------ geometry
    @property
    def peak_macs_per_cycle(self) -> int:
        """Multipliers in all banks of all channels (MACs per PIM cycle at one command per cycle)."""
        return self.channels * self.banks * self.params.mac_units_per_bank

    @property
    def kv_channels(self) -> int:
        """Channels a request's KV cache may be placed on (one per request, ``kv_layout: neupims``)."""
        return self.channels

    def _bursts(self, n_bytes):
        return -(-np.asarray(n_bytes, np.int64) // self.access_bytes)

    def gemv_jobs(self, n_rows, k_cols, channel, repeats=1, pack_short_rows: bool = True) -> PimJobs:
        """Jobs of ``repeats`` GEMVs per entry (N=``n_rows`` outputs, K=``k_cols`` inputs) on ``channel``.

        Arguments broadcast (numpy arrays of requests, or scalars). Packs short rows (unless
        ``pack_short_rows`` is false: one matrix row per bank row, as NeuPIMs stores V^T), chunks long ones
        (see module docstring). Jobs of one entry stay contiguous and in entry order.
        """
        n = np.atleast_1d(np.asarray(n_rows, np.int64))
        k = np.atleast_1d(np.asarray(k_cols, np.int64))
        n, k, ch, rep = np.broadcast_arrays(n, k, np.atleast_1d(np.asarray(channel, np.int64)),
                                            np.atleast_1d(np.asarray(repeats, np.int64)))
        wb, mac, re, banks = self.params.word_bytes, self.params.mac_units_per_bank, self.row_elements, self.banks
        packed = (k <= re) & pack_short_rows
        # packed entries: one job each
        per_row = np.maximum(1, re // np.maximum(k, 1))
        used_rows = np.minimum(n, per_row)
        dram_rows = -(-n // per_row)
        p_tiles = -(-dram_rows // banks)
        p_mac = -(-(used_rows * k) // mac)
        p_gw = self._bursts(used_rows * k * wb)
        p_rd = self._bursts(banks * used_rows * wb)
        # chunked entries: ceil(K / row) jobs each
        chunks = np.where(packed, 1, -(-k // re))
        c_tiles = -(-n // banks)
        order = np.arange(n.size)
        # expand entries by repeats × chunks, keeping entry order
        n_jobs = rep * chunks
        ent = np.repeat(order, n_jobs)
        if ent.size == 0:
            return PimJobs.concat([])
        pos = np.arange(ent.size) - np.repeat(np.cumsum(n_jobs) - n_jobs, n_jobs)
        chunk_i = pos % np.repeat(chunks, n_jobs)
        is_packed = packed[ent]
        last_len = k[ent] - (chunks[ent] - 1) * re
        chunk_len = np.where(chunk_i == chunks[ent] - 1, last_len, re)
        tiles = np.where(is_packed, p_tiles[ent], c_tiles[ent])
        macc = np.where(is_packed, p_mac[ent], -(-chunk_len // mac))
        gw = np.where(is_packed, p_gw[ent], self._bursts(chunk_len * wb))
        rd = np.where(is_packed, p_rd[ent], self._bursts(np.full(ent.size, banks * wb)))
        macs = int((n * k * rep).sum())
        return PimJobs(tiles.astype(np.int64), macc.astype(np.int64), gw.astype(np.int64), rd.astype(np.int64),
                       ch[ent].astype(np.int64), macs)

    def head_concat_jobs(self, tokens, heads: int, head_dim: int, channel) -> PimJobs:
        """Attention logits K·q of requests with ``tokens`` keys each, K stored token-major with heads
        concatenated: a bank row holds one token's keys of ``row_elements // head_dim`` heads (NeuPIMs'
        PIMTensor KEY layout, PIM-GPT's head concatenation), so a tile covers ``banks`` tokens.

        Per request (on its ``channel``) and per row-sized chunk of heads: one job whose GWRITE carries
        those heads' queries, ``ceil(tokens / banks)`` tiles, each with ``heads_in_chunk × ceil(head_dim /
        mac_units)`` MAC commands and one result burst per head (NeuPIMSLogitSoftmax.cc: chunks = E / page,
        tiles_per_chunk = allocated_seq_len / banks, comps_per_head = dk / pim_comp_coverage, one READRES
        per head; casys-kaist/NeuPIMs@f299af3)."""
        t = np.atleast_1d(np.asarray(tokens, np.int64))
        t, ch = np.broadcast_arrays(t, np.atleast_1d(np.asarray(channel, np.int64)))
        per_row = max(1, self.row_elements // head_dim)
        chunk_heads = [min(per_row, heads - h0) for h0 in range(0, heads, per_row)]
        n_chunks = len(chunk_heads)
        hc = np.tile(np.array(chunk_heads, np.int64), t.size)
        tiles = np.repeat(-(-t // self.banks), n_chunks)
        mac = hc * -(-head_dim // self.params.mac_units_per_bank)
        gw = self._bursts(hc * head_dim * self.params.word_bytes)
        rd = hc * self._bursts(self.banks * self.params.word_bytes)
        return PimJobs(tiles.astype(np.int64), mac.astype(np.int64), gw.astype(np.int64), rd.astype(np.int64),
                       np.repeat(ch, n_chunks).astype(np.int64), int((t * heads * head_dim).sum()))

    def weight_gemv_jobs(self, n_rows: int, k_cols: int) -> PimJobs:
        """One weight GEMV (N×K) partitioned over all channels by output rows (PIM-GPT's mapping)."""
        per = -(-n_rows // self.channels)
        rows = np.array([max(0, min(per, n_rows - c * per)) for c in range(self.channels)], np.int64)
        keep = rows > 0
        jobs = self.gemv_jobs(rows[keep], k_cols, np.arange(self.channels)[keep])
        return PimJobs(jobs.tiles, jobs.mac_cmds, jobs.gwrite_bursts, jobs.readout_bursts, jobs.channel,
                       n_rows * k_cols)

    # ------------------------------------------------------------------ timing
    def run(self, jobs: PimJobs) -> PimCost:
        """Simulate ``jobs`` on the command-level core; cycles of this device's clock."""
        from archsim.kernels.pim_timing import channel_cycles

        if jobs.tiles.size == 0:
            return PimCost(0, np.zeros(self.channels, np.int64), dict.fromkeys(COUNT_NAMES, 0), 0, 0.0,
                           self.peak_macs_per_cycle)
        if jobs.channel.max() >= self.channels or jobs.channel.min() < 0:
            raise ValueError(f"PIM job on channel {int(jobs.channel.max())}, device has {self.channels}")
        finish, counts = channel_cycles(jobs.tiles, jobs.mac_cmds, jobs.gwrite_bursts, jobs.readout_bursts,
                                        jobs.channel, self.channels, self.banks, self.params.banks_per_activate,
                                        self.timing, self.params.refresh)
        total = counts.sum(axis=0)
        if self.params.timing_model == "newtonsim":
            finish = self.newtonsim_channel_cycles(jobs)
        finish = self.with_host_issue(finish, self.channel_instructions(jobs, counts))
        cycles = int(finish.max())
        busiest = int(np.argmax(finish))
        ca = float(counts[busiest, 6]) / cycles if cycles else 0.0
        return PimCost(cycles, finish, {n: int(v) for n, v in zip(COUNT_NAMES, total)}, jobs.macs, ca,
                       self.peak_macs_per_cycle)

    def newtonsim_channel_cycles(self, jobs: PimJobs) -> np.ndarray:
        """Per-channel cycles of ``jobs`` on the timeline NeuPIMs' NewtonSim produces (casys-kaist/NeuPIMs
        extern/NewtonSim/src; derived from its source and checked command by command on instrumented runs,
        docs/pim.md). Single row buffer (Newton, branch npu+pim): tile = header + grouped ACTs + tRCD +
        one slot per COMP/READRES + tRTP + per-bank precharges (logit tile 213 cycles); GWRITE tRP + tRCD + 96.
        Dual row buffers (NeuPIMs, main), per tile with H results of c MAC commands each:

        * ``banks`` per-bank PIM precharges, one per cycle, plus the PIM_HEADER's slot (channel_state.cc:154-176,
          neupims_controller.cc:457-460);
        * grouped activations: one G_ACT per tFAW per rank, ranks interleaved a cycle apart
          (timing.cc:396-398; G_ACTs never enter the four-activate window, channel_state.cc:404-405);
        * tRCD to the first PIM_COMPS_READRES; the next ones every max(tBL, tCCD_S)·(max(c, 6) + 1)
          (channel_state.cc:484-505); the last one's MACs and readout are off the critical path, and the next
          tile's precharges start tRTP after its issue (timing.cc:429-440);
        * a GWRITE per job stalls the queue 2 + (tCCD_S + tCCD_L)·32 − tRTP cycles (neupims_command_queue.cc:
          279-287, configuration.cc:352);
        * refresh every tREFI / ranks cycles costs ``NEWTONSIM_REFRESH_LOSS`` cycles on average (the
          pre-emptive PIM stall, the REF, then tRFC before the refreshed rank's next G_ACT; mean measured
          over 80 refreshes of a NeuPIMs run).
        """
        t = self.standard.timing
        ranks = self.params.ranks
        groups = -(-self.banks // self.params.banks_per_activate)
        h = np.maximum(jobs.readout_bursts, 1)
        c = -(-jobs.mac_cmds // h)
        slot = max(int(t["tBL"]), int(t["tCCD_S"]))
        act_chain = (-(-groups // ranks) - 1) * int(t["tFAW"]) + (ranks - 1)
        gwrite_delay = (int(t["tCCD_S"]) + int(t["tCCD_L"])) * 32
        if self.params.row_buffers == "single":
            # Newton mode (branch npu+pim, newton_controller.cc): every COMP and READRES is its own command,
            # one per slot after tRCD; the 32 precharges follow tRTP after the last; a GWRITE needs the
            # normal row reopened: tRP + tRCD + the GWRITE delay
            n_cmds = jobs.mac_cmds + jobs.readout_bursts
            tile = (1 + act_chain + int(t["tRCDRD"]) + slot * (n_cmds - 1) + int(t["tRTP"]) + self.banks)
            gwrite = int(t["tRP"]) + int(t["tRCDRD"]) + gwrite_delay
        else:
            tile = (self.banks + 1 + act_chain + int(t["tRCDRD"])
                    + (h - 1) * slot * (np.maximum(c, 6) + 1) + int(t["tRTP"]))
            gwrite = 2 + gwrite_delay - int(t["tRTP"])
        busy = np.bincount(jobs.channel, weights=jobs.tiles * tile + np.where(jobs.tiles > 0, gwrite, 0),
                           minlength=self.channels)
        if self.params.refresh:
            busy = busy / (1.0 - NEWTONSIM_REFRESH_LOSS / (int(t["tREFI"]) / ranks))
        return np.ceil(busy).astype(np.int64)

    def channel_instructions(self, jobs: PimJobs, counts: np.ndarray) -> np.ndarray:
        """PIM instructions the host issues per channel (``counts``: the core's per-channel command counts):
        a GWRITE per job, a header per tile, one per result burst, and every MAC command with per-command
        issue; zeros when issue is unlimited."""
        mode = self.params.host_command_issue
        if mode == "unlimited":
            return np.zeros(self.channels, np.int64)
        n = np.bincount(jobs.channel[jobs.tiles > 0], minlength=self.channels) + counts[:, 4] + counts[:, 2]
        return (n + counts[:, 1] if mode == "per_command" else n).astype(np.int64)

    def with_host_issue(self, finish: np.ndarray, instructions: np.ndarray) -> np.ndarray:
        """Per-channel finish cycles once the host's one-at-a-time instruction issue is accounted for.

        ``per_command`` (Newton): instructions go out channel after channel, so channel c starts when the
        instructions of all channels before it have left (no back-pressure crosses channels: NeuPIMSCore.cc:
        324-327 queues are unbounded per channel; the requests come out sorted by channel). ``composite``:
        a bound, the busiest channel finishes no earlier than all instructions have been issued."""
        mode = self.params.host_command_issue
        if mode == "unlimited":
            return finish
        per_cycle = self.params.host_issue_per_ns / self.clock_ghz
        if mode == "per_command":
            start = np.concatenate([[0], np.cumsum(instructions)[:-1]])
            return np.where(instructions > 0, finish + np.ceil(start / per_cycle).astype(np.int64), 0)
        bound = int(math.ceil(instructions.sum() / per_cycle))
        out = finish.copy()
        busiest = int(np.argmax(out))
        out[busiest] = max(out[busiest], bound)
        return out

    # ------------------------------------------------------------------ engine interface
    @staticmethod
    def is_attention(op: TraceOp) -> bool:
        """Decode attention: a matrix op over the KV cache (q·K^T or p·V)."""
        return op.kind in ("gemv", "gemm") and op.kv_cache_bytes > 0

    def supports(self, op: TraceOp) -> bool:
        """Weight GEMVs (``kind: gemv``) and decode attention over the KV cache; everything else goes to the
        host (NPU / ASIC)."""
        return op.kind == "gemv" or self.is_attention(op)

    def attention_jobs(self, op: TraceOp, kv_channels=None) -> PimJobs:
        """The PIM jobs of a decode-attention op whose requests' KV caches sit on ``kv_channels`` (one channel
        per request; default: request r on channel r mod channels), in the device's ``kv_layout``:

        * ``neupims`` — a request's KV cache on one channel; keys token-major with its heads concatenated in a
          row (``head_concat_jobs``), V^T one row per bank row (NeuPIMs' PIMTensor KEY/VALUE layout);
        * ``pim_gpt`` — a request's heads spread over the channels; per head K row-major (context × d) and
          V^T (d × context), short rows packed (PIM-GPT's mapping).

        The query heads of a request (KV heads × the GQA group) each make their own pass over the rows."""
        ragged = op.ragged_dim or "N"
        lens = np.asarray(op.seq_lens or (op.dim(ragged),) * op.dim("B", 1), np.int64)
        heads = op.dim("B", 1) // lens.size * op.dim("M", 1)
        logit = ragged == "N"
        head_dim = op.dim("K") if logit else op.dim("N")
        if self.params.kv_layout == "pim_gpt":
            ctx = np.repeat(lens, heads)
            ch = np.arange(ctx.size, dtype=np.int64) % self.channels
            order = np.argsort(ch, kind="stable")
            ctx, ch = ctx[order], ch[order]
            return self.gemv_jobs(ctx, head_dim, ch) if logit else self.gemv_jobs(head_dim, ctx, ch)
        if kv_channels is None:
            ch = np.arange(lens.size, dtype=np.int64) % self.channels
        else:
            ch = np.asarray(kv_channels, np.int64)
            if ch.shape != lens.shape:
                raise ValueError(f"op {op.name!r}: {ch.size} KV channels for {lens.size} requests")
        order = np.argsort(ch, kind="stable")
        lens, ch = lens[order], ch[order]
        if logit:
            return self.head_concat_jobs(lens, heads, head_dim, ch)
        return self.gemv_jobs(head_dim, lens, ch, repeats=heads, pack_short_rows=False)

    def demand(self, op: TraceOp, resident: frozenset[str] = frozenset(), kv_channels=None,
               **_placement) -> Demand:
        """Demand of a weight GEMV (partitioned over all channels by output rows, one pass per input vector)
        or of decode attention (``attention_jobs``) in PIM cycles. While it runs it holds the data bus of the
        memory its banks belong to (``memory``): ``bus_hold`` of it. Cached per (op shape, channels): every
        layer of a decode step asks the same."""
        channels = None if kv_channels is None else np.asarray(kv_channels, np.int64)
        key = (op_key(op), None if channels is None else channels.tobytes())
        hit = self._demands.get(key)
        if hit is None:
            if len(self._demands) > 4096:
                self._demands.clear()
            hit = self._demands[key] = self._demand(op, channels)
        return hit

    def _demand(self, op: TraceOp, kv_channels) -> Demand:
        if self.is_attention(op):
            jobs = self.attention_jobs(op, kv_channels)
        else:
            vectors = op.dim("B", 1) * op.dim("M", 1)
            jobs = PimJobs.concat([self.weight_gemv_jobs(op.dim("N"), op.dim("K"))] * vectors)
        cost = self.run(jobs)
        holds = {}
        if self.params.memory:
            holds[self.params.memory] = self.bus_hold(cost.ca_fraction)
        processed = op.kv_cache_bytes if self.is_attention(op) else op.weight_bytes
        return single_phase(cost.cycles, None, compute_cycles=cost.cycles, macs=op.macs,
                            utilization=cost.utilization, holds=holds,
                            traffic_bytes={f"{self.name}.banks.read": float(processed)},
                            actions={k: float(v) for k, v in cost.counts.items() if v})

    def bus_hold(self, ca_fraction: float) -> float:
        """Fraction of the memory's data bandwidth ordinary traffic loses while PIM runs. Blocked (single row
        buffer): all of it. Dual row buffers: ordinary streaming needs one RD/WR command per burst, i.e. one
        command-bus slot every ``burst_cycles`` cycles; PIM commands (priority) take ``ca_fraction`` of the
        slots, so streams keep full speed while ``(1 - ca_fraction) × burst_cycles >= 1`` and lose the rest."""
        if self.params.row_buffers == "single":
            return 1.0
        return max(0.0, 1.0 - (1.0 - ca_fraction) * self.standard.burst_cycles)

    def split(self, op: TraceOp, n: int) -> Split:
        """``n`` shares of ``op`` for identical PIM devices."""
        return split_op(op, n)


def price_pim(pricer, name: str, p: PimParams) -> None:
    """PIM commands priced from an IDD set of the energy table (``archsim.energy.dram``): a bank activation =
    ACT+PRE of a row's bits, an all-bank MAC command = the table's ``all_bank_compute`` multiple of one read
    command (NeuPIMs' relation), result and GWRITE bursts = a read / write burst; static = one device's
    background and refresh per channel. The IDD set: ``energy_standard``, else the one energy accounting gives
    the memory (``energy.dram_standard.<memory>``), else that memory's ``energy_standard``, else ``standard`` (a
    timing preset without an IDD set of its name is priced with its family's: HBM2_NeuPIMs -> HBM2)."""
    from archsim.energy.dram import dram_energy
    from archsim.energy.prices import Price
    from archsim.hw.dram.standards import get_standard

    who = f"engines.{name}"
    host = pricer.arch.memories.get(p.memory) if p.memory else None
    std_name = (p.energy_standard or (pricer.spec.dram_standard.get(p.memory) if p.memory else None)
                or getattr(host, "energy_standard", None) or p.standard)
    idd, chosen = pricer.table.dram_idd_set(std_name, who)
    de = dram_energy(idd)
    std = get_standard(p.standard)
    row_bits = (p.row_bytes or std.org.row_bytes) * 8
    burst_bits = std.org.access_bytes * 8
    mult = pricer.table.pim_relation("all_bank_compute")["read_command_multiple"]
    label = f"dram[{chosen}]"
    prices = {"bank_activations": de.activate_pj_per_row_bit * row_bits,
              "mac_cmds": mult * de.read_pj_per_bit * burst_bits,
              "readout_bursts": de.read_pj_per_bit * burst_bits, "gwrite_bursts": de.write_pj_per_bit * burst_bits,
              "precharges": 0.0, "refreshes": 0.0, "ca_commands": 0.0}
    for action, pj in prices.items():
        pricer.book.dynamic[(name, action)] = Price(name, action, pj, "command", (label,))
    pricer.book.area_um2[name] = float("nan")
    if pricer.spec.include_static and not p.memory:
        channels = p.channels or std.org.channels
        pricer.book.static_mw[name] = channels * (de.background_mw_per_device + de.refresh_mw_per_device)


PIM = register(ComponentKind("pim", "engine", PimParams, PimDevice,
                             "all-bank PIM DRAM (MAC units per bank, single or dual row buffers)", pricer=price_pim))

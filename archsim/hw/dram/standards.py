"""DRAM standards as data: organisation, timing presets and the declarative timing-constraint table.

A ``DramStandard`` is pure data: the organisation (channels, ranks, bank groups, banks, rows,
columns, bus width, burst length), the timing parameters in memory-clock cycles (tCK_ns), and the
controller defaults the standard's source simulator ships with. The timing *rules* are not code
either: ``CONSTRAINT_RULES`` lists each one as "command A → command B at level L ≥ expr cycles"
(Ramulator 2 style), and ``constraint_table`` evaluates the expressions for one standard.
Adding a standard is adding one entry to ``PRESETS``.

Sources (facts transcribed from ``reference/dram_timings.yaml``, which gathered them from):

* DRAMsim3: umd-memsys/DRAMsim3 at commit 2981759, ``configs/*.ini`` (DRAMsim3 derives
  tRC = tRAS + tRP; its tRTP/tRTRS/AL defaults 5/2/0 apply where an ini omits them).
* Ramulator 2: CMU-SAFARI/ramulator2 (2.1) at commit c5b1c3a, ``python/ramulator/dram/*.py``
  presets with the secondary timings resolved. Ramulator 2 has no tRTRS or AL; archsim uses
  DRAMsim3's defaults (2 and 0) for those and lists them in ``defaults_applied``.

HBM pseudo channels (Ramulator 2 presets) are modelled as independent channels with the pseudo
channel's bus width, so ``channels`` counts pseudo channels there.
"""
from __future__ import annotations

import ast
import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any, Mapping

# Command types of the device model (indices into the kernel's per-bank earliest-issue table).
CMD_ACT, CMD_PRE, CMD_RD, CMD_WR, CMD_RDA, CMD_WRA, CMD_REF = range(7)
COMMANDS = ("ACT", "PRE", "RD", "WR", "RDA", "WRA", "REF")
CMD_INDEX = {name: i for i, name in enumerate(COMMANDS)}

# Levels a constraint applies at. "rank" means every bank of the issuing rank (including the
# issuing bank); "other_ranks" means every bank of the *other* ranks of the channel only.
LEVEL_BANK, LEVEL_BANKGROUP, LEVEL_RANK, LEVEL_OTHER_RANKS, LEVEL_CHANNEL = range(5)
LEVELS = ("bank", "bankgroup", "rank", "other_ranks", "channel")
LEVEL_INDEX = {name: i for i, name in enumerate(LEVELS)}

ADDRESS_FIELDS = ("ch", "ra", "bg", "ba", "ro", "co")


@dataclass(frozen=True)
class ConstraintRule:
    """One timing rule: after ``prev`` issues, ``next`` at ``level`` waits ≥ ``expr`` cycles.

    ``window`` > 1 makes it a rolling-window rule (tFAW: at most ``window`` ACTs in any ``expr``
    cycles). ``expr`` is an arithmetic expression over timing names (``max``/``min`` allowed);
    a rule whose names the standard does not define is skipped (``optional``) or an error.
    """

    prev: tuple[str, ...]
    next: tuple[str, ...]
    level: str
    expr: str
    window: int = 1
    optional: bool = False
    note: str = ""


def _r(prev: str, nxt: str, level: str, expr: str, **kw: Any) -> ConstraintRule:
    return ConstraintRule(tuple(prev.split()), tuple(nxt.split()), level, expr, **kw)


# The JEDEC-style rule set (DDRx, LPDDRx, GDDRx, HBMx). Derived names available to expressions:
# tBL (burst cycles), RL = AL + CL, WL = AL + CWL. Transcribed from the semantics of DRAMsim3's
# timing.cc (same numbers for the DRAMsim3 presets) and Ramulator 2's rule tables.
CONSTRAINT_RULES: tuple[ConstraintRule, ...] = (
    # column → column, same rank
    _r("RD RDA", "RD RDA", "bankgroup", "max(tBL, tCCD_L)", note="read to read, same bank group"),
    _r("RD RDA", "RD RDA", "rank", "max(tBL, tCCD_S)", note="read to read, other bank group"),
    _r("RD RDA", "WR WRA", "rank", "RL + tBL - WL + tRTRS", note="read to write turnaround"),
    _r("WR WRA", "WR WRA", "bankgroup", "max(tBL, tCCD_L_WR)", note="write to write, same bank group"),
    _r("WR WRA", "WR WRA", "rank", "max(tBL, tCCD_S_WR)", note="write to write, other bank group"),
    _r("WR WRA", "RD RDA", "bankgroup", "WL + tBL + tWTR_L", note="write to read, same bank group"),
    _r("WR WRA", "RD RDA", "rank", "WL + tBL + tWTR_S", note="write to read, other bank group"),
    # column → column, other ranks (shared data bus: rank-to-rank switch tRTRS)
    _r("RD RDA", "RD RDA", "other_ranks", "tBL + tRTRS"),
    _r("RD RDA", "WR WRA", "other_ranks", "RL + tBL + tRTRS - WL"),
    _r("WR WRA", "RD RDA", "other_ranks", "WL + tBL + tRTRS - RL"),
    _r("WR WRA", "WR WRA", "other_ranks", "tBL"),
    # column → row, same bank
    _r("RD", "PRE", "bank", "AL + tRTP", note="read to precharge"),
    _r("WR", "PRE", "bank", "WL + tBL + tWR", note="write recovery"),
    _r("RDA", "ACT", "bank", "AL + tBL + tRTP + tRP", note="read with auto-precharge to activate"),
    _r("RDA", "REF", "bank", "AL + tRTP + tRP"),
    _r("WRA", "ACT REF", "bank", "WL + tBL + tWR + tRP", note="write with auto-precharge to activate"),
    # row commands
    _r("ACT", "ACT", "bank", "tRC"),
    _r("ACT", "RD RDA", "bank", "tRCDRD - AL"),
    _r("ACT", "WR WRA", "bank", "tRCDWR - AL"),
    _r("ACT", "PRE", "bank", "tRAS"),
    _r("ACT", "ACT", "bankgroup", "tRRD_L"),
    _r("ACT", "ACT", "rank", "tRRD_S"),
    _r("ACT", "ACT", "rank", "tFAW", window=4, note="four-activate window"),
    _r("ACT", "ACT", "rank", "t32AW", window=32, optional=True, note="GDDR 32-activate window"),
    _r("PRE", "ACT REF", "bank", "tRP"),
    _r("PRE", "PRE", "rank", "tPPD", optional=True, note="precharge to precharge (LPDDR4/GDDR)"),
    # all-bank refresh
    _r("REF", "ACT REF", "rank", "tRFC"),
)


@dataclass(frozen=True)
class DramOrg:
    """Organisation of one channel (all channels are identical).

    ``columns`` counts bus-width columns per row (DRAMsim3's post-adjustment value), so one access
    (a burst) covers ``burst_length`` columns and a row holds ``columns // burst_length`` accesses.
    """

    channels: int
    ranks: int
    bankgroups: int
    banks_per_group: int
    rows: int
    columns: int
    bus_width_bits: int
    burst_length: int

    @property
    def banks_per_rank(self) -> int:
        return self.bankgroups * self.banks_per_group

    @property
    def banks_per_channel(self) -> int:
        return self.ranks * self.banks_per_rank

    @property
    def access_bytes(self) -> int:
        """Bytes moved by one read or write command (bus width × burst length)."""
        return self.bus_width_bits // 8 * self.burst_length

    @property
    def row_bytes(self) -> int:
        """Bytes in one row of one rank (the row-buffer size the controller sees)."""
        return self.columns * self.bus_width_bits // 8

    @property
    def capacity_bytes(self) -> int:
        """Total addressable bytes across all channels."""
        return self.channels * self.banks_per_channel * self.rows * self.row_bytes


@dataclass(frozen=True)
class ControllerConfig:
    """Memory-controller policy (DRAMsim3's ``[system]`` section, extended)."""

    address_mapping: str = "rochrababgco"   # MSB→LSB, DRAMsim3 style, 2 chars per field
    row_policy: str = "open"                # "open" or "closed" (auto-precharge every access)
    cmd_queue_size: int = 8                 # per-bank command queue entries
    trans_queue_size: int = 32              # read queue and write buffer entries, per channel
    row_hit_cap: int = 4                    # FR-FCFS: row hits served before a pending conflict wins
    write_drain_low: int = 8                # drain writes when more than this and command queues idle
    refresh: str = "rank_staggered"         # all-bank refresh every tREFI/ranks, rank by rank; or "none"
    dual_command_issue: bool = False        # HBM: one row and one column command per cycle

    def __post_init__(self) -> None:
        # Fail fast on programmatic misuse; YAML input is validated with located errors in config.py.
        problem = validate_controller(self)
        if problem:
            raise ValueError(problem)


def validate_controller(c: ControllerConfig) -> str | None:
    """Return a description of the first invalid controller setting, or None."""
    m = c.address_mapping
    fields = [m[i:i + 2] for i in range(0, len(m), 2)]
    if len(m) != 12 or sorted(fields) != sorted(ADDRESS_FIELDS):
        return (f"address_mapping {m!r} must name each of {', '.join(ADDRESS_FIELDS)} exactly once "
                "(12 characters, MSB first)")
    if c.row_policy not in ("open", "closed"):
        return f"row_policy {c.row_policy!r} must be 'open' or 'closed'"
    if c.refresh not in ("rank_staggered", "none"):
        return f"refresh {c.refresh!r} must be 'rank_staggered' or 'none'"
    for name in ("cmd_queue_size", "trans_queue_size", "row_hit_cap"):
        if getattr(c, name) < 1:
            return f"{name} must be ≥ 1"
    if c.write_drain_low < 0:
        return "write_drain_low must be ≥ 0"
    return None


@dataclass(frozen=True)
class DramStandard:
    """A DRAM standard instance: organisation, timings (cycles of ``tck_ns``) and controller defaults."""

    name: str
    family: str
    source: str
    tck_ns: float
    org: DramOrg
    timing: Mapping[str, int]
    controller: ControllerConfig = field(default_factory=ControllerConfig)
    defaults_applied: tuple[str, ...] = ()
    note: str = ""

    @property
    def burst_cycles(self) -> int:
        """Data-bus cycles (of tCK) one access occupies."""
        return int(self.timing["tBL"])

    @property
    def read_latency_cycles(self) -> int:
        """Command-to-last-data cycles of a read: AL + CL + tBL (DRAMsim3's read_delay)."""
        t = self.timing
        return int(t["AL"] + t["CL"] + t["tBL"])

    @property
    def write_latency_cycles(self) -> int:
        """AL + CWL + tBL (DRAMsim3's write_delay)."""
        t = self.timing
        return int(t["AL"] + t["CWL"] + t["tBL"])

    @property
    def peak_gbps(self) -> float:
        """Peak data bandwidth over all channels, GB/s (1e9 bytes/s)."""
        return self.org.channels * self.org.access_bytes / (self.burst_cycles * self.tck_ns)

    def replace(self, **changes: Any) -> "DramStandard":
        """A copy with top-level fields replaced (``org``/``timing``/``controller`` as whole objects)."""
        return dataclasses.replace(self, **changes)


# --------------------------------------------------------------------------------------------
# Timing expressions and the constraint table
# --------------------------------------------------------------------------------------------

_ALLOWED_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Add, ast.Sub, ast.Mult, ast.FloorDiv,
                  ast.USub, ast.Call, ast.Name, ast.Load, ast.Constant)


class UndefinedTiming(KeyError):
    """An expression names a timing parameter the standard does not define."""


@functools.lru_cache(maxsize=None)
def _compile_timing_expr(expr: str):
    """The checked, compiled form of a timing expression and the timing names it uses (in order)."""
    tree = ast.parse(expr, mode="eval")
    names = []
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ValueError(f"timing expression {expr!r}: {type(node).__name__} not allowed")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in ("max", "min")):
            raise ValueError(f"timing expression {expr!r}: only max() and min() may be called")
        if isinstance(node, ast.Name) and node.id not in ("max", "min"):
            names.append(node.id)
    return compile(tree, "<timing>", "eval"), tuple(names)


def eval_timing_expr(expr: str, env: Mapping[str, int]) -> int:
    """Evaluate an integer timing expression (names, + - * //, max, min) against ``env``."""
    code, names = _compile_timing_expr(expr)
    for name in names:
        if name not in env:
            raise UndefinedTiming(name)
    return int(eval(code, {"__builtins__": {}, "max": max, "min": min}, dict(env)))


def timing_env(std: DramStandard) -> dict[str, int]:
    """Timing names available to rule expressions: the standard's timings plus derived ones.

    Derived: RL = AL + CL, WL = AL + CWL, tCCD_{S,L}_WR default to tCCD_{S,L}. With a single bank
    group the _L timings collapse to their _S values (DRAMsim3's rule for bank-group-less modes).
    """
    env = {k: int(v) for k, v in std.timing.items()}
    env["RL"] = env["AL"] + env["CL"]
    env["WL"] = env["AL"] + env["CWL"]
    env.setdefault("tCCD_S_WR", env["tCCD_S"])
    env.setdefault("tCCD_L_WR", env["tCCD_L"])
    if std.org.bankgroups == 1:
        for s, l in (("tCCD_S", "tCCD_L"), ("tWTR_S", "tWTR_L"), ("tRRD_S", "tRRD_L"),
                     ("tCCD_S_WR", "tCCD_L_WR")):
            env[l] = env[s]
    return env


@dataclass(frozen=True)
class Constraint:
    """One evaluated rule: ``next`` at ``level`` ≥ ``cycles`` after ``prev`` (window>1: rolling window)."""

    prev: str
    next: str
    level: str
    cycles: int
    window: int = 1


def constraint_table(std: DramStandard, rules: tuple[ConstraintRule, ...] = CONSTRAINT_RULES) -> list[Constraint]:
    """Evaluate ``rules`` for ``std``: one ``Constraint`` per (prev, next) pair, in rule order.

    Rules with ``optional=True`` whose timing names ``std`` lacks (or evaluate to ≤ 0) are dropped;
    a missing name in a required rule raises ``UndefinedTiming``.
    """
    env = timing_env(std)
    out: list[Constraint] = []
    for rule in rules:
        try:
            n = eval_timing_expr(rule.expr, env)
        except UndefinedTiming:
            if rule.optional:
                continue
            raise
        if rule.optional and n <= 0:
            continue
        for p in rule.prev:
            for q in rule.next:
                out.append(Constraint(p, q, rule.level, max(n, 0), rule.window))
    return out


# --------------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------------

REQUIRED_TIMINGS = ("tBL", "CL", "CWL", "AL", "tRCDRD", "tRCDWR", "tRP", "tRAS", "tRC", "tRRD_S", "tRRD_L",
                    "tCCD_S", "tCCD_L", "tFAW", "tWR", "tWTR_S", "tWTR_L", "tRTP", "tRTRS", "tREFI", "tRFC")

_DS3 = "DRAMsim3 (umd-memsys/DRAMsim3@2981759) configs/{}.ini"
_R2 = "Ramulator 2.1 (CMU-SAFARI/ramulator2@c5b1c3a) python/ramulator/dram/{} presets org={} timing={}"


def _std(name: str, family: str, source: str, tck_ns: float, org: dict, timing: dict,
         controller: dict | None = None, defaults_applied: tuple[str, ...] = (), note: str = "") -> DramStandard:
    timing = dict(timing)
    if "tRCD" in timing:  # DDR-style single tRCD: same for reads and writes
        rcd = timing.pop("tRCD")
        timing.setdefault("tRCDRD", rcd)
        timing.setdefault("tRCDWR", rcd)
    return DramStandard(name=name, family=family, source=source, tck_ns=tck_ns, org=DramOrg(**org),
                        timing=timing, controller=ControllerConfig(**(controller or {})),
                        defaults_applied=defaults_applied, note=note)


# DRAMsim3 HBM2 timing (HBM2_8Gb_x128.ini / HBM2_4Gb_x128.ini); tRC = tRAS + tRP as DRAMsim3 derives.
_HBM2_DS3_TIMING = dict(tBL=2, CL=14, CWL=4, AL=0, tRCDRD=14, tRCDWR=14, tRP=14, tRAS=34, tRC=48,
                        tRRD_S=4, tRRD_L=6, tCCD_S=1, tCCD_L=2, tFAW=30, tWR=16, tWTR_S=6, tWTR_L=8,
                        tRTP=5, tRTRS=2, tREFI=3900, tRFC=260)
_HBM2_DS3_CTRL = dict(address_mapping="rorabgbachco", cmd_queue_size=8, trans_queue_size=32,
                      dual_command_issue=True)
_DDR4_3200_DS3_TIMING = dict(tBL=4, CL=22, CWL=16, AL=0, tRCD=22, tRP=22, tRAS=52, tRC=74, tRRD_S=4,
                             tRRD_L=8, tCCD_S=4, tCCD_L=8, tFAW=34, tWR=24, tWTR_S=4, tWTR_L=12, tRTP=12,
                             tRTRS=1, tREFI=12480, tRFC=560)
_DDR_DS3_CTRL = dict(address_mapping="rochrababgco", cmd_queue_size=8, trans_queue_size=32)

PRESETS: dict[str, DramStandard] = {s.name: s for s in (
    _std("HBM2", "HBM2", _DS3.format("HBM2_8Gb_x128"), 1.0,
         dict(channels=8, ranks=1, bankgroups=4, banks_per_group=4, rows=32768, columns=128,
              bus_width_bits=128, burst_length=4),
         _HBM2_DS3_TIMING, _HBM2_DS3_CTRL, ("tRTP", "tRTRS", "AL"),
         "8 × 128-bit channels, 2000 MT/s, 256 GB/s; the preset validated against DRAMsim3"),
    _std("HBM2_4Gb", "HBM2", _DS3.format("HBM2_4Gb_x128"), 1.0,
         dict(channels=8, ranks=1, bankgroups=4, banks_per_group=4, rows=16384, columns=128,
              bus_width_bits=128, burst_length=4),
         _HBM2_DS3_TIMING, _HBM2_DS3_CTRL, ("tRTP", "tRTRS", "AL")),
    _std("HBM2_NeuPIMs", "HBM2", "NeuPIMs (casys-kaist/NeuPIMs@f299af3) DRAMsim3 configs/HBM2_8Gb_x128_dualpim.ini",
         1.0,
         dict(channels=32, ranks=1, bankgroups=4, banks_per_group=4, rows=32768, columns=128,
              bus_width_bits=128, burst_length=4),
         _HBM2_DS3_TIMING, dict(_HBM2_DS3_CTRL, cmd_queue_size=128), ("tRTP", "tRTRS", "AL"),
         "NeuPIMs' PIM memory: DRAMsim3 HBM2 timing, 32 channels, 128-entry command queues"),
    _std("HBM2_2400", "HBM2", _R2.format("hbm2.py", "HBM2_8Gb", "HBM2_2400Mbps"), 0.833,
         dict(channels=16, ranks=1, bankgroups=4, banks_per_group=4, rows=65536, columns=128,
              bus_width_bits=64, burst_length=4),
         dict(tBL=2, CL=17, CWL=6, AL=0, tRCDRD=17, tRCDWR=14, tRP=17, tRAS=40, tRC=57, tWR=19, tRTP=6,
              tCCD_S=2, tCCD_L=4, tWTR_S=8, tWTR_L=10, tRRD_S=5, tRRD_L=5, tFAW=19, tRFC=421,
              tREFI=4682, tRTRS=2),
         dict(_HBM2_DS3_CTRL), ("tRTRS", "AL", "tRTP=tRTP_L"),
         "8 channels × 2 pseudo channels of 64 bit, modelled as 16 channels (32 B per access)"),
    _std("HBM3", "HBM3", _R2.format("hbm3.py", "HBM3_16Gb_8hi", "HBM3_6400Mbps"), 0.625,
         dict(channels=32, ranks=2, bankgroups=4, banks_per_group=4, rows=16384, columns=256,
              bus_width_bits=32, burst_length=8),
         dict(tBL=2, CL=20, CWL=10, AL=0, tRCDRD=31, tRCDWR=15, tRP=26, tRAS=45, tRC=72, tWR=33, tRTP=9,
              tCCD_S=2, tCCD_L=4, tRRD_S=4, tRRD_L=5, tFAW=24, tWTR_S=7, tWTR_L=10, tPPD=2, tRFC=560,
              tREFI=6240, tRTRS=2),
         dict(_HBM2_DS3_CTRL), ("tRTRS", "AL"),
         "16 channels × 2 pseudo channels of 32 bit = 32 modelled channels; the 2 stack IDs (SID) are "
         "modelled as ranks"),
    _std("DDR4_3200", "DDR4", _DS3.format("DDR4_8Gb_x8_3200"), 0.63,
         dict(channels=1, ranks=2, bankgroups=4, banks_per_group=4, rows=65536, columns=1024,
              bus_width_bits=64, burst_length=8),
         _DDR4_3200_DS3_TIMING, _DDR_DS3_CTRL, (),
         "one 64-bit channel, 2 ranks of x8 devices, 3175 MT/s as DRAMsim3 rounds tCK"),
    _std("DDR4_2400", "DDR4", _DS3.format("DDR4_8Gb_x8_2400"), 0.83,
         dict(channels=1, ranks=2, bankgroups=4, banks_per_group=4, rows=65536, columns=1024,
              bus_width_bits=64, burst_length=8),
         dict(tBL=4, CL=17, CWL=12, AL=0, tRCD=17, tRP=17, tRAS=39, tRC=56, tRRD_S=4, tRRD_L=6, tCCD_S=4,
              tCCD_L=6, tFAW=26, tWR=18, tWTR_S=3, tWTR_L=9, tRTP=9, tRTRS=1, tREFI=9360, tRFC=420),
         _DDR_DS3_CTRL, ()),
    _std("DDR5_4800", "DDR5", _R2.format("ddr5.py", "DDR5_16Gb_x8", "DDR5_4800AN"), 0.416,
         dict(channels=1, ranks=1, bankgroups=8, banks_per_group=4, rows=65536, columns=1024,
              bus_width_bits=32, burst_length=16),
         dict(tBL=8, CL=34, CWL=32, AL=0, tRCD=34, tRP=34, tRAS=77, tRC=111, tWR=72, tRTP=18, tPPD=2,
              tCCD_S=8, tCCD_L=12, tCCD_S_WR=8, tCCD_L_WR=48, tWTR_S=6, tWTR_L=24, tRRD_S=8, tRRD_L=12,
              tFAW=48, tRFC=710, tREFI=9375, tRTRS=2),
         _DDR_DS3_CTRL, ("tRTRS", "AL"), "one 32-bit DDR5 sub-channel (64 B per BL16 access)"),
    _std("DDR5_6400", "DDR5", _R2.format("ddr5.py", "DDR5_16Gb_x8", "DDR5_6400AN"), 0.312,
         dict(channels=1, ranks=1, bankgroups=8, banks_per_group=4, rows=65536, columns=1024,
              bus_width_bits=32, burst_length=16),
         dict(tBL=8, CL=46, CWL=44, AL=0, tRCD=46, tRP=46, tRAS=103, tRC=149, tWR=96, tRTP=24, tPPD=2,
              tCCD_S=8, tCCD_L=16, tCCD_S_WR=8, tCCD_L_WR=64, tWTR_S=5, tWTR_L=32, tRRD_S=16, tRRD_L=16,
              tFAW=64, tRFC=946, tREFI=12500, tRTRS=2),
         _DDR_DS3_CTRL, ("tRTRS", "AL"), "one 32-bit DDR5 sub-channel (64 B per BL16 access)"),
    _std("LPDDR4", "LPDDR4", _DS3.format("LPDDR4_8Gb_x16_2400"), 0.83,
         dict(channels=1, ranks=2, bankgroups=2, banks_per_group=4, rows=65536, columns=1024,
              bus_width_bits=64, burst_length=16),
         dict(tBL=8, CL=17, CWL=14, AL=0, tRCD=15, tRP=15, tRAS=32, tRC=47, tRRD_S=8, tRRD_L=8, tCCD_S=4,
              tCCD_L=6, tFAW=32, tWR=30, tWTR_S=8, tWTR_L=16, tRTP=12, tRTRS=1, tREFI=8660, tRFC=392,
              tPPD=2),
         _DDR_DS3_CTRL, ()),
    _std("LPDDR5", "LPDDR5", _R2.format("lpddr5.py", "LPDDR5_16Gb_x16", "LPDDR5_6400"), 1.25,
         dict(channels=1, ranks=1, bankgroups=4, banks_per_group=4, rows=65536, columns=1024,
              bus_width_bits=16, burst_length=16),
         dict(tBL=2, CL=17, CWL=9, AL=0, tRCD=15, tRP=15, tRAS=34, tRC=49, tWR=28, tRTP=8, tPPD=2,
              tCCD_S=2, tCCD_L=4, tCCD_S_WR=2, tCCD_L_WR=4, tWTR_S=5, tWTR_L=10, tRRD_S=4, tRRD_L=4,
              tFAW=16, tRFC=224, tREFI=3125, tRTRS=2),
         _DDR_DS3_CTRL, ("tRTRS", "AL", "tBL=nBL_min"),
         "one x16 channel, BL16 in bank-group mode (32 B per access); CK = WCK/4"),
    _std("GDDR6", "GDDR6", _R2.format("gddr6.py", "GDDR6_8Gb_x16", "GDDR6_14000_1350mV_double"), 0.57,
         dict(channels=1, ranks=1, bankgroups=4, banks_per_group=4, rows=16384, columns=1024,
              bus_width_bits=16, burst_length=16),
         dict(tBL=2, CL=24, CWL=6, AL=0, tRCDRD=27, tRCDWR=16, tRP=27, tRAS=53, tRC=79, tWR=27, tRTP=4,
              tCCD_S=2, tCCD_L=4, tRRD_S=8, tRRD_L=8, tWTR_S=9, tWTR_L=11, tFAW=29, tRFC=211, tREFI=3333,
              tPPD=1, tRTRS=2),
         _DDR_DS3_CTRL, ("tRTRS", "AL"), "one 16-bit GDDR6 channel (32 B per BL16 access)"),
)}

_ALIASES = {"HBM2E": None, "DDR4": "DDR4_3200", "DDR5": "DDR5_4800", "HBM2_8GB": "HBM2"}


def preset_names() -> list[str]:
    """Names accepted by ``get_standard`` (sorted)."""
    return sorted(PRESETS)


def get_standard(name: str) -> DramStandard:
    """The preset called ``name`` (case-insensitive; ``-`` and ``_`` equivalent); KeyError if unknown."""
    key = name.strip().upper().replace("-", "_")
    key = _ALIASES.get(key, key) or key
    for n, s in PRESETS.items():
        if n.upper() == key:
            return s
    raise KeyError(name)

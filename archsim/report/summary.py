"""A short human-readable summary of a Result (what ``archsim run`` prints)."""
from __future__ import annotations

from archsim.sim.result import Result


def _human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1024
    return f"{n:.1f} TiB"


def format_summary(result: Result, top_ops: int = 8) -> str:
    """Text: headline numbers, one line per engine and memory, and the ``top_ops`` slowest ops."""
    s = result.summary()
    lines = [
        f"{s['workload']} on {s['arch']}: {s['ops']} ops, {s['total_cycles']:,} cycles "
        f"@ {s['clock_ghz']} GHz = {s['latency_ms']:.3f} ms, {s['total_macs']:,} MACs, "
        f"{s['stall_cycles']:,} stall cycles",
        "",
        f"{'component':<14}{'ops':>6}{'busy %':>9}{'MAC util %':>12}{'read':>13}{'written':>13}",
    ]
    for row in result.components.itertuples():
        busy = "" if row.type == "memory" else f"{100 * row.busy_fraction:.1f}"
        util = "" if row.mac_utilization != row.mac_utilization else f"{100 * row.mac_utilization:.1f}"
        rd = _human_bytes(row.read_bytes) if row.type == "memory" else ""
        wr = _human_bytes(row.write_bytes) if row.type == "memory" else ""
        ops = str(row.ops) if row.type == "engine" else ""
        lines.append(f"{row.component:<14}{ops:>6}{busy:>9}{util:>12}{rd:>13}{wr:>13}")
    ops = result.ops
    if len(ops):
        lines += ["", f"slowest ops:", f"{'op':<28}{'kind':<10}{'engine':<10}{'cycles':>12}{'stall':>10}{'util %':>8}"]
        for r in ops.nlargest(top_ops, "total_cycles").itertuples():
            lines.append(f"{r.name[:27]:<28}{r.kind:<10}{r.engine:<10}{r.total_cycles:>12,}"
                         f"{r.stall_cycles:>10,}{100 * r.utilization:>8.1f}")
    return "\n".join(lines)

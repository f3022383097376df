"""A short human-readable summary of a Result (what ``archsim run`` prints)."""
from __future__ import annotations

from archsim.sim.result import Result


def _human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1024
    return f"{n:.1f} TiB"


def _energy_cells(e, shown: bool) -> str:
    if not shown:
        return ""
    if e is None:
        return f"{'':>12}{'':>10}"
    area = "" if e.area_um2 != e.area_um2 else f"{e.area_um2 / 1e6:.3f}"
    uj = f"{e.total_pj / 1e6:,.2f}"
    return f"{uj:>12}{area:>10}" if len(uj) < 12 else f" {uj}{area:>10}"    # a board's joules: keep a gap


def format_summary(result: Result, top_ops: int = 8, energy=None) -> str:
    """Text: headline numbers, one line per engine and memory (with its energy when ``energy``, a
    ``archsim.report.energy.RunEnergy``, holds a report), the energy headline and the ``top_ops`` slowest ops."""
    from archsim.report.energy import energy_lines

    s = result.summary()
    comp_energy = ({r.component: r for r in energy.report.per_component.itertuples()}
                   if energy is not None and energy.report is not None else {})
    lines = [
        f"{s['workload']} on {s['arch']}: {s['ops']} ops, {s['total_cycles']:,} cycles "
        f"@ {s['clock_ghz']} GHz = {s['latency_ms']:.3f} ms, {s['total_macs']:,} MACs, "
        f"{s['stall_cycles']:,} stall cycles",
        f"element types: {', '.join(s['dtypes']) or 'n/a'} (the workload's)"
        + "".join(f"; {eng} converts {', '.join(f'{n} ops {k}' for k, n in conv.items())} (compute_dtype)"
                  for eng, conv in s.get("dtype_conversions", {}).items()),
        "",
        f"{'component':<14}{'ops':>6}{'busy %':>9}{'MAC util %':>12}{'read':>13}{'written':>13}"
        + (f"{'energy uJ':>12}{'area mm2':>10}" if comp_energy else ""),
    ]
    listed = set()
    own_notes = []
    for row in result.components.itertuples():
        busy = "" if row.type == "memory" else f"{100 * row.busy_fraction:.1f}"
        util = "" if row.mac_utilization != row.mac_utilization else f"{100 * row.mac_utilization:.1f}"
        moved = row.type == "memory" or bool(row.own_memory)
        rd = _human_bytes(row.read_bytes) if moved else ""
        wr = _human_bytes(row.write_bytes) if moved else ""
        ops = str(row.ops) if row.type == "engine" else ""
        if row.own_memory:
            own_notes.append(f"{row.component}: read/written = bytes it moved in its own {row.own_memory}"
                             + (" (operands its MAC units read in place, not bus traffic)"
                                if row.own_memory == "banks" else ""))
        lines.append(f"{row.component:<14}{ops:>6}{busy:>9}{util:>12}{rd:>13}{wr:>13}"
                     + _energy_cells(comp_energy.get(row.component), bool(comp_energy)))
        listed.add(row.component)
    for name, e in comp_energy.items():     # priced but no op touched it (static power only)
        if name not in listed:
            lines.append(f"{name:<14}{'':>6}{'':>9}{'':>12}{'':>13}{'':>13}" + _energy_cells(e, True))
    lines += [f"  {n}" for n in own_notes]
    lines += energy_lines(energy)
    ops = result.ops
    if len(ops):
        slowest = ops.nlargest(top_ops, "total_cycles")
        kind_w = max([10] + [len(k) + 1 for k in slowest.kind])
        lines += ["", f"slowest ops:", f"{'op':<28}{'kind':<{kind_w}}{'engine':<10}{'cycles':>12}{'stall':>10}{'util %':>8}"]
        for r in slowest.itertuples():
            lines.append(f"{r.name[:27]:<28}{r.kind:<{kind_w}}{r.engine:<10}{r.total_cycles:>12,}"
                         f"{r.stall_cycles:>10,}{100 * r.utilization:>8.1f}")
    return "\n".join(lines)

"""Write SCALE-Sim 3.0.0's report CSVs byte for byte in its format.

SCALE-Sim writes ``LayerID, v1, v2, ...,`` rows (``", "`` separators, a trailing comma) with each
value printed by Python's ``str`` — so integers print as ``14``, floats as ``1.0`` or ``0.1116...``.
Callers pass values of the same Python types SCALE-Sim has (ints for counts and cycles, floats for
rates and for the start/stop cycles that come out of its numpy arrays).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

COMPUTE_HEADER = ("LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles, Overall Util %, "
                  "Mapping Efficiency %, Compute Util %,")
BANDWIDTH_HEADER = ("LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, Avg IFMAP DRAM BW, "
                    "Avg FILTER DRAM BW, Avg OFMAP DRAM BW,")
DETAILED_HEADER = ("LayerID, SRAM IFMAP Start Cycle, SRAM IFMAP Stop Cycle, SRAM IFMAP Reads, "
                   "SRAM Filter Start Cycle, SRAM Filter Stop Cycle, SRAM Filter Reads, "
                   "SRAM OFMAP Start Cycle, SRAM OFMAP Stop Cycle, SRAM OFMAP Writes, "
                   "DRAM IFMAP Start Cycle, DRAM IFMAP Stop Cycle, DRAM IFMAP Reads, "
                   "DRAM Filter Start Cycle, DRAM Filter Stop Cycle, DRAM Filter Reads, "
                   "DRAM OFMAP Start Cycle, DRAM OFMAP Stop Cycle, DRAM OFMAP Writes,")

REPORT_FILES = {"COMPUTE_REPORT.csv": COMPUTE_HEADER, "BANDWIDTH_REPORT.csv": BANDWIDTH_HEADER,
                "DETAILED_ACCESS_REPORT.csv": DETAILED_HEADER}


def format_report(header: str, rows: Sequence[Sequence[object]]) -> str:
    """The text of one report: header line, then ``layer_id, v1, ..., vn,`` per layer."""
    lines = [header]
    for layer_id, values in enumerate(rows):
        lines.append(", ".join([str(layer_id), *(str(v) for v in values)]) + ",")
    return "\n".join(lines) + "\n"


def write_reports(out_dir: str | Path, compute_rows, bandwidth_rows, detailed_rows) -> list[Path]:
    """Write the three report CSVs into ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for (name, header), rows in zip(REPORT_FILES.items(), (compute_rows, bandwidth_rows, detailed_rows)):
        path = out / name
        path.write_text(format_report(header, rows))
        paths.append(path)
    return paths


def read_report(path: str | Path) -> list[dict[str, str]]:
    """Parse a SCALE-Sim report CSV into one dict per layer (column name -> raw string value)."""
    lines = [l for l in Path(path).read_text().splitlines() if l.strip()]
    header = [h.strip() for h in lines[0].rstrip(",").split(",")]
    rows = []
    for line in lines[1:]:
        values = [v.strip() for v in line.rstrip().rstrip(",").split(",")]
        rows.append(dict(zip(header, values)))
    return rows

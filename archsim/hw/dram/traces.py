"""Memory-request trace readers: DRAMsim3's text format and a CSV form.

* DRAMsim3: one request per line, ``0x<hex address> READ|WRITE <release cycle>`` (DRAMsim3 also
  accepts ``write``, ``P_MEM_WR`` and ``BOFF`` as writes; everything else is a read). A request
  released at cycle ≥ ``SENTINEL_CYCLE`` is DRAMsim3's end-of-trace sentinel and is dropped.
* CSV: a header naming ``addr``, ``is_write`` and (optionally) ``cycle`` columns; ``addr`` may be
  decimal or ``0x`` hex, ``is_write`` 0/1/true/false/READ/WRITE.

Both return a ``Requests`` (byte addresses, write flags, release cycles in memory cycles).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from archsim.errors import WorkloadError
from archsim.hw.dram.model import Requests

SENTINEL_CYCLE = 999_999_999_999
_WRITE_WORDS = {"WRITE", "write", "P_MEM_WR", "BOFF"}


def _parse_int(text: str) -> int:
    text = text.strip()
    return int(text, 16) if text[:2].lower() == "0x" else int(text)


def read_dramsim3_trace(path: str | Path) -> Requests:
    """Read a DRAMsim3-format trace; errors name the file and line.

    A file in the canonical form (``0x<hex> <word> <cycle>`` lines) is parsed by a compiled kernel; any other
    (comments, addresses without ``0x``, a malformed line) is read line by line here, with the same result.
    """
    from archsim.kernels.native import kernels

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WorkloadError(f"{path}: cannot read trace: {exc.strerror}") from None
    addr, is_write, cycle, n, bad_line = kernels("dram").parse_dramsim3_text(np.frombuffer(data, np.uint8),
                                                                            SENTINEL_CYCLE)
    if bad_line == 0:
        return Requests.from_arrays(addr[:n], is_write[:n], cycle[:n])
    return _read_dramsim3_lines(path)


def _read_dramsim3_lines(path: Path) -> Requests:
    addrs: list[int] = []
    writes: list[bool] = []
    cycles: list[int] = []
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise WorkloadError(f"{path}: cannot read trace: {exc.strerror}") from None
    with fh:
        for lineno, line in enumerate(fh, 1):
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            if len(parts) != 3:
                raise WorkloadError(f"{path}:{lineno}: expected '0xADDR READ|WRITE CYCLE', got {line.strip()!r}")
            try:
                a = int(parts[0], 16)
                c = int(parts[2])
            except ValueError:
                raise WorkloadError(f"{path}:{lineno}: expected a hex address and an integer cycle, "
                                    f"got {line.strip()!r}") from None
            if a < 0 or c < 0:
                raise WorkloadError(f"{path}:{lineno}: address and cycle must be non-negative")
            if c >= SENTINEL_CYCLE:
                continue  # DRAMsim3's end-of-trace sentinel: never released
            addrs.append(a)
            writes.append(parts[1] in _WRITE_WORDS)
            cycles.append(c)
    return Requests.from_arrays(np.array(addrs, np.int64), np.array(writes, np.bool_), np.array(cycles, np.int64))


def read_csv_trace(path: str | Path) -> Requests:
    """Read a CSV trace with columns addr, is_write[, cycle]; errors name the file, row and column."""
    import pandas as pd

    path = Path(path)
    try:
        df = pd.read_csv(path, dtype=str, skipinitialspace=True)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise WorkloadError(f"{path}: cannot read CSV trace: {exc}") from None
    df.columns = [c.strip().lower() for c in df.columns]
    for col in ("addr", "is_write"):
        if col not in df.columns:
            raise WorkloadError(f"{path}: missing column {col!r}; expected a header with addr,is_write[,cycle]")
    try:
        addr = np.array([_parse_int(x) for x in df["addr"]], np.int64)
    except (ValueError, AttributeError):
        bad = next(i for i, x in enumerate(df["addr"]) if not _is_int(x))
        raise WorkloadError(f"{path}: row {bad + 2}: column 'addr': got {df['addr'][bad]!r}, "
                            "expected a decimal or 0x-hex integer") from None
    w = df["is_write"].astype(str).str.strip().str.upper()
    ok = w.isin(["0", "1", "TRUE", "FALSE", "READ", "WRITE"])
    if not ok.all():
        bad = int(np.flatnonzero(~ok.to_numpy())[0])
        raise WorkloadError(f"{path}: row {bad + 2}: column 'is_write': got {df['is_write'][bad]!r}, "
                            "expected 0/1/true/false/READ/WRITE")
    is_write = w.isin(["1", "TRUE", "WRITE"]).to_numpy()
    if "cycle" in df.columns:
        try:
            cycle = pd.to_numeric(df["cycle"], errors="raise").to_numpy(np.int64)
        except (ValueError, TypeError):
            raise WorkloadError(f"{path}: column 'cycle' must hold integers") from None
    else:
        cycle = np.zeros(len(df), np.int64)
    if addr.size and (addr.min() < 0 or cycle.min() < 0):
        raise WorkloadError(f"{path}: addresses and cycles must be non-negative")
    return Requests.from_arrays(addr, is_write, cycle)


def _is_int(x) -> bool:
    try:
        _parse_int(x)
        return True
    except (ValueError, AttributeError):
        return False


def read_trace(path: str | Path, fmt: str = "auto") -> Requests:
    """Read a trace in ``fmt`` ('dramsim3', 'csv' or 'auto': by extension, then by content)."""
    path = Path(path)
    if fmt == "auto":
        if path.suffix.lower() == ".csv":
            fmt = "csv"
        else:
            try:
                with open(path, encoding="utf-8") as fh:
                    first = fh.readline()
            except OSError as exc:
                raise WorkloadError(f"{path}: cannot read trace: {exc.strerror}") from None
            fmt = "csv" if "," in first else "dramsim3"
    if fmt == "csv":
        return read_csv_trace(path)
    if fmt == "dramsim3":
        return read_dramsim3_trace(path)
    raise ValueError(f"unknown trace format {fmt!r}; expected 'dramsim3', 'csv' or 'auto'")

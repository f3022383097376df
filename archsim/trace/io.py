"""Write and read operator traces as CSV or Parquet, exactly: ``read_trace(write_trace(t)) == t``.

The table has one row per op. Scalar fields are columns (``id``, ``name``, ``kind``, ``dtype``,
``phase``, ``layer``, ``macs``, ``flops``, ``input_bytes``, ``weight_bytes``, ``output_bytes``,
``kv_cache_bytes``, ``params``, ``fused``, ``deps``, ``ragged_dim``, ``seq_lens``); each dimension is a
column ``dim_<name>`` that is empty where the op has no such dimension. ``deps`` holds the producer ids
joined by ``;``, ``seq_lens`` a ragged op's per-request lengths the same way (empty for other ops).

CSV files start with ``#`` lines that carry the format version, the trace name and its metadata
(JSON), so ``pandas.read_csv(path, comment="#")`` reads the table directly. Parquet files carry the
same header as the schema metadata key ``archsim_trace`` (JSON). Parquet needs ``pyarrow``
(``pip install archsim[parquet]``); CSV needs nothing beyond the standard library.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from archsim.errors import TraceError, WorkloadError
from archsim.trace.checks import check_trace
from archsim.trace.schema import TRACE_FORMAT_VERSION, Trace, TraceOp

MAGIC = "archsim-trace"
DIM_PREFIX = "dim_"
INT_FIELDS = ("id", "macs", "flops", "input_bytes", "weight_bytes", "output_bytes",
              "kv_cache_bytes", "params")
STR_FIELDS = ("name", "kind", "dtype", "phase", "layer", "fused", "ragged_dim")
COLUMNS = ("id", "name", "kind", "dtype", "phase", "layer", "macs", "flops", "input_bytes",
           "weight_bytes", "output_bytes", "kv_cache_bytes", "params", "fused", "deps", "ragged_dim",
           "seq_lens")
_JOINED = ("deps", "seq_lens")
REQUIRED_COLUMNS = ("id", "name", "kind")
#: Dimension columns come in this order (then any other dimension, alphabetically).
DIM_ORDER = ("B", "M", "N", "K", "H", "W", "C", "R", "S", "F", "stride_h", "stride_w", "pad_h",
             "pad_w", "groups", "OH", "OW", "elements", "reduce", "window")
_DEFAULTS = {f.name: f.default for f in TraceOp.__dataclass_fields__.values()  # type: ignore[attr-defined]
             if f.name in INT_FIELDS + STR_FIELDS}


def dim_columns(trace: Trace) -> list[str]:
    """The ``dim_*`` column names needed for ``trace``, in canonical order."""
    keys = {k for op in trace.ops for k in op.dims}
    ordered = [k for k in DIM_ORDER if k in keys] + sorted(keys.difference(DIM_ORDER))
    return [DIM_PREFIX + k for k in ordered]


def trace_rows(trace: Trace) -> tuple[list[str], list[dict[str, Any]]]:
    """Return (column names, one dict per op) — the tabular form of ``trace``; absent dims are None."""
    dims = dim_columns(trace)
    rows = []
    for op in trace.ops:
        row: dict[str, Any] = {c: getattr(op, c) for c in COLUMNS if c not in _JOINED}
        for c in _JOINED:
            row[c] = ";".join(str(d) for d in getattr(op, c))
        for col in dims:
            value = op.dims.get(col[len(DIM_PREFIX):])
            row[col] = None if value is None else int(value)
        rows.append(row)
    return [*COLUMNS, *dims], rows


def trace_to_dataframe(trace: Trace):
    """Return ``trace`` as a pandas DataFrame (one row per op; nullable Int64 dim columns)."""
    import pandas as pd

    columns, rows = trace_rows(trace)
    frame = pd.DataFrame(rows, columns=columns)
    for col in columns:
        if col.startswith(DIM_PREFIX):
            frame[col] = frame[col].astype("Int64")
    return frame


def _header(trace: Trace) -> dict[str, Any]:
    return {"format": MAGIC, "version": trace.version, "name": trace.name,
            "metadata": dict(trace.metadata)}


def write_trace(trace: Trace, path: str | Path) -> Path:
    """Write ``trace`` to ``path`` (``.csv`` or ``.parquet``, chosen by suffix); returns the path."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        path.write_text(trace_to_csv(trace), newline="")
    elif suffix in (".parquet", ".pq"):
        _write_parquet(trace, path)
    else:
        raise WorkloadError(f"{path}: cannot write a trace with suffix {suffix!r}; expected .csv or .parquet")
    return path


def trace_to_csv(trace: Trace) -> str:
    """Return the CSV text of ``trace`` (header comment lines, then one row per op)."""
    columns, rows = trace_rows(trace)
    out = io.StringIO()
    out.write(f"# {MAGIC},version={trace.version}\n")
    out.write(f"# name={json.dumps(trace.name)}\n")
    out.write(f"# metadata={json.dumps(dict(trace.metadata), sort_keys=True)}\n")
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return out.getvalue()


def _write_parquet(trace: Trace, path: Path) -> None:
    pa, pq = _pyarrow(path)
    columns, rows = trace_rows(trace)
    arrays = {}
    for col in columns:
        values = [row[col] for row in rows]
        is_int = col in INT_FIELDS or col.startswith(DIM_PREFIX)
        arrays[col] = pa.array(values, type=pa.int64() if is_int else pa.string())
    table = pa.table(arrays)
    table = table.replace_schema_metadata({"archsim_trace": json.dumps(_header(trace), sort_keys=True)})
    pq.write_table(table, path)


def _pyarrow(path: Path):
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise WorkloadError(f"{path}: Parquet traces need pyarrow; install it with "
                            f"`pip install archsim[parquet]` or use a .csv trace") from None
    return pa, pq


def read_trace(path: str | Path) -> Trace:
    """Read a trace written by ``write_trace`` (CSV or Parquet, by suffix) and check it (``check_trace``);
    a malformed or inconsistent file is a TraceError naming the row, column, value and expectation."""
    path = Path(path)
    if not path.is_file():
        raise TraceError(path, "trace file not found", expected="an existing .csv or .parquet trace")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        from archsim.config.yaml_file import read_text_file
        from archsim.errors import ConfigError

        try:
            text = read_text_file(path, "trace file")
        except ConfigError as exc:
            raise TraceError(path, exc.problem, expected=exc.expected) from None
        return trace_from_csv(text, str(path))
    if suffix in (".parquet", ".pq"):
        return _read_parquet(path)
    raise TraceError(path, "cannot read a trace with this suffix", value=suffix, has_value=True,
                     expected=".csv or .parquet")


def is_trace_csv(text: str) -> bool:
    """True when ``text`` starts with the archsim trace header line."""
    return text.lstrip().startswith(f"# {MAGIC}")


def trace_from_csv(text: str, source: str = "<memory>") -> Trace:
    """Parse the CSV text of a trace (see ``trace_to_csv``); ``source`` names it in errors."""
    lines = text.splitlines(keepends=True)
    header: dict[str, Any] = {}
    body_start = 0
    for i, line in enumerate(lines):
        if not line.startswith("#"):
            body_start = i
            break
        content = line[1:].strip()
        if content.startswith(MAGIC):
            for part in content.split(",")[1:]:
                key, _, value = part.partition("=")
                if key.strip() == "version":
                    header["version"] = _parse_int(value, source, i + 1, "version")
        else:
            key, _, value = content.partition("=")
            try:
                header[key.strip()] = json.loads(value)
            except json.JSONDecodeError:
                raise TraceError(source, f"header {key.strip()!r} is not valid JSON", row=i + 1, value=value.strip(),
                                 has_value=True, expected="a JSON value") from None
    else:
        body_start = len(lines)
    if "version" not in header:
        raise TraceError(source, "not an archsim trace", row=1, expected=f"a first line '# {MAGIC},version=N'")
    reader = csv.reader(io.StringIO("".join(lines[body_start:])))
    columns = next(reader, None) or []
    _check_columns(columns, source)
    records = []
    for values in reader:
        lineno = body_start + reader.line_num
        if not values:
            continue
        if len(values) != len(columns):
            raise TraceError(source, f"row has {len(values)} fields but the header has {len(columns)} "
                             "(a truncated or garbled row)", row=lineno, value=",".join(values), has_value=True,
                             expected=f"{len(columns)} comma-separated fields: {','.join(columns)}")
        records.append((lineno, {k: (None if v == "" and (k in INT_FIELDS or k.startswith(DIM_PREFIX)) else v)
                                 for k, v in zip(columns, values)}))
    return _build_trace(header, columns, records, source)


def _read_parquet(path: Path) -> Trace:
    pa, pq = _pyarrow(path)
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise TraceError(path, f"not a readable Parquet file: {exc}") from None
    meta = table.schema.metadata or {}
    raw = meta.get(b"archsim_trace")
    if raw is None:
        raise TraceError(path, "Parquet file has no 'archsim_trace' metadata; not an archsim trace")
    try:
        header = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        header = None
    if not isinstance(header, dict):
        raise TraceError(path, "the 'archsim_trace' metadata is not a JSON object", expected="the header "
                         "write_trace stores") from None
    columns = table.column_names
    _check_columns(columns, str(path))
    records = [(i + 1, row) for i, row in enumerate(table.to_pylist())]
    return _build_trace(header, columns, records, str(path))


def _check_columns(columns: list[str], source: str) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise TraceError(source, f"trace table lacks column(s) {', '.join(missing)}", row=1,
                         expected=f"at least the columns {', '.join(REQUIRED_COLUMNS)}")
    known = set(COLUMNS)
    unknown = [c for c in columns if c not in known and not (c.startswith(DIM_PREFIX) and len(c) > len(DIM_PREFIX))]
    if unknown:
        raise TraceError(source, "unknown column", row=1, column=unknown[0], value=unknown[0], has_value=True,
                         expected=f"one of {', '.join(COLUMNS)} or dim_<name>")
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise TraceError(source, "column appears twice", row=1, column=repeated[0], expected="each column once")


def _parse_int(value: Any, source: str, row: int, column: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise TraceError(source, "not an integer", row=row, column=column, value=value, has_value=True,
                         expected="an integer") from None


def _build_trace(header: dict[str, Any], columns: list[str], records: list[tuple[int, dict[str, Any]]],
                 source: str) -> Trace:
    version = header.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise TraceError(source, "trace format version is not an integer", value=version, has_value=True,
                         expected=f"an integer 1..{TRACE_FORMAT_VERSION}")
    if version > TRACE_FORMAT_VERSION or version < 1:
        raise TraceError(source, f"trace format version {version} is not supported; "
                            f"this archsim reads versions 1..{TRACE_FORMAT_VERSION}")
    dim_cols = [c for c in columns if c.startswith(DIM_PREFIX)]
    ops = []
    for row_no, row in records:
        fields: dict[str, Any] = {}
        for name in REQUIRED_COLUMNS:
            if row.get(name) is None or str(row.get(name)).strip() == "":
                raise TraceError(source, "empty required field", row=row_no, column=name,
                                 expected="an integer op id" if name == "id" else f"the op's {name}")
        for name in INT_FIELDS:
            value = row.get(name)
            fields[name] = _DEFAULTS.get(name, 0) if value is None else _parse_int(value, source, row_no, name)
        for name in STR_FIELDS:
            value = row.get(name)
            fields[name] = _DEFAULTS.get(name, "") if value is None else str(value)
        for name in _JOINED:
            text = row.get(name) or ""
            fields[name] = tuple(_parse_int(d, source, row_no, name) for d in str(text).split(";") if d.strip())
        fields["dims"] = {c[len(DIM_PREFIX):]: _parse_int(row[c], source, row_no, c)
                          for c in dim_cols if row.get(c) is not None}
        ops.append(TraceOp(**fields))
    metadata = header.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise TraceError(source, "trace metadata is not a mapping", value=metadata, has_value=True,
                         expected="a JSON object")
    trace = Trace(name=str(header.get("name", "")), ops=tuple(ops),
                  metadata={str(k): str(v) for k, v in metadata.items()}, version=version)
    return check_trace(trace, source, [row_no for row_no, _ in records])

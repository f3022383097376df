"""Errors archsim raises on purpose: each names where the problem is and what was expected."""
from __future__ import annotations

from pathlib import Path


class ArchsimError(Exception):
    """Base class of every error archsim raises deliberately (the CLI prints these without a traceback)."""


class ConfigError(ArchsimError):
    """A configuration or input file is wrong.

    The message always names the file, the dotted key path inside it, the offending value and what
    was expected, e.g. ``arch_configs/x.yaml: engines.npu.rows: got -4, expected an integer > 0``.
    """

    def __init__(self, file: str | Path | None, key_path: str, problem: str,
                 value: object = None, expected: str | None = None, has_value: bool = False):
        self.file = str(file) if file is not None else "<memory>"
        self.key_path = key_path or "<top level>"
        self.problem = problem
        self.value = value
        self.expected = expected
        parts = [f"{self.file}: {self.key_path}: {problem}"]
        if has_value:
            parts.append(f"got {value!r}")
        if expected:
            parts.append(f"expected {expected}")
        super().__init__("; ".join(parts))


class WorkloadError(ArchsimError):
    """A workload (model name, model file or trace) cannot be built or read."""


class TraceError(WorkloadError):
    """A trace file's contents are wrong: names the file, the row (1-based line of the file for CSV, row of
    the table for Parquet; None for the trace as a whole), the column, the value and what was expected."""

    def __init__(self, file: str | Path | None, problem: str, row: int | None = None, column: str | None = None,
                 value: object = None, expected: str | None = None, has_value: bool = False):
        self.file = str(file) if file is not None else "<memory>"
        self.row = row
        self.column = column
        self.problem = problem
        self.value = value
        self.expected = expected
        where = [self.file]
        if row is not None:
            where.append(f"row {row}")
        if column:
            where.append(f"column {column!r}")
        parts = [f"{': '.join(where)}: {problem}"]
        if has_value:
            parts.append(f"got {value!r}")
        if expected:
            parts.append(f"expected {expected}")
        super().__init__("; ".join(parts))


class MappingError(ArchsimError):
    """The operators of a trace cannot be placed on the engines of an architecture."""

"""Trace format: exact CSV/Parquet round trips, versioned headers, clear errors on malformed files."""
from __future__ import annotations

import pytest

from archsim.errors import WorkloadError
from archsim.trace import Trace, TraceOp, read_trace, trace_to_dataframe, write_trace
from archsim.trace.io import TRACE_FORMAT_VERSION, trace_from_csv, trace_to_csv
from archsim.workload import list_workloads, load_workload

SMALL = Trace("tiny", (
    TraceOp(0, "conv, \"quoted\"", "conv2d", {"N": 1, "H": 8, "W": 8, "C": 3, "R": 3, "S": 3, "F": 4,
                                              "stride_h": 1, "stride_w": 1, "pad_h": 1, "pad_w": 1,
                                              "groups": 1, "OH": 8, "OW": 8},
            macs=6912, flops=13824, input_bytes=192, weight_bytes=108, output_bytes=256, params=108, fused="relu"),
    TraceOp(1, "sm", "softmax", {"elements": 256, "reduce": 64}, flops=1280, deps=(0,), phase="decode",
            layer="layers.0", dtype="fp16", kv_cache_bytes=10, input_bytes=20),
    TraceOp(2, "view", "reshape", {}, deps=(0, 1)),
), {"source": "unit test", "note": "a=b, #c"})


def test_csv_round_trip_is_exact(tmp_path):
    path = write_trace(SMALL, tmp_path / "t.csv")
    assert read_trace(path) == SMALL


def test_parquet_round_trip_is_exact(tmp_path):
    pytest.importorskip("pyarrow")
    path = write_trace(SMALL, tmp_path / "t.parquet")
    assert read_trace(path) == SMALL


@pytest.mark.parametrize("model", list_workloads())
def test_every_zoo_model_round_trips_through_csv(model):
    trace = load_workload(model)
    assert trace_from_csv(trace_to_csv(trace)) == trace


@pytest.mark.parametrize("model", ["resnet50", "mixtral_8x7b"])
def test_zoo_models_round_trip_through_parquet(model, tmp_path):
    pytest.importorskip("pyarrow")
    trace = load_workload(model, ["phase=decode"] if model.startswith("mix") else [])
    assert read_trace(write_trace(trace, tmp_path / "t.parquet")) == trace


def test_csv_starts_with_the_format_version():
    assert trace_to_csv(SMALL).splitlines()[0] == f"# archsim-trace,version={TRACE_FORMAT_VERSION}"


def test_pandas_reads_the_csv_table_directly(tmp_path):
    pd = pytest.importorskip("pandas")
    trace = load_workload("resnet18")
    frame = pd.read_csv(write_trace(trace, tmp_path / "r.csv"), comment="#")
    assert len(frame) == len(trace) and frame["macs"].sum() == trace.total_macs


def test_dataframe_has_one_row_per_op_and_a_column_per_dimension():
    frame = trace_to_dataframe(SMALL)
    assert list(frame["id"]) == [0, 1, 2]
    assert frame.loc[0, "dim_OH"] == 8 and frame["dim_OH"].isna().sum() == 2


def test_a_newer_format_version_is_refused():
    text = trace_to_csv(SMALL).replace("version=1", "version=99", 1)
    with pytest.raises(WorkloadError, match="version 99 is not supported"):
        trace_from_csv(text, "x.csv")


def test_a_non_integer_cell_names_file_row_and_column():
    text = trace_to_csv(SMALL).replace(",6912,", ",lots,", 1)
    with pytest.raises(WorkloadError, match=r"x\.csv: row \d+: column 'macs'.*expected an integer"):
        trace_from_csv(text, "x.csv")


def test_a_missing_required_column_is_reported():
    text = "# archsim-trace,version=1\nid,kind\n0,gemm\n"
    with pytest.raises(WorkloadError, match="lacks column.*name"):
        trace_from_csv(text, "x.csv")


def test_a_csv_without_the_header_line_is_not_a_trace():
    with pytest.raises(WorkloadError, match="not an archsim trace"):
        trace_from_csv("id,name,kind\n0,a,gemm\n", "x.csv")


def test_an_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(WorkloadError, match=r"expected \.csv or \.parquet"):
        write_trace(SMALL, tmp_path / "t.txt")


def test_a_missing_file_is_reported(tmp_path):
    with pytest.raises(WorkloadError, match="not found"):
        read_trace(tmp_path / "absent.csv")


def test_shipped_example_traces_read_back_and_are_consistent():
    from pathlib import Path

    from archsim.trace import check_trace

    shipped = sorted((Path(__file__).resolve().parents[1] / "traces").glob("*.csv"))
    assert len(shipped) >= 2
    for path in shipped:
        check_trace(read_trace(path))

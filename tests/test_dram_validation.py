"""The DRAM model against DRAMsim3: the shared reference results (bandwidth within 5%, average
read latency within 10% — in fact cycle-exact) and, marked slow, every side-by-side case."""
from __future__ import annotations

import pytest

from archsim.hw.dram.validation import (
    CASE_BY_NAME, DRAMSIM3_RESULTS, REFERENCE_SHA256, dramsim3_trace_sha256, requests_for_case, validate,
)

REFERENCE_CASES = ["hbm2_seq_read", "hbm2_rand_read", "hbm2_rand_rw50"]


@pytest.mark.parametrize("case", REFERENCE_CASES)
def test_regenerated_traces_match_the_reference_sha256(case):
    assert dramsim3_trace_sha256(requests_for_case(CASE_BY_NAME[case])) == REFERENCE_SHA256[case]


@pytest.mark.parametrize("case", REFERENCE_CASES)
def test_reference_case_within_5_percent_bandwidth_and_10_percent_latency(case):
    r = validate(case, 1)
    assert abs(r["bandwidth_error_pct"]) <= 5.0
    assert abs(r["latency_error_pct"]) <= 10.0


@pytest.mark.parametrize("case", REFERENCE_CASES)
def test_reference_case_is_cycle_exact(case):
    r = validate(case, 1)
    assert r["archsim_total_cycles"] == r["dramsim3_total_cycles"]
    assert r["archsim_avg_read_latency_cycles"] == pytest.approx(r["dramsim3_avg_read_latency_cycles"], abs=5e-5)


@pytest.mark.slow
@pytest.mark.parametrize("case,width", sorted(DRAMSIM3_RESULTS))
def test_side_by_side_case_matches_dramsim3(case, width):
    r = validate(case, width)
    assert abs(r["bandwidth_error_pct"]) <= 5.0 and abs(r["latency_error_pct"]) <= 10.0
    assert r["archsim_total_cycles"] == r["dramsim3_total_cycles"]

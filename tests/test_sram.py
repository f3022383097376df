"""SRAM scratchpads: capacity, banks, ports, word width, energy hooks and double buffering."""
import pytest

from archsim.config import build_arch
from archsim.errors import ConfigError
from archsim.hw.sram import Sram, SramParams, double_buffer_cycles, fits


def sram(**kw):
    return Sram(SramParams(kind="sram", **{"capacity_kib": 64, **kw}))


def test_capacity_in_bytes_and_words():
    s = sram(word_bytes=4)
    assert s.capacity_bytes == 65536 and s.capacity_words == 16384


def test_double_buffering_halves_the_working_set():
    assert sram(double_buffered=True).working_words == 32768
    assert sram(double_buffered=False).working_words == 65536
    assert fits(32768, sram()) and not fits(32769, sram()) and fits(65536, sram(double_buffered=False))


def test_peak_bandwidth_is_banks_times_ports_times_word():
    s = sram(banks=8, ports_per_bank=2, word_bytes=4)
    assert s.port_gbps(1.0) == 64 and s.bandwidth_gbps(2.0) == 128
    assert sram(bandwidth_gbps=10).bandwidth_gbps(1.0) == 10   # an explicit DMA port wins
    assert s.stream_cycles(64 * 10) == 10


def test_bank_conflicts_serialise_on_the_busiest_bank():
    s = sram(banks=4, ports_per_bank=1)
    assert s.access_cycles([0, 1, 2, 3]) == 1            # one word per bank
    assert s.access_cycles([0, 4, 8, 12]) == 4           # all in bank 0
    assert sram(banks=4, ports_per_bank=2).access_cycles([0, 4, 8, 12]) == 2
    assert s.access_cycles([]) == 0


def test_energy_hooks_return_pinned_energy_or_defer_to_the_table():
    assert sram(read_pj_per_word=2.0, write_pj_per_word=3.0).access_energy_pj(10, 1) == 23.0
    assert sram(read_pj_per_word=2.0).access_energy_pj(10, 0) == 20.0
    assert sram(read_pj_per_word=2.0).access_energy_pj(10, 1) is None
    assert sram().access_energy_pj(1, 1) is None


def test_double_buffered_tiles_overlap_fill_and_compute():
    assert double_buffer_cycles([10, 10, 10], [5, 5, 5], double_buffered=False) == 45
    assert double_buffer_cycles([10, 10, 10], [5, 5, 5]) == 35            # load-bound: 3 fills + last compute
    assert double_buffer_cycles([2, 2, 2], [10, 10, 10]) == 32            # compute-bound: first fill + 3 computes
    assert double_buffer_cycles([], []) == 0


def test_double_buffering_never_holds_more_than_two_tiles():
    # fill of tile 2 must wait until compute of tile 0 has freed its buffer
    assert double_buffer_cycles([1, 1, 1], [100, 1, 1]) == 1 + 100 + 1 + 1


def test_bad_sram_values_are_located_errors():
    data = {"name": "x", "clock_ghz": 1.0, "engines": {"v": {"kind": "vector", "lanes": 4, "dram": "d"}},
            "memories": {"d": {"kind": "dram", "bandwidth_gbps": 1},
                         "s": {"kind": "sram", "capacity_kib": 8, "banks": 0}}}
    with pytest.raises(ConfigError, match="memories.s.banks"):
        build_arch(data, "x.yaml")
    data["memories"]["s"] = {"kind": "sram", "capacity_kib": 8, "read_pj_per_word": -1}
    with pytest.raises(ConfigError, match="memories.s.read_pj_per_word"):
        build_arch(data, "x.yaml")

"""The SCALE-Sim memory kernel's result layout and error codes, importable without Numba."""
from __future__ import annotations

import numpy as np

# Indices of the result vector of ``simulate_memory``.
(RES_TOTAL_CYCLES, RES_STALL_CYCLES, RES_ROWS,
 RES_SRAM_IF_START, RES_SRAM_IF_STOP, RES_SRAM_FL_START, RES_SRAM_FL_STOP,
 RES_SRAM_OF_START, RES_SRAM_OF_STOP,
 RES_DRAM_IF_START, RES_DRAM_IF_STOP, RES_DRAM_IF_COUNT,
 RES_DRAM_FL_START, RES_DRAM_FL_STOP, RES_DRAM_FL_COUNT,
 RES_DRAM_OF_START, RES_DRAM_OF_STOP, RES_DRAM_OF_COUNT,
 RES_ERROR) = range(19)
N_RES = 19

# Error codes in RES_ERROR: situations where SCALE-Sim itself would crash or loop forever.
ERR_NONE = 0
ERR_ZERO_PREFETCH_WINDOW = 1   # CALC: two window slides in one cycle -> ZeroDivisionError upstream
ERR_NO_REQUESTS = 2            # an operand is never read -> empty DRAM trace (IndexError upstream)
ERR_ADDR_NOT_PREFETCHED = 3    # USER: demanded word absent from the prefetch matrix (endless loop)
ERR_NO_OFMAP = 4               # no OFMAP word written -> no DRAM trace (AssertionError upstream)

NO_CYCLE = np.iinfo(np.int64).min

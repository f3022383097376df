"""Global-buffer traffic of a row-stationary mapping (Numba): walks the work units pass by pass.

A work unit is one input channel x one filter x one ofmap strip x one filter-row fold. Units fill the array's
``slots`` logical PE sets in the loop order image, group, channel, row fold, strip, filter (filters fastest,
channels slowest: the order of MAESTRO's row-stationary template, whose L2 counts this reproduces). Per pass:

* an ifmap block (image, group, channel, fold, strip) is read once, multicast to every set using it;
* a filter-row block (group, filter, channel, fold) is read once unless the array already held it in the
  previous pass (row-stationary: a PE keeps its filter row while the strips change under it);
* an ofmap strip (image, group, strip, filter) that the pass adds to is written once; channels of one filter
  in one pass add up inside the array, across passes through the buffer.

Returns ``(ifmap_blocks, weight_blocks, psum_blocks)``: the per-pass counts summed over the passes.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def rs_buffer_loads(images: int, strips: int, groups: int, filters_per_group: int, row_folds: int,
                    channels_per_group: int, slots: int):
    """(ifmap_blocks, weight_blocks, psum_blocks): see the module docstring."""
    n_ifmap = images * groups * channels_per_group * row_folds * strips
    n_weight = groups * filters_per_group * channels_per_group * row_folds
    n_psum = images * groups * strips * filters_per_group
    seen_ifmap = np.full(n_ifmap, -1, np.int64)
    seen_weight = np.full(n_weight, -2, np.int64)
    seen_psum = np.full(n_psum, -1, np.int64)
    ifmap_blocks = 0
    weight_blocks = 0
    psum_blocks = 0
    u = 0
    for image in range(images):
        for group in range(groups):
            for c in range(channels_per_group):
                for fold in range(row_folds):
                    for strip in range(strips):
                        key_i = (((image * groups + group) * channels_per_group + c) * row_folds + fold) * strips + strip
                        for f in range(filters_per_group):
                            p = u // slots
                            if seen_ifmap[key_i] != p:
                                seen_ifmap[key_i] = p
                                ifmap_blocks += 1
                            key_w = ((group * filters_per_group + f) * channels_per_group + c) * row_folds + fold
                            last = seen_weight[key_w]
                            if last != p:
                                if last != p - 1:
                                    weight_blocks += 1
                                seen_weight[key_w] = p
                            key_p = ((image * groups + group) * strips + strip) * filters_per_group + f
                            if seen_psum[key_p] != p:
                                seen_psum[key_p] = p
                                psum_blocks += 1
                            u += 1
    return ifmap_blocks, weight_blocks, psum_blocks

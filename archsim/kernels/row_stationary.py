"""Global-buffer reads of a row-stationary mapping (Numba): walks the work units pass by pass.

Work units (one input channel x one filter x one ofmap strip x one filter-row fold) fill the array's
``slots`` logical PE sets in the order image, strip, group, filter, row fold, channel (channel fastest), so
the sets of one pass that work on the same filter add their partial sums inside the array (psums flow up the
columns) and the sets that read the same ifmap rows share one multicast read. Returns per layer:

* ``ifmap_loads``: sum over passes of the distinct (image, strip, row fold, group, channel) ifmap row blocks
  the pass reads;
* ``psum_blocks``: sum over passes of the distinct (image, strip, filter) ofmap strips the pass writes.
"""
from __future__ import annotations

from numba import njit


@njit(cache=True)
def rs_buffer_loads(images: int, strips: int, groups: int, filters_per_group: int, row_folds: int,
                    channels_per_group: int, slots: int):
    """(ifmap_loads, psum_blocks): see the module docstring."""
    n_ifmap = images * strips * row_folds * groups * channels_per_group
    n_psum = images * strips * groups * filters_per_group
    last_ifmap = [-1] * n_ifmap
    last_psum = [-1] * n_psum
    ifmap_loads = 0
    psum_blocks = 0
    u = 0
    for image in range(images):
        for strip in range(strips):
            for group in range(groups):
                for f in range(filters_per_group):
                    psum = ((image * strips + strip) * groups + group) * filters_per_group + f
                    for fold in range(row_folds):
                        base = (((image * strips + strip) * row_folds + fold) * groups + group) * channels_per_group
                        for c in range(channels_per_group):
                            p = u // slots
                            key = base + c
                            if last_ifmap[key] != p:
                                last_ifmap[key] = p
                                ifmap_loads += 1
                            if last_psum[psum] != p:
                                last_psum[psum] = p
                                psum_blocks += 1
                            u += 1
    return ifmap_loads, psum_blocks

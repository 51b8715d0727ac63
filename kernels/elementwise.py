"""Element-wise kernels (numba): Akida 2.0 Add.  Same signature and results as
:func:`nsoc.kernels.reference.add`."""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._util import kernel_array, sat, shift_round, threads_for
from .geometry import signed_range


@njit(cache=True, parallel=True)
def _add(a, b, a_shift, b_shift, o_shift, blo, bhi, plo, phi, relu, olo, ohi, out):
    n, sx, sy, nc = a.shape
    for k in prange(n):
        for i in range(sx):
            for j in range(sy):
                for c in range(nc):
                    va = sat(np.int64(a[k, i, j, c]) << a_shift[c], blo, bhi)
                    vb = sat(np.int64(b[k, i, j, c]) << b_shift[c], blo, bhi)
                    v = sat(va + vb, blo, bhi)
                    if relu and v < 0:
                        v = 0
                    v = sat(v, plo, phi)
                    out[k, i, j, c] = sat(shift_round(v, o_shift[c]), olo, ohi)


def add(a, b, a_shift, b_shift, output_shift, buffer_bits, post_op_bits, relu, out_lo, out_hi,
        dtype=np.int64):
    """Akida 2.0 Add: ``sat(sat(a << a_shift) + sat(b << b_shift))`` then the output shift."""
    blo, bhi = signed_range(buffer_bits)
    plo, phi = signed_range(post_op_bits)
    out = np.empty(a.shape, dtype)
    with threads_for(a.size):
        _add(kernel_array(a), kernel_array(b),
             np.ascontiguousarray(a_shift, np.int64), np.ascontiguousarray(b_shift, np.int64),
             np.ascontiguousarray(output_shift, np.int64), blo, bhi, plo, phi, bool(relu),
             int(out_lo), int(out_hi), out)
    return out

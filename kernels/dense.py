"""Dense kernels (numba): Akida 2.0 Dense1D and Akida 1.0 FullyConnected, event based.

Each non-zero input adds its weight row to the potentials; zero inputs cost nothing.  Samples
run in parallel.  Signatures and results equal :mod:`nsoc.kernels.reference`'s.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._util import kernel_array, threads_for
from .geometry import signed_range
from .output import v1_args, v1_finish, v2_args, v2_finish
from .potentials import acc_dtype, fold_input_shift, max_abs_of


@njit(cache=True, parallel=True)
def _dense_v2(x, w, ishift, bounds, out, post, sc, fast):
    """Event-based Dense1D: the non-zero inputs of a sample are gathered (branch free), then
    each adds its weight row; ``w`` and the accumulator share the accumulator dtype."""
    nn, fan_in = x.shape
    nu = w.shape[1]
    blo, bhi = bounds[0], bounds[1]
    for n in prange(nn):
        ks = np.empty(fan_in, np.int64)
        vs = np.empty(fan_in, w.dtype)
        m = 0
        for k in range(fan_in):
            v0 = np.int64(x[n, k])
            ks[m] = k
            vs[m] = min(max(v0 << ishift[k], blo), bhi)
            m += v0 != 0
        acc = np.zeros((1, 1, nu), w.dtype)
        row = acc[0, 0]
        for e in range(m):
            v = vs[e]
            wr = w[ks[e]]
            for u in range(nu):
                row[u] += v * wr[u]
        v2_finish(acc, out[n], post, sc, fast)


@njit(cache=True, parallel=True)
def _dense_v1(x, w, out, thr, step16, activation, top, pool_type, z0, z1, q0, q1, ppx, ppy, gt,
              mode):
    """Event-based FullyConnected: each non-zero input adds its weight row (``w`` in the
    accumulator dtype), then the v1 activation."""
    nn, fan_in = x.shape
    nu = w.shape[1]
    for n in prange(nn):
        ks = np.empty(fan_in, np.int32)
        xs = x[n]
        m = 0
        for k in range(fan_in):
            ks[m] = k
            m += xs[k] != 0
        acc = np.zeros((1, 1, nu), w.dtype)
        row = acc[0, 0]
        for e in range(m):
            k = ks[e]
            v = w.dtype.type(xs[k])
            wr = w[k]
            for u in range(nu):
                row[u] += v * wr[u]
        v1_finish(acc, out[n], thr, step16, activation, top, pool_type, z0, z1, q0, q1, ppx, ppy,
                  gt, mode)


def prepare_dense_v2(weights, input_shift, stage, max_in):
    """Prepared Dense1D: ``run(x (N, fan_in), dtype) -> (N, units)``; ``max_in`` bounds
    |input| (picks the accumulator dtype)."""
    sh = np.ascontiguousarray(input_shift, np.int64)
    blo, bhi = signed_range(stage.buffer_bits)
    units = weights.shape[1]
    weights, sh, max_ev, _ = fold_input_shift(weights, sh, max_in, stage.buffer_bits, 0)
    acc = acc_dtype(max_ev, weights)
    stage_args, _ = v2_args(stage, 1, 1, acc)
    w = np.ascontiguousarray(weights, acc)
    bounds = np.array([blo, bhi], np.int64)

    def run(x, dtype=np.int64):
        out = np.empty((x.shape[0], 1, 1, units), dtype)
        with threads_for(x.shape[0] * weights.size):
            _dense_v2(kernel_array(x), w, sh, bounds, out, *stage_args)
        return out.reshape(x.shape[0], units)
    return run


def dense_v2(x, weights, input_shift, stage, dtype=np.int64):
    """Dense1D of a flattened ``(N, fan_in)`` input; returns ``(N, units)``."""
    return prepare_dense_v2(weights, input_shift, stage, max_abs_of(x.dtype))(x, dtype)


def prepare_dense_v1(weights, stage, max_in):
    """Prepared v1 FullyConnected: ``run(x (N, fan_in) in (c, y, x) order, dtype) ->
    (N, units)``; ``max_in`` bounds |input| (picks the accumulator dtype)."""
    units = weights.shape[1]
    w = np.ascontiguousarray(weights, acc_dtype(max_in, weights))
    args, _ = v1_args(stage, 1, 1, w.dtype)

    def run(x, dtype=np.int64):
        out = np.empty((x.shape[0], 1, 1, units), dtype)
        with threads_for(x.shape[0] * weights.size):
            _dense_v1(kernel_array(x), w, out, *args)
        return out.reshape(x.shape[0], units)
    return run


def dense_v1(x, weights, stage, dtype=np.int64):
    """v1 FullyConnected of the (c, y, x)-flattened ``(N, fan_in)`` input; ``(N, units)``."""
    return prepare_dense_v1(weights, stage, max_abs_of(x.dtype))(x, dtype)

"""Dense kernels (numba): Akida 2.0 Dense1D and Akida 1.0 FullyConnected, event based.

Each non-zero input adds its weight row to the potentials; zero inputs cost nothing.  Samples
run in parallel.  Signatures and results equal :mod:`nsoc.kernels.reference`'s.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._util import lohi, sat, threads_for
from .conv import _max_abs, acc_dtype
from .output import v1_args, v1_finish, v2_args, v2_finish


@njit(cache=True)
def _rows(xs, ishift, blo, bhi, w, acc):
    nu = w.shape[1]
    for k in range(xs.shape[0]):
        v0 = np.int64(xs[k])
        if v0 == 0:
            continue
        v = sat(v0 << ishift[k], blo, bhi)
        for u in range(nu):
            acc[u] += v * w[k, u]


@njit(cache=True, parallel=True)
def _dense_v2(x, w, ishift, blo, bhi, acc_proto, out, bias, relu, clip, scales, shift,
              _blo, _bhi, plo, phi, olo, ohi, pool_type, z0, z1, q0, q1, ppx, ppy):
    nu = w.shape[1]
    for n in prange(x.shape[0]):
        acc = np.zeros(nu, acc_proto.dtype)
        _rows(x[n], ishift, blo, bhi, w, acc)
        for u in range(nu):
            acc[u] = sat(acc[u], blo, bhi)
        v2_finish(acc.reshape((1, 1, nu)), out[n], bias, relu, clip, scales, shift, blo, bhi,
                  plo, phi, olo, ohi, pool_type, z0, z1, q0, q1, ppx, ppy)


@njit(cache=True, parallel=True)
def _dense_v1(x, w, acc_proto, out, thr, step16, activation, top, pool_type, z0, z1, q0, q1,
              ppx, ppy):
    nu = w.shape[1]
    zero = np.zeros(x.shape[1], np.int64)
    big_lo, big_hi = -(np.int64(1) << 62), np.int64(1) << 62
    for n in prange(x.shape[0]):
        acc = np.zeros(nu, acc_proto.dtype)
        _rows(x[n], zero, big_lo, big_hi, w, acc)
        v1_finish(acc.reshape((1, 1, nu)), out[n], thr, step16, activation, top, pool_type,
                  z0, z1, q0, q1, ppx, ppy)


def dense_v2(x, weights, input_shift, stage, dtype=np.int64):
    """Dense1D of a flattened ``(N, fan_in)`` input; returns ``(N, units)``."""
    sh = np.ascontiguousarray(input_shift, np.int64)
    blo, bhi = lohi(stage.buffer_bits)
    args, _ = v2_args(stage, 1, 1)
    units = weights.shape[1]
    out = np.empty((x.shape[0], 1, 1, units), dtype)
    proto = np.zeros(0, acc_dtype(min(_max_abs(x, sh), bhi), weights))
    with threads_for(x.shape[0] * weights.size):
        _dense_v2(np.ascontiguousarray(x), np.ascontiguousarray(weights), sh, blo, bhi, proto,
                  out, *args)
    return out.reshape(x.shape[0], units)


def dense_v1(x, weights, stage, dtype=np.int64):
    """v1 FullyConnected of the (c, y, x)-flattened ``(N, fan_in)`` input; ``(N, units)``."""
    args, _ = v1_args(stage, 1, 1)
    units = weights.shape[1]
    out = np.empty((x.shape[0], 1, 1, units), dtype)
    proto = np.zeros(0, acc_dtype(_max_abs(x), weights))
    with threads_for(x.shape[0] * weights.size):
        _dense_v1(np.ascontiguousarray(x), np.ascontiguousarray(weights), proto, out, *args)
    return out.reshape(x.shape[0], units)

"""Convolution potentials (numba), one sample at a time, and what sizes them.

The per-sample potentials are shared by the Akida 2.0 and 1.0 layer kernels of
:mod:`nsoc.kernels.conv`: event based (:func:`event_potentials`, each non-zero input scattered
into the outputs it reaches through the tap tables of :func:`taps`; :func:`pointwise_events`
for 1x1 stride 1), dense (:func:`dense_potentials`, output by output, on a frame written by
:func:`frame_into`) and depthwise (:func:`depthwise_potentials`).  Accumulators (and the
weights, cast once) are int16, int32 or int64: the narrowest the layer's worst case provably
fits (:func:`acc_dtype`), so all are exact since the reference saturates only the final sum.
An input shift that cannot saturate is folded into the weights (:func:`fold_input_shift`).
Channels are innermost and contiguous so LLVM vectorises the multiply-accumulates.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .geometry import conv_output_size, same_pad_before, signed_range


def acc_dtype(max_abs_input: int, weights) -> np.dtype:
    """Narrowest of int16, int32, int64 holding ``max_abs_input * max_f sum |w[..., f]|``
    (every partial sum of a potential is bounded by it, so the accumulation cannot wrap)."""
    w = np.abs(weights.astype(np.int64)).reshape(-1, weights.shape[-1])
    bound = int(max_abs_input) * int(w.sum(axis=0).max(initial=0))
    for dt in (np.int16, np.int32):
        if bound < int(np.iinfo(dt).max):
            return np.dtype(dt)
    return np.dtype(np.int64)


def fold_input_shift(weights, input_shift, max_in: int, buffer_bits: int, axis: int):
    """``(weights, input_shift, max_event, plain)`` of a layer, its input shift folded into the
    weights when possible.

    When no shifted input can saturate the ``buffer_bits`` register (``max_in << max(shift)``
    fits), ``(x << s[c]) * w[..., c, ...] == x * (w[..., c, ...] << s[c])`` exactly, so the
    weights (int64) are shifted along the input channel ``axis``, the returned shift is 0 and
    ``plain`` is True.  Else they are returned unchanged with ``plain`` False.  ``max_event``
    bounds |event value| (for :func:`acc_dtype`).
    """
    sh = np.ascontiguousarray(input_shift, np.int64)
    _, bhi = signed_range(buffer_bits)
    if (max_in << int(np.max(sh, initial=0))) > bhi:
        return weights, sh, min(max_in << int(np.max(sh, initial=0)), bhi + 1), False
    shape = [1] * weights.ndim
    shape[axis] = len(sh)
    w = np.left_shift(weights.astype(np.int64), sh.reshape(shape))
    return w, np.zeros_like(sh), max_in, True


def taps(size: int, out: int, k: int, stride: int, pad: int):
    """Per input index: how many outputs it reaches, which ones and with which kernel tap.

    Returns ``(count (size,), output (size, k), tap (size, k))`` int64, so the scatter loops do
    no division.
    """
    count = np.zeros(size, np.int64)
    output = np.zeros((size, k), np.int64)
    tap = np.zeros((size, k), np.int64)
    for ix in range(size):
        for i in range(k):
            u = ix + pad - i
            if u >= 0 and u % stride == 0 and u // stride < out:
                output[ix, count[ix]], tap[ix, count[ix]] = u // stride, i
                count[ix] += 1
    return count, output, tap


def tap_tables(sx, sy, ox, oy, k0, k1, strides, px, py):
    """The :func:`taps` tables along x then y: ``(na, oa, ta, nb, ob, tb)``."""
    return taps(sx, ox, k0, strides[0], px) + taps(sy, oy, k1, strides[1], py)


def frame_geometry(x_shape, k0, k1, strides, same):
    """(ox, oy, px, py, ex, ey): outputs, padding before, padded input extent."""
    sx, sy = x_shape[1], x_shape[2]
    ox, oy, px, py = conv_geometry(sx, sy, k0, k1, strides, same)
    return ox, oy, px, py, (ox - 1) * strides[0] + k0, (oy - 1) * strides[1] + k1


def conv_geometry(sx, sy, k0, k1, strides, same):
    """(ox, oy, px, py): outputs and padding before of a ``(k0, k1)`` window on ``(sx, sy)``."""
    s0, s1 = strides
    ox, oy = conv_output_size(sx, k0, s0, same), conv_output_size(sy, k1, s1, same)
    px = same_pad_before(sx, ox, k0, s0) if same else 0
    py = same_pad_before(sy, oy, k1, s1) if same else 0
    return ox, oy, px, py


def max_abs_of(dtype, shift=None) -> int:
    """Largest |value| an integer ``dtype`` holds, times ``2**max(shift)``."""
    info = np.iinfo(dtype)
    m = max(-int(info.min), int(info.max))
    if shift is not None and len(shift):
        m <<= int(np.max(shift))
    return m


# ----- per-sample potentials (shared by the Akida 2.0 and 1.0 layer kernels) -------------------
@njit(cache=True)
def event_potentials(xs, w, ishift, blo, bhi, plain, na, oa, ta, nb, ob, tb, cs, vs, acc):
    """Event-based convolution of one sample: each non-zero ``xs[ix, iy, c]`` (shifted and
    saturated unless ``plain``) adds ``v * w[i, j, c, :]`` to the potentials ``acc (ox, oy, F)``
    it reaches (tap tables of :func:`taps`).  The channels of the events of one input position
    are gathered first (branch free), then their values, then they are scattered tap by tap
    with the output channels innermost, 4 events per pass over a potential row (exact: any
    partial sum is within :func:`acc_dtype`'s bound).  ``cs`` (int32) and ``vs`` are scratch
    of length C."""
    sx, sy, nc = xs.shape
    nf = w.shape[3]
    for ix in range(sx):
        if na[ix] == 0:
            continue
        for iy in range(sy):
            if nb[iy] == 0:
                continue
            xr = xs[ix, iy]
            m = 0
            for c in range(nc):
                cs[m] = c
                m += xr[c] != 0
            if m == 0:
                continue
            if plain:
                for e in range(m):
                    vs[e] = xr[cs[e]]
            else:
                for e in range(m):
                    c = cs[e]
                    vs[e] = min(max(np.int64(xr[c]) << ishift[c], blo), bhi)
            for p in range(na[ix]):
                a, i = oa[ix, p], ta[ix, p]
                for r in range(nb[iy]):
                    b, j = ob[iy, r], tb[iy, r]
                    row = acc[a, b]
                    wij = w[i, j]
                    e = 0
                    while e + 4 <= m:      # 4 events per pass: one load/store of the row
                        v0, v1, v2, v3 = vs[e], vs[e + 1], vs[e + 2], vs[e + 3]
                        w0, w1, w2, w3 = wij[cs[e]], wij[cs[e + 1]], wij[cs[e + 2]], wij[cs[e + 3]]
                        for f in range(nf):
                            row[f] += v0 * w0[f] + v1 * w1[f] + v2 * w2[f] + v3 * w3[f]
                        e += 4
                    while e < m:
                        v = vs[e]
                        wr = wij[cs[e]]
                        for f in range(nf):
                            row[f] += v * wr[f]
                        e += 1


@njit(cache=True)
def pointwise_events(xs, w, ishift, blo, bhi, plain, cs, acc):
    """1x1 stride 1 potentials of one sample: ``acc (P, F)`` from ``xs (P, C)``, event by
    event (non-zero channels gathered per position, then their weight rows ``w (C, F)``
    added)."""
    npos, nc = xs.shape
    nf = w.shape[1]
    for q in range(npos):
        xr = xs[q]
        row = acc[q]
        for f in range(nf):
            row[f] = 0
        m = 0
        for c in range(nc):
            cs[m] = c
            m += xr[c] != 0
        for e in range(m):
            c = cs[e]
            if plain:
                v = w.dtype.type(xr[c])
            else:
                v = w.dtype.type(min(max(np.int64(xr[c]) << ishift[c], blo), bhi))
            wr = w[c]
            for f in range(nf):
                row[f] += v * wr[f]


@njit(cache=True)
def frame_into(xs, pad_value, ishift, geo, xp):
    """Write ``xs (sx, sy, C)`` (shifted and saturated unless ``geo[10]``) into the padded frame
    ``xp (ex, ey, C)`` filled with ``pad_value[c]``; returns the (ex, ey) map of positions
    holding a non-zero input."""
    sx, sy, nc = xs.shape
    px, py, ex, ey = geo[2], geo[3], geo[4], geo[5]
    blo, bhi, plain = geo[8], geo[9], geo[10] == 1
    cx, cy = min(sx, ex - px), min(sy, ey - py)
    for a in range(ex):
        inner = px <= a < px + cx
        for b in range(ey):
            if inner and py <= b < py + cy:
                continue
            for c in range(nc):
                xp[a, b, c] = pad_value[c]
    nz = np.zeros((ex, ey), np.bool_)
    for a in range(cx):
        for b in range(cy):
            any_nz = False
            xr = xp[px + a, py + b]
            if plain:
                for c in range(nc):
                    v0 = xs[a, b, c]
                    xr[c] = v0
                    any_nz |= v0 != 0
            else:
                for c in range(nc):
                    v0 = np.int64(xs[a, b, c])
                    xr[c] = min(max(v0 << ishift[c], blo), bhi)
                    any_nz |= v0 != 0
            nz[px + a, py + b] = any_nz
    return nz


@njit(cache=True)
def dense_potentials(xp, w, geo, acc):
    """Dense convolution of one framed sample ``xp (ex, ey, C)``: ``acc (ox, oy, F)``, output
    by output (taps gathered, output channels innermost).  A 3x3 kernel on one input channel
    (grey images) sums its 9 taps in one pass over the filters, each potential stored once."""
    nc = xp.shape[2]
    k0, k1, nf = w.shape[0], w.shape[1], w.shape[3]
    s0, s1, ox, oy = geo[0], geo[1], geo[6], geo[7]
    if nc == 1 and k0 == 3 and k1 == 3:
        w00, w01, w02, w10, w11, w12, w20, w21, w22 = (w[0, 0, 0], w[0, 1, 0], w[0, 2, 0],
                                                       w[1, 0, 0], w[1, 1, 0], w[1, 2, 0],
                                                       w[2, 0, 0], w[2, 1, 0], w[2, 2, 0])
        for a in range(ox):
            for b in range(oy):
                u, v = a * s0, b * s1
                x00, x01, x02 = xp[u, v, 0], xp[u, v + 1, 0], xp[u, v + 2, 0]
                x10, x11, x12 = xp[u + 1, v, 0], xp[u + 1, v + 1, 0], xp[u + 1, v + 2, 0]
                x20, x21, x22 = xp[u + 2, v, 0], xp[u + 2, v + 1, 0], xp[u + 2, v + 2, 0]
                row = acc[a, b]
                for f in range(nf):
                    row[f] = (x00 * w00[f] + x01 * w01[f] + x02 * w02[f]
                              + x10 * w10[f] + x11 * w11[f] + x12 * w12[f]
                              + x20 * w20[f] + x21 * w21[f] + x22 * w22[f])
        return
    for a in range(ox):
        for b in range(oy):
            row = acc[a, b]
            for f in range(nf):
                row[f] = 0
            for i in range(k0):
                for j in range(k1):
                    xr = xp[a * s0 + i, b * s1 + j]
                    wij = w[i, j]
                    for c in range(nc):
                        v = xr[c]
                        wr = wij[c]
                        for f in range(nf):
                            row[f] += v * wr[f]


@njit(cache=True)
def depthwise_potentials(xp, nz, w, geo, acc):
    """Depthwise potentials of one framed sample ``xp (ex, ey, C)`` into ``acc (ox, oy, C)``
    with the channels innermost: 3x3 kernels in one pass over the channels, other sizes tap by
    tap skipping positions whose channels are all zero (``nz``).  ``w (kx, ky, C)``."""
    nc = xp.shape[2]
    k0, k1 = w.shape[0], w.shape[1]
    s0, s1, ox, oy = geo[0], geo[1], geo[6], geo[7]
    if k0 == 3 and k1 == 3:     # the common case: the 9 taps in one pass over the channels
        w00, w01, w02, w10, w11, w12, w20, w21, w22 = (w[0, 0], w[0, 1], w[0, 2], w[1, 0],
                                                       w[1, 1], w[1, 2], w[2, 0], w[2, 1],
                                                       w[2, 2])
        for a in range(ox):
            for b in range(oy):
                u, v = a * s0, b * s1
                x00, x01, x02 = xp[u, v], xp[u, v + 1], xp[u, v + 2]
                x10, x11, x12 = xp[u + 1, v], xp[u + 1, v + 1], xp[u + 1, v + 2]
                x20, x21, x22 = xp[u + 2, v], xp[u + 2, v + 1], xp[u + 2, v + 2]
                row = acc[a, b]
                for c in range(nc):
                    row[c] = (x00[c] * w00[c] + x01[c] * w01[c] + x02[c] * w02[c]
                              + x10[c] * w10[c] + x11[c] * w11[c] + x12[c] * w12[c]
                              + x20[c] * w20[c] + x21[c] * w21[c] + x22[c] * w22[c])
        return
    for a in range(ox):
        for b in range(oy):
            row = acc[a, b]
            for c in range(nc):
                row[c] = 0
            for i in range(k0):
                for j in range(k1):
                    if not nz[a * s0 + i, b * s1 + j]:
                        continue
                    xr = xp[a * s0 + i, b * s1 + j]
                    wr = w[i, j]
                    for c in range(nc):
                        row[c] += xr[c] * wr[c]

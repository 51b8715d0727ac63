"""Convolution kernels (numba): InputConv2D, Conv2D, DepthwiseConv2D and the Akida 1.0 convs.

Conv2D is event based like the hardware: each non-zero input activation is scattered into the
output potentials it affects; zero activations cost nothing.  InputConv2D (dense images) and
DepthwiseConv2D are computed output by output.  Samples of a chunk run in parallel (``prange``),
each with its own accumulator.  Accumulators (and the weights, cast once) are int32 when the
layer's worst case provably fits 31 bits (:func:`acc_dtype`), else int64: both are exact, since
the reference saturates only the final sum.  Channels are innermost and contiguous so LLVM
vectorises the multiply-accumulates.

``prepare_*`` build a layer once (weights cast and oriented, tap tables, packed output stage)
and return ``run(x, dtype)``; the engine keeps them per model.  The plain functions
(``conv2d_v2`` ...) have the signatures and results of :mod:`nsoc.kernels.reference`'s.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._util import conv_out, lohi, same_pad, sat, threads_for
from .output import v1_args, v1_finish, v2_args, v2_finish


def acc_dtype(max_abs_input: int, weights) -> np.dtype:
    """int32 if ``max_abs_input * max_f sum |w[..., f]|`` < 2**31, else int64."""
    w = np.abs(weights.astype(np.int64)).reshape(-1, weights.shape[-1])
    bound = int(max_abs_input) * int(w.sum(axis=0).max(initial=0))
    return np.dtype(np.int32) if bound < (1 << 31) - 1 else np.dtype(np.int64)


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


def _tables(sx, sy, ox, oy, k0, k1, strides, px, py):
    return taps(sx, ox, k0, strides[0], px) + taps(sy, oy, k1, strides[1], py)


@njit(cache=True)
def _scatter(xs, ishift, blo, bhi, w, na, oa, ta, nb, ob, tb, acc):
    """Add every non-zero event of ``xs (sx, sy, C)`` into ``acc (ox, oy, F)`` using the tap
    tables of :func:`taps`."""
    sx, sy, nc = xs.shape
    nf = w.shape[3]
    for ix in range(sx):
        for iy in range(sy):
            for c in range(nc):
                v0 = np.int64(xs[ix, iy, c])
                if v0 == 0:
                    continue
                v = sat(v0 << ishift[c], blo, bhi)
                for p in range(na[ix]):
                    a, i = oa[ix, p], ta[ix, p]
                    for r in range(nb[iy]):
                        b, j = ob[iy, r], tb[iy, r]
                        for f in range(nf):
                            acc[a, b, f] += v * w[i, j, c, f]


@njit(cache=True)
def _padded(xs, px, py, pad_value, ex, ey):
    """``xs (sx, sy, C)`` inside an ``(ex, ey, C)`` frame of ``pad_value[c]`` at (px, py)."""
    sx, sy, nc = xs.shape
    xp = np.empty((ex, ey, nc), np.int64)
    for a in range(ex):
        for b in range(ey):
            inside = px <= a < px + sx and py <= b < py + sy
            for c in range(nc):
                xp[a, b, c] = xs[a - px, b - py, c] if inside else pad_value[c]
    return xp


@njit(cache=True)
def _depthwise(xs, ishift, blo, bhi, w, na, oa, ta, nb, ob, tb, acc):
    """Depthwise potentials of ``xs (sx, sy, C)`` into ``acc (ox, oy, C)``; positions whose
    channels are all zero are skipped."""
    sx, sy, nc = xs.shape
    v = np.empty(nc, np.int64)
    for ix in range(sx):
        for iy in range(sy):
            nz = False
            for c in range(nc):
                v0 = np.int64(xs[ix, iy, c])
                v[c] = sat(v0 << ishift[c], blo, bhi)
                nz = nz or v0 != 0
            if not nz:
                continue
            for p in range(na[ix]):
                a, i = oa[ix, p], ta[ix, p]
                for r in range(nb[iy]):
                    b, j = ob[iy, r], tb[iy, r]
                    for c in range(nc):
                        acc[a, b, c] += v[c] * w[i, j, c, 0]


# ----- Akida 2.0 ----------------------------------------------------------------------------
@njit(cache=True, parallel=True)
def _conv2d_v2(x, w, ishift, bounds, na, oa, ta, nb, ob, tb, out, post, sc, fast_i, fast_u):
    """Event-based Conv2D: each non-zero input ``x[n, ix, iy, c]`` (shifted, saturated) adds
    ``v * w[i, j, c, :]`` to the potentials it reaches.  ``w`` (Keras orientation) and the
    accumulator share the accumulator dtype; the events of one input position are gathered
    first (branch free), then scattered tap by tap with the channels innermost."""
    nn, sx, sy, nc = x.shape
    nf = w.shape[3]
    ox, oy = bounds[2], bounds[3]
    blo, bhi, plain = bounds[0], bounds[1], bounds[4] == 1
    for n in prange(nn):
        acc = np.zeros((ox, oy, nf), w.dtype)
        cs = np.empty(nc, np.int64)
        vs = np.empty(nc, w.dtype)
        xs = x[n]
        for ix in range(sx):
            if na[ix] == 0:
                continue
            for iy in range(sy):
                if nb[iy] == 0:
                    continue
                m = 0
                if plain:
                    for c in range(nc):
                        v0 = xs[ix, iy, c]
                        cs[m] = c
                        vs[m] = v0
                        m += v0 != 0
                else:
                    for c in range(nc):
                        v0 = np.int64(xs[ix, iy, c])
                        cs[m] = c
                        vs[m] = min(max(v0 << ishift[c], blo), bhi)
                        m += v0 != 0
                if m == 0:
                    continue
                for p in range(na[ix]):
                    a, i = oa[ix, p], ta[ix, p]
                    for r in range(nb[iy]):
                        b, j = ob[iy, r], tb[iy, r]
                        row = acc[a, b]
                        wij = w[i, j]
                        for e in range(m):
                            v = vs[e]
                            wr = wij[cs[e]]
                            for f in range(nf):
                                row[f] += v * wr[f]
        v2_finish(acc, out[n], post, sc, fast_i, fast_u)


@njit(cache=True, parallel=True)
def _input_conv2d_v2(x, w, pad_value, geo, out, post, sc, fast_i, fast_u):
    """Dense InputConv2D: the image framed by ``pad_value`` is correlated with ``w`` output by
    output (taps gathered, output channels innermost)."""
    nn, sx, sy, nc = x.shape
    nf = w.shape[3]
    k0, k1 = w.shape[0], w.shape[1]
    s0, s1, px, py, ex, ey, ox, oy = geo[0], geo[1], geo[2], geo[3], geo[4], geo[5], geo[6], \
        geo[7]
    cx, cy = min(sx, ex - px), min(sy, ey - py)
    for n in prange(nn):
        xp = np.empty((ex, ey, nc), w.dtype)
        for a in range(ex):
            for b in range(ey):
                for c in range(nc):
                    xp[a, b, c] = pad_value[c]
        for a in range(cx):
            for b in range(cy):
                for c in range(nc):
                    xp[px + a, py + b, c] = x[n, a, b, c]
        acc = np.empty((ox, oy, nf), w.dtype)
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
        v2_finish(acc, out[n], post, sc, fast_i, fast_u)


@njit(cache=True, parallel=True)
def _depthwise_v2(x, w, ishift, geo, out, post, sc, fast_i, fast_u):
    """DepthwiseConv2D, output by output with the channels innermost: 3x3 kernels in one pass
    over the channels, other sizes tap by tap skipping input positions whose channels are all
    zero.  ``w (kx, ky, C)`` in the accumulator dtype."""
    nn, sx, sy, nc = x.shape
    k0, k1 = w.shape[0], w.shape[1]
    s0, s1, px, py, ex, ey, ox, oy = geo[0], geo[1], geo[2], geo[3], geo[4], geo[5], geo[6], \
        geo[7]
    blo, bhi, plain = geo[8], geo[9], geo[10] == 1
    cx, cy = min(sx, ex - px), min(sy, ey - py)
    for n in prange(nn):
        xp = np.zeros((ex, ey, nc), w.dtype)
        nz = np.zeros((ex, ey), np.bool_)
        for a in range(cx):
            for b in range(cy):
                any_nz = False
                xr = xp[px + a, py + b]
                if plain:
                    for c in range(nc):
                        v0 = x[n, a, b, c]
                        xr[c] = v0
                        any_nz |= v0 != 0
                else:
                    for c in range(nc):
                        v0 = np.int64(x[n, a, b, c])
                        xr[c] = min(max(v0 << ishift[c], blo), bhi)
                        any_nz |= v0 != 0
                nz[px + a, py + b] = any_nz
        acc = np.empty((ox, oy, nc), w.dtype)
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
            v2_finish(acc, out[n], post, sc, fast_i, fast_u)
            continue
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
        v2_finish(acc, out[n], post, sc, fast_i, fast_u)


def _frame(x_shape, k0, k1, strides, same):
    """(ox, oy, px, py, ex, ey): outputs, padding before, padded input extent."""
    sx, sy = x_shape[1], x_shape[2]
    ox, oy, px, py = _geometry_of(sx, sy, k0, k1, strides, same)
    return ox, oy, px, py, (ox - 1) * strides[0] + k0, (oy - 1) * strides[1] + k1


def _geometry_of(sx, sy, k0, k1, strides, same):
    s0, s1 = strides
    ox, oy = conv_out(sx, k0, s0, same), conv_out(sy, k1, s1, same)
    px = same_pad(sx, ox, k0, s0) if same else 0
    py = same_pad(sy, oy, k1, s1) if same else 0
    return ox, oy, px, py


def max_abs_of(dtype, shift=None) -> int:
    """Largest |value| an integer ``dtype`` holds, times ``2**max(shift)``."""
    info = np.iinfo(dtype)
    m = max(-int(info.min), int(info.max))
    if shift is not None and len(shift):
        m <<= int(np.max(shift))
    return m


def prepare_input_conv2d_v2(in_shape, weights, strides, same, padding_value, stage, max_in):
    """Prepared InputConv2D: ``run(x, dtype) -> (N, qx, qy, F)``.

    ``in_shape`` is ``(x, y, c)``; ``max_in`` bounds |input| (picks the accumulator dtype).
    Weights are cast and the stage packed once here."""
    k0, k1, _, nf = weights.shape
    pv = np.ascontiguousarray(padding_value, np.int64)
    ox, oy, px, py, ex, ey = _frame((0,) + tuple(in_shape), k0, k1, strides, same)
    bound = max(max_in, int(np.max(pv, initial=0))) if same else max_in
    acc = acc_dtype(bound, weights)
    w = np.ascontiguousarray(weights, acc)
    pva = pv.astype(acc)
    stage_args, (qx, qy) = v2_args(stage, ox, oy, acc)
    geo = np.array([strides[0], strides[1], px, py, ex, ey, ox, oy], np.int64)
    work = ox * oy * weights.size

    def run(x, dtype=np.int64):
        out = np.empty((x.shape[0], qx, qy, nf), dtype)
        with threads_for(x.shape[0] * work):
            _input_conv2d_v2(np.ascontiguousarray(x), w, pva, geo, out, *stage_args)
        return out
    return run


def prepare_conv2d_v2(in_shape, weights, strides, same, input_shift, stage, max_in):
    """Prepared event-based Conv2D (``weights`` in Keras orientation): ``run(x, dtype)``."""
    k0, k1, _, nf = weights.shape
    sh = np.ascontiguousarray(input_shift, np.int64)
    sx, sy = in_shape[0], in_shape[1]
    ox, oy, px, py = _geometry_of(sx, sy, k0, k1, strides, same)
    blo, bhi = lohi(stage.buffer_bits)
    acc = acc_dtype(min(max_in << int(np.max(sh, initial=0)), -blo), weights)
    w = np.ascontiguousarray(weights, acc)
    tab = _tables(sx, sy, ox, oy, k0, k1, strides, px, py)
    stage_args, (qx, qy) = v2_args(stage, ox, oy, acc)
    plain = not np.any(sh) and max_in <= bhi     # events need no shift nor saturation
    bounds = np.array([blo, bhi, ox, oy, plain], np.int64)
    work = ox * oy * weights.size

    def run(x, dtype=np.int64):
        out = np.empty((x.shape[0], qx, qy, nf), dtype)
        with threads_for(x.shape[0] * work):
            _conv2d_v2(np.ascontiguousarray(x), w, sh, bounds, *tab, out, *stage_args)
        return out
    return run


def prepare_depthwise_conv2d_v2(in_shape, weights, strides, same, input_shift, stage, max_in):
    """Prepared DepthwiseConv2D (``weights (kx, ky, C, 1)``, Keras orientation)."""
    k0, k1, nc, _ = weights.shape
    sh = np.ascontiguousarray(input_shift, np.int64)
    ox, oy, px, py, ex, ey = _frame((0,) + tuple(in_shape), k0, k1, strides, same)
    blo, bhi = lohi(stage.buffer_bits)
    acc = acc_dtype(min(max_in << int(np.max(sh, initial=0)), -blo), weights[:, :, :, 0])
    w = np.ascontiguousarray(weights[:, :, :, 0], acc)
    stage_args, (qx, qy) = v2_args(stage, ox, oy, acc)
    plain = not np.any(sh) and max_in <= bhi     # inputs need no shift nor saturation
    geo = np.array([strides[0], strides[1], px, py, ex, ey, ox, oy, blo, bhi, plain], np.int64)
    work = ox * oy * weights.size

    def run(x, dtype=np.int64):
        out = np.empty((x.shape[0], qx, qy, nc), dtype)
        with threads_for(x.shape[0] * work):
            _depthwise_v2(np.ascontiguousarray(x), w, sh, geo, out, *stage_args)
        return out
    return run


def input_conv2d_v2(x, weights, strides, same, padding_value, stage, dtype=np.int64):
    """InputConv2D of a dense uint8 image (``weights`` as stored, Keras orientation)."""
    return prepare_input_conv2d_v2(x.shape[1:], weights, strides, same, padding_value, stage,
                                   max_abs_of(x.dtype))(x, dtype)


def conv2d_v2(x, weights, strides, same, input_shift, stage, dtype=np.int64):
    """Event-based Conv2D (``weights`` in Keras orientation: the stored ones flipped back)."""
    return prepare_conv2d_v2(x.shape[1:], weights, strides, same, input_shift, stage,
                             max_abs_of(x.dtype))(x, dtype)


def depthwise_conv2d_v2(x, weights, strides, same, input_shift, stage, dtype=np.int64):
    """DepthwiseConv2D (``weights (kx, ky, C, 1)`` in Keras orientation)."""
    return prepare_depthwise_conv2d_v2(x.shape[1:], weights, strides, same, input_shift, stage,
                                       max_abs_of(x.dtype))(x, dtype)


# ----- Akida 1.0 ----------------------------------------------------------------------------
@njit(cache=True, parallel=True)
def _conv_v1(x, w, wpw, separable, tab, tab1, px, py, pad_value, dense_input, ox, oy, acc_proto,
             out, thr, step16, activation, top, pool_type, z0, z1, q0, q1, ppx, ppy):
    nc = w.shape[2]
    nf = wpw.shape[3] if separable else w.shape[3]
    zero = np.zeros(nc, np.int64)
    big_lo, big_hi = -(np.int64(1) << 62), np.int64(1) << 62
    for n in prange(x.shape[0]):
        acc = np.zeros((ox, oy, nf), acc_proto.dtype)
        if dense_input:
            xp = _padded(x[n], px, py, pad_value, tab[0].shape[0], tab[3].shape[0])
            _scatter(xp, zero, big_lo, big_hi, w, tab[0], tab[1], tab[2], tab[3], tab[4], tab[5],
                     acc)
        elif separable:
            dw = np.zeros((ox, oy, nc), np.int64)
            _depthwise(x[n], zero, big_lo, big_hi, w, tab[0], tab[1], tab[2], tab[3], tab[4],
                       tab[5], dw)
            _scatter(dw, zero, big_lo, big_hi, wpw, tab1[0], tab1[1], tab1[2], tab1[3], tab1[4],
                     tab1[5], acc)
        else:
            _scatter(x[n], zero, big_lo, big_hi, w, tab[0], tab[1], tab[2], tab[3], tab[4],
                     tab[5], acc)
        v1_finish(acc, out[n], thr, step16, activation, top, pool_type, z0, z1, q0, q1, ppx, ppy)


def conv_v1(x, weights, strides, same, padding_value, stage, weights_pw=None, dtype=np.int64):
    """Akida 1.0 InputConvolutional / Convolutional (event based) / SeparableConvolutional."""
    k0, k1 = weights.shape[:2]
    ox, oy, px, py = _geometry_of(x.shape[1], x.shape[2], k0, k1, strides, same)
    args, (qx, qy) = v1_args(stage, ox, oy)
    pv = np.ascontiguousarray(padding_value, np.int64)
    dense_input = bool(same and np.any(pv != 0))
    separable = weights_pw is not None
    max_in = max(max_abs_of(x.dtype), int(np.max(pv, initial=0)))
    if separable:
        dw_max = max_in * int(np.abs(weights.astype(np.int64)).reshape(-1, weights.shape[2])
                              .sum(axis=0).max(initial=0))
        proto = np.zeros(0, acc_dtype(dw_max, weights_pw))
        wpw = np.ascontiguousarray(weights_pw)
        nf = weights_pw.shape[3]
    else:
        proto = np.zeros(0, acc_dtype(max_in, weights))
        wpw = np.zeros((1, 1, 1, 1), weights.dtype)
        nf = weights.shape[3]
    if dense_input:
        ex, ey = (ox - 1) * strides[0] + k0, (oy - 1) * strides[1] + k1
        tab = _tables(ex, ey, ox, oy, k0, k1, strides, 0, 0)
    else:
        tab = _tables(x.shape[1], x.shape[2], ox, oy, k0, k1, strides, px, py)
    tab1 = _tables(ox, oy, ox, oy, 1, 1, (1, 1), 0, 0)
    out = np.empty((x.shape[0], qx, qy, nf), dtype)
    with threads_for(x.shape[0] * ox * oy * (weights.size + wpw.size)):
        _conv_v1(np.ascontiguousarray(x), np.ascontiguousarray(weights), wpw, separable, tab,
                 tab1, px, py, pv, dense_input, ox, oy, proto, out, *args)
    return out

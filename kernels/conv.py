"""Convolution kernels (numba): InputConv2D, Conv2D, DepthwiseConv2D and the Akida 1.0 convs.

Conv2D (and v1 Convolutional, and the pointwise half of v1 SeparableConvolutional) is event
based like the hardware: each non-zero input activation is scattered into the output
potentials it affects; zero activations cost nothing.  1x1 stride-1 Conv2D (pointwise) has its
own kernel.  InputConv2D (dense images) and DepthwiseConv2D are computed output by output.
Samples of a chunk run in parallel (``prange``), each with its own accumulator; the per-sample
potentials are private helpers shared by the Akida 2.0 and 1.0 kernels.  Accumulators (and the
weights, cast once) are int16, int32 or int64: the narrowest the layer's worst case provably
fits (:func:`acc_dtype`), so all are exact since the reference saturates only the final sum.
An input shift that cannot saturate is folded into the weights (:func:`fold_input_shift`).
Channels are innermost and contiguous so LLVM vectorises the multiply-accumulates.

``prepare_*`` build a layer once (weights cast and oriented, tap tables, packed output stage)
and return ``run(x, dtype)``; the engine keeps them per model.  The plain functions
(``conv2d_v2`` ...) have the signatures and results of :mod:`nsoc.kernels.reference`'s.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._util import threads_for
from .geometry import conv_output_size, same_pad_before, signed_range
from .output import v1_args, v1_finish, v2_args, v2_finish


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


def _tables(sx, sy, ox, oy, k0, k1, strides, px, py):
    return taps(sx, ox, k0, strides[0], px) + taps(sy, oy, k1, strides[1], py)


# ----- per-sample potentials (shared by the Akida 2.0 and 1.0 layer kernels) -------------------
@njit(cache=True)
def _event_potentials(xs, w, ishift, blo, bhi, plain, na, oa, ta, nb, ob, tb, cs, vs, acc):
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
def _pointwise_events(xs, w, ishift, blo, bhi, plain, cs, acc):
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
def _frame_into(xs, pad_value, ishift, geo, xp):
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
def _dense_potentials(xp, w, geo, acc):
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
def _depthwise_potentials(xp, nz, w, geo, acc):
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


# ----- Akida 2.0 ----------------------------------------------------------------------------
@njit(cache=True, parallel=True)
def _conv2d_v2(x, w, ishift, bounds, na, oa, ta, nb, ob, tb, out, post, sc, fast):
    """Event-based Conv2D (:func:`_event_potentials`); ``w`` (Keras orientation) and the
    accumulator share the accumulator dtype."""
    nn, _, _, nc = x.shape
    ox, oy = bounds[2], bounds[3]
    for n in prange(nn):
        acc = np.zeros((ox, oy, w.shape[3]), w.dtype)
        _event_potentials(x[n], w, ishift, bounds[0], bounds[1], bounds[4] == 1, na, oa, ta,
                          nb, ob, tb, np.empty(nc, np.int32), np.empty(nc, w.dtype), acc)
        v2_finish(acc, out[n], post, sc, fast)


@njit(cache=True, parallel=True)
def _pointwise_v2(x, w, ishift, bounds, out, post, sc, fast):
    """Conv2D with a 1x1 kernel and stride 1 (the pointwise half of a separable block):
    :func:`_pointwise_events` per sample, then the output stage."""
    nn, sx, sy, nc = x.shape
    nf = w.shape[1]
    blo, bhi, plain = bounds[0], bounds[1], bounds[4] == 1
    for n in prange(nn):
        cs = np.empty(nc, np.int32)
        acc = np.empty((sx, sy, nf), w.dtype)
        _pointwise_events(x[n].reshape(sx * sy, nc), w, ishift, blo, bhi, plain, cs,
                          acc.reshape(sx * sy, nf))
        v2_finish(acc, out[n], post, sc, fast)


@njit(cache=True, parallel=True)
def _input_conv2d_v2(x, w, pad_value, geo, out, post, sc, fast):
    """Dense InputConv2D: the image framed by ``pad_value`` correlated with ``w``."""
    nc = x.shape[3]
    zero = np.zeros(nc, np.int64)
    for n in prange(x.shape[0]):
        xp = np.empty((geo[4], geo[5], nc), w.dtype)
        _frame_into(x[n], pad_value, zero, geo, xp)
        acc = np.empty((geo[6], geo[7], w.shape[3]), w.dtype)
        _dense_potentials(xp, w, geo, acc)
        v2_finish(acc, out[n], post, sc, fast)


@njit(cache=True, parallel=True)
def _depthwise_v2(x, w, ishift, geo, out, post, sc, fast):
    """DepthwiseConv2D (:func:`_depthwise_potentials`); ``w (kx, ky, C)`` in the accumulator
    dtype."""
    nc = x.shape[3]
    zero = np.zeros(nc, np.int64)
    for n in prange(x.shape[0]):
        xp = np.empty((geo[4], geo[5], nc), w.dtype)
        nz = _frame_into(x[n], zero, ishift, geo, xp)
        acc = np.empty((geo[6], geo[7], nc), w.dtype)
        _depthwise_potentials(xp, nz, w, geo, acc)
        v2_finish(acc, out[n], post, sc, fast)


def _frame(x_shape, k0, k1, strides, same):
    """(ox, oy, px, py, ex, ey): outputs, padding before, padded input extent."""
    sx, sy = x_shape[1], x_shape[2]
    ox, oy, px, py = _geometry_of(sx, sy, k0, k1, strides, same)
    return ox, oy, px, py, (ox - 1) * strides[0] + k0, (oy - 1) * strides[1] + k1


def _geometry_of(sx, sy, k0, k1, strides, same):
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
    geo = np.array([strides[0], strides[1], px, py, ex, ey, ox, oy, 0, 0, 1], np.int64)
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
    blo, bhi = signed_range(stage.buffer_bits)
    weights, sh, max_ev, plain = fold_input_shift(weights, sh, max_in, stage.buffer_bits, 2)
    acc = acc_dtype(max_ev, weights)
    w = np.ascontiguousarray(weights, acc)
    tab = _tables(sx, sy, ox, oy, k0, k1, strides, px, py)
    stage_args, (qx, qy) = v2_args(stage, ox, oy, acc)
    bounds = np.array([blo, bhi, ox, oy, plain], np.int64)
    work = ox * oy * weights.size

    if k0 == k1 == 1 and tuple(strides) == (1, 1):
        w2 = np.ascontiguousarray(w[0, 0])

        def run(x, dtype=np.int64):
            out = np.empty((x.shape[0], qx, qy, nf), dtype)
            with threads_for(x.shape[0] * work):
                _pointwise_v2(np.ascontiguousarray(x), w2, sh, bounds, out, *stage_args)
            return out
        return run

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
    blo, bhi = signed_range(stage.buffer_bits)
    weights, sh, max_ev, plain = fold_input_shift(weights[:, :, :, 0], sh, max_in,
                                                  stage.buffer_bits, 2)
    acc = acc_dtype(max_ev, weights)
    w = np.ascontiguousarray(weights, acc)
    stage_args, (qx, qy) = v2_args(stage, ox, oy, acc)
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
def _conv_v1(x, w, wacc, kind, pad_value, geo, na, oa, ta, nb, ob, tb, out, thr, step16,
             activation, top, pool_type, z0, z1, q0, q1, ppx, ppy, gt, mode):
    """Akida 1.0 convolutions, then pooling and the step activation (:func:`v1_finish`).

    ``kind`` 0: dense InputConvolutional, 1: event-based Convolutional (both with ``wacc
    (kx, ky, C, F)``); 2: SeparableConvolutional: depthwise ``w (kx, ky, C)`` then the
    event-based pointwise ``wacc (1, 1, C, F)`` on its potentials."""
    nc = x.shape[3]
    nf = wacc.shape[-1]
    ox, oy = geo[6], geo[7]
    zero = np.zeros(nc, np.int64)
    for n in prange(x.shape[0]):
        acc = np.zeros((ox, oy, nf), wacc.dtype)
        if kind == 1:
            _event_potentials(x[n], wacc, zero, 0, 0, True, na, oa, ta, nb, ob, tb,
                              np.empty(nc, np.int32), np.empty(nc, wacc.dtype), acc)
        elif kind == 0:
            xp = np.empty((geo[4], geo[5], nc), wacc.dtype)
            _frame_into(x[n], pad_value, zero, geo, xp)
            _dense_potentials(xp, wacc, geo, acc)
        else:
            xq = np.empty((geo[4], geo[5], nc), w.dtype)
            nz = _frame_into(x[n], pad_value, zero, geo, xq)
            dw = np.empty((ox, oy, nc), w.dtype)
            _depthwise_potentials(xq, nz, w, geo, dw)
            _pointwise_events(dw.reshape(ox * oy, nc), wacc[0, 0], zero, 0, 0, True,
                              np.empty(nc, np.int32), acc.reshape(ox * oy, nf))
        v1_finish(acc, out[n], thr, step16, activation, top, pool_type, z0, z1, q0, q1, ppx, ppy,
                  gt, mode)


def prepare_conv_v1(in_shape, weights, strides, same, padding_value, stage, max_in,
                    weights_pw=None, dense_input=False):
    """Prepared Akida 1.0 InputConvolutional (``dense_input``: the image framed by
    ``padding_value``), Convolutional (event based) or SeparableConvolutional (``weights_pw
    (1, 1, C, F)`` given, ``weights (kx, ky, C, 1)`` depthwise): ``run(x, dtype)``.
    ``weights`` in Keras orientation; ``max_in`` bounds |input| (picks the accumulator
    dtypes)."""
    k0, k1, nc = weights.shape[:3]
    ox, oy, px, py, ex, ey = _frame((0,) + tuple(in_shape), k0, k1, strides, same)
    pv = np.ascontiguousarray(padding_value, np.int64)
    max_in = max(max_in, int(np.max(np.abs(pv), initial=0))) if dense_input else max_in
    if weights_pw is not None:
        kind, nf = 2, weights_pw.shape[3]
        dwt = acc_dtype(max_in, weights[:, :, :, 0])
        dw_max = max_in * int(np.abs(weights.astype(np.int64)).reshape(-1, nc).sum(axis=0)
                              .max(initial=0))
        w = np.ascontiguousarray(weights[:, :, :, 0], dwt)
        at = acc_dtype(dw_max, weights_pw)
        if np.iinfo(at).max < np.iinfo(dwt).max:    # the pointwise events are dw potentials
            at = dwt
        wacc = np.ascontiguousarray(weights_pw, at)
    else:
        kind, nf = (0 if dense_input else 1), weights.shape[3]
        at = acc_dtype(max_in, weights)
        wacc = np.ascontiguousarray(weights, at)
        w = np.zeros((1, 1, 1), at)                 # no depthwise part
    geo = np.array([strides[0], strides[1], px, py, ex, ey, ox, oy, 0, 0, 1], np.int64)
    tab = _tables(in_shape[0], in_shape[1], ox, oy, k0, k1, strides, px, py)
    args, (qx, qy) = v1_args(stage, ox, oy, at)
    pva = pv.astype(np.int64)
    work = ox * oy * (weights.size + (0 if weights_pw is None else weights_pw.size))

    def run(x, dtype=np.int64):
        out = np.empty((x.shape[0], qx, qy, nf), dtype)
        with threads_for(x.shape[0] * work):
            _conv_v1(np.ascontiguousarray(x), w, wacc, kind, pva, geo, *tab, out, *args)
        return out
    return run


def conv_v1(x, weights, strides, same, padding_value, stage, weights_pw=None, dtype=np.int64):
    """Akida 1.0 InputConvolutional (non-zero ``padding_value`` with 'same' padding frames
    the image densely) / Convolutional (event based) / SeparableConvolutional."""
    pv = np.ascontiguousarray(padding_value, np.int64)
    dense_input = bool(same and np.any(pv != 0))
    return prepare_conv_v1(x.shape[1:], weights, strides, same, pv, stage, max_abs_of(x.dtype),
                           weights_pw, dense_input)(x, dtype)

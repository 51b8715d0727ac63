"""Convolution kernels (numba): InputConv2D, Conv2D, DepthwiseConv2D and the Akida 1.0 convs.

Conv2D is event based like the hardware: each non-zero input activation is scattered into the
output potentials it affects; zero activations cost nothing.  Samples of a chunk run in
parallel (``prange``), each with its own accumulator.  Accumulators are int32 when the layer's
worst case provably fits 31 bits (:func:`acc_dtype`), else int64: both are exact.
Signatures and results equal :mod:`nsoc.kernels.reference`'s functions of the same names.
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


def _max_abs(x, shift=None):
    """Largest |value| the dtype of ``x`` allows (no data scan), times ``2**max(shift)``."""
    info = np.iinfo(x.dtype)
    m = max(-int(info.min), int(info.max))
    if shift is not None and len(shift):
        m <<= int(np.max(shift))
    return m


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


def _geometry(x, k0, k1, strides, same):
    sx, sy = x.shape[1], x.shape[2]
    s0, s1 = strides
    ox, oy = conv_out(sx, k0, s0, same), conv_out(sy, k1, s1, same)
    px = same_pad(sx, ox, k0, s0) if same else 0
    py = same_pad(sy, oy, k1, s1) if same else 0
    return ox, oy, px, py


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
def _saturate_acc(acc, blo, bhi):
    cx, cy, nf = acc.shape
    for a in range(cx):
        for b in range(cy):
            for f in range(nf):
                acc[a, b, f] = sat(acc[a, b, f], blo, bhi)


@njit(cache=True, parallel=True)
def _conv2d_v2(x, w, tab, ishift, blo, bhi, ox, oy, acc_proto, out,
               bias, relu, clip, scales, shift, _blo, _bhi, plo, phi, olo, ohi,
               pool_type, z0, z1, q0, q1, ppx, ppy):
    for n in prange(x.shape[0]):
        acc = np.zeros((ox, oy, w.shape[3]), acc_proto.dtype)
        _scatter(x[n], ishift, blo, bhi, w, tab[0], tab[1], tab[2], tab[3], tab[4], tab[5], acc)
        _saturate_acc(acc, blo, bhi)
        v2_finish(acc, out[n], bias, relu, clip, scales, shift, blo, bhi, plo, phi, olo, ohi,
                  pool_type, z0, z1, q0, q1, ppx, ppy)


@njit(cache=True, parallel=True)
def _input_conv2d_v2(x, w, tab, px, py, pad_value, blo, bhi, ox, oy, acc_proto, out,
                     bias, relu, clip, scales, shift, _blo, _bhi, plo, phi, olo, ohi,
                     pool_type, z0, z1, q0, q1, ppx, ppy):
    nc = w.shape[2]
    zero = np.zeros(nc, np.int64)
    for n in prange(x.shape[0]):
        xp = _padded(x[n], px, py, pad_value, tab[0].shape[0], tab[3].shape[0])
        acc = np.zeros((ox, oy, w.shape[3]), acc_proto.dtype)
        _scatter(xp, zero, blo, bhi, w, tab[0], tab[1], tab[2], tab[3], tab[4], tab[5], acc)
        _saturate_acc(acc, blo, bhi)
        v2_finish(acc, out[n], bias, relu, clip, scales, shift, blo, bhi, plo, phi, olo, ohi,
                  pool_type, z0, z1, q0, q1, ppx, ppy)


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


@njit(cache=True, parallel=True)
def _depthwise_v2(x, w, tab, ishift, blo, bhi, ox, oy, acc_proto, out,
                  bias, relu, clip, scales, shift, _blo, _bhi, plo, phi, olo, ohi,
                  pool_type, z0, z1, q0, q1, ppx, ppy):
    for n in prange(x.shape[0]):
        acc = np.zeros((ox, oy, x.shape[3]), acc_proto.dtype)
        _depthwise(x[n], ishift, blo, bhi, w, tab[0], tab[1], tab[2], tab[3], tab[4], tab[5], acc)
        _saturate_acc(acc, blo, bhi)
        v2_finish(acc, out[n], bias, relu, clip, scales, shift, blo, bhi, plo, phi, olo, ohi,
                  pool_type, z0, z1, q0, q1, ppx, ppy)


def _run_v2(kernel, x, w, strides, same, extra, stage, max_in, dtype, pad_value=None):
    k0, k1 = w.shape[:2]
    ox, oy, px, py = _geometry(x, k0, k1, strides, same)
    args, (qx, qy) = v2_args(stage, ox, oy)
    blo, bhi = lohi(stage.buffer_bits)
    nf = w.shape[3] if kernel is not _depthwise_v2 else x.shape[3]
    out = np.empty((x.shape[0], qx, qy, nf), dtype)
    proto = np.zeros(0, acc_dtype(min(max_in, bhi), w))
    x, w = np.ascontiguousarray(x), np.ascontiguousarray(w)
    work = x.shape[0] * ox * oy * w.size
    if pad_value is None:
        tab = _tables(x.shape[1], x.shape[2], ox, oy, k0, k1, strides, px, py)
        with threads_for(work):
            kernel(x, w, tab, extra, blo, bhi, ox, oy, proto, out, *args)
    else:   # InputConv2D: scatter the image framed by its padding value
        ex, ey = (ox - 1) * strides[0] + k0, (oy - 1) * strides[1] + k1
        tab = _tables(ex, ey, ox, oy, k0, k1, strides, 0, 0)
        with threads_for(work):
            kernel(x, w, tab, px, py, pad_value, blo, bhi, ox, oy, proto, out, *args)
    return out


def input_conv2d_v2(x, weights, strides, same, padding_value, stage, dtype=np.int64):
    """InputConv2D of a dense uint8 image (``weights`` as stored, Keras orientation)."""
    pv = np.ascontiguousarray(padding_value, np.int64)
    max_in = max(_max_abs(x), int(np.max(pv, initial=0))) if same else _max_abs(x)
    return _run_v2(_input_conv2d_v2, x, weights, strides, same, None, stage, max_in, dtype, pv)


def conv2d_v2(x, weights, strides, same, input_shift, stage, dtype=np.int64):
    """Event-based Conv2D (``weights`` in Keras orientation: the stored ones flipped back)."""
    sh = np.ascontiguousarray(input_shift, np.int64)
    return _run_v2(_conv2d_v2, x, weights, strides, same, sh, stage, _max_abs(x, sh), dtype)


def depthwise_conv2d_v2(x, weights, strides, same, input_shift, stage, dtype=np.int64):
    """DepthwiseConv2D (``weights (kx, ky, C, 1)`` in Keras orientation)."""
    sh = np.ascontiguousarray(input_shift, np.int64)
    return _run_v2(_depthwise_v2, x, weights, strides, same, sh, stage, _max_abs(x, sh), dtype)


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
    ox, oy, px, py = _geometry(x, k0, k1, strides, same)
    args, (qx, qy) = v1_args(stage, ox, oy)
    pv = np.ascontiguousarray(padding_value, np.int64)
    dense_input = bool(same and np.any(pv != 0))
    separable = weights_pw is not None
    max_in = max(_max_abs(x), int(np.max(pv, initial=0)))
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

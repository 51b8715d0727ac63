"""Convolution layer kernels (numba): InputConv2D, Conv2D, DepthwiseConv2D and the Akida 1.0 convs.

Conv2D (and v1 Convolutional, and the pointwise half of v1 SeparableConvolutional) is event
based like the hardware: each non-zero input activation is scattered into the output
potentials it affects; zero activations cost nothing.  1x1 stride-1 Conv2D (pointwise) has its
own kernel.  InputConv2D (dense images) and DepthwiseConv2D are computed output by output.
Samples of a chunk run in parallel (``prange``), each with its own accumulator; the per-sample
potentials and the accumulator sizing live in :mod:`nsoc.kernels.potentials`.

``prepare_*`` build a layer once (weights cast and oriented, tap tables, packed output stage)
and return ``run(x, dtype)``; the engine keeps them per model.  The plain functions
(``conv2d_v2`` ...) have the signatures and results of :mod:`nsoc.kernels.reference`'s.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._util import kernel_array, threads_for
from .geometry import signed_range
from .output import v1_args, v1_finish, v2_args, v2_finish
from .potentials import (
    acc_dtype,
    conv_geometry,
    dense_potentials,
    depthwise_potentials,
    event_potentials,
    fold_input_shift,
    frame_geometry,
    frame_into,
    max_abs_of,
    pointwise_events,
    tap_tables,
)

__all__ = ["acc_dtype", "fold_input_shift", "max_abs_of", "prepare_input_conv2d_v2",
           "prepare_conv2d_v2", "prepare_depthwise_conv2d_v2", "prepare_conv_v1",
           "input_conv2d_v2", "conv2d_v2", "depthwise_conv2d_v2", "conv_v1"]


# ----- Akida 2.0 ----------------------------------------------------------------------------
@njit(cache=True, parallel=True)
def _conv2d_v2(x, w, ishift, bounds, na, oa, ta, nb, ob, tb, out, post, sc, fast):
    """Event-based Conv2D (:func:`event_potentials`); ``w`` (Keras orientation) and the
    accumulator share the accumulator dtype."""
    nn, _, _, nc = x.shape
    ox, oy = bounds[2], bounds[3]
    for n in prange(nn):
        acc = np.zeros((ox, oy, w.shape[3]), w.dtype)
        event_potentials(x[n], w, ishift, bounds[0], bounds[1], bounds[4] == 1, na, oa, ta,
                         nb, ob, tb, np.empty(nc, np.int32), np.empty(nc, w.dtype), acc)
        v2_finish(acc, out[n], post, sc, fast)


@njit(cache=True, parallel=True)
def _pointwise_v2(x, w, ishift, bounds, out, post, sc, fast):
    """Conv2D with a 1x1 kernel and stride 1 (the pointwise half of a separable block):
    :func:`pointwise_events` per sample, then the output stage."""
    nn, sx, sy, nc = x.shape
    nf = w.shape[1]
    blo, bhi, plain = bounds[0], bounds[1], bounds[4] == 1
    for n in prange(nn):
        cs = np.empty(nc, np.int32)
        acc = np.empty((sx, sy, nf), w.dtype)
        pointwise_events(x[n].reshape(sx * sy, nc), w, ishift, blo, bhi, plain, cs,
                         acc.reshape(sx * sy, nf))
        v2_finish(acc, out[n], post, sc, fast)


@njit(cache=True, parallel=True)
def _input_conv2d_v2(x, w, pad_value, geo, out, post, sc, fast):
    """Dense InputConv2D: the image framed by ``pad_value`` correlated with ``w``."""
    nc = x.shape[3]
    zero = np.zeros(nc, np.int64)
    for n in prange(x.shape[0]):
        xp = np.empty((geo[4], geo[5], nc), w.dtype)
        frame_into(x[n], pad_value, zero, geo, xp)
        acc = np.empty((geo[6], geo[7], w.shape[3]), w.dtype)
        dense_potentials(xp, w, geo, acc)
        v2_finish(acc, out[n], post, sc, fast)


@njit(cache=True, parallel=True)
def _depthwise_v2(x, w, ishift, geo, out, post, sc, fast):
    """DepthwiseConv2D (:func:`depthwise_potentials`); ``w (kx, ky, C)`` in the accumulator
    dtype."""
    nc = x.shape[3]
    zero = np.zeros(nc, np.int64)
    for n in prange(x.shape[0]):
        xp = np.empty((geo[4], geo[5], nc), w.dtype)
        nz = frame_into(x[n], zero, ishift, geo, xp)
        acc = np.empty((geo[6], geo[7], nc), w.dtype)
        depthwise_potentials(xp, nz, w, geo, acc)
        v2_finish(acc, out[n], post, sc, fast)


def prepare_input_conv2d_v2(in_shape, weights, strides, same, padding_value, stage, max_in):
    """Prepared InputConv2D: ``run(x, dtype) -> (N, qx, qy, F)``.

    ``in_shape`` is ``(x, y, c)``; ``max_in`` bounds |input| (picks the accumulator dtype).
    Weights are cast and the stage packed once here."""
    k0, k1, _, nf = weights.shape
    pv = np.ascontiguousarray(padding_value, np.int64)
    ox, oy, px, py, ex, ey = frame_geometry((0,) + tuple(in_shape), k0, k1, strides, same)
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
            _input_conv2d_v2(kernel_array(x), w, pva, geo, out, *stage_args)
        return out
    return run


def prepare_conv2d_v2(in_shape, weights, strides, same, input_shift, stage, max_in):
    """Prepared event-based Conv2D (``weights`` in Keras orientation): ``run(x, dtype)``."""
    k0, k1, _, nf = weights.shape
    sh = np.ascontiguousarray(input_shift, np.int64)
    sx, sy = in_shape[0], in_shape[1]
    ox, oy, px, py = conv_geometry(sx, sy, k0, k1, strides, same)
    blo, bhi = signed_range(stage.buffer_bits)
    weights, sh, max_ev, plain = fold_input_shift(weights, sh, max_in, stage.buffer_bits, 2)
    acc = acc_dtype(max_ev, weights)
    w = np.ascontiguousarray(weights, acc)
    tab = tap_tables(sx, sy, ox, oy, k0, k1, strides, px, py)
    stage_args, (qx, qy) = v2_args(stage, ox, oy, acc)
    bounds = np.array([blo, bhi, ox, oy, plain], np.int64)
    work = ox * oy * weights.size

    if k0 == k1 == 1 and tuple(strides) == (1, 1):
        w2 = np.ascontiguousarray(w[0, 0])

        def run(x, dtype=np.int64):
            out = np.empty((x.shape[0], qx, qy, nf), dtype)
            with threads_for(x.shape[0] * work):
                _pointwise_v2(kernel_array(x), w2, sh, bounds, out, *stage_args)
            return out
        return run

    def run(x, dtype=np.int64):
        out = np.empty((x.shape[0], qx, qy, nf), dtype)
        with threads_for(x.shape[0] * work):
            _conv2d_v2(kernel_array(x), w, sh, bounds, *tab, out, *stage_args)
        return out
    return run


def prepare_depthwise_conv2d_v2(in_shape, weights, strides, same, input_shift, stage, max_in):
    """Prepared DepthwiseConv2D (``weights (kx, ky, C, 1)``, Keras orientation)."""
    k0, k1, nc, _ = weights.shape
    sh = np.ascontiguousarray(input_shift, np.int64)
    ox, oy, px, py, ex, ey = frame_geometry((0,) + tuple(in_shape), k0, k1, strides, same)
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
            _depthwise_v2(kernel_array(x), w, sh, geo, out, *stage_args)
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
            event_potentials(x[n], wacc, zero, 0, 0, True, na, oa, ta, nb, ob, tb,
                             np.empty(nc, np.int32), np.empty(nc, wacc.dtype), acc)
        elif kind == 0:
            xp = np.empty((geo[4], geo[5], nc), wacc.dtype)
            frame_into(x[n], pad_value, zero, geo, xp)
            dense_potentials(xp, wacc, geo, acc)
        else:
            xq = np.empty((geo[4], geo[5], nc), w.dtype)
            nz = frame_into(x[n], pad_value, zero, geo, xq)
            dw = np.empty((ox, oy, nc), w.dtype)
            depthwise_potentials(xq, nz, w, geo, dw)
            pointwise_events(dw.reshape(ox * oy, nc), wacc[0, 0], zero, 0, 0, True,
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
    ox, oy, px, py, ex, ey = frame_geometry((0,) + tuple(in_shape), k0, k1, strides, same)
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
    tab = tap_tables(in_shape[0], in_shape[1], ox, oy, k0, k1, strides, px, py)
    args, (qx, qy) = v1_args(stage, ox, oy, at)
    pva = pv.astype(np.int64)
    work = ox * oy * (weights.size + (0 if weights_pw is None else weights_pw.size))

    def run(x, dtype=np.int64):
        out = np.empty((x.shape[0], qx, qy, nf), dtype)
        with threads_for(x.shape[0] * work):
            _conv_v1(kernel_array(x), w, wacc, kind, pva, geo, *tab, out, *args)
        return out
    return run


def conv_v1(x, weights, strides, same, padding_value, stage, weights_pw=None, dtype=np.int64):
    """Akida 1.0 InputConvolutional (non-zero ``padding_value`` with 'same' padding frames
    the image densely) / Convolutional (event based) / SeparableConvolutional."""
    pv = np.ascontiguousarray(padding_value, np.int64)
    dense_input = bool(same and np.any(pv != 0))
    return prepare_conv_v1(x.shape[1:], weights, strides, same, pv, stage, max_abs_of(x.dtype),
                           weights_pw, dense_input)(x, dtype)

"""Plain numpy specification of every Akida integer operation: the living spec.

Slow and simple on purpose; the numba kernels of :mod:`nsoc.kernels` must equal these functions
bit for bit (``tests/test_kernels.py``).  Arrays are NHWC batches ``(N, x, y, c)`` (Akida's
``(x, y, c)`` dims, see :mod:`nsoc.layers`).  Potentials are computed in int64.

Akida 2.0 neuron (learned from quantizeml's FixedPoint/QFloat arithmetic and cnn2snn's variable
mapping; verified against BrainChip's engine on the reference cases):

1. ``x << input_shift[c]`` per input channel (saturated to ``buffer_bits`` signed);
2. accumulate ``sum(x * w)``; the accumulator saturates to ``buffer_bits`` signed bits
   (``[-2**(b-1), 2**(b-1)-1]``, b = 28 by default);
3. add ``bias << bias_shift`` and saturate again to ``buffer_bits``;
4. max pooling (``pool_type`` 1) over the biased potentials;
5. ReLU (``activation`` 1): clip to ``[0, max_value << max_value_shift]``;
6. global average pooling (``pool_type`` 2): the *sum* over x, y (saturated to ``buffer_bits``);
   the ``1 / (x*y)`` factor is folded by the converter into ``output_scales``/``output_shift``;
7. multiply by ``output_scales`` (uint8), saturate to ``post_op_buffer_bits`` signed bits;
8. shift by ``output_shift``: left if positive, else a right shift rounding half up
   (``(v + 2**(n-1)) >> n``, quantizeml's ``floor(v / 2**n + 0.5)``);
9. saturate to the output range: signed ``output_bits`` (no activation, or 8-bit ReLU) or
   unsigned ``output_bits`` (ReLU below 8 bits), see :attr:`nsoc.layers.Layer.output_signed`.

Overflow policy: every register boundary *saturates* (quantizeml's ``FixedPoint`` clips its
values to its bit width at each step; no step wraps).

Akida 1.0 neuron: integer potentials ``sum(x * w)`` (no shifts, no bias), max pooling or the
global sum, then with ``activation`` the quantized step ``n = ceil((p - threshold) / step)``
where ``step`` is ``act_step`` truncated to 4 fractional bits, clipped to
``[0, 2**act_bits - 1]``; without activation the potential (saturated to int32).
"""
from __future__ import annotations

import numpy as np

from .geometry import conv_output_size, int_range, same_pad_before, signed_range


# ----- integer helpers ----------------------------------------------------------------------
def saturate(x, bits: int):
    """Clip int64 ``x`` to a ``bits``-wide signed register."""
    lo, hi = signed_range(bits)
    return np.clip(x, lo, hi)


def shift_round(x, shift):
    """Left shift where ``shift`` > 0, rounded (half up) right shift where ``shift`` < 0.

    ``x`` must fit 32 signed bits; shifts broadcast on the last axis.  Left shifts are capped at
    31 and right shifts at 62: beyond, the result saturates any output range or is 0 anyway.
    """
    x = np.asarray(x, np.int64)
    shift = np.asarray(shift, np.int64)
    left = np.minimum(np.maximum(shift, 0), 31)
    right = np.minimum(np.maximum(-shift, 0), 62)
    half = np.where(right > 0, np.left_shift(np.int64(1), np.maximum(right - 1, 0)), 0)
    return np.where(shift > 0, np.left_shift(x, left), np.right_shift(x + half, right))


# ----- input ------------------------------------------------------------------------------
def quantize(x, scales, zero_points, bits: int, signed: bool):
    """Quantizer: float32 -> ``clip(round_half_even(x * scales) + zero_points)`` (int64).

    ``scales`` is quantizeml's ``2**frac_bits``; integer inputs pass through unchanged.
    """
    if x.dtype.kind in "iu":
        return x.astype(np.int64)
    lo, hi = int_range(bits, signed)
    q = np.round(x.astype(np.float32) * np.asarray(scales, np.float32))
    q = q.astype(np.int64) + np.asarray(zero_points, np.int64)
    return np.clip(q, lo, hi)


# ----- potentials -------------------------------------------------------------------------
def _pad(x, k0, k1, strides, same, value):
    n, sx, sy, c = x.shape
    s0, s1 = strides
    ox, oy = conv_output_size(sx, k0, s0, same), conv_output_size(sy, k1, s1, same)
    px = same_pad_before(sx, ox, k0, s0) if same else 0
    py = same_pad_before(sy, oy, k1, s1) if same else 0
    ex, ey = (ox - 1) * s0 + k0, (oy - 1) * s1 + k1
    xp = np.empty((n, ex, ey, c), np.int64)
    xp[...] = np.asarray(value, np.int64)
    cx, cy = min(sx, ex - px), min(sy, ey - py)
    xp[:, px:px + cx, py:py + cy] = x[:, :cx, :cy]
    return xp, ox, oy


def conv2d(x, weights, strides, same: bool, padding_value=0):
    """Convolution potentials ``(N, ox, oy, F)``; ``weights[i, j, c, f]`` in Keras orientation
    (index i along x, j along y), ``strides`` (along x, along y); padded border pixels take
    ``padding_value[c]``."""
    k0, k1, _, f = weights.shape
    s0, s1 = strides
    xp, ox, oy = _pad(np.asarray(x, np.int64), k0, k1, strides, same, padding_value)
    w = weights.astype(np.int64)
    out = np.zeros((x.shape[0], ox, oy, f), np.int64)
    for i in range(k0):
        for j in range(k1):
            patch = xp[:, i:i + (ox - 1) * s0 + 1:s0, j:j + (oy - 1) * s1 + 1:s1]
            out += patch @ w[i, j]
    return out


def depthwise_conv2d(x, weights, strides, same: bool):
    """Depthwise potentials ``(N, ox, oy, C)``; ``weights[i, j, c, 0]`` in Keras orientation."""
    k0, k1 = weights.shape[:2]
    s0, s1 = strides
    xp, ox, oy = _pad(np.asarray(x, np.int64), k0, k1, strides, same, 0)
    w = weights[:, :, :, 0].astype(np.int64)
    out = np.zeros((x.shape[0], ox, oy, x.shape[3]), np.int64)
    for i in range(k0):
        for j in range(k1):
            out += xp[:, i:i + (ox - 1) * s0 + 1:s0, j:j + (oy - 1) * s1 + 1:s1] * w[i, j]
    return out


def dense(x, weights):
    """Dense potentials ``(N, units)`` of a ``(N, fan_in)`` input, ``weights (fan_in, units)``."""
    return np.asarray(x, np.int64) @ weights.astype(np.int64)


def max_pool(p, sizes, strides, same: bool):
    """Max pooling of ``(N, x, y, C)`` (sizes and strides along x, y); 'same' padding ignores
    the padded positions."""
    n, sx, sy, c = p.shape
    (z0, z1), (s0, s1) = sizes, strides
    ox, oy = conv_output_size(sx, z0, s0, same), conv_output_size(sy, z1, s1, same)
    px = same_pad_before(sx, ox, z0, s0) if same else 0
    py = same_pad_before(sy, oy, z1, s1) if same else 0
    out = np.empty((n, ox, oy, c), p.dtype)
    for a in range(ox):
        x0, x1 = max(a * s0 - px, 0), min(a * s0 - px + z0, sx)
        for b in range(oy):
            y0, y1 = max(b * s1 - py, 0), min(b * s1 - py + z1, sy)
            out[:, a, b] = p[:, x0:x1, y0:y1].max(axis=(1, 2))
    return out


# ----- Akida 2.0 --------------------------------------------------------------------------
def input_shifted(x, input_shift, buffer_bits: int):
    """``x << input_shift`` (per last-axis element), saturated to ``buffer_bits``."""
    return saturate(np.left_shift(np.asarray(x, np.int64),
                                  np.asarray(input_shift, np.int64)), buffer_bits)


def v2_output(p, stage):
    """Akida 2.0 output stage (steps 3-9 of the module docstring) of raw potentials ``p``.

    ``p`` is ``(N, x, y, F)`` int64 already saturated to ``buffer_bits``; ``stage`` is a
    :class:`nsoc.kernels.V2Stage`.
    """
    acc = saturate(np.asarray(p, np.int64) + stage.bias, stage.buffer_bits)
    if stage.pool_type == 1:
        acc = max_pool(acc, stage.pool_size, stage.pool_stride, stage.same)
    if stage.relu:
        acc = np.minimum(np.maximum(acc, 0), stage.clip)
    if stage.pool_type == 2:
        acc = saturate(acc.sum(axis=(1, 2), keepdims=True), stage.buffer_bits)
    acc = saturate(acc * stage.scales, stage.post_op_bits)
    acc = shift_round(acc, stage.shift)
    return np.clip(acc, stage.out_lo, stage.out_hi)


def add(a, b, a_shift, b_shift, output_shift, buffer_bits, post_op_bits, relu, out_lo, out_hi,
        dtype=np.int64):
    """Akida 2.0 Add: ``sat(sat(a << a_shift) + sat(b << b_shift))`` then the output shift."""
    acc = saturate(input_shifted(a, a_shift, buffer_bits) + input_shifted(b, b_shift, buffer_bits),
                   buffer_bits)
    if relu:
        acc = np.maximum(acc, 0)
    acc = shift_round(saturate(acc, post_op_bits), output_shift)
    return np.clip(acc, out_lo, out_hi).astype(dtype)


def concatenate(arrays):
    """Concatenation along channels."""
    return np.concatenate([np.asarray(a, np.int64) for a in arrays], axis=-1)


def dequantize(x, scales):
    """Dequantizer: ``float32(x) * scales``."""
    return x.astype(np.float32) * np.asarray(scales, np.float32)


# ----- Akida 1.0 --------------------------------------------------------------------------
def v1_step16(act_step, act_bits: int = 4):
    """The activation step as the hardware applies it, in 16ths (int64).

    ``act_step`` is stored scaled to 4-bit activations (the converter multiplies the step by
    ``2**(act_bits - 4)``); the hardware holds it with 4 fractional bits (``floor(act_step*16)``;
    measured: BrainChip's engine matches 3 or 4 fractional bits, not a float step) and steps
    ``2**(4 - act_bits)`` of those per output level at fewer than 4 bits."""
    step16 = np.floor(np.asarray(act_step, np.float32).astype(np.float64) * 16).astype(np.int64)
    return step16 << (4 - act_bits) if act_bits < 4 else step16


def v1_activation(p, threshold, act_step, act_bits: int):
    """Quantized step activation: ``n = ceil((p - threshold) / step)`` with the step on 4
    fractional bits (:func:`v1_step16`), clipped to ``[0, 2**act_bits - 1]``; i.e. n such that
    ``T + (n-1)*step < p <= T + n*step``.  Integer arithmetic: ``ceil(16 (p - T) / step16)``."""
    d16 = (np.asarray(p, np.int64) - np.asarray(threshold, np.int64)) * 16
    step16 = v1_step16(act_step, act_bits)
    top = (1 << act_bits) - 1
    safe = np.maximum(step16, 1)
    q = np.where(step16 > 0, -((-d16) // safe), np.where(d16 > 0, top, 0))
    return np.clip(q, 0, top)


def v1_output(p, stage):
    """Akida 1.0 output of potentials ``p``: pooling (max, or the global sum for
    ``pool_type`` 2) then the step activation; without activation the int32-saturated
    potentials.  ``stage`` is a :class:`nsoc.kernels.V1Stage`."""
    p = np.asarray(p, np.int64)
    if stage.pool_type == 1:
        p = max_pool(p, stage.pool_size, stage.pool_stride, stage.same)
    elif stage.pool_type == 2:
        p = p.sum(axis=(1, 2), keepdims=True)
    if stage.activation:
        return v1_activation(p, stage.threshold, stage.act_step, stage.act_bits)
    return saturate(p, 32)


def v1_flatten(x):
    """v1 FullyConnected input order: (c, y, x) of the NHWC ``(N, x, y, c)`` batch."""
    return np.ascontiguousarray(np.asarray(x).transpose(0, 3, 2, 1)).reshape(x.shape[0], -1)


# ----- whole layers (what the engine calls; the numba modules have the same signatures) -------
def input_conv2d_v2(x, weights, strides, same, padding_value, stage, dtype=np.int64):
    """InputConv2D on a dense uint8 image; ``weights`` in Keras orientation (as stored)."""
    p = saturate(conv2d(x, weights, strides, same, padding_value), stage.buffer_bits)
    return v2_output(p, stage).astype(dtype)


def conv2d_v2(x, weights, strides, same, input_shift, stage, dtype=np.int64):
    """Conv2D; ``weights`` in Keras orientation (the stored ones flipped back)."""
    p = saturate(conv2d(input_shifted(x, input_shift, stage.buffer_bits), weights, strides, same),
                 stage.buffer_bits)
    return v2_output(p, stage).astype(dtype)


def depthwise_conv2d_v2(x, weights, strides, same, input_shift, stage, dtype=np.int64):
    """DepthwiseConv2D; ``weights (kx, ky, C, 1)`` in Keras orientation."""
    p = saturate(depthwise_conv2d(input_shifted(x, input_shift, stage.buffer_bits), weights,
                                  strides, same), stage.buffer_bits)
    return v2_output(p, stage).astype(dtype)


def dense_v2(x, weights, input_shift, stage, dtype=np.int64):
    """Dense1D on a flattened ``(N, fan_in)`` input; returns ``(N, units)``."""
    p = saturate(dense(input_shifted(x, input_shift, stage.buffer_bits), weights),
                 stage.buffer_bits)
    return v2_output(p[:, None, None, :], stage)[:, 0, 0, :].astype(dtype)


def conv_v1(x, weights, strides, same, padding_value, stage, weights_pw=None, dtype=np.int64):
    """v1 InputConvolutional / Convolutional (``weights`` in Keras orientation), or
    SeparableConvolutional when ``weights_pw (1, 1, C, F)`` is given (``weights`` depthwise)."""
    if weights_pw is None:
        p = conv2d(x, weights, strides, same, padding_value)
    else:
        p = conv2d(depthwise_conv2d(x, weights, strides, same), weights_pw, (1, 1), False)
    return v1_output(p, stage).astype(dtype)


def dense_v1(x, weights, stage, dtype=np.int64):
    """v1 FullyConnected on the (c, y, x)-flattened ``(N, fan_in)`` input, ``weights
    (fan_in, units)``; returns ``(N, units)``."""
    return v1_output(dense(x, weights)[:, None, None, :], stage)[:, 0, 0, :].astype(dtype)

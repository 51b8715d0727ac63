"""Memory each NP reserves for a layer (bytes), as Akida reports it in ``mem_info``."""
from __future__ import annotations

import math

from ...layers import POOL_AVG

# ----- memory formulas (bytes) -----------------------------------------------------------
V2_WORD_BITS = 100   # v2 weight SRAM word (4K x 100b)
V1_WORD_BITS = 50    # v1 weight SRAM word (7K x 50b)


def _ceil(a, b):
    return -(-a // b)


def _round_up(a, b):
    return _ceil(a, b) * b


def _even(x):
    return x + 1 if x > 1 and x % 2 else x


def _conv_kernel(layer):
    p = layer.params
    if "kernel_size" in p:
        return p["kernel_size"], p["kernel_size"]
    return p["kernel_height"], p["kernel_width"]


def cnp_input_size(layer, x_part: int, filters: int) -> int:
    """Input SRAM (bytes) of one CNP holding ``x_part`` input columns (and ``filters`` channels
    of a depthwise layer).

    v2: rows of ``x*c*bits`` rounded up to 128 bytes, times ``y``; depthwise: per channel, rows
    of ``x*bits`` rounded up to 8 bytes.  v1: ``x*y*c*bits/8`` with x rounded up to even.
    """
    _, y, c = layer.input_dims
    bits = layer.input_bits
    if layer.TYPE == "DepthwiseConv2D":
        return filters * y * _round_up(_ceil(x_part * bits, 8), 8)
    if layer.TYPE in ("Conv2D",):
        return y * _round_up(_ceil(x_part * c * bits, 8), 128)
    return _ceil(_even(x_part) * y * c * bits, 8)


def cnp_weight_size(layer, filters: int) -> int:
    """Weight SRAM (bytes) of one CNP holding ``filters`` filters.

    v2 convolution: filters in groups of ``G`` (8 for a 3-wide kernel, 16 for 1x1), one 100-bit
    word per (kernel row, input channel, group) holding ``G*kw*bits`` of at most 96 bits.
    v2 depthwise: as many channels per word as whole kernels fit in 100 bits.  v1: 50-bit words
    of twelve 4-bit weights, kernels padded to a power of two; Convolutional: one word per
    (12-filter group, input channel, kernel position) (a fit of the refcases).
    v1 SeparableConvolutional (no refcase; chosen so that AkidaNet 0.5's 512-channel layers fit
    at 64 filters per NP as published): the depthwise kernels once per NP, 12 channels per word
    and kernel position, plus the pointwise one word per (12-filter group, input channel).
    """
    kh, kw = _conv_kernel(layer)
    cin = layer.input_dims[2]
    bits = layer.params["weights_bits"]
    if layer.TYPE == "DepthwiseConv2D":
        per_word = max(1, V2_WORD_BITS // (kh * kw * bits))
        return _ceil(_ceil(filters, per_word) * V2_WORD_BITS, 8)
    if layer.TYPE == "Conv2D":
        group = min(16, 1 << int(math.log2(max(1, 24 // kw)))) if kw <= 24 else 1
        words = _ceil(filters, group) * kh * cin * _ceil(group * kw * bits, 96)
        return _ceil(words * V2_WORD_BITS, 8)
    kernel = 1 << (kh * kw - 1).bit_length()
    per_weight = max(1, _ceil(bits, 4))
    if layer.TYPE == "SeparableConvolutional":
        words = (_ceil(cin, 12) * kernel + _ceil(filters, 12) * cin) * per_weight
    else:
        words = _ceil(filters, 12) * cin * kernel * per_weight
    return _ceil(words * V1_WORD_BITS, 8)


def hrc_weight_size(layer) -> int:
    """HRC weight memory (bytes): per filter 8 bytes plus, per input channel, the kernel
    rounded up to 12 bytes (fits the refcases' 3x3x1, 3x3x3 and 5x5x1 kernels)."""
    kh, kw = _conv_kernel(layer)
    return layer.params["filters"] * (8 + layer.input_dims[2] * _round_up(kh * kw, 12))


def fnp_input_size(layer, inbound) -> int:
    """FNP input memory (bytes).  v2: the (x, y, c) input with x rounded up to even, at the
    input bit width (8 bits after a global average pooling).  v1: one bit per input, rounded
    up to 4 bytes."""
    x, y, c = layer.input_dims
    if layer.TYPE == "FullyConnected":
        return _round_up(_ceil(x * y * c, 8), 4)
    bits = 8 if inbound is not None and inbound.params.get("pool_type") == POOL_AVG \
        else layer.input_bits
    return _ceil(_even(x) * y * c * bits, 8)


def fnp_weight_size(layer, units: int, input_size: int) -> int:
    """FNP weight memory (bytes).  v2: ``units * (input_size + 8)``.  v1: per unit, the
    fan-in at ``48 // (bits + 2)`` weights per 50-bit word, rounded up to 8 bytes."""
    if layer.TYPE == "FullyConnected":
        fan_in = int(math.prod(layer.input_dims))
        per_word = max(1, 48 // (layer.params["weights_bits"] + 2))
        return units * _round_up(_ceil(_ceil(fan_in, per_word) * V1_WORD_BITS, 8), 8)
    return units * (input_size + 8)

"""Window geometry and integer ranges: plain Python, the one definition nsoc and its kernels use.

Everything here is exact integer arithmetic on Python ints (no numpy, no numba) so the numpy
specification (:mod:`nsoc.kernels.reference`), the numba kernels' preparation code and the rest of
nsoc (:mod:`nsoc.geometry` re-exports these) agree by construction.

Padding follows TensorFlow/Keras: ``same`` gives ``ceil(n / s)`` outputs with the extra padding
after the data (``pad_before = total // 2``); ``valid`` gives ``floor((n - k) / s) + 1``.
"""
from __future__ import annotations


def conv_output_size(size: int, kernel: int, stride: int, same: bool) -> int:
    """Output length along one axis of a convolution or pooling window of ``kernel`` taps."""
    return -(-size // stride) if same else (size - kernel) // stride + 1


def same_pad_before(size: int, out: int, kernel: int, stride: int) -> int:
    """Padding before the first element of a 'same' window giving ``out`` outputs."""
    return max((out - 1) * stride + kernel - size, 0) // 2


def axis_geometry(size: int, kernel: int, stride: int, same: bool) -> tuple[int, int]:
    """``(output length, leading padding)`` of a window along one axis."""
    out = conv_output_size(size, kernel, stride, same)
    return out, (same_pad_before(size, out, kernel, stride) if same else 0)


def signed_range(bits: int) -> tuple[int, int]:
    """``(lo, hi)`` of a ``bits``-wide two's complement integer."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def int_range(bits: int, signed: bool) -> tuple[int, int]:
    """``(lo, hi)`` of a ``bits``-wide integer, two's complement when ``signed``."""
    return signed_range(bits) if signed else (0, (1 << bits) - 1)


def max_abs(bits: int, signed: bool) -> int:
    """Largest magnitude a ``bits``-wide integer takes (``2**(bits-1)`` signed)."""
    lo, hi = int_range(bits, signed)
    return max(-lo, hi)

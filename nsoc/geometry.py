"""Geometry of Akida layers and integer ranges: the one place nsoc computes them.

The arithmetic lives in :mod:`nsoc.kernels.geometry` (kernels import nothing of nsoc, so the
definitions sit at the bottom of the import graph) and is re-exported here with the layer-level
vocabulary the rest of nsoc uses:

* axes are Akida's ``(x, y)``: batch axes 1 and 2 of an NHWC array (Keras's rows and columns);
* ``padding`` is ``"same"`` or ``"valid"`` (TensorFlow's rules);
* a :class:`Pool` is ``type`` ``"none"``, ``"max"`` (window ``size``/``stride``, padded like the
  convolution it follows) or ``"avg"`` (Akida's global average pooling: one output per channel).
"""
from __future__ import annotations

from dataclasses import dataclass

from .kernels.geometry import (
    axis_geometry,
    conv_output_size,
    int_range,
    max_abs,
    same_pad_before,
    signed_range,
)

SAME, VALID = "same", "valid"
PADDINGS = (VALID, SAME)          # index = Akida's padding enum (0 valid, 1 same)
POOL_TYPES = ("none", "max", "avg")  # index = Akida's pool_type enum


@dataclass(frozen=True)
class Pool:
    """Pooling after a layer's convolution: ``type`` in :data:`POOL_TYPES`; ``size`` and
    ``stride`` are ``(x, y)`` windows for ``"max"``, ``None`` otherwise."""

    type: str = "none"
    size: tuple[int, int] | None = None
    stride: tuple[int, int] | None = None


NO_POOL = Pool()


def padding_name(code: int) -> str:
    """``"valid"`` or ``"same"`` for Akida's padding parameter (0 or 1)."""
    return PADDINGS[code]


def window_output_xy(xy: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
                     padding: str) -> tuple[int, int]:
    """``(x, y)`` output size of a window of ``kernel`` taps moved by ``stride``."""
    same = padding == SAME
    return (conv_output_size(xy[0], kernel[0], stride[0], same),
            conv_output_size(xy[1], kernel[1], stride[1], same))


def pooled_xy(xy: tuple[int, int], pool: Pool, padding: str) -> tuple[int, int]:
    """``(x, y)`` size after ``pool`` of a ``xy`` map (max pooling padded like ``padding``)."""
    if pool.type == "max":
        assert pool.size is not None and pool.stride is not None
        return window_output_xy(xy, pool.size, pool.stride, padding)
    if pool.type == "avg":
        return (1, 1)
    return xy


def conv_pool_output_xy(xy: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
                        padding: str, pool: Pool) -> tuple[int, int]:
    """``(x, y)`` output size of a convolution followed by its pooling."""
    return pooled_xy(window_output_xy(xy, kernel, stride, padding), pool, padding)


__all__ = ["SAME", "VALID", "PADDINGS", "POOL_TYPES", "Pool", "NO_POOL", "padding_name",
           "window_output_xy", "pooled_xy", "conv_pool_output_xy", "conv_output_size",
           "same_pad_before", "axis_geometry", "signed_range", "int_range", "max_abs"]

"""Integer kernels of the Akida operations (numba), and their numpy specification.

:mod:`nsoc.kernels.reference` is the plain numpy spec of every operation; the layer functions
exported here have the same signatures and results, compiled with numba (``@njit(cache=True)``,
samples of a chunk in parallel), event based where Akida is (Conv2D and Dense skip zero inputs,
DepthwiseConv2D skips all-zero positions).  Each takes an optional ``dtype`` for its output.
The ``prepare_*`` functions build a layer once (weights cast to the accumulator
dtype, tap tables, packed output stage) and return ``run(x, dtype)``: the engine's per-model
plan.
"""
from ._util import V1Stage, V2Stage
from .conv import (
                   conv2d_v2,
                   conv_v1,
                   depthwise_conv2d_v2,
                   input_conv2d_v2,
                   prepare_conv2d_v2,
                   prepare_conv_v1,
                   prepare_depthwise_conv2d_v2,
                   prepare_input_conv2d_v2,
)
from .dense import dense_v1, dense_v2, prepare_dense_v1, prepare_dense_v2
from .elementwise import add

__all__ = ["V1Stage", "V2Stage", "input_conv2d_v2", "conv2d_v2", "depthwise_conv2d_v2",
           "dense_v2", "conv_v1", "dense_v1", "add", "prepare_input_conv2d_v2",
           "prepare_conv2d_v2", "prepare_depthwise_conv2d_v2", "prepare_dense_v2",
           "prepare_conv_v1", "prepare_dense_v1"]

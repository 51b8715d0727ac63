"""Akida 1.0 layer types."""
from __future__ import annotations

import numpy as np

from .base import (
    PADDING_SAME,
    POOL_NONE,
    DenseLayer,
    Param,
    Var,
    WindowLayer,
    _declared_width_height,
    _filters,
    _param_bits,
    pool_from_params,
)

_V1_ACT_VARS = (
    Var("threshold", "int32", _filters),
    Var("act_step", "float32", _filters),
)
_V1_POOL_PARAMS = (
    Param("pool_type", POOL_NONE, 0, 2),
    Param("pooling_height", -1, -1, 64),
    Param("pooling_width", -1, -1, 64),
    Param("pooling_stride_x", -1, -1, 64),
    Param("pooling_stride_y", -1, -1, 64),
)


class _V1Activation:
    """The Akida 1.0 threshold/step output: unsigned ``act_bits`` activations, or the signed
    32-bit potentials when ``activation`` is off."""

    params: dict

    @property
    def output_signed(self):
        return False if self.params["activation"] else True

    @property
    def output_bits(self):
        return self.params["act_bits"] if self.params["activation"] else 32


class _V1ConvBase(_V1Activation, WindowLayer):
    """The Akida 1.0 convolutions: ``kernel_width`` and ``stride_x`` along x (batch axis 1),
    ``kernel_height`` and ``stride_y`` along y; threshold/step activation."""

    @property
    def kernel(self) -> tuple[int, int]:
        return (self.params["kernel_width"], self.params["kernel_height"])

    @property
    def stride(self) -> tuple[int, int]:
        return (self.params["stride_x"], self.params["stride_y"])

    @property
    def pool(self):
        p = self.params
        return pool_from_params(p["pool_type"], (p["pooling_width"], p["pooling_height"]),
                                (p["pooling_stride_x"], p["pooling_stride_y"]))

    @property
    def macs(self):
        ox, oy = self.conv_output_xy
        return int(ox * oy * int(np.prod(self.variables["weights"].shape)))


_V1_CONV_PARAMS = (
    Param("act_bits", 1, 1, 4), Param("activation", 1, 0, 1), Param("filters", None, 1, 4096),
    Param("kernel_height", None, 1, 15), Param("kernel_width", None, 1, 15),
    Param("padding", PADDING_SAME, 0, 1), Param("stride_x", 1, 1, 4), Param("stride_y", 1, 1, 4),
) + _V1_POOL_PARAMS


def _v1_conv_weights(layer):
    p = layer.params
    return (p["kernel_height"], p["kernel_width"], layer.input_dims[2], p["filters"])


class InputConvolutional(_V1ConvBase):
    """Akida 1.0 input convolution on dense 8-bit images (the HRC)."""

    TYPE = "InputConvolutional"
    HW_KIND = "hrc"
    VERSIONS = frozenset({"v1"})
    PARAMS = _V1_CONV_PARAMS + (
        Param("input_channels", None, 1, 3), Param("input_height", None, 1),
        Param("input_width", None, 1), Param("padding_value", 0, 0, 255),
        Param("weights_bits", 8, 1, 8))
    VARIABLES = (Var("weights", "int8", _v1_conv_weights, _param_bits("weights_bits")),
                 ) + _V1_ACT_VARS

    declared_input_dims = _declared_width_height


class Convolutional(_V1ConvBase):
    """Akida 1.0 event-based convolution (weights 1, 2 or 4 bits)."""

    TYPE = "Convolutional"
    HW_KIND = "cnp_conv"
    VERSIONS = frozenset({"v1"})
    PARAMS = _V1_CONV_PARAMS + (Param("weights_bits", 4, 1, 8),)
    VARIABLES = (Var("weights", "int8", _v1_conv_weights, _param_bits("weights_bits")),
                 ) + _V1_ACT_VARS


class SeparableConvolutional(_V1ConvBase):
    """Akida 1.0 depthwise-then-pointwise convolution; ``weights`` depthwise, ``weights_pw`` 1x1."""

    TYPE = "SeparableConvolutional"
    HW_KIND = "cnp_separable"
    VERSIONS = frozenset({"v1"})
    PARAMS = _V1_CONV_PARAMS + (Param("weights_bits", 4, 1, 8),)
    VARIABLES = (
        Var("weights", "int8", lambda lay: (lay.params["kernel_height"], lay.params["kernel_width"],
                                          lay.input_dims[2], 1), _param_bits("weights_bits")),
        Var("weights_pw", "int8", lambda lay: (1, 1, lay.input_dims[2], lay.params["filters"]),
            _param_bits("weights_bits")),
    ) + _V1_ACT_VARS

    @property
    def macs(self):
        ox, oy = self.conv_output_xy
        c = self.input_dims[2]
        k = self.params["kernel_height"] * self.params["kernel_width"]
        return int(ox * oy * c * (k + self.params["filters"]))


class FullyConnected(_V1Activation, DenseLayer):
    """Akida 1.0 fully connected; weights ``(1, 1, fan_in, units)``, input in (c, y, x) order."""

    TYPE = "FullyConnected"
    HW_KIND = "fnp"
    VERSIONS = frozenset({"v1"})
    PARAMS = (Param("act_bits", 1, 1, 4), Param("activation", 1, 0, 1),
              Param("units", None, 1, 65536), Param("weights_bits", 4, 1, 8))
    VARIABLES = (
        Var("weights", "int8",
            lambda lay: (1, 1, int(np.prod(lay.input_dims)), lay.params["units"]),
            _param_bits("weights_bits")),
    ) + _V1_ACT_VARS




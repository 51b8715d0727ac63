"""Akida 2.0 layer types (Quantizer and InputData serve both versions)."""
from __future__ import annotations

import numpy as np

from ..errors import ModelValidationError
from .base import (
    ACT_NONE,
    ACT_RELU,
    PADDING_SAME,
    POOL_NONE,
    DenseLayer,
    Layer,
    Param,
    Var,
    WindowLayer,
    _bits,
    _ch_in,
    _declared_width_height,
    _filters,
    _no_relu,
    _param_bits,
    pool_from_params,
)


def _v2_conv_weights(layer):
    k = layer.params["kernel_size"]
    return (k, k, layer.input_dims[2], layer.params["filters"])


# Output stage variables shared by the Akida 2.0 compute layers.
_V2_OUTPUT_VARS = (
    Var("bias", "int8", _filters, _bits(8)),
    Var("bias_shift", "uint8", _filters, _bits(5), signed=False),
    Var("output_scales", "uint8", _filters, _bits(8), signed=False),
    Var("output_shift", "int8", _filters, _bits(7)),
    Var("max_value", "uint8", _filters, _bits(8), signed=False, optional=_no_relu),
    Var("max_value_shift", "uint8", _filters, _bits(5), signed=False, optional=_no_relu),
)
_V2_OUTPUT_PARAMS = (
    Param("activation", ACT_NONE, 0, 2),
    Param("buffer_bits", 28, 1, 32),
    Param("post_op_buffer_bits", 32, 1, 32),
    Param("output_bits", 8, 1, 32),
)
_POOL_PARAMS = (
    Param("pool_type", POOL_NONE, 0, 2),
    Param("pool_size", -1, -1, 64),
    Param("pool_stride", -1, -1, 64),
)


class Quantizer(Layer):
    """Input quantizer: float32 or uint8/int8 batch to ``output_bits`` integers.

    ``q = clip(round_half_even(x * scales) + zero_points)`` per channel (``scales`` holds
    2**frac_bits); integer inputs pass through.
    """

    TYPE = "Quantizer"
    VERSIONS = frozenset({"v1", "v2"})
    PARAMS = (Param("channels_first", 0, 0, 1), Param("input_channels", None, 1),
              Param("input_height", None, 1), Param("input_width", None, 1),
              Param("output_bits", 8, 1, 8), Param("output_signed", 0, 0, 1))
    VARIABLES = (
        Var("scales", "float32", lambda lay: lay.variables["scales"].shape
            if lay.variables["scales"].shape in ((1,), (lay.input_dims[2],))
            else (lay.input_dims[2],)),
        Var("zero_points", "uint8", lambda lay: lay.variables["scales"].shape, signed=False),
    )

    declared_input_dims = _declared_width_height

    @property
    def output_signed(self):
        return bool(self.params["output_signed"])

    @property
    def output_bits(self):
        return self.params["output_bits"]


class InputData(Layer):
    """Signed (int8) input: passes the batch through as ``input_bits`` integers."""

    TYPE = "InputData"
    VERSIONS = frozenset({"v1", "v2"})
    PARAMS = (Param("input_bits", 8, 1, 8), Param("input_channels", None, 1),
              Param("input_height", None, 1), Param("input_width", None, 1),
              Param("input_signed", 1, 0, 1))

    declared_input_dims = _declared_width_height

    def build(self, inbound_layers):
        super().build(inbound_layers)
        if not inbound_layers:  # first layer: the user's batch has the declared bits
            self.input_bits = self.params["input_bits"]
            self.input_signed = bool(self.params["input_signed"])

    @property
    def output_bits(self):
        return self.params["input_bits"]

    @property
    def output_signed(self):
        return bool(self.params["input_signed"])


class _Conv2DBase(WindowLayer):
    """The Akida 2.0 convolutions: square ``kernel_size``/``kernel_stride``, square pooling."""

    @property
    def kernel(self) -> tuple[int, int]:
        return (self.params["kernel_size"],) * 2

    @property
    def stride(self) -> tuple[int, int]:
        return (self.params["kernel_stride"],) * 2

    @property
    def pool(self):
        p = self.params
        return pool_from_params(p["pool_type"], (p["pool_size"],) * 2, (p["pool_stride"],) * 2)

    @property
    def macs(self):
        ox, oy = self.conv_output_xy
        w = self.variables["weights"]
        return int(ox * oy * int(np.prod(w.shape[:3])) * w.shape[3]) \
            if self.TYPE != "DepthwiseConv2D" else int(ox * oy * int(np.prod(w.shape[:3])))


_CONV_PARAMS = (Param("kernel_size", None, 1, 15), Param("kernel_stride", 1, 1, 4),
                Param("padding", PADDING_SAME, 0, 1)) + _POOL_PARAMS


class InputConv2D(_Conv2DBase):
    """First convolution on a dense 8-bit image (the HRC); weights not flipped."""

    TYPE = "InputConv2D"
    HW_KIND = "hrc"
    VERSIONS = frozenset({"v2"})
    PARAMS = _V2_OUTPUT_PARAMS + _CONV_PARAMS + (
        Param("filters", None, 1, 1024), Param("input_channels", None, 1, 4),
        Param("input_x", None, 1), Param("input_y", None, 1), Param("weights_bits", 8, 1, 8))
    VARIABLES = (
        Var("weights", "int8", _v2_conv_weights, _param_bits("weights_bits")),
        Var("padding_value", "uint8", _ch_in, _bits(8), signed=False),
    ) + _V2_OUTPUT_VARS

    def declared_input_dims(self):
        p = self.params
        return (p["input_x"], p["input_y"], p["input_channels"])


class Conv2D(_Conv2DBase):
    """Event-based convolution; weights ``(kh, kw, cin, filters)`` spatially flipped."""

    TYPE = "Conv2D"
    HW_KIND = "cnp_conv"
    VERSIONS = frozenset({"v2"})
    PARAMS = _V2_OUTPUT_PARAMS + _CONV_PARAMS + (
        Param("filters", None, 1, 4096), Param("weights_bits", 4, 1, 8))
    VARIABLES = (
        Var("weights", "int8", _v2_conv_weights, _param_bits("weights_bits")),
        Var("input_shift", "uint8", _ch_in, _bits(5), signed=False),
    ) + _V2_OUTPUT_VARS


class DepthwiseConv2D(_Conv2DBase):
    """Depthwise convolution; weights ``(kh, kw, channels, 1)`` spatially flipped."""

    TYPE = "DepthwiseConv2D"
    HW_KIND = "cnp_depthwise"
    VERSIONS = frozenset({"v2"})
    PARAMS = _V2_OUTPUT_PARAMS + _CONV_PARAMS + (Param("weights_bits", 4, 1, 8),)
    VARIABLES = (
        Var("weights", "int8", lambda lay: (lay.params["kernel_size"], lay.params["kernel_size"],
                                          lay.input_dims[2], 1), _param_bits("weights_bits")),
        Var("input_shift", "uint8", _ch_in, _bits(5), signed=False),
    ) + _V2_OUTPUT_VARS

    def _out_channels(self, in_dims):
        return in_dims[2]


class Dense1D(DenseLayer):
    """Fully connected layer on the flattened (x, y, c) input; weights ``(fan_in, units)``."""

    TYPE = "Dense1D"
    HW_KIND = "fnp"
    VERSIONS = frozenset({"v2"})
    PARAMS = _V2_OUTPUT_PARAMS + (Param("units", None, 1, 65536), Param("weights_bits", 4, 1, 8))
    VARIABLES = (
        Var("weights", "int8", lambda lay: (int(np.prod(lay.input_dims)), lay.params["units"]),
            _param_bits("weights_bits")),
        Var("input_shift", "uint8", lambda lay: (int(np.prod(lay.input_dims)),), _bits(5),
            signed=False),
    ) + _V2_OUTPUT_VARS



class Add(Layer):
    """Element-wise sum of two inbounds: ``(a << a_shift) + (b << b_shift)``, then output shift."""

    TYPE = "Add"
    HW_KIND = "skip"
    VERSIONS = frozenset({"v2"})
    MAX_INBOUNDS = 2
    PARAMS = (Param("output_bits", 8, 1, 32), Param("buffer_bits", 32, 1, 32),
              Param("post_op_buffer_bits", 32, 1, 32), Param("activation", ACT_NONE, 0, 2))
    VARIABLES = (
        Var("a_shift", "uint8", _ch_in, _bits(5), signed=False),
        Var("b_shift", "uint8", _ch_in, _bits(5), signed=False),
        Var("output_shift", "int8", _ch_in, _bits(7)),
    )

    def compute_output_dims(self, input_dims):
        if len(input_dims) != 2 or tuple(input_dims[0]) != tuple(input_dims[1]):
            raise ModelValidationError(
                f"Add '{self.name}' needs two inbounds of equal dims, got {input_dims}")
        return tuple(input_dims[0])

    @property
    def output_signed(self):
        """Signed without ReLU, whatever the inputs' sign: akida's Add outputs int8 and clips to
        the signed ``output_bits`` range (measured through nsoc.interop), as quantizeml's signed
        output quantizer does."""
        return self.params["activation"] != ACT_RELU


class Concatenate(Layer):
    """Concatenation of inbounds along channels."""

    TYPE = "Concatenate"
    HW_KIND = "skip"
    VERSIONS = frozenset({"v2"})
    MAX_INBOUNDS = 8
    PARAMS = (Param("output_bits", 8, 1, 32),)

    def compute_output_dims(self, input_dims):
        first = input_dims[0]
        if len(input_dims) < 2 or any(tuple(d[:2]) != tuple(first[:2]) for d in input_dims):
            raise ModelValidationError(
                f"Concatenate '{self.name}' needs >= 2 inbounds of equal x, y; got {input_dims}")
        return (first[0], first[1], sum(d[2] for d in input_dims))

    @property
    def output_signed(self):
        return self.input_signed


class Dequantizer(Layer):
    """Last layer of a v2 model: ``float32(potential) * scales`` per channel."""

    TYPE = "Dequantizer"
    VERSIONS = frozenset({"v2"})
    VARIABLES = (Var("scales", "float32", lambda lay: (lay.input_dims[2],)),)

    @property
    def output_signed(self):
        return True



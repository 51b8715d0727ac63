"""Typed Akida layers: the intermediate representation every part of nsoc shares.

Layer type names, parameter names and variable names, shapes and dtypes are those of BrainChip's
Akida engine, so a layer converted by nsoc can be matched with one converted by cnn2snn.

Conventions (Akida's):

* dims are ``(x, y, c)`` as Akida prints them, which is the order of a NHWC numpy batch's axes
  1, 2, 3: ``input_dims == batch.shape[1:]``.  Akida names axis 1 ``x``/``width`` and axis 2
  ``y``/``height`` in its parameters (``InputConv2D.input_x == dims[0]``,
  ``Quantizer.input_width == dims[0]``).
* Conv2D and DepthwiseConv2D weights are stored spatially flipped relative to Keras
  (``weights[kh-1-i, kw-1-j]``); InputConv2D and Dense1D weights are not flipped.
* Dense1D weights are ``(fan_in, units)`` with the input flattened in (x, y, c) order; v1
  FullyConnected weights are ``(1, 1, fan_in, units)`` with the input flattened in (c, y, x) order
  of Akida's (c, w, h) wording: the activation is transposed to channels-first before flattening.
* Effective bias is ``bias << bias_shift``; weights are 1 byte per value whatever their bit width.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .errors import ModelValidationError

PADDING_VALID, PADDING_SAME = 0, 1
POOL_NONE, POOL_MAX, POOL_AVG = 0, 1, 2
ACT_NONE, ACT_RELU, ACT_LUT = 0, 1, 2


@dataclass(frozen=True)
class Param:
    """A layer parameter: an int (enums included) or bool with an allowed range."""

    name: str
    default: int | None = None  # None means required
    lo: int = -(2**31)
    hi: int = 2**31 - 1


@dataclass(frozen=True)
class Var:
    """An integer or float variable of a layer.

    ``shape`` computes the expected shape from the layer (params and input dims); ``bits`` gives
    the bit width the values must fit in (None: any value of the dtype); ``signed`` whether the
    range is two's complement.  ``optional`` variables may be absent (e.g. ``max_value`` without
    a ReLU).
    """

    name: str
    dtype: str
    shape: Callable[[Layer], tuple]
    bits: Callable[[Layer], int | None] = lambda layer: None
    signed: bool = True
    optional: Callable[[Layer], bool] = lambda layer: False


def _ch_in(layer):
    return (layer.input_dims[2],)


def _filters(layer):
    return (layer.filters_out,)


def _bits(n):
    return lambda layer: n


def _param_bits(name):
    return lambda layer: layer.params[name]


def _declared_width_height(layer):
    """Input dims of an input layer that names them input_width/height/channels."""
    p = layer.params
    return (p["input_width"], p["input_height"], p["input_channels"])


def _v2_conv_weights(layer):
    k = layer.params["kernel_size"]
    return (k, k, layer.input_dims[2], layer.params["filters"])


def _no_relu(layer):
    return layer.params.get("activation", 0) != ACT_RELU


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


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Spatial output size of a convolution.

    Keras rules: same = ceil(n/s), valid = floor((n-k)/s)+1.
    """
    if padding == PADDING_VALID:
        return (size - kernel) // stride + 1
    return -(-size // stride)


def pool_output_size(size: int, pool: int, stride: int, padding: int) -> int:
    """Spatial output size of a max pooling that follows a convolution with ``padding``."""
    if padding == PADDING_VALID:
        return (size - pool) // stride + 1
    return -(-size // stride)


class Layer:
    """Base of all layer types.

    Parameters hold only ints; variables are numpy arrays keyed by Akida's variable names.
    ``input_dims``/``output_dims`` are set by :meth:`build` from the inbound layers.
    """

    TYPE: ClassVar[str] = ""
    VERSIONS: ClassVar[frozenset] = frozenset()
    PARAMS: ClassVar[tuple] = ()
    VARIABLES: ClassVar[tuple] = ()
    MAX_INBOUNDS: ClassVar[int] = 1

    def __init__(self, name: str, params: dict | None = None, variables: dict | None = None,
                 inbounds: list | tuple = ()):
        if not isinstance(name, str) or not name:
            raise ModelValidationError("a layer needs a non-empty string name")
        self.name = name
        known = {p.name: p for p in self.PARAMS}
        given = dict(params or {})
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise ModelValidationError(
                f"layer '{name}' ({self.TYPE}): unknown parameter(s) {unknown}; "
                f"expected {sorted(known)}")
        self.params = {}
        for p in self.PARAMS:
            if p.name in given:
                value = given[p.name]
                if isinstance(value, (bool, np.bool_)):
                    value = int(value)
                if not isinstance(value, (int, np.integer)):
                    raise ModelValidationError(
                        f"layer '{name}' ({self.TYPE}): parameter {p.name} must be an integer, "
                        f"got {value!r}")
                value = int(value)
            elif p.default is not None:
                value = p.default
            else:
                raise ModelValidationError(
                    f"layer '{name}' ({self.TYPE}): missing required parameter {p.name}")
            if not p.lo <= value <= p.hi:
                raise ModelValidationError(
                    f"layer '{name}' ({self.TYPE}): parameter {p.name}={value} is outside "
                    f"[{p.lo}, {p.hi}]")
            self.params[p.name] = value
        self.variables = {k: np.asarray(v) for k, v in (variables or {}).items()}
        self.inbounds = [str(i) for i in inbounds]
        self.input_dims: tuple = ()     # () until build()
        self.output_dims: tuple = ()
        self.input_bits: int = 8
        self.input_signed: bool = False

    # ----- shape inference and bit widths -------------------------------------------------
    def compute_output_dims(self, input_dims: list[tuple]) -> tuple:
        """Return the output dims for the given inbound dims; subclasses override."""
        return tuple(input_dims[0])

    @property
    def filters_out(self) -> int:
        """Number of output channels (neurons per position)."""
        return self.output_dims[2]

    @property
    def output_bits(self) -> int:
        return self.params.get("output_bits", self.input_bits)

    @property
    def output_signed(self) -> bool:
        """Whether the layer's output integers are signed.

        Akida 2.0: potentials without ReLU are signed, and so is an 8-bit ReLU output (int8,
        0..127, as quantizeml's signed 8-bit OutputQuantizer); a ReLU below 8 bits is unsigned.
        """
        if self.params.get("activation", ACT_RELU) != ACT_RELU:
            return True
        return self.params.get("output_bits", 0) >= 8

    @property
    def macs(self) -> int:
        """Multiply-accumulates per frame."""
        return 0

    def declared_input_dims(self) -> tuple | None:
        """Input dims stated by the layer's own parameters (input layers), else None."""
        return None

    def build(self, inbound_layers: list[Layer]) -> None:
        """Set dims and input bit width from the inbound layers, then validate the variables.

        A layer without inbounds is the model's input and must declare its input dims."""
        declared = self.declared_input_dims()
        if not inbound_layers:
            if declared is None:
                raise ModelValidationError(
                    f"layer '{self.name}' ({self.TYPE}) cannot be a model's first layer: it "
                    f"needs an inbound layer")
            self.input_dims = tuple(int(d) for d in declared)
        else:
            if not 1 <= len(inbound_layers) <= self.MAX_INBOUNDS:
                raise ModelValidationError(
                    f"layer '{self.name}' ({self.TYPE}) takes {self.MAX_INBOUNDS} inbound "
                    f"layer(s), got {len(inbound_layers)}")
            first = inbound_layers[0]
            if declared is not None and tuple(first.output_dims) != tuple(declared):
                raise ModelValidationError(
                    f"{self.TYPE} '{self.name}' expects input dims {tuple(declared)}, its "
                    f"inbound '{first.name}' gives {first.output_dims}")
            self.input_dims = first.output_dims
            self.input_bits = first.output_bits
            self.input_signed = first.output_signed
        self.output_dims = tuple(int(d) for d in self.compute_output_dims(
            [lay.output_dims for lay in inbound_layers] or [self.input_dims]))
        if min(self.output_dims) < 1:
            raise ModelValidationError(
                f"layer '{self.name}' ({self.TYPE}): output dims {self.output_dims} are empty "
                f"for input dims {self.input_dims}")
        self.validate_variables()

    def validate_variables(self) -> None:
        """Check every declared variable's presence, dtype, shape and value range."""
        declared = {v.name for v in self.VARIABLES}
        extra = sorted(set(self.variables) - declared)
        if extra:
            raise ModelValidationError(
                f"layer '{self.name}' ({self.TYPE}): unknown variable(s) {extra}")
        for var in self.VARIABLES:
            if var.name not in self.variables:
                if var.optional(self):
                    continue
                raise ModelValidationError(
                    f"layer '{self.name}' ({self.TYPE}): missing variable '{var.name}'")
            arr = self.variables[var.name]
            if arr.dtype != np.dtype(var.dtype):
                raise ModelValidationError(
                    f"layer '{self.name}' ({self.TYPE}): variable '{var.name}' has dtype "
                    f"{arr.dtype}, expected {var.dtype}")
            shape = tuple(int(s) for s in var.shape(self))
            if arr.shape != shape:
                raise ModelValidationError(
                    f"layer '{self.name}' ({self.TYPE}): variable '{var.name}' has shape "
                    f"{arr.shape}, expected {shape}")
            bits = var.bits(self)
            if bits is not None and arr.size and arr.dtype.kind in "iu":
                lo, hi = ((-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if var.signed
                          else (0, (1 << bits) - 1))
                amin, amax = int(arr.min()), int(arr.max())
                if amin < lo or amax > hi:
                    raise ModelValidationError(
                        f"layer '{self.name}' ({self.TYPE}): variable '{var.name}' values "
                        f"[{amin}, {amax}] do not fit in {bits} "
                        f"{'signed' if var.signed else 'unsigned'} bits [{lo}, {hi}]")
            if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
                raise ModelValidationError(
                    f"layer '{self.name}' ({self.TYPE}): variable '{var.name}' has NaN or inf")

    # ----- helpers -----------------------------------------------------------------------
    def get_variable(self, name: str) -> np.ndarray:
        return self.variables[name]

    def set_variable(self, name: str, value) -> None:
        self.variables[name] = np.asarray(value)

    def to_dict(self) -> dict:
        """Plain description (no variable data)."""
        return {"name": self.name, "type": self.TYPE, "parameters": dict(self.params),
                "inbounds": list(self.inbounds), "input_dims": list(self.input_dims or ()),
                "output_dims": list(self.output_dims or ()), "input_bits": self.input_bits,
                "output_signed": self.output_signed,
                "variables": {k: {"shape": list(v.shape), "dtype": str(v.dtype)}
                              for k, v in self.variables.items()}}

    def __repr__(self):
        return f"<{self.TYPE} '{self.name}' {self.input_dims}->{self.output_dims}>"


# ============================ Akida 2.0 ======================================================
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


class _Conv2DBase(Layer):
    """Shared shape logic of the Akida 2.0 convolutions (kernel, stride, padding, pooling)."""

    def compute_output_dims(self, input_dims):
        x, y, _ = input_dims[0]
        p = self.params
        k, s, pad = p["kernel_size"], p["kernel_stride"], p["padding"]
        ox, oy = conv_output_size(x, k, s, pad), conv_output_size(y, k, s, pad)
        if p["pool_type"] == POOL_MAX:
            ox = pool_output_size(ox, p["pool_size"], p["pool_stride"], pad)
            oy = pool_output_size(oy, p["pool_size"], p["pool_stride"], pad)
        elif p["pool_type"] == POOL_AVG:
            ox = oy = 1
        return (ox, oy, self._out_channels(input_dims[0]))

    def _out_channels(self, in_dims):
        return self.params["filters"]

    def _conv_dims(self):
        x, y, _ = self.input_dims
        p = self.params
        return (conv_output_size(x, p["kernel_size"], p["kernel_stride"], p["padding"]),
                conv_output_size(y, p["kernel_size"], p["kernel_stride"], p["padding"]))

    @property
    def macs(self):
        ox, oy = self._conv_dims()
        w = self.variables["weights"]
        return int(ox * oy * int(np.prod(w.shape[:3])) * w.shape[3]) \
            if self.TYPE != "DepthwiseConv2D" else int(ox * oy * int(np.prod(w.shape[:3])))


_CONV_PARAMS = (Param("kernel_size", None, 1, 15), Param("kernel_stride", 1, 1, 4),
                Param("padding", PADDING_SAME, 0, 2)) + _POOL_PARAMS


class InputConv2D(_Conv2DBase):
    """First convolution on a dense 8-bit image (the HRC); weights not flipped."""

    TYPE = "InputConv2D"
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
    VERSIONS = frozenset({"v2"})
    PARAMS = _V2_OUTPUT_PARAMS + _CONV_PARAMS + (Param("weights_bits", 4, 1, 8),)
    VARIABLES = (
        Var("weights", "int8", lambda lay: (lay.params["kernel_size"], lay.params["kernel_size"],
                                          lay.input_dims[2], 1), _param_bits("weights_bits")),
        Var("input_shift", "uint8", _ch_in, _bits(5), signed=False),
    ) + _V2_OUTPUT_VARS

    def _out_channels(self, in_dims):
        return in_dims[2]


class Dense1D(Layer):
    """Fully connected layer on the flattened (x, y, c) input; weights ``(fan_in, units)``."""

    TYPE = "Dense1D"
    VERSIONS = frozenset({"v2"})
    PARAMS = _V2_OUTPUT_PARAMS + (Param("units", None, 1, 65536), Param("weights_bits", 4, 1, 8))
    VARIABLES = (
        Var("weights", "int8", lambda lay: (int(np.prod(lay.input_dims)), lay.params["units"]),
            _param_bits("weights_bits")),
        Var("input_shift", "uint8", lambda lay: (int(np.prod(lay.input_dims)),), _bits(5),
            signed=False),
    ) + _V2_OUTPUT_VARS

    def compute_output_dims(self, input_dims):
        return (1, 1, self.params["units"])

    @property
    def macs(self):
        return int(np.prod(self.input_dims)) * self.params["units"]


class Add(Layer):
    """Element-wise sum of two inbounds: ``(a << a_shift) + (b << b_shift)``, then output shift."""

    TYPE = "Add"
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
        return self.params["activation"] != ACT_RELU and self.input_signed


class Concatenate(Layer):
    """Concatenation of inbounds along channels."""

    TYPE = "Concatenate"
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


# ============================ Akida 1.0 ======================================================
class _V1ConvBase(Layer):
    def compute_output_dims(self, input_dims):
        x, y, _ = input_dims[0]
        p = self.params
        pad = p["padding"]
        ox = conv_output_size(x, p["kernel_width"], p["stride_x"], pad)
        oy = conv_output_size(y, p["kernel_height"], p["stride_y"], pad)
        if p["pool_type"] == POOL_MAX:
            ox = pool_output_size(ox, p["pooling_width"], p["pooling_stride_x"], pad)
            oy = pool_output_size(oy, p["pooling_height"], p["pooling_stride_y"], pad)
        elif p["pool_type"] == POOL_AVG:
            ox = oy = 1
        return (ox, oy, p["filters"])

    @property
    def output_signed(self):
        return False if self.params["activation"] else True

    @property
    def output_bits(self):
        return self.params["act_bits"] if self.params["activation"] else 32

    def _conv_dims(self):
        x, y, _ = self.input_dims
        p = self.params
        return (conv_output_size(x, p["kernel_width"], p["stride_x"], p["padding"]),
                conv_output_size(y, p["kernel_height"], p["stride_y"], p["padding"]))

    @property
    def macs(self):
        ox, oy = self._conv_dims()
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
    VERSIONS = frozenset({"v1"})
    PARAMS = _V1_CONV_PARAMS + (Param("weights_bits", 4, 1, 8),)
    VARIABLES = (Var("weights", "int8", _v1_conv_weights, _param_bits("weights_bits")),
                 ) + _V1_ACT_VARS


class SeparableConvolutional(_V1ConvBase):
    """Akida 1.0 depthwise-then-pointwise convolution; ``weights`` depthwise, ``weights_pw`` 1x1."""

    TYPE = "SeparableConvolutional"
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
        ox, oy = self._conv_dims()
        c = self.input_dims[2]
        k = self.params["kernel_height"] * self.params["kernel_width"]
        return int(ox * oy * c * (k + self.params["filters"]))


class FullyConnected(Layer):
    """Akida 1.0 fully connected; weights ``(1, 1, fan_in, units)``, input in (c, y, x) order."""

    TYPE = "FullyConnected"
    VERSIONS = frozenset({"v1"})
    PARAMS = (Param("act_bits", 1, 1, 4), Param("activation", 1, 0, 1),
              Param("units", None, 1, 65536), Param("weights_bits", 4, 1, 8))
    VARIABLES = (
        Var("weights", "int8",
            lambda lay: (1, 1, int(np.prod(lay.input_dims)), lay.params["units"]),
            _param_bits("weights_bits")),
    ) + _V1_ACT_VARS

    def compute_output_dims(self, input_dims):
        return (1, 1, self.params["units"])

    @property
    def output_signed(self):
        return False if self.params["activation"] else True

    @property
    def output_bits(self):
        return self.params["act_bits"] if self.params["activation"] else 32

    @property
    def macs(self):
        return int(np.prod(self.input_dims)) * self.params["units"]


LAYER_TYPES: dict[str, type[Layer]] = {cls.TYPE: cls for cls in (
    Quantizer, InputData, InputConv2D, Conv2D, DepthwiseConv2D, Dense1D, Add, Concatenate,
    Dequantizer, InputConvolutional, Convolutional, SeparableConvolutional, FullyConnected)}


def make_layer(type_name: str, name: str, params=None, variables=None, inbounds=()) -> Layer:
    """Build a layer from its Akida type name."""
    try:
        cls = LAYER_TYPES[type_name]
    except KeyError:
        raise ModelValidationError(
            f"unknown layer type '{type_name}' for layer '{name}'; nsoc supports "
            f"{', '.join(sorted(LAYER_TYPES))}") from None
    return cls(name, params, variables, inbounds)

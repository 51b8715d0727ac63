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

from ..errors import ModelValidationError
from ..geometry import (
    NO_POOL,
    POOL_TYPES,
    Pool,
    conv_pool_output_xy,
    int_range,
    padding_name,
    window_output_xy,
)

PADDING_VALID, PADDING_SAME = 0, 1
POOL_NONE, POOL_MAX, POOL_AVG = 0, 1, 2
ACT_NONE, ACT_RELU, ACT_LUT = 0, 1, 2

# What runs a layer on the chip (the class attribute ``HW_KIND``), whatever the Akida version:
#   none           no NP: input quantization or data, dequantization (host side)
#   hrc            the HRC: input convolution on dense 8-bit images
#   cnp_conv       a CNP convolution (event based)
#   cnp_depthwise  a CNP depthwise convolution
#   cnp_separable  a CNP depthwise-then-pointwise convolution (Akida 1.0)
#   fnp            an FNP: fully connected
#   skip           a merge of two branches (Add, Concatenate) carried by the skip DMA / NPs
HW_KINDS = ("none", "hrc", "cnp_conv", "cnp_depthwise", "cnp_separable", "fnp", "skip")


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


def _no_relu(layer):
    return layer.params.get("activation", 0) != ACT_RELU


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
    HW_KIND: ClassVar[str] = "none"

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

    # ----- normalised geometry (the same names for Akida 1.0 and 2.0) ---------------------
    @property
    def kernel(self) -> tuple[int, int] | None:
        """Window ``(x, y)`` in taps (Keras's ``(kh, kw)``), None without a window."""
        return None

    @property
    def stride(self) -> tuple[int, int] | None:
        """Window stride ``(x, y)``, None without a window."""
        return None

    @property
    def padding(self) -> str | None:
        """``"same"`` or ``"valid"``, None without a window."""
        return None

    @property
    def pool(self) -> Pool:
        """The pooling after the layer's window (:class:`nsoc.geometry.Pool`)."""
        return NO_POOL

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
                lo, hi = int_range(bits, var.signed)
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




class DenseLayer(Layer):
    """A fully connected layer (Akida 1.0 FullyConnected, 2.0 Dense1D): ``units`` neurons,
    each reading the whole input."""

    def compute_output_dims(self, input_dims):
        return (1, 1, self.params["units"])

    @property
    def macs(self):
        return int(np.prod(self.input_dims)) * self.params["units"]


class WindowLayer(Layer):
    """A convolution (and its pooling): shape inference from the normalised geometry.

    Subclasses define :attr:`kernel`, :attr:`stride`, :attr:`padding` and :attr:`pool` from
    their version's parameters and the number of output channels.
    """

    def compute_output_dims(self, input_dims):
        x, y, c = input_dims[0]
        ox, oy = conv_pool_output_xy((x, y), self.kernel, self.stride, self.padding, self.pool)
        return (ox, oy, self._out_channels(input_dims[0]))

    def _out_channels(self, in_dims) -> int:
        return self.params["filters"]

    @property
    def kernel(self) -> tuple[int, int]:
        raise NotImplementedError

    @property
    def stride(self) -> tuple[int, int]:
        raise NotImplementedError

    @property
    def padding(self) -> str:
        return padding_name(self.params["padding"])

    @property
    def conv_output_xy(self) -> tuple[int, int]:
        """``(x, y)`` size of the convolution's output, before pooling."""
        return window_output_xy(self.input_dims[:2], self.kernel, self.stride, self.padding)


def pool_from_params(pool_type: int, size: tuple[int, int], stride: tuple[int, int]) -> Pool:
    """A :class:`Pool` from Akida's pool parameters (size and stride only for max pooling)."""
    if pool_type == POOL_MAX:
        return Pool("max", size, stride)
    return Pool(POOL_TYPES[pool_type])

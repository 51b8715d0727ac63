"""Typed Akida layers: the intermediate representation every part of nsoc shares.

:mod:`.base` holds the conventions (dims, weights layout), :class:`Param`, :class:`Var`, the
:class:`Layer` base with its normalised geometry (``kernel``, ``stride``, ``padding``, ``pool``,
``HW_KIND``); :mod:`.v2` and :mod:`.v1` the layer types of each Akida version.
"""
from __future__ import annotations

from ..errors import ModelValidationError
from .base import (
    ACT_LUT,
    ACT_NONE,
    ACT_RELU,
    HW_KINDS,
    PADDING_SAME,
    PADDING_VALID,
    POOL_AVG,
    POOL_MAX,
    POOL_NONE,
    Layer,
    Param,
    Var,
    WindowLayer,
)
from .v1 import Convolutional, FullyConnected, InputConvolutional, SeparableConvolutional
from .v2 import (
    Add,
    Concatenate,
    Conv2D,
    Dense1D,
    DepthwiseConv2D,
    Dequantizer,
    InputConv2D,
    InputData,
    Quantizer,
)

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


__all__ = ["ACT_LUT", "ACT_NONE", "ACT_RELU", "HW_KINDS", "PADDING_SAME", "PADDING_VALID",
           "POOL_AVG", "POOL_MAX", "POOL_NONE", "Layer", "Param", "Var", "WindowLayer",
           "LAYER_TYPES", "make_layer", "Quantizer", "InputData", "InputConv2D", "Conv2D",
           "DepthwiseConv2D", "Dense1D", "Add", "Concatenate", "Dequantizer",
           "InputConvolutional", "Convolutional", "SeparableConvolutional", "FullyConnected"]

"""QuantizedDense blocks -> Dense1D (Akida 2.0) / FullyConnected (Akida 1.0).

Patterns: [Reshape >] [Flatten >] Dense [> ReLU].  Dense1D weights keep Keras' (x, y, c) flatten
order; FullyConnected weights are reordered to Akida 1.0's (c, y, x) flatten order.
"""
from __future__ import annotations

import warnings

import numpy as np

from nsoc.errors import ConversionError

from ..passes import kind
from ..registry import BlockHandler, register
from ..variables import (
    int_weights,
    v1_output,
    v1_weights_threshold,
    v2_input_shift,
    v2_output,
    v2_relu,
    v2_weights_bias,
)
from ..version import AkidaVersion
from .common import check_bits, find, keras_dims, out_quantizer, v1_relu_checks, v2_output_params

RS, F, D, R = "QuantizedReshape", "QuantizedFlatten", "QuantizedDense", "QuantizedReLU"
_PATTERNS = [(D,), (D, R), (F, D), (F, D, R), (RS, D), (RS, D, R), (RS, F, D), (RS, F, D, R)]


def _warn_flatten_shift(block) -> None:
    """quantizeml may align per-axis inputs inside a Flatten/Reshape (shift then saturate);
    Akida (and cnn2snn) apply no shift there, so the outputs will differ from Keras."""
    for lay in block:
        rec = getattr(lay, "input_shift", None)
        if kind(lay) in (F, RS) and rec is not None and np.any(np.asarray(rec.value) != 0):
            warnings.warn(
                f"layer '{lay.name}': quantizeml shifts its per-channel inputs before the dense "
                f"layer but Akida does not, so Akida's outputs will differ from the Keras "
                f"model's; quantize with per_tensor_activations=True to avoid it", stacklevel=4)


@register
class DenseHandler(BlockHandler):
    MAIN = D
    PATTERNS = {AkidaVersion.v1: _PATTERNS, AkidaVersion.v2: _PATTERNS}

    def convert(self, ctx, block, inbounds, as_input):
        dense = find(block, D)
        dense_in = tuple(dense.input_shape[1:])
        if int(np.prod(dense_in)) != int(dense_in[-1]):
            raise ConversionError(
                f"layer '{dense.name}': a dense layer takes a flattened input (X,) or (1, 1, X), "
                f"got {dense_in}; add a Flatten before it")
        in_dims = ctx.dims[inbounds[0]]
        fan_in = int(np.prod(in_dims))
        if fan_in != int(dense_in[-1]):
            raise ConversionError(
                f"layer '{dense.name}': its {dense_in[-1]} inputs do not match the "
                f"{in_dims} output of '{inbounds[0]}'")
        units = int(dense.units)
        relu = find(block, R)
        out_dims = keras_dims((None, units))
        bits = int(dense.weight_quantizer.bitwidth)
        if ctx.version == AkidaVersion.v1:
            self._v1(ctx, block, dense, relu, in_dims, units, bits, inbounds, out_dims)
            return
        params = {"units": units, "weights_bits": bits}
        params.update(v2_output_params(dense, block, relu))
        variables = v2_weights_bias(dense, units, flip=False)
        variables["input_shift"] = v2_input_shift(dense, fan_in, channels=in_dims[2])
        _warn_flatten_shift(block)
        if relu is not None:
            variables.update(v2_relu(relu, units))
        variables.update(v2_output(out_quantizer(block), units, params["buffer_bits"]))
        ctx.add("Dense1D", dense.name, params, variables, inbounds, out_dims)

    @staticmethod
    def _v1(ctx, block, dense, relu, in_dims, units, bits, inbounds, out_dims):
        check_bits(dense, bits, (1, 2, 4), "dense layer", ctx.version)
        params = {"units": units, "weights_bits": bits, "activation": 0}
        if relu is not None:
            params["act_bits"] = v1_relu_checks(relu)
            params["activation"] = 1
        weights = int_weights(dense.weight_quantizer)
        x, y, c = in_dims
        if (x, y) != (1, 1):
            weights = weights.reshape(x, y, c, units).transpose(2, 1, 0, 3)
        weights = weights.reshape(1, 1, x * y * c, units)
        variables = v1_weights_threshold(dense, units, flip=False, weights=weights)
        oq = out_quantizer(block)
        if oq:
            v1_output(variables, oq, bool(params["activation"]), params.get("act_bits", 1))
        ctx.add("FullyConnected", dense.name, params, variables, inbounds, out_dims)

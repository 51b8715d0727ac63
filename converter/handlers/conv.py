"""QuantizedConv2D blocks -> InputConv2D / Conv2D (Akida 2.0), InputConvolutional /
Convolutional (Akida 1.0).

Patterns: Conv2D [> MaxPool2D] > ReLU, Conv2D [> ReLU] > GlobalAveragePooling2D (v2),
Conv2D > GlobalAveragePooling2D [> ReLU] (v1), Conv2D alone; the input convolution takes the first
block of a model fed by 8-bit unsigned images with 1 or 3 channels.
"""
from __future__ import annotations

import numpy as np

from nsoc.errors import ConversionError

from ..registry import BlockHandler, register
from ..variables import (
    int_weights,
    padding_value,
    v1_gap,
    v1_output,
    v1_weights_threshold,
    v2_input_shift,
    v2_output,
    v2_relu,
    v2_weights_bias,
)
from ..version import AkidaVersion
from .common import (
    check_bits,
    check_square,
    conv_padding,
    find,
    keras_dims,
    out_quantizer,
    pool_params,
    pooled_area,
    v1_relu_checks,
    v2_output_params,
)

C, R, MP, GAP = ("QuantizedConv2D", "QuantizedReLU", "QuantizedMaxPool2D",
                 "QuantizedGlobalAveragePooling2D")


def convert_conv_v2(ctx, block, inbounds, as_input, depthwise=False):
    """Shared by Conv2D, InputConv2D and DepthwiseConv2D (Akida 2.0)."""
    conv = block[0]
    relu = find(block, R)
    in_dims = keras_dims(conv.input_shape)
    out_dims = keras_dims(block[-1].output_shape)
    kernel = check_square(conv, "kernel size", conv.kernel_size)
    stride = check_square(conv, "stride", conv.strides)
    bits = int(conv.weight_quantizer.bitwidth)
    what = "depthwise convolution" if depthwise else "convolution"
    check_bits(conv, bits, (4, 8), what, ctx.version)
    params = {"kernel_size": kernel, "kernel_stride": stride, "padding": conv_padding(conv),
              "weights_bits": bits}
    params.update(pool_params(conv, block))
    params.update(v2_output_params(conv, block, relu))
    n_out = in_dims[2] if depthwise else int(conv.filters)
    if not depthwise:
        params["filters"] = n_out
    variables = v2_weights_bias(conv, n_out, flip=not as_input)
    pad_value = padding_value(conv)
    if as_input:
        params.update({"input_x": in_dims[0], "input_y": in_dims[1],
                       "input_channels": in_dims[2]})
        shift = v2_input_shift(conv, in_dims[2])
        if np.any(shift != 0):
            raise ConversionError(f"layer '{conv.name}': an input convolution cannot shift its "
                                  f"inputs (input_shift {shift})")
        variables["padding_value"] = np.ascontiguousarray(
            np.broadcast_to(pad_value.astype(np.uint8).reshape(-1), (in_dims[2],)))
    else:
        if np.any(pad_value != 0):
            raise ConversionError(
                f"layer '{conv.name}': only the input convolution can pad with a non-zero value "
                f"(got {pad_value}); move the Rescaling offset to the model input")
        variables["input_shift"] = v2_input_shift(conv, in_dims[2])
    if relu is not None:
        variables.update(v2_relu(relu, n_out))
    variables.update(v2_output(out_quantizer(block), n_out, params["buffer_bits"]))
    type_name = "InputConv2D" if as_input else ("DepthwiseConv2D" if depthwise else "Conv2D")
    ctx.add(type_name, conv.name, params, variables, inbounds, out_dims)


def convert_conv_v1(ctx, block, inbounds, as_input, sep=False):
    """Shared by Convolutional, InputConvolutional and SeparableConvolutional (Akida 1.0)."""
    conv = block[0]
    relu = find(block, R)
    gap = find(block, GAP)
    in_dims = keras_dims(conv.input_shape)
    out_dims = keras_dims(block[-1].output_shape)
    kernel = check_square(conv, "kernel size", conv.kernel_size)
    stride = check_square(conv, "stride", conv.strides)
    filters = int(conv.pointwise_kernel.shape[3]) if sep else int(conv.filters)
    if sep:
        bits = int(conv.dw_weight_quantizer.bitwidth)
        if bits != int(conv.pw_weight_quantizer.bitwidth):
            raise ConversionError(
                f"layer '{conv.name}': depthwise and pointwise weights need the same bit width, "
                f"got {bits} and {conv.pw_weight_quantizer.bitwidth}")
    else:
        bits = int(conv.weight_quantizer.bitwidth)
    check_bits(conv, bits, (4, 8) if as_input else (1, 2, 4),
               "input convolution" if as_input else "convolution", ctx.version)
    params = {"filters": filters, "kernel_height": kernel, "kernel_width": kernel,
              "stride_x": stride, "stride_y": stride, "padding": conv_padding(conv),
              "weights_bits": bits, "activation": 0}
    params.update(pool_params(conv, block, v1=True))
    pad_value = padding_value(conv).reshape(-1)
    if as_input:
        if pad_value.size > 1 and np.any(pad_value != pad_value[0]):
            raise ConversionError(
                f"layer '{conv.name}': Akida 1.0 input convolutions pad with one value for all "
                f"channels, got {pad_value}; use the same Rescaling offset on every channel")
        params.update({"input_width": in_dims[0], "input_height": in_dims[1],
                       "input_channels": in_dims[2], "padding_value": int(pad_value[0])})
    elif np.any(pad_value != 0):
        raise ConversionError(f"layer '{conv.name}': only the input convolution can pad with a "
                              f"non-zero value (got {pad_value})")
    if relu is not None:
        params["act_bits"] = v1_relu_checks(relu)
        params["activation"] = 1
    if gap is not None:
        area = pooled_area(gap)
        if area > 256:
            raise ConversionError(
                f"layer '{gap.name}': Akida 1.0 global average pooling covers at most 256 "
                f"positions, got {area}; use a MaxPool2D to reduce the spatial size first")
    if sep:
        dw = np.flip(int_weights(conv.dw_weight_quantizer), axis=(0, 1))
        variables = v1_weights_threshold(conv, filters, flip=False, weights=dw)
        variables["weights_pw"] = np.ascontiguousarray(
            int_weights(conv.pw_weight_quantizer).astype(np.int8))
    else:
        variables = v1_weights_threshold(conv, filters, flip=not as_input)
    if gap is not None:
        v1_gap(variables, pooled_area(gap))
    oq = out_quantizer(block)
    if oq:
        v1_output(variables, oq, bool(params["activation"]), params.get("act_bits", 1))
    type_name = ("SeparableConvolutional" if sep else
                 "InputConvolutional" if as_input else "Convolutional")
    ctx.add(type_name, conv.name, params, variables, inbounds, out_dims)


@register
class ConvHandler(BlockHandler):
    MAIN = C
    PATTERNS = {
        AkidaVersion.v1: [(C,), (C, R), (C, MP, R), (C, GAP, R), (C, GAP)],
        AkidaVersion.v2: [(C,), (C, R), (C, MP, R), (C, R, GAP), (C, GAP)],
    }
    INPUT_PATTERNS = {
        AkidaVersion.v1: [(C, R), (C, MP, R)],
        AkidaVersion.v2: [(C, R), (C, MP, R)],
    }

    def convert(self, ctx, block, inbounds, as_input):
        if ctx.version == AkidaVersion.v1:
            convert_conv_v1(ctx, block, inbounds, as_input)
        else:
            convert_conv_v2(ctx, block, inbounds, as_input)

"""Helpers shared by the handlers: Keras shapes, block parsing and parameter checks."""
from __future__ import annotations

import numpy as np

from nsoc.errors import ConversionError
from nsoc.layers import ACT_RELU, PADDING_SAME, PADDING_VALID, POOL_AVG, POOL_MAX

from ..passes import kind


def keras_dims(shape) -> tuple:
    """Akida (x, y, c) dims of a Keras shape (batch first): (N, H, W, C) or (N, C)."""
    shape = tuple(shape)
    if len(shape) == 4:
        return tuple(int(d) for d in shape[1:])
    if len(shape) == 2:
        return (1, 1, int(shape[1]))
    if len(shape) == 3:
        return (1, int(shape[1]), int(shape[2]))
    raise ConversionError(f"cannot map the Keras shape {shape} onto Akida (x, y, c) dims")


def pooled_area(gap_layer) -> int:
    """Number of positions a global average pooling sums (input height x width)."""
    shape = gap_layer.input_shape
    return int(np.prod(shape[1:3]))


def find(block: list, *kinds: str):
    """First layer of the block whose class name is one of ``kinds`` (None if absent)."""
    return next((lay for lay in block if kind(lay) in kinds), None)


def out_quantizer(block: list):
    """The block's OutputQuantizer: the one of its last layer (None if absent)."""
    return getattr(block[-1], "out_quantizer", None) or None


def conv_padding(conv) -> int:
    """Akida padding of a convolution: 'same' when it pads with a value or is 1x1."""
    pad = conv.padding
    if getattr(conv, "padding_value", None) is not None or tuple(conv.kernel_size) == (1, 1):
        pad = "same"
    return PADDING_SAME if pad == "same" else PADDING_VALID


def check_square(layer, what: str, value) -> int:
    value = tuple(int(v) for v in value)
    if len(set(value)) != 1:
        raise ConversionError(
            f"layer '{layer.name}': {what} {value} is not square; nsoc converts only equal "
            f"height and width {what}s")
    return value[0]


def check_bits(layer, bits: int, allowed: tuple, what: str, version) -> None:
    if bits not in allowed:
        raise ConversionError(
            f"layer '{layer.name}': {what} has {bits}-bit weights; Akida {version} accepts "
            f"{', '.join(map(str, allowed))} bits here: quantize with weight_bits in {allowed}")


def pool_params(conv, block: list, v1: bool = False) -> dict:
    """pool_type / size / stride parameters of a conv block (max pooling or global average)."""
    pool = find(block, "QuantizedMaxPool2D")
    if pool is not None:
        pool_pad = PADDING_SAME if pool.padding == "same" else PADDING_VALID
        if pool_pad != conv_padding(conv):
            names = ("valid", "same")
            raise ConversionError(
                f"pooling layer '{pool.name}' (padding: {pool.padding}) must have the same padding "
                f"as '{conv.name}' (padding: {names[conv_padding(conv)]}): set "
                f"padding='{names[conv_padding(conv)]}' on '{pool.name}'")
        size = check_square(pool, "pool size", pool.pool_size)
        stride = check_square(pool, "pool stride", pool.strides or pool.pool_size)
        if v1:
            return {"pool_type": POOL_MAX, "pooling_height": size, "pooling_width": size,
                    "pooling_stride_x": stride, "pooling_stride_y": stride}
        return {"pool_type": POOL_MAX, "pool_size": size, "pool_stride": stride}
    if find(block, "QuantizedGlobalAveragePooling2D") is not None:
        return {"pool_type": POOL_AVG}
    return {}


def v2_output_params(main, block: list, relu) -> dict:
    """activation, buffer_bits, output_bits and post_op_buffer_bits of an Akida 2.0 layer."""
    oq = out_quantizer(block)
    buffer_bits = int(main.buffer_bitwidth) + 1
    params = {"buffer_bits": buffer_bits,
              "output_bits": int(oq.bitwidth) if oq else buffer_bits}
    if oq:
        params["post_op_buffer_bits"] = int(oq.buffer_bitwidth)
    if relu is not None:
        params["activation"] = ACT_RELU
    return params


def v1_relu_checks(relu) -> int:
    """Akida 1.0 ReLU rules (bounded, per-tensor output quantizer); returns act_bits."""
    if relu.max_value is None:
        raise ConversionError(
            f"layer '{relu.name}': Akida 1.0 does not support an unbounded ReLU; use a bounded "
            f"ReLU such as ReLU(6.) or target v2")
    oq = getattr(relu, "out_quantizer", None)
    if not oq:
        raise ConversionError(
            f"layer '{relu.name}': Akida 1.0 needs an output quantizer on every ReLU")
    if getattr(oq, "axis", "per-tensor") == "per-axis":
        raise ConversionError(
            f"layer '{relu.name}': Akida 1.0 needs per-tensor activations; quantize with "
            f"QuantizationParams(per_tensor_activations=True)")
    if int(oq.bitwidth) not in (1, 2, 4):
        raise ConversionError(
            f"layer '{relu.name}': Akida 1.0 activations have 1, 2 or 4 bits, got "
            f"{oq.bitwidth}; quantize with activation_bits=4")
    return int(oq.bitwidth)

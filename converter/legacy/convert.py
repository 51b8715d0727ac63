"""Conversion of a legacy CNN2SNN-quantized tf_keras model to an nsoc Akida 1.0 model.

A serial model is cut into blocks ``neural layer [> pooling] [> quantized activation]``; each
block becomes one v1 layer (InputConvolutional first when the input has 1 or 3 channels, else an
InputData then Convolutional/SeparableConvolutional/FullyConnected).  Integer weights are
``round(quantized_kernel * scale_factor)``; with ``(s, b)`` the input scaling of the block
(``akida_input = s * keras_input + b``; then ``(1/step, 0)`` of the previous activation), ``sf``
the weight scale factor, ``t = step/2`` and ``step`` the activation's:

* ``threshold = floor(s * sf * (t - bias) [+ b * sum(weights)] ) * gap`` (int32, first layer
  adds the input shift term; ``gap`` is the global-average-pool area);
* ``act_step = float32(s * sf * step * 2**bits / 16) * gap``.

A last block without activation keeps ``t = 0``, ``step * 2**bits / 16 = 1``.  Act steps beyond
the hardware limits are then equalised into the next layer's weights and thresholds saturated by
:func:`nsoc.converter.variables.v1_finalize`, the back end both front ends share.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

from nsoc.errors import ConversionError, NsocError
from nsoc.layers import PADDING_SAME, PADDING_VALID, POOL_AVG, POOL_MAX, POOL_NONE, make_layer
from nsoc.model import Model

from ..variables import v1_finalize
from .layers import (
    NEURAL_LAYERS,
    QuantizedActivation,
    QuantizedConv2D,
    QuantizedDense,
    QuantizedSeparableConv2D,
)
from .transforms import (
    fold_batchnorm,
    invert_activation_maxpool,
    invert_batchnorm_pooling,
    remove_dropout,
    sequentialize,
)

L = keras.layers
_IGNORED = (L.Flatten, L.Reshape, L.Activation, L.Softmax)


def _all_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)
        else:
            yield layer


def is_legacy_model(keras_model) -> bool:
    """True if the tf_keras model holds legacy CNN2SNN quantized layers (nsoc's or loaded from
    cnn2snn files), i.e. it must be converted with :func:`convert_legacy` to Akida 1.0."""
    if not isinstance(keras_model, keras.Model):
        return False
    return any(isinstance(layer, NEURAL_LAYERS + (QuantizedActivation,))
               for layer in _all_layers(keras_model))


# ----- preparation and checks -----------------------------------------------------------------
def _rescaling_input_scaling(model):
    for layer in model.layers[:2]:
        if isinstance(layer, L.Rescaling):
            scale, offset = np.asarray(layer.scale), np.asarray(layer.offset)
            if scale.size != 1 or offset.size != 1:
                raise ConversionError(
                    f"Rescaling '{layer.name}' has per-channel scale/offset; Akida 1.0 takes one "
                    "input scale and shift")
            scale, offset = float(scale.reshape(-1)[0]), float(offset.reshape(-1)[0])
            if scale == 0:
                raise ConversionError(f"Rescaling '{layer.name}' has scale 0")
            return (1 / scale, -offset / scale)
    return None


def _prepare(model) -> keras.Sequential:
    seq = sequentialize(model)
    seq = remove_dropout(seq)
    seq = invert_activation_maxpool(seq)
    seq = invert_batchnorm_pooling(seq)
    return fold_batchnorm(seq)


def _check(seq: keras.Sequential) -> None:
    """Raise ConversionError on the first layer sequence Akida 1.0 cannot express."""
    layers = seq.layers
    last_neural = None
    last_act = layers[0] if layers else None
    neural_idx = [i for i, lay in enumerate(layers) if isinstance(lay, NEURAL_LAYERS)]
    if not neural_idx:
        raise ConversionError(
            f"model '{seq.name}' has no quantized neural layer; quantize it first with "
            "nsoc.converter.legacy.quantize")
    for i, layer in enumerate(layers):
        if isinstance(layer, (L.Conv2D, L.SeparableConv2D, L.Dense, L.DepthwiseConv2D)) and \
                not isinstance(layer, NEURAL_LAYERS):
            raise ConversionError(
                f"layer '{layer.name}' ({type(layer).__name__}) is not quantized; quantize the "
                "model with nsoc.converter.legacy.quantize (weight bits > 0) before converting")
        if isinstance(layer, L.ReLU):
            raise ConversionError(
                f"ReLU '{layer.name}' is not quantized; quantize the model with activ_"
                "quantization > 0 (Akida 1.0 takes 1, 2 or 4 bits)")
        if isinstance(layer, NEURAL_LAYERS):
            if last_neural is not None:
                raise ConversionError(
                    f"an activation is required between the neural layers '{last_neural.name}' "
                    f"and '{layer.name}'")
            if isinstance(layer, QuantizedDense):
                shape = layer.input_shape
                if not (len(shape) == 2 or (len(shape) == 4 and shape[1] == shape[2] == 1)):
                    raise ConversionError(
                        f"Dense '{layer.name}' input shape {shape[1:]} must be (N,) or (1, 1, N);"
                        " add a Flatten before it")
            else:
                ks = tuple(layer.kernel_size)
                if ks[0] != ks[1]:
                    raise ConversionError(
                        f"layer '{layer.name}' has a non-square kernel {ks}; nsoc converts "
                        "square kernels only")
            last_neural, last_act = layer, None
        elif isinstance(layer, QuantizedActivation):
            if last_act is not None:
                raise ConversionError(
                    f"a neural layer is required between the activations '{last_act.name}' and "
                    f"'{layer.name}'")
            if layer.bitwidth not in (1, 2, 4):
                raise ConversionError(
                    f"activation '{layer.name}' has {layer.bitwidth} bits; Akida 1.0 takes 1, 2 "
                    "or 4: re-quantize with activ_quantization in (1, 2, 4)")
            last_neural, last_act = None, layer
        elif isinstance(layer, (L.MaxPooling2D, L.GlobalAveragePooling2D)):
            prev = layers[i - 1] if i else None
            if not isinstance(prev, (QuantizedConv2D, QuantizedSeparableConv2D)):
                raise ConversionError(
                    f"pooling '{layer.name}' must directly follow a quantized convolution (or "
                    "its BatchNormalization, folded); it follows "
                    f"{'nothing' if prev is None else repr(prev.name)}")
            if isinstance(layer, L.MaxPooling2D) and layer.padding != prev.padding:
                raise ConversionError(
                    f"max pooling '{layer.name}' has padding '{layer.padding}' but its "
                    f"convolution '{prev.name}' has '{prev.padding}'; use the same padding")
        elif isinstance(layer, L.Flatten):
            nxt = layers[i + 1] if i + 1 < len(layers) else None
            if nxt is not None and not isinstance(nxt, QuantizedDense):
                raise ConversionError(
                    f"Flatten '{layer.name}' is only supported before a Dense layer")
        elif isinstance(layer, L.Reshape):
            ins, outs = layer.input_shape, layer.output_shape
            ok = (ins == outs or
                  (len(ins) == 4 and ins[1] == ins[2] == 1 and len(outs) == 2
                   and outs[1] == ins[3]) or
                  (len(ins) == 2 and len(outs) == 4 and outs[1] == outs[2] == 1
                   and outs[3] == ins[1]))
            if not ok:
                raise ConversionError(
                    f"Reshape '{layer.name}' may only turn (N,) into (1, 1, N) or back; it maps "
                    f"{ins[1:]} to {outs[1:]}")
        elif isinstance(layer, L.Rescaling):
            if i != 0:
                raise ConversionError(
                    f"Rescaling '{layer.name}' must be the first layer of the model")
        elif isinstance(layer, (L.Activation, L.Softmax)):
            if i < neural_idx[-1]:
                raise ConversionError(
                    f"activation '{layer.name}' ({type(layer).__name__}) is only supported "
                    "after the last neural layer")
        else:
            raise ConversionError(
                f"layer '{layer.name}' of type {type(layer).__name__} cannot be converted to "
                "Akida 1.0 (BatchNormalization must follow a neural layer to be folded)")


# ----- weights and thresholds -----------------------------------------------------------------
def _quantized_int(quantizer, w):
    """(integer weights as float, scale factor) exactly as the Keras layer computes them."""
    w_tf = tf.constant(w)
    wq = quantizer.quantize(w_tf).numpy()
    sf = quantizer.scale_factor(w_tf).numpy()
    return np.round(wq * sf), sf


def _block_weights(kind, layer, in_dims):
    """(variables with the weights, weight scale factor) of one block."""
    if kind == "SeparableConvolutional":
        dw, pw = layer.get_weights()[:2]
        wdw, sf_dw = _quantized_int(layer.quantizer_dw, dw)
        wpw, sf_pw = _quantized_int(layer.quantizer, pw)
        return {"weights": np.flip(wdw, axis=(0, 1)).astype(np.int8),
                "weights_pw": wpw.astype(np.int8)}, sf_dw * sf_pw
    kernel = layer.get_weights()[0]
    if kind == "FullyConnected":
        wq = layer.quantizer.quantize(tf.constant(kernel)).numpy()
        sf = layer.quantizer.scale_factor(tf.constant(kernel)).numpy()
        x, y, c = in_dims
        wq = wq.reshape(x, y, c, layer.units).transpose(2, 1, 0, 3).reshape(
            1, 1, x * y * c, layer.units)
        return {"weights": np.round(wq * sf).astype(np.int8)}, sf
    w, sf = _quantized_int(layer.quantizer, kernel)
    if kind == "Convolutional":
        w = np.flip(w, axis=(0, 1))
    return {"weights": np.ascontiguousarray(w).astype(np.int8)}, sf


def _thresholds(kind, layer, activation, gap_area, input_scaling, sf, weights):
    scale, shift = input_scaling
    n = int(layer.output_shape[-1])
    bias = np.zeros(n)
    if layer.use_bias:
        bias = layer.get_weights()[2 if kind == "SeparableConvolutional" else 1]
    act_threshold, act_step = np.zeros(n), np.ones(n)
    if activation is not None:
        act_threshold = activation.threshold.numpy() * np.ones(n)
        act_step = activation.step.numpy() * 2.0 ** activation.bitwidth / 16 * np.ones(n)
    threshold = scale * sf * (act_threshold - bias)
    step = (scale * sf * act_step).astype(np.float32)
    if kind == "InputConvolutional":
        threshold += np.sum(weights, axis=(0, 1, 2)) * shift
    threshold *= gap_area
    step *= gap_area
    return np.floor(threshold).astype(np.int32), step


# ----- block assembly -------------------------------------------------------------------------
def _dims(shape):
    """Akida (x, y, c) dims of a Keras output shape (batch first)."""
    shape = tuple(int(s) for s in shape[1:])
    return (1, 1, shape[0]) if len(shape) == 1 else shape


def _neural_params(kind, layer):
    if kind == "FullyConnected":
        return {"units": int(layer.units), "weights_bits": layer.quantizer.bitwidth}
    if kind == "SeparableConvolutional":
        if layer.quantizer_dw.bitwidth != layer.quantizer.bitwidth:
            raise ConversionError(
                f"separable layer '{layer.name}' must use the same bit width for its depthwise "
                f"({layer.quantizer_dw.bitwidth}) and pointwise ({layer.quantizer.bitwidth}) "
                "kernels")
        filters = int(layer.pointwise_kernel.shape[3])
    else:
        filters = int(layer.kernel.shape[3])
    return {"filters": filters, "kernel_width": int(layer.kernel_size[0]),
            "kernel_height": int(layer.kernel_size[1]), "stride_x": int(layer.strides[0]),
            "stride_y": int(layer.strides[1]),
            "padding": PADDING_SAME if layer.padding == "same" else PADDING_VALID,
            "weights_bits": layer.quantizer.bitwidth, "pool_type": POOL_NONE}


class _Block:
    def __init__(self, kind, layer, in_dims, input_scaling):
        self.kind, self.layer, self.in_dims = kind, layer, in_dims
        self.input_scaling = input_scaling
        self.params = _neural_params(kind, layer)
        self.activation = None
        self.gap_area = 1


def _check_weight_bits(block, first):
    bits = block.params["weights_bits"]
    allowed = range(2, 9) if first else (2, 4, 8)
    if bits not in allowed:
        raise ConversionError(
            f"layer '{block.layer.name}' has {bits}-bit weights; Akida 1.0 takes "
            f"{'2 to 8' if first else '2, 4 or 8'} bits there: re-quantize it")


def _finish(block, name_inbounds):
    params = dict(block.params)
    if block.activation is not None:
        params.update(activation=1, act_bits=block.activation.bitwidth)
    else:
        params.update(activation=0)
    variables, sf = _block_weights(block.kind, block.layer, block.in_dims)
    threshold, step = _thresholds(block.kind, block.layer, block.activation, block.gap_area,
                                  block.input_scaling, sf, variables["weights"])
    variables.update(threshold=threshold, act_step=step)
    return make_layer(block.kind, block.layer.name, params, variables, name_inbounds)


def _generate(seq, input_scaling):
    layers = list(seq.layers)
    out = []
    in_dims = _dims(seq.input_shape)
    start = 0
    block = None
    if in_dims[2] in (1, 3):
        if isinstance(layers[0], L.Rescaling):
            start = 1
        first = layers[start] if start < len(layers) else None
        if not isinstance(first, QuantizedConv2D):
            raise ConversionError(
                f"the first layer of a model with {in_dims[2]} input channel(s) must be a "
                f"quantized Conv2D (Akida 1.0 InputConvolutional); got "
                f"{type(first).__name__ if first is not None else 'nothing'}")
        block = _Block("InputConvolutional", first, in_dims, input_scaling)
        x, y, c = in_dims
        block.params.update(input_width=x, input_height=y, input_channels=c,
                            padding_value=int(input_scaling[1]))
        _check_weight_bits(block, True)
        start += 1
    else:
        x, y, c = in_dims
        out.append(make_layer("InputData", f"{seq.name}_input", {
            "input_width": x, "input_height": y, "input_channels": c, "input_bits": 8,
            "input_signed": 0}))
    for layer in layers[start:]:
        if isinstance(layer, NEURAL_LAYERS):
            kind = {QuantizedConv2D: "Convolutional", QuantizedDense: "FullyConnected",
                    QuantizedSeparableConv2D: "SeparableConvolutional"}[type(layer)]
            block = _Block(kind, layer, in_dims, input_scaling)
            _check_weight_bits(block, False)
        elif isinstance(layer, L.MaxPooling2D):
            block.params.update(
                pool_type=POOL_MAX, pooling_width=int(layer.pool_size[0]),
                pooling_height=int(layer.pool_size[1]), pooling_stride_x=int(layer.strides[0]),
                pooling_stride_y=int(layer.strides[1]))
        elif isinstance(layer, L.GlobalAveragePooling2D):
            block.params["pool_type"] = POOL_AVG
            block.gap_area = int(np.prod(layer.input_shape[1:3]))
        elif isinstance(layer, QuantizedActivation):
            block.activation = layer
            out.append(_finish(block, [out[-1].name] if out else []))
            input_scaling = (1 / layer.step.numpy(), 0)
            in_dims = _dims(layer.output_shape)
            block = None
        elif isinstance(layer, L.Rescaling):
            if input_scaling[1] != 0 or out:
                raise ConversionError(
                    f"Rescaling '{layer.name}' with an offset needs an image input (1 or 3 "
                    "channels) whose first layer is a quantized Conv2D")
        elif not isinstance(layer, _IGNORED):
            raise ConversionError(
                f"layer '{layer.name}' of type {type(layer).__name__} cannot be converted")
    if block is not None:
        out.append(_finish(block, [out[-1].name] if out else []))
    return out


def convert_legacy(keras_model, input_scaling=None) -> Model:
    """Convert a legacy CNN2SNN-quantized tf_keras model to an nsoc Akida 1.0 :class:`Model`.

    ``input_scaling=(scale, shift)`` relates the uint8 Akida input to the Keras input:
    ``akida = scale * keras + shift`` (default ``(1, 0)``); a leading Rescaling layer gives it
    instead (then ``input_scaling`` must be None).
    """
    if not isinstance(keras_model, keras.Model):
        raise ConversionError(f"expected a tf_keras model, got {type(keras_model).__name__}")
    from_rescaling = _rescaling_input_scaling(keras_model)
    if from_rescaling is not None and input_scaling is not None:
        raise ConversionError(
            f"the model starts with a Rescaling layer, which sets the input scaling; pass "
            f"input_scaling=None (got {input_scaling})")
    if input_scaling is not None:
        try:
            scale, shift = (float(v) for v in input_scaling)
        except (TypeError, ValueError):
            raise ConversionError(
                f"input_scaling must be a (scale, shift) pair of numbers; got "
                f"{input_scaling!r}") from None
        input_scaling = (scale, shift)
    input_scaling = from_rescaling or input_scaling or (1, 0)
    if input_scaling[0] <= 0:
        raise ConversionError(
            f"the input scale must be > 0; got input_scaling={input_scaling}")
    if not 0 <= input_scaling[1] <= 255:
        raise ConversionError(
            f"the input shift must be in [0, 255] (it pads the uint8 input); got "
            f"{input_scaling[1]}")
    seq = _prepare(keras_model)
    _check(seq)
    layers = _generate(seq, input_scaling)
    v1_finalize(layers)  # the one Akida 1.0 back end, shared with the quantizeml front end
    try:  # the same metadata and error wording as the quantizeml front end (core.py)
        return Model(layers, "v1", {"converter": "nsoc.converter.legacy",
                                    "source": keras_model.name})
    except NsocError as exc:
        raise ConversionError(f"the converted model is invalid: {exc}") from exc

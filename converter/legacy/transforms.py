"""Model transforms of the legacy CNN2SNN API for serial (single-branch) tf_keras models.

* :func:`sequentialize`: a ``keras.Sequential`` equivalent of a serial functional model;
* :func:`reshape`: the same model with a new input height and width;
* :func:`invert_batchnorm_pooling`, :func:`fold_batchnorm`, :func:`remove_dropout`,
  :func:`invert_activation_maxpool`: the rewrites :func:`~.quantization.quantize` and
  :func:`~.convert.convert_legacy` apply before quantizing or converting.

All transforms return new models with copied weights; the input model is left unchanged.
"""
from __future__ import annotations

import numpy as np
import tf_keras as keras

from nsoc.errors import ConversionError

from .layers import LEGACY_OBJECTS, NEURAL_LAYERS, QuantizedActivation
from .quantizers import MaxPerAxisQuantizer, StdPerAxisQuantizer

L = keras.layers
FLOAT_NEURAL = (L.Conv2D, L.SeparableConv2D, L.Dense)


def clone_layer(layer):
    """A new layer of the same class and config (weights not built)."""
    with keras.utils.custom_object_scope(LEGACY_OBJECTS):
        return type(layer).from_config(layer.get_config())


def _append(model, layer, weights=None):
    clone = clone_layer(layer)
    model.add(clone)
    clone.set_weights(layer.get_weights() if weights is None else weights)
    return clone


def _new_sequential(input_shape, name):
    model = keras.Sequential(name=name)
    model.add(keras.Input(tuple(input_shape)))
    return model


def _serial_layers(model) -> list:
    """The layers of a single-branch model in order, nested sub-models expanded."""
    if isinstance(model, keras.Sequential):
        layers = list(model.layers)
    else:
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise ConversionError(
                f"model '{model.name}' has {len(model.inputs)} inputs and {len(model.outputs)} "
                "outputs; the legacy API handles models with one input and one output")
        layers = []
        for layer in model.layers:
            if isinstance(layer, L.InputLayer):
                continue
            nodes = [n for n in layer.inbound_nodes if n.inbound_layers is not None]
            inbound = nodes[0].inbound_layers if nodes else []
            if len(layer.inbound_nodes) != 1 or isinstance(inbound, (list, tuple)) and \
                    len(inbound) != 1:
                raise ConversionError(
                    f"layer '{layer.name}' has several inbound or outbound connections; the "
                    "legacy API handles serial models only (no branches, no shared layers)")
            if len(layer.outbound_nodes) > 1:
                raise ConversionError(
                    f"layer '{layer.name}' feeds {len(layer.outbound_nodes)} layers; the legacy "
                    "API handles serial models only (no branches)")
            layers.append(layer)
    expanded = []
    for layer in layers:
        if isinstance(layer, keras.Model):
            expanded.extend(_serial_layers(layer))
        else:
            expanded.append(layer)
    return expanded


def _check_layer_formats(layers):
    for layer in layers:
        if getattr(layer, "data_format", "channels_last") == "channels_first":
            raise ConversionError(
                f"layer '{layer.name}' uses data_format='channels_first'; use channels_last")
        if tuple(getattr(layer, "dilation_rate", (1, 1))) not in ((1, 1), (1,)):
            raise ConversionError(
                f"layer '{layer.name}' has dilation_rate {layer.dilation_rate}; only 1 is "
                "supported")


def sequentialize(model) -> keras.Sequential:
    """A ``keras.Sequential`` copy (weights included) of a serial model.

    Raises :class:`nsoc.ConversionError` if the model branches, has several inputs or outputs,
    or uses channels_first or dilated layers.
    """
    layers = _serial_layers(model)
    _check_layer_formats(layers)
    if len(model.input_shape) not in (2, 4):
        raise ConversionError(
            f"model input shape {model.input_shape} is not (batch, N) or (batch, H, W, C)")
    seq = _new_sequential(model.input_shape[1:], model.name)
    for layer in layers:
        _append(seq, layer)
    return seq


def reshape(model, input_height: int, input_width: int) -> keras.Sequential:
    """The serial model with input (input_height, input_width, channels), weights copied.

    Layers whose weights depend on the spatial size (a Dense after Flatten) make the reshape
    fail with :class:`nsoc.ConversionError`.
    """
    for name, value in (("input_height", input_height), ("input_width", input_width)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ConversionError(f"{name} must be a positive integer; got {value!r}")
    if len(model.input_shape) != 4:
        raise ConversionError(
            f"reshape needs an image model (batch, H, W, C); '{model.name}' takes "
            f"{model.input_shape}")
    layers = _serial_layers(model)
    seq = _new_sequential((int(input_height), int(input_width), model.input_shape[-1]),
                          model.name)
    for layer in layers:
        try:
            _append(seq, layer)
        except ValueError as exc:
            raise ConversionError(
                f"cannot reshape '{model.name}' to {input_height}x{input_width}: layer "
                f"'{layer.name}' no longer fits its weights ({exc}); only fully convolutional "
                "layers (or a Dense after global pooling) accept a new input size") from None
    return seq


def remove_dropout(model: keras.Sequential) -> keras.Sequential:
    """The Sequential model without its Dropout layers."""
    seq = _new_sequential(model.input_shape[1:], model.name)
    for layer in model.layers:
        if not isinstance(layer, L.Dropout):
            _append(seq, layer)
    return seq


def rewrite_pairs(model: keras.Sequential, match, rewrite) -> keras.Sequential:
    """A new Sequential where every adjacent pair ``(a, b)`` with ``match(a, b)`` is replaced by
    what ``rewrite(seq, a, b)`` appends to ``seq``; other layers are copied.  Pairs do not
    overlap: after a rewrite the walk resumes after ``b``."""
    layers = list(model.layers)
    seq = _new_sequential(model.input_shape[1:], model.name)
    i = 0
    while i < len(layers):
        layer, nxt = layers[i], layers[i + 1] if i + 1 < len(layers) else None
        if nxt is not None and match(layer, nxt):
            rewrite(seq, layer, nxt)
            i += 2
        else:
            _append(seq, layer)
            i += 1
    return seq


def _activation_then_maxpool(a, b) -> bool:
    return isinstance(a, (L.ReLU, QuantizedActivation)) and isinstance(b, L.MaxPooling2D)


def _append_swapped(seq, a, b) -> None:
    _append(seq, b)
    _append(seq, a)


def invert_activation_maxpool(model: keras.Sequential) -> keras.Sequential:
    """Swap every ReLU/quantized activation followed by MaxPooling2D (both orders are equal
    for a non-decreasing activation) so that pooling comes first."""
    return rewrite_pairs(model, _activation_then_maxpool, _append_swapped)


def _bn_params(bn):
    """(gamma, beta, mean, variance) float32 arrays of a BatchNormalization layer."""
    n = int(bn.moving_mean.shape[0])
    gamma = bn.gamma.numpy() if bn.gamma is not None else np.ones(n, np.float32)
    beta = bn.beta.numpy() if bn.beta is not None else np.zeros(n, np.float32)
    return gamma, beta, bn.moving_mean.numpy(), bn.moving_variance.numpy()


def _pooling_then_batchnorm(a, b) -> bool:
    return isinstance(a, (L.MaxPooling2D, L.GlobalAveragePooling2D)) and \
        isinstance(b, L.BatchNormalization)


def _append_batchnorm_first(seq, pool, bn_layer) -> None:
    gamma = _bn_params(bn_layer)[0]
    if isinstance(pool, L.MaxPooling2D) and np.any(gamma <= 0):
        raise ConversionError(
            f"BatchNormalization '{bn_layer.name}' after max pooling '{pool.name}' has "
            f"{int(np.sum(gamma <= 0))} gamma(s) <= 0 and cannot move before the "
            "pooling; put the BatchNormalization before the pooling and retrain")
    config = bn_layer.get_config()
    config["axis"] = -1
    bn = L.BatchNormalization.from_config(config)
    seq.add(bn)
    bn.set_weights(bn_layer.get_weights())
    _append(seq, pool)


def invert_batchnorm_pooling(model: keras.Sequential) -> keras.Sequential:
    """Move each BatchNormalization that follows MaxPooling2D/GlobalAveragePooling2D before it.

    Exact for global average pooling; for max pooling only when every gamma is > 0 (else
    :class:`nsoc.ConversionError`).
    """
    return rewrite_pairs(model, _pooling_then_batchnorm, _append_batchnorm_first)


def _check_bn_axis(bn):
    axis = list(bn.axis) if isinstance(bn.axis, (list, tuple)) else [bn.axis]
    rank = len(bn.input_shape)
    if len(axis) != 1 or axis[0] not in (-1, rank - 1):
        raise ConversionError(
            f"BatchNormalization '{bn.name}' normalises axis {bn.axis}; only the last (channel) "
            "axis can be folded")


def _neural_then_batchnorm(a, b) -> bool:
    return isinstance(a, FLOAT_NEURAL) and isinstance(b, L.BatchNormalization)


def _append_folded(seq, layer, bn) -> None:
    _check_bn_axis(bn)
    if isinstance(layer, NEURAL_LAYERS) and not isinstance(
            layer.quantizer, (MaxPerAxisQuantizer, StdPerAxisQuantizer)):
        raise ConversionError(
            f"BatchNormalization '{bn.name}' can only be folded into '{layer.name}' if "
            "its quantizer is per axis (MaxPerAxisQuantizer or StdPerAxisQuantizer)")
    gamma, beta, mean, var = _bn_params(bn)
    scale = gamma / np.sqrt(var + bn.epsilon)
    if np.any(scale == 0):
        raise ConversionError(
            f"BatchNormalization '{bn.name}' has {int(np.sum(scale == 0))} zero "
            "gamma(s): folding would zero those filters; remove them or retrain")
    weights = layer.get_weights()
    k = 1 if isinstance(layer, L.SeparableConv2D) else 0
    bias = weights[k + 1] if layer.use_bias else 0
    weights[k] = weights[k] * scale
    new_bias = beta + (bias - mean) * scale
    if layer.use_bias:
        weights[k + 1] = new_bias
    else:
        weights.insert(k + 1, new_bias)
    config = layer.get_config()
    config["use_bias"] = True
    with keras.utils.custom_object_scope(LEGACY_OBJECTS):
        folded = type(layer).from_config(config)
    seq.add(folded)
    folded.set_weights(weights)


def fold_batchnorm(model: keras.Sequential) -> keras.Sequential:
    """Fold each BatchNormalization that directly follows a Conv2D/SeparableConv2D/Dense (float
    or quantized) into that layer's kernel and bias (float32 arithmetic).

    ``scale = gamma / sqrt(var + eps)``, ``kernel' = kernel * scale``,
    ``bias' = beta + (bias - mean) * scale``.  A quantized layer must quantize per axis.
    """
    return rewrite_pairs(model, _neural_then_batchnorm, _append_folded)

"""Legacy CNN2SNN quantization: ``quantize``, ``quantize_layer``, ``load_quantized_model``.

Deprecated upstream in favour of QuantizeML, kept for Akida 1.0 models.  Neural layers (Conv2D,
SeparableConv2D, Dense) become :class:`QuantizedConv2D`, :class:`QuantizedSeparableConv2D`,
:class:`QuantizedDense` with a :class:`MaxPerAxisQuantizer` (a :class:`MaxQuantizer` for the
depthwise kernel) unless ``quantizer_function`` picks another; ReLUs become
:class:`QuantizedReLU` with the ReLU's ``max_value``.  0 bits leaves a layer float.
"""
from __future__ import annotations

import os

import tf_keras as keras

from nsoc.errors import ConversionError

from .layers import (
    LEGACY_OBJECTS,
    NEURAL_LAYERS,
    ActivationDiscreteRelu,
    QuantizedActivation,
    QuantizedConv2D,
    QuantizedDense,
    QuantizedReLU,
    QuantizedSeparableConv2D,
)
from .quantizers import MaxPerAxisQuantizer, MaxQuantizer
from .transforms import fold_batchnorm, invert_batchnorm_pooling, sequentialize

L = keras.layers
_NEURAL = (L.Conv2D, L.SeparableConv2D, L.Dense)


def _check_bits(name, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, int) or not (value == 0 or lo <= value
                                                                     <= hi):
        raise ConversionError(
            f"{name} must be 0 (keep float) or an integer in [{lo}, {hi}]; got {value!r}")


def _quantized_neural(layer, bitwidth, quantizer_function=None):
    """The quantized version of a (float or quantized) neural layer, or a float clone for 0."""
    config = layer.get_config()
    if bitwidth == 0:
        if isinstance(layer, NEURAL_LAYERS):
            raise ConversionError(
                f"layer '{layer.name}' is already quantized and cannot return to float "
                "(bitwidth 0); start again from the float model")
        return type(layer).from_config(config)
    if "quantizer" in config:
        config["quantizer"]["config"]["bitwidth"] = bitwidth
    else:
        quantizer = MaxPerAxisQuantizer(bitwidth=bitwidth)
        config["quantizer"] = quantizer_function(layer, quantizer) if quantizer_function \
            else quantizer
    if isinstance(layer, L.SeparableConv2D):
        if "quantizer_dw" in config:
            config["quantizer_dw"]["config"]["bitwidth"] = bitwidth
        else:
            quantizer = MaxQuantizer(bitwidth=bitwidth)
            config["quantizer_dw"] = quantizer_function(layer, quantizer) \
                if quantizer_function else quantizer
        cls = QuantizedSeparableConv2D
    elif isinstance(layer, L.Conv2D):
        cls = QuantizedConv2D
    else:
        cls = QuantizedDense
    return cls.from_config(config)


def _quantized_activation(layer, bitwidth):
    """The QuantizedReLU for a ReLU or a quantized activation, or a float clone for 0."""
    if bitwidth == 0:
        if isinstance(layer, QuantizedActivation):
            raise ConversionError(
                f"activation '{layer.name}' is already quantized and cannot return to float "
                "(bitwidth 0); start again from the float model")
        return type(layer).from_config(layer.get_config())
    if isinstance(layer, L.ReLU):
        if float(layer.threshold) != 0 or float(layer.negative_slope) != 0:
            print(f"Skipping ReLU layer {layer.name}: only threshold=0 and negative_slope=0 "
                  "can be quantized")
            return type(layer).from_config(layer.get_config())
        max_value = None if layer.max_value is None else float(layer.max_value)
        return QuantizedReLU(bitwidth, max_value, name=layer.name)
    if isinstance(layer, ActivationDiscreteRelu):
        return QuantizedReLU(bitwidth, float(layer.step.numpy() * layer.levels), name=layer.name)
    config = layer.get_config()
    config["bitwidth"] = bitwidth
    return type(layer).from_config(config)


def _clone_with(model, replace):
    with keras.utils.custom_object_scope(LEGACY_OBJECTS):
        new_model = keras.models.clone_model(model, clone_function=replace)
    new_model.set_weights(model.get_weights())
    return new_model


def quantize(model, weight_quantization=0, activ_quantization=0, input_weight_quantization=None,
             fold_BN=True, quantizer_function=None):
    """A quantization-aware copy of ``model`` (legacy CNN2SNN API).

    Args:
        model: a tf_keras model (float, or already quantized to re-quantize it).
        weight_quantization: weight bits (2-8) of every neural layer but the first; 0: float.
        activ_quantization: activation bits (1-8) of every ReLU; 0: float.
        input_weight_quantization: weight bits of the first neural layer (None: same as
            ``weight_quantization``).
        fold_BN: fold BatchNormalization layers into the preceding neural layers (the model
            must then be serial; a BN after pooling is first moved before it).
        quantizer_function: ``f(layer, default_quantizer) -> WeightQuantizer`` to choose each
            new layer's quantizer.

    Returns:
        a new tf_keras model; train it with ``fit`` (QAT) or convert it to Akida 1.0.
    """
    if input_weight_quantization is None:
        input_weight_quantization = weight_quantization
    _check_bits("weight_quantization", weight_quantization, 2, 8)
    _check_bits("input_weight_quantization", input_weight_quantization, 2, 8)
    _check_bits("activ_quantization", activ_quantization, 1, 8)
    if fold_BN:
        model = fold_batchnorm(invert_batchnorm_pooling(sequentialize(model)))
    first = True

    def replace(layer):
        nonlocal first
        if isinstance(layer, (L.ReLU, QuantizedActivation)):
            return _quantized_activation(layer, activ_quantization)
        if type(layer) in _NEURAL + NEURAL_LAYERS:
            bits = input_weight_quantization if first else weight_quantization
            first = False
            return _quantized_neural(layer, bits, quantizer_function)
        return type(layer).from_config(layer.get_config())

    return _clone_with(model, replace)


def quantize_layer(model, target_layer, bitwidth, quantizer_function=None):
    """A copy of ``model`` where only ``target_layer`` (a layer, its index or its name) is
    quantized to ``bitwidth`` bits (> 0); a quantized layer just changes bit width."""
    if isinstance(bitwidth, bool) or not isinstance(bitwidth, int) or bitwidth <= 0:
        raise ConversionError(f"quantize_layer needs a bitwidth > 0; got {bitwidth!r}")
    if isinstance(target_layer, bool):
        target_layer = None
    try:
        if isinstance(target_layer, int):
            target = model.layers[target_layer]
        elif isinstance(target_layer, str):
            target = model.get_layer(target_layer)
        elif isinstance(target_layer, L.Layer):
            target = target_layer
        else:
            raise ConversionError(
                f"target_layer must be a layer, its index or its name; got {target_layer!r}")
    except (IndexError, ValueError):
        raise ConversionError(
            f"model '{model.name}' has no layer {target_layer!r}; layers are "
            f"{[lay.name for lay in model.layers]}") from None
    if isinstance(target, (L.ReLU, QuantizedActivation)):
        _check_bits("bitwidth", bitwidth, 1, 8)
    elif type(target) in _NEURAL + NEURAL_LAYERS:
        _check_bits("bitwidth", bitwidth, 2, 8)

    def replace(layer):
        if layer is target:
            if isinstance(layer, (L.ReLU, QuantizedActivation)):
                return _quantized_activation(layer, bitwidth)
            if type(layer) in _NEURAL + NEURAL_LAYERS:
                return _quantized_neural(layer, bitwidth, quantizer_function)
        return type(layer).from_config(layer.get_config())

    return _clone_with(model, replace)


def load_quantized_model(filepath, custom_objects=None, compile_model=True):
    """Load a tf_keras model file (``.h5`` or SavedModel) with the legacy quantized layers known.

    Files written by nsoc and by BrainChip's cnn2snn both load.  Raises
    :class:`nsoc.ConversionError` if the file is missing or not a Keras model.
    """
    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise ConversionError(f"model file not found: {path}")
    objects = {**(custom_objects or {}), **LEGACY_OBJECTS}
    try:
        return keras.models.load_model(path, custom_objects=objects, compile=compile_model)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ConversionError(f"cannot load Keras model {path}: {exc}") from None

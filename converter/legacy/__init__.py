"""Legacy CNN2SNN quantization API and its conversion to Akida 1.0 (deprecated upstream).

``quantize``/``quantize_layer``/``load_quantized_model``, the quantization-aware layers and
weight quantizers, the ``sequentialize``/``reshape`` transforms, ``bias_correction``/``adaround``
calibration and ``convert_legacy`` (Keras -> nsoc v1 Model).  TensorFlow is imported on first use
of one of these names, not when this package is imported.
"""
import importlib

_EXPORTS = {
    "quantize": "quantization", "quantize_layer": "quantization",
    "load_quantized_model": "quantization",
    "WeightQuantizer": "quantizers", "MaxQuantizer": "quantizers",
    "MaxPerAxisQuantizer": "quantizers", "StdWeightQuantizer": "quantizers",
    "StdPerAxisQuantizer": "quantizers",
    "QuantizedConv2D": "layers", "QuantizedSeparableConv2D": "layers",
    "QuantizedDense": "layers", "QuantizedReLU": "layers", "QuantizedActivation": "layers",
    "ActivationDiscreteRelu": "layers", "LEGACY_OBJECTS": "layers",
    "sequentialize": "transforms", "reshape": "transforms",
    "bias_correction": "calibrate", "adaround": "calibrate",
    "is_legacy_model": "convert", "convert_legacy": "convert",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__

"""nsoc.converter: quantizeml-quantized tf_keras models to nsoc models (Akida 2.0 and 1.0).

Same call shapes as BrainChip's cnn2snn, so user code ports by changing one import::

    from nsoc.converter import convert, set_akida_version, AkidaVersion
    model = convert(quantized_keras_model)                 # Akida 2.0 (default)
    with set_akida_version(AkidaVersion.v1):
        model_v1 = convert(quantized_keras_model)

Importing this package does not import TensorFlow; :func:`convert` does.
"""
from __future__ import annotations

import os
import warnings

from nsoc.errors import ConversionError

from .registry import supported_layers
from .version import AkidaVersion, get_akida_version, set_akida_version


def _load_keras(model):
    """A Keras model object from ``model`` (a model, or a path to an ``.h5`` saved by quantizeml,
    by nsoc's or cnn2snn's legacy ``quantize``/``reshape``/``calibrate``, or a float model)."""
    if isinstance(model, (str, os.PathLike)):
        from .loading import load_keras
        return load_keras(model)
    if not hasattr(model, "layers") or not hasattr(model, "inputs"):
        raise ConversionError(
            f"expected a tf_keras model or a .h5 path, got {type(model).__name__}")
    return model


def _is_quantizeml(model) -> bool:
    return any(type(lay).__module__.startswith("quantizeml") for lay in model.layers)


def convert(model, file_path=None, input_scaling=None):
    """Convert a quantized tf_keras model (object or ``.h5`` path) to an :class:`nsoc.Model`.

    The target is :func:`get_akida_version` (v2 unless set).  ``input_scaling`` (scale, offset)
    applies only to legacy cnn2snn-quantized models and is ignored with a warning otherwise.
    With ``file_path`` the model is also saved as ``.fbz`` (extension added when missing).
    """
    keras_model = _load_keras(model)
    if _is_quantizeml(keras_model):
        if input_scaling is not None:
            warnings.warn("input_scaling applies only to legacy cnn2snn models; it is ignored for "
                          "quantizeml models", stacklevel=2)
        from .core import convert_quantizeml
        result = convert_quantizeml(keras_model, get_akida_version())
    else:
        from . import legacy
        is_legacy = getattr(legacy, "is_legacy_model", None)
        convert_legacy = getattr(legacy, "convert_legacy", None)
        if is_legacy is None or convert_legacy is None or not is_legacy(keras_model):
            raise ConversionError(
                f"model '{keras_model.name}' holds no quantized layer; quantize it with "
                f"quantizeml.models.quantize before converting it")
        result = convert_legacy(keras_model, input_scaling)
    if file_path:
        file_path = os.fspath(file_path)
        root, ext = os.path.splitext(file_path)
        if os.path.basename(file_path) == "":
            file_path = os.path.join(file_path, keras_model.name + ".fbz")
        elif not ext:
            file_path = root + ".fbz"
        directory = os.path.dirname(file_path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        result.save(file_path)
    return result


def check_model_compatibility(model, device=None, input_dtype="uint8"):
    """Check that a float tf_keras model quantizes, converts (and maps on ``device``) for the
    current Akida version; raises ConversionError naming the failing step, layer and fix."""
    from .compat import check_model_compatibility as _check
    return _check(model, device=device, input_dtype=input_dtype)


__all__ = ["convert", "check_model_compatibility", "AkidaVersion", "get_akida_version",
           "set_akida_version", "supported_layers"]

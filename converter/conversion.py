"""convert(): a quantized tf_keras model (object or ``.h5`` path) to an nsoc model.

Dispatches to the quantizeml path (:mod:`.core`) or the legacy CNN2SNN one (:mod:`.legacy`), and
saves the result when asked.  Imports TensorFlow only when a model is converted.
"""
from __future__ import annotations

import os
import warnings

from nsoc.errors import ConversionError

from .version import get_akida_version


def as_keras_model(model):
    """A Keras model object from ``model`` (a model, or a path to an ``.h5`` saved by quantizeml,
    by nsoc's or cnn2snn's legacy ``quantize``/``reshape``/``calibrate``, or a float model)."""
    if isinstance(model, (str, os.PathLike)):
        from .loading import load_keras
        return load_keras(model)
    if not hasattr(model, "layers") or not hasattr(model, "inputs"):
        raise ConversionError(
            f"expected a tf_keras model or a .h5 path, got {type(model).__name__}")
    return model


def is_quantizeml(model) -> bool:
    """True when a layer of ``model`` is a quantizeml layer (else float or legacy CNN2SNN)."""
    return any(type(lay).__module__.startswith("quantizeml") for lay in model.layers)


def convert(model, file_path=None, input_scaling=None):
    """Convert a quantized tf_keras model (object or ``.h5`` path) to an :class:`nsoc.Model`.

    The target is :func:`get_akida_version` (v2 unless set).  ``input_scaling`` (scale, offset)
    applies only to legacy cnn2snn-quantized models and is ignored with a warning otherwise.
    With ``file_path`` the model is also saved as ``.fbz`` (extension added when missing).
    """
    keras_model = as_keras_model(model)
    if is_quantizeml(keras_model):
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

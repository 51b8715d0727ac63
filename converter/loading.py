"""Loading a Keras ``.h5`` model whatever quantized it: float, quantizeml, or the legacy CNN2SNN
API (``nsoc quantize`` / ``reshape`` / ``calibrate``, or BrainChip's ``cnn2snn quantize``).

quantizeml and the legacy API both name their layers ``QuantizedConv2D``, ``QuantizedReLU``,
``QuantizedDense``; quantizeml registers its classes as ``Custom>Name`` while legacy files store
the bare name.  :func:`keras_family` reads the file's model config (JSON in the HDF5 attributes,
no TensorFlow) to pick the loader.
"""
from __future__ import annotations

import json
import os

from nsoc.errors import ConversionError

LEGACY_CLASS_NAMES = frozenset({
    "QuantizedConv2D", "QuantizedSeparableConv2D", "QuantizedDense", "QuantizedReLU",
    "QuantizedActivation", "ActivationDiscreteRelu"})
QUANTIZEML_PREFIX = "Custom>"


def _layer_class_names(config):
    """Every ``class_name`` in a (possibly nested) Keras model config."""
    if isinstance(config, dict):
        name = config.get("class_name")
        if isinstance(name, str):
            yield name
        for value in config.values():
            yield from _layer_class_names(value)
    elif isinstance(config, list):
        for value in config:
            yield from _layer_class_names(value)


def model_config(path: str) -> dict | None:
    """The model config stored in a Keras ``.h5`` file, or None if it holds none."""
    import h5py
    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
    except OSError as exc:
        raise ConversionError(f"cannot read '{path}' as a Keras .h5 file: {exc}") from None
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    try:
        return json.loads(raw)
    except ValueError:
        return None


def keras_family(path: str) -> str:
    """``"legacy"`` (CNN2SNN quantized layers), ``"quantizeml"`` or ``"keras"`` (float) for an
    ``.h5`` file; ``"keras"`` when the file holds no readable config."""
    config = model_config(path)
    if config is None:
        return "keras"
    names = set(_layer_class_names(config))
    if names & LEGACY_CLASS_NAMES:
        return "legacy"
    if any(n.startswith(QUANTIZEML_PREFIX) for n in names):
        return "quantizeml"
    return "keras"


def check_keras_path(path) -> str:
    """The path as a string, if it names an existing ``.h5``/``.keras`` file (else a one-line
    ConversionError with the fix)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ConversionError(f"model file not found: {path}")
    if not path.endswith((".h5", ".keras")):
        raise ConversionError(f"'{path}' is not a Keras .h5 model; save it with "
                              f"quantizeml.save_model or model.save('model.h5')")
    return path


def load_keras(path):
    """A tf_keras model from an ``.h5`` file: float, quantizeml-quantized or legacy-quantized."""
    path = check_keras_path(path)
    family = keras_family(path) if path.endswith(".h5") else "quantizeml"
    if family == "legacy":
        from .legacy.quantization import load_quantized_model
        return load_quantized_model(path, compile_model=False)
    import quantizeml
    try:
        return quantizeml.load_model(path, compile_model=False)
    except Exception as exc:  # noqa: BLE001  (h5py/keras raise many types)
        raise ConversionError(f"cannot load Keras model '{path}': {exc}") from exc

"""nsoc.converter: quantizeml-quantized tf_keras models to nsoc models (Akida 2.0 and 1.0).

Same call shapes as BrainChip's cnn2snn, so user code ports by changing one import::

    from nsoc.converter import convert, set_akida_version, AkidaVersion
    model = convert(quantized_keras_model)                 # Akida 2.0 (default)
    with set_akida_version(AkidaVersion.v1):
        model_v1 = convert(quantized_keras_model)

Importing this package does not import TensorFlow; :func:`convert` does.
"""
from __future__ import annotations

from . import handlers  # noqa: F401  (the block handlers register themselves)
from .conversion import convert
from .registry import supported_layers
from .version import AkidaVersion, get_akida_version, set_akida_version


def check_model_compatibility(model, device=None, input_dtype="uint8"):
    """Check that a float tf_keras model quantizes, converts (and maps on ``device``) for the
    current Akida version; raises ConversionError naming the failing step, layer and fix."""
    from .compat import check_model_compatibility as _check
    return _check(model, device=device, input_dtype=input_dtype)


__all__ = ["convert", "check_model_compatibility", "AkidaVersion", "get_akida_version",
           "set_akida_version", "supported_layers"]

"""nsoc: an open, hardware-accurate simulator of BrainChip's Akida neuromorphic SoC.

``import nsoc`` never imports TensorFlow; the Keras front end lives in :mod:`nsoc.converter`.
"""
from .errors import (
                     ConversionError,
                     InputError,
                     MappingError,
                     ModelFormatError,
                     ModelValidationError,
                     NsocError,
)
from .interop import from_akida, load_any
from .layers import LAYER_TYPES, Layer, make_layer
from .model import Model, load
from .version import __version__

__all__ = ["__version__", "Model", "load", "load_any", "from_akida", "Layer", "make_layer",
           "LAYER_TYPES", "NsocError", "ModelFormatError", "ModelValidationError", "InputError",
           "MappingError", "ConversionError"]

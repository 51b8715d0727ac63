"""Exceptions raised by nsoc.

Every error a user can cause derives from :class:`NsocError`; the CLI prints its message on one
line and exits with status 2.
"""


class NsocError(Exception):
    """Base class of every error nsoc reports to a user."""


class ModelFormatError(NsocError):
    """A model file is not a valid nsoc ``.fbz`` (truncated, corrupted, foreign or too large)."""


class ModelValidationError(NsocError):
    """A model's layers, parameters, variables or graph are inconsistent."""


class InputError(NsocError):
    """Input data has the wrong rank, shape, dtype or value range for the model."""


class MappingError(NsocError):
    """A model cannot be mapped onto a device (hardware limit, version mismatch, no room)."""


class ConversionError(NsocError):
    """A Keras model cannot be converted (unsupported layer, pattern or quantization)."""

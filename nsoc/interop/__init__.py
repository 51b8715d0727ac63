"""Interoperability with BrainChip's Akida toolchain (optional extra ``nsoc[akida]``).

``from_akida`` / ``to_akida`` / ``save_akida`` live in :mod:`nsoc.interop.akida`, which imports
``akida`` only when called.  :func:`load_any` is the one entry point the commands use to open a
model file: an nsoc ``.fbz``, or a BrainChip ``.fbz`` when akida is installed.
"""
from __future__ import annotations

import os

from ..errors import ModelFormatError
from .akida import (
    AkidaUnavailableError,
    akida_available,
    from_akida,
    require_akida,
    save_akida,
    to_akida,
)


def load_any(path):
    """An :class:`nsoc.Model` from an nsoc ``.fbz`` or, when BrainChip's akida package is
    installed, from a BrainChip ``.fbz`` (imported with :func:`from_akida`).

    A file that is neither raises nsoc's ModelFormatError unchanged (the same message as
    :func:`nsoc.load` when akida is not installed).
    """
    from ..model import load
    try:
        return load(path)
    except ModelFormatError as nsoc_error:
        if not akida_available() or not os.path.isfile(os.fspath(path)):
            raise
        try:
            return from_akida(path)
        except ModelFormatError:
            raise nsoc_error from None


__all__ = ["load_any", "from_akida", "to_akida", "save_akida", "require_akida",
           "akida_available", "AkidaUnavailableError"]

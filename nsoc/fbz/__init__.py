"""nsoc's ``.fbz`` model file: a checked container (:mod:`.container`) around a FlatBuffer of
schema ``nsoc.fbs`` (:mod:`.codec`, generated code in :mod:`.generated`).

Loading treats the file as untrusted input: every defect (truncation, corruption, a foreign or
newer file, sizes out of bounds, an invalid model) raises exactly
:class:`nsoc.errors.ModelFormatError`, without a large allocation or a hang.
"""
from __future__ import annotations

import os

from ..errors import ModelFormatError
from ..fileio import write_atomic
from . import codec, container

MAX_FILE_SIZE = 1 << 30  # bytes (1 GiB): default cap on the size of a file to load


def model_to_bytes(model, compress: bool = True) -> bytes:
    """The ``.fbz`` bytes of an :class:`nsoc.Model` (zlib-compressed unless ``compress=False``)."""
    from .. import __version__
    return container.pack(codec.encode(model.to_doc(), __version__), compress=compress)


def read_doc(data: bytes, max_uncompressed: int = container.MAX_UNCOMPRESSED) -> dict:
    """The checked ``Model.to_doc()``-style dict in ``.fbz`` bytes, plus ``nsoc_version`` and
    ``schema_version``; does not build the model."""
    return codec.decode(container.unpack(bytes(data), max_uncompressed))


def model_from_bytes(data: bytes, max_uncompressed: int = container.MAX_UNCOMPRESSED):
    """The :class:`nsoc.Model` in ``.fbz`` bytes; raises ModelFormatError on any defect."""
    from ..model import Model
    doc = read_doc(data, max_uncompressed)
    try:
        return Model.from_doc(doc)
    except Exception as exc:  # the IR's validation, or a type it trips on
        raise ModelFormatError(f"the file holds an invalid nsoc model: {exc}") from exc


def load_model(path, max_file_size: int = MAX_FILE_SIZE,
               max_uncompressed: int = container.MAX_UNCOMPRESSED):
    """Load an nsoc ``.fbz`` file written by :func:`save_model`.

    A missing file raises FileNotFoundError; a file above ``max_file_size`` bytes and every
    defect of its content raise ModelFormatError.
    """
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > max_file_size:
            raise ModelFormatError(
                f"{os.fspath(path)}: {size} bytes is above the {max_file_size}-byte limit for "
                f"model files (pass max_file_size to load a bigger one)")
        data = f.read(max_file_size + 1)
    if len(data) > max_file_size:  # the file grew while being read
        raise ModelFormatError(f"{os.fspath(path)}: file is above the {max_file_size}-byte limit")
    try:
        return model_from_bytes(data, max_uncompressed)
    except ModelFormatError as exc:
        raise ModelFormatError(f"{os.fspath(path)}: {exc}") from exc


def save_model(model, path) -> None:
    """Write ``model`` to ``path`` atomically (:func:`nsoc.fileio.write_atomic`): on failure
    ``path`` is left untouched and no partial file remains."""
    write_atomic(path, model_to_bytes(model))


__all__ = ["save_model", "load_model", "model_to_bytes", "model_from_bytes", "read_doc",
           "MAX_FILE_SIZE", "ModelFormatError"]

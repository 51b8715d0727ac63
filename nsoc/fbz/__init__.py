"""nsoc's ``.fbz`` model file: a checked container (:mod:`.container`) around a FlatBuffer of
schema ``nsoc.fbs`` (:mod:`.codec`, generated code in :mod:`.generated`).

This package reads and writes *documents* (the plain dict of :meth:`nsoc.Model.to_doc`: version,
metadata, layers with their parameters, inbounds and variable arrays); it never builds a model.
:func:`nsoc.load` (in :mod:`nsoc.model`) builds the :class:`nsoc.Model` from a document, so the
arrow points one way: ``nsoc.model -> nsoc.fbz``.

Loading treats the file as untrusted input: every defect (truncation, corruption, a foreign or
newer file, sizes out of bounds) raises exactly :class:`nsoc.errors.ModelFormatError`, without a
large allocation or a hang; :func:`nsoc.load` adds the model's own validation.
"""
from __future__ import annotations

import os

from ..errors import ModelFormatError
from ..fileio import write_atomic
from ..version import __version__
from . import codec, container

MAX_FILE_SIZE = 1 << 30  # bytes (1 GiB): default cap on the size of a file to load
MAX_UNCOMPRESSED = container.MAX_UNCOMPRESSED


def doc_to_bytes(doc: dict, compress: bool = True) -> bytes:
    """The ``.fbz`` bytes of a model document (zlib-compressed unless ``compress=False``)."""
    return container.pack(codec.encode(doc, __version__), compress=compress)


def read_doc(data: bytes, max_uncompressed: int = MAX_UNCOMPRESSED) -> dict:
    """The checked document in ``.fbz`` bytes, plus ``nsoc_version`` and ``schema_version``."""
    return codec.decode(container.unpack(bytes(data), max_uncompressed))


def read_file(path, max_file_size: int = MAX_FILE_SIZE) -> bytes:
    """The bytes of a model file, refusing one above ``max_file_size`` (ModelFormatError);
    a missing file raises FileNotFoundError."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > max_file_size:
            raise ModelFormatError(
                f"{os.fspath(path)}: {size} bytes is above the {max_file_size}-byte limit for "
                f"model files (pass max_file_size to load a bigger one)")
        data = f.read(max_file_size + 1)
    if len(data) > max_file_size:  # the file grew while being read
        raise ModelFormatError(f"{os.fspath(path)}: file is above the {max_file_size}-byte limit")
    return data


def load_doc(path, max_file_size: int = MAX_FILE_SIZE,
             max_uncompressed: int = MAX_UNCOMPRESSED) -> dict:
    """The checked document of an ``.fbz`` file (errors name the file)."""
    data = read_file(path, max_file_size)
    try:
        return read_doc(data, max_uncompressed)
    except ModelFormatError as exc:
        raise ModelFormatError(f"{os.fspath(path)}: {exc}") from exc


def save_doc(doc: dict, path) -> None:
    """Write a document to ``path`` atomically (:func:`nsoc.fileio.write_atomic`): on failure
    ``path`` is left untouched and no partial file remains."""
    write_atomic(path, doc_to_bytes(doc))


__all__ = ["doc_to_bytes", "read_doc", "read_file", "load_doc", "save_doc", "MAX_FILE_SIZE",
           "MAX_UNCOMPRESSED", "ModelFormatError"]

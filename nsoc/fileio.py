"""Atomic file output: the one way nsoc writes a file the user keeps.

A result is written to a temporary file in the destination's directory, flushed to disk, given
the permissions a plain ``open`` would give (``0o666 & ~umask``), then moved over the destination
with ``os.replace``.  On any failure the destination is untouched and no temporary file remains.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path, suffix: str = "") -> Iterator[str]:
    """Yield a temporary path beside ``path``; when the block succeeds it replaces ``path``.

    ``suffix`` keeps writers that append an extension happy (``np.save`` adds ``.npy``).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=f".tmp{suffix}",
                               dir=directory)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_atomic(path, data: bytes | str, encoding: str = "utf-8") -> None:
    """Write ``data`` (bytes, or text in ``encoding`` with newlines kept as given) to ``path``."""
    with atomic_path(path) as tmp:
        if isinstance(data, str):
            with open(tmp, "w", encoding=encoding, newline="") as f:
                f.write(data)
        else:
            with open(tmp, "wb") as f:
                f.write(data)


def save_npy_atomic(path, array) -> None:
    """``np.save(path, array)`` atomically (``path`` is used as given, no ``.npy`` added)."""
    import numpy as np
    with atomic_path(path, suffix=".npy") as tmp:
        np.save(tmp, array)


__all__ = ["atomic_path", "write_atomic", "save_npy_atomic"]

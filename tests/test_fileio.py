"""nsoc.fileio: atomic writes keep the old file on failure and leave no temporary file."""
import os
import stat

import numpy as np
import pytest

from nsoc.fileio import atomic_path, save_npy_atomic, write_atomic


def test_write_replaces_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    write_atomic(target, "new\r\nline")
    assert target.read_bytes() == b"new\r\nline"          # newlines kept as given
    write_atomic(target, b"\x00bytes")
    assert target.read_bytes() == b"\x00bytes"
    assert sorted(os.listdir(tmp_path)) == ["out.txt"]


def test_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "keep.bin"
    target.write_bytes(b"precious")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        with open(tmp, "wb") as f:
            f.write(b"partial")
        raise RuntimeError("writer failed")
    assert target.read_bytes() == b"precious"
    assert sorted(os.listdir(tmp_path)) == ["keep.bin"]


def test_permissions_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "f", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "f").st_mode) == 0o640


def test_npy_keeps_the_given_name(tmp_path):
    target = tmp_path / "outputs.data"
    save_npy_atomic(target, np.arange(5, dtype=np.int16))
    np.testing.assert_array_equal(np.load(target), np.arange(5, dtype=np.int16))
    assert sorted(os.listdir(tmp_path)) == ["outputs.data"]

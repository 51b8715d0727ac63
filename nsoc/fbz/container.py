"""The ``.fbz`` container: a fixed header, then the zlib-compressed FlatBuffer.

Layout (all integers little-endian)::

    offset  size  field
    0       8     magic b"NSOCFBZ\\0"
    8       2     container version (u16), currently 1; readers refuse a newer one
    10      2     flags (u16): bit 0 set = payload is a zlib stream, clear = raw FlatBuffer;
                  other bits are reserved and must be 0
    12      8     uncompressed length of the FlatBuffer in bytes (u64)
    20      4     CRC-32 (zlib.crc32) of the uncompressed FlatBuffer (u32)
    24      ...   payload: the zlib stream (or the raw FlatBuffer), nothing after it

Reading treats the bytes as untrusted: the declared length is capped (``max_uncompressed``,
2 GiB by default, and at most 1100x the compressed size, above zlib's ~1032x maximum ratio);
decompression is bounded by the declared length and must end exactly there with nothing
left over; the CRC must match.  Every defect raises :class:`~nsoc.errors.ModelFormatError`.

A BrainChip Akida ``.fbz`` (one raw Snappy block, no magic) is recognised and refused with a
message pointing to ``nsoc convert``; it is recognised, never decompressed or parsed.
"""
from __future__ import annotations

import struct
import zlib

from ..errors import ModelFormatError

MAGIC = b"NSOCFBZ\0"
CONTAINER_VERSION = 1
FLAG_ZLIB = 0x0001
KNOWN_FLAGS = FLAG_ZLIB
HEADER = struct.Struct("<8sHHQI")  # magic, version, flags, uncompressed length, crc32
HEADER_SIZE = HEADER.size  # 24 bytes
MAX_UNCOMPRESSED = 2 << 30  # bytes (2 GiB)
MAX_RATIO = 1100  # uncompressed / compressed
MIN_FLATBUFFER = 12  # root offset, identifier, smallest table

AKIDA_HINT = (
    "this looks like a BrainChip Akida model file (a Snappy-compressed Akida FlatBuffer); "
    "nsoc reads its own .fbz files, made by `nsoc convert` or Model.save(); import a BrainChip "
    "model by re-converting its quantized Keras model with `nsoc convert`")


def pack(flatbuffer: bytes, compress: bool = True, level: int = 6) -> bytes:
    """Container bytes holding ``flatbuffer`` (zlib ``level`` 0-9 when ``compress``)."""
    if len(flatbuffer) > MAX_UNCOMPRESSED:
        raise ModelFormatError(
            f"cannot save: the model is {len(flatbuffer)} bytes, the .fbz format holds at most "
            f"{MAX_UNCOMPRESSED} bytes")
    payload = zlib.compress(flatbuffer, level) if compress else flatbuffer
    header = HEADER.pack(MAGIC, CONTAINER_VERSION, FLAG_ZLIB if compress else 0,
                         len(flatbuffer), zlib.crc32(flatbuffer))
    return header + payload


def _snappy_varint(data: bytes):
    """(value, length) of the leading Snappy varint (at most 5 bytes, < 2**32), or None."""
    value = 0
    for i in range(min(5, len(data))):
        value |= (data[i] & 0x7F) << (7 * i)
        if not data[i] & 0x80:
            return (value, i + 1) if value < 2**32 else None
    return None


def looks_like_akida(data: bytes, max_elements: int = 10000) -> bool:
    """Whether ``data`` looks like a BrainChip Akida ``.fbz`` (one raw Snappy block).

    Recognition only, nothing is decompressed: a Snappy varint ``n`` (the uncompressed length),
    a file no bigger than Akida's zero padding ``32 + n + n // 6``, and a well-formed stream of
    Snappy elements (literals within the file, copies reaching back only into output already
    produced) for the first ``max_elements`` elements; a stream that ends must produce exactly
    ``n`` bytes and be followed by zero padding only.
    """
    if data[:len(MAGIC)] == MAGIC:
        return False
    head = _snappy_varint(data)
    if head is None:
        return False
    n, pos = head
    size = len(data)
    if n < 64 or size > 32 + n + n // 6 or 32 * size < n:
        return False
    produced = 0
    for _ in range(max_elements):
        if produced == n:
            return data.count(0, pos) == size - pos  # only padding after the block
        if pos >= size:
            return False
        tag = data[pos]
        kind, upper = tag & 0x03, tag >> 2
        if kind == 0:  # literal: length - 1 in the tag, or in 1-4 following bytes
            extra = upper - 59 if upper >= 60 else 0
            length = (int.from_bytes(data[pos + 1:pos + 1 + extra], "little") if extra
                      else upper) + 1
            pos += 1 + extra + length
            if pos > size:
                return False
        else:  # copy of `length` bytes from `offset` bytes back
            if kind == 1:
                length, offset, width = 4 + (upper & 0x07), ((upper >> 3) << 8), 2
                offset |= data[pos + 1] if pos + 1 < size else 0
            else:
                width = 3 if kind == 2 else 5
                length = upper + 1
                offset = int.from_bytes(data[pos + 1:pos + width], "little")
            pos += width
            if pos > size or offset == 0 or offset > produced:
                return False
        produced += length
        if produced > n:
            return False
    return True


def describe_foreign(data: bytes) -> str:
    """Error message for bytes that do not start with the nsoc magic."""
    if not data:
        return "not an nsoc model file: the file is empty"
    if looks_like_akida(data):
        return AKIDA_HINT
    if MAGIC.startswith(data[:len(MAGIC)]):
        return (f"truncated nsoc model file: {len(data)} bytes, the header alone is "
                f"{HEADER_SIZE} bytes")
    return (f"not an nsoc model file (bad magic {bytes(data[:8])!r}, expected {MAGIC!r}); "
            f"nsoc reads the .fbz files made by `nsoc convert` or Model.save()")


def unpack(data: bytes, max_uncompressed: int = MAX_UNCOMPRESSED) -> bytes:
    """The FlatBuffer inside container ``data``, checked (see the module docstring)."""
    if len(data) < HEADER_SIZE or data[:len(MAGIC)] != MAGIC:
        raise ModelFormatError(describe_foreign(data))
    _, version, flags, length, crc = HEADER.unpack_from(data, 0)
    if version == 0 or version > CONTAINER_VERSION:
        raise ModelFormatError(
            f"nsoc model container version {version} is not supported (this nsoc reads "
            f"version {CONTAINER_VERSION}); " + ("upgrade nsoc to load it" if version else
                                                 "the file is corrupted"))
    if flags & ~KNOWN_FLAGS:
        raise ModelFormatError(
            f"corrupted nsoc model file: unknown container flags 0x{flags:04x}")
    payload = memoryview(data)[HEADER_SIZE:]
    if length < MIN_FLATBUFFER:
        raise ModelFormatError(
            f"corrupted nsoc model file: declared model size {length} bytes is too small")
    cap = min(max_uncompressed, MAX_RATIO * len(payload)) if flags & FLAG_ZLIB else len(payload)
    if length > cap:
        raise ModelFormatError(
            f"corrupted or truncated nsoc model file: it declares a {length}-byte model but "
            f"{len(payload)} bytes of payload can hold at most {cap} bytes")
    if flags & FLAG_ZLIB:
        buf = _inflate(payload, length)
    else:
        if length != len(payload):
            raise ModelFormatError(
                f"corrupted nsoc model file: raw payload is {len(payload)} bytes, "
                f"header says {length}")
        buf = bytes(payload)
    if zlib.crc32(buf) != crc:
        raise ModelFormatError(
            "corrupted nsoc model file: CRC-32 mismatch (the file was damaged or modified)")
    return buf


def _inflate(payload, length: int) -> bytes:
    """Decompress exactly ``length`` bytes; the stream must end there with nothing after it."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(payload, length)
        if not inflater.eof:
            # Only the stream's end (adler-32) may remain: any further byte of output is too much.
            if inflater.decompress(inflater.unconsumed_tail, 1):
                raise ModelFormatError(
                    f"corrupted nsoc model file: the data decompresses to more than the "
                    f"declared {length} bytes")
    except zlib.error as exc:
        raise ModelFormatError(f"corrupted nsoc model file: bad zlib stream ({exc})") from None
    if not inflater.eof:
        raise ModelFormatError(
            "truncated nsoc model file: the compressed data ends before the end of its stream")
    if inflater.unused_data:
        raise ModelFormatError(
            f"corrupted nsoc model file: {len(inflater.unused_data)} unexpected bytes after "
            f"the compressed data")
    if len(out) != length:
        raise ModelFormatError(
            f"corrupted nsoc model file: the data decompresses to {len(out)} bytes, header "
            f"says {length}")
    return out

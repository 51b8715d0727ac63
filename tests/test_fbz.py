"""The nsoc .fbz model file: round trips, and every kind of damaged or foreign file."""
import os
import struct
import time
import tracemalloc
import zlib

import flatbuffers
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nsoc
from nsoc.errors import ModelFormatError
from nsoc.fbz import codec, container
from nsoc.fbz.generated import nsoc_generated as G
from nsoc.model import load_model, model_from_bytes, model_to_bytes, save_model
from nsoc.testing import random_v1_model, random_v2_model

MB = 1 << 20


@pytest.fixture(scope="module")
def v2_model():
    return random_v2_model(
        [("input_conv", dict(filters=8, kernel_size=3, stride=2)), ("dw", dict(kernel_size=3)),
         ("conv", dict(filters=8, kernel_size=1)), ("add", {}), ("concat", {}),
         ("conv", dict(filters=16, kernel_size=3, pool="max")), ("dense", dict(units=10))],
        input_shape=(32, 32, 3), seed=3)


@pytest.fixture(scope="module")
def v1_model():
    return random_v1_model([("input_conv", dict(filters=8, kernel_size=3)),
                            ("sep", dict(filters=16, pool="max")), ("conv", dict(filters=8)),
                            ("dense", dict(units=5))], (16, 16, 2), seed=4)


@pytest.fixture(scope="module")
def small_model():
    return random_v2_model([("input_conv", dict(filters=4, kernel_size=3, stride=2)),
                            ("conv", dict(filters=4, kernel_size=1)), ("dense", dict(units=3))],
                           input_shape=(8, 8, 1), seed=5)


@pytest.fixture(scope="module")
def small_fb(small_model):
    return codec.encode(small_model.to_doc(), nsoc.__version__)


def assert_same_model(a, b):
    assert b.ip_version == a.ip_version
    assert b.metadata == a.metadata
    assert [lay.name for lay in b.layers] == [lay.name for lay in a.layers]
    for la, lb in zip(a.layers, b.layers, strict=False):
        assert lb.TYPE == la.TYPE
        assert lb.params == la.params
        assert lb.inbounds == la.inbounds
        assert sorted(lb.variables) == sorted(la.variables)
        for name, va in la.variables.items():
            vb = lb.variables[name]
            assert vb.dtype == va.dtype and vb.shape == va.shape, (la.name, name)
            assert vb.tobytes() == va.tobytes(), (la.name, name)  # bit-identical
            assert vb.flags.c_contiguous and vb.flags.writeable and vb.dtype.isnative
        assert lb.input_dims == la.input_dims and lb.output_dims == la.output_dims


def cpu_seconds() -> float:
    """CPU time of this process: what loading a damaged file costs, which a loaded machine
    (the clean-clone CI shares 2 cores) does not stretch as it does wall-clock time."""
    return time.process_time()


def expect_format_error(data, match=None, max_seconds=1.0):
    """Loading ``data`` raises exactly ModelFormatError quickly; returns its message."""
    t0 = cpu_seconds()
    with pytest.raises(ModelFormatError, match=match) as info:
        model_from_bytes(data)
    assert type(info.value) is ModelFormatError
    assert cpu_seconds() - t0 < max_seconds
    return str(info.value)


def peak_alloc(fn):
    """Peak traced allocation (bytes) while calling ``fn``."""
    tracemalloc.start()
    try:
        fn()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def wrap(flatbuffer):
    """A container with a valid header and CRC around (possibly damaged) FlatBuffer bytes."""
    return container.pack(bytes(flatbuffer))


# ============================ round trips ===================================================
@pytest.mark.parametrize("which", ["v1_model", "v2_model"])
def test_round_trip_file(which, request, tmp_path):
    model = request.getfixturevalue(which)
    model.metadata["note"] = "unicode ✓, empty value below"
    model.metadata["empty"] = ""
    path = tmp_path / "model.fbz"
    model.save(path)
    loaded = nsoc.load(path)
    assert_same_model(model, loaded)
    assert os.listdir(tmp_path) == ["model.fbz"]
    # deterministic: re-saving the loaded model gives the same bytes
    assert model_to_bytes(loaded) == path.read_bytes()


def test_round_trip_uncompressed_and_doc(v2_model):
    data = model_to_bytes(v2_model, compress=False)
    assert_same_model(v2_model, model_from_bytes(data))
    doc = nsoc.fbz.read_doc(model_to_bytes(v2_model))
    assert doc["nsoc_version"] == nsoc.__version__
    assert doc["schema_version"] == (codec.SCHEMA_MAJOR, codec.SCHEMA_MINOR)


def test_container_header(v2_model):
    data = model_to_bytes(v2_model)
    magic, version, flags, length, crc = container.HEADER.unpack_from(data)
    assert magic == b"NSOCFBZ\0" and version == 1 and flags == container.FLAG_ZLIB
    fb = zlib.decompress(data[container.HEADER_SIZE:])
    assert len(fb) == length and zlib.crc32(fb) == crc
    assert fb[4:8] == b"NSOC"
    assert len(data) < len(fb)  # compressed


def test_every_dtype_round_trips():
    """The codec stores all nine dtypes little-endian, bit-identical (NaN payloads included)."""
    rng = np.random.default_rng(0)
    variables = {}
    for name in codec.DTYPE_CODES:
        dt = np.dtype(name)
        raw = rng.integers(0, 256, size=6 * dt.itemsize, dtype=np.uint8).tobytes()
        variables[name] = np.frombuffer(raw, dtype=dt).reshape(2, 3)
    variables["scalar"] = np.array(7, np.int64)
    variables["empty"] = np.zeros((0, 4), np.float32)
    doc = {"ip_version": "v2", "metadata": {}, "layers": [
        {"name": "l", "type": "T", "params": {"p": -(2**63), "q": 2**63 - 1}, "inbounds": [],
         "variables": variables}]}
    back = codec.decode(codec.encode(doc, "x"))["layers"][0]
    assert back["params"] == {"p": -(2**63), "q": 2**63 - 1}
    for name, arr in variables.items():
        got = back["variables"][name]
        assert got.dtype == arr.dtype and got.shape == arr.shape
        assert got.tobytes() == arr.tobytes()


# ============================ saving ========================================================
def test_save_is_atomic(v2_model, small_model, tmp_path, monkeypatch):
    path = tmp_path / "m.fbz"
    save_model(small_model, path)
    before = path.read_bytes()

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        save_model(v2_model, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.fbz"]


def test_save_refuses_unsupported_dtype_without_touching_file(small_model, tmp_path):
    path = tmp_path / "m.fbz"
    save_model(small_model, path)
    before = path.read_bytes()
    bad = nsoc.Model.from_doc(small_model.to_doc())
    bad.layers[-1].variables["scales"] = bad.layers[-1].variables["scales"].astype(np.float16)
    with pytest.raises(ModelFormatError, match="float16"):
        save_model(bad, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.fbz"]


def test_save_refuses_too_many_metadata_entries(small_model):
    model = nsoc.Model.from_doc(small_model.to_doc())
    model.metadata = {str(i): "" for i in range(codec.MAX_METADATA + 1)}
    with pytest.raises(ModelFormatError, match="metadata entries"):
        model_to_bytes(model)


# ============================ loading damaged files =========================================
def test_missing_file_and_size_cap(small_model, tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "absent.fbz")
    path = tmp_path / "m.fbz"
    save_model(small_model, path)
    with pytest.raises(ModelFormatError, match="limit"):
        load_model(path, max_file_size=100)
    empty = tmp_path / "empty.fbz"
    empty.write_bytes(b"")
    with pytest.raises(ModelFormatError, match="empty"):
        load_model(empty)


def test_truncation_at_every_offset(small_model):
    data = model_to_bytes(small_model)
    for cut in range(len(data)):
        expect_format_error(data[:cut])


def test_truncated_flatbuffer_with_valid_crc(small_fb):
    for cut in range(0, len(small_fb), 7):
        expect_format_error(wrap(small_fb[:cut]))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_flipped_container_bytes(small_model, data):
    blob = bytearray(model_to_bytes(small_model))
    for i in data.draw(st.lists(st.integers(0, len(blob) - 1), min_size=1, max_size=3,
                                unique=True)):
        blob[i] ^= data.draw(st.integers(1, 255))
    # A damaged file never loads as another model: the CRC or a header check catches it, or the
    # damage did not change the model (the zlib header's two compression-level bits are only a
    # hint: 78 DA and 78 9C start the same stream).
    original = container.unpack(model_to_bytes(small_model))
    t0 = cpu_seconds()
    try:
        fb = container.unpack(bytes(blob))
    except ModelFormatError as exc:
        assert type(exc) is ModelFormatError
    else:
        assert fb == original
        assert_same_model(small_model, model_from_bytes(bytes(blob)))
    assert cpu_seconds() - t0 < 1.0


def test_zlib_level_hint_flip_loads_the_same_model(small_model):
    # found by test_flipped_container_bytes: byte 25 (FLG of the zlib header) 0xDA ^ 0x46 = 0x9C
    blob = bytearray(model_to_bytes(small_model))
    assert blob[container.HEADER_SIZE] == 0x78
    for flg in (0x01, 0x5E, 0x9C, 0xDA):  # the four levels, each with a valid FCHECK
        blob[container.HEADER_SIZE + 1] = flg
        assert_same_model(small_model, model_from_bytes(bytes(blob)))
    blob[container.HEADER_SIZE + 1] = 0xDB  # FCHECK broken
    expect_format_error(bytes(blob))


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_flipped_flatbuffer_bytes_with_valid_crc(small_fb, data):
    """Damage inside a well-framed file: either a valid model or exactly ModelFormatError."""
    fb = bytearray(small_fb)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(fb) - 1))
        fb[i] = data.draw(st.integers(0, 255))
    t0 = cpu_seconds()
    try:
        model = model_from_bytes(wrap(fb))
    except ModelFormatError as exc:
        assert type(exc) is ModelFormatError
    else:
        assert isinstance(model, nsoc.Model)
    assert cpu_seconds() - t0 < 1.0


def test_bad_magic_and_unknown_file():
    msg = expect_format_error(b"PK\x03\x04" + bytes(200))
    assert "not an nsoc model file" in msg and "bad magic" in msg
    expect_format_error(b"NSOCF", match="truncated")


def test_wrong_identifier(small_fb):
    fb = bytearray(small_fb)
    fb[4:8] = b"AKDA"
    expect_format_error(wrap(fb), match="identifier")


def test_header_defects(small_model):
    data = model_to_bytes(small_model)
    magic, version, flags, length, crc = container.HEADER.unpack_from(data)
    payload = data[container.HEADER_SIZE:]

    def with_header(**kw):
        fields = dict(version=version, flags=flags, length=length, crc=crc)
        fields.update(kw)
        return container.HEADER.pack(magic, fields["version"], fields["flags"],
                                     fields["length"], fields["crc"]) + payload

    assert "upgrade nsoc" in expect_format_error(with_header(version=2))
    expect_format_error(with_header(version=0), match="not supported")
    expect_format_error(with_header(flags=0x8001), match="flags")
    expect_format_error(with_header(flags=0), match="declares")  # zlib data read as raw
    raw = model_to_bytes(small_model, compress=False)
    expect_format_error(raw + b"\0", match="raw payload")
    expect_format_error(with_header(length=length - 1), match="more than the declared")
    expect_format_error(with_header(length=length + 1), match="decompresses to")
    expect_format_error(with_header(length=3), match="too small")
    expect_format_error(with_header(crc=crc ^ 1), match="CRC")
    expect_format_error(data + b"\0", match="unexpected bytes after")


@pytest.mark.parametrize("length", [2**31, 2**40, 2**64 - 1, 5000 * 1100])
def test_huge_declared_length(small_model, length):
    data = bytearray(model_to_bytes(small_model))
    struct.pack_into("<Q", data, 12, length)
    peak = peak_alloc(lambda: expect_format_error(bytes(data), match="declares"))
    assert peak < 64 * MB


def test_zlib_bomb_is_bounded():
    """A small stream inflating to 1 GiB is stopped at the declared length."""
    bomb = zlib.compress(bytes(64 * MB), 9)
    fb_len = 1000
    data = container.HEADER.pack(container.MAGIC, 1, container.FLAG_ZLIB, fb_len, 0) + bomb
    peak = peak_alloc(lambda: expect_format_error(data, match="more than the declared"))
    assert peak < 64 * MB


def _vector_field(fb, table_pos, slot):
    """Position of the vector (its u32 length) referenced by field ``slot`` of a table."""
    tab = flatbuffers.table.Table(fb, table_pos)
    off = tab.Offset(slot)
    assert off
    return tab.Indirect(table_pos + off)


def _layer_pos(fb, i):
    model = G.Model.GetRootAs(fb, 0)
    return model.Layers(i)._tab.Pos


@pytest.mark.parametrize("where", ["layers", "metadata", "params", "data", "shape", "name"])
@pytest.mark.parametrize("value", [0x7FFFFFFF, 0xFFFFFFFF, 100000])
def test_huge_vector_lengths(small_fb, where, value):
    fb = bytearray(small_fb)
    root = G.Model.GetRootAs(bytes(fb), 0)._tab.Pos
    layer = _layer_pos(bytes(fb), 1)
    var = G.Model.GetRootAs(bytes(fb), 0).Layers(1).Variables(0)._tab.Pos
    pos = {"layers": lambda: _vector_field(bytes(fb), root, 14),
           "metadata": lambda: _vector_field(bytes(fb), root, 12),
           "params": lambda: _vector_field(bytes(fb), layer, 8),
           "data": lambda: _vector_field(bytes(fb), var, 10),
           "shape": lambda: _vector_field(bytes(fb), var, 8),
           "name": lambda: _vector_field(bytes(fb), layer, 4)}[where]()
    struct.pack_into("<I", fb, pos, value)
    data = wrap(fb)
    peak = peak_alloc(lambda: expect_format_error(data))
    assert peak < 64 * MB


def test_bad_offsets(small_fb):
    fb = bytearray(small_fb)
    struct.pack_into("<I", fb, 0, 0xFFFFFFF0)  # root offset outside the buffer
    expect_format_error(wrap(fb), match="outside")
    fb = bytearray(small_fb)
    layer = _layer_pos(bytes(fb), 0)
    struct.pack_into("<i", fb, layer, layer + 1000)  # vtable before the buffer start
    expect_format_error(wrap(fb), match="vtable")


def test_shared_objects_do_not_amplify():
    """Many layer entries pointing at one layer with a 1 MiB variable: refused, no copies."""
    b = flatbuffers.Builder(2 * MB)
    data = b.CreateNumpyVector(np.zeros(MB, np.uint8))
    shape = b.CreateNumpyVector(np.array([MB], "<u8"))
    vname, lname, ltype = b.CreateString("weights"), b.CreateString("x"), b.CreateString("T")
    G.VariableStart(b)
    G.VariableAddName(b, vname)
    G.VariableAddDtype(b, G.DType.int8)
    G.VariableAddShape(b, shape)
    G.VariableAddData(b, data)
    var = G.VariableEnd(b)
    G.LayerStartVariablesVector(b, 1)
    b.PrependUOffsetTRelative(var)
    variables = b.EndVector()
    G.LayerStart(b)
    G.LayerAddName(b, lname)
    G.LayerAddType(b, ltype)
    G.LayerAddVariables(b, variables)
    layer = G.LayerEnd(b)
    G.ModelStartLayersVector(b, 5000)
    for _ in range(5000):
        b.PrependUOffsetTRelative(layer)
    layers = b.EndVector()
    ip = b.CreateString("v2")
    G.ModelStart(b)
    G.ModelAddSchemaMajor(b, 1)
    G.ModelAddIpVersion(b, ip)
    G.ModelAddLayers(b, layers)
    b.Finish(G.ModelEnd(b), file_identifier=b"NSOC")
    blob = wrap(b.Output())
    peak = peak_alloc(lambda: expect_format_error(blob, match="overlap"))
    assert peak < 64 * MB


def test_variable_byte_length_must_match_shape(small_model):
    doc = small_model.to_doc()
    doc["layers"][1]["variables"]["weights"] = doc["layers"][1]["variables"]["weights"][..., :2]
    fb = bytearray(codec.encode(doc, "x"))
    var = G.Model.GetRootAs(bytes(fb), 0).Layers(1).Variables(0)
    assert var.Name() == b"weights"
    shape_pos = _vector_field(bytes(fb), var._tab.Pos, 8)
    dims = struct.unpack_from("<4Q", fb, shape_pos + 4)
    struct.pack_into("<Q", fb, shape_pos + 4 + 24, dims[3] * 2)  # claim twice the data
    expect_format_error(wrap(fb), match="holds .* bytes, shape")


def test_invalid_model_in_valid_file(small_model):
    doc = small_model.to_doc()
    doc["layers"][2]["params"]["filters"] = 5  # weights hold 4 filters
    msg = expect_format_error(wrap(codec.encode(doc, "x")), match="invalid nsoc model")
    assert "conv_1" in msg
    doc = small_model.to_doc()
    del doc["layers"][0]["variables"]["scales"]
    expect_format_error(wrap(codec.encode(doc, "x")), match="invalid nsoc model")


def test_newer_schema_major(small_model, monkeypatch):
    monkeypatch.setattr(codec, "SCHEMA_MAJOR", 2)
    data = model_to_bytes(small_model)
    monkeypatch.undo()
    assert "upgrade nsoc" in expect_format_error(data)
    monkeypatch.setattr(codec, "SCHEMA_MINOR", 7)  # a newer minor is still readable
    data = model_to_bytes(small_model)
    monkeypatch.undo()
    assert_same_model(small_model, model_from_bytes(data))


def _snappy_like(n, padded, seed=0):
    """A fake BrainChip .fbz: a Snappy block of ``n`` random bytes (literals of up to 256 bytes
    and 64-byte copies), then zero padding to ``32 + n + n // 6`` if ``padded``."""
    rng = np.random.default_rng(seed)
    out = bytearray()
    v = n
    while v >= 0x80:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    produced = 0
    while produced < n:
        left = n - produced
        if produced >= 64 and left >= 64 and rng.random() < 0.5:  # copy-2: 64 bytes
            out += bytes([(63 << 2) | 2]) + int(rng.integers(1, produced + 1)).to_bytes(2, "little")
            produced += 64
        else:  # literal with a 1-byte length
            length = int(min(left, rng.integers(1, 257)))
            out += bytes([60 << 2, length - 1]) + rng.integers(0, 256, length, np.uint8).tobytes()
            produced += length
    if padded:
        out += bytes(32 + n + n // 6 - len(out))
    return bytes(out)


@pytest.mark.parametrize("n,padded", [(39332, True), (39332, False), (5000, True)])
def test_brainchip_fbz_is_recognised(n, padded, tmp_path):
    data = _snappy_like(n, padded)
    assert container.looks_like_akida(data)
    msg = expect_format_error(data)
    assert "BrainChip Akida" in msg and "nsoc convert" in msg
    path = tmp_path / "akida.fbz"
    path.write_bytes(data)
    with pytest.raises(ModelFormatError, match="BrainChip"):
        load_model(path)


def test_random_bytes_are_not_brainchip():
    rng = np.random.default_rng(1)
    hits = sum(container.looks_like_akida(rng.integers(0, 256, 4096, np.uint8).tobytes())
               for _ in range(500))
    assert hits == 0
    fake = bytearray(_snappy_like(39332, padded=True))
    fake[-1] = 1  # padding must be zeros
    assert not container.looks_like_akida(bytes(fake))
    assert "bad magic" in expect_format_error(bytes(fake))

"""FlatBuffer codec of nsoc models: ``Model.to_doc()`` dict <-> ``nsoc.fbs`` FlatBuffer bytes.

The FlatBuffer is written with the flatc-generated builders of :mod:`nsoc.fbz.generated` and read
with its generated accessors, but every read goes through :class:`_CheckedTable`, which checks
each offset, string and vector against the buffer before touching it, so a corrupted or hostile
buffer raises :class:`~nsoc.errors.ModelFormatError` instead of reading garbage, silently
truncating a string, or allocating memory the buffer does not justify.

Limits (checked on write too, so nsoc never writes a file it refuses to read): see the ``MAX_*``
constants.  The total size of all strings, vectors and tables visited while reading is capped at
``2 * len(buffer)`` (a buffer written by nsoc visits each byte at most once), which bounds reading
time and memory by the buffer size even when a crafted buffer makes many offsets share one object.
"""
from __future__ import annotations

import flatbuffers
import numpy as np
from flatbuffers import number_types as N
from flatbuffers.table import Table

from ..errors import ModelFormatError
from .generated import nsoc_generated as G

#: Schema version written to every file.  Readers refuse a newer major; a newer minor only adds
#: fields an older reader ignores (see the evolution rules in nsoc.fbs).
SCHEMA_MAJOR = 1
SCHEMA_MINOR = 0
FILE_IDENTIFIER = b"NSOC"

MAX_LAYERS = 16384
MAX_PARAMS = 256          # per layer
MAX_INBOUNDS = 64         # per layer
MAX_VARIABLES = 64        # per layer
MAX_DIMS = 8              # per variable
MAX_DIM = 2**31 - 1       # per dimension
MAX_METADATA = 4096       # entries
MAX_NAME_BYTES = 4096     # layer, type, parameter, variable names and metadata keys (UTF-8)
MAX_TEXT_BYTES = 1 << 20  # metadata values and version strings (UTF-8)

_DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "float32", "float64", "int64")
DTYPE_CODES = {name: getattr(G.DType, name) for name in _DTYPES}
_CODE_DTYPES = {code: np.dtype(name) for name, code in DTYPE_CODES.items()}


def _corrupt(detail: str) -> ModelFormatError:
    return ModelFormatError(f"corrupted nsoc model file: {detail}")


# ============================ writing ========================================================
def _check_len(value: str, limit: int, what: str) -> bytes:
    if not isinstance(value, str):
        raise ModelFormatError(f"cannot save: {what} must be a string, got {value!r}")
    raw = value.encode("utf-8")
    if len(raw) > limit:
        raise ModelFormatError(
            f"cannot save: {what} is {len(raw)} bytes long, the .fbz format allows {limit}")
    return raw


def _check_count(count: int, limit: int, what: str) -> None:
    if count > limit:
        raise ModelFormatError(
            f"cannot save: {count} {what}, the .fbz format allows at most {limit}")


def _offset_vector(builder, start_vector, offsets):
    start_vector(builder, len(offsets))
    for off in reversed(offsets):
        builder.PrependUOffsetTRelative(off)
    return builder.EndVector()


def _encode_variable(b, name: str, arr, where: str):
    arr = np.asarray(arr)
    code = DTYPE_CODES.get(arr.dtype.name)
    if code is None:
        raise ModelFormatError(
            f"cannot save {where} variable '{name}': dtype {arr.dtype} is not one of the .fbz "
            f"dtypes {', '.join(_DTYPES)}; cast it first")
    _check_count(arr.ndim, MAX_DIMS, f"dimensions in {where} variable '{name}'")
    if any(d > MAX_DIM for d in arr.shape):
        raise ModelFormatError(f"cannot save {where} variable '{name}': a dimension of "
                               f"{arr.shape} exceeds {MAX_DIM}")
    data = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()
    name_off = b.CreateString(_check_len(name, MAX_NAME_BYTES, f"{where} variable name"))
    shape_off = b.CreateNumpyVector(np.asarray(arr.shape, dtype="<u8").reshape(-1))
    data_off = b.CreateNumpyVector(np.frombuffer(data, dtype=np.uint8))
    G.VariableStart(b)
    G.VariableAddName(b, name_off)
    G.VariableAddDtype(b, code)
    G.VariableAddShape(b, shape_off)
    G.VariableAddData(b, data_off)
    return G.VariableEnd(b)


def _encode_layer(b, layer: dict):
    lname = layer["name"]
    where = f"layer '{lname}'"
    params, inbounds, variables = layer["params"], layer["inbounds"], layer["variables"]
    _check_count(len(params), MAX_PARAMS, f"parameters in {where}")
    _check_count(len(inbounds), MAX_INBOUNDS, f"inbounds of {where}")
    _check_count(len(variables), MAX_VARIABLES, f"variables in {where}")
    name_off = b.CreateString(_check_len(lname, MAX_NAME_BYTES, "layer name"))
    type_off = b.CreateString(_check_len(layer["type"], MAX_NAME_BYTES, f"{where} type"))
    param_offs = []
    for key, value in params.items():
        key_off = b.CreateString(_check_len(key, MAX_NAME_BYTES, f"{where} parameter name"))
        value = int(value)
        if not -(2**63) <= value < 2**63:
            raise ModelFormatError(f"cannot save {where} parameter {key}={value}: not an int64")
        G.ParamStart(b)
        G.ParamAddName(b, key_off)
        G.ParamAddValue(b, value)
        param_offs.append(G.ParamEnd(b))
    inbound_offs = [b.CreateString(_check_len(i, MAX_NAME_BYTES, f"{where} inbound name"))
                    for i in inbounds]
    var_offs = [_encode_variable(b, k, v, where) for k, v in variables.items()]
    params_vec = _offset_vector(b, G.LayerStartParamsVector, param_offs)
    inbounds_vec = _offset_vector(b, G.LayerStartInboundsVector, inbound_offs)
    vars_vec = _offset_vector(b, G.LayerStartVariablesVector, var_offs)
    G.LayerStart(b)
    G.LayerAddName(b, name_off)
    G.LayerAddType(b, type_off)
    G.LayerAddParams(b, params_vec)
    G.LayerAddInbounds(b, inbounds_vec)
    G.LayerAddVariables(b, vars_vec)
    return G.LayerEnd(b)


def encode(doc: dict, nsoc_version: str) -> bytes:
    """FlatBuffer bytes (identifier ``NSOC``) of a ``Model.to_doc()`` dict."""
    layers, metadata = doc["layers"], doc.get("metadata", {})
    _check_count(len(layers), MAX_LAYERS, "layers")
    _check_count(len(metadata), MAX_METADATA, "metadata entries")
    size_hint = sum(np.asarray(v).nbytes for lay in layers for v in lay["variables"].values())
    b = flatbuffers.Builder(min(size_hint + 4096, 2**31 - 1))
    layer_offs = [_encode_layer(b, lay) for lay in layers]
    meta_offs = []
    for key, value in metadata.items():
        key_off = b.CreateString(_check_len(key, MAX_NAME_BYTES, "metadata key"))
        value_off = b.CreateString(_check_len(value, MAX_TEXT_BYTES, f"metadata '{key}'"))
        G.KeyValueStart(b)
        G.KeyValueAddKey(b, key_off)
        G.KeyValueAddValue(b, value_off)
        meta_offs.append(G.KeyValueEnd(b))
    version_off = b.CreateString(_check_len(nsoc_version, MAX_TEXT_BYTES, "nsoc version"))
    ip_off = b.CreateString(_check_len(doc["ip_version"], MAX_NAME_BYTES, "ip_version"))
    meta_vec = _offset_vector(b, G.ModelStartMetadataVector, meta_offs)
    layers_vec = _offset_vector(b, G.ModelStartLayersVector, layer_offs)
    G.ModelStart(b)
    G.ModelAddSchemaMajor(b, SCHEMA_MAJOR)
    G.ModelAddSchemaMinor(b, SCHEMA_MINOR)
    G.ModelAddNsocVersion(b, version_off)
    G.ModelAddIpVersion(b, ip_off)
    G.ModelAddMetadata(b, meta_vec)
    G.ModelAddLayers(b, layers_vec)
    b.Finish(G.ModelEnd(b), file_identifier=FILE_IDENTIFIER)
    return bytes(b.Output())


# ============================ reading ========================================================
class _Budget:
    """Bytes of tables, strings and vectors visited, capped at ``2 * len(buffer)``."""

    __slots__ = ("left",)

    def __init__(self, size: int):
        self.left = 2 * size

    def charge(self, nbytes: int) -> None:
        self.left -= nbytes
        if self.left < 0:
            raise _corrupt("objects overlap (the buffer references the same data many times)")


class _CheckedTable(Table):
    """A flatbuffers Table whose every primitive checks bounds before reading.

    Generated accessors only use ``Offset``, ``Indirect``, ``String``, ``VectorLen``,
    ``Vector``, ``Get`` and ``GetVectorAsNumpy``; all are overridden here.
    """

    __slots__ = ("_size", "_budget", "_vtable", "_vtsize", "_tsize")

    def __init__(self, buf: bytes, pos: int, budget: _Budget):
        size = len(buf)
        if not 0 <= pos <= size - 4:
            raise _corrupt(f"table offset {pos} is outside the {size}-byte buffer")
        super().__init__(buf, pos)
        self._size, self._budget = size, budget
        vtable = pos - N.SOffsetTFlags.py_type(
            flatbuffers.encode.Get(N.SOffsetTFlags.packer_type, buf, pos))
        if not 0 <= vtable <= size - 4:
            raise _corrupt(f"vtable of the table at {pos} is outside the buffer")
        vtsize = flatbuffers.encode.Get(N.VOffsetTFlags.packer_type, buf, vtable)
        tsize = flatbuffers.encode.Get(N.VOffsetTFlags.packer_type, buf, vtable + 2)
        if vtsize < 4 or vtsize % 2 or vtable + vtsize > size:
            raise _corrupt(f"vtable at {vtable} has an invalid size {vtsize}")
        if tsize < 4 or pos + tsize > size:
            raise _corrupt(f"table at {pos} has an invalid size {tsize}")
        budget.charge(tsize)
        self._vtable, self._vtsize, self._tsize = vtable, vtsize, tsize

    def _check(self, off: int, nbytes: int, what: str) -> None:
        if not (0 <= off and off + nbytes <= self._size):
            raise _corrupt(f"{what} at {off} (+{nbytes} bytes) is outside the "
                           f"{self._size}-byte buffer")

    def Get(self, flags, off):
        self._check(off, flags.bytewidth, "value")
        return super().Get(flags, off)

    def Offset(self, vtableOffset):
        if vtableOffset >= self._vtsize:
            return 0
        field = super().Get(N.VOffsetTFlags, self._vtable + vtableOffset)
        if field and not 4 <= field < self._tsize:
            raise _corrupt(f"field offset {field} is outside its {self._tsize}-byte table")
        return field

    def Indirect(self, off):
        target = off + self.Get(N.UOffsetTFlags, off)
        if target > self._size - 4:
            raise _corrupt(f"offset at {off} points outside the buffer")
        return target

    def String(self, off):
        start = self.Indirect(off)
        length = self.Get(N.UOffsetTFlags, start)
        self._check(start + 4, length, "string")
        self._budget.charge(4 + length)
        return bytes(self.Bytes[start + 4:start + 4 + length])

    def VectorLen(self, off):
        start = self.Indirect(self.Pos + off)
        length = self.Get(N.UOffsetTFlags, start)
        self._check(start + 4, length, "vector")  # every element is at least one byte
        self._budget.charge(4 + length)
        return length

    def Vector(self, off):
        return self.Indirect(self.Pos + off) + 4

    def GetVectorAsNumpy(self, flags, off):
        start = self.Indirect(self.Pos + off)
        length = self.Get(N.UOffsetTFlags, start)
        self._check(start + 4, length * flags.bytewidth, "vector")
        self._budget.charge(4 + length * flags.bytewidth)
        return np.frombuffer(self.Bytes, dtype=N.to_numpy_type(flags), count=length,
                             offset=start + 4)


def _checked(obj, budget: _Budget, what: str):
    """Re-home a generated object on a :class:`_CheckedTable` (validating its table)."""
    if obj is None:
        raise _corrupt(f"{what} is missing")
    obj._tab = _CheckedTable(obj._tab.Bytes, obj._tab.Pos, budget)
    return obj


def _text(raw, limit: int, what: str, required: bool = True) -> str:
    if raw is None:
        if required:
            raise _corrupt(f"{what} is missing")
        return ""
    if len(raw) > limit:
        raise _corrupt(f"{what} is {len(raw)} bytes long, at most {limit} are allowed")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _corrupt(f"{what} is not valid UTF-8") from None


def _count(n: int, limit: int, what: str) -> int:
    if n > limit:
        raise _corrupt(f"{n} {what}, at most {limit} are allowed")
    return n


def _decode_variable(var, where: str) -> tuple[str, np.ndarray]:
    name = _text(var.Name(), MAX_NAME_BYTES, f"{where} variable name")
    where = f"{where} variable '{name}'"
    dtype = _CODE_DTYPES.get(var.Dtype())
    if dtype is None:
        raise _corrupt(f"{where} has unknown dtype code {var.Dtype()}")
    if var.ShapeIsNone():
        raise _corrupt(f"{where} has no shape")
    dims = var.ShapeAsNumpy()  # a bounds-checked view of the buffer
    _count(len(dims), MAX_DIMS, f"dimensions in {where}")
    shape = tuple(int(d) for d in dims)
    if any(d > MAX_DIM for d in shape):
        raise _corrupt(f"{where} has a dimension above {MAX_DIM} in {shape}")
    expected = dtype.itemsize
    for d in shape:
        expected *= d
    raw = np.zeros(0, np.uint8) if var.DataIsNone() else var.DataAsNumpy()
    if raw.size != expected:
        raise _corrupt(f"{where} holds {raw.size} bytes, shape {shape} of {dtype} needs "
                       f"{expected}")
    # view the bytes as little-endian values, then copy to a native, writable array
    values = raw.view(dtype.newbyteorder("<")).astype(dtype)
    return name, values.reshape(shape)


def _decode_layer(layer, budget: _Budget, index: int) -> dict:
    name = _text(layer.Name(), MAX_NAME_BYTES, f"layer {index} name")
    where = f"layer {index} ('{name}')"
    type_name = _text(layer.Type(), MAX_NAME_BYTES, f"{where} type")
    params = {}
    for j in range(_count(layer.ParamsLength(), MAX_PARAMS, f"parameters in {where}")):
        p = _checked(layer.Params(j), budget, f"{where} parameter {j}")
        key = _text(p.Name(), MAX_NAME_BYTES, f"{where} parameter {j} name")
        if key in params:
            raise _corrupt(f"{where} has parameter '{key}' twice")
        params[key] = int(p.Value())
    inbounds = [_text(layer.Inbounds(j), MAX_NAME_BYTES, f"{where} inbound {j}")
                for j in range(_count(layer.InboundsLength(), MAX_INBOUNDS,
                                      f"inbounds of {where}"))]
    variables = {}
    for j in range(_count(layer.VariablesLength(), MAX_VARIABLES, f"variables in {where}")):
        key, value = _decode_variable(
            _checked(layer.Variables(j), budget, f"{where} variable {j}"), where)
        if key in variables:
            raise _corrupt(f"{where} has variable '{key}' twice")
        variables[key] = value
    return {"name": name, "type": type_name, "params": params, "inbounds": inbounds,
            "variables": variables}


def decode(buf: bytes) -> dict:
    """``Model.to_doc()``-style dict (plus ``nsoc_version``) from FlatBuffer bytes.

    Raises :class:`ModelFormatError` on any defect (only that type).
    """
    try:
        return _decode(buf)
    except ModelFormatError:
        raise
    except Exception as exc:  # any accessor failure on a malformed buffer
        raise _corrupt(f"{type(exc).__name__}: {exc}") from exc


def _decode(buf: bytes) -> dict:
    if len(buf) < 12:
        raise _corrupt(f"the FlatBuffer is only {len(buf)} bytes long")
    if not G.Model.ModelBufferHasIdentifier(buf, 0):
        raise ModelFormatError(
            f"not an nsoc model: FlatBuffer identifier is {bytes(buf[4:8])!r}, "
            f"expected {FILE_IDENTIFIER!r}")
    budget = _Budget(len(buf))
    root = G.Model()
    root.Init(buf, 0)
    root._tab = _CheckedTable(buf, root._tab.Get(N.UOffsetTFlags, 0), budget)
    major, minor = root.SchemaMajor(), root.SchemaMinor()
    if major == 0:
        raise _corrupt("the schema version is missing")
    if major > SCHEMA_MAJOR:
        raise ModelFormatError(
            f"the model file uses .fbz schema {major}.{minor}, newer than the {SCHEMA_MAJOR}."
            f"{SCHEMA_MINOR} this nsoc reads; upgrade nsoc to load it")
    nsoc_version = _text(root.NsocVersion(), MAX_TEXT_BYTES, "nsoc version", required=False)
    ip_version = _text(root.IpVersion(), MAX_NAME_BYTES, "ip_version")
    metadata = {}
    for j in range(_count(root.MetadataLength(), MAX_METADATA, "metadata entries")):
        kv = _checked(root.Metadata(j), budget, f"metadata entry {j}")
        key = _text(kv.Key(), MAX_NAME_BYTES, f"metadata key {j}")
        if key in metadata:
            raise _corrupt(f"metadata key '{key}' appears twice")
        metadata[key] = _text(kv.Value(), MAX_TEXT_BYTES, f"metadata '{key}'", required=False)
    layers = [_decode_layer(_checked(root.Layers(i), budget, f"layer {i}"), budget, i)
              for i in range(_count(root.LayersLength(), MAX_LAYERS, "layers"))]
    if not layers:
        raise _corrupt("the model has no layers")
    return {"ip_version": ip_version, "metadata": metadata, "layers": layers,
            "nsoc_version": nsoc_version, "schema_version": (major, minor)}

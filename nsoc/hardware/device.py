"""Akida devices as data: the built-in device files, their validation and custom meshes.

A device file (``nsoc/hardware/devices/<name>.json``) holds the mesh (every NP with its
``(col, row, id)`` ident and the NP types it can act as, the HRC, the DMA endpoints, skip-DMA
channels), the per-NP SRAM in bytes, free ``notes`` and a ``params`` section of timing/energy
constants (each ``{"value", "unit", "source"}``) filled by the timing model.
"""
from __future__ import annotations

import json
import math
import os
from functools import cache

from ..errors import NsocError
from .types import NP_TYPES, Device, Ident, Mesh, NPInfo, SramSize

DEVICES_DIR = os.path.join(os.path.dirname(__file__), "devices")

#: Per-NP SRAM (bytes) of each IP version: v1 2x5.25K x32b input, 7K x50b weights;
#: v2 2x8K x32b input, 4K x100b weights.
SRAM_V1 = SramSize(43008, 44800)
SRAM_V2 = SramSize(65536, 51200)
DEFAULT_SRAM = {"v1": SRAM_V1, "v2": SRAM_V2}
DEFAULT_HW_VERSION = {"v1": "BC.A1.003.006", "v2": "BC.A2.001.000"}
NPS_PER_NODE = 4
MAX_NODES = 128


class DeviceError(NsocError):
    """A device file or a custom device description is invalid, or a device name is unknown."""


# ----- loading and validation ------------------------------------------------------------
def _ident(value, where: str) -> Ident:
    if (not isinstance(value, (list, tuple)) or len(value) not in (3, 4)
            or not all(isinstance(v, int) and v >= 0 for v in value)):
        raise DeviceError(f"{where}: an ident is [col, row, id] or [col, row, id, channel] of "
                          f"non-negative integers, got {value!r}")
    return Ident(*value)


def _types(value, where: str) -> frozenset:
    if not isinstance(value, list) or not value:
        raise DeviceError(f"{where}: 'types' must be a non-empty list of {NP_TYPES}")
    bad = [t for t in value if t not in NP_TYPES]
    if bad:
        raise DeviceError(f"{where}: unknown NP type(s) {bad}; use {NP_TYPES}")
    return frozenset(value)


def device_from_dict(doc: dict, source: str = "<dict>") -> Device:
    """Build and validate a :class:`Device` from a device-file document."""
    if not isinstance(doc, dict):
        raise DeviceError(f"{source}: a device file is a JSON object")
    required = ("name", "ip_version", "hw_version", "dma_event", "dma_conf", "np_sram_size",
                "nps")
    missing = [k for k in required if k not in doc]
    if missing:
        raise DeviceError(f"{source}: missing key(s) {missing}")
    if doc["ip_version"] not in ("v1", "v2"):
        raise DeviceError(f"{source}: ip_version must be 'v1' or 'v2', got {doc['ip_version']!r}")
    sram = doc["np_sram_size"]
    if (not isinstance(sram, dict) or not all(isinstance(sram.get(k), int) and sram[k] > 0
                                               for k in ("input_bytes", "weight_bytes"))):
        raise DeviceError(f"{source}: np_sram_size needs positive integer input_bytes and "
                          f"weight_bytes")
    nps = []
    for i, entry in enumerate(doc["nps"]):
        where = f"{source}: nps[{i}]"
        if not isinstance(entry, dict) or "ident" not in entry or "types" not in entry:
            raise DeviceError(f"{where}: an NP is {{'ident': [col, row, id], 'types': [...]}}")
        types = _types(entry["types"], where)
        if "HRC" in types or types & {"SKIP_DMA_STORE", "SKIP_DMA_LOAD"}:
            raise DeviceError(f"{where}: HRC and skip-DMA entries go in 'hrc' and 'skip_dmas'")
        nps.append(NPInfo(_ident(entry["ident"], where), types,
                          bool(entry.get("has_lut", False))))
    if not nps:
        raise DeviceError(f"{source}: a device needs at least one NP")
    idents = [n.ident for n in nps]
    if len(set(idents)) != len(idents):
        dup = sorted({i for i in idents if idents.count(i) > 1})
        raise DeviceError(f"{source}: duplicate NP ident(s) {dup}")
    dma_event = _ident(doc["dma_event"], f"{source}: dma_event")
    dma_conf = _ident(doc["dma_conf"], f"{source}: dma_conf")
    if {dma_event, dma_conf} & set(idents):
        raise DeviceError(f"{source}: a DMA endpoint shares its ident with an NP")
    hrc = None
    if doc.get("hrc") is not None:
        hrc = NPInfo(_ident(doc["hrc"], f"{source}: hrc"), frozenset({"HRC"}))
    skip = []
    for i, entry in enumerate(doc.get("skip_dmas", [])):
        skip.append(NPInfo(_ident(entry, f"{source}: skip_dmas[{i}]"),
                           frozenset({"SKIP_DMA_STORE", "SKIP_DMA_LOAD"})))
    params = doc.get("params", {})
    if not isinstance(params, dict):
        raise DeviceError(f"{source}: 'params' must be an object")
    mesh = Mesh(nps=nps, dma_event=dma_event, dma_conf=dma_conf, hrc=hrc, skip_dmas=skip,
                np_sram_size=SramSize(sram["input_bytes"], sram["weight_bytes"]))
    return Device(name=str(doc["name"]), ip_version=doc["ip_version"],
                  hw_version=str(doc["hw_version"]), mesh=mesh, params=dict(params),
                  description=str(doc.get("description", "")))


def device_to_dict(device: Device) -> dict:
    """Inverse of :func:`device_from_dict` (the device-file document)."""
    m = device.mesh

    def ident(i):
        return [i.col, i.row, i.id] + ([i.channel] if i.channel else [])

    return {"name": device.name, "ip_version": device.ip_version,
            "hw_version": device.hw_version, "description": device.description,
            "dma_event": ident(m.dma_event), "dma_conf": ident(m.dma_conf),
            "hrc": ident(m.hrc.ident) if m.hrc else None,
            "skip_dmas": [ident(s.ident) for s in m.skip_dmas],
            "np_sram_size": {"input_bytes": m.np_sram_size.input_bytes,
                             "weight_bytes": m.np_sram_size.weight_bytes},
            "nps": [{"ident": ident(n.ident), "types": sorted(n.types, key=NP_TYPES.index),
                     "has_lut": n.has_lut} for n in m.nps],
            "params": dict(device.params)}


def load_device_file(path) -> Device:
    """Read and validate one device file."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except json.JSONDecodeError as exc:
        raise DeviceError(f"{path}: not valid JSON ({exc})") from None
    return device_from_dict(doc, str(path))


@cache
def _builtin(name: str) -> Device:
    return load_device_file(os.path.join(DEVICES_DIR, f"{name}.json"))


def list_devices() -> list[str]:
    """Names of the built-in devices (one file each in nsoc/hardware/devices)."""
    return sorted(f[:-5] for f in os.listdir(DEVICES_DIR) if f.endswith(".json"))


def get_device(name_or_device) -> Device:
    """A :class:`Device` from itself, a built-in device name (case-insensitive) or a custom IP
    written ``custom:CNPS,FNPS[,SKIP_DMA_CHANNELS][,v1|v2]`` (see :func:`create_device`)."""
    if isinstance(name_or_device, Device):
        return name_or_device
    if not isinstance(name_or_device, str):
        raise DeviceError(f"expected a Device or a device name, got {name_or_device!r}")
    if name_or_device.lower().startswith("custom:"):
        return parse_custom_device(name_or_device)
    names = {n.lower(): n for n in list_devices()}
    key = name_or_device.lower()
    if key not in names:
        raise DeviceError(f"unknown device '{name_or_device}'; built-in devices are "
                          f"{', '.join(list_devices())} (or build one with create_device, or "
                          f"write custom:CNPS,FNPS[,SKIP][,v1|v2])")
    import copy
    return copy.deepcopy(_builtin(names[key]))


# ----- custom meshes ---------------------------------------------------------------------
def parse_custom_device(text: str) -> Device:
    """A Device from ``custom:CNPS,FNPS[,SKIP][,v1|v2]`` (v2 unless stated)."""
    fields = [f.strip() for f in text.split(":", 1)[1].split(",") if f.strip()]
    version = "v2"
    if fields and fields[-1] in ("v1", "v2"):
        version = fields.pop()
    try:
        numbers = [int(f) for f in fields]
    except ValueError:
        numbers = []
    if not 2 <= len(numbers) <= 3:
        raise DeviceError(f"bad custom device '{text}'; write custom:CNPS,FNPS[,SKIP][,v1|v2], "
                          f"e.g. custom:30,2,4")
    skip = numbers[2] if len(numbers) == 3 else 0
    return create_device(numbers[0], numbers[1], skip, ip_version=version)


def _grid(n_nodes: int) -> list[tuple[int, int]]:
    """Node positions of a custom mesh: rows from 2 (row 1 holds the DMAs), columns from 1,
    floor(sqrt(n)) rows, listed column by column (the layout of the v2 virtual devices)."""
    rows = max(1, math.isqrt(n_nodes))
    cols = -(-n_nodes // rows)
    return [(c, r) for c in range(1, cols + 1) for r in range(2, rows + 2)][:n_nodes]


def create_device(num_cnp_tnp: int, num_fnp: int, num_skip_dma_channel: int = 0,
                  include_hrc: bool = True, sram_size=None, ip_version: str = "v2",
                  hw_version: str | None = None, name: str | None = None) -> Device:
    """A custom Akida IP: ``num_cnp_tnp + num_fnp`` NPs rounded up to whole nodes of 4 NPs.

    Every NP can be a CNP (CNP1+CNP2, plus TNP_B on v2); the last ``num_fnp`` NPs can also be
    FNPs, the first of them FNP2 (weights in external memory), the others FNP3 (weights on
    chip).  ``sram_size`` is a :class:`SramSize`, ``(input_bytes, weight_bytes)`` or None for
    the version's default; skip-DMA channels come 4 per skip-DMA endpoint.  1 to 128 nodes.
    """
    if ip_version not in ("v1", "v2"):
        raise DeviceError(f"ip_version must be 'v1' or 'v2', got {ip_version!r}")
    for label, v in (("num_cnp_tnp", num_cnp_tnp), ("num_fnp", num_fnp),
                     ("num_skip_dma_channel", num_skip_dma_channel)):
        if not isinstance(v, int) or v < 0:
            raise DeviceError(f"{label} must be a non-negative integer, got {v!r}")
    total = num_cnp_tnp + num_fnp
    n_nodes = -(-total // NPS_PER_NODE)
    if not 1 <= n_nodes <= MAX_NODES:
        raise DeviceError(f"a custom device has 1 to {MAX_NODES} nodes of {NPS_PER_NODE} NPs; "
                          f"{total} NPs give {n_nodes} nodes")
    if sram_size is None:
        sram = DEFAULT_SRAM[ip_version]
    elif isinstance(sram_size, SramSize):
        sram = sram_size
    else:
        try:
            sram = SramSize(int(sram_size[0]), int(sram_size[1]))
        except (TypeError, ValueError, IndexError):
            raise DeviceError(f"sram_size must be a SramSize or (input_bytes, weight_bytes), "
                              f"got {sram_size!r}") from None
    if sram.input_bytes <= 0 or sram.weight_bytes <= 0:
        raise DeviceError(f"SRAM sizes must be positive, got {sram}")
    base = {"CNP1", "CNP2"} | ({"TNP_B"} if ip_version == "v2" else set())
    idents = [Ident(c, r, i) for c, r in _grid(n_nodes) for i in range(NPS_PER_NODE)]
    first_fnp = len(idents) - num_fnp
    nps = []
    for k, ident in enumerate(idents):
        types = set(base)
        if k >= first_fnp:
            types.add("FNP2" if k == first_fnp else "FNP3")
        nps.append(NPInfo(ident, frozenset(types), has_lut=ip_version == "v2"))
    skip = [NPInfo(Ident(c + 1, 1, 3, min(4, num_skip_dma_channel - 4 * c)),
                   frozenset({"SKIP_DMA_STORE", "SKIP_DMA_LOAD"}))
            for c in range(-(-num_skip_dma_channel // 4))]
    mesh = Mesh(nps=nps, dma_event=Ident(1, 1, 0), dma_conf=Ident(1, 1, 1),
                hrc=NPInfo(Ident(0, 0, 0), frozenset({"HRC"})) if include_hrc else None,
                skip_dmas=skip, np_sram_size=sram)
    hw = hw_version or DEFAULT_HW_VERSION[ip_version]
    return Device(name=name or f"Custom{n_nodes}Nodes{ip_version}", ip_version=ip_version,
                  hw_version=hw, mesh=mesh,
                  description=f"create_device({num_cnp_tnp}, {num_fnp}, "
                              f"{num_skip_dma_channel}, include_hrc={include_hrc})")


def np_type_counts(device: Device) -> dict:
    """{type combination such as 'CNP1+FNP3': number of NPs} of a device's mesh."""
    counts: dict = {}
    for n in device.mesh.nps:
        key = "+".join(sorted(n.types, key=NP_TYPES.index))
        counts[key] = counts.get(key, 0) + 1
    return counts


__all__ = ["DeviceError", "create_device", "get_device", "list_devices", "load_device_file",
           "device_from_dict", "device_to_dict", "np_type_counts", "SRAM_V1", "SRAM_V2"]

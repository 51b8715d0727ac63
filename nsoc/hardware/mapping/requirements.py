"""Per-layer requirements: which NP kind a layer needs, its filters per NP and column bands,
or why it cannot run on the device (``Unmappable``)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ...layers import POOL_AVG, POOL_NONE
from ..types import Device
from .constraints import (
    CNP_TYPES,
    FNP_TYPES,
    HRC_TYPES,
    NO_NP_TYPES,
    SKIP_TYPES,
    MapConstraints,
)
from .memory import (
    _ceil,
    _conv_kernel,
    cnp_input_size,
    cnp_weight_size,
    fnp_input_size,
    fnp_weight_size,
)


# ----- per-layer requirements -------------------------------------------------------------
class _Unmappable(Exception):
    pass


@dataclass
class _Req:
    layer: object
    kind: str                  # none | hrc | cnp | fnp | skip
    filters: int = 0
    parts: list = field(default_factory=list)   # CNP column bands: (x_offset, columns held)
    cap: int = 0               # max filters per CNP
    cnp2: bool = False         # only on CNP2-capable NPs
    prefer_cnp2: bool = False  # CNP2-capable NPs first (component type CNP2 there)
    fnp_input: int = 0
    fnp3_units: int = 0        # max units per FNP3 (0: does not fit on chip)


def _requirement(layer, model, device: Device, cons: MapConstraints) -> _Req:
    t = layer.TYPE
    sram = device.mesh.np_sram_size
    if t in NO_NP_TYPES:
        return _Req(layer, "none")
    if t in HRC_TYPES:
        if device.mesh.hrc is None:
            raise _Unmappable("The device has no HRC for an input convolution.")
        x, _, c = layer.input_dims
        f = layer.params["filters"]
        if x > cons.hrc_max_width:
            raise _Unmappable(f"Input width {x} is too large for the HRC. The maximum value is "
                              f"{cons.hrc_max_width}.")
        if t == "InputConvolutional" and c not in (1, 3):
            raise _Unmappable(f"The HRC supports 1 or 3 input channels, not {c}.")
        if f > cons.hrc_max_filters:
            raise _Unmappable(f"{f} filters are too many for the HRC. The maximum value is "
                              f"{cons.hrc_max_filters}.")
        return _Req(layer, "hrc", filters=f)
    if t in SKIP_TYPES:
        if not device.mesh.skip_dmas:
            raise _Unmappable(f"{t} needs a skip DMA and the device has none.")
        return _Req(layer, "skip")
    if t in FNP_TYPES:
        fan_in = int(math.prod(layer.input_dims))
        limit = cons.fnp_max_inputs_v2 if t == "Dense1D" else cons.fnp_max_inputs_v1
        if fan_in > limit:
            raise _Unmappable(f"Input dimensions are too large to fit in a FNP. The maximum "
                              f"value is {limit}.")
        inbound = model.get_layer(layer.inbounds[0]) if layer.inbounds else None
        in_size = fnp_input_size(layer, inbound)
        if in_size > sram.input_bytes:
            raise _Unmappable(f"The input ({in_size} B) does not fit in a FNP input memory "
                              f"of {sram.input_bytes} B.")
        per_unit = fnp_weight_size(layer, 1, in_size)
        return _Req(layer, "fnp", filters=layer.params["units"], fnp_input=in_size,
                    fnp3_units=sram.weight_bytes // per_unit)
    if t in CNP_TYPES:
        p = layer.params
        stride = p.get("kernel_stride", p.get("stride_x", 1))
        if p["pool_type"] != POOL_NONE and stride > 1:
            raise _Unmappable("The CNP cannot support both pooling and stride.")
        x, y, _ = layer.input_dims
        if y > cons.cnp_max_height:
            raise _Unmappable(f"Input height {y} is too large for a CNP. The maximum value is "
                              f"{cons.cnp_max_height}.")
        f = layer.filters_out
        cap = cons.cnp_max_filters
        if p["pool_type"] == POOL_AVG and device.ip_version == "v2":
            cap = min(cap, cons.cnp_max_filters_avg_pool)
        if t == "SeparableConvolutional":
            cap = min(cap, cons.cnp_max_filters_separable)
        while cap > 0 and cnp_weight_size(layer, min(cap, f)) > sram.weight_bytes:
            cap = min(cap, f) - 1
        if cap < 1:
            raise _Unmappable(f"The weights of one filter ({cnp_weight_size(layer, 1)} B) do "
                              f"not fit in a CNP weight memory of {sram.weight_bytes} B.")
        v1 = device.ip_version == "v1"
        max_w = cons.cnp_max_width_v1 if v1 else cons.cnp_max_width
        halo = _conv_kernel(layer)[1] - 1 if v1 else 0
        n_bands = _ceil(x, max_w)
        while True:
            width = _ceil(x, n_bands)
            held = width if n_bands == 1 else min(x, width + halo)
            if cnp_input_size(layer, held, min(cap, f)) <= sram.input_bytes:
                break
            if width == 1:
                raise _Unmappable(f"The input ({cnp_input_size(layer, held, min(cap, f))} B "
                                  f"for one column) does not fit in a CNP input memory of "
                                  f"{sram.input_bytes} B.")
            n_bands += 1
        bands = [(o, held if n_bands > 1 else min(width, x - o)) for o in range(0, x, width)]
        return _Req(layer, "cnp", filters=f, parts=bands, cap=min(cap, f),
                    cnp2=t == "SeparableConvolutional" and cons.separable_cnp2_only,
                    prefer_cnp2=t == "SeparableConvolutional")
    raise _Unmappable(f"Layers of type {t} cannot be mapped on a {device.ip_version} device.")

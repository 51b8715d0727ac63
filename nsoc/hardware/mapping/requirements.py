"""Per-layer requirements: the NP kind a layer needs, the most filters one NP holds, how its
input is cut in column bands, and the NP plan for a given bound on filters per NP."""
from __future__ import annotations

from dataclasses import dataclass, field

from ...layers import Layer
from ..types import Device
from .constraints import (
    CNP_TYPES,
    FNP_TYPES,
    HRC_TYPES,
    NO_NP_TYPES,
    NSOC_V2_HW_VERSIONS,
    SKIP_TYPES,
    MapConstraints,
    kernel_hw,
)
from .memory import (
    _ceil,
    cnp_input_size,
    cnp_weight_size,
    column_bands,
    fnp_full_input_size,
    fnp_weight_size,
    v1_band_input_bytes,
)
from .rules import Unmappable, check_layer

#: Most filters one CNP of the NSoC_v2 silicon (AKD1000) holds.  Corpus: every 512-filter v1
#: layer maps on one NP of AKD1500 and TwoNodesIPv1 in Minimal when its weights fit, but on
#: two NPs of 256 on AKD1000 (4 train models, Convolutional and SeparableConvolutional, 1x1
#: and 3x3, 2- and 4-bit).  Source of the value: Akida 2.19's mapper on one-layer models
#: (Minimal): AKD1000 keeps 504 filters on one NP and splits 505 as 253 + 252 (1x1 on 4x4x16
#: and 32x32x8, 3x3 on 14x14x16, separable 3x3 on 5x5x64); AKD1500 keeps 505 and 512.
NSOC_V2_CNP_MAX_FILTERS = 504

#: Most weight bytes a dense layer keeps on an FNP3 (more: an FNP2, weights in external
#: memory), by IP version; 48 KiB (v2) and 42 KiB (v1).  Source: Akida 2.19's own mapper on
#: hand-made one-layer models (Minimal, hw_only), weights as in ``mem_info``: v2 Dense1D,
#: TwoNodesIPv2, 64 8-bit inputs (72 B a unit) 682 units = 49104 B on an FNP3, 683 = 49176 B
#: on an FNP2; 1000 inputs 48 units (48384 B) FNP3, 49 (49392 B) FNP2.  v1 FullyConnected
#: (AKD1500, AKD1000, TwoNodesIPv1), 4-bit weights: 96 inputs (88 B a unit) 488 units =
#: 42944 B FNP3, 489 = 43032 B FNP2; 32 inputs (40 B) 1075 units = 43000 B FNP3, 1076 FNP2;
#: 512 inputs 107 units = 42800 B FNP3, 108 FNP2 (below the 44800-byte CNP weight SRAM).
FNP3_WEIGHT_BYTES = {"v2": 49152, "v1": 43008}


def fits_weight_sram(layer, filters: int, sram_bytes: int) -> bool:
    """One CNP holds ``filters`` filters of ``layer`` when their weights fit its SRAM; a v1
    7x7 4-bit Convolutional needs them strictly below it.  Source: Akida 2.19's mapper on
    one-layer models (AKD1500, Minimal): 7x7 4-bit on 8, 16, 32 channels keeps 168, 80, 40
    filters on one NP and splits 169, 81, 41, the first counts whose words
    (:func:`.memory.v1_conv7_words_per_cin`) fill the 44800 bytes exactly or more; 3x3 and
    5x5 (4- and 2-bit), 2-bit 7x7 and separable layers filling them exactly stay on one NP
    (3x3 on 32 channels 296 filters, on 64 channels 144; 5x5 on 16 channels 224; 2-bit 7x7
    on 16 channels 224; separable 3x3 on 256 channels 320)."""
    size = cnp_weight_size(layer, filters)
    strict = layer.TYPE == "Convolutional" and kernel_hw(layer) == (7, 7) and \
        layer.params["weights_bits"] == 4
    return size < sram_bytes if strict else size <= sram_bytes


@dataclass
class Req:
    """What one layer needs from the mesh."""

    layer: Layer
    kind: str                  # none | hrc | cnp | fnp | skip
    filters: int = 0
    cap: int = 0               # most filters (channels for depthwise) one CNP holds
    max_width: int = 0         # widest column band
    after_add: bool = False    # a v2 CNP fed by an Add
    fnp_weights: int = 0       # FNP weight bytes of the whole layer
    fnp3_fits: bool = True     # the weights fit an FNP3 (else FNP2, external memory)
    inbound: Layer | None = None   # the first inbound layer (None for an input layer)
    device: Device | None = None   # set for CNP and FNP layers
    _bands: dict = field(default_factory=dict, repr=False)   # channels -> bands (cache)
    _per: dict = field(default_factory=dict, repr=False)     # bound -> filters per NP

    # ----- CNP plans -------------------------------------------------------------------
    def bands(self, channels: int) -> list[tuple[int, int]]:
        """Column bands ``(x offset, columns)`` of the input for an NP holding ``channels``
        filters: the fewest bands of at most ``max_width`` columns whose input (v2, with the
        ``kernel - 1`` shared columns once banded) fits the input SRAM; equal widths but the
        last (corpus: 112 columns 38, 38, 36; 28 columns 10, 10, 8)."""
        if channels in self._bands:
            return self._bands[channels]
        assert self.device is not None   # a CNP requirement (requirement())
        x = self.layer.input_dims[0]
        n = _ceil(x, self.max_width)
        sram = self.device.mesh.np_sram_size.input_bytes
        v2 = self.layer.TYPE in ("Conv2D", "DepthwiseConv2D")
        held = channels if self.layer.TYPE == "DepthwiseConv2D" else self.layer.input_dims[2]
        while n < x:
            width = _ceil(x, n)
            size = cnp_input_size(self.layer, width, held, n > 1, self.after_add) if v2 \
                else v1_band_input_bytes(self.layer, width, min(n - 1, 2))
            if size <= sram:
                break
            n += 1
        self._bands[channels] = column_bands(x, n)
        return self._bands[channels]

    def per_np(self, t: int) -> int:
        """Filters per NP at bound ``t``: ``ceil(F / groups)`` for the fewest groups of at most
        ``min(t, cap)`` filters whose share still fits the weight SRAM, which an uneven share
        may not (Akida 2.19's mapper, AKD1500, separable 3x3 on 1024 4-bit channels: 64 and
        72 filters fit one NP, 65 to 71 do not (filters not a multiple of 8 take more
        pointwise bits); 1024 filters go on 16 NPs of 64, not 15 of 69; 960 on 15 of 64;
        1000 on 14 of 72)."""
        if t in self._per:
            return self._per[t]
        assert self.device is not None   # a CNP requirement (requirement())
        per = _ceil(self.filters, _ceil(self.filters, min(t, self.cap)))
        sram = self.device.mesh.np_sram_size.weight_bytes
        while per > 1 and not fits_weight_sram(self.layer, per, sram):
            per = _ceil(self.filters, _ceil(self.filters, per) + 1)
        self._per[t] = per
        return per

    def plan(self, t: int) -> list[tuple[int, int, int, int]]:
        """NPs ``(x offset, columns, start filter, filters)`` at most ``t`` filters per NP:
        ``ceil(F / t)`` groups of ``ceil(F / groups)`` filters (the last takes the rest) in
        each column band (corpus: 32 filters at t = 6 give 6, 6, 6, 6, 6, 2), more groups when
        that share does not fit the weight SRAM (:meth:`per_np`)."""
        per = self.per_np(t)
        out = []
        # band by band, the filter groups of each band (corpus: (x 0, filters 0-23), (x 0,
        # 24-47), (x 24, 0-23), (x 24, 24-47))
        for off, cols in self.bands(per):
            for start in range(0, self.filters, per):
                out.append((off, cols, start, min(per, self.filters - start)))
        return out

    def count(self, t: int) -> int:
        per = self.per_np(t)
        return _ceil(self.filters, per) * len(self.bands(per))


def requirement(layer, model, device: Device, cons: MapConstraints,
                own_sequence: bool = False) -> Req:
    """The requirement of ``layer`` on ``device``; raises :class:`Unmappable` (Akida's wording)
    when a layer rule refuses it (``own_sequence``: the layer starts a sequence of its own and
    the rules about inputs from the mesh are skipped)."""
    t = layer.TYPE
    if t in NO_NP_TYPES:
        return Req(layer, "none")
    if not own_sequence:
        check_layer(layer, device, cons)
    if t in HRC_TYPES:
        return Req(layer, "hrc", filters=layer.params["filters"])
    if t in SKIP_TYPES:
        if device.ip_version != "v2" or not device.mesh.skip_dmas:
            raise Unmappable(f"{t} needs a skip DMA and the device has none.")
        return Req(layer, "skip")
    if t in FNP_TYPES:
        inbound = model.get_layer(layer.inbounds[0]) if layer.inbounds else None
        units = layer.params["units"]
        weights = fnp_weight_size(layer, units, fnp_full_input_size(layer, inbound))
        fnp3 = FNP3_WEIGHT_BYTES[device.ip_version]
        return Req(layer, "fnp", filters=units, fnp_weights=weights, fnp3_fits=weights <= fnp3,
                   inbound=inbound, device=device)
    if t in CNP_TYPES:
        f = layer.filters_out
        cap = min(cons.cnp_max_filters, f)
        if device.hw_version in NSOC_V2_HW_VERSIONS:
            cap = min(cap, NSOC_V2_CNP_MAX_FILTERS)
        sram_w = device.mesh.np_sram_size.weight_bytes
        while cap > 1 and not fits_weight_sram(layer, cap, sram_w):
            cap -= 1
        max_width = cons.cnp_max_width if device.ip_version == "v2" else cons.cnp_max_width_v1
        inbound = model.get_layer(layer.inbounds[0]) if layer.inbounds else None
        req = Req(layer, "cnp", filters=f, cap=max(1, cap), max_width=max_width,
                  after_add=inbound is not None and inbound.TYPE == "Add", inbound=inbound,
                  device=device)
        if device.ip_version == "v2":
            x, _, c = layer.input_dims
            one = cnp_input_size(layer, 1, 1 if t == "DepthwiseConv2D" else c,
                                 x > 1, req.after_add)
            if one > device.mesh.np_sram_size.input_bytes:
                raise Unmappable(f"The input ({one} B for one column) does not fit in a CNP "
                                 f"input memory of {device.mesh.np_sram_size.input_bytes} B.")
        return req
    raise Unmappable(f"Layers of type {t} cannot be mapped on a {device.ip_version} device.")

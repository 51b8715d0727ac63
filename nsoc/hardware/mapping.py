"""Placing a model on a device: layers to NP components, sequences and passes.

The policy and the memory formulas reproduce what akida 2.19 reports for its virtual devices
(learned from the public ``mapping.json`` of the reference cases); where those data do not
determine a rule, the choice is stated in the function's docstring.

Allocation in one pass (all modes):

* InputConv2D / InputConvolutional run on the HRC; Quantizer, InputData and Dequantizer use no
  NP; Add / Concatenate use a skip-DMA channel (store on the first inbound, load on the layer).
* Conv2D, DepthwiseConv2D, Convolutional and SeparableConvolutional run on CNPs (separable
  layers take CNP2-capable NPs first, at most 64 filters per NP; ``separable_cnp2_only``
  restricts them to CNP2 NPs).  Filters are split in groups of ``ceil(F / n)`` over ``n`` NPs;
  layers wider than ``cnp_max_width`` (v1: ``cnp_max_width_v1``) columns, or whose input does
  not fit an NP's input SRAM, are also split in column bands (one NP per band and filter
  group).  With these rules the published AKD1000 mappings of DS-CNN KWS (AllNps 65 NPs,
  Minimal 5) and AkidaNet 0.5 224 (AllNps 68, every layer's count) are reproduced.
* CNPs are taken in this order: NPs with no FNP type in nodes without an FNP3, then those in
  nodes with an FNP3 (both column-major), then FNP3 slots, then FNP2 slots.
* Dense1D / FullyConnected take the first free FNP3 (weights on chip) if the weights fit its
  weight SRAM, else the first free FNP2 (weights in external memory), else several FNP3.
* ``AllNps`` spreads the CNP layers over the free NPs minimising the largest number of filters
  any NP holds (one NP kept per dense layer); ``Minimal`` gives each layer the fewest NPs;
  ``HwPr`` gives every NP layer its own pass with the whole device (partial reconfiguration).
  A pass closes when the next layer no longer fits with the fewest NPs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import MappingError
from ..layers import POOL_AVG, POOL_NONE
from .device import get_device
from .types import Device, LayerMapping, Mapping, NPComponent, Sequence

MODES = ("AllNps", "Minimal", "HwPr")
NO_NP_TYPES = frozenset({"Quantizer", "InputData", "Dequantizer"})
HRC_TYPES = frozenset({"InputConv2D", "InputConvolutional"})
CNP_TYPES = frozenset({"Conv2D", "DepthwiseConv2D", "Convolutional", "SeparableConvolutional"})
FNP_TYPES = frozenset({"Dense1D", "FullyConnected"})
SKIP_TYPES = frozenset({"Add", "Concatenate"})


@dataclass(frozen=True)
class MapConstraints:
    """Mapping limits (akida's ``MapConstraints`` defaults plus the published FNP/HRC limits)."""

    cnp_max_filters: int = 512
    cnp_max_height: int = 256
    cnp_max_width: int = 64
    # v1 column bands: at most 32 columns, each band also holding the kernel_width - 1 columns
    # its neighbours share (no refcase splits a v1 layer; these reproduce the published
    # AkidaNet 0.5 AKD1000 counts conv_1 4, conv_2 6, conv_3 3 NPs and 3/2/1 separable bands)
    cnp_max_width_v1: int = 32
    fnp_max_inputs_v2: int = 2048    # Dense1D fan-in
    fnp_max_inputs_v1: int = 57334   # FullyConnected H*W*C (hardware.md)
    hrc_max_width: int = 256         # InputConv line width
    hrc_max_filters: int = 512
    cnp_max_filters_avg_pool: int = 32  # a CNP doing global average pooling (v2)
    # SeparableConvolutional (v1): at most 64 filters per NP, as the published AKD1000 mappings
    # of AkidaNet 0.5 (separable_4..13 at 64 filters per NP) and DS-CNN (Minimal, 64 per NP) show
    cnp_max_filters_separable: int = 64
    # True: SeparableConvolutional only on CNP2-capable NPs (54 on AKD1000); False (default):
    # on any CNP, CNP2-capable first (the published DS-CNN AllNps uses 64 NPs for them)
    separable_cnp2_only: bool = False


# ----- memory formulas (bytes) -----------------------------------------------------------
V2_WORD_BITS = 100   # v2 weight SRAM word (4K x 100b)
V1_WORD_BITS = 50    # v1 weight SRAM word (7K x 50b)


def _ceil(a, b):
    return -(-a // b)


def _round_up(a, b):
    return _ceil(a, b) * b


def _even(x):
    return x + 1 if x > 1 and x % 2 else x


def _conv_kernel(layer):
    p = layer.params
    if "kernel_size" in p:
        return p["kernel_size"], p["kernel_size"]
    return p["kernel_height"], p["kernel_width"]


def cnp_input_size(layer, x_part: int, filters: int) -> int:
    """Input SRAM (bytes) of one CNP holding ``x_part`` input columns (and ``filters`` channels
    of a depthwise layer).

    v2: rows of ``x*c*bits`` rounded up to 128 bytes, times ``y``; depthwise: per channel, rows
    of ``x*bits`` rounded up to 8 bytes.  v1: ``x*y*c*bits/8`` with x rounded up to even.
    """
    _, y, c = layer.input_dims
    bits = layer.input_bits
    if layer.TYPE == "DepthwiseConv2D":
        return filters * y * _round_up(_ceil(x_part * bits, 8), 8)
    if layer.TYPE in ("Conv2D",):
        return y * _round_up(_ceil(x_part * c * bits, 8), 128)
    return _ceil(_even(x_part) * y * c * bits, 8)


def cnp_weight_size(layer, filters: int) -> int:
    """Weight SRAM (bytes) of one CNP holding ``filters`` filters.

    v2 convolution: filters in groups of ``G`` (8 for a 3-wide kernel, 16 for 1x1), one 100-bit
    word per (kernel row, input channel, group) holding ``G*kw*bits`` of at most 96 bits.
    v2 depthwise: as many channels per word as whole kernels fit in 100 bits.  v1: 50-bit words
    of twelve 4-bit weights, kernels padded to a power of two; Convolutional: one word per
    (12-filter group, input channel, kernel position) (a fit of the refcases).
    v1 SeparableConvolutional (no refcase; chosen so that AkidaNet 0.5's 512-channel layers fit
    at 64 filters per NP as published): the depthwise kernels once per NP, 12 channels per word
    and kernel position, plus the pointwise one word per (12-filter group, input channel).
    """
    kh, kw = _conv_kernel(layer)
    cin = layer.input_dims[2]
    bits = layer.params["weights_bits"]
    if layer.TYPE == "DepthwiseConv2D":
        per_word = max(1, V2_WORD_BITS // (kh * kw * bits))
        return _ceil(_ceil(filters, per_word) * V2_WORD_BITS, 8)
    if layer.TYPE == "Conv2D":
        group = min(16, 1 << int(math.log2(max(1, 24 // kw)))) if kw <= 24 else 1
        words = _ceil(filters, group) * kh * cin * _ceil(group * kw * bits, 96)
        return _ceil(words * V2_WORD_BITS, 8)
    kernel = 1 << (kh * kw - 1).bit_length()
    per_weight = max(1, _ceil(bits, 4))
    if layer.TYPE == "SeparableConvolutional":
        words = (_ceil(cin, 12) * kernel + _ceil(filters, 12) * cin) * per_weight
    else:
        words = _ceil(filters, 12) * cin * kernel * per_weight
    return _ceil(words * V1_WORD_BITS, 8)


def hrc_weight_size(layer) -> int:
    """HRC weight memory (bytes): per filter 8 bytes plus, per input channel, the kernel
    rounded up to 12 bytes (fits the refcases' 3x3x1, 3x3x3 and 5x5x1 kernels)."""
    kh, kw = _conv_kernel(layer)
    return layer.params["filters"] * (8 + layer.input_dims[2] * _round_up(kh * kw, 12))


def fnp_input_size(layer, inbound) -> int:
    """FNP input memory (bytes).  v2: the (x, y, c) input with x rounded up to even, at the
    input bit width (8 bits after a global average pooling).  v1: one bit per input, rounded
    up to 4 bytes."""
    x, y, c = layer.input_dims
    if layer.TYPE == "FullyConnected":
        return _round_up(_ceil(x * y * c, 8), 4)
    bits = 8 if inbound is not None and inbound.params.get("pool_type") == POOL_AVG \
        else layer.input_bits
    return _ceil(_even(x) * y * c * bits, 8)


def fnp_weight_size(layer, units: int, input_size: int) -> int:
    """FNP weight memory (bytes).  v2: ``units * (input_size + 8)``.  v1: per unit, the
    fan-in at ``48 // (bits + 2)`` weights per 50-bit word, rounded up to 8 bytes."""
    if layer.TYPE == "FullyConnected":
        fan_in = int(math.prod(layer.input_dims))
        per_word = max(1, 48 // (layer.params["weights_bits"] + 2))
        return units * _round_up(_ceil(_ceil(fan_in, per_word) * V1_WORD_BITS, 8), 8)
    return units * (input_size + 8)


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


# ----- allocation in one pass -------------------------------------------------------------
class _NoFit(Exception):
    """A pass cannot be allocated: ``layer`` is the layer that did not get its NPs."""

    def __init__(self, layer: str, reason: str):
        super().__init__(f"Cannot map layer '{layer}': {reason}")
        self.layer = layer
        self.reason = reason


class _Mesh:
    """The NP orders used by the allocator (computed once per device)."""

    def __init__(self, device: Device):
        self.device = device
        nps = device.mesh.nps
        fnp3_nodes = {n.ident.node for n in nps if "FNP3" in n.types}

        def key(n):
            slot = 1 if "FNP3" in n.types else 2 if "FNP2" in n.types else 0
            return (slot, slot == 0 and n.ident.node in fnp3_nodes,
                    n.ident.col, n.ident.row, n.ident.id)

        self.cnp_order = [n.ident for n in sorted(nps, key=key) if "CNP1" in n.types]
        self.cnp2 = {n.ident for n in nps if "CNP2" in n.types}
        self.cnp2_order = [i for i in self.cnp_order if i in self.cnp2] + \
            [i for i in self.cnp_order if i not in self.cnp2]
        self.fnp3 = sorted(n.ident for n in nps if "FNP3" in n.types)
        self.fnp2 = sorted(n.ident for n in nps if "FNP2" in n.types)


def _cnp_count(req: _Req, t: int) -> int:
    return len(req.parts) * _ceil(req.filters, min(t, req.cap))


def _fnp_count(req: _Req, mesh: _Mesh) -> int:
    if req.fnp3_units >= req.filters or mesh.fnp2:
        return 1
    return _ceil(req.filters, req.fnp3_units) if req.fnp3_units else 1


def _spread_t(reqs, budget: int, budget_cnp2: int) -> int | None:
    """Smallest filters-per-NP bound whose CNP count fits the budget, with the CNP2-only layers
    within the CNP2 NPs (None: does not fit even at each layer's largest filters per NP)."""
    cnps = [r for r in reqs if r.kind == "cnp"]
    if not cnps:
        return 1

    def fits(t):
        return sum(_cnp_count(r, t) for r in cnps) <= budget and \
            sum(_cnp_count(r, t) for r in cnps if r.cnp2) <= budget_cnp2

    hi = max(r.cap for r in cnps)
    if not fits(hi):
        return None
    lo = 1
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _free_cnps(r: _Req, mesh: _Mesh, used: set, need: int, reserved_cnp2: int) -> list:
    """The CNPs a layer takes: CNP2-only layers from the CNP2 NPs; other layers in the
    allocation order but leaving ``reserved_cnp2`` CNP2 NPs for the CNP2-only layers after them
    (separable layers take CNP2-capable NPs first)."""
    if r.cnp2:
        return [i for i in mesh.cnp_order if i not in used and i in mesh.cnp2][:need]
    order = mesh.cnp2_order if r.prefer_cnp2 else mesh.cnp_order
    spare = sum(1 for i in mesh.cnp2 if i not in used) - reserved_cnp2
    free = []
    for i in order:
        if len(free) == need:
            break
        if i in used:
            continue
        if i in mesh.cnp2:
            if spare <= 0:
                continue
            spare -= 1
        free.append(i)
    return free


def _assign(reqs, mesh: _Mesh, spread: bool):
    """Allocate one pass: {layer name: LayerMapping}; raises _NoFit naming the first layer that
    does not get its NPs.  ``spread`` (AllNps): the fewest filters per NP that fit the budget;
    else each layer at its largest filters per NP."""
    device = mesh.device
    sram = device.mesh.np_sram_size
    n_fnp = sum(_fnp_count(r, mesh) for r in reqs if r.kind == "fnp")
    if n_fnp > len(mesh.fnp3) + len(mesh.fnp2):
        first = next(r for r in reqs if r.kind == "fnp")
        raise _NoFit(first.layer.name, f"The pass needs {n_fnp} FNPs and {device.name} has "
                                       f"{len(mesh.fnp3) + len(mesh.fnp2)}.")
    t = None
    if spread:
        t = _spread_t(reqs, len(mesh.cnp_order) - n_fnp, len(mesh.cnp2))
    if t is None:
        t = max([r.cap for r in reqs if r.kind == "cnp"], default=1)
    reserved_cnp2 = sum(_cnp_count(r, t) for r in reqs if r.kind == "cnp" and r.cnp2)
    used: set = set()
    out = {}
    skip_i = 0
    for r in reqs:
        lm = LayerMapping(r.layer.name, r.layer.TYPE)
        out[r.layer.name] = lm
        if r.kind == "hrc":
            lm.nps.append(NPComponent(device.mesh.hrc.ident, "HRC", 0, 0, True, {
                "input_size": 0, "weight_size": hrc_weight_size(r.layer), "external_size": 0}))
        elif r.kind == "skip":
            ch = device.mesh.skip_dmas[skip_i % len(device.mesh.skip_dmas)].ident
            skip_i += 1
            lm.skipdma_stores.append(NPComponent(ch, "SKIP_DMA_STORE", r.layer.filters_out))
            lm.skipdma_loads.append(NPComponent(ch, "SKIP_DMA_LOAD", r.layer.filters_out))
        elif r.kind == "cnp":
            per = min(t, r.cap)
            per = _ceil(r.filters, _ceil(r.filters, per))
            need = _cnp_count(r, per)
            free = _free_cnps(r, mesh, used, need, reserved_cnp2)
            if len(free) < need:
                kind = "CNP2 NPs" if r.cnp2 else "CNPs"
                raise _NoFit(r.layer.name, f"It needs {need} {kind} ({len(r.parts)} column "
                             f"band(s) x {_ceil(r.filters, per)} group(s) of at most {per} "
                             f"filters) and only {len(free)} are left for it on "
                             f"{device.name}.")
            if r.cnp2:
                reserved_cnp2 -= need
            k = 0
            for _, width in r.parts:
                for start in range(0, r.filters, per):
                    f = min(per, r.filters - start)
                    ident = free[k]
                    k += 1
                    used.add(ident)
                    kind = "CNP2" if (r.cnp2 or r.prefer_cnp2) and ident in mesh.cnp2 \
                        else "CNP1"
                    lm.nps.append(NPComponent(ident, kind, f, start, False, {
                        "input_size": cnp_input_size(r.layer, width, f),
                        "weight_size": cnp_weight_size(r.layer, f), "external_size": 0}))
    for r in reqs:
        if r.kind != "fnp":
            continue
        lm = out[r.layer.name]
        in_size = r.fnp_input
        f3 = [i for i in mesh.fnp3 if i not in used]
        f2 = [i for i in mesh.fnp2 if i not in used]
        weights = fnp_weight_size(r.layer, r.filters, in_size)
        if f3 and weights <= sram.weight_bytes:
            used.add(f3[0])
            lm.nps.append(NPComponent(f3[0], "FNP3", r.filters, 0, True, {
                "input_size": in_size, "weight_size": weights, "external_size": 0}))
        elif f2:
            used.add(f2[0])
            lm.nps.append(NPComponent(f2[0], "FNP2", r.filters, 0, True, {
                "input_size": in_size, "weight_size": 0, "external_size": weights}))
        elif r.fnp3_units and len(f3) >= _ceil(r.filters, r.fnp3_units):
            for k, start in enumerate(range(0, r.filters, r.fnp3_units)):
                u = min(r.fnp3_units, r.filters - start)
                used.add(f3[k])
                lm.nps.append(NPComponent(f3[k], "FNP3", u, start, True, {
                    "input_size": in_size,
                    "weight_size": fnp_weight_size(r.layer, u, in_size), "external_size": 0}))
        else:
            raise _NoFit(r.layer.name, f"No free FNP3 or FNP2 for its {weights} B of weights "
                                       f"is left in this pass on {device.name} (the CNPs of "
                                       f"the pass took them).")
    return out


def _fits(reqs, mesh: _Mesh, spread: bool = False) -> bool:
    try:
        _assign(reqs, mesh, spread)
    except _NoFit:
        return False
    return True


def _min_counts(r: _Req, mesh: _Mesh) -> tuple[int, int, int, int]:
    """(CNPs, CNP2-only CNPs, FNPs, HRCs) a layer needs at the fewest NPs."""
    if r.kind == "cnp":
        n = _cnp_count(r, r.cap)
        return n, n if r.cnp2 else 0, 0, 0
    if r.kind == "fnp":
        return 0, 0, _fnp_count(r, mesh), 0
    return 0, 0, 0, int(r.kind == "hrc")


def _greedy_groups(reqs, mesh: _Mesh, mode: str, exact: bool) -> list[list[_Req]]:
    """Cut a run of layers into passes: a pass closes when the next layer does not fit with
    the fewest NPs (``exact``: by a full allocation, else by NP counts)."""
    groups: list[list[_Req]] = [[]]
    tot = [0, 0, 0, 0]
    limits = (len(mesh.cnp_order), len(mesh.cnp2), len(mesh.fnp3) + len(mesh.fnp2), 1)
    for r in reqs:
        need = _min_counts(r, mesh)
        if r.kind == "none" or not groups[-1]:
            groups[-1].append(r)
            tot = [a + b for a, b in zip(tot, need)]
            continue
        uses_np = any(q.kind != "none" for q in groups[-1])
        new = [a + b for a, b in zip(tot, need)]
        if exact:
            fits = _fits(groups[-1] + [r], mesh)
        else:
            fits = new[0] + new[2] <= limits[0] and \
                all(a <= b for a, b in zip(new[1:], limits[1:]))
        if (mode == "HwPr" and uses_np) or not fits:
            groups.append([r])
            tot = list(need)
        else:
            groups[-1].append(r)
            tot = new
    return groups


def _plan_hw_sequence(reqs, mesh: _Mesh, mode: str) -> list[list[LayerMapping]]:
    """Split a run of mappable layers into passes and allocate each pass (AllNps and HwPr
    spread the filters; a pass whose spread cannot be placed falls back to the fewest NPs)."""
    groups = []
    for g in _greedy_groups(reqs, mesh, mode, exact=False):
        # the count test is a fast screen; a group the allocator rejects is re-cut exactly
        if not _fits(g, mesh):
            groups += _greedy_groups(g, mesh, mode, exact=True)
        else:
            groups.append(g)
    # layers without NPs that start a pass belong to the previous pass (e.g. the Dequantizer)
    for g in range(len(groups) - 1, 0, -1):
        while groups[g] and groups[g][0].kind == "none" and \
                all(q.kind == "none" for q in groups[g]):
            groups[g - 1].append(groups[g].pop(0))
        if not groups[g]:
            groups.pop(g)
    passes = []
    for g in groups:
        try:
            try:
                allocated = _assign(g, mesh, spread=mode != "Minimal")
            except _NoFit:
                allocated = _assign(g, mesh, spread=False)
        except _NoFit as exc:
            raise MappingError(str(exc)) from None
        passes.append([allocated[r.layer.name] for r in g])
    return passes


# ----- public API -------------------------------------------------------------------------
def map_model(model, device, hw_only: bool = False, mode: str = "AllNps",
              constraints: MapConstraints | None = None) -> Mapping:
    """Map ``model`` onto ``device`` (a Device, a built-in name or ``custom:...``) and return
    the :class:`~nsoc.hardware.types.Mapping`; the model is not changed.

    Raises MappingError on a version mismatch, an unknown mode, or (``hw_only=True``) the first
    layer that cannot run on the device, naming the layer and the limit.
    """
    if mode not in MODES:
        raise MappingError(f"unknown mapping mode {mode!r}; use one of {', '.join(MODES)}")
    dev = get_device(device)
    check_version(model, dev)
    cons = constraints or MapConstraints()
    mesh = _Mesh(dev)
    backends = []
    reqs = {}
    for layer in model.layers:
        try:
            req = _requirement(layer, model, dev, cons)
            if req.kind in ("cnp", "fnp"):
                try:
                    _assign([req], mesh, spread=False)
                except _NoFit as exc:
                    raise _Unmappable(f"{exc.reason} {dev.name} has {len(mesh.cnp_order)} "
                                      f"CNPs ({len(mesh.cnp2)} CNP2) and "
                                      f"{len(mesh.fnp3) + len(mesh.fnp2)} FNPs.") from None
            reqs[layer.name] = req
            backends.append("Hardware")
        except _Unmappable as exc:
            if hw_only:
                raise MappingError(f"Cannot map layer '{layer.name}'. {exc}") from None
            backends.append("Software")
    # layers without NPs follow their neighbour: input layers the next, the Dequantizer the last
    layers = model.layers
    for i, layer in enumerate(layers):
        if layer.TYPE in ("Quantizer", "InputData"):
            nxt = next((backends[j] for j in range(i + 1, len(layers))
                        if layers[j].TYPE not in ("Quantizer", "InputData")), backends[i])
            backends[i] = nxt
    for i in range(len(layers) - 1, -1, -1):
        if layers[i].TYPE == "Dequantizer" and i > 0:
            backends[i] = backends[i - 1]
    runs: list[tuple[str, list]] = []
    for layer, backend in zip(layers, backends):
        if runs and runs[-1][0] == backend:
            runs[-1][1].append(layer)
        else:
            runs.append((backend, [layer]))
    sequences = []
    for backend, run in runs:
        name = run[0].name if len(run) == 1 else f"{run[0].name}-{run[-1].name}"
        if backend == "Software":
            sequences.append(Sequence(f"SW/{name}", "Software",
                                      [[LayerMapping(lay.name, lay.TYPE) for lay in run]]))
            continue
        passes = _plan_hw_sequence([reqs[lay.name] for lay in run], mesh, mode)
        sequences.append(Sequence(f"HW/{name}", "Hardware", passes))
    return Mapping(dev, mode, bool(hw_only), tuple(sequences))


def check_version(model, device: Device) -> None:
    """Raise MappingError (naming the fix) when the model's Akida version is not the
    device's: callers check this before any long work."""
    if device.ip_version != model.ip_version:
        others = "v1 (AKD1000, AKD1500, TwoNodesIPv1)" if model.ip_version == "v1" else \
            "v2 (TwoNodesIPv2, FourNodesIPv2, SixNodesIPv2, TwelveNodesIPv2)"
        raise MappingError(
            f"The IP version of the model and device must be identical. The model is Akida "
            f"{model.ip_version} and {device.name} is {device.ip_version}: choose a {others} "
            f"device or re-convert the model with --target {device.ip_version}.")


def _label(i: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return alphabet[i] if i < len(alphabet) else "+"


def mesh_picture(mapping: Mapping, pass_index: int = 0, sequence_index: int | None = None) -> str:
    """A text picture of the mesh for one pass: each node ``[....]`` shows its NP ids 0-3 with
    the letter of the layer on it ('.' free, ' ' no NP, '#' a DMA endpoint); plus a legend."""
    dev = mapping.device
    seqs = [s for s in mapping.sequences if s.backend == "Hardware"]
    if not seqs:
        return "(no hardware sequence)"
    seq = seqs[sequence_index or 0]
    p = seq.passes[pass_index]
    owner, legend = {}, []
    k = 0
    for lm in p:
        if not lm.nps:
            continue
        letter = _label(k)
        k += 1
        legend.append(f"  {letter} = {lm.layer} ({lm.type}, {len(lm.nps)} NP)")
        for c in lm.nps:
            owner[(c.ident.col, c.ident.row, c.ident.id)] = letter
    present = {(n.ident.col, n.ident.row, n.ident.id) for n in dev.mesh.nps}
    dma = {(dev.mesh.dma_event.col, dev.mesh.dma_event.row, dev.mesh.dma_event.id),
           (dev.mesh.dma_conf.col, dev.mesh.dma_conf.row, dev.mesh.dma_conf.id)}
    nodes = {(c, r) for c, r, _ in present | dma}
    cols = sorted({c for c, _ in nodes})
    rows = sorted({r for _, r in nodes})
    lines = [f"{seq.name} pass {pass_index + 1}/{len(seq.passes)} on {dev.name}"]
    if dev.mesh.hrc is not None:
        hrc = owner.get((dev.mesh.hrc.ident.col, dev.mesh.hrc.ident.row, dev.mesh.hrc.ident.id))
        lines.append(f"HRC [{hrc or '.'}]")
    lines.append("       " + "".join(f"col {c:<3}  " for c in cols))
    for r in rows:
        cells = []
        for c in cols:
            if (c, r) not in nodes:
                cells.append(" " * 9)
                continue
            s = "".join(owner.get((c, r, i), ".") if (c, r, i) in present
                        else "#" if (c, r, i) in dma else " " for i in range(4))
            cells.append(f"[{s}]    ")
        lines.append(f"row {r:<2} " + "".join(cells).rstrip())
    return "\n".join(lines + legend)


def format_mapping(mapping: Mapping) -> str:
    """Per-layer NP allocation, sequences and passes, memory per NP and totals, mesh pictures."""
    dev = mapping.device
    out = [f"Device {dev.name} ({dev.ip_version}, {len(dev.mesh.nps)} NPs, "
           f"{len(dev.mesh.nodes)} nodes), mode {mapping.mode}"]
    for seq in mapping.sequences:
        out.append(f"\nSequence {seq.name} ({seq.backend}, {len(seq.passes)} pass"
                   f"{'es' if len(seq.passes) > 1 else ''})")
        for pi, p in enumerate(seq.passes):
            if seq.backend == "Hardware":
                out.append(f"  Pass {pi + 1}")
            for lm in p:
                if not lm.nps:
                    extra = " skip-DMA" if lm.skipdma_stores else ""
                    out.append(f"    {lm.layer:<24} {lm.type:<22} no NP{extra}")
                    continue
                out.append(f"    {lm.layer:<24} {lm.type:<22} {len(lm.nps)} NP")
                for c in lm.nps:
                    m = c.mem_info
                    ext = f" ext {m['external_size']:>7} B" if m.get("external_size") else ""
                    out.append(f"      ({c.ident.col},{c.ident.row},{c.ident.id}) {c.type:<5} "
                               f"filters {c.filters:>4} @{c.start_neuron:<4} in "
                               f"{m.get('input_size', 0):>6} B  w {m.get('weight_size', 0):>6} B"
                               f"{ext}")
    tot = mapping.memory_totals()
    out.append(f"\nComponents: {mapping.component_count}")
    out.append(f"Memory: input {tot['input_size']} B, weights {tot['weight_size']} B, "
               f"external {tot['external_size']} B")
    for si, seq in enumerate(s for s in mapping.sequences if s.backend == "Hardware"):
        for pi in range(len(seq.passes)):
            out.append("")
            out.append(mesh_picture(mapping, pi, si))
    return "\n".join(out)


__all__ = ["map_model", "check_version", "mesh_picture", "format_mapping", "MapConstraints",
           "Mapping", "MODES"]

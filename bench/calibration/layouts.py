"""nsoc's mapping of a calibration model as the closed-form laws need it (``silicon_fit.py``):
per layer its NPs, pass, NP types, program bytes and slowest CNP component."""
from __future__ import annotations

from typing import NamedTuple

from nsoc.hardware.mapping.program import layer_reload_bytes
from nsoc.hardware.timing.costs import weights_held
from nsoc.hardware.timing.geometry import band_input_rows, component_bands


class LayerLayout(NamedTuple):
    """One layer as nsoc's mapper places it: NPs, pass index, NP types, program bytes (its NP
    records as the configuration DMA reloads them, ``layer_reload_bytes``, an FNP2's external
    weights excepted) and its slowest CNP component ``(share of the input events it receives,
    filters, weights held)``."""

    nps: int
    pass_index: int
    types: set
    program_bytes: float
    slowest: tuple


def slowest_component(lay, comps) -> tuple:
    """``(event share, filters, weights held)`` of the NP component of a CNP layer that receives
    the most events x filters: its input rows (the band and its halo, :func:`band_input_rows`,
    or every row) over the layer's rows, the filters it holds, :func:`weights_held`."""
    if not comps:
        return (1.0, 0, 0)
    kind = {"Convolutional": "conv", "SeparableConvolutional": "sep"}.get(lay.TYPE, "")
    x = lay.input_dims[0]
    taps = lay.params.get("kernel_height", 1) * lay.params.get("kernel_width", 1)
    bands = component_bands(lay, comps)
    rows = [(0, x)] * len(comps) if bands is None else [band_input_rows(lay, b) for b in bands]
    cands = [((r1 - r0) / x, c.filters, weights_held(kind, taps, lay.input_dims[2], c.filters))
             for (r0, r1), c in zip(rows, comps, strict=True)]
    return max(cands, key=lambda t: t[0] * t[1])


def mapped_layout(model, device: str, mode: str) -> dict[str, LayerLayout]:
    """{layer: :class:`LayerLayout`} of ``model`` mapped by nsoc's mapper (hardware only)."""
    mapping = model.map(device, hw_only=True, mode=mode)
    seqs = getattr(mapping, "sequences", None) or model.sequences
    out, k = {}, 0
    for seq in seqs:
        if seq.backend != "Hardware":
            continue
        for p in seq.passes:
            for lm in p:
                lay = model.get_layer(lm.layer)
                pbytes = layer_reload_bytes(lm, lay, model.ip_version)
                out[lm.layer] = LayerLayout(len(lm.nps), k, {c.type for c in lm.nps}, pbytes,
                                            slowest_component(lay, lm.nps))
            k += 1
    return out

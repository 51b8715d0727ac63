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

from ...errors import MappingError
from ..device import get_device
from ..types import Device, LayerMapping, Mapping, Sequence
from .allocate import _assign, _Mesh, _NoFit
from .constraints import MODES, MapConstraints
from .memory import (
    cnp_input_size,
    cnp_weight_size,
    fnp_input_size,
    fnp_weight_size,
    hrc_weight_size,
)
from .passes import _plan_hw_sequence
from .requirements import _requirement, _Unmappable


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
    for layer, backend in zip(layers, backends, strict=False):
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


__all__ = [
    "MODES",
    "MapConstraints",
    "Mapping",
    "check_version",
    "cnp_input_size",
    "cnp_weight_size",
    "fnp_input_size",
    "fnp_weight_size",
    "hrc_weight_size",
    "map_model",
]

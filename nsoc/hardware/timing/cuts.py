"""Per-layer cycles as BrainChip measures them: differences between cut models.

BrainChip times a layer by running the model cut after it and the model cut after the layer
before it, each mapped on its own (Minimal mapping, batch 1), and taking the difference of their
inference clocks; in each cut model the last layer is silenced (it produces no output events,
so no output traffic is counted).  :func:`cut_layer_cycles` does the same on the simulator:
the cut model after layer k holds the model's first k + 1 layers, is mapped with
:func:`nsoc.hardware.mapping.map_model` (``mode``, Minimal by default) and simulated for frame 0
with the full model's activations of those layers (the last one all zero).

These figures differ from a layer's own busy cycles in a run of the whole model: they include
the traffic and the waiting the layer adds to the critical path, and none of its overlap with
later layers.  A prefix that is not a valid model (a branch left without consumer: several
outputs) has no cut: its layers' cycles go to the next valid cut.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ModelValidationError
from .kinds import SOFTWARE_TYPES, SOURCE_TYPES
from .rows import as_frames


@dataclass(frozen=True)
class CutCycles:
    """One valid cut: its last ``layer``, the cut model's latency (``cut_latency_cycles``, frame
    0, batch 1) and ``cycles`` = that latency minus the previous valid cut's; ``layers``: the
    layers whose time the difference holds (this one and any without a valid cut before it)."""

    layer: str
    cycles: int
    cut_latency_cycles: int
    layers: tuple[str, ...]


def cut_models(model):
    """(index, cut model) for every layer with NP work after which the prefix is a valid model
    (one output), in layer order."""
    from ...model import Model
    for k, lay in enumerate(model.layers):
        if lay.TYPE in SOURCE_TYPES | SOFTWARE_TYPES:
            continue
        try:
            yield k, Model(list(model.layers[:k + 1]), model.ip_version)
        except ModelValidationError:
            continue  # several outputs: not a model Akida can run


def cut_layer_cycles(model, device, x=None, activations: dict | None = None, *,
                     mode: str = "Minimal", clock_mode: str = "Performance",
                     overrides: dict | None = None) -> list[CutCycles]:
    """Per-layer cycles of ``model`` on ``device`` as BrainChip measures them (see the module
    docstring), for the first frame of ``x`` (or of ``activations``: {layer: (N, ...)} as
    ``model.forward(x, outputs="all")`` returns).  Returns one :class:`CutCycles` per valid cut,
    in layer order; ``overrides``: timing parameters."""
    from ..mapping import map_model
    from .simulate import simulate
    if activations is None:
        if x is None:
            raise ValueError("cut_layer_cycles() needs an input batch x or activations")
        activations = model.forward(np.asarray(x)[:1], outputs="all")
    acts = {k: as_frames(v)[:1] for k, v in activations.items()}
    x1 = None if x is None else as_frames(np.asarray(x))[:1]
    out: list[CutCycles] = []
    prev, seen = 0, set()
    for k, cut in cut_models(model):
        names = [lay.name for lay in model.layers[:k + 1]]
        pending = tuple(n for n in names if n not in seen
                        and model.get_layer(n).TYPE not in SOURCE_TYPES | SOFTWARE_TYPES)
        a = {n: acts[n] for n in names if n in acts}
        a[names[-1]] = np.zeros_like(acts[names[-1]])  # the last layer is silenced
        mapping = map_model(cut, device, mode=mode)
        if not mapping.hardware_passes():
            continue
        lat = simulate(cut, mapping, x1, a, clock_mode=clock_mode, overrides=overrides,
                       batch_size=1).latency_cycles
        out.append(CutCycles(names[-1], int(lat - prev), int(lat), pending))
        prev = lat
        seen.update(pending)
    return out


def attach_cut_cycles(result, cuts: list[CutCycles]) -> None:
    """Set ``cut_cycles`` of the :class:`~nsoc.hardware.timing_result.LayerTiming` records of
    ``result`` that end a cut (the others keep None)."""
    by_layer = {c.layer: c.cycles for c in cuts}
    for lay in result.layers:
        lay.cut_cycles = by_layer.get(lay.name)

"""Shared by the timing tests (tests/test_timing.py, tests/test_timing_laws.py): a small mesh
device, the timing constants as plain values, hand-made mappings (filters split evenly over
given NPs, one hardware pass) and synthesised sparse activations with exact event counts."""
import numpy as np

from nsoc.hardware.timing import timing_params
from nsoc.hardware.types import (
    Device,
    Ident,
    LayerMapping,
    Mapping,
    Mesh,
    NPComponent,
    NPInfo,
    Sequence,
)


def mesh_device(name: str, np_types, cols: int = 3, rows: int = 2) -> Device:
    """An Akida 1.0 mesh of ``cols`` x ``rows`` nodes of 4 NPs (types ``np_types``), the event
    DMA at NP (1, 1, 0) and the configuration DMA at (1, 1, 1)."""
    nps = [NPInfo(Ident(c, r, i), frozenset(np_types))
           for c in range(1, cols + 1) for r in range(1, rows + 1) for i in range(4)]
    return Device(name, "v1", "test", Mesh(nps=nps, dma_event=Ident(1, 1, 0),
                                           dma_conf=Ident(1, 1, 1)))


def param_values(device) -> dict:
    """The timing constants of ``device`` as {name: value}."""
    return {k: v["value"] for k, v in timing_params(device).items()}


def even_split(filters: int, idents, np_type: str = "CNP1") -> list[NPComponent]:
    """NP components at ``idents`` ((col, row, id) tuples) sharing ``filters`` in order, as
    evenly as ``np.linspace`` cuts them."""
    b = np.linspace(0, filters, len(idents) + 1).astype(int)
    return [NPComponent(Ident(*i), np_type, int(b[k + 1] - b[k]), start_neuron=int(b[k]))
            for k, i in enumerate(idents)]


def one_pass_mapping(device, layer_mappings, mode: str = "Minimal",
                     hw_only: bool = True) -> Mapping:
    """A mapping of one hardware sequence of one pass holding ``layer_mappings``."""
    return Mapping(device, mode, hw_only, (Sequence("HW", "Hardware", [list(layer_mappings)]),))


def layer_mapping(layer, comps) -> LayerMapping:
    return LayerMapping(layer.name, layer.TYPE, list(comps))


def sparse_acts(model, density: float, frames: int = 1, seed: int = 0,
                dense_input: bool = False) -> tuple:
    """(x, {layer: activations}) of ``frames`` frames: every layer's output non-zero with
    probability ``density`` (values 1..15, uint8), a FullyConnected's output int32 potentials
    in [-50, 50).  ``x``: a dense uint8 image drawn first (``dense_input``, a model starting
    with an input convolution), else the first layer's activations."""
    rng = np.random.default_rng(seed)
    x = None
    if dense_input:
        x = rng.integers(0, 256, (frames,) + tuple(model.input_shape)).astype(np.uint8)
    acts = {}
    for lay in model.layers:
        shape = (frames,) + tuple(lay.output_dims)
        if lay.TYPE == "FullyConnected":
            acts[lay.name] = rng.integers(-50, 50, shape).astype(np.int32)
        else:
            acts[lay.name] = ((rng.random(shape) < density) * rng.integers(1, 16, shape)
                              ).astype(np.uint8)
        if x is None:
            x = acts[lay.name]
    return x, acts

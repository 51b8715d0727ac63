"""Allocation of one pass: the NP order of a mesh, and the layer mappings of the NPs the pass
filler (:class:`.sequences.PassFill`, the one placement) chose for each layer.

Rules (corpus of ``tools/check_mapcorpus.py``; the filler applies them):

* Every convolution (v1 and v2, separable included) runs on CNP1 components: Akida's corpus
  mappings never use the CNP2 type.
* CNPs are taken in this order: NPs with no FNP type in nodes without an FNP3, then those in
  nodes with an FNP3 (both column-major), then FNP3 slots, then FNP2 slots.
* A dense layer takes the first free FNP3 when its weights fit one, else the first free FNP2
  (weights in external memory); CNPs are placed first, so a spread pass may leave it the FNP2.
"""
from __future__ import annotations

from collections.abc import Callable
from itertools import islice

from ..types import Device, Ident, LayerMapping, NPComponent
from .memory import (
    band_neighbours,
    cnp_input_size,
    cnp_weight_size,
    fnp_external_size,
    fnp_input_size,
    hrc_weight_size,
)
from .requirements import Req


class NoFit(Exception):
    """A pass cannot be allocated; ``message`` is Akida's wording for it."""

    def __init__(self, layer: str, message: str):
        super().__init__(f"Cannot map layer '{layer}'. {message}")
        self.layer = layer
        self.message = message


def not_enough(kind: str, needed: int, available: int) -> str:
    """Akida's message when a layer does not get its NPs."""
    verb = "is" if needed == 1 else "are"
    verb2 = "is" if available == 1 else "are"
    return (f"Not enough hardware components of type {kind} available. {needed} {verb} needed "
            f"but {available} {verb2} available.")


class MeshOrder:
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
        self.fnp3 = sorted(n.ident for n in nps if "FNP3" in n.types)
        self.fnp2 = sorted(n.ident for n in nps if "FNP2" in n.types)
        self.n_fnp = len(set(self.fnp3) | set(self.fnp2))
        self.fewest_passes_t: dict = {}   # run of layer names -> AllNps bound (sequences.py)
        #: AllNps ranks packings by sequences before passes (hw_only, :func:`..map_model`)
        self.one_sequence_first = False

    def free_cnps(self, locked: frozenset) -> list:
        """The CNPs in allocation order, ``locked`` ones left out."""
        return [i for i in self.cnp_order if i not in locked] if locked else self.cnp_order


def hand_over_order(free: list, excluded: frozenset, need: int) -> list:
    """``free`` with its first ``need`` NPs not in ``excluded`` moved to the front, for the
    first layer of a pass (the hand-over rule of :mod:`.sequences`: it does not take the NPs of
    the layer that closed the previous pass); ``free`` itself when they already are."""
    pick = list(islice((i for i in free if i not in excluded), need))
    if pick == free[:need]:
        return free
    taken = set(pick)
    return pick + [i for i in free if i not in taken]


def fnp_need(reqs) -> int:
    return sum(1 for r in reqs if r.kind == "fnp")


def assign(reqs: list[Req], device: Device, t_of: Callable[[Req], int],
           idents: dict[str, list[Ident]], fnp2: set[Ident]) -> list[LayerMapping]:
    """The layer mappings of one pass placed by the pass filler (:class:`.sequences.PassFill`:
    ``idents`` per layer holding NPs, ``fnp2`` the idents it uses as FNP2, ``t_of(req)`` the
    bound on filters per NP of each CNP layer): each CNP layer's NPs get the filters of its
    plan (:meth:`.requirements.Req.plan`) in order, and every NP its memory; the HRC and the
    skip-DMA channels (taken in turn) complete the pass."""
    out = []
    skip_i = 0
    cnp_layers = {r.layer.name for r in reqs if r.kind == "cnp"}
    for r in reqs:
        lm = LayerMapping(r.layer.name, r.layer.TYPE)
        out.append(lm)
        if r.kind == "hrc":
            assert device.mesh.hrc is not None   # rules.check_hrc refuses the layer otherwise
            lm.nps.append(NPComponent(device.mesh.hrc.ident, "HRC", 0, 0, True, {
                "input_size": 0, "weight_size": hrc_weight_size(r.layer), "external_size": 0}))
        elif r.kind == "skip":
            ch = device.mesh.skip_dmas[skip_i % len(device.mesh.skip_dmas)].ident
            skip_i += 1
            lm.skipdma_stores.append(NPComponent(ch, "SKIP_DMA_STORE", r.layer.filters_out))
            lm.skipdma_loads.append(NPComponent(ch, "SKIP_DMA_LOAD", r.layer.filters_out))
        elif r.kind == "cnp":
            plan = r.plan(t_of(r))
            placed = idents[r.layer.name]
            assert len(placed) == len(plan)   # the filler placed Req.count(t) = len(plan) NPs
            banded = len({off for off, _, _, _ in plan}) > 1
            held_in = r.layer.input_dims[2]
            for ident, (off, cols, start, f) in zip(placed, plan, strict=True):
                held = f if r.layer.TYPE == "DepthwiseConv2D" else held_in
                sides = band_neighbours(r.layer, off, cols)
                lm.nps.append(NPComponent(ident, "CNP1", f, start, False, {
                    "input_size": cnp_input_size(r.layer, cols, held, banded, r.after_add,
                                                 sides),
                    "weight_size": cnp_weight_size(r.layer, f), "external_size": 0}))
        elif r.kind == "fnp":
            ident = idents[r.layer.name][0]
            external = ident in fnp2   # weights in external memory
            from_cnp = r.inbound is not None and r.inbound.name in cnp_layers
            mem = {"input_size": fnp_input_size(r.layer, r.inbound, from_cnp),
                   "weight_size": 0 if external else r.fnp_weights,
                   "external_size": fnp_external_size(r.fnp_weights) if external else 0}
            lm.nps.append(NPComponent(ident, "FNP2" if external else "FNP3", r.filters, 0, True,
                                      mem))
    return out


__all__ = ["MeshOrder", "NoFit", "assign", "fnp_need", "not_enough"]

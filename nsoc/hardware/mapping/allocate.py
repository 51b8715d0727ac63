"""Allocation of one pass: NP orders of a mesh and the assignment of NPs to layers."""
from __future__ import annotations

from ..types import Device, LayerMapping, NPComponent
from .memory import (
    _ceil,
    cnp_input_size,
    cnp_weight_size,
    fnp_weight_size,
    hrc_weight_size,
)
from .requirements import _Req


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

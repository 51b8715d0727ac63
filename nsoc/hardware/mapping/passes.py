"""Pass formation: cutting a run of hardware layers into passes in each mapping mode."""
from __future__ import annotations

from ...errors import MappingError
from ..types import LayerMapping
from .allocate import _assign, _cnp_count, _fits, _fnp_count, _Mesh, _NoFit
from .requirements import _Req


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
            tot = [a + b for a, b in zip(tot, need, strict=False)]
            continue
        uses_np = any(q.kind != "none" for q in groups[-1])
        new = [a + b for a, b in zip(tot, need, strict=False)]
        if exact:
            fits = _fits(groups[-1] + [r], mesh)
        else:
            fits = new[0] + new[2] <= limits[0] and \
                all(a <= b for a, b in zip(new[1:], limits[1:], strict=False))
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

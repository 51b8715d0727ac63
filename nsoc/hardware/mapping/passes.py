"""Pass formation: cutting a run of hardware layers into passes in each mapping mode.

* ``Minimal``: every CNP layer at its largest filters per NP; a pass closes when the next
  layer's NPs no longer fit the device.
* ``AllNps``: the bound with the fewest sequences, then passes
  (:func:`.sequences.fewest_passes_t`); a one-pass sequence spread over the device: the
  smallest bound ``t`` on filters per NP whose NPs fit (corpus: 5 layers of 8-32 filters on
  15 free NPs get t = 6).
* ``HwPr`` (partial reconfiguration): passes as in Minimal, at one bound ``t`` on filters per
  NP for the whole model, searched from 512 down for a bound at which the model maps
  (:func:`hwpr_bound`, :func:`binary_bound`).  Devices on the NSoC_v2 silicon (AKD1000) have
  no partial reconfiguration: their HwPr equals AllNps.
"""
from __future__ import annotations

from ...errors import MappingError
from ..types import LayerMapping
from .allocate import MeshOrder, NoFit, assign, fnp_need
from .constraints import NSOC_V2_HW_VERSIONS
from .requirements import Req
from .sequences import (
    PassFill,
    SequenceCut,
    branch_split_error,
    branch_split_pass,
    fewest_passes_t,
    fill_passes,
)


def _cnp_count(reqs, t: int | None) -> int:
    return sum(r.count(r.cap if t is None else t) for r in reqs if r.kind == "cnp")


def group_passes(reqs: list[Req], order: MeshOrder, t: int | None) -> list[PassFill]:
    """Greedy passes at bound ``t`` (None: each layer at its largest filters per NP), with
    the sequence rules of :func:`.sequences.fill_passes`.  A layer larger than the device
    raises :class:`NoFit` with Akida's "Not enough hardware components" message."""
    return fill_passes(reqs, order, lambda r: r.cap if t is None else t)


def spread_t(reqs: list[Req], budget: int) -> int | None:
    """Smallest bound on filters per NP whose CNPs fit ``budget`` (None: not even at cap)."""
    cnps = [r for r in reqs if r.kind == "cnp"]
    if not cnps:
        return None
    hi = max(r.cap for r in cnps)
    if _cnp_count(cnps, hi) > budget:
        return None
    lo = 1
    while lo < hi:
        mid = (lo + hi) // 2
        if _cnp_count(cnps, mid) <= budget:
            hi = mid
        else:
            lo = mid + 1
    return lo


def hwpr_maps(groups: list[list[Req]], order: MeshOrder, t: int, cuts: bool) -> None:
    """Raise :class:`NoFit` unless every hardware sequence maps at bound ``t``: its passes
    (:func:`.sequences.fill_passes`) keep the branches of each skip connection in their
    split's pass (:func:`.sequences.branch_split_pass`), and unless ``cuts`` need no
    sequence cut."""
    for reqs in groups:
        while reqs:
            try:
                passes = group_passes(reqs, order, t)
                split = branch_split_pass(reqs, passes) if len(passes) > 1 else None
                if split is not None:
                    raise branch_split_error(split)
                break
            except SequenceCut as cut:
                at = next(i for i, r in enumerate(reqs) if r.layer.name == cut.start)
                if not cuts or at == 0:
                    raise
                reqs = reqs[at:]


def hwpr_bound(groups: list[list[Req]], order: MeshOrder, max_filters: int) -> int | None:
    """HwPr bound on filters per NP, one for the whole model: the search of
    :func:`binary_bound` from ``max_filters`` (``MapConstraints.cnp_max_filters``, 512), a
    bound mapping when every run maps as one sequence (:func:`hwpr_maps`): halving while it
    fails, then a binary search below the first bound that maps, keeping each bound that maps
    as the upper end.  Raises :class:`NoFit` when nothing maps.

    Shown by Akida's own mapper: its HwPr mapping is its Minimal mapping at
    ``MapConstraints.cnp_max_filters = t`` for one t, and mapping at every t shows which
    (corpus models and hand-made ones, every device with partial reconfiguration):

    * AKD1500, 128, 256, 256 filters and a dense layer: t = 1 to 17 fail, t = 18 on map;
      HwPr takes 18 (the smallest that maps, as a binary search finds when failures all lie
      below the successes);
    * TwoNodesIPv2, four layers of 32 filters and a dense layer: t = 11 to 15 map (3 + 3 |
      3 + 3 + FNP3), 16 to 31 fail (2 NPs a layer fill the device; the dense layer's pass may
      not use the last layer's NPs, which hold both FNP slots), 32 on map; HwPr takes 32, as
      the search does (256 ... 32 map, 16, 24, 28, 30, 31 fail), not the smallest, 11;
    * a model with two hardware sequences takes one bound for both (AKD1500: a second
      sequence of 32-filter layers on 2 NPs each, from the first sequence's t = 17);
    * a bound whose passes split two branches of a skip connection fails (TwoNodesIPv2,
      48-filter layers around a Concatenate: t = 24 to 47 give Akida's "Hardware partial
      reconfiguration with layers on the second branch is not supported.", HwPr takes 48).

    A sequence cut fails a bound.  When no bound maps every run as one sequence, the
    mapping (:func:`..map_model`) with ``hw_only`` reports the error of the mapping at the
    largest filters per NP, as Akida does, and without it searches again, a bound mapping
    when it needs no more sequences than the mapping at the largest filters per NP
    (:func:`.._hwpr_bound_with_cuts`).  Corpus: 871 of 872 HwPr mappings reproduced (the
    pass-budget rule this replaces: 669).
    """
    if not any(r.kind == "cnp" for g in groups for r in g):
        return None

    def error_at(t: int) -> NoFit | None:
        try:
            hwpr_maps(groups, order, t, cuts=False)
        except NoFit as exc:
            return exc
        return None

    return binary_bound(error_at, max_filters)


def binary_bound(error_at, max_filters: int) -> int:
    """The search of :func:`hwpr_bound` (``error_at(t)``: the failure at bound t, None when
    it maps): from ``max_filters``, halve the bound while it fails; below the first bound
    that maps, a binary search keeping each bound that maps as the upper end and moving the
    lower end past each that fails.  Raises the failure at ``max_filters`` when nothing maps.

    Akida's mapper on a TwoNodesIPv2 model whose passes split a skip connection's branches
    at 512 to 64: 32 maps, 16 maps, 8, 12, 14, 15 fail -> 16, as Akida's HwPr (a plain
    binary search over 1..512 would move past 256 and find nothing)."""
    lo, hi = 1, max_filters
    first = error_at(hi)
    found = first is None
    while lo < hi:
        mid = (lo + hi) // 2
        if error_at(mid) is None:
            hi, found = mid, True
        elif found:
            lo = mid + 1
        else:
            hi = mid
    if not found:
        raise first
    return hi


def device_mode(mode: str, device) -> str:
    """The mode the device maps in: HwPr is AllNps on the NSoC_v2 silicon (AKD1000), which has
    no partial reconfiguration (corpus: its HwPr mappings equal AllNps, 32 of 32 models)."""
    return "AllNps" if mode == "HwPr" and device.hw_version in NSOC_V2_HW_VERSIONS else mode


def allnps_sequence_t(reqs: list[Req], order: MeshOrder) -> int | None:
    """The largest AllNps bound on filters per NP among the passes of one sequence."""
    try:
        t = fewest_passes_t(reqs, order)
        groups = group_passes(reqs, order, t)
        if len(groups) > 1:
            return t
    except NoFit:
        return None
    ts = [spread_t(p.reqs, len(order.cnp_order) - fnp_need(p.reqs)) for p in groups]
    return max((t for t in ts if t is not None), default=None)


def plan_sequence(reqs: list[Req], order: MeshOrder, mode: str,
                  t_floor: int | None = None) -> list[list[LayerMapping]]:
    """Split a run of hardware layers into passes and allocate each pass (AllNps: at least
    ``t_floor`` filters per NP, the model's bound, :func:`allnps_model_t`; HwPr: the model's
    bound ``t_floor``, :func:`hwpr_bound`)."""
    mode = device_mode(mode, order.device)
    try:
        t_global = t_floor if mode == "HwPr" else None
        if mode == "AllNps":
            t_global = fewest_passes_t(reqs, order)
        groups = group_passes(reqs, order, t_global)
        if mode == "AllNps" and len(groups) > 1:
            mode = "AllNps-multipass"
        passes = []
        for p in groups:
            if mode == "AllNps":
                t = spread_t(p.reqs, len(order.cnp_order) - fnp_need(p.reqs))
            else:
                t = t_global
            if t is not None and t_floor is not None and mode.startswith("AllNps"):
                t = max(t, t_floor)
            # a pass spread at another bound than its filling is placed again at that bound
            fill = p if t == t_global else p.at_bound(lambda r, t=t: r.cap if t is None else t)
            passes.append(assign(fill.reqs, order.device, fill.t_of, fill.nps, fill.fnp2))
    except SequenceCut:
        raise
    except NoFit as exc:
        raise MappingError(str(exc)) from None
    return passes

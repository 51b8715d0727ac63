"""What carries over from one pass to the next inside a hardware sequence, and where a sequence
must end.

Two rules, each holding in every pass boundary of Akida's mappings (the corpus of
``tools/check_mapcorpus.py``: about 1500 boundaries, 2000 hardware sequences):

* **Hand-over** (:attr:`PassFill.excluded`): the first layer of a pass does not use the NPs of
  the layer that closed the previous pass (its outputs are still being read while the next
  pass is configured).  0 boundaries break it, while the later layers of the pass take those
  NPs again in about 1100 of them (e.g. three dense layers on two FNP3s: the second pass
  starts on the FNP3 the first pass did not end on, its second layer takes the other one).
* **FNP2 lock** (:attr:`PassFill.locked`): an NP that ran a dense layer as FNP2 (weights in
  external memory) is not used by any later pass of its sequence (0 of 250 sequences), so a
  sequence holds at most as many FNP2 layers as the device has FNP2s (one, but four on
  AKD1000: there two such layers share a pass).

A layer that does not fit a fresh pass under these rules ends the sequence: Akida starts a new
hardware sequence with it (:class:`SequenceCut`), or with ``hw_only`` reports the shortage of
that fresh pass, e.g. "Not enough hardware components of type CNP1 available. 5 are needed but
3 are available." (a 5-NP layer after a 5-NP layer on 8 NPs) or "... FNP2 available. 1 is
needed but 0 are available." (the only free FNP3 ended the previous pass, the FNP2 is locked).
Layers that fill the device (all CNPs, or every FNP) therefore run one per sequence.

Also here, each a function with its evidence: skip connections a cut would break run in
software (:func:`skip_block`, :func:`merge_cut_message`); a pass boundary between two
branches is refused (:func:`branch_split_pass`); AKD1000 sequences are one pass
(:func:`fill_passes`); the AllNps bound with the fewest sequences, then passes
(:func:`fewest_passes_t`), and its fall-back (:func:`device_fit_t`).
"""
from __future__ import annotations

from .allocate import MeshOrder, NoFit, hand_over_order, not_enough
from .constraints import NSOC_V2_HW_VERSIONS
from .requirements import Req

NP_KINDS = ("cnp", "fnp")


class SequenceCut(NoFit):
    """``layer`` fits no fresh pass of the current sequence: a new sequence starts at layer
    ``start`` (``layer`` or the skip layers just before it)."""

    def __init__(self, layer: str, message: str, start: str | None = None,
                 in_pass: str = ""):
        super().__init__(layer, message)
        self.start = start or layer
        self.in_pass = in_pass or message    # the shortage in the pass it did not fit


class PassFill:
    """The NPs one pass has taken so far (the mapper's one placement; :func:`.allocate.assign`
    writes the layer mappings of the idents chosen here): CNP layers take the first free CNPs
    of the mesh order (:class:`.allocate.MeshOrder`), then each dense layer the first free
    FNP3 (weights fitting) else the first free FNP2.  ``locked`` NPs are not used;
    ``excluded`` NPs are not used by the first layer holding NPs (hand-over rule)."""

    def __init__(self, order: MeshOrder, t_of, locked: frozenset = frozenset(),
                 excluded: frozenset = frozenset()):
        self.order, self.t_of = order, t_of
        self.locked, self.excluded = locked, excluded
        self.free = order.free_cnps(locked)
        self.cursor = 0               # free[:cursor] are taken by CNP layers
        self.reqs: list[Req] = []
        self.nps: dict = {}           # layer name -> idents
        self.fnp2: set = set()        # idents used as FNP2
        self.first: str | None = None  # the first layer holding NPs
        self.has_fnp = False           # a dense layer holds an FNP

    def _place_fnps(self, reqs, cnp_taken: set, first: str | None) -> tuple[dict, set]:
        used = cnp_taken | self.locked
        out, fnp2 = {}, set()
        for r in reqs:
            if r.kind != "fnp":
                continue
            skip = used | self.excluded if r.layer.name == first else used
            f3 = next((i for i in self.order.fnp3 if i not in skip), None) if r.fnp3_fits \
                else None
            f2 = None if f3 is not None else next(
                (i for i in self.order.fnp2 if i not in skip), None)
            if f3 is None and f2 is None:
                raise NoFit(r.layer.name, not_enough("FNP2", 1, 0))
            ident = f3 if f3 is not None else f2
            used.add(ident)
            if f2 is not None:
                fnp2.add(ident)
            out[r.layer.name] = [ident]
        return out, fnp2

    def add(self, r: Req, before: tuple = ()) -> None:
        """Place ``r``, preceded by the layers without NPs ``before`` (raises :class:`NoFit`
        with Akida's shortage, the pass unchanged)."""
        first = self.first
        if first is None and r.kind in NP_KINDS:
            first = r.layer.name
        cnp = {}
        free, cursor = self.free, self.cursor
        if r.kind == "cnp":
            need = r.count(self.t_of(r))
            if first == r.layer.name and self.excluded:
                n_free = sum(1 for i in free if i not in self.excluded)
                if n_free < need:
                    raise NoFit(r.layer.name, not_enough("CNP1", need, n_free))
                free = hand_over_order(free, self.excluded, need)
            elif cursor + need > len(free):
                raise NoFit(r.layer.name, not_enough("CNP1", need, len(free) - cursor))
            cnp[r.layer.name] = free[cursor:cursor + need]
            cursor += need
        placed = None   # (FNP idents per dense layer, the idents used as FNP2)
        if r.kind == "fnp" or self.has_fnp:
            placed = self._place_fnps(self.reqs + [r], set(free[:cursor]), first)
        self.first, self.free, self.cursor = first, free, cursor
        self.has_fnp = self.has_fnp or r.kind == "fnp"
        self.reqs.extend(before)
        self.reqs.append(r)
        self.nps.update(cnp)
        if placed is not None:
            self.nps.update(placed[0])
            self.fnp2 = placed[1]

    def last_nps(self) -> frozenset:
        """NPs of the last layer holding NPs (excluded from the next pass's first layer)."""
        held = [q for q in self.reqs if q.layer.name in self.nps]
        return frozenset(self.nps[held[-1].layer.name]) if held else frozenset()

    def at_bound(self, t_of) -> PassFill:
        """The same layers placed again at other bounds on filters per NP ``t_of``, with this
        pass's ``locked`` and ``excluded`` NPs (an AllNps pass spread over the free NPs)."""
        fill = PassFill(self.order, t_of, self.locked, self.excluded)
        for r in self.reqs:
            fill.add(r)
        return fill

    def next_pass(self) -> PassFill:
        """An empty pass following this one in the same sequence."""
        return PassFill(self.order, self.t_of, self.locked | frozenset(self.fnp2),
                        self.last_nps())


def fill_passes(reqs: list[Req], order: MeshOrder, t_of) -> list[PassFill]:
    """Greedy passes of one sequence: a pass closes when the next layer does not fit it.
    Skip layers (Add, Concatenate) at a pass boundary go with the next pass, with the layer
    reading them (corpus: of 77 pass boundaries next to a merge, the merge always starts the
    next pass, never ends the previous one).  Raises
    :class:`SequenceCut` when a layer fits no fresh pass, :class:`NoFit` when it does not fit
    even the first pass of the sequence.  Devices on the NSoC_v2 silicon (AKD1000) have no
    partial reconfiguration: a sequence is one pass, a layer that does not fit it starts the
    next sequence (corpus: no AKD1000 sequence of more than one pass; a 256-wide v1 model's
    ninth 8-NP layer starts a second sequence, hw_only "8 are needed but 6 are available",
    the 78 CNPs less 9 x 8)."""
    passes = [PassFill(order, t_of)]
    single_pass = order.device.hw_version in NSOC_V2_HW_VERSIONS
    pending: list[Req] = []          # skip layers waiting for the next layer holding NPs
    for r in reqs:
        if r.kind == "skip":
            pending.append(r)
            continue
        try:
            passes[-1].add(r, tuple(pending))
        except NoFit as exc:
            if not passes[-1].nps:
                raise
            if single_pass:
                raise SequenceCut(r.layer.name, exc.message,
                                  (pending or [r])[0].layer.name) from exc
            nxt = passes[-1].next_pass()
            try:
                nxt.add(r, tuple(pending))
            except NoFit as cut:
                raise SequenceCut(r.layer.name, cut.message, (pending or [r])[0].layer.name,
                                  exc.message) from exc
            passes.append(nxt)
        pending = []
    passes[-1].reqs.extend(pending)
    # layers without NPs that start a pass belong to the previous pass (e.g. the Dequantizer)
    for g in range(len(passes) - 1, 0, -1):
        if all(q.kind == "none" for q in passes[g].reqs):
            passes[g - 1].reqs.extend(passes.pop(g).reqs)
    return passes


def run_pass_count(reqs: list[Req], order: MeshOrder,
                   t: int | None) -> tuple[int, int, int]:
    """(sequences, passes, sequences whose passes split two branches of a skip connection,
    :func:`branch_split_pass`) of a run of hardware layers at bound ``t`` (each layer at most
    ``t`` filters per NP, None: its largest), over the sequences its cuts make; raises
    :class:`NoFit` when a layer fits no fresh sequence."""
    def t_of(r: Req) -> int:
        return r.cap if t is None else t

    splits = 0

    def counted(group: list[Req]) -> int:
        nonlocal splits
        passes = fill_passes(group, order, t_of)
        if len(passes) > 1 and branch_split_pass(group, passes) is not None:
            splits += 1
        return len(passes)

    n_seq, total = 1, 0
    while reqs:
        try:
            total += counted(reqs)
            break
        except SequenceCut as cut:
            at = next(i for i, r in enumerate(reqs) if r.layer.name == cut.start)
            if at == 0:
                raise NoFit(cut.layer, cut.message) from None
            total += counted(reqs[:at])
            n_seq += 1
            reqs = reqs[at:]
    return n_seq, total, splits


def fewest_passes_t(reqs: list[Req], order: MeshOrder) -> int | None:
    """AllNps bound on filters per NP of a run of hardware layers: the smallest ``t`` whose
    packing needs the fewest passes (over its sequences), then the fewest sequences (None
    without CNP layers, or to keep the fewest-NP packing's cuts).

    The fewest-NP packing (each layer at its largest filters per NP, as Minimal) usually needs
    the fewest, but not always once the hand-over rule cuts sequences: corpus, TwoNodesIPv2, a
    256-filter layer then a 7-NP layer: Minimal needs 3 passes (the 7-NP layer alone in a
    second pass, the dense layer in a second sequence), Akida's AllNps 2 sequences of one pass
    at 128 filters per NP; FourNodesIPv2, a 10-layer v2 model: Minimal fills one pass and cuts
    before its dense layers, Akida's AllNps keeps one sequence of two passes at 48 filters per
    NP.  Where the fewest-NP packing is also the fewest-pass one this keeps its passes (AKD1500
    AkidaNet 1.0 on silicon: 224, AllNps 117 NPs in 4 passes as Minimal; 160, 79 NPs in 3
    passes against Minimal's 69).  Only bounds at which some layer's NP count changes are tried
    (``ceil(F / k)``)."""
    cache = order.fewest_passes_t
    key = (order.one_sequence_first, *(r.layer.name for r in reqs))
    if key not in cache:
        cache[key] = _fewest_passes_t(reqs, order)
    return cache[key]


def _fewest_passes_t(reqs: list[Req], order: MeshOrder) -> int | None:
    cnps = [r for r in reqs if r.kind == "cnp"]
    if not cnps:
        return None
    candidates = sorted({min(-(-r.filters // k), r.cap) for r in cnps
                         for k in range(1, r.filters + 1)})
    try:
        n_cap = run_pass_count(reqs, order, None)
    except NoFit:
        n_cap = None
    if n_cap == (1, 1, 0):
        # one pass at the largest bound: the smallest bound still fitting one pass (fewer
        # filters per NP only add NPs)
        lo, hi = 0, len(candidates) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            try:
                ok = run_pass_count(reqs, order, candidates[mid]) == (1, 1, 0)
            except NoFit:
                ok = False
            if ok:
                hi = mid
            else:
                lo = mid + 1
        return candidates[lo]
    counts = {}
    for t in candidates:
        try:
            counts[t] = run_pass_count(reqs, order, t)
        except NoFit:
            continue
    if not counts:
        return None
    # the fewest sequences, then passes; among those bounds the smallest whose passes keep
    # the branches of each skip connection whole (corpus: FourNodesIPv2 and SixNodesIPv2 keep
    # a Concatenate's branches in one pass, [7, 3, 2] layers per pass, not [7, 2, 3]), else
    # the smallest (TwoNodesIPv2: no such bound; Akida refuses the split)
    # the fewest passes over all sequences, then the fewest sequences (blind corpus 2 and
    # Akida's mapper on hand-made TwoNodesIPv2/FourNodesIPv2 models: 8 or 16 CNP layers filling
    # the mesh at their largest filters per NP, then an FNP2 dense layer that no fresh pass can
    # take (the hand-over rule): one pass and the dense layers in a second sequence, 2 passes,
    # not one sequence of 4 or more passes at a smaller bound; a tie keeps one sequence: train
    # corpus, FourNodesIPv2, 2 passes at 48 filters per NP against Minimal's 2 sequences).
    # hw_only, which cannot cut, ranks sequences first (:func:`..map_model`).
    def rank(n: tuple[int, int, int]) -> tuple[int, int]:
        return (n[0], n[1]) if order.one_sequence_first else (n[1], n[0])

    fewest = min(rank(n) for n in counts.values())
    best = [t for t, n in counts.items() if rank(n) == fewest]
    t_best = next((t for t in best if not counts[t][2]), best[0])
    # where the fewest-NP packing already needs the fewest sequences and passes, its cuts
    # stand (corpus, FourNodesIPv2: two 8-NP layers filling the mesh, then dense layers in a
    # second sequence, not the first layer alone at a smaller bound); each sequence is then
    # spread on its own
    if n_cap is not None and rank(n_cap) == fewest and n_cap[0] > 1:
        return None
    return t_best


def device_fit_t(reqs: list[Req], order: MeshOrder) -> int:
    """The smallest bound on filters per NP at which every CNP layer of ``reqs`` fits the
    device's CNPs (its largest filters per NP when none does)."""
    n_cnp = len(order.cnp_order)
    cnps = [r for r in reqs if r.kind == "cnp"]
    top = max((r.cap for r in cnps), default=1)
    return next((t for t in range(1, top + 1) if all(r.count(t) <= n_cnp for r in cnps)), top)


def skip_block(reqs: list[Req], at: int) -> tuple[int, int] | None:
    """(first, last) indices in ``reqs`` of the skip connection a sequence cut before
    ``reqs[at]`` would break (None: it breaks none): from the layer where the branches split
    to the layer reading their merge.  A hardware sequence holds a skip connection whole:
    where a cut falls inside one, Akida runs the whole block in software and starts the next
    hardware sequence after it (corpus, TwoNodesIPv2: a 256-filter split layer needing the
    whole mesh, its branch and the layer after the Add in one software sequence; a 7-NP
    branch layer whose Add's reader needs 7 more).  With hw_only a cut at the merge is
    :func:`merge_cut_message`."""
    layers = [r.layer for r in reqs]
    merges = [m for m, r in enumerate(reqs) if r.kind == "skip"]
    for first, _, reader in skip_spans(layers, merges):
        last = len(reqs) - 1 if reader is None else reader
        if first < at <= last:
            return first, last
    return None


def skip_spans(layers: list, merges: list[int]) -> list[tuple[int, int, int | None]]:
    """Per merge ``layers[m]`` (``m`` in ``merges``): (the index of its split, the last layer
    every inbound of the merge descends from; ``m``; the index of the first layer reading the
    merge, None when none does)."""
    index = {lay.name: i for i, lay in enumerate(layers)}
    spans = []
    for m in merges:
        _, common = _merge_ancestry(layers, index, layers[m])
        first = max((index[n] for n in common), default=0)
        reader = next((j for j in range(m + 1, len(layers))
                       if layers[m].name in layers[j].inbounds), None)
        spans.append((first, m, reader))
    return spans


def _ancestors(layers: list, index: dict, name: str) -> set:
    out, stack = set(), [name]
    while stack:
        for p in layers[index[stack.pop()]].inbounds:
            if p in index and p not in out:
                out.add(p)
                stack.append(p)
    return out


def _merge_ancestry(layers: list, index: dict, merge) -> tuple[list[set], set]:
    """Per inbound of layer ``merge`` within ``layers``, that inbound and its ancestors; and the
    layers common to all of them (the split of the skip connection and what precedes it)."""
    anc = [_ancestors(layers, index, i) | {i} for i in merge.inbounds if i in index]
    return anc, set.intersection(*anc) if anc else set()


def branch_split_pass(reqs: list[Req], passes: list) -> str | None:
    """The split layer of a skip connection whose two branches both hold layers and that a
    pass boundary cuts: a branch layer in a later pass than the split (None: none).  Akida
    refuses it: "Hardware partial reconfiguration with layers on the second branch is not
    supported." (corpus, TwoNodesIPv2 Minimal and hw_only: a split, a 1x1 conv on the first
    branch, a depthwise on the second opening the next pass).  In every mapping Akida makes,
    such branches stay in their split's pass (346 branch layers), while a branch beside an
    identity shortcut may run in later passes (69 layers)."""
    layers = [r.layer for r in reqs]
    index = {lay.name: i for i, lay in enumerate(layers)}
    pass_of = {(lm.layer.name if isinstance(lm, Req) else lm.layer): k
               for k, p in enumerate(passes)
               for lm in (p.reqs if isinstance(p, PassFill) else p)}
    for r in reqs:
        if r.kind != "skip":
            continue
        anc, common = _merge_ancestry(layers, index, r.layer)
        if not common:
            continue
        split = max(common, key=index.__getitem__)
        before = _ancestors(layers, index, split) | {split}
        branches = [a - before for a in anc]
        if len(branches) < 2 or not all(branches):
            continue
        if any(pass_of[n] > pass_of[split] for b in branches for n in b):
            return split
    return None


#: Akida's refusal of a pass boundary between two branches (:func:`branch_split_pass`).
BRANCH_SPLIT_MESSAGE = ("Hardware partial reconfiguration with layers on the second branch is "
                        "not supported.")


def branch_split_error(split: str) -> NoFit:
    """Akida's error for a pass boundary that :func:`branch_split_pass` finds after ``split``."""
    return NoFit(split, BRANCH_SPLIT_MESSAGE)


def merge_cut_message(merge: Req, cut: SequenceCut) -> str:
    """Akida's hw_only error when the layer reading a merge fits no pass with it (corpus,
    TwoNodesIPv2: an Add whose reader needs 7 NPs where 1 is left)."""
    return (f"Cannot map layer '':\n  * Bad mapping on skip connection. Several branches.\n"
            f"  * Layer '{merge.layer.name}': Bad mapping on skip connection. No valid merge "
            f"layer. {merge.layer.TYPE} layer requires an outbound that is mappable on a CNP.\n"
            f"  * Layer '{cut.layer}': {cut.in_pass}")


__all__ = ["BRANCH_SPLIT_MESSAGE", "PassFill", "SequenceCut", "branch_split_error",
           "branch_split_pass", "device_fit_t", "fewest_passes_t", "fill_passes",
           "merge_cut_message", "run_pass_count", "skip_block", "skip_spans"]

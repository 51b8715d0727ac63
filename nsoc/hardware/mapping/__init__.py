"""Placing a model on a device: layers to NP components, sequences and passes.

The rules reproduce BrainChip's mapper (akida 2.19) on its virtual devices; each is a named
function or table whose comment says what in Akida's mappings shows it (the reference cases
and the mapping corpus that ``tools/check_mapcorpus.py`` compares with).  Modules:

* :mod:`.constraints`: modes, layer kinds, ``MapConstraints``, layer geometry;
* :mod:`.rules`: when a layer cannot run on the NPs, with Akida's wording;
* :mod:`.memory`: input, weight and external memory per NP;
* :mod:`.requirements`: NP kind, filters per NP and column bands of a layer;
* :mod:`.allocate`: NP order and the allocation of one pass;
* :mod:`.passes`: pass formation in the AllNps, Minimal and HwPr modes;
* :mod:`.sequences`: what a pass hands over to the next and where a hardware sequence
  ends (a layer that fits no fresh pass starts a new one);
* :mod:`.program`: program sizes and the smallest device a model fits on
  (:func:`compute_min_device`).

Layers that cannot run on the device run in software (their own sequence) unless
``hw_only``; input layers follow the next layer and the Dequantizer the previous one.  A run
of hardware layers is cut into sequences where a layer fits no fresh pass
(:func:`_hardware_groups`); with ``hw_only`` the first failure in layer order is reported
(:func:`_first_error`).
"""
from __future__ import annotations

from ...errors import MappingError
from ..device import get_device
from ..types import Device, LayerMapping, Mapping, Sequence
from .allocate import MeshOrder, NoFit, not_enough
from .constraints import MODES, SKIP_TYPES, MapConstraints
from .memory import (
    assign_skip_memory,
    cnp_input_size,
    cnp_weight_size,
    dense_inputs_across_passes,
    fnp_external_size,
    fnp_input_size,
    fnp_weight_size,
    hrc_weight_size,
)
from .passes import (
    allnps_sequence_t,
    binary_bound,
    device_mode,
    group_passes,
    hwpr_bound,
    plan_sequence,
)
from .program import compute_min_device, program_size
from .requirements import Req, requirement
from .rules import (
    NeedsOwnSequence,
    Unmappable,
    max_pool_refusal,
    max_pooled,
    pooled_before_refusal,
)
from .sequences import (
    SequenceCut,
    branch_split_error,
    branch_split_pass,
    device_fit_t,
    merge_cut_message,
    skip_block,
    skip_spans,
)


class _LayerRefused(MappingError):
    """hw_only: a layer rule refuses the layer at ``index``; ``reqs`` hold the layers before
    it (their sequences may fail first, :func:`_first_error`)."""

    def __init__(self, message: str, index: int, reqs: dict):
        super().__init__(message)
        self.index, self.reqs = index, reqs


def _first_error(model, exc: _LayerRefused, order: MeshOrder, mode: str) -> MappingError:
    """The error Akida reports with hw_only: it maps layer after layer, so a sequence that
    fails before the refused layer is reported instead (corpus, TwoNodesIPv2: "Not enough
    hardware components of type CNP1 available. 8 are needed but 6 are available." for a
    6th layer, not the global-pooling height limit of the 11th)."""
    before = [exc.reqs[lay.name] for lay in model.layers[:exc.index] if lay.name in exc.reqs]
    if any(r.kind in ("cnp", "fnp") for r in before):
        try:
            _hardware_groups(before, order, mode, True)
        except MappingError as earlier:
            return earlier
    return MappingError(str(exc))


def _backends(model, device: Device, cons: MapConstraints, order: MeshOrder, hw_only: bool):
    """({layer name: Req} of the hardware layers, backend of every layer).  With hw_only the
    first refused layer raises :class:`_LayerRefused`."""
    reqs: dict[str, Req] = {}
    backends: list[str | None] = []
    n_cnp = len(order.cnp_order)
    for index, layer in enumerate(model.layers):
        if layer.TYPE == "InputData" and device.ip_version == "v1":
            backends.append(None)  # v1 input data are in no sequence (corpus, v1 legacy)
            continue
        try:
            req = requirement(layer, model, device, cons)
            # after the layer's own rules (probed: a 3-wide or 8-bit-weight max-pooling layer
            # before a dense one gets the layer rule's message)
            msg = max_pool_refusal(layer, model, device, cons)
            if msg is not None:
                if hw_only:
                    raise _LayerRefused(msg, index, reqs)
                raise Unmappable(msg)
            if req.kind == "cnp" and not hw_only and req.count(req.cap) > n_cnp:
                raise Unmappable(not_enough("CNP1", req.count(req.cap), n_cnp))
            if req.kind == "fnp" and not req.fnp3_fits and not order.fnp2:
                raise Unmappable(not_enough("FNP2", 1, 0))
            reqs[layer.name] = req
            backends.append("Hardware")
        except NeedsOwnSequence as exc:
            if hw_only:
                raise _LayerRefused(f"Cannot map layer '{layer.name}'. {exc}", index,
                                    reqs) from None
            reqs[layer.name] = requirement(layer, model, device, cons, own_sequence=True)
            backends.append("Hardware*")
        except Unmappable as exc:
            if hw_only:
                message = pooled_before_refusal(layer, str(exc), model, device.ip_version)
                raise _LayerRefused(message or f"Cannot map layer '{layer.name}'. {exc}", index,
                                    reqs) from None
            backends.append("Software")
    layers = model.layers
    # a skip connection (Add, Concatenate) runs where its inbounds and its outbound run: in
    # software when one of them does (corpus: between software layers, Akida's whole model is
    # one software sequence)
    position = {lay.name: i for i, lay in enumerate(layers)}
    for i, layer in enumerate(layers):
        if layer.TYPE in ("Add", "Concatenate") and backends[i] == "Hardware":
            around = [backends[position[n]] for n in layer.inbounds if n in position]
            if i + 1 < len(layers):
                around.append(backends[i + 1])
            if "Software" in around:
                backends[i] = "Software"
    _software_fallback(layers, backends, device.ip_version)
    # layers without NPs follow their neighbour: input layers the next, the Dequantizer the last
    for i, layer in enumerate(layers):
        if layer.TYPE in ("Quantizer", "InputData") and backends[i] is not None:
            backends[i] = next((backends[j] for j in range(i + 1, len(layers))
                                if layers[j].TYPE not in ("Quantizer", "InputData")
                                and backends[j] is not None),
                               backends[i])
    for i in range(len(layers) - 1, 0, -1):
        if layers[i].TYPE == "Dequantizer":
            backends[i] = "Hardware" if backends[i - 1] == "Hardware*" else backends[i - 1]
    return reqs, backends


def _skip_blocks(layers) -> list[range]:
    """The layers of each skip connection: from its split (the last layer every inbound of the
    merge descends from) to the first layer reading the merge (:func:`.skip_spans`)."""
    merges = [m for m, lay in enumerate(layers) if lay.TYPE in SKIP_TYPES]
    return [range(first, (m if reader is None else reader) + 1)
            for first, m, reader in skip_spans(layers, merges)]


def _software_fallback(layers, backends: list, ip_version: str) -> None:
    """Send to software what a software layer cannot be cut from: the skip connections around
    it (:func:`_skip_block_to_software`) and a max-pooled layer feeding it (its output cannot
    end a hardware sequence: Akida's mapper probed on AKD1500 and TwoNodesIPv2, a pooled
    convolution before a refused 9x9 one runs in software with it), until nothing changes."""
    while _skip_block_to_software(layers, backends) | \
            _pooled_to_software(layers, backends, ip_version):
        pass


def _pooled_to_software(layers, backends: list, ip_version: str) -> bool:
    changed = False
    for i, layer in enumerate(layers):
        if backends[i] == "Hardware" and max_pooled(layer, ip_version) and any(
                backends[j] == "Software" for j, q in enumerate(layers)
                if layer.name in q.inbounds):
            backends[i] = "Software"
            changed = True
    return changed


def _skip_block_to_software(layers, backends: list) -> bool:
    """A skip connection holding a software layer anywhere from its split to the layer reading
    its merge runs whole in software, as when a sequence cut would break it (final corpus,
    every v2 device: a 4-bit identity convolution reading a Concatenate takes the split, both
    branches and the merge to software; Akida's mapper probed on TwoNodesIPv2 with a refused
    9x9 Conv2D as the split, either branch layer or the reader: the same five layers in
    software each time)."""
    changed = False
    for block in _skip_blocks(layers):
        kinds = {backends[j] for j in block}
        if "Software" in kinds and kinds & {"Hardware", "Hardware*"}:
            for j in block:
                if backends[j] is not None:
                    backends[j] = "Software"
            changed = True
    return changed


def map_model(model, device, hw_only: bool = False, mode: str = "AllNps",
              constraints: MapConstraints | None = None) -> Mapping:
    """Map ``model`` onto ``device`` (a Device, a built-in name or ``custom:...``) and return
    the :class:`~nsoc.hardware.types.Mapping`; the model is not changed.

    Raises MappingError on a version mismatch, an unknown mode, or (``hw_only=True``) the first
    layer that cannot run on the device, with Akida's message.
    """
    if mode not in MODES:
        raise MappingError(f"unknown mapping mode {mode!r}; use one of {', '.join(MODES)}")
    dev = get_device(device)
    check_version(model, dev)
    try:
        return _map_model(model, dev, hw_only, mode, constraints)
    except MappingError as exc:
        if not (hw_only and mode == "AllNps" and device_mode("HwPr", dev) == "HwPr"
                and "Not enough hardware components" in str(exc)):
            raise
        # hw_only AllNps whose packing (fewest passes first) needs a sequence cut: where HwPr
        # maps in one sequence, Akida's AllNps takes the fewest sequences, then passes; else
        # it reports the shortage (Akida's mapper on hand-made models, 8 x 24-filter CNP
        # layers then an FNP2 dense layer: TwoNodesIPv2 [4, 2, 2, 5] layers per pass;
        # 16 of them on FourNodesIPv2 [7, 5, 5, 4] (HwPr [4, 2, 2, 2, 2, 2, 2, 5]); with
        # 16-filter layers, whose HwPr search finds no one-sequence bound on TwoNodesIPv2:
        # the FNP2 shortage, as in 3 models of blind corpus 2)
        try:
            _map_model(model, dev, True, "HwPr", constraints)
            return _map_model(model, dev, True, mode, constraints, one_sequence_first=True)
        except MappingError:
            raise exc from None


def _map_model(model, dev: Device, hw_only: bool, mode: str,
               constraints: MapConstraints | None, one_sequence_first: bool = False) -> Mapping:
    cons = constraints or MapConstraints()
    order = MeshOrder(dev)
    order.one_sequence_first = one_sequence_first
    try:
        reqs, backends = _backends(model, dev, cons, order, hw_only)
    except _LayerRefused as exc:
        raise _first_error(model, exc, order, mode) from None
    runs: list[tuple[str, list]] = []
    for layer, backend in zip(model.layers, backends, strict=False):
        if backend is None:
            continue
        if backend == "Hardware*":  # starts a hardware sequence of its own
            runs.append(("Hardware", [layer]))
        elif runs and runs[-1][0] == backend:
            runs[-1][1].append(layer)
        else:
            runs.append((backend, [layer]))
    # per run: the software run, or its hardware sequences (requirements, None) and the
    # skip blocks sent to software (layers, "Software")
    planned: list[tuple[list, object]] = []
    for backend, run in runs:
        if backend == "Software":
            planned.append((run, "Software"))
        elif device_mode(mode, dev) == "HwPr":
            # HwPr first tries each run as one sequence (cut at the model's bound only)
            planned.append(([reqs[lay.name] for lay in run], None))
        else:
            planned += _cut_at_cap([reqs[lay.name] for lay in run], order, mode, hw_only)
    hw_groups = [g for g, kind in planned if kind is None]
    if device_mode(mode, dev) == "AllNps":
        t_floor = allnps_model_t(hw_groups, order)
    elif mode == "HwPr":
        try:
            t_floor = hwpr_bound(hw_groups, order, cons.cnp_max_filters)
        except NoFit as exc:
            if hw_only:
                # Akida's wording: the error of the mapping at the largest filters per NP
                for g in hw_groups:
                    _cut_at_cap(g, order, mode, hw_only)
                raise MappingError(str(exc)) from None
            try:
                t_floor = _hwpr_bound_with_cuts(hw_groups, order, cons.cnp_max_filters)
            except MappingError:
                # no bound maps at all: Akida maps as AllNps (corpus and dev corpus, two
                # TwoNodesIPv2 models whose Minimal and hw_only HwPr mappings split a skip
                # connection's branches at every bound: their HwPr mapping is their AllNps)
                allnps = map_model(model, dev, False, "AllNps", constraints)
                return Mapping(dev, mode, False, allnps.sequences)
    else:
        t_floor = None
    segments: list[tuple[list, list | None]] = []   # (layers, None) sw, (reqs, passes) hw
    for g, kind in planned:
        # (at the model's bound a sequence may cut again)
        parts = [(g, None)] if kind else [
            (q, ps) if ps is not None else ([r.layer for r in q], None)
            for q, ps in _hardware_groups(g, order, mode, hw_only, t_floor)]
        for q, passes in parts:
            if passes is None and segments and segments[-1][1] is None:
                segments[-1][0].extend(q)   # consecutive software layers: one sequence
            else:
                segments.append((list(q), passes))
    sequences = []
    for q, passes in segments:
        if passes is None:
            sequences.append(Sequence(_seq_name("SW", [lay.name for lay in q]), "Software",
                                      [[LayerMapping(lay.name, lay.TYPE) for lay in q]]))
            continue
        seq = Sequence(_seq_name("HW", [r.layer.name for r in q]), "Hardware", passes)
        assign_skip_memory(seq, model)
        dense_inputs_across_passes(seq, model)
        seq.program_size = program_size(seq, model, dev.ip_version, dev.hw_version)
        sequences.append(seq)
    return Mapping(dev, mode, bool(hw_only), tuple(sequences))


def _cut_at_cap(reqs, order: MeshOrder, mode: str, hw_only: bool) -> list[tuple[list, object]]:
    """The hardware sequences of a run at each layer's largest filters per NP (requirements,
    None) and the skip blocks sent to software (layers, "Software")."""
    return [(g, None) if p is not None else ([r.layer for r in g], "Software")
            for g, p in _hardware_groups(reqs, order, mode, hw_only)]


def _hwpr_bound_with_cuts(groups: list[list], order: MeshOrder, max_filters: int) -> int:
    """HwPr bound (without ``hw_only``) of a model that no bound maps with each run in one
    sequence: the binary search of :func:`.passes.hwpr_bound`, a bound mapping when its
    Minimal mapping (sequence cuts and skip blocks in software included, no pass boundary
    between two branches) has no more sequences than at ``max_filters`` (corpus,
    TwoNodesIPv2, a run that every bound cuts at least once: 2 sequences at 512 and from 52
    on, 3 or 4 at 33 to 51; HwPr takes 52).  12 of the 13 corpus mappings that need this
    agree (cutting the runs as at 512 first, then searching the parts: 11)."""
    def sequences_at(t: int) -> int:
        parts = [x for g in groups for x in _hardware_groups(g, order, "HwPr", False, t)]
        split = next((s for s in (branch_split_pass(q, ps) for q, ps in parts
                                  if ps is not None and len(ps) > 1) if s is not None), None)
        if split is not None:
            raise MappingError(str(branch_split_error(split)))
        return len(parts)

    n_max = sequences_at(max_filters)

    def error_at(t: int) -> Exception | None:
        try:
            n = sequences_at(t)
        except MappingError as exc:
            return exc
        return None if n <= n_max else MappingError(f"{n} sequences where {n_max} do")

    return binary_bound(error_at, max_filters)


def allnps_model_t(groups: list[list], order: MeshOrder) -> int | None:
    """AllNps spreads every hardware sequence at one bound on filters per NP: the largest of
    the sequences' own bounds (corpus: a 64-filter layer alone in a sequence before a software
    layer gets the filters per NP of the 8-layer sequence after it, 64 on TwoNodesIPv2, 32 on
    FourNodesIPv2, 22 on SixNodesIPv2, 6 on AKD1000, where alone it would spread over the
    whole mesh).  HwPr also has one bound for the model (:func:`.passes.hwpr_bound`)."""
    ts = [allnps_sequence_t(g, order) for g in groups]
    return max((t for t in ts if t is not None), default=None)


def _hardware_groups(reqs, order: MeshOrder, mode: str, hw_only: bool,
                     t_floor: int | None = None) -> list[tuple[list, list | None]]:
    """The hardware sequences of a run of hardware layers (their requirements) and their
    passes: a new sequence starts at each layer that fits no fresh pass of the current one
    (:mod:`.sequences`; with ``hw_only`` Akida reports that layer's shortage instead); a
    skip connection such a cut would break runs in software (passes None, :func:`skip_block`,
    with the layers without NPs before or after it at the ends of the run)."""
    if not reqs:
        return []
    try:
        passes = plan_sequence(reqs, order, mode, t_floor)
    except SequenceCut as exc:
        cut = exc
        if hw_only and device_mode(mode, order.device) == "AllNps":
            # Akida reports the fewest-NP packing's shortage (corpus, TwoNodesIPv2: the FNP2
            # a dense layer lacks after a 7-NP layer, not the 128-filter packing's)
            try:
                group_passes(reqs, order, None)
            except SequenceCut as first_cut:
                cut = first_cut
        at = next(i for i, r in enumerate(reqs) if r.layer.name == cut.start)
        block = skip_block(reqs, at)
        if hw_only and block is not None and reqs[at].kind == "skip":
            raise MappingError(merge_cut_message(reqs[at], cut)) from None
        if hw_only or (at == 0 and block is None):
            raise MappingError(str(cut)) from None
        if block is None:
            # a max-pooled layer cannot end a sequence: the cut sends it (and the pooled layers
            # just before it) to software (Akida's mapper on FourNodesIPv2: a pooled 7x7 Conv2D
            # filling the mesh, between a software layer and the rest, runs in software)
            pooled = at
            while pooled > 0 and max_pooled(reqs[pooled - 1].layer, order.device.ip_version):
                pooled -= 1
            if pooled == at:
                return _hardware_groups(reqs[:at], order, mode, hw_only, t_floor) + \
                    _hardware_groups(reqs[at:], order, mode, hw_only, t_floor)
            if all(r.kind == "none" for r in reqs[:pooled]):
                pooled = 0   # the input layers go with it
            return _hardware_groups(reqs[:pooled], order, mode, hw_only, t_floor) + \
                [(reqs[pooled:at], None)] + \
                _hardware_groups(reqs[at:], order, mode, hw_only, t_floor)
        first, last = block
        if all(r.kind == "none" for r in reqs[:first]):
            first = 0   # the input layers go with the block
        while last + 1 < len(reqs) and reqs[last + 1].kind == "none":
            last += 1
        return _hardware_groups(reqs[:first], order, mode, hw_only, t_floor) + \
            [(reqs[first:last + 1], None)] + \
            _hardware_groups(reqs[last + 1:], order, mode, hw_only, t_floor)
    # (HwPr chooses its bound among those keeping such branches whole: not an error)
    split = branch_split_pass(reqs, passes) if len(passes) > 1 and mode != "HwPr" else None
    if split is not None and (hw_only or mode == "Minimal"):
        raise MappingError(str(branch_split_error(split)))
    if split is not None and mode == "AllNps":
        return _branch_fallback(reqs, order)
    return [(reqs, passes)]


def _branch_fallback(reqs, order: MeshOrder) -> list[tuple[list, list | None]]:
    """AllNps without hw_only where every packing splits two branches of a skip connection:
    Akida maps the run as Minimal at the smallest bound at which every layer fits the mesh,
    a skip connection a sequence cut breaks running in software (corpus, TwoNodesIPv2: a
    64-wide model of 32-filter layers at 4 filters per NP, each layer a sequence of 8 NPs,
    the two-branch block in software; the same in an independent 80x80 model at 8 filters
    per NP, its first two-branch block kept whole in one pass)."""
    return _hardware_groups(reqs, order, "HwPr", False, device_fit_t(reqs, order))


def _seq_name(prefix: str, names: list[str]) -> str:
    return f"{prefix}/{names[0]}" if len(names) == 1 else f"{prefix}/{names[0]}-{names[-1]}"


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
    "compute_min_device",
    "cnp_input_size",
    "cnp_weight_size",
    "fnp_external_size",
    "fnp_input_size",
    "fnp_weight_size",
    "hrc_weight_size",
    "map_model",
]

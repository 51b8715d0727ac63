"""The typed plan of one hardware pass: scheduler stages, packet groups, routes, cost laws.

A pass becomes scheduler stages in two steps: :func:`build_pass_plan` builds everything that
depends only on the mapped model, the parameters and the frame count (stages, routes, packet
groups, the :class:`~nsoc.kernels.timing.SchedulePlan` arrays and each NP component's cost
coefficients) and :func:`cached_plan` keeps it per mapping; :mod:`.rows` then computes the
per-row costs of the activations of one call.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np

from ...kernels.schedule import SchedulePlan, schedule_plan
from ...layers import Layer
from ..noc import Network
from .costs import ComponentWork, coefficients, weights_held
from .geometry import (
    Geometry,
    band_input_rows,
    band_output_rows,
    component_bands,
    layer_geometry,
)
from .kinds import SOFTWARE_TYPES, SOURCE_TYPES


@dataclass
class Stage:
    """One scheduler stage: an NP component of a layer, a DMA end, or a forwarding stage."""

    name: str
    layer: str | None
    np_type: str             # HRC, CNP1, CNP2, FNP2, FNP3; NONE (no NP), DMA_IN, DMA_OUT
    node: tuple | None       # mesh node (col, row)
    ident: tuple | None      # NP (col, row, id)
    in_rows: int
    out_rows: int
    needed: np.ndarray       # per output row: last input row it waits for (-1: none)
    in_band: tuple[int, int] | None = None  # input rows whose events it receives (None: all)


@dataclass
class LayerSpec:
    """A layer's stages (consecutive from ``first``) and what its NP components hold."""

    layer: Layer
    g: Geometry
    first: int
    c0: np.ndarray           # (K,) first output channel of each NP component
    c1: np.ndarray           # (K,) end of its channel range
    r0: np.ndarray           # (K,) first input row whose events it receives (band and halo)
    r1: np.ndarray           # (K,) end of its input rows
    o0: np.ndarray           # (K,) first output row it fires (its band's)
    o1: np.ndarray           # (K,) end of its output rows
    fnp2: np.ndarray         # (K,) bool: weights fetched from external memory
    coef_in: np.ndarray      # (K, len(COEF_IN)) cost coefficients per input row
    coef_out: np.ndarray     # (K, len(COEF_OUT)) cost coefficients per output row
    neurons: np.ndarray      # (K,) output neurons thresholded per frame
    dense_macs: np.ndarray   # (K,) dense MACs per frame (HRC, separable pointwise)
    weight_bytes: np.ndarray  # (K,) weight bytes each component holds
    external_bytes: np.ndarray  # (K,) bytes read from external memory per frame (FNP2)
    np_less: bool            # no NP component (Add / Concatenate): a forwarding stage
    channels: int
    wbits: int
    ibits: int


@dataclass
class Group:
    """The packets of one producer stage's rows to the consumer stages of one node."""

    producer: int
    node: tuple
    consumers: list[int]
    route: list[int]          # link ids (mesh links and DMA channels)
    via_skip: bool = False    # stored and loaded by a skip-DMA channel
    rows: tuple[int, int] | None = None  # producer rows it carries (None: all; a band's)


@dataclass
class PassPlan:
    """Everything about one pass that does not depend on the activations."""

    layers: list
    specs: list[LayerSpec]
    stages: list[Stage]
    by_layer: dict[str, list[int]]
    groups: list[Group]
    sources: dict[str, int]            # input name -> DMA_IN stage
    source_layer: dict[int, Layer]     # DMA_IN stage -> first consumer layer
    sinks: dict[str, int]              # layer name -> DMA_OUT stage
    net: Network
    sched: SchedulePlan
    bp_keys: list[tuple]               # (consumer layer, producer rows, consumer band):
                                       # blocks of bp_need
    grp_producer: np.ndarray
    skip_groups: list[tuple[int, str]]  # (group, Add/Concatenate layer) through a skip-DMA
    n_frames: int
    layer_nps: list = field(default_factory=list)  # per layer: (NP stages, sorted NP types)
    program_bytes: int | None = None   # bytes of the pass's program (set on first use)
    depthwise_groups: list | None = None  # groups feeding depthwise NPs only (set on first
                                          # use: rows.depthwise_groups)


def channel_ranges(comps, channels: int) -> list[tuple[int, int]]:
    """Output-channel range of each NP component: from start_neuron/filters when they tile the
    channels, otherwise split in order proportionally to ``filters``."""
    ranges = [(c.start_neuron, c.start_neuron + c.filters) for c in comps]
    covered = sorted(ranges)
    if covered and covered[0][0] == 0 and covered[-1][1] == channels and all(
            a[1] == b[0] for a, b in zip(covered, covered[1:], strict=False)):
        return ranges
    weights = np.array([max(c.filters, 1) for c in comps], np.float64)
    bounds = np.round(np.concatenate([[0], np.cumsum(weights)]) / weights.sum() * channels)
    return [(int(bounds[i]), int(bounds[i + 1])) for i in range(len(comps))]


def _weight_bytes(lay, kind: str, filters: int, channels: int, wbits: int) -> float:
    """Bytes of the weights a component holding ``filters`` of the layer's ``channels`` output
    channels stores (its share of every weight variable)."""
    if kind == "pass" or channels <= 0:
        return 0.0
    n = sum(int(v.size) for k, v in lay.variables.items() if k.startswith("weights"))
    return n * filters / channels * wbits / 8


def _external_bytes(comp, np_type: str, weight_bytes: float) -> float:
    """Bytes an FNP2 component reads from external memory every frame: its weights as the
    mapping stores them there (``mem_info`` external_size), else the raw weight bytes; 0 for
    any other NP."""
    if np_type != "FNP2":
        return 0.0
    ext = (comp.mem_info or {}).get("external_size", 0) if comp is not None else 0
    return float(ext) if ext else weight_bytes


def _layer_spec(lay, lm, P: dict, first: int, mesh_nodes: set, dma_node) -> tuple:
    """(LayerSpec, its stages) of one layer."""
    g = layer_geometry(lay, int(P["np_fire_block_rows"]))
    comps = list(lm.nps) if lm is not None else []
    channels = int(lay.output_dims[2])
    in_ch = int(lay.input_dims[2])
    bands = component_bands(lay, comps)
    if bands is None:  # every component sees every row
        ranges = channel_ranges(comps, channels) if comps else [(0, channels)]
        rows = [(0, g.in_rows)] * len(ranges)
        outs = [(0, g.out_rows)] * len(ranges)
    else:  # a band-split layer: each component its filters, its band's rows and halo
        ranges = [(c.start_neuron, c.start_neuron + c.filters) for c in comps]
        rows = [band_input_rows(lay, b) for b in bands]
        outs = [band_output_rows(b, g.in_rows, g.out_rows) for b in bands]
    wbits = int(lay.params.get("weights_bits", 8))
    ibits = int(getattr(lay, "input_bits", 8))
    stages, fnp2, coef_in, coef_out, neurons, dense, wbytes, ext = [], [], [], [], [], [], [], []
    for k, (c0, c1) in enumerate(ranges):
        comp = comps[k] if comps else None
        if comp is None:
            node, np_type, ident = None, "NONE", None
        else:
            node = dma_node if comp.type == "HRC" or comp.ident.node not in mesh_nodes \
                else comp.ident.node
            np_type = comp.type
            ident = (comp.ident.col, comp.ident.row, comp.ident.id)
        n_f = c1 - c0
        if g.kind == "fc":
            n_neurons = n_f
        elif g.kind == "pass":
            n_neurons = 0
        else:
            n_neurons = g.conv_x * g.conv_y * n_f
        macs = 0
        if g.kind == "hrc":
            macs = g.conv_x * g.conv_y * g.kernel * in_ch * n_f
        elif g.kind == "sep":
            macs = g.conv_x * g.conv_y * in_ch * n_f
        held = _weight_bytes(lay, g.kind, n_f, channels, wbits)
        work = ComponentWork(
            np_type=np_type, kind=g.kind, filters=n_f, n_components=len(ranges),
            neurons=n_neurons, positions=1 if g.kind in ("fc", "pass") else g.conv_x * g.conv_y,
            kernel_taps=g.kernel, in_channels=in_ch, weight_bits=wbits, input_bits=ibits,
            weight_bytes=held, external_bytes=_external_bytes(comp, np_type, held),
            in_rows=g.in_rows, out_rows=g.out_rows, dense_macs=macs,
            weights_held=weights_held(g.kind, g.kernel, in_ch, n_f))
        wbytes.append(work.weight_bytes)
        ext.append(work.external_bytes)
        ci, co = coefficients(work, P)
        coef_in.append(ci)
        coef_out.append(co)
        neurons.append(n_neurons)
        dense.append(macs)
        fnp2.append(np_type == "FNP2")
        stages.append(Stage(f"{lay.name}@{ident}", lay.name, np_type, node, ident,
                            g.in_rows, g.out_rows, g.needed,
                            None if bands is None else rows[k]))
    spec = LayerSpec(lay, g, first, np.array([r[0] for r in ranges], np.int64),
                     np.array([r[1] for r in ranges], np.int64),
                     np.array([r[0] for r in rows], np.int64),
                     np.array([r[1] for r in rows], np.int64),
                     np.array([r[0] for r in outs], np.int64),
                     np.array([r[1] for r in outs], np.int64), np.array(fnp2, bool),
                     np.array(coef_in, np.float64), np.array(coef_out, np.float64),
                     np.array(neurons, np.int64), np.array(dense, np.int64),
                     np.array(wbytes, np.float64), np.array(ext, np.float64), not comps,
                     channels, wbits, ibits)
    return spec, stages


def build_pass_plan(model, device, P: dict, layers: list, mappings: dict, F: int) -> PassPlan:
    """Stages, packet groups, routes and static scheduler arrays of one pass of ``F`` frames.

    ``layers``: the pass's layers (no input or software layer); ``mappings``: {layer name:
    LayerMapping}; ``P``: timing constants {key: value}.
    """
    net = Network(int(P["link_width_bits"]), int(P["router_latency_cycles"]))
    mesh = device.mesh
    dma_node = mesh.dma_event.node
    mesh_nodes = set(mesh.nodes)
    names = {lay.name for lay in layers}
    stages: list[Stage] = []
    specs, by_layer = [], {}
    for lay in layers:
        spec, st = _layer_spec(lay, mappings.get(lay.name), P, len(stages), mesh_nodes,
                               dma_node)
        specs.append(spec)
        by_layer[lay.name] = list(range(len(stages), len(stages) + len(st)))
        stages += st
    # forwarding stages (no NP) sit at the node of their first producer NP
    for lay in layers:
        for i in by_layer[lay.name]:
            if stages[i].node is None:
                prods = [stages[j].node for b in lay.inbounds for j in by_layer.get(b, [])
                         if stages[j].node is not None]
                stages[i].node = prods[0] if prods else dma_node
    groups: list[Group] = []
    dma_in = net.channel("dma_in", P["dma_input_bytes_per_cycle"])
    dma_out = net.channel("dma_out", P["dma_output_bytes_per_cycle"])
    sources: dict[str, int] = {}
    source_layer: dict[int, Layer] = {}

    def source_for(name: str, rows: int, consumer_layer) -> int:
        if name not in sources:
            sources[name] = len(stages)
            source_layer[len(stages)] = consumer_layer
            stages.append(Stage(f"DMA_IN:{name}", None, "DMA_IN", dma_node, None, 0, rows,
                                np.full(rows, -1, np.int64)))
        return sources[name]

    def connect(p: int, consumers: list[int], via_skip: bool = False) -> None:
        # one packet group per consumer node and band: an NP of a band-split layer receives
        # only its band's rows and their halo
        by_node: dict = {}
        for c in consumers:
            by_node.setdefault((stages[c].node, stages[c].in_band), []).append(c)
        for (node, band), cs in by_node.items():
            route = []
            if stages[p].np_type == "DMA_IN":
                route.append(dma_in)
            if via_skip:
                route.append(net.channel("skip_dma", P["skip_dma_bytes_per_cycle"]))
            src = stages[p].node
            assert src is not None   # every stage has a node (forwarding stages: above)
            route += net.route(src, node)
            if stages[cs[0]].np_type == "DMA_OUT":
                route.append(dma_out)
            groups.append(Group(p, node, cs, route, via_skip, band))

    skip_groups = []
    for lay in layers:
        cons = by_layer[lay.name]
        lm = mappings.get(lay.name)
        # Add / Concatenate: the first inbound (the older branch) is stored by a skip-DMA
        # channel and loaded when the layer runs (the mapper puts the store and load
        # components on the layer's own mapping)
        has_skip = lay.TYPE in ("Add", "Concatenate") and lm is not None and bool(
            lm.skipdma_stores or lm.skipdma_loads)
        for bi, b in enumerate(lay.inbounds or [None]):
            src_layer = model.get_layer(b) if b else None
            if b in names and src_layer is not None and src_layer.TYPE not in SOURCE_TYPES:
                skip = has_skip and bi == 0 and len(lay.inbounds) > 1
                for p in by_layer[b]:
                    n0 = len(groups)
                    connect(p, cons, via_skip=skip)
                    if skip:
                        skip_groups += [(gi, lay.name) for gi in range(n0, len(groups))]
            else:
                connect(source_for(b or "input", stages[cons[0]].in_rows, lay), cons)
    consumed = {b for lay in layers for b in lay.inbounds}
    sinks = {}
    for lay in layers:
        outside = [c for c in model.consumers(lay.name) if c.name not in names
                   and c.TYPE not in SOFTWARE_TYPES]
        if lay.name in consumed and not outside:
            continue
        rows = stages[by_layer[lay.name][0]].out_rows
        sinks[lay.name] = len(stages)
        stages.append(Stage(f"DMA_OUT:{lay.name}", None, "DMA_OUT", dma_node, None, rows, 0,
                            np.zeros(0, np.int64)))
        for p in by_layer[lay.name]:
            connect(p, [sinks[lay.name]])
    sched, bp_keys = _schedule_plan(stages, groups, net, F)
    plan = PassPlan(layers, specs, stages, by_layer, groups, sources, source_layer, sinks, net,
                    sched, bp_keys, np.array([g.producer for g in groups], np.int64),
                    skip_groups, F)
    for spec in specs:  # the NP stages of each layer, their count and types
        ids_np = [i for i in by_layer[spec.layer.name] if stages[i].ident is not None]
        plan.layer_nps.append((ids_np, sorted({stages[i].np_type for i in ids_np})))
    return plan


def _schedule_plan(stages: list[Stage], groups: list[Group], net: Network, F: int):
    """The :class:`SchedulePlan` of the stages and groups, and the (consumer layer, producer
    rows, consumer band) keys of the back-pressure blocks in ``bp_need`` order.

    Back-pressure is not applied towards the DMA (host memory absorbs the output) nor through
    a skip-DMA channel (it stores the branch in memory until the consumer loads it); the
    constraint block of a producer towards a consumer depends only on the consumer's layer,
    the rows whose events its FIFO receives (its band, or all) and the producer's row count,
    so it is shared."""
    n = len(stages)
    out_groups: list[list[int]] = [[] for _ in range(n)]
    in_groups: list[list[int]] = [[] for _ in range(n)]
    cons_of: dict[int, set] = {}
    for gi, grp in enumerate(groups):
        out_groups[grp.producer].append(gi)
        for c in grp.consumers:
            in_groups[c].append(gi)
        if not grp.via_skip:
            cons_of.setdefault(grp.producer, set()).update(
                c for c in grp.consumers if stages[c].np_type != "DMA_OUT")
    offsets: dict = {}
    bp_keys: list = []
    bp: list[list[tuple[int, int]]] = []
    off = 0
    for p in range(n):
        pairs = []
        for c in sorted(cons_of.get(p, ())):
            key = (stages[c].layer, stages[p].out_rows, stages[c].in_band)
            if key not in offsets:
                offsets[key] = off
                bp_keys.append(key)
                off += F * stages[p].out_rows
            pairs.append((c, offsets[key]))
        bp.append(pairs)
    sched = schedule_plan(
        in_rows=[s.in_rows for s in stages], out_rows=[s.out_rows for s in stages],
        needed_rows=[s.needed for s in stages], in_groups=in_groups, out_groups=out_groups,
        routes=[g.route for g in groups], bp_constraints=bp, link_bits=net.bits_array(),
        n_frames=F, grp_rows=[g.rows or (0, stages[g.producer].out_rows) for g in groups])
    return sched, bp_keys


# ----- plan cache --------------------------------------------------------------------------
_PLAN_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Mapping -> {key: plan}
_PLAN_CACHE_SIZE = 8


def cached_plan(model, mapping, P: dict, si: int, pi: int, layers: list, mappings: dict,
                F: int, use_cache: bool = True) -> PassPlan:
    """The plan of pass (si, pi) of ``mapping`` (a value bound to ``model``), built once per
    mapping, model, parameters and frame count (``use_cache=False`` always builds it)."""
    if not use_cache:
        return build_pass_plan(model, mapping.device, P, layers, mappings, F)
    key = (si, pi, F, tuple(sorted(P.items())))
    per_mapping = _PLAN_CACHE.setdefault(mapping, {})
    hit = per_mapping.get(key)
    if hit is not None and hit[0]() is model:
        return hit[1]
    if len(per_mapping) >= _PLAN_CACHE_SIZE:
        per_mapping.pop(next(iter(per_mapping)))
    plan = build_pass_plan(model, mapping.device, P, layers, mappings, F)
    per_mapping[key] = (weakref.ref(model), plan)
    return plan


def clear_plan_cache(mapping=None) -> None:
    """Forget the cached plans of ``mapping`` (of every mapping when None)."""
    if mapping is None:
        _PLAN_CACHE.clear()
    else:
        _PLAN_CACHE.pop(mapping, None)

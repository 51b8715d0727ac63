"""Cycle-level simulation of a mapped model: events across the mesh, NP timing, latency, fps.

Model of the chip (constants in ``nsoc/hardware/params/*.json``, see :func:`timing_params`):

* Every NP component of a layer is a *stage* that streams its input row by row (axis 1 of the
  NHWC batch) and emits output rows.  An input row costs ``events x event_cycles`` plus
  ``synaptic ops / lanes`` (kernel taps x filters held for a CNP, fan-out for an FNP; the HRC
  convolves the dense 8-bit rows at ``hrc_macs_per_cycle``); FNP2 fetches its weights for each
  event from external memory (the part longer than the compute is a stall).  An output row is
  fired once the input rows it depends on are processed (a convolution's row window, pooling
  window, the whole frame for a dense layer or a global pooling, blocks of
  ``np_fire_block_rows``); firing costs threshold-and-fire over the neurons of the row plus one
  cycle per output event.
* Output rows leave as one packet per destination node (``event_bits`` per event, one header
  flit) along XY routes (:mod:`nsoc.hardware.noc`) with per-hop router latency and link
  serialisation; a link serves packets first come first served.  The model input enters through
  the event-DMA channel, the output leaves through it.  A stage cannot emit a row while a
  consumer's input FIFO (``np_input_fifo_events``) is full: back-pressure, counted as stall.
* Frames follow each other through the same pipeline, so frames overlap in steady state.
  A model of several passes or hardware sequences runs them one after the other per frame and
  reloads each program (``dma_conf_bytes_per_cycle``): reconfiguration time counts.

The functional outputs come from the functional engine (``model.forward(x, outputs="all")``) or
are passed in; the per-row event statistics are computed by numba kernels
(:mod:`nsoc.kernels.timing`), so the functional result is unchanged by the timing run.
"""
from __future__ import annotations

import json
import math
import weakref
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ..errors import InputError, MappingError, NsocError
from .noc import Network
from .timing_result import ActionCounts, LayerTiming, LinkTiming, NPTiming, TimingResult

PARAMS_DIR = Path(__file__).with_name("params")
CLOCK_MODES = ("Performance", "Economy", "LowPower")

_CONV_TYPES = {"Convolutional", "Conv2D"}
_DW_TYPES = {"DepthwiseConv2D"}
_SEP_TYPES = {"SeparableConvolutional"}
_FC_TYPES = {"FullyConnected", "Dense1D"}
_HRC_TYPES = {"InputConvolutional", "InputConv2D"}
_SOURCE_TYPES = {"Quantizer", "InputData"}
_SOFTWARE_TYPES = {"Dequantizer"}


class TimingParamError(NsocError):
    """A timing parameter override names an unknown key or has a value that is not a number."""


# ---------------------------------------------------------------- parameters -----------------
def _read_params(path: Path) -> dict:
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _PARAM_FILES:
        with open(path) as fh:
            doc = json.load(fh)
        _PARAM_FILES[key] = {k: dict(v) for k, v in doc.items() if not k.startswith("_")}
    return {k: dict(v) for k, v in _PARAM_FILES[key].items()}


_PARAM_FILES: dict = {}  # parsed parameter files by (path, mtime, size)


def timing_params(device=None, overrides: dict | None = None) -> dict:
    """The timing constants for ``device`` (a Device, a device name or None for the defaults).

    Merged in order: ``params/default.json``, the timing keys of the device file
    (``device.params``), ``params/<DEVICE>.json``, then ``overrides`` ({key: number}).  Each
    entry is ``{"value", "unit", "source"}``; overridden entries get source "override".
    """
    params = _read_params(PARAMS_DIR / "default.json")
    name = device if isinstance(device, str) else getattr(device, "name", None)
    dev_params = getattr(device, "params", None) or {}
    for key, entry in dev_params.items():
        if key in params and isinstance(entry, dict) and "value" in entry:
            params[key] = dict(entry)
    if name and (PARAMS_DIR / f"{name}.json").is_file():
        params.update(_read_params(PARAMS_DIR / f"{name}.json"))
    for key, value in (overrides or {}).items():
        if key not in params:
            raise TimingParamError(
                f"unknown timing parameter '{key}'; known parameters: {', '.join(sorted(params))}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise TimingParamError(
                f"timing parameter '{key}' needs a number, got {value!r}") from None
        if not math.isfinite(number) or number < 0:
            raise TimingParamError(
                f"timing parameter '{key}' must be a finite number >= 0, got {value!r}")
        params[key] = {"value": number, "unit": params[key]["unit"], "source": "override"}
    for key in ("link_width_bits", "event_bits", "np_fire_block_rows", "np_input_fifo_events",
                "dma_input_bytes_per_cycle", "dma_output_bytes_per_cycle",
                "dma_external_bytes_per_cycle", "dma_conf_bytes_per_cycle",
                "skip_dma_bytes_per_cycle", "cnp_synops_per_cycle", "fnp3_synops_per_cycle",
                "fnp2_synops_per_cycle", "hrc_macs_per_cycle", "fire_neurons_per_cycle",
                "cnp_pointwise_macs_per_cycle", "weight_word_bits"):
        if key in params and not params[key]["value"] > 0:
            raise TimingParamError(f"timing parameter '{key}' must be > 0, got "
                                   f"{params[key]['value']}")
    return params


def parse_param_overrides(items) -> dict:
    """``["key=value", ...]`` (from ``--param``) to ``{key: float}``."""
    out = {}
    for item in items or ():
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip():
            raise TimingParamError(f"--param expects key=value, got {item!r}")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise TimingParamError(
                f"--param {key.strip()} needs a number, got {value!r}") from None
    return out


# ---------------------------------------------------------------- geometry -------------------
def _axis_geometry(n_in: int, k: int, s: int, same: bool) -> tuple[int, int]:
    """(output size, leading padding) of a convolution along one axis."""
    if same:
        n_out = -(-n_in // s)
        pad = max((n_out - 1) * s + k - n_in, 0) // 2
    else:
        n_out = (n_in - k) // s + 1
        pad = 0
    return n_out, pad


def _taps(n_in: int, n_out: int, k: int, s: int, pad: int) -> np.ndarray:
    """For each input index, how many outputs of the convolution it contributes to."""
    i = np.arange(n_in)[:, None]
    o = np.arange(n_out)[None, :]
    d = i + pad - o * s
    return ((d >= 0) & (d < k)).sum(axis=1).astype(np.int64)


def _last_input(n_in: int, k: int, s: int, pad: int, o: np.ndarray) -> np.ndarray:
    return np.minimum(n_in - 1, o * s - pad + k - 1)


@dataclass
class _Geometry:
    kind: str            # hrc, conv, dw, sep, fc, pass
    in_rows: int
    out_rows: int
    needed: np.ndarray   # per output row: last input row it depends on
    taps_x: np.ndarray   # per input row: conv output rows it reaches
    taps_y: np.ndarray   # per input column: conv output columns it reaches
    conv_x: int = 1
    conv_y: int = 1
    kernel: int = 1


def _geometry(layer, fire_block: int) -> _Geometry:
    t = layer.TYPE
    xin, yin, _ = layer.input_dims
    xo, yo, _ = layer.output_dims
    p = layer.params
    if t in _FC_TYPES:
        return _Geometry("fc", xin, 1, np.array([xin - 1]), np.ones(xin, np.int64),
                         np.ones(yin, np.int64))
    if t in _HRC_TYPES | _CONV_TYPES | _DW_TYPES | _SEP_TYPES:
        if "kernel_size" in p:  # Akida 2.0
            kx = ky = p["kernel_size"]
            sx = sy = p["kernel_stride"]
            same = p["padding"] != 0
            pool, psize, pstride = p["pool_type"], p["pool_size"], p["pool_stride"]
        else:
            kx, ky, sx, sy = p["kernel_width"], p["kernel_height"], p["stride_x"], p["stride_y"]
            same = p["padding"] != 0
            pool, psize, pstride = (p["pool_type"], p["pooling_width"], p["pooling_stride_x"])
        cx, padx = _axis_geometry(xin, kx, sx, same)
        cy, pady = _axis_geometry(yin, ky, sy, same)
        taps_x = _taps(xin, cx, kx, sx, padx)
        taps_y = _taps(yin, cy, ky, sy, pady)
        conv_last = _last_input(xin, kx, sx, padx, np.arange(cx))
        if pool == 2:  # global average pooling: one row at the end of the frame
            needed = np.array([xin - 1])
        elif pool == 1:
            ps = psize if psize > 0 else 2
            pst = pstride if pstride > 0 else ps
            _, ppad = _axis_geometry(cx, ps, pst, same)
            last_conv = _last_input(cx, ps, pst, ppad, np.arange(xo))
            needed = conv_last[last_conv]
        else:
            needed = conv_last[:xo]
        kind = ("hrc" if t in _HRC_TYPES else "dw" if t in _DW_TYPES
                else "sep" if t in _SEP_TYPES else "conv")
        g = _Geometry(kind, xin, xo, needed, taps_x, taps_y, cx, cy, kx * ky)
    else:  # Add, Concatenate, anything row-aligned without NPs
        g = _Geometry("pass", xin, xo, np.minimum(np.arange(xo), xin - 1),
                      np.ones(xin, np.int64), np.ones(yin, np.int64))
    if fire_block > 1 and g.out_rows > 1:
        j = np.arange(g.out_rows)
        block_end = np.minimum(g.out_rows - 1, (j // fire_block + 1) * fire_block - 1)
        g.needed = g.needed[block_end]
    g.needed = np.asarray(g.needed, np.int64)
    return g


# ---------------------------------------------------------------- plan -----------------------
# A pass is turned into scheduler stages in two steps: _prepare_pass builds everything that
# depends only on the mapped model, the parameters and the frame count (stages, routes, packet
# groups, the flat index arrays of the scheduler) and is cached per mapped model; _fill computes
# the per-row costs and action counts of the activations of one call, layer by layer, with the
# NP components of a layer handled together as (components, frames, rows) arrays.
_ACTION_FIELDS = tuple(f.name for f in fields(ActionCounts))
_A = {name: i for i, name in enumerate(_ACTION_FIELDS)}


@dataclass
class _Stage:
    """One scheduler stage: an NP component of a layer, a DMA end, or a forwarding stage."""

    name: str
    layer: str | None
    np_type: str
    node: tuple | None
    ident: tuple | None
    in_rows: int
    out_rows: int
    needed: np.ndarray       # per output row: last input row it waits for (-1: none)


@dataclass
class _LayerSpec:
    """Activation-independent description of a layer's stages (consecutive from ``first``)."""

    layer: object
    g: _Geometry
    first: int
    c0: np.ndarray           # (K,) first output channel of each NP component
    c1: np.ndarray           # (K,) end of its channel range
    lanes: np.ndarray        # (K,) synaptic lanes of an FNP
    fnp2: np.ndarray         # (K,) bool: weights fetched from external memory
    np_less: bool            # no NP component (Add / Concatenate): a forwarding stage
    channels: int
    wbits: int
    ibits: int


@dataclass
class _PassPlan:
    layers: list
    specs: list
    stages: list
    by_layer: dict
    groups: list             # (producer stage, destination node, [consumer stages], route)
    sources: dict            # input name -> DMA_IN stage
    source_layer: dict       # DMA_IN stage -> first consumer layer
    sinks: dict              # layer name -> DMA_OUT stage
    net: Network
    arrays: dict             # static arrays of nsoc.kernels.timing.schedule
    bp_keys: list            # (consumer layer, producer rows): blocks of bp_need, in order
    grp_producer: np.ndarray
    skip_groups: list        # (group, Add/Concatenate layer) through a skip-DMA channel
    layer_nps: list | None = None  # per layer: (stages with an NP, sorted NP types)


def _channel_ranges(comps, channels: int) -> list[tuple[int, int]]:
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


def _flits(events: np.ndarray, bits_per: float, flit_bits: float) -> np.ndarray:
    return np.ceil(events * bits_per / flit_bits).astype(np.int64)


def _as_frames(a) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 2:
        a = a[:, None, None, :]
    elif a.ndim == 3:
        a = a[..., None]
    return a


def _layer_input(model, layer, acts, x) -> np.ndarray:
    """The (F, X, Y, C) activations feeding ``layer`` (its first inbound, or the input)."""
    if layer.inbounds:
        src = model.get_layer(layer.inbounds[0])
        if src.TYPE in _SOURCE_TYPES and src.name not in acts:
            return x
        return acts[src.name]
    return x


def _prepare_pass(model, device, P: dict, layers: list, mappings: dict, F: int) -> _PassPlan:
    """Stages, packet groups, routes and static scheduler arrays of one pass."""
    net = Network(int(P["link_width_bits"]), int(P["router_latency_cycles"]))
    mesh = device.mesh
    dma_node = mesh.dma_event.node
    mesh_nodes = set(mesh.nodes)
    fire_block = int(P["np_fire_block_rows"])
    names = {lay.name for lay in layers}
    stages: list[_Stage] = []
    specs, by_layer = [], {}
    for lay in layers:
        g = _geometry(lay, fire_block)
        lm = mappings.get(lay.name)
        comps = list(lm.nps) if lm is not None else []
        channels = int(lay.output_dims[2])
        ranges = _channel_ranges(comps, channels) if comps else [(0, channels)]
        first = len(stages)
        lanes, fnp2 = [], []
        for k in range(len(ranges)):
            comp = comps[k] if comps else None
            if comp is None:
                node, np_type, ident = None, "NONE", None
            else:
                node = dma_node if comp.type == "HRC" or comp.ident.node not in mesh_nodes \
                    else comp.ident.node
                np_type = comp.type
                ident = (comp.ident.col, comp.ident.row, comp.ident.id)
            lanes.append(P["fnp2_synops_per_cycle"] if np_type == "FNP2"
                         else P["fnp3_synops_per_cycle"])
            fnp2.append(np_type == "FNP2")
            stages.append(_Stage(f"{lay.name}@{ident}", lay.name, np_type, node, ident,
                                 g.in_rows, g.out_rows, g.needed))
        by_layer[lay.name] = list(range(first, len(stages)))
        specs.append(_LayerSpec(
            lay, g, first, np.array([r[0] for r in ranges], np.int64),
            np.array([r[1] for r in ranges], np.int64), np.array(lanes, np.float64),
            np.array(fnp2, bool), not comps, channels, int(lay.params.get("weights_bits", 8)),
            int(getattr(lay, "input_bits", 8))))
    # forwarding stages (no NP) sit at the node of their first producer NP
    for lay in layers:
        for i in by_layer[lay.name]:
            if stages[i].node is None:
                prods = [stages[j].node for b in lay.inbounds for j in by_layer.get(b, [])
                         if stages[j].node is not None]
                stages[i].node = prods[0] if prods else dma_node
    groups = []
    dma_in = net.channel("dma_in", P["dma_input_bytes_per_cycle"])
    dma_out = net.channel("dma_out", P["dma_output_bytes_per_cycle"])
    sources: dict[str, int] = {}
    source_layer: dict[int, object] = {}

    def source_for(name: str, rows: int, consumer_layer) -> int:
        if name not in sources:
            sources[name] = len(stages)
            source_layer[len(stages)] = consumer_layer
            stages.append(_Stage(f"DMA_IN:{name}", None, "DMA_IN", dma_node, None, 0, rows,
                                 np.full(rows, -1, np.int64)))
        return sources[name]

    def connect(p: int, consumers: list[int], via_skip: bool = False):
        by_node: dict = {}
        for c in consumers:
            by_node.setdefault(stages[c].node, []).append(c)
        for node, cs in by_node.items():
            route = []
            if stages[p].np_type == "DMA_IN":
                route.append(dma_in)
            if via_skip:
                route.append(net.channel("skip_dma", P["skip_dma_bytes_per_cycle"]))
            route += net.route(stages[p].node, node)
            if stages[cs[0]].np_type == "DMA_OUT":
                route.append(dma_out)
            groups.append((p, node, cs, route))

    skip_groups = []  # (group, consumer layer) of the traffic through a skip-DMA channel
    for lay in layers:
        cons = by_layer[lay.name]
        lm = mappings.get(lay.name)
        # Add / Concatenate: the first inbound (the older branch) is stored by a skip-DMA
        # channel and loaded when the layer runs (nsoc.hardware.mapping puts the store and
        # load components on the layer's own mapping)
        has_skip = lay.TYPE in ("Add", "Concatenate") and lm is not None and bool(
            lm.skipdma_stores or lm.skipdma_loads)
        for bi, b in enumerate(lay.inbounds or [None]):
            src_layer = model.get_layer(b) if b else None
            if b in names and src_layer.TYPE not in _SOURCE_TYPES:
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
                   and c.TYPE not in _SOFTWARE_TYPES]
        if lay.name in consumed and not outside:
            continue
        rows = stages[by_layer[lay.name][0]].out_rows
        sinks[lay.name] = len(stages)
        stages.append(_Stage(f"DMA_OUT:{lay.name}", None, "DMA_OUT", dma_node, None, rows, 0,
                             np.zeros(0, np.int64)))
        for p in by_layer[lay.name]:
            connect(p, [sinks[lay.name]])
    # back-pressure is not applied towards the DMA (host memory absorbs the output)
    bp_groups = [(p, n, [c for c in cs if stages[c].np_type != "DMA_OUT"], r)
                 for (p, n, cs, r) in groups]
    arrays, bp_keys = _static_arrays(stages, groups, bp_groups, net, F)
    from ..kernels.timing import INVERSE_KEYS, inverse
    arrays.update(zip(INVERSE_KEYS, inverse(arrays), strict=False))
    return _PassPlan(layers, specs, stages, by_layer, groups, sources, source_layer, sinks, net,
                     arrays, bp_keys, np.array([g[0] for g in groups], np.int64), skip_groups)


def _static_arrays(stages, groups, bp_groups, net: Network, F: int):
    """The activation-independent arrays of :func:`nsoc.kernels.timing.schedule`, and the
    (consumer layer, producer rows) keys of the back-pressure blocks in ``bp_need`` order."""
    n = len(stages)
    in_rows = np.array([s.in_rows for s in stages], np.int64)
    out_rows = np.array([s.out_rows for s in stages], np.int64)
    in_off = np.concatenate([[0], np.cumsum(in_rows * F)]).astype(np.int64)
    out_off = np.concatenate([[0], np.cumsum(out_rows * F)]).astype(np.int64)
    need_off = np.concatenate([[0], np.cumsum(out_rows)])[:-1].astype(np.int64)
    needed = np.concatenate([s.needed for s in stages] + [np.zeros(0)]).astype(np.int64)
    grp_arr_off, grp_route_ptr, grp_route = [], [0], []
    arr_size = 0
    out_grp = [[] for _ in range(n)]
    in_grp = [[] for _ in range(n)]
    for gi, (p, _node, consumers, route) in enumerate(groups):
        grp_arr_off.append(arr_size)
        arr_size += F * stages[p].out_rows
        grp_route.extend(route)
        grp_route_ptr.append(len(grp_route))
        out_grp[p].append(gi)
        for c in consumers:
            in_grp[c].append(gi)
    # back-pressure: producer row gj needs consumer input item m finished; the constraint
    # block depends only on the consumer's layer and the producer's row count, so it is shared
    bp_ptr, bp_stage, bp_off, bp_keys = [0], [], [], []
    cons_of: dict[int, set] = {}
    for (pp, _n, cs, _r) in bp_groups:
        cons_of.setdefault(pp, set()).update(cs)
    offsets: dict = {}
    off = 0
    for p in range(n):
        for c in sorted(cons_of.get(p, ())):
            key = (stages[c].layer, stages[p].out_rows)
            if key not in offsets:
                offsets[key] = off
                bp_keys.append(key)
                off += F * stages[p].out_rows
            bp_stage.append(c)
            bp_off.append(offsets[key])
        bp_ptr.append(len(bp_stage))

    def ptr(lists):
        return np.concatenate([[0], np.cumsum([len(x) for x in lists])]).astype(np.int64)

    arrays = {
        "in_rows": in_rows, "out_rows": out_rows, "in_off": in_off[:-1], "out_off": out_off[:-1],
        "in_total": in_off[-1:], "out_total": out_off[-1:],
        "need_off": need_off, "needed": needed,
        "in_grp_ptr": ptr(in_grp), "in_grp": np.array([g for x in in_grp for g in x], np.int64),
        "out_grp_ptr": ptr(out_grp),
        "out_grp": np.array([g for x in out_grp for g in x], np.int64),
        "grp_route_ptr": np.array(grp_route_ptr, np.int64),
        "grp_route": np.array(grp_route, np.int64),
        "grp_arr_off": np.array(grp_arr_off, np.int64),
        "bp_ptr": np.array(bp_ptr, np.int64), "bp_stage": np.array(bp_stage, np.int64),
        "bp_off": np.array(bp_off, np.int64),
        "link_bits": net.bits_array(), "arr_size": np.array([arr_size], np.int64),
    }
    return arrays, bp_keys


def _fill(plan: _PassPlan, model, P: dict, acts: dict, x: np.ndarray, F: int) -> dict:
    """Per-call costs (cycles), flits, events and action counts of the stages of ``plan``."""
    from ..kernels.timing import fifo_need, layer_costs, row_channel_stats
    arr = plan.arrays
    in_off, out_off = arr["in_off"], arr["out_off"]
    n_st = len(plan.stages)
    flit_bits = float(P["link_width_bits"])
    in_cost = np.zeros(int(arr["in_total"][0]))
    in_fetch = np.zeros_like(in_cost)
    out_cost = np.zeros(int(arr["out_total"][0]))
    out_flits = np.zeros(out_cost.shape[0], np.int64)
    A = np.zeros((n_st, len(_ACTION_FIELDS)), np.int64)
    ev_in_st = np.zeros(n_st, np.int64)
    ev_out_st = np.zeros(n_st, np.int64)
    layer_ev = {}
    nonzero = {}
    # per-row statistics of each activation array, computed once with the taps_y of its first
    # consumer in the pass (the ones of another consumer recompute them)
    next_taps = {}
    for spec in plan.specs:
        src = spec.layer.inbounds[0] if spec.layer.inbounds else None
        next_taps.setdefault(src, spec.g.taps_y)
    memo = {}

    def stats(a, taps):
        hit = memo.get(id(a))
        if hit is not None and (taps is None or hit[2] is taps):
            return hit[0], hit[1]
        t = taps if taps is not None else np.ones(a.shape[2], np.int64)
        cnt, tap = row_channel_stats(a, t)
        memo[id(a)] = (cnt, tap, t, a)
        return cnt, tap

    for spec in plan.specs:
        lay, g = spec.layer, spec.g
        kind = g.kind
        inp = _as_frames(_layer_input(model, lay, acts, x))
        if inp.shape[1] != g.in_rows:
            raise InputError(f"activations feeding layer '{lay.name}' have {inp.shape[1]} rows,"
                             f" the layer expects {g.in_rows}")
        out = _as_frames(acts[lay.name])
        if out.shape[3] != spec.channels or out.shape[1] != g.out_rows:
            raise InputError(f"activations of layer '{lay.name}' have shape {out.shape[1:]}, "
                             f"the layer outputs {tuple(lay.output_dims)}")
        cnt_in, tap_in = stats(inp, g.taps_y)
        cnt_out, _ = stats(out, next_taps.get(lay.name))
        ev_all = cnt_in.sum(axis=2)  # (F, in_rows)
        if spec.np_less and len(lay.inbounds) > 1:  # Add / Concatenate: events of all inbounds
            for b in lay.inbounds[1:]:
                other = _as_frames(acts[b]) if b in acts else inp
                if other.shape[1] == g.in_rows:
                    ev_all = ev_all + row_channel_stats(
                        other, np.ones(other.shape[2], np.int64))[0].sum(axis=2)
        layer_ev[lay.name] = ev_all
        nonzero[lay.name] = (int(cnt_out.sum()), out.size)
        K = spec.c0.shape[0]
        n_f = spec.c1 - spec.c0
        Ri, Ro = g.in_rows, g.out_rows
        if kind in ("fc", "pass"):
            neurons = n_f if kind == "fc" else np.zeros(K, np.int64)
        else:
            neurons = g.conv_x * g.conv_y * n_f
        extra_out = np.zeros(K, np.int64)
        extra_rate = 1.0
        if kind == "hrc":
            extra_out = g.conv_x * g.conv_y * g.kernel * inp.shape[3] * n_f
            extra_rate = P["hrc_macs_per_cycle"]
        elif kind == "sep":
            extra_out = g.conv_x * g.conv_y * inp.shape[3] * n_f
            extra_rate = P["cnp_pointwise_macs_per_cycle"]
        consts = np.array([P["cnp_event_cycles"], P["cnp_synops_per_cycle"],
                           P["fnp_event_cycles"], spec.wbits, P["dma_external_bytes_per_cycle"],
                           P["hrc_row_cycles"], P["fire_neurons_per_cycle"],
                           P["output_event_cycles"], extra_rate, P["event_bits"], flit_bits],
                          np.float64)
        s0, o0 = in_off[spec.first], out_off[spec.first]
        sums = layer_costs(
            kind, spec.np_less or kind == "pass", cnt_in, tap_in, np.ascontiguousarray(ev_all),
            cnt_out, spec.c0, spec.c1, g.taps_x, spec.lanes, spec.fnp2,
            inp.shape[2] * inp.shape[3], neurons, extra_out, consts,
            in_cost[s0:s0 + K * F * Ri].reshape(K, F, Ri),
            in_fetch[s0:s0 + K * F * Ri].reshape(K, F, Ri),
            out_cost[o0:o0 + K * F * Ro].reshape(K, F, Ro),
            out_flits[o0:o0 + K * F * Ro].reshape(K, F, Ro))
        n_ev_in, ev_out_k = sums[:, 0], sums[:, 2]
        extra_macs = (extra_out * F).astype(np.float64) if kind == "sep" else np.zeros(K)
        # action counts of each component
        rows = slice(spec.first, spec.first + K)
        Ar = A[rows]
        synops = np.round(sums[:, 1].astype(np.float64) + extra_macs).astype(np.int64)
        Ar[:, _A["synaptic_ops"]] = synops
        Ar[:, _A["weight_bits"]] = spec.wbits
        Ar[:, _A["input_bits"]] = spec.ibits
        if kind == "hrc":
            Ar[:, _A["hrc_macs"]] = extra_out * F
        if kind == "fc":
            Ar[:, _A["dma_weight_bytes"]] = sums[:, 3]
        if kind != "pass":
            Ar[:, _A["input_sram_writes"]] = n_ev_in
            Ar[:, _A["input_sram_reads"]] = n_ev_in
            Ar[:, _A["neurons_fired"]] = ev_out_k
        Ar[:, _A["weight_sram_reads"]] = np.ceil(synops * spec.wbits / P["weight_word_bits"])
        Ar[:, _A["neurons_updated"]] = neurons * F
        ev_in_st[rows] = n_ev_in
        ev_out_st[rows] = ev_out_k
    # model inputs entering through the event DMA
    for s, lay in plan.source_layer.items():
        rows = plan.stages[s].out_rows
        data = _as_frames(_layer_input(model, lay, acts, x))
        if lay.TYPE in _HRC_TYPES:  # dense 8-bit rows
            flits = np.full((F, rows), math.ceil(data.shape[2] * data.shape[3] * 8 / flit_bits),
                            np.int64)
        else:
            cnt, _ = stats(data, None)
            flits = _flits(cnt.sum(axis=2), P["event_bits"], flit_bits)
        out_flits[out_off[s]:out_off[s] + F * rows] = flits.reshape(-1)
    # back-pressure: smallest consumer input item whose completion frees enough FIFO room
    fifo = float(P["np_input_fifo_events"])
    bp_need = []
    for (cl, p_rows) in plan.bp_keys:
        bp_need.append(fifo_need(layer_ev[cl].reshape(-1), F * p_rows, fifo))
    return {"in_cost": in_cost, "in_fetch": in_fetch, "out_cost": out_cost,
            "out_flits": out_flits,
            "bp_need": np.concatenate(bp_need + [np.zeros(0, np.int64)]).astype(np.int64),
            "actions": A, "events_in": ev_in_st, "events_out": ev_out_st, "nonzero": nonzero}


# ---------------------------------------------------------------- one pass -------------------
_PLAN_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_PLAN_CACHE_SIZE = 8


def _cached_plan(model, mapping, P, si, pi, layers, mappings, F, use_cache: bool) -> _PassPlan:
    """The plan of pass (si, pi), built once per mapping (a value bound to one model),
    parameters and frame count."""
    device = mapping.device
    if not use_cache:
        return _prepare_pass(model, device, P, layers, mappings, F)
    key = (id(model), si, pi, F, tuple(sorted(P.items())))
    per_mapping = _PLAN_CACHE.setdefault(mapping, {})
    plan = per_mapping.get(key)
    if plan is None:
        if len(per_mapping) >= _PLAN_CACHE_SIZE:
            per_mapping.pop(next(iter(per_mapping)))
        plan = per_mapping[key] = _prepare_pass(model, device, P, layers, mappings, F)
    return plan


def _simulate_pass(plan: _PassPlan, model, P: dict, acts: dict, x, F: int) -> dict:
    """Fill the costs of ``plan`` for these activations and run the scheduler."""
    from ..kernels.timing import schedule
    dyn = _fill(plan, model, P, acts, x, F)
    arrays = dict(plan.arrays)
    for k in ("in_cost", "in_fetch", "out_cost", "out_flits", "bp_need"):
        arrays[k] = dyn[k]
    res = schedule(arrays, F, float(P["link_width_bits"]), int(P["packet_header_flits"]),
                   float(P["router_latency_cycles"]))
    if not res["ok"]:
        raise NsocError("internal error: the timing scheduler dead-locked; please report it")
    return {"plan": plan, "dyn": dyn, "res": res}


# ---------------------------------------------------------------- public API -----------------
def simulate(model, mapping, x=None, clock_mode: str = "Performance",
             overrides: dict | None = None, batch_size: int | None = None,
             activations: dict | None = None, cache: bool = True) -> TimingResult:
    """Cycle-level simulation of ``model`` placed by ``mapping`` (from
    :func:`nsoc.hardware.mapping.map_model`) for the frames of ``x``.

    ``x``: NHWC input batch (as for ``model.forward``).
    ``batch_size``: frames streamed (default ``len(x)``; more than ``len(x)`` repeats the
    inputs cyclically).  ``activations``: {layer name: (N, x, y, c) integers} to use instead of
    running ``model.forward(x, outputs="all")``.  ``overrides``: {parameter: number}.
    ``cache``: reuse the stage plan built for this mapped model, parameters and frame count by
    an earlier call (the result is identical; ``False`` rebuilds it).
    """
    if clock_mode not in CLOCK_MODES:
        raise TimingParamError(f"unknown clock mode {clock_mode!r}; use one of {CLOCK_MODES}")
    dev = mapping.device
    params = timing_params(dev, overrides)
    if activations is None:
        if x is None:
            raise InputError("simulate() needs an input batch x or precomputed activations")
        activations = model.forward(x, outputs="all")
    n_in = len(next(iter(activations.values())))
    if x is None:
        first = model.layers[0]
        x = activations.get(first.name) if first.TYPE in _SOURCE_TYPES else None
        if x is None:
            raise InputError("simulate() needs the input batch x when the first layer is "
                             "not an input Quantizer/InputData present in activations")
    n_frames = int(batch_size) if batch_size else n_in
    if n_frames < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    if n_frames == n_in:
        acts = {k: _as_frames(v) for k, v in activations.items()}
        xs = _as_frames(np.asarray(x))
    else:
        idx = np.arange(n_frames) % n_in
        acts = {k: _as_frames(v)[idx] for k, v in activations.items()}
        xs = _as_frames(np.asarray(x))[idx]
    P = {k: v["value"] for k, v in params.items()}
    clock = float(P[f"clock_hz_{clock_mode}"])

    passes = mapping.hardware_passes()
    n_programs = len(passes)
    layer_results, np_results = [], []
    links: list = []
    frames = np.zeros(n_frames)
    pass_latency, pass_interval = [], []
    reconfig = 0.0
    critical = []
    for si, pi, lms in passes:
        mappings = {lm.layer: lm for lm in lms}
        layers = [model.get_layer(lm.layer) for lm in lms]
        layers = [lay for lay in layers if lay.TYPE not in _SOURCE_TYPES | _SOFTWARE_TYPES]
        if not layers:
            continue
        plan = _cached_plan(model, mapping, P, si, pi, layers, mappings, n_frames, cache)
        out = _simulate_pass(plan, model, P, acts, xs, n_frames)
        prog_bytes = 0
        if n_programs > 1:
            prog_bytes = _program_bytes(mapping.sequences[si], lms, P)
            reconfig += prog_bytes / P["dma_conf_bytes_per_cycle"]
        lat, ivl, fr = _collect(out, P, n_frames, si, pi, prog_bytes, layer_results,
                                np_results, links)
        frames += fr
        pass_latency.append(lat)
        pass_interval.append(ivl)
        critical = critical + _critical_path(out, model)
    if not pass_latency:
        raise MappingError("the model has no layer mapped on hardware: nothing to time")
    if n_programs > 1:  # passes run one after the other, reprogrammed every frame
        frames = frames + reconfig
        interval = float(sum(pass_latency)) + reconfig
    else:
        interval = pass_interval[0]
    latency = int(round(frames[0]))
    total = float(frames.sum())
    for lay in layer_results:
        lay.idle_cycles = max(int(round(total)) - lay.busy_cycles - lay.stall_cycles, 0)
    total_i = int(round(total))

    def build_nps():
        out = []
        for plan, busy, stall, ev_in, ev_out, rows in np_results:
            for ids_np, _ in plan.layer_nps:
                for i in ids_np:
                    st = plan.stages[i]
                    out.append(NPTiming(st.ident[0], st.ident[1], st.ident[2], st.np_type,
                                        st.layer, busy[i], max(total_i - busy[i] - stall[i], 0),
                                        stall[i], ev_in[i], ev_out[i], ActionCounts(*rows[i])))
        return out

    def build_links():
        return _link_timings(links, total)
    return TimingResult(
        device=dev.name, clock_mode=clock_mode, clock_hz=clock, n_frames=n_frames,
        latency_cycles=latency, fps=clock / max(interval, 1.0),
        frames=[int(round(f)) for f in frames], interval_cycles=int(round(interval)),
        total_cycles=int(round(total)), layers=layer_results, critical_path=critical,
        reconfig_cycles=int(round(reconfig)), params=params, build_nps=build_nps,
        build_links=build_links)


def _link_timings(parts, total: float) -> list:
    """LinkTiming of every used mesh link from the (network, flits, busy, first, last) arrays of
    each pass: totals over the passes, sorted by (src, dst)."""
    merged: dict = {}
    for net, flits_a, busy_a, first_a, last_a in parts:
        for i, (a, b) in enumerate(net.link_nodes):
            if not net.is_mesh_link(i) or flits_a[i] == 0:
                continue
            prev = merged.get((a, b), (0, 0.0, np.inf, 0.0))
            merged[(a, b)] = (prev[0] + int(flits_a[i]), prev[1] + float(busy_a[i]),
                              min(prev[2], float(first_a[i])), max(prev[3], float(last_a[i])))
    out = []
    for (a, b), (flits, busy, first, last) in sorted(merged.items()):
        span = max(last - first, 1.0)
        out.append(LinkTiming(src=a, dst=b, flits=int(flits), busy_cycles=int(round(busy)),
                              peak_utilisation=min(busy / span, 1.0),
                              mean_utilisation=min(busy / max(total, 1.0), 1.0)))
    return out


def _program_bytes(seq, lms, P: dict) -> int:
    """Bytes loaded to (re)program one pass: the sequence's program size shared among its
    passes when the mapping gives it, else the pass's on-chip weights (``mem_info``
    weight_size of its NP components) plus ``np_config_bytes`` per NP component."""
    if seq.program_size:
        return int(seq.program_size / max(len(seq.passes), 1))
    comps = [c for lm in lms for c in lm.nps]
    weights = sum(int((c.mem_info or {}).get("weight_size", 0)) for c in comps)
    return int(weights + P["np_config_bytes"] * len(comps))


def _collect(out, P, F, si, pi, prog_bytes, layer_results, np_results, links):
    """Fill the LayerTimings of one pass, append its per-stage NP figures (plan, busy, stall,
    events in, events out, action rows) to ``np_results`` and its link arrays to ``links``;
    return (latency, interval, frames)."""
    plan, dyn, res = out["plan"], out["dyn"], out["res"]
    stages, arr = plan.stages, plan.arrays
    flit_bits = float(P["link_width_bits"])
    header = int(P["packet_header_flits"])
    A = dyn["actions"].copy()
    out_flits = dyn["out_flits"]
    in_off, out_off = arr["in_off"], arr["out_off"]
    hops_by_stage = np.zeros(len(stages), np.int64)
    np.add.at(hops_by_stage, plan.grp_producer, res["grp_flit_hops"])

    def flits_of(s):
        return out_flits[out_off[s]:out_off[s] + F * stages[s].out_rows]
    # DMA traffic
    for s_idx, lay in plan.source_layer.items():
        cons = plan.by_layer[lay.name][0]
        fl = flits_of(s_idx)
        A[cons, _A["dma_input_bytes"]] += int((fl.sum() + header * fl.size) * flit_bits / 8)
        A[cons, _A["noc_flit_hops"]] += int(hops_by_stage[s_idx])
    for gi, lname in plan.skip_groups:
        p = plan.groups[gi][0]
        fl = flits_of(p)
        A[plan.by_layer[lname][0], _A["dma_input_bytes"]] += int(
            (fl.sum() + header * fl.size) * flit_bits / 8)
    for lname in plan.sinks:
        for p in plan.by_layer[lname]:
            A[p, _A["dma_output_bytes"]] += int(flits_of(p).sum() * flit_bits / 8)
    # frame times
    starts = np.full(F, np.inf)
    ends = np.zeros(F)
    for s in plan.sources.values():
        r = stages[s].out_rows
        t = res["out_start"][out_off[s]:out_off[s] + F * r].reshape(F, r)
        starts = np.minimum(starts, t[:, 0])
    for s in plan.sinks.values():
        r = stages[s].in_rows
        t = res["in_fin"][in_off[s]:in_off[s] + F * r].reshape(F, r)
        ends = np.maximum(ends, t[:, -1])
    # frame 0: its latency; frame f > 0: cycles it adds to the stream (completion gap)
    frames = np.concatenate([[ends[0] - starts[0]], np.diff(ends)])
    if F > 1:
        interval = (ends[-1] - ends[0]) / (F - 1)
    else:
        occupancy = res["busy"] + res["stall"]
        interval = max(float(occupancy.max()) if len(occupancy) else 0.0,
                       float(res["link_busy"].max()) if len(res["link_busy"]) else 0.0)
        interval = min(max(interval, 1.0), float(frames[0]))
    # per NP and per layer (a layer's stages are consecutive, from spec.first)
    A[:, _A["noc_flit_hops"]] += hops_by_stage
    widths = [_A[w] for w in ActionCounts._WIDTHS]
    firsts = [spec.first for spec in plan.specs]
    n_lay_st = firsts[-1] + len(plan.specs[-1].c0) if firsts else 0
    tot_all = np.add.reduceat(A[:n_lay_st], firsts, axis=0) if firsts else A[:0]
    if firsts:
        tot_all[:, widths] = np.maximum.reduceat(A[:n_lay_st][:, widths], firsts, axis=0)
    tot_py = tot_all.tolist()
    rows_py = A.tolist()
    busy_r, stall_r = res["busy"], res["stall"]
    busy_py = np.round(busy_r).astype(np.int64).tolist()
    stall_py = np.round(stall_r).astype(np.int64).tolist()
    occ_py = (busy_r + stall_r).tolist()
    ev_in_py, ev_out_py = dyn["events_in"].tolist(), dyn["events_out"].tolist()
    # per layer: first input row start and last output row end over its stages
    in_first = np.full(n_lay_st, np.inf)
    fin_last = np.zeros(n_lay_st)
    has_in = arr["in_rows"][:n_lay_st] > 0
    has_out = arr["out_rows"][:n_lay_st] > 0
    in_first[has_in] = res["in_start"][in_off[:n_lay_st][has_in]]
    fin_last[has_out] = res["out_fin"][(out_off + arr["out_rows"] - 1)[:n_lay_st][has_out]]
    t0_py = np.minimum.reduceat(in_first, firsts).tolist() if firsts else []
    t1_py = np.maximum.reduceat(fin_last, firsts).tolist() if firsts else []
    ev_in_lay = np.add.reduceat(dyn["events_in"][:n_lay_st], firsts).tolist() if firsts else []
    ev_out_lay = np.add.reduceat(dyn["events_out"][:n_lay_st], firsts).tolist() if firsts else []
    if plan.layer_nps is None:  # static: the NP stages of each layer, their count and types
        plan.layer_nps = []
        for spec in plan.specs:
            ids_np = [i for i in plan.by_layer[spec.layer.name] if stages[i].ident is not None]
            plan.layer_nps.append((ids_np, sorted({stages[i].np_type for i in ids_np})))
    np_results.append((plan, busy_py, stall_py, ev_in_py, ev_out_py, rows_py))
    start0 = float(starts[0])
    for li, spec in enumerate(plan.specs):
        lay = spec.layer
        ids = plan.by_layer[lay.name]
        lt = LayerTiming(name=lay.name, type=lay.TYPE, sequence=si, pass_index=pi)
        nz, size = dyn["nonzero"][lay.name]
        lt.sparsity = float(1.0 - nz / max(size, 1))
        best = max(ids, key=occ_py.__getitem__)  # first of the busiest
        t0 = t0_py[li]
        t1 = t1_py[li]
        lt.actions = ActionCounts(*tot_py[li])
        lt.actions.reconfig_bytes = prog_bytes if li == 0 else 0
        ids_np, types = plan.layer_nps[li]
        lt.n_nps = len(ids_np)
        lt.np_types = list(types)
        lt.busy_cycles, lt.stall_cycles = busy_py[best], stall_py[best]
        lt.events_in = ev_in_lay[li] if spec.g.kind == "dw" else ev_in_py[ids[0]]
        lt.events_out = ev_out_lay[li]
        lt.start_cycle = int(round(t0 - start0)) if np.isfinite(t0) else 0
        lt.end_cycle = int(round(t1 - start0))
        layer_results.append(lt)
    links.append((plan.net, res["link_flits"], res["link_busy"], res["link_first"],
                  res["link_last"]))
    return float(frames[0]), float(interval), frames


def _critical_path(out, model) -> list[str]:
    """Layers from input to output, following at each layer the inbound that finished last."""
    plan, res = out["plan"], out["res"]
    stages, out_off = plan.stages, plan.arrays["out_off"]
    names = {lay.name for lay in plan.layers}

    def end(name):
        return max(res["out_fin"][out_off[i] + stages[i].out_rows - 1]
                   for i in plan.by_layer[name])
    path = [plan.layers[-1].name]
    cur = plan.layers[-1]
    while True:
        ins = [b for b in cur.inbounds if b in names]
        if not ins:
            break
        nxt = max(ins, key=end)
        path.append(nxt)
        cur = model.get_layer(nxt)
    return path[::-1]


# ---------------------------------------------------------------- command line ---------------
def add_timing_arguments(parser) -> None:
    """Add ``--timing``, ``--clock-mode``, ``--param key=value`` and ``--batch-frames``."""
    parser.add_argument("--timing", action="store_true",
                        help="run the cycle-level simulation on --device and print its summary")
    parser.add_argument("--clock-mode", default="Performance", choices=CLOCK_MODES,
                        help="clock mode of the device (default Performance)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="override a timing constant (repeatable), e.g. "
                             "--param router_latency_cycles=4")
    parser.add_argument("--stream-frames", type=int, default=None, metavar="N",
                        help="frames streamed for the timing run (default: the input's frames;"
                             " more repeats the inputs)")


def run_timing(args, model, mapping, x, activations=None) -> TimingResult:
    """Run the simulation requested by the ``nsoc run`` arguments and print its summary."""
    result = simulate(model, mapping, x, clock_mode=args.clock_mode,
                      overrides=parse_param_overrides(args.param),
                      batch_size=getattr(args, "stream_frames", None), activations=activations)
    print(result.summary())
    return result

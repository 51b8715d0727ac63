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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError, MappingError, NsocError
from .noc import Network, hops
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
    with open(path) as fh:
        doc = json.load(fh)
    return {k: dict(v) for k, v in doc.items() if not k.startswith("_")}


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
@dataclass
class _Stage:
    name: str
    layer: str | None
    np_type: str
    node: tuple
    ident: tuple | None
    in_rows: int
    out_rows: int
    needed: np.ndarray
    in_cost: np.ndarray      # (F, in_rows) cycles
    in_fetch: np.ndarray     # (F, in_rows) external-memory cycles
    out_cost: np.ndarray     # (F, out_rows) cycles
    out_flits: np.ndarray    # (F, out_rows) flits per packet
    in_events: np.ndarray    # (F, in_rows) events entering the input FIFO
    inputs: list = field(default_factory=list)   # producer stage indices
    out_channel: int | None = None  # link id the output enters first (DMA channels)
    actions: ActionCounts = field(default_factory=ActionCounts)
    events_in: int = 0
    events_out: int = 0


def _channel_ranges(comps, channels: int) -> list[tuple[int, int]]:
    """Output-channel range of each NP component: from start_neuron/filters when they tile the
    channels, otherwise split in order proportionally to ``filters``."""
    ranges = [(c.start_neuron, c.start_neuron + c.filters) for c in comps]
    covered = sorted(ranges)
    if covered and covered[0][0] == 0 and covered[-1][1] == channels and all(
            a[1] == b[0] for a, b in zip(covered, covered[1:])):
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


class _Builder:
    """Turns one pass of a mapped model plus activations into scheduler stages."""

    def __init__(self, model, device, params, acts, x, n_frames):
        self.model, self.device, self.acts, self.x = model, device, acts, x
        self.P = {k: v["value"] for k, v in params.items()}
        self.n_frames = n_frames
        self.flit_bits = float(self.P["link_width_bits"])
        self.net = Network(int(self.P["link_width_bits"]), int(self.P["router_latency_cycles"]))
        mesh = device.mesh
        self.dma_node = mesh.dma_event.node
        self.hrc_node = self.dma_node
        self.nodes = set(mesh.nodes)

    def layer_input(self, layer) -> np.ndarray:
        if layer.inbounds:
            src = self.model.get_layer(layer.inbounds[0])
            if src.TYPE in _SOURCE_TYPES and src.name not in self.acts:
                return _as_frames(self.x)
            return _as_frames(self.acts[src.name])
        return _as_frames(self.x)

    def node_of(self, comp) -> tuple:
        node = comp.ident.node
        if comp.type == "HRC" or node not in self.nodes:
            return self.hrc_node
        return node

    # -- stages of one layer ------------------------------------------------------------
    def layer_stages(self, layer, lm) -> list[_Stage]:
        P, F = self.P, self.n_frames
        g = _geometry(layer, int(P["np_fire_block_rows"]))
        inp = self.layer_input(layer)
        if inp.shape[1] != g.in_rows:
            raise InputError(f"activations feeding layer '{layer.name}' have {inp.shape[1]} rows,"
                             f" the layer expects {g.in_rows}")
        out = _as_frames(self.acts[layer.name])
        from ..kernels.timing import row_channel_stats
        cnt_in, tap_in = row_channel_stats(inp, g.taps_y)
        cnt_out, _ = row_channel_stats(out, np.ones(out.shape[2], np.int64))
        c_out = out.shape[3]
        comps = list(lm.nps) if lm is not None else []
        wbits = int(layer.params.get("weights_bits", 8))
        ibits = int(getattr(layer, "input_bits", 8))
        stages = []
        if not comps:  # layer without NP (Add / Concatenate): a zero-cost forwarding stage
            comps_ranges = [(0, c_out)]
            comps = [None]
        else:
            comps_ranges = _channel_ranges(comps, c_out)
        ev_in_all = cnt_in.sum(axis=2)  # (F, in_rows)
        for comp, (c0, c1) in zip(comps, comps_ranges):
            n_f = c1 - c0
            kind = g.kind
            a = ActionCounts(weight_bits=wbits, input_bits=ibits)
            fetch = np.zeros((F, g.in_rows))
            if comp is None or kind == "pass":
                in_cost = np.zeros((F, g.in_rows))
                ev = ev_in_all
                syn = np.zeros((F, g.in_rows))
                node = None
                np_type = "NONE"
            else:
                node = self.node_of(comp)
                np_type = comp.type
                if kind == "dw":
                    ev = cnt_in[:, :, c0:c1].sum(axis=2)
                    syn = g.taps_x[None, :] * tap_in[:, :, c0:c1].sum(axis=2)
                elif kind == "fc":
                    ev = ev_in_all
                    syn = ev * n_f
                elif kind == "hrc":
                    ev = np.full((F, g.in_rows), inp.shape[2] * inp.shape[3], np.int64)
                    syn = np.zeros((F, g.in_rows))
                else:  # conv, sep: every NP sees every input event
                    ev = ev_in_all
                    syn = g.taps_x[None, :] * tap_in.sum(axis=2) * (1 if kind == "sep" else n_f)
                if kind == "fc":
                    lanes = P["fnp2_synops_per_cycle"] if np_type == "FNP2" else \
                        P["fnp3_synops_per_cycle"]
                    in_cost = ev * P["fnp_event_cycles"] + syn / lanes
                    if np_type == "FNP2":
                        wbytes = syn * wbits / 8.0
                        fetch = wbytes / P["dma_external_bytes_per_cycle"]
                        a.dma_weight_bytes = int(np.ceil(wbytes.sum()))
                elif kind == "hrc":
                    in_cost = np.full((F, g.in_rows), float(P["hrc_row_cycles"]))
                else:
                    in_cost = ev * P["cnp_event_cycles"] + syn / P["cnp_synops_per_cycle"]
            # output side
            ev_out = cnt_out[:, :, c0:c1].sum(axis=2)  # (F, out_rows)
            neurons_frame = g.conv_x * g.conv_y * n_f if kind not in ("fc", "pass") else n_f
            if kind == "pass":
                out_cost = np.zeros((F, g.out_rows))
                neurons_frame = 0
            else:
                out_cost = (neurons_frame / g.out_rows / P["fire_neurons_per_cycle"]
                            + ev_out * P["output_event_cycles"])
            extra_macs = 0.0
            if kind == "hrc":
                macs_frame = g.conv_x * g.conv_y * g.kernel * inp.shape[3] * n_f
                out_cost = out_cost + macs_frame / g.out_rows / P["hrc_macs_per_cycle"]
                a.hrc_macs = int(macs_frame * F)
            elif kind == "sep":
                pw_frame = g.conv_x * g.conv_y * inp.shape[3] * n_f
                out_cost = out_cost + pw_frame / g.out_rows / P["cnp_pointwise_macs_per_cycle"]
                extra_macs = pw_frame * F
            n_ev_in = int(ev.sum()) if kind != "hrc" else int(inp.size)
            a.synaptic_ops = int(round(float(np.sum(syn)) + extra_macs))
            a.input_sram_writes = n_ev_in if kind != "pass" else 0
            a.input_sram_reads = n_ev_in if kind != "pass" else 0
            a.weight_sram_reads = int(math.ceil(a.synaptic_ops * wbits / P["weight_word_bits"]))
            a.neurons_updated = int(neurons_frame * F)
            a.neurons_fired = int(ev_out.sum()) if kind != "pass" else 0
            ident = None if comp is None else (comp.ident.col, comp.ident.row, comp.ident.id)
            st = _Stage(name=f"{layer.name}@{ident}", layer=layer.name, np_type=np_type,
                        node=node, ident=ident, in_rows=g.in_rows, out_rows=g.out_rows,
                        needed=g.needed, in_cost=np.asarray(in_cost, np.float64),
                        in_fetch=np.asarray(fetch, np.float64),
                        out_cost=np.asarray(out_cost, np.float64),
                        out_flits=_flits(ev_out, P["event_bits"], self.flit_bits),
                        in_events=np.asarray(ev_in_all, np.int64), actions=a,
                        events_in=n_ev_in, events_out=int(ev_out.sum()))
            stages.append(st)
        return stages


def _build_plan(stages: list[_Stage], groups: list, net: Network, n_frames: int,
                fifo_events: float, bp_groups: list | None = None) -> dict:
    """Flatten stages and packet groups into the arrays of :func:`nsoc.kernels.timing.schedule`.

    ``groups``: list of (producer stage, destination node, [consumer stages], route link ids);
    ``bp_groups``: the same with only the consumers that exert back-pressure (default groups).
    """
    F = n_frames
    n = len(stages)
    in_rows = np.array([s.in_rows for s in stages], np.int64)
    out_rows = np.array([s.out_rows for s in stages], np.int64)
    in_off = np.concatenate([[0], np.cumsum(in_rows * F)])[:-1].astype(np.int64)
    out_off = np.concatenate([[0], np.cumsum(out_rows * F)])[:-1].astype(np.int64)
    need_off = np.concatenate([[0], np.cumsum(out_rows)])[:-1].astype(np.int64)
    needed = np.concatenate([s.needed for s in stages] + [np.zeros(0)]).astype(np.int64)
    cat = lambda arrs, dt: np.concatenate([a.reshape(-1) for a in arrs] + [np.zeros(0)]).astype(dt)
    in_cost = cat([s.in_cost for s in stages], np.float64)
    in_fetch = cat([s.in_fetch for s in stages], np.float64)
    out_cost = cat([s.out_cost for s in stages], np.float64)
    out_flits = cat([s.out_flits for s in stages], np.int64)
    # packet groups
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
    # array depends only on the consumer's layer and the row count, so it is shared
    bp_ptr, bp_stage, bp_off, bp_need = [0], [], [], []
    cons_of: dict[int, set] = {}
    for (pp, _n, cs, _r) in (bp_groups if bp_groups is not None else groups):
        cons_of.setdefault(pp, set()).update(cs)
    cache: dict = {}
    off = 0
    for p in range(n):
        for c in sorted(cons_of.get(p, ())):
            key = (stages[c].layer or stages[c].name, stages[p].out_rows)
            if key not in cache:
                ev = stages[c].in_events.reshape(-1).astype(np.float64)
                pref = np.concatenate([[0.0], np.cumsum(ev)])
                gj = np.arange(F * stages[p].out_rows)
                # smallest m with pref[gj+1] - pref[m+1] <= cap
                m = np.searchsorted(pref, pref[gj + 1] - fifo_events, side="left") - 1
                bp_need.append(np.minimum(m, gj - 1).astype(np.int64))
                cache[key] = off
                off += len(gj)
            bp_stage.append(c)
            bp_off.append(cache[key])
        bp_ptr.append(len(bp_stage))

    def ptr(lists):
        return np.concatenate([[0], np.cumsum([len(x) for x in lists])]).astype(np.int64)

    return {
        "in_rows": in_rows, "out_rows": out_rows, "in_off": in_off, "out_off": out_off,
        "need_off": need_off, "needed": needed, "in_cost": in_cost, "in_fetch": in_fetch,
        "out_cost": out_cost, "out_flits": out_flits,
        "in_grp_ptr": ptr(in_grp), "in_grp": np.array([g for x in in_grp for g in x], np.int64),
        "out_grp_ptr": ptr(out_grp),
        "out_grp": np.array([g for x in out_grp for g in x], np.int64),
        "grp_route_ptr": np.array(grp_route_ptr, np.int64),
        "grp_route": np.array(grp_route, np.int64),
        "grp_arr_off": np.array(grp_arr_off, np.int64),
        "bp_ptr": np.array(bp_ptr, np.int64), "bp_stage": np.array(bp_stage, np.int64),
        "bp_off": np.array(bp_off, np.int64),
        "bp_need": np.concatenate(bp_need + [np.zeros(0)]).astype(np.int64),
        "link_bits": net.bits_array(), "arr_size": np.array([arr_size], np.int64),
    }


# ---------------------------------------------------------------- one pass -------------------
def _simulate_pass(builder: _Builder, layers: list, mappings: dict) -> dict:
    """Build and schedule the stages of the layers of one pass; return raw results."""
    from ..kernels.timing import schedule
    P, F, net = builder.P, builder.n_frames, builder.net
    model = builder.model
    names = {lay.name for lay in layers}
    stages: list[_Stage] = []
    by_layer: dict[str, list[int]] = {}
    for lay in layers:
        ids = []
        for st in builder.layer_stages(lay, mappings.get(lay.name)):
            ids.append(len(stages))
            stages.append(st)
        by_layer[lay.name] = ids
    # forwarding stages (no NP) sit at the node of their first producer NP
    for lay in layers:
        for i in by_layer[lay.name]:
            if stages[i].node is None:
                prods = [stages[j].node for b in lay.inbounds for j in by_layer.get(b, [])
                         if stages[j].node is not None]
                stages[i].node = prods[0] if prods else builder.dma_node
    groups = []  # (producer, dest node, consumers, route)
    dma_in = net.channel("dma_in", P["dma_input_bytes_per_cycle"])
    dma_out = net.channel("dma_out", P["dma_output_bytes_per_cycle"])
    sources: dict[str, int] = {}
    first_consumer: dict[int, str] = {}

    def source_for(name: str, rows: int, consumer_layer) -> int:
        if name not in sources:
            data = builder.layer_input(consumer_layer)
            if consumer_layer.TYPE in _HRC_TYPES:  # dense 8-bit rows
                flits = np.full((F, rows), math.ceil(data.shape[2] * data.shape[3] * 8
                                                     / builder.flit_bits), np.int64)
            else:
                cnt, _ = _row_stats(data)
                flits = _flits(cnt.sum(axis=2), P["event_bits"], builder.flit_bits)
            sources[name] = len(stages)
            first_consumer[len(stages)] = consumer_layer.name
            stages.append(_Stage(name=f"DMA_IN:{name}", layer=None, np_type="DMA_IN",
                                 node=builder.dma_node, ident=None, in_rows=0, out_rows=rows,
                                 needed=np.full(rows, -1, np.int64),
                                 in_cost=np.zeros((F, 0)), in_fetch=np.zeros((F, 0)),
                                 out_cost=np.zeros((F, rows)), out_flits=flits,
                                 in_events=np.zeros((F, 0), np.int64)))
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

    for lay in layers:
        cons = by_layer[lay.name]
        for b in lay.inbounds or [None]:
            src_layer = model.get_layer(b) if b else None
            if b in names and src_layer.TYPE not in _SOURCE_TYPES:
                skip = bool(mappings.get(b) is not None and mappings[b].skipdma_stores
                            and lay.TYPE in ("Add", "Concatenate"))
                for p in by_layer[b]:
                    connect(p, cons, via_skip=skip)
            else:
                connect(source_for(b or "input", stages[cons[0]].in_rows, lay), cons)
    consumed = {b for lay in layers for b in lay.inbounds}
    sink_of = {}
    for lay in layers:
        outside = [c for c in model.consumers(lay.name) if c.name not in names
                   and c.TYPE not in _SOFTWARE_TYPES]
        if lay.name in consumed and not outside:
            continue
        rows = stages[by_layer[lay.name][0]].out_rows
        k = len(stages)
        stages.append(_Stage(name=f"DMA_OUT:{lay.name}", layer=None, np_type="DMA_OUT",
                             node=builder.dma_node, ident=None, in_rows=rows, out_rows=0,
                             needed=np.zeros(0, np.int64), in_cost=np.zeros((F, rows)),
                             in_fetch=np.zeros((F, rows)), out_cost=np.zeros((F, 0)),
                             out_flits=np.zeros((F, 0), np.int64),
                             in_events=np.zeros((F, rows), np.int64)))
        sink_of[lay.name] = k
        for p in by_layer[lay.name]:
            connect(p, [k])
    for gi, (p, node, cs, route) in enumerate(groups):
        for c in cs:
            stages[c].inputs.append(p)
    # back-pressure is not applied towards the DMA (host memory absorbs the output)
    bp_groups = [(p, n, [c for c in cs if stages[c].np_type != "DMA_OUT"], r)
                 for (p, n, cs, r) in groups]
    plan = _build_plan(stages, groups, net, F, float(P["np_input_fifo_events"]), bp_groups)
    res = schedule(plan, F, builder.flit_bits, int(P["packet_header_flits"]),
                   float(P["router_latency_cycles"]))
    if not res["ok"]:
        raise NsocError("internal error: the timing scheduler dead-locked; please report it")
    return {"stages": stages, "groups": groups, "plan": plan, "res": res,
            "by_layer": by_layer, "sources": sources, "sinks": sink_of,
            "first_consumer": first_consumer}


def _row_stats(data: np.ndarray):
    from ..kernels.timing import row_channel_stats
    return row_channel_stats(data, np.ones(data.shape[2], np.int64))


# ---------------------------------------------------------------- public API -----------------
def _resolve_device(model, device):
    if device is None:
        if model.device is None:
            raise MappingError("the model is not mapped: pass device='AKD1000' (or a Device) "
                               "to simulate(), or map it first with model.map(device)")
        return model.device
    if isinstance(device, str):
        from . import device as devmod
        for fn in ("get_device", "load_device", "device_by_name"):
            if hasattr(devmod, fn):
                return getattr(devmod, fn)(device)
        raise MappingError(f"cannot load device '{device}': nsoc.hardware.device has no loader")
    return device


def simulate(model, x=None, device=None, clock_mode: str = "Performance",
             overrides: dict | None = None, batch_size: int | None = None,
             activations: dict | None = None) -> TimingResult:
    """Cycle-level simulation of ``model`` on its mapped device for the frames of ``x``.

    ``x``: NHWC input batch (as for ``model.forward``).  ``device``: Device or name; when the
    model is not mapped yet (or mapped on another device) it is mapped with AllNps.
    ``batch_size``: frames streamed (default ``len(x)``; more than ``len(x)`` repeats the
    inputs cyclically).  ``activations``: {layer name: (N, x, y, c) integers} to use instead of
    running ``model.forward(x, outputs="all")``.  ``overrides``: {parameter: number}.
    """
    if clock_mode not in CLOCK_MODES:
        raise TimingParamError(f"unknown clock mode {clock_mode!r}; use one of {CLOCK_MODES}")
    dev = _resolve_device(model, device)
    if model.sequences is None or (device is not None and model.device is not dev and
                                   getattr(model.device, "name", None) != dev.name):
        model.map(dev)
    dev = model.device if model.device is not None else dev
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
    idx = np.arange(n_frames) % n_in
    acts = {k: _as_frames(v)[idx] for k, v in activations.items()}
    xs = _as_frames(np.asarray(x))[idx]
    P = {k: v["value"] for k, v in params.items()}
    clock = float(P[f"clock_hz_{clock_mode}"])

    passes = [(si, pi, p) for si, seq in enumerate(model.sequences)
              if seq.backend == "Hardware" for pi, p in enumerate(seq.passes)]
    n_programs = len(passes)
    layer_results, np_results = [], []
    links: dict = {}
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
        builder = _Builder(model, dev, params, acts, xs, n_frames)
        out = _simulate_pass(builder, layers, mappings)
        prog_bytes = 0
        if n_programs > 1:
            seq = model.sequences[si]
            prog_bytes = int(seq.program_size / max(len(seq.passes), 1))
            reconfig += prog_bytes / P["dma_conf_bytes_per_cycle"]
        lat, ivl, fr = _collect(out, builder, layers, model, n_frames, si, pi, prog_bytes,
                                layer_results, np_results, links)
        frames += fr
        pass_latency.append(lat)
        pass_interval.append(ivl)
        critical = _critical_path(out, layers, model) + critical if not critical else \
            critical + _critical_path(out, layers, model)
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
    for n in np_results:
        n.idle_cycles = max(int(round(total)) - n.busy_cycles - n.stall_cycles, 0)
    link_list = []
    for (a, b), (flits, busy, first, last) in sorted(links.items()):
        span = max(last - first, 1.0)
        link_list.append(LinkTiming(src=a, dst=b, flits=int(flits), busy_cycles=int(round(busy)),
                                    peak_utilisation=min(busy / span, 1.0),
                                    mean_utilisation=min(busy / max(total, 1.0), 1.0)))
    return TimingResult(
        device=dev.name, clock_mode=clock_mode, clock_hz=clock, n_frames=n_frames,
        latency_cycles=latency, fps=clock / max(interval, 1.0),
        frames=[int(round(f)) for f in frames], interval_cycles=int(round(interval)),
        total_cycles=int(round(total)), layers=layer_results, nps=np_results, links=link_list,
        critical_path=critical, reconfig_cycles=int(round(reconfig)), params=params)


def _collect(out, builder, layers, model, F, si, pi, prog_bytes, layer_results, np_results,
             links):
    """Fill LayerTiming / NPTiming / links from one pass; return (latency, interval, frames)."""
    stages, groups, plan, res = out["stages"], out["groups"], out["plan"], out["res"]
    flit_bits = builder.flit_bits
    header = int(builder.P["packet_header_flits"])
    hops_by_stage = np.zeros(len(stages), np.int64)
    for gi, (p, _n, _cs, _r) in enumerate(groups):
        hops_by_stage[p] += res["grp_flit_hops"][gi]
    # DMA traffic
    for s_idx, name in out["first_consumer"].items():
        st = stages[s_idx]
        cons = out["by_layer"][name][0]
        stages[cons].actions.dma_input_bytes += int((st.out_flits.sum() + header * st.out_flits.size)
                                                    * flit_bits / 8)
        stages[cons].actions.noc_flit_hops += int(hops_by_stage[s_idx])
    for lname, k in out["sinks"].items():
        for p in out["by_layer"][lname]:
            stages[p].actions.dma_output_bytes += int(stages[p].out_flits.sum() * flit_bits / 8)
    # frame times
    srcs = list(out["sources"].values())
    sinks = list(out["sinks"].values())
    in_off, out_off = plan["in_off"], plan["out_off"]
    starts = np.full(F, np.inf)
    ends = np.zeros(F)
    for s in srcs:
        r = stages[s].out_rows
        t = res["out_start"][out_off[s]:out_off[s] + F * r].reshape(F, r)
        starts = np.minimum(starts, t[:, 0])
    for s in sinks:
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
    # per NP and per layer
    for lay in layers:
        ids = out["by_layer"][lay.name]
        lt = LayerTiming(name=lay.name, type=lay.TYPE, sequence=si, pass_index=pi)
        acts = _as_frames(builder.acts[lay.name])
        lt.sparsity = float(1.0 - np.count_nonzero(acts) / max(acts.size, 1))
        best = None
        t0, t1 = np.inf, 0.0
        for i in ids:
            st = stages[i]
            st.actions.noc_flit_hops += int(hops_by_stage[i])
            busy, stall = float(res["busy"][i]), float(res["stall"][i])
            if best is None or busy + stall > best[0] + best[1]:
                best = (busy, stall)
            ri, ro = st.in_rows, st.out_rows
            if ri:
                t0 = min(t0, float(res["in_start"][in_off[i]]))
            if ro:
                t1 = max(t1, float(res["out_fin"][out_off[i] + ro - 1]))
            lt.actions.add(st.actions)
            if st.ident is not None:
                np_results.append(NPTiming(col=st.ident[0], row=st.ident[1], id=st.ident[2],
                                           type=st.np_type, layer=lay.name,
                                           busy_cycles=int(round(busy)),
                                           stall_cycles=int(round(stall)),
                                           events_in=st.events_in, events_out=st.events_out,
                                           actions=st.actions))
        lt.actions.reconfig_bytes = prog_bytes if lay is layers[0] else 0
        lt.n_nps = sum(1 for i in ids if stages[i].ident is not None)
        lt.np_types = sorted({stages[i].np_type for i in ids if stages[i].ident is not None})
        lt.busy_cycles, lt.stall_cycles = int(round(best[0])), int(round(best[1]))
        kind = _geometry(lay, 1).kind
        lt.events_in = (sum(stages[i].events_in for i in ids) if kind == "dw"
                        else stages[ids[0]].events_in)
        lt.events_out = sum(stages[i].events_out for i in ids)
        lt.start_cycle = int(round(t0 - starts[0])) if np.isfinite(t0) else 0
        lt.end_cycle = int(round(t1 - starts[0]))
        layer_results.append(lt)
    net = builder.net
    for i, (a, b) in enumerate(net.link_nodes):
        if not net.is_mesh_link(i) or res["link_flits"][i] == 0:
            continue
        prev = links.get((a, b), (0, 0.0, np.inf, 0.0))
        links[(a, b)] = (prev[0] + int(res["link_flits"][i]), prev[1] + float(res["link_busy"][i]),
                         min(prev[2], float(res["link_first"][i])),
                         max(prev[3], float(res["link_last"][i])))
    return float(frames[0]), float(interval), frames


def _critical_path(out, layers, model) -> list[str]:
    """Layers from input to output, following at each layer the inbound that finished last."""
    ends = {}
    for lay in layers:
        ends[lay.name] = lay.name
    names = {lay.name for lay in layers}
    path = [layers[-1].name]
    res, plan, stages = out["res"], out["plan"], out["stages"]

    def end(name):
        ids = out["by_layer"][name]
        return max(res["out_fin"][plan["out_off"][i] + stages[i].out_rows - 1] for i in ids)
    cur = model.get_layer(layers[-1].name)
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


def run_timing(args, model, x, activations=None) -> TimingResult:
    """Run the simulation requested by the ``nsoc run`` arguments and print its summary."""
    device = getattr(args, "device", None)
    if device is None and model.device is None:
        raise TimingParamError("--timing needs --device (e.g. --device AKD1000)")
    result = simulate(model, x, device=device, clock_mode=args.clock_mode,
                      overrides=parse_param_overrides(args.param),
                      batch_size=getattr(args, "stream_frames", None), activations=activations)
    print(result.summary())
    return result

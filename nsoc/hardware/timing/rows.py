"""Per-call work of a pass: the activations of one call turned into per-row costs, flits,
back-pressure constraints and action counts (layer by layer, the NP components of a layer
together as (components, frames, rows) arrays; the cost coefficients come from the plan)."""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from ...errors import InputError
from ...kernels.schedule import ScheduleCosts
from ...kernels.timing import fifo_need, layer_costs, row_channel_stats
from ..timing_result import ActionCounts
from .kinds import SOURCE_TYPES
from .plan import PassPlan

ACTION_FIELDS = tuple(f.name for f in fields(ActionCounts))
A_INDEX = {name: i for i, name in enumerate(ACTION_FIELDS)}


@dataclass
class PassWork:
    """Per-call inputs of the scheduler and per-stage counts of one pass."""

    costs: ScheduleCosts
    actions: np.ndarray      # (stages, len(ACTION_FIELDS)) int64
    events_in: np.ndarray    # (stages,) int64
    events_out: np.ndarray   # (stages,) int64
    nonzero: dict            # layer name -> (non-zero outputs, output size)


def as_frames(a) -> np.ndarray:
    """An activation array as (F, X, Y, C)."""
    a = np.asarray(a)
    if a.ndim == 2:
        a = a[:, None, None, :]
    elif a.ndim == 3:
        a = a[..., None]
    return a


def layer_input(model, layer, acts: dict, x) -> np.ndarray:
    """The activations feeding ``layer`` (its first inbound, or the input ``x``)."""
    if layer.inbounds:
        src = model.get_layer(layer.inbounds[0])
        if src.TYPE in SOURCE_TYPES and src.name not in acts:
            return x
        return acts[src.name]
    return x


def _flits(events: np.ndarray, bits_per: float, flit_bits: float) -> np.ndarray:
    return np.ceil(events * bits_per / flit_bits).astype(np.int64)


def pass_work(plan: PassPlan, model, P: dict, acts: dict, x: np.ndarray) -> PassWork:
    """Per-row costs (cycles), flits, events and action counts of the stages of ``plan`` for
    the activations ``acts`` ({layer: (F, X, Y, C)}) and input ``x``."""
    sched = plan.sched
    F = plan.n_frames
    in_off, out_off = sched.in_off, sched.out_off
    n_st = len(plan.stages)
    flit_bits = float(P["link_width_bits"])
    in_cost = np.zeros(sched.in_total)
    in_fetch = np.zeros_like(in_cost)
    out_cost = np.zeros(sched.out_total)
    out_flits = np.zeros(out_cost.shape[0], np.int64)
    A = np.zeros((n_st, len(ACTION_FIELDS)), np.int64)
    ev_in_st = np.zeros(n_st, np.int64)
    ev_out_st = np.zeros(n_st, np.int64)
    layer_ev = {}
    nonzero = {}
    # per-row statistics of each activation array, computed once with the taps_y of its first
    # consumer in the pass (another consumer's taps recompute them)
    next_taps: dict = {}
    for spec in plan.specs:
        src = spec.layer.inbounds[0] if spec.layer.inbounds else None
        next_taps.setdefault(src, spec.g.taps_y)
    memo: dict = {}

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
        inp = as_frames(layer_input(model, lay, acts, x))
        if inp.shape[1] != g.in_rows:
            raise InputError(f"activations feeding layer '{lay.name}' have {inp.shape[1]} rows,"
                             f" the layer expects {g.in_rows}")
        out = as_frames(acts[lay.name])
        if out.shape[3] != spec.channels or out.shape[1] != g.out_rows:
            raise InputError(f"activations of layer '{lay.name}' have shape {out.shape[1:]}, "
                             f"the layer outputs {tuple(lay.output_dims)}")
        cnt_in, tap_in = stats(inp, g.taps_y)
        cnt_out, _ = stats(out, next_taps.get(lay.name))
        ev_all = cnt_in.sum(axis=2)  # (F, in_rows)
        if spec.np_less and len(lay.inbounds) > 1:  # Add / Concatenate: events of all inbounds
            for b in lay.inbounds[1:]:
                other = as_frames(acts[b]) if b in acts else inp
                if other.shape[1] == g.in_rows:
                    ev_all = ev_all + row_channel_stats(
                        other, np.ones(other.shape[2], np.int64))[0].sum(axis=2)
        layer_ev[lay.name] = ev_all
        nonzero[lay.name] = (int(cnt_out.sum()), out.size)
        K = spec.c0.shape[0]
        Ri, Ro = g.in_rows, g.out_rows
        s0, o0 = in_off[spec.first], out_off[spec.first]
        sums = layer_costs(
            g.kind, spec.np_less or g.kind == "pass", cnt_in, tap_in,
            np.ascontiguousarray(ev_all), cnt_out, spec.c0, spec.c1, spec.r0, spec.r1,
            spec.o0, spec.o1, g.taps_x, spec.fnp2,
            inp.shape[2] * inp.shape[3], spec.wbits, spec.coef_in, spec.coef_out,
            P["event_bits"], flit_bits,
            in_cost[s0:s0 + K * F * Ri].reshape(K, F, Ri),
            in_fetch[s0:s0 + K * F * Ri].reshape(K, F, Ri),
            out_cost[o0:o0 + K * F * Ro].reshape(K, F, Ro),
            out_flits[o0:o0 + K * F * Ro].reshape(K, F, Ro))
        _layer_actions(A[spec.first:spec.first + K], spec, sums, F, P)
        ev_in_st[spec.first:spec.first + K] = sums[:, 0]
        ev_out_st[spec.first:spec.first + K] = sums[:, 2]
    # model inputs entering through the event DMA
    for s, lay in plan.source_layer.items():
        rows = plan.stages[s].out_rows
        data = as_frames(layer_input(model, lay, acts, x))
        if lay.HW_KIND == "hrc":  # dense 8-bit rows
            flits = np.full((F, rows), math.ceil(data.shape[2] * data.shape[3] * 8 / flit_bits),
                            np.int64)
        else:
            cnt, _ = stats(data, None)
            flits = _flits(cnt.sum(axis=2), P["event_bits"], flit_bits)
        out_flits[out_off[s]:out_off[s] + F * rows] = flits.reshape(-1)
    # back-pressure: smallest consumer input item whose completion frees enough FIFO room
    fifo = float(P["np_input_fifo_events"])
    bp_need = []
    for cl, p_rows, band in plan.bp_keys:
        ev, cap = _band_fifo(layer_ev[cl], band, fifo)
        bp_need.append(fifo_need(ev.reshape(-1), F * p_rows, cap))
    bp = np.concatenate(bp_need + [np.zeros(0, np.int64)]).astype(np.int64)
    grp_flits = _depthwise_group_flits(plan, model, acts, x, P["event_bits"], flit_bits)
    return PassWork(ScheduleCosts(in_cost, in_fetch, out_cost, out_flits, bp, grp_flits), A,
                    ev_in_st, ev_out_st, nonzero)


def _depthwise_group_flits(plan: PassPlan, model, acts: dict, x, event_bits: float,
                           flit_bits: float) -> np.ndarray:
    """Payload flits of each packet group's copy of its producer's rows when every consumer
    of the group is an NP of a depthwise layer: the events of the channels those NPs hold (a
    depthwise NP integrates only its own channels' events, the CNP law counts those); -1 for
    the other groups (the whole row).  Empty when no group feeds depthwise NPs only.  Before,
    a depthwise layer spread over many nodes received every event at every node, and its
    producer's link carried the row once per node (fuzz draw 500170: 32 depthwise NPs of one
    channel each, 1.5 k cycles of work a NP in a 55 k span)."""
    sched, F = plan.sched, plan.n_frames
    out = None
    for g, p, ranges, producer_range in depthwise_groups(plan):
        pst = plan.stages[p]
        if producer_range is None:     # the pass's input (DMA_IN): all its channels
            data = as_frames(layer_input(model, plan.source_layer[p], acts, x))
            lo, hi = 0, data.shape[3]
        else:
            data = as_frames(acts[pst.layer])
            lo, hi = producer_range if producer_range[1] >= 0 else (0, data.shape[3])
        keep = np.zeros(data.shape[3], bool)
        for c0, c1 in ranges:
            keep[c0:c1] = True
        keep[:lo] = False
        keep[hi:] = False
        ev = np.count_nonzero(data[..., keep], axis=(2, 3))   # (F, rows)
        if out is None:
            out = np.full(sched.arr_size, -1, np.int64)
        off = int(sched.grp_arr_off[g])
        out[off:off + F * pst.out_rows] = _flits(ev, event_bits, flit_bits).reshape(-1)
    return np.zeros(0, np.int64) if out is None else out


def depthwise_groups(plan: PassPlan) -> list:
    """The packet groups whose consumers are all NPs of depthwise layers, as (group, producer
    stage, the consumers' channel ranges, the producer's channel range: None for the pass's
    input, (0, -1) for all channels); they depend on the plan only, so they are found once
    and kept on it (the per-frame cost of finding them was 46 % of a DS-CNN frame's
    simulation)."""
    if plan.depthwise_groups is not None:
        return plan.depthwise_groups
    found_groups = []
    if any(spec.g.kind == "dw" and not spec.np_less for spec in plan.specs):
        stage_spec = {spec.first + k: (spec, k) for spec in plan.specs
                      for k in range(spec.c0.shape[0])}
        for g, grp in enumerate(plan.groups):
            found = [stage_spec.get(c) for c in grp.consumers]
            cons = [c for c in found if c is not None]
            if not cons or len(cons) < len(found) or any(
                    spec.g.kind != "dw" or spec.np_less for spec, _ in cons):
                continue
            p = grp.producer
            ranges = [(int(spec.c0[k]), int(spec.c1[k])) for spec, k in cons]
            if plan.stages[p].np_type == "DMA_IN":
                producer_range = None
            else:
                pspec = stage_spec.get(p)
                producer_range = (int(pspec[0].c0[pspec[1]]), int(pspec[0].c1[pspec[1]])) \
                    if pspec is not None and not pspec[0].np_less else (0, -1)
            found_groups.append((g, p, ranges, producer_range))
    plan.depthwise_groups = found_groups
    return found_groups


def _band_fifo(ev: np.ndarray, band, fifo: float) -> tuple[np.ndarray, float]:
    """(events per (frame, input row) a consumer NP's input buffer receives, its capacity in
    events).  Every row's events into ``np_input_fifo_events``; an NP of a band-split layer
    receives only its band and halo rows ``band`` and holds a whole frame of them (the mapper
    cuts the bands so that a band's input fits the NP's input memory), so within a frame its
    producer is not held back by it (on the AKD1500 the bands of a layer work side by side:
    its time is its widest band's, not their sum)."""
    if band is None:
        return ev, fifo
    out = np.zeros_like(ev)
    out[:, band[0]:band[1]] = ev[:, band[0]:band[1]]
    return out, max(fifo, float(out.sum(axis=1).max(initial=0)))


def _layer_actions(Ar: np.ndarray, spec, sums: np.ndarray, F: int, P: dict) -> None:
    """Fill the action-count rows ``Ar`` of a layer's K components from the kernel's sums
    ((K, 4): input events, synaptic ops, output events, FNP2 weight bytes)."""
    kind = spec.g.kind
    n_ev_in = sums[:, 0]
    if kind == "sep":
        # event-driven pointwise part: every input event reaches each filter the component
        # holds; the depthwise taps (the kernel's synaptic ops, the same for every component
        # of a band) counted once per band, shared by its components in proportion to their
        # filters
        held = (spec.c1 - spec.c0).astype(np.float64)
        same_band = (spec.r0[:, None] == spec.r0[None, :]) & (spec.r1[:, None] == spec.r1[None, :])
        share = held / np.maximum(same_band @ held, 1.0)
        synops = np.round(sums[:, 1] * share + n_ev_in * held).astype(np.int64)
    else:
        synops = sums[:, 1].astype(np.int64)
    Ar[:, A_INDEX["synaptic_ops"]] = synops
    Ar[:, A_INDEX["weight_bits"]] = spec.wbits
    Ar[:, A_INDEX["input_bits"]] = spec.ibits
    if kind == "hrc":
        Ar[:, A_INDEX["hrc_macs"]] = spec.dense_macs * F
    if kind == "fc":  # an FNP2 fetches its whole weight matrix every frame (as stored)
        Ar[:, A_INDEX["dma_weight_bytes"]] = np.where(
            spec.fnp2, np.round(spec.external_bytes * F), 0).astype(np.int64)
    if kind != "pass":
        Ar[:, A_INDEX["input_sram_writes"]] = n_ev_in
        Ar[:, A_INDEX["input_sram_reads"]] = n_ev_in
        Ar[:, A_INDEX["neurons_fired"]] = sums[:, 2]
    Ar[:, A_INDEX["weight_sram_reads"]] = np.ceil(synops * spec.wbits / P["weight_word_bits"])
    Ar[:, A_INDEX["neurons_updated"]] = spec.neurons * F

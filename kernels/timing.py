"""Numba kernels of the cycle-level simulator's per-row work (see :mod:`nsoc.hardware.timing`).

Public entry points (``*_ref``: numpy reference of the same accounting):

* :func:`row_channel_stats` turns one layer's activations into per-row event statistics: for
  every frame f, row x (axis 1 of the NHWC batch, the axis Akida streams row by row) and channel
  c, the number of non-zero values (events) and the sum of the kernel taps those events reach
  along axis 2 (``taps_y[y]``, the output columns an event at column y contributes to).
* :func:`layer_costs` turns those statistics into one layer's per-row work (events, synaptic
  ops, fetched weight bytes, output events) and, with the cost coefficients of each NP component
  (:mod:`nsoc.hardware.timing.costs`), its per-row input/output costs and flits.
* :func:`fifo_need` gives the back-pressure constraints of a producer towards a consumer FIFO.

The discrete-event scheduler is in :mod:`nsoc.kernels.schedule`.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _row_channel_stats(act, taps_y, cnt, tap):
    nf, nx, ny, nc = act.shape
    for f in range(nf):
        for x in range(nx):
            for y in range(ny):
                ty = taps_y[y]
                for c in range(nc):
                    nz = np.int64(act[f, x, y, c] != 0)  # branch-free: vectorises over c
                    cnt[f, x, c] += nz
                    tap[f, x, c] += nz * ty


def row_channel_stats(act: np.ndarray, taps_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per (frame, row, channel): event count and sum of ``taps_y`` over the events' columns.

    ``act``: (F, X, Y, C) integer activations; ``taps_y``: (Y,) int64.  Returns two (F, X, C)
    int64 arrays.
    """
    a = np.ascontiguousarray(act)
    if a.dtype.kind not in "iu":
        a = a.astype(np.int32)
    if a.dtype not in (np.int8, np.uint8, np.int16, np.int32, np.int64):
        a = a.astype(np.int64)
    t = np.ascontiguousarray(taps_y, dtype=np.int64)
    cnt = np.zeros((a.shape[0], a.shape[1], a.shape[3]), np.int64)
    tap = np.zeros_like(cnt)
    _row_channel_stats(a, t, cnt, tap)
    return cnt, tap


def row_channel_stats_ref(act: np.ndarray, taps_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Numpy reference of :func:`row_channel_stats`."""
    nz = np.asarray(act) != 0
    cnt = nz.sum(axis=2).astype(np.int64)
    tap = (nz * np.asarray(taps_y, np.int64)[None, None, :, None]).sum(axis=2).astype(np.int64)
    return cnt, tap


# layer kinds of :func:`layer_costs`
KIND_CODES = {"pass": 0, "dw": 1, "fc": 2, "hrc": 3, "conv": 4, "sep": 5}
# columns of the per-component cost coefficients of :func:`layer_costs`
COEF_IN = ("cycles_per_event", "cycles_per_synop", "cycles_per_row", "cycles_per_fetch_byte",
           "cycles_per_frame")
COEF_OUT = ("cycles_per_out_row", "cycles_per_out_event")


@njit(cache=True)
def _layer_costs(kind, zero_in, cnt_in, tap_in, ev_all, cnt_out, c0, c1, r0, r1, o0, o1, n_f,
                 taps_x, fnp2, hrc_events, wbits, coef_in, coef_out, event_bits, flit_bits, in_cost,
                 in_fetch, out_cost, out_flits, sums):
    nf, ri, _ = cnt_in.shape
    ro = cnt_out.shape[1]
    for k in range(c0.shape[0]):
        a_ev, a_syn, a_row, a_fetch, a_frame = coef_in[k, 0], coef_in[k, 1], coef_in[k, 2], \
            coef_in[k, 3], coef_in[k, 4]
        b_row, b_ev = coef_out[k, 0], coef_out[k, 1]
        n_ev = 0
        n_syn = 0
        wsum = 0.0
        for f in range(nf):
            for r in range(ri):
                syn = 0
                fetch = 0.0
                if r < r0[k] or r >= r1[k]:  # outside the component's band and halo
                    ev = 0
                elif zero_in:
                    ev = ev_all[f, r]
                elif kind == 3:  # HRC: dense rows
                    ev = hrc_events
                elif kind == 1:  # depthwise: the component's own channels
                    ev = 0
                    tp = 0
                    for c in range(c0[k], c1[k]):
                        ev += cnt_in[f, r, c]
                        tp += tap_in[f, r, c]
                    syn = taps_x[r] * tp
                else:
                    ev = ev_all[f, r]
                    if kind == 2:  # dense: every event reaches every neuron held
                        syn = ev * n_f[k]
                        if fnp2[k]:
                            wb = syn * wbits / 8.0
                            fetch = wb * a_fetch
                            wsum += wb
                    else:
                        tp = 0
                        for c in range(cnt_in.shape[2]):
                            tp += tap_in[f, r, c]
                        syn = taps_x[r] * tp
                        if kind == 4:
                            syn = syn * n_f[k]
                cost = ev * a_ev + syn * a_syn + a_row
                if r == 0:
                    cost += a_frame
                in_cost[k, f, r] = cost
                in_fetch[k, f, r] = fetch
                n_ev += ev
                n_syn += syn
        n_out = 0
        for f in range(nf):
            for r in range(ro):
                e = 0
                if o0[k] <= r < o1[k]:  # the component fires its own band's rows
                    for c in range(c0[k], c1[k]):
                        e += cnt_out[f, r, c]
                n_out += e
                out_cost[k, f, r] = b_row + e * b_ev
                out_flits[k, f, r] = np.int64(np.ceil(e * event_bits / flit_bits))
        sums[k, 0] = n_ev
        sums[k, 1] = n_syn
        sums[k, 2] = n_out
        sums[k, 3] = np.int64(np.ceil(wsum)) if fnp2[k] else 0


def layer_costs(kind: str, zero_in: bool, cnt_in, tap_in, ev_all, cnt_out, c0, c1, r0, r1,
                o0, o1, taps_x, fnp2, hrc_events: int, weight_bits: int, coef_in, coef_out,
                event_bits: float, flit_bits: float, in_cost, in_fetch, out_cost,
                out_flits) -> np.ndarray:
    """Per-row work and costs of one layer's K NP components.

    Work per input row (frame f, row r) of component k: ``events`` (the component's channels
    for a depthwise layer, the whole row otherwise; the dense pixel count ``hrc_events`` for
    the HRC); ``synops`` = events x kernel taps reached (x filters held for a standard
    convolution, x neurons held for a dense layer; 0 for the HRC and a layer without NP);
    ``fetch bytes`` = synops x ``weight_bits`` / 8 for an FNP2 (weights from external memory).
    Costs: input row = events x ``coef_in[k, 0]`` + synops x ``coef_in[k, 1]`` +
    ``coef_in[k, 2]`` (+ ``coef_in[k, 4]`` on a frame's first row), its fetch = fetch bytes x
    ``coef_in[k, 3]`` (the part longer than the compute stalls); output row = ``coef_out[k, 0]``
    + output events x ``coef_out[k, 1]`` (columns :data:`COEF_IN` / :data:`COEF_OUT`).

    ``cnt_in``/``tap_in``: (F, Ri, C) int64 input statistics (:func:`row_channel_stats`),
    ``ev_all``: (F, Ri) input events, ``cnt_out``: (F, Ro, Co) output events per channel;
    ``c0``/``c1``: (K,) output-channel ranges; ``zero_in``: a layer without NP (events counted,
    no synops); ``r0``/``r1``: (K,) input rows each component receives (a band-split layer's
    band and halo; no work outside them), ``o0``/``o1``: (K,) output rows it fires.  Writes
    input row costs / fetch cycles (K, F, Ri) and output row costs / flits (K, F, Ro) into the
    given arrays; returns (K, 4) int64: input events, synaptic ops, output events, FNP2 weight
    bytes fetched.
    """
    sums = np.zeros((c0.shape[0], 4), np.int64)
    _layer_costs(KIND_CODES[kind], bool(zero_in), cnt_in, tap_in, ev_all, cnt_out, c0, c1,
                 np.ascontiguousarray(r0, np.int64), np.ascontiguousarray(r1, np.int64),
                 np.ascontiguousarray(o0, np.int64), np.ascontiguousarray(o1, np.int64), c1 - c0,
                 taps_x, fnp2, np.int64(hrc_events), float(weight_bits),
                 np.ascontiguousarray(coef_in, np.float64),
                 np.ascontiguousarray(coef_out, np.float64), float(event_bits), float(flit_bits),
                 in_cost, in_fetch, out_cost, out_flits, sums)
    return sums


@njit(cache=True)
def _fifo_need(events, n_items, fifo, out):
    pref = np.zeros(events.shape[0] + 1)
    acc = 0.0
    for i in range(events.shape[0]):
        acc += events[i]
        pref[i + 1] = acc
    i = 0
    for gj in range(n_items):
        target = pref[gj + 1] - fifo
        while i < pref.shape[0] and pref[i] < target:
            i += 1
        out[gj] = min(i - 1, gj - 1)


def fifo_need(events: np.ndarray, n_items: int, fifo: float) -> np.ndarray:
    """Back-pressure constraint of a producer's rows towards a consumer: for producer row gj
    (``n_items`` rows over the frames), the last consumer input item (-1: none) that must be
    finished before row gj can be sent, so that the consumer's input FIFO of ``fifo`` events
    holds it; ``events``: (items,) int64 events per consumer input item, in order."""
    if n_items > events.shape[0]:
        raise ValueError(f"fifo_need: {n_items} producer rows for {events.shape[0]} consumer items")
    out = np.empty(int(n_items), np.int64)
    _fifo_need(np.ascontiguousarray(events, dtype=np.int64), np.int64(n_items), float(fifo), out)
    return out


def fifo_need_ref(events: np.ndarray, n_items: int, fifo: float) -> np.ndarray:
    """Numpy reference of :func:`fifo_need`."""
    pref = np.concatenate([[0.0], np.cumsum(np.asarray(events, np.float64))])
    gj = np.arange(int(n_items))
    m = np.searchsorted(pref, pref[gj + 1] - fifo, side="left") - 1
    return np.minimum(m, gj - 1).astype(np.int64)

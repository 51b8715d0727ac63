"""Numba kernels of the cycle-level simulator (see :mod:`nsoc.hardware.timing`).

Public entry points (``*_ref``: numpy reference of the same accounting):

* :func:`row_channel_stats` turns one layer's activations into per-row event statistics: for
  every frame f, row x (axis 1 of the NHWC batch, the axis Akida streams row by row) and channel
  c, the number of non-zero values (events) and the sum of the kernel taps those events reach
  along axis 2 (``taps_y[y]``, the output columns an event at column y contributes to).
* :func:`layer_costs` turns those statistics into one layer's per-row input/output costs,
  flits and per-component action sums (its reference is the cycle model documented in
  :mod:`nsoc.hardware.timing`; the simulator's results are tested against it there).
* :func:`fifo_need` gives the back-pressure constraints of a producer towards a consumer FIFO.
* :func:`schedule` is the discrete-event scheduler: NP stages run input-row and output-row
  operations in order; output rows leave as packets over XY routes of links (serialisation,
  per-hop router latency, contention, first-come first-served); a stage cannot emit a row while
  a consumer's input FIFO is full (back-pressure).  At each step the operation that can start
  earliest over all stages runs, so links see packets in (near) time order; it loops over
  operations (rows), never over cycles.
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


@njit(cache=True)
def _layer_costs(kind, zero_in, cnt_in, tap_in, ev_all, cnt_out, c0, c1, n_f, taps_x, lanes,
                 fnp2, hrc_events, neurons, extra_out, fk, in_cost, in_fetch, out_cost,
                 out_flits, sums):
    ev_cyc, syn_rate, fnp_cyc, wbits, ext_rate, hrc_row, fire_rate, out_ev_cyc, extra_rate, \
        event_bits, flit_bits = fk[0], fk[1], fk[2], fk[3], fk[4], fk[5], fk[6], fk[7], fk[8], \
        fk[9], fk[10]
    nf, ri, _ = cnt_in.shape
    ro = cnt_out.shape[1]
    for k in range(c0.shape[0]):
        n_ev = 0
        n_syn = 0
        wsum = 0.0
        for f in range(nf):
            for r in range(ri):
                syn = 0
                cost = 0.0
                fetch = 0.0
                if zero_in:
                    ev = ev_all[f, r]
                elif kind == 3:  # HRC: dense rows
                    ev = hrc_events
                    cost = hrc_row
                elif kind == 1:  # depthwise: the component's own channels
                    ev = 0
                    tp = 0
                    for c in range(c0[k], c1[k]):
                        ev += cnt_in[f, r, c]
                        tp += tap_in[f, r, c]
                    syn = taps_x[r] * tp
                    cost = ev * ev_cyc + syn / syn_rate
                else:
                    ev = ev_all[f, r]
                    if kind == 2:
                        syn = ev * n_f[k]
                        cost = ev * fnp_cyc + syn / lanes[k]
                        if fnp2[k]:
                            wb = syn * wbits / 8.0
                            fetch = wb / ext_rate
                            wsum += wb
                    else:
                        tp = 0
                        for c in range(cnt_in.shape[2]):
                            tp += tap_in[f, r, c]
                        syn = taps_x[r] * tp
                        if kind == 4:
                            syn = syn * n_f[k]
                        cost = ev * ev_cyc + syn / syn_rate
                in_cost[k, f, r] = cost
                in_fetch[k, f, r] = fetch
                n_ev += ev
                n_syn += syn
        n_out = 0
        for f in range(nf):
            for r in range(ro):
                e = 0
                for c in range(c0[k], c1[k]):
                    e += cnt_out[f, r, c]
                n_out += e
                if kind == 0:
                    oc = 0.0
                else:
                    oc = neurons[k] / ro / fire_rate + e * out_ev_cyc
                    if kind == 3 or kind == 5:
                        oc = oc + extra_out[k] / ro / extra_rate
                out_cost[k, f, r] = oc
                out_flits[k, f, r] = np.int64(np.ceil(e * event_bits / flit_bits))
        sums[k, 0] = n_ev
        sums[k, 1] = n_syn
        sums[k, 2] = n_out
        sums[k, 3] = np.int64(np.ceil(wsum)) if fnp2[k] else 0


def layer_costs(kind: str, zero_in: bool, cnt_in, tap_in, ev_all, cnt_out, c0, c1, taps_x,
                lanes, fnp2, hrc_events: int, neurons, extra_out, consts, in_cost, in_fetch,
                out_cost, out_flits) -> np.ndarray:
    """Per-row costs of one layer's K NP components (see :mod:`nsoc.hardware.timing`).

    ``cnt_in``/``tap_in``: (F, Ri, C) int64 input statistics (:func:`row_channel_stats`),
    ``ev_all``: (F, Ri) input events, ``cnt_out``: (F, Ro, Co) output events per channel;
    ``c0``/``c1``: (K,) output-channel ranges; ``consts``: float64 [event cycles, synops per
    cycle, FNP event cycles, weight bits, external bytes per cycle, HRC row cycles, fire neurons
    per cycle, output event cycles, extra MACs per cycle, event bits, flit bits].  Writes input
    row costs / fetch cycles (K, F, Ri) and output row costs / flits (K, F, Ro) into the given
    arrays; returns (K, 4) int64: input events, synaptic ops, output events, FNP2 weight bytes.
    """
    sums = np.zeros((c0.shape[0], 4), np.int64)
    _layer_costs(KIND_CODES[kind], bool(zero_in), cnt_in, tap_in, ev_all, cnt_out, c0, c1,
                 c1 - c0, taps_x, lanes, fnp2, np.int64(hrc_events), neurons, extra_out, consts,
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


@njit(cache=True)
def _schedule(n_frames, in_rows, out_rows, in_off, out_off, need_off, needed,
              in_cost, in_fetch, out_cost, out_flits,
              in_grp_ptr, in_grp, out_grp_ptr, out_grp, grp_route_ptr, grp_route, grp_arr_off,
              bp_ptr, bp_stage, bp_off, bp_need,
              link_bits, flit_bits, header_flits, router_latency,
              arr, in_start, in_fin, out_start, out_fin,
              busy, stall, link_busy, link_flits, link_first, link_last, grp_flit_hops,
              grp_cons_ptr, grp_cons, bp_prod_ptr, bp_prod, bp_owner):
    n_st = in_rows.shape[0]
    n_links = link_bits.shape[0]
    link_free = np.zeros(n_links)
    free = np.zeros(n_st)
    pos_in = np.zeros(n_st, np.int64)
    pos_out = np.zeros(n_st, np.int64)
    remaining = 0
    for s in range(n_st):
        remaining += n_frames * (in_rows[s] + out_rows[s])
    # candidate (earliest start) of each stage's next operation, recomputed only when the
    # stage's state, its input arrivals or its consumers' FIFOs changed
    cand_t = np.full(n_st, np.inf)
    cand_out = np.zeros(n_st, np.bool_)
    cand_bp = np.zeros(n_st)
    dirty = np.ones(n_st, np.bool_)
    dirty_list = np.arange(n_st)
    n_dirty = n_st
    # input groups whose packet of the stage's next input row has arrived, and the latest
    # arrival among them: a stage is ready for that row when all its groups delivered it
    in_have = np.zeros(n_st, np.int64)
    in_ready = np.zeros(n_st)
    # the same for the back-pressure constraints of the stage's next output row
    bp_have = np.zeros(n_st, np.int64)
    bp_max = np.zeros(n_st)
    for s in range(n_st):
        for k in range(bp_ptr[s], bp_ptr[s + 1]):
            if n_frames * out_rows[s] > 0 and bp_need[bp_off[k]] < 0:
                bp_have[s] += 1
    # tournament tree over cand_t: the earliest candidate, lowest stage index on ties
    size = 1
    while size < n_st:
        size *= 2
    tree_t = np.full(2 * size, np.inf)
    tree_i = np.zeros(2 * size, np.int64)
    for v in range(size):
        tree_i[size + v] = v
    for v in range(size - 1, 0, -1):
        tree_i[v] = tree_i[2 * v]
    while remaining > 0:
        for q in range(n_dirty):
            s = dirty_list[q]
            dirty[s] = False
            cand_t[s] = np.inf
            bp_t = 0.0
            tot_in = n_frames * in_rows[s]
            tot_out = n_frames * out_rows[s]
            is_out = False
            if pos_out[s] < tot_out:
                f = pos_out[s] // out_rows[s]
                j = pos_out[s] - f * out_rows[s]
                nd = needed[need_off[s] + j]
                gneed = f * in_rows[s] + nd if nd >= 0 else -1
                is_out = gneed < pos_in[s]
            elif pos_in[s] >= tot_in:
                continue
            if is_out:
                if bp_have[s] < bp_ptr[s + 1] - bp_ptr[s]:
                    continue
                bp_t = bp_max[s]
                cand = max(free[s], bp_t)
            else:
                if in_have[s] < in_grp_ptr[s + 1] - in_grp_ptr[s]:
                    continue
                cand = max(free[s], in_ready[s])
            cand_t[s] = cand
            cand_out[s] = is_out
            cand_bp[s] = bp_t
        for q in range(n_dirty):
            v = size + dirty_list[q]
            tree_t[v] = cand_t[dirty_list[q]]
            v //= 2
            while v >= 1:
                a = 2 * v
                if tree_t[a] <= tree_t[a + 1]:
                    tree_t[v] = tree_t[a]
                    tree_i[v] = tree_i[a]
                else:
                    tree_t[v] = tree_t[a + 1]
                    tree_i[v] = tree_i[a + 1]
                v //= 2
        n_dirty = 0
        best_t = tree_t[1]
        if not best_t < np.inf:
            return False  # dead-lock: cannot happen with FIFOs >= 1 row
        s = tree_i[1]
        best_is_out = cand_out[s]
        best_bp = cand_bp[s]
        dirty[s] = True
        dirty_list[0] = s
        n_dirty = 1
        if best_is_out:
            i = out_off[s] + pos_out[s]
            if best_bp > free[s]:
                stall[s] += best_bp - free[s]
            start = best_t
            fin = start + out_cost[i]
            busy[s] += out_cost[i]
            out_start[i] = start
            out_fin[i] = fin
            flits = out_flits[i] + header_flits
            for k in range(out_grp_ptr[s], out_grp_ptr[s + 1]):
                g = out_grp[k]
                t = fin
                ser = 0.0
                last = fin
                nl = grp_route_ptr[g + 1] - grp_route_ptr[g]
                for q in range(grp_route_ptr[g], grp_route_ptr[g + 1]):
                    lk = grp_route[q]
                    ser = flits * flit_bits / link_bits[lk]
                    st = max(t, link_free[lk])
                    link_free[lk] = st + ser
                    link_busy[lk] += ser
                    link_flits[lk] += flits
                    if link_first[lk] < 0:
                        link_first[lk] = st
                    link_last[lk] = st + ser
                    last = st
                    t = st + router_latency
                grp_flit_hops[g] += flits * nl
                if nl == 0:
                    t = fin + 1.0
                else:
                    t = last + ser + router_latency
                arr[grp_arr_off[g] + pos_out[s]] = t
                for q in range(grp_cons_ptr[g], grp_cons_ptr[g + 1]):
                    c = grp_cons[q]
                    if pos_in[c] == pos_out[s]:
                        in_have[c] += 1
                        if t > in_ready[c]:
                            in_ready[c] = t
                        if in_have[c] == in_grp_ptr[c + 1] - in_grp_ptr[c] and not dirty[c]:
                            dirty[c] = True
                            dirty_list[n_dirty] = c
                            n_dirty += 1
            free[s] = fin
            pos_out[s] += 1
            bp_have[s] = 0
            bp_max[s] = 0.0
            if pos_out[s] < n_frames * out_rows[s]:
                for k in range(bp_ptr[s], bp_ptr[s + 1]):
                    m = bp_need[bp_off[k] + pos_out[s]]
                    if m < 0:
                        bp_have[s] += 1
                    else:
                        t = in_fin[in_off[bp_stage[k]] + m]
                        if t >= 0:
                            bp_have[s] += 1
                            if t > bp_max[s]:
                                bp_max[s] = t
        else:
            i = in_off[s] + pos_in[s]
            d = in_cost[i]
            if in_fetch[i] > d:
                stall[s] += in_fetch[i] - d
                d = in_fetch[i]
            busy[s] += in_cost[i]
            in_start[i] = best_t
            in_fin[i] = best_t + d
            done = pos_in[s]
            for q in range(bp_prod_ptr[s], bp_prod_ptr[s + 1]):
                k = bp_prod[q]
                c = bp_owner[k]
                if pos_out[c] >= n_frames * out_rows[c]:
                    continue
                if bp_need[bp_off[k] + pos_out[c]] == done:
                    bp_have[c] += 1
                    if in_fin[i] > bp_max[c]:
                        bp_max[c] = in_fin[i]
                    if bp_have[c] == bp_ptr[c + 1] - bp_ptr[c] and not dirty[c]:
                        dirty[c] = True
                        dirty_list[n_dirty] = c
                        n_dirty += 1
            free[s] = best_t + d
            pos_in[s] += 1
            in_have[s] = 0
            in_ready[s] = 0.0
            if pos_in[s] < n_frames * in_rows[s]:
                for k in range(in_grp_ptr[s], in_grp_ptr[s + 1]):
                    t = arr[grp_arr_off[in_grp[k]] + pos_in[s]]
                    if t >= 0:
                        in_have[s] += 1
                        if t > in_ready[s]:
                            in_ready[s] = t
        remaining -= 1
    return True


def _csr(keys: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable")
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=ptr[1:])
    return ptr, np.ascontiguousarray(values[order], dtype=np.int64)


INVERSE_KEYS = ("grp_cons_ptr", "grp_cons", "bp_prod_ptr", "bp_prod", "bp_owner")


def inverse(p: dict) -> tuple:
    """(group -> consumer stages) and (consumer stage -> its back-pressure constraints) in CSR
    form, and the producer stage owning each constraint: whose next operation may change when
    a packet arrives / an input row is consumed.  Static per plan: a plan may hold them under
    ``INVERSE_KEYS`` so that :func:`schedule` does not rebuild them."""
    n_st = p["in_rows"].shape[0]
    n_grp = p["grp_arr_off"].shape[0]
    cons = np.repeat(np.arange(n_st), np.diff(p["in_grp_ptr"]))
    gc_ptr, gc = _csr(p["in_grp"].astype(np.int64), cons, n_grp)
    owner = np.repeat(np.arange(n_st), np.diff(p["bp_ptr"])).astype(np.int64)
    bp_ptr, bp = _csr(p["bp_stage"].astype(np.int64), np.arange(owner.shape[0]), n_st)
    return gc_ptr, gc, bp_ptr, bp, owner


def schedule(plan: dict, n_frames: int, flit_bits: float, header_flits: int,
             router_latency: float) -> dict:
    """Run the discrete-event scheduler on a plan built by :mod:`nsoc.hardware.timing`.

    ``plan`` holds the flat int64/float64 arrays of the stages, packet groups, routes and
    back-pressure constraints (see ``_Plan`` there).  Returns times (cycles, float64) of every
    operation, per-stage busy/stall cycles, per-link busy cycles and flits, per-group flit-hops.
    """
    p = {k: np.ascontiguousarray(v) for k, v in plan.items()}  # no copy when contiguous
    n_st = p["in_rows"].shape[0]
    n_links = p["link_bits"].shape[0]
    n_grp = p["grp_arr_off"].shape[0]
    out = {
        "arr": np.full(int(p["arr_size"][0]), -1.0),
        "in_start": np.full(p["in_cost"].shape[0], -1.0),
        "in_fin": np.full(p["in_cost"].shape[0], -1.0),
        "out_start": np.full(p["out_cost"].shape[0], -1.0),
        "out_fin": np.full(p["out_cost"].shape[0], -1.0),
        "busy": np.zeros(n_st), "stall": np.zeros(n_st),
        "link_busy": np.zeros(n_links), "link_flits": np.zeros(n_links, np.int64),
        "link_first": np.full(n_links, -1.0), "link_last": np.zeros(n_links),
        "grp_flit_hops": np.zeros(n_grp, np.int64),
    }
    ok = _schedule(
        np.int64(n_frames), p["in_rows"], p["out_rows"], p["in_off"], p["out_off"],
        p["need_off"], p["needed"], p["in_cost"], p["in_fetch"], p["out_cost"], p["out_flits"],
        p["in_grp_ptr"], p["in_grp"], p["out_grp_ptr"], p["out_grp"], p["grp_route_ptr"],
        p["grp_route"], p["grp_arr_off"], p["bp_ptr"], p["bp_stage"], p["bp_off"], p["bp_need"],
        p["link_bits"], float(flit_bits), np.int64(header_flits), float(router_latency),
        out["arr"], out["in_start"], out["in_fin"], out["out_start"], out["out_fin"],
        out["busy"], out["stall"], out["link_busy"], out["link_flits"], out["link_first"],
        out["link_last"], out["grp_flit_hops"],
        *(tuple(p[k] for k in INVERSE_KEYS) if INVERSE_KEYS[0] in p else inverse(p)))
    out["ok"] = bool(ok)
    return out

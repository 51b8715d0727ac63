"""Numba kernels of the cycle-level simulator (see :mod:`nsoc.hardware.timing`).

Two public entry points, each with a numpy reference of the same accounting:

* :func:`row_channel_stats` turns one layer's activations into per-row event statistics: for
  every frame f, row x (axis 1 of the NHWC batch, the axis Akida streams row by row) and channel
  c, the number of non-zero values (events) and the sum of the kernel taps those events reach
  along axis 2 (``taps_y[y]``, the output columns an event at column y contributes to).
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
                    if act[f, x, y, c] != 0:
                        cnt[f, x, c] += 1
                        tap[f, x, c] += ty


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


@njit(cache=True)
def _schedule(n_frames, in_rows, out_rows, in_off, out_off, need_off, needed,
              in_cost, in_fetch, out_cost, out_flits,
              in_grp_ptr, in_grp, out_grp_ptr, out_grp, grp_route_ptr, grp_route, grp_arr_off,
              bp_ptr, bp_stage, bp_off, bp_need,
              link_bits, flit_bits, header_flits, router_latency,
              arr, in_start, in_fin, out_start, out_fin,
              busy, stall, link_busy, link_flits, link_first, link_last, grp_flit_hops,
              grp_cons_ptr, grp_cons, bp_prod_ptr, bp_prod):
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
    while remaining > 0:
        for s in range(n_st):
            if not dirty[s]:
                continue
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
                ok = True
                for k in range(bp_ptr[s], bp_ptr[s + 1]):
                    m = bp_need[bp_off[k] + pos_out[s]]
                    if m >= 0:
                        c = bp_stage[k]
                        t = in_fin[in_off[c] + m]
                        if t < 0:
                            ok = False
                            break
                        if t > bp_t:
                            bp_t = t
                if not ok:
                    continue
                cand = max(free[s], bp_t)
            else:
                ready = 0.0
                ok = True
                for k in range(in_grp_ptr[s], in_grp_ptr[s + 1]):
                    g = in_grp[k]
                    t = arr[grp_arr_off[g] + pos_in[s]]
                    if t < 0:
                        ok = False
                        break
                    if t > ready:
                        ready = t
                if not ok:
                    continue
                cand = max(free[s], ready)
            cand_t[s] = cand
            cand_out[s] = is_out
            cand_bp[s] = bp_t
        best = -1
        best_t = np.inf
        for s in range(n_st):
            if cand_t[s] < best_t:
                best_t = cand_t[s]
                best = s
        if best < 0:
            return False  # dead-lock: cannot happen with FIFOs >= 1 row
        s = best
        best_is_out = cand_out[s]
        best_bp = cand_bp[s]
        dirty[s] = True
        if best_is_out:
            for k in range(out_grp_ptr[s], out_grp_ptr[s + 1]):
                g = out_grp[k]
                for q in range(grp_cons_ptr[g], grp_cons_ptr[g + 1]):
                    dirty[grp_cons[q]] = True
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
                    arr[grp_arr_off[g] + pos_out[s]] = fin + 1.0
                else:
                    arr[grp_arr_off[g] + pos_out[s]] = last + ser + router_latency
            free[s] = fin
            pos_out[s] += 1
        else:
            i = in_off[s] + pos_in[s]
            d = in_cost[i]
            if in_fetch[i] > d:
                stall[s] += in_fetch[i] - d
                d = in_fetch[i]
            busy[s] += in_cost[i]
            in_start[i] = best_t
            in_fin[i] = best_t + d
            for q in range(bp_prod_ptr[s], bp_prod_ptr[s + 1]):
                dirty[bp_prod[q]] = True
            free[s] = best_t + d
            pos_in[s] += 1
        remaining -= 1
    return True


def _csr(keys: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable")
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=ptr[1:])
    return ptr, np.ascontiguousarray(values[order], dtype=np.int64)


def _inverse(p: dict) -> tuple:
    """(group -> consumer stages) and (consumer stage -> back-pressured producers) in CSR form:
    whose next operation may change when a packet arrives / an input row is consumed."""
    n_st = p["in_rows"].shape[0]
    n_grp = p["grp_arr_off"].shape[0]
    cons = np.repeat(np.arange(n_st), np.diff(p["in_grp_ptr"]))
    gc_ptr, gc = _csr(p["in_grp"].astype(np.int64), cons, n_grp)
    prod = np.repeat(np.arange(n_st), np.diff(p["bp_ptr"]))
    bp_ptr, bp = _csr(p["bp_stage"].astype(np.int64), prod, n_st)
    return gc_ptr, gc, bp_ptr, bp


def schedule(plan: dict, n_frames: int, flit_bits: float, header_flits: int,
             router_latency: float) -> dict:
    """Run the discrete-event scheduler on a plan built by :mod:`nsoc.hardware.timing`.

    ``plan`` holds the flat int64/float64 arrays of the stages, packet groups, routes and
    back-pressure constraints (see ``_Plan`` there).  Returns times (cycles, float64) of every
    operation, per-stage busy/stall cycles, per-link busy cycles and flits, per-group flit-hops.
    """
    p = {k: np.ascontiguousarray(v) for k, v in plan.items()}
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
        out["link_last"], out["grp_flit_hops"], *_inverse(p))
    out["ok"] = bool(ok)
    return out

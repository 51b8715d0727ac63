"""The discrete-event scheduler of the cycle-level simulator (numba) and its typed plan.

:func:`schedule` runs one pass: NP stages run input-row and output-row operations in order;
output rows leave as packets over routes of links (serialisation, per-hop router latency,
contention, first-come first-served); a stage cannot emit a row while a consumer's input FIFO is
full (back-pressure).  At each step the operation that can start earliest over all stages runs
(lowest stage index on ties), so links see packets in time order; it loops over operations
(rows), never over cycles.  Its input is a :class:`SchedulePlan` (static per pass, built by
:func:`schedule_plan`) and :class:`ScheduleCosts` (per call); its plain-Python reference (the
spec) is :func:`nsoc.kernels.schedule_reference.schedule_ref`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit


@njit(cache=True)
def _schedule(n_frames, in_rows, out_rows, in_off, out_off, need_off, needed,
              in_cost, in_fetch, out_cost, out_flits, grp_flits,
              in_grp_ptr, in_grp, out_grp_ptr, out_grp, grp_route_ptr, grp_route, grp_arr_off,
              grp_row0, grp_row1, bp_ptr, bp_stage, bp_off, bp_need,
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
            row = pos_out[s] % out_rows[s]
            for k in range(out_grp_ptr[s], out_grp_ptr[s + 1]):
                g = out_grp[k]
                flits = out_flits[i] + header_flits
                if grp_flits.shape[0] > 0 and grp_flits[grp_arr_off[g] + pos_out[s]] >= 0:
                    flits = grp_flits[grp_arr_off[g] + pos_out[s]] + header_flits
                t = fin
                ser = 0.0
                last = fin
                nl = grp_route_ptr[g + 1] - grp_route_ptr[g]
                sent = grp_row0[g] <= row < grp_row1[g]
                for q in range(grp_route_ptr[g], grp_route_ptr[g + 1]):
                    if not sent:
                        break
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
                if not sent:  # a row outside the group's rows: no packet, nothing to wait for
                    t = fin
                else:
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


class SchedulePlan(NamedTuple):
    """The activation-independent description of one pass that :func:`schedule` runs.

    A *stage* (NP component, DMA end or forwarding stage) s has ``in_rows[s]`` input items and
    ``out_rows[s]`` output items per frame; its items of all frames sit at ``in_off[s]`` /
    ``out_off[s]`` in the flat per-item arrays (``in_total`` / ``out_total`` items).  Its output
    row j of a frame waits for its input row ``needed[need_off[s] + j]`` of that frame (-1:
    none).  A *group* g is the packet of one producer row towards the consumer stages of one
    node: ``out_grp[out_grp_ptr[s]:out_grp_ptr[s + 1]]`` are the groups stage s sends to,
    ``in_grp[in_grp_ptr[s]:...]`` the groups it receives (all must deliver an item before the
    stage processes it), ``grp_route[grp_route_ptr[g]:...]`` the links (``link_bits`` wide)
    the packet crosses, ``grp_arr_off[g]`` where its arrival times sit (``arr_size`` in all);
    it carries the producer's rows ``[grp_row0[g], grp_row1[g])`` of each frame (the rows its
    consumers receive: a band-split layer's NPs their band and halo), the others are not sent
    (known to the consumers when the producer fires them).
    Back-pressure: constraint k of producer s (``bp_ptr[s]:bp_ptr[s + 1]``) says its output
    item i waits until input item ``bp_need[bp_off[k] + i]`` of stage ``bp_stage[k]`` is
    finished (-1: none).  ``grp_cons*``, ``bp_prod*`` and ``bp_owner`` are the inverse maps
    (group -> consumers, consumer -> constraints on it, constraint -> producer) built by
    :func:`schedule_plan`.  All arrays int64 except ``link_bits`` (float64 bits per cycle).
    """

    in_rows: np.ndarray
    out_rows: np.ndarray
    in_off: np.ndarray
    out_off: np.ndarray
    in_total: int
    out_total: int
    need_off: np.ndarray
    needed: np.ndarray
    in_grp_ptr: np.ndarray
    in_grp: np.ndarray
    out_grp_ptr: np.ndarray
    out_grp: np.ndarray
    grp_route_ptr: np.ndarray
    grp_route: np.ndarray
    grp_arr_off: np.ndarray
    arr_size: int
    grp_row0: np.ndarray
    grp_row1: np.ndarray
    bp_ptr: np.ndarray
    bp_stage: np.ndarray
    bp_off: np.ndarray
    link_bits: np.ndarray
    grp_cons_ptr: np.ndarray
    grp_cons: np.ndarray
    bp_prod_ptr: np.ndarray
    bp_prod: np.ndarray
    bp_owner: np.ndarray

    @property
    def n_stages(self) -> int:
        return int(self.in_rows.shape[0])


class ScheduleCosts(NamedTuple):
    """Per-call inputs of :func:`schedule`: cycles of every input item (``in_cost``; its
    external-memory fetch ``in_fetch``, the longer of the two is the item's duration) and output
    item (``out_cost``), payload flits of every output item (``out_flits``), the
    back-pressure constraints ``bp_need`` (see :class:`SchedulePlan`) and ``grp_flits``: payload
    flits of a packet group's copy of an output item (``arr`` layout; -1 or an empty array: the
    item's ``out_flits``), for consumers that take only some of its events (depthwise NPs: their
    channels)."""

    in_cost: np.ndarray
    in_fetch: np.ndarray
    out_cost: np.ndarray
    out_flits: np.ndarray
    bp_need: np.ndarray
    grp_flits: np.ndarray | None = None


class ScheduleResult(NamedTuple):
    """What :func:`schedule` computes (times in cycles, float64; -1 = never).

    ``arr``: arrival time of every group item; ``in_start``/``in_fin``/``out_start``/
    ``out_fin``: start and end of every input / output item; ``busy``/``stall``: per stage;
    ``link_busy``/``link_flits``/``link_first``/``link_last``: per link; ``grp_flit_hops``:
    flits x links crossed per group; ``ok``: False when the schedule dead-locked.
    """

    ok: bool
    arr: np.ndarray
    in_start: np.ndarray
    in_fin: np.ndarray
    out_start: np.ndarray
    out_fin: np.ndarray
    busy: np.ndarray
    stall: np.ndarray
    link_busy: np.ndarray
    link_flits: np.ndarray
    link_first: np.ndarray
    link_last: np.ndarray
    grp_flit_hops: np.ndarray


def _i64(a) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a).reshape(-1), dtype=np.int64)


def schedule_plan(*, in_rows, out_rows, needed_rows, in_groups, out_groups, routes,
                  bp_constraints, link_bits, n_frames: int, grp_rows=None) -> SchedulePlan:
    """Build a :class:`SchedulePlan` from per-stage lists.

    ``in_rows``/``out_rows``: per stage; ``needed_rows[s]``: (out_rows[s],) last input row each
    output row waits for; ``in_groups[s]`` / ``out_groups[s]``: group ids received / sent;
    ``routes[g]``: link ids of group g; ``bp_constraints[s]``: (consumer stage, offset in
    ``bp_need``) pairs of producer s; ``link_bits``: (links,) bits per cycle; ``grp_rows[g]``:
    ``(first, end)`` producer rows group g carries (None: every row of every group).
    """
    F = int(n_frames)
    in_r, out_r = _i64(in_rows), _i64(out_rows)
    n = in_r.shape[0]
    in_off = np.concatenate([[0], np.cumsum(in_r * F)]).astype(np.int64)
    out_off = np.concatenate([[0], np.cumsum(out_r * F)]).astype(np.int64)
    need_off = np.concatenate([[0], np.cumsum(out_r)])[:-1].astype(np.int64)
    producer = np.zeros(len(routes), np.int64)
    for s, gs in enumerate(out_groups):
        producer[list(gs)] = s
    grp_arr_off = np.concatenate([[0], np.cumsum(out_r[producer] * F)]).astype(np.int64)

    def ptr(lists):
        return np.concatenate([[0], np.cumsum([len(x) for x in lists])]).astype(np.int64)

    def flat(lists):
        return _i64([v for x in lists for v in x])

    bp_pairs = [list(bp_constraints[s]) if s < len(bp_constraints) else [] for s in range(n)]
    bp_ptr = ptr(bp_pairs)
    bp_stage = _i64([c for x in bp_pairs for c, _ in x])
    in_grp_ptr, in_grp = ptr(in_groups), flat(in_groups)
    n_grp = len(routes)
    big = np.iinfo(np.int64).max
    rows = [(0, big)] * n_grp if grp_rows is None else list(grp_rows)
    cons = np.repeat(np.arange(n), np.diff(in_grp_ptr))
    gc_ptr, gc = _csr(in_grp, cons, n_grp)
    owner = np.repeat(np.arange(n), np.diff(bp_ptr)).astype(np.int64)
    bpp_ptr, bpp = _csr(bp_stage, np.arange(owner.shape[0]), n)
    return SchedulePlan(
        in_rows=in_r, out_rows=out_r, in_off=in_off[:-1], out_off=out_off[:-1],
        in_total=int(in_off[-1]), out_total=int(out_off[-1]), need_off=need_off,
        needed=_i64(np.concatenate([np.asarray(x, np.int64) for x in needed_rows]
                                   + [np.zeros(0, np.int64)])),
        in_grp_ptr=in_grp_ptr, in_grp=in_grp, out_grp_ptr=ptr(out_groups),
        out_grp=flat(out_groups), grp_route_ptr=ptr(routes), grp_route=flat(routes),
        grp_arr_off=grp_arr_off[:-1], arr_size=int(grp_arr_off[-1]),
        grp_row0=_i64([r[0] for r in rows]), grp_row1=_i64([r[1] for r in rows]), bp_ptr=bp_ptr,
        bp_stage=bp_stage, bp_off=_i64([o for x in bp_pairs for _, o in x]),
        link_bits=np.ascontiguousarray(link_bits, dtype=np.float64), grp_cons_ptr=gc_ptr,
        grp_cons=gc, bp_prod_ptr=bpp_ptr, bp_prod=bpp, bp_owner=owner)


def empty_result(plan: SchedulePlan, n_costs_in: int, n_costs_out: int) -> ScheduleResult:
    """A :class:`ScheduleResult` with every time unknown (-1) and every counter 0."""
    n_st, n_links = plan.n_stages, plan.link_bits.shape[0]
    return ScheduleResult(
        ok=False, arr=np.full(plan.arr_size, -1.0), in_start=np.full(n_costs_in, -1.0),
        in_fin=np.full(n_costs_in, -1.0), out_start=np.full(n_costs_out, -1.0),
        out_fin=np.full(n_costs_out, -1.0), busy=np.zeros(n_st), stall=np.zeros(n_st),
        link_busy=np.zeros(n_links), link_flits=np.zeros(n_links, np.int64),
        link_first=np.full(n_links, -1.0), link_last=np.zeros(n_links),
        grp_flit_hops=np.zeros(plan.grp_arr_off.shape[0], np.int64))


def schedule(plan: SchedulePlan, costs: ScheduleCosts, n_frames: int, flit_bits: float,
             header_flits: int, router_latency: float) -> ScheduleResult:
    """Run the discrete-event scheduler (see the module docstring) on ``plan`` with ``costs``
    for ``n_frames`` frames; a packet of f payload flits takes ``(f + header_flits) *
    flit_bits / link_bits`` cycles on each link and ``router_latency`` per hop.  Its plain
    Python reference (the spec) is :func:`nsoc.kernels.schedule_reference.schedule_ref`."""
    grp = costs.grp_flits if costs.grp_flits is not None else np.zeros(0, np.int64)
    c = ScheduleCosts(np.ascontiguousarray(costs.in_cost), np.ascontiguousarray(costs.in_fetch),
                      np.ascontiguousarray(costs.out_cost), np.ascontiguousarray(costs.out_flits),
                      np.ascontiguousarray(costs.bp_need), np.ascontiguousarray(grp, np.int64))
    out = empty_result(plan, c.in_cost.shape[0], c.out_cost.shape[0])
    ok = _schedule(
        np.int64(n_frames), plan.in_rows, plan.out_rows, plan.in_off, plan.out_off,
        plan.need_off, plan.needed, c.in_cost, c.in_fetch, c.out_cost, c.out_flits,
        c.grp_flits, plan.in_grp_ptr, plan.in_grp, plan.out_grp_ptr, plan.out_grp,
        plan.grp_route_ptr, plan.grp_route, plan.grp_arr_off, plan.grp_row0, plan.grp_row1,
        plan.bp_ptr, plan.bp_stage, plan.bp_off, c.bp_need,
        plan.link_bits, float(flit_bits), np.int64(header_flits), float(router_latency),
        out.arr, out.in_start, out.in_fin, out.out_start, out.out_fin,
        out.busy, out.stall, out.link_busy, out.link_flits, out.link_first,
        out.link_last, out.grp_flit_hops, plan.grp_cons_ptr, plan.grp_cons, plan.bp_prod_ptr,
        plan.bp_prod, plan.bp_owner)
    return out._replace(ok=bool(ok))

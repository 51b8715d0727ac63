"""Plain-Python reference of the discrete-event scheduler :func:`nsoc.kernels.schedule.schedule`.

This is the spec: slow and obvious.  Every stage has a next operation (its next output row when
the input rows that row waits for are processed, else its next input row).  The operation is
*ready* when its inputs are known: an input row once every packet group feeding the stage has
delivered that row; an output row once the back-pressure constraints of that row are met (the
consumer input items it waits for are finished).  It can start at the latest of the stage's
free time and those arrival / finish times.  A priority queue ordered by (start time, stage)
picks the operation to run; after running it, the state is updated and every stage's next
operation is recomputed from scratch (no incremental bookkeeping).  The numba scheduler keeps
running counters and a tournament tree instead; ``tests/test_timing_scheduler.py`` proves both
equal on random plans.
"""
from __future__ import annotations

import heapq

from .schedule import ScheduleCosts, SchedulePlan, ScheduleResult, empty_result


def _next_op(p: SchedulePlan, c: ScheduleCosts, F: int, s: int, st: dict):
    """(start time, is output, back-pressure time) of stage ``s``'s next operation, or None
    when the stage is done or its operation is not ready."""
    pos_in, pos_out = st["pos_in"][s], st["pos_out"][s]
    n_in, n_out = F * int(p.in_rows[s]), F * int(p.out_rows[s])
    is_out = False
    if pos_out < n_out:
        f, j = divmod(pos_out, int(p.out_rows[s]))
        nd = int(p.needed[p.need_off[s] + j])
        is_out = (f * int(p.in_rows[s]) + nd if nd >= 0 else -1) < pos_in
    elif pos_in >= n_in:
        return None
    if is_out:
        bp_t = 0.0
        for k in range(p.bp_ptr[s], p.bp_ptr[s + 1]):
            m = int(c.bp_need[p.bp_off[k] + pos_out])
            if m >= 0:
                t = st["in_fin"][p.in_off[p.bp_stage[k]] + m]
                if t < 0:
                    return None  # the consumer has not finished that item yet
                bp_t = max(bp_t, t)
        return max(st["free"][s], bp_t), True, bp_t
    ready = 0.0
    for k in range(p.in_grp_ptr[s], p.in_grp_ptr[s + 1]):
        t = st["arr"][p.grp_arr_off[p.in_grp[k]] + pos_in]
        if t < 0:
            return None  # that packet has not been sent yet
        ready = max(ready, t)
    return max(st["free"][s], ready), False, 0.0


def _send(p: SchedulePlan, s: int, item: int, fin: float, payload: int, header: int,
          grp_flits, flit_bits: float, router_latency: float, st: dict,
          res: ScheduleResult) -> None:
    """Send output item ``item`` of stage ``s`` (finished at ``fin``) to every group it feeds:
    each link of the route serves the packet first come first served.  A group not carrying
    the item's row gets no packet: its consumers know the row once it is fired.  A packet
    holds ``payload`` flits (the group's own count when ``grp_flits`` gives one) and the
    header."""
    for k in range(p.out_grp_ptr[s], p.out_grp_ptr[s + 1]):
        g = p.out_grp[k]
        own = -1 if grp_flits is None or len(grp_flits) == 0 else \
            int(grp_flits[p.grp_arr_off[g] + item])
        flits = (own if own >= 0 else payload) + header
        if not p.grp_row0[g] <= item % int(p.out_rows[s]) < p.grp_row1[g]:
            res.arr[p.grp_arr_off[g] + item] = fin
            continue
        route = p.grp_route[p.grp_route_ptr[g]:p.grp_route_ptr[g + 1]]
        t, ser, last = fin, 0.0, fin
        for lk in route:
            ser = flits * flit_bits / p.link_bits[lk]
            start = max(t, st["link_free"][lk])
            st["link_free"][lk] = start + ser
            res.link_busy[lk] += ser
            res.link_flits[lk] += flits
            if res.link_first[lk] < 0:
                res.link_first[lk] = start
            res.link_last[lk] = start + ser
            last = start
            t = start + router_latency
        res.grp_flit_hops[g] += flits * len(route)
        # a packet to the producer's own node arrives one cycle after it is fired
        res.arr[p.grp_arr_off[g] + item] = fin + 1.0 if len(route) == 0 else \
            last + ser + router_latency


def schedule_ref(plan: SchedulePlan, costs: ScheduleCosts, n_frames: int, flit_bits: float,
                 header_flits: int, router_latency: float) -> ScheduleResult:
    """Reference of :func:`nsoc.kernels.schedule.schedule` (same arguments, same result)."""
    p, c, F = plan, costs, int(n_frames)
    res = empty_result(p, c.in_cost.shape[0], c.out_cost.shape[0])
    n_st = p.n_stages
    st = {"pos_in": [0] * n_st, "pos_out": [0] * n_st, "free": [0.0] * n_st,
          "link_free": [0.0] * p.link_bits.shape[0], "in_fin": res.in_fin, "arr": res.arr}
    remaining = sum(F * int(p.in_rows[s] + p.out_rows[s]) for s in range(n_st))
    while remaining > 0:
        queue = []
        for s in range(n_st):
            op = _next_op(p, c, F, s, st)
            if op is not None:
                heapq.heappush(queue, (op[0], s, op[1], op[2]))
        if not queue:
            return res  # dead-lock (ok=False)
        start, s, is_out, bp_t = heapq.heappop(queue)
        if is_out:
            i = p.out_off[s] + st["pos_out"][s]
            if bp_t > st["free"][s]:
                res.stall[s] += bp_t - st["free"][s]
            fin = start + c.out_cost[i]
            res.busy[s] += c.out_cost[i]
            res.out_start[i], res.out_fin[i] = start, fin
            _send(p, s, st["pos_out"][s], fin, int(c.out_flits[i]), int(header_flits),
                  c.grp_flits, float(flit_bits), float(router_latency), st, res)
            st["pos_out"][s] += 1
        else:
            i = p.in_off[s] + st["pos_in"][s]
            duration = max(c.in_cost[i], c.in_fetch[i])
            res.stall[s] += duration - c.in_cost[i]
            res.busy[s] += c.in_cost[i]
            res.in_start[i], res.in_fin[i] = start, start + duration
            fin = start + duration
            st["pos_in"][s] += 1
        st["free"][s] = fin
        remaining -= 1
    return res._replace(ok=True)

"""Result collection: the scheduler's per-item times and per-stage counters of each pass turned
into frame times, :class:`LayerTiming`, :class:`NPTiming` and :class:`LinkTiming` records."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...kernels.schedule import ScheduleResult
from ..timing_result import ActionCounts, LayerTiming, LinkTiming, NPTiming
from .plan import PassPlan
from .rows import A_INDEX, PassWork


@dataclass
class PassOutcome:
    """One simulated pass: its plan, per-call work and schedule, and where it sits."""

    plan: PassPlan
    work: PassWork
    res: ScheduleResult
    sequence: int
    pass_index: int
    program_bytes: int = 0   # configuration bytes reloaded for this pass over all frames


@dataclass
class PassFigures:
    """What one pass contributes to the result."""

    latency: float           # cycles from frame 0's first input to its last output
    interval: float          # steady-state cycles between frames
    frames: np.ndarray       # (F,) frame 0's latency, then each frame's completion gap
    layers: list[LayerTiming]
    np_rows: tuple           # (busy, stall, events in, events out, action rows) per stage
    layer_end: dict          # layer name -> end of its last output row of frame 0 (cycles)


def _dma_traffic(out: PassOutcome, P: dict, A: np.ndarray, hops_by_stage: np.ndarray) -> None:
    """Add the event-DMA and skip-DMA bytes and the input packets' flit-hops to ``A``."""
    plan, F = out.plan, out.plan.n_frames
    out_flits, out_off = out.work.costs.out_flits, plan.sched.out_off
    flit_bits = float(P["link_width_bits"])
    header = int(P["packet_header_flits"])

    def flits_of(s):
        return out_flits[out_off[s]:out_off[s] + F * plan.stages[s].out_rows]

    def nbytes(fl):
        return int((fl.sum() + header * fl.size) * flit_bits / 8)
    for s_idx, lay in plan.source_layer.items():
        cons = plan.by_layer[lay.name][0]
        A[cons, A_INDEX["dma_input_bytes"]] += nbytes(flits_of(s_idx))
        A[cons, A_INDEX["noc_flit_hops"]] += int(hops_by_stage[s_idx])
    for gi, lname in plan.skip_groups:
        A[plan.by_layer[lname][0], A_INDEX["dma_input_bytes"]] += nbytes(
            flits_of(plan.groups[gi].producer))
    for lname in plan.sinks:
        for p in plan.by_layer[lname]:
            A[p, A_INDEX["dma_output_bytes"]] += int(flits_of(p).sum() * flit_bits / 8)


def _frame_times(out: PassOutcome) -> tuple[np.ndarray, np.ndarray, float]:
    """(frames, starts, interval): per frame its latency (frame 0) or completion gap."""
    plan, res, F = out.plan, out.res, out.plan.n_frames
    stages, sched = plan.stages, plan.sched
    starts = np.full(F, np.inf)
    ends = np.zeros(F)
    for s in plan.sources.values():
        r = stages[s].out_rows
        t = res.out_start[sched.out_off[s]:sched.out_off[s] + F * r].reshape(F, r)
        starts = np.minimum(starts, t[:, 0])
    for s in plan.sinks.values():
        r = stages[s].in_rows
        t = res.in_fin[sched.in_off[s]:sched.in_off[s] + F * r].reshape(F, r)
        ends = np.maximum(ends, t[:, -1])
    frames = np.concatenate([[ends[0] - starts[0]], np.diff(ends)])
    if F > 1:
        interval = (ends[-1] - ends[0]) / (F - 1)
    else:
        occupancy = res.busy + res.stall
        interval = max(float(occupancy.max()) if len(occupancy) else 0.0,
                       float(res.link_busy.max()) if len(res.link_busy) else 0.0)
        interval = min(max(interval, 1.0), float(frames[0]))
    return frames, starts, float(interval)


def collect_pass(out: PassOutcome, P: dict) -> PassFigures:
    """Frame times, per-layer records and per-stage NP figures of one simulated pass."""
    plan, work, res = out.plan, out.work, out.res
    stages, sched = plan.stages, plan.sched
    A = work.actions.copy()
    hops_by_stage = np.zeros(len(stages), np.int64)
    np.add.at(hops_by_stage, plan.grp_producer, res.grp_flit_hops)
    _dma_traffic(out, P, A, hops_by_stage)
    frames, starts, interval = _frame_times(out)
    A[:, A_INDEX["noc_flit_hops"]] += hops_by_stage
    # per layer (a layer's stages are consecutive, from spec.first)
    widths = [A_INDEX[w] for w in ActionCounts._WIDTHS]
    firsts = [spec.first for spec in plan.specs]
    n_lay_st = firsts[-1] + len(plan.specs[-1].c0) if firsts else 0
    tot_all = np.add.reduceat(A[:n_lay_st], firsts, axis=0) if firsts else A[:0]
    if firsts:
        tot_all[:, widths] = np.maximum.reduceat(A[:n_lay_st][:, widths], firsts, axis=0)
    tot_py = tot_all.tolist()
    busy_py = np.round(res.busy).astype(np.int64).tolist()
    stall_py = np.round(res.stall).astype(np.int64).tolist()
    occ_py = (res.busy + res.stall).tolist()
    ev_in_py, ev_out_py = work.events_in.tolist(), work.events_out.tolist()
    # per layer: first input row start and last output row end over its stages
    in_first = np.full(n_lay_st, np.inf)
    fin_last = np.zeros(n_lay_st)
    has_in = sched.in_rows[:n_lay_st] > 0
    has_out = sched.out_rows[:n_lay_st] > 0
    in_first[has_in] = res.in_start[sched.in_off[:n_lay_st][has_in]]
    fin_last[has_out] = res.out_fin[(sched.out_off + sched.out_rows - 1)[:n_lay_st][has_out]]
    t0_py = np.minimum.reduceat(in_first, firsts).tolist() if firsts else []
    t1_py = np.maximum.reduceat(fin_last, firsts).tolist() if firsts else []
    ev_out_lay = np.add.reduceat(work.events_out[:n_lay_st], firsts).tolist() if firsts else []
    ev_in_lay = np.add.reduceat(work.events_in[:n_lay_st], firsts).tolist() if firsts else []
    start0 = float(starts[0])
    layers = []
    for li, spec in enumerate(plan.specs):
        lay = spec.layer
        ids = plan.by_layer[lay.name]
        lt = LayerTiming(name=lay.name, type=lay.TYPE, sequence=out.sequence,
                         pass_index=out.pass_index)
        nz, size = work.nonzero[lay.name]
        lt.sparsity = float(1.0 - nz / max(size, 1))
        best = max(ids, key=occ_py.__getitem__)  # first of the busiest
        lt.actions = ActionCounts(*tot_py[li])
        lt.actions.reconfig_bytes = out.program_bytes if li == 0 else 0
        ids_np, types = plan.layer_nps[li]
        lt.n_nps = len(ids_np)
        lt.np_types = list(types)
        lt.busy_cycles, lt.stall_cycles = busy_py[best], stall_py[best]
        lt.events_in = ev_in_lay[li] if spec.g.kind == "dw" else ev_in_py[ids[0]]
        lt.events_out = ev_out_lay[li]
        lt.start_cycle = int(round(t0_py[li] - start0)) if np.isfinite(t0_py[li]) else 0
        lt.end_cycle = int(round(t1_py[li] - start0))
        layers.append(lt)
    ends = {spec.layer.name: t1_py[li] for li, spec in enumerate(plan.specs)}
    return PassFigures(float(frames[0]), interval, frames, layers,
                       (busy_py, stall_py, ev_in_py, ev_out_py, A.tolist()), ends)


def np_timings(outcomes: list[PassOutcome], figures: list[PassFigures],
               total_cycles: int) -> list[NPTiming]:
    """An :class:`NPTiming` per NP component of every pass."""
    out = []
    for o, fig in zip(outcomes, figures, strict=True):
        busy, stall, ev_in, ev_out, rows = fig.np_rows
        for ids_np, _ in o.plan.layer_nps:
            for i in ids_np:
                st = o.plan.stages[i]
                out.append(NPTiming(st.ident[0], st.ident[1], st.ident[2], st.np_type,
                                    st.layer, busy[i],
                                    max(total_cycles - busy[i] - stall[i], 0), stall[i],
                                    ev_in[i], ev_out[i], ActionCounts(*rows[i])))
    return out


def link_timings(outcomes: list[PassOutcome], total: float) -> list[LinkTiming]:
    """A :class:`LinkTiming` per used mesh link: totals over the passes, sorted by (src, dst)."""
    merged: dict = {}
    for o in outcomes:
        net, res = o.plan.net, o.res
        for i, (a, b) in enumerate(net.link_nodes):
            if not net.is_mesh_link(i) or res.link_flits[i] == 0:
                continue
            prev = merged.get((a, b), (0, 0.0, np.inf, 0.0))
            merged[(a, b)] = (prev[0] + int(res.link_flits[i]),
                              prev[1] + float(res.link_busy[i]),
                              min(prev[2], float(res.link_first[i])),
                              max(prev[3], float(res.link_last[i])))
    links = []
    for (a, b), (flits, busy, first, last) in sorted(merged.items()):
        span = max(last - first, 1.0)
        links.append(LinkTiming(src=a, dst=b, flits=int(flits), busy_cycles=int(round(busy)),
                                peak_utilisation=min(busy / span, 1.0),
                                mean_utilisation=min(busy / max(total, 1.0), 1.0)))
    return links


def critical_path(out: PassOutcome, fig: PassFigures, model) -> list[str]:
    """Layers from input to output, following at each layer the inbound that finished last."""
    names = {lay.name for lay in out.plan.layers}
    cur = out.plan.layers[-1]
    path = [cur.name]
    while True:
        ins = [b for b in cur.inbounds if b in names]
        if not ins:
            break
        nxt = max(ins, key=fig.layer_end.__getitem__)
        path.append(nxt)
        cur = model.get_layer(nxt)
    return path[::-1]

"""The numba discrete-event scheduler equals its plain-Python reference (the spec).

:func:`nsoc.kernels.schedule.schedule` keeps running counters, dirty lists and a tournament tree;
:func:`nsoc.kernels.schedule_reference.schedule_ref` recomputes every stage's next operation from
scratch and picks the earliest with a priority queue.  Both must give the same times, busy and
stall cycles, link figures and flit-hops, bit for bit, on

* random small plans built directly (random layer graphs, rows, components, node groups, routes
  over links of random widths, back-pressure constraints, integer-valued costs so that ties
  between stages are frequent and the tie-breaking rule is exercised), and
* the plans nsoc builds for random small models mapped on random custom meshes, fed by the
  models' own activations.
"""
import numpy as np
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from nsoc.kernels.schedule import ScheduleCosts, schedule, schedule_plan
from nsoc.kernels.schedule_reference import schedule_ref
from nsoc.kernels.timing import fifo_need

FIELDS = ("arr", "in_start", "in_fin", "out_start", "out_fin", "busy", "stall", "link_busy",
          "link_flits", "link_first", "link_last", "grp_flit_hops")


def assert_same(a, b):
    """Equal results, bit for bit (also up to the point where both dead-lock)."""
    assert a.ok == b.ok
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@st.composite
def random_plans(draw):
    """(plan, costs, frames, flit bits, header flits, router latency) of a random pass."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    F = draw(st.integers(1, 3))
    n_layers = draw(st.integers(1, 4))
    n_links = draw(st.integers(1, 4))
    link_bits = rng.choice([8.0, 16.0, 32.0, 64.0], n_links)
    rows = [int(rng.integers(1, 5))]              # the source's rows
    stages = [dict(in_rows=0, out_rows=rows[0], needed=np.full(rows[0], -1), layer=0)]
    layer_stages = [[0]]
    for lay in range(1, n_layers + 1):
        first = int(rng.integers(0, lay))
        inbounds = [first] + [b for b in range(lay) if b != first and rows[b] == rows[first]
                              and rng.random() < 0.3]
        in_rows = rows[first]
        out_rows = int(rng.integers(1, 5))
        k = int(rng.integers(1, 4))
        ids = []
        for _ in range(k):
            needed = np.sort(rng.integers(-1, in_rows, out_rows))
            if rng.random() < 0.5:
                needed[-1] = in_rows - 1   # the last row waits for the whole frame
            ids.append(len(stages))
            stages.append(dict(in_rows=in_rows, out_rows=out_rows, needed=needed, layer=lay,
                               inbounds=inbounds))
        rows.append(out_rows)
        layer_stages.append(ids)
    sink = len(stages)
    stages.append(dict(in_rows=rows[-1], out_rows=0, needed=np.zeros(0, np.int64),
                       layer=n_layers + 1, inbounds=[n_layers]))
    layer_stages.append([sink])
    # packet groups: each producer stage sends to its consumers grouped by random "node"
    routes, in_groups, out_groups = [], [[] for _ in stages], [[] for _ in stages]
    consumers_of: dict = {}
    for c, s in enumerate(stages):
        for b in s.get("inbounds", []):
            for p in layer_stages[b]:
                consumers_of.setdefault(p, []).append(c)
    grp_rows = []
    for p, cs in sorted(consumers_of.items()):
        nodes = rng.integers(0, 2, len(cs))
        for node in np.unique(nodes):
            g = len(routes)
            routes.append(list(rng.integers(0, n_links, int(rng.integers(0, 4)))))
            # the rows the group carries: all, or a random band (a band-split consumer)
            n_out = stages[p]["out_rows"]
            r0, r1 = 0, n_out
            if rng.random() < 0.5:
                r0 = int(rng.integers(0, n_out))
                r1 = int(rng.integers(r0 + 1, n_out + 1))
            grp_rows.append((r0, r1))
            out_groups[p].append(g)
            for c, nd in zip(cs, nodes, strict=True):
                if nd == node:
                    in_groups[c].append(g)
    # back-pressure towards every consumer but the sink, from random FIFO depths
    bp, bp_need, off = [[] for _ in stages], [], 0
    for p, cs in sorted(consumers_of.items()):
        for c in sorted(set(cs)):
            if c == sink:
                continue
            n_items = F * stages[p]["out_rows"]
            events = rng.integers(0, 20, F * stages[c]["in_rows"])
            bp_need.append(fifo_need(events, n_items, float(rng.integers(0, 120))))
            bp[p].append((c, off))
            off += n_items
    plan = schedule_plan(
        in_rows=[s["in_rows"] for s in stages], out_rows=[s["out_rows"] for s in stages],
        needed_rows=[s["needed"] for s in stages], in_groups=in_groups, out_groups=out_groups,
        routes=routes, bp_constraints=bp, link_bits=link_bits, n_frames=F, grp_rows=grp_rows)
    n_in, n_out = plan.in_total, plan.out_total
    in_cost = rng.integers(0, 6, n_in).astype(np.float64)
    in_fetch = np.where(rng.random(n_in) < 0.3, rng.integers(0, 10, n_in), 0).astype(np.float64)
    # half the plans give some groups their own payload (-1: the item's), as depthwise
    # consumers get only their channels' events
    grp_flits = np.where(rng.random(plan.arr_size) < 0.5, rng.integers(0, 5, plan.arr_size),
                         -1).astype(np.int64) if rng.random() < 0.5 else None
    costs = ScheduleCosts(in_cost, in_fetch, rng.integers(0, 6, n_out).astype(np.float64),
                          rng.integers(0, 5, n_out).astype(np.int64),
                          np.concatenate(bp_need + [np.zeros(0, np.int64)]).astype(np.int64),
                          grp_flits)
    return plan, costs, F, 32.0, int(rng.integers(0, 2)), float(rng.integers(0, 3))


@settings(max_examples=200, deadline=None)
@given(random_plans())
def test_scheduler_equals_reference_on_random_plans(case):
    plan, costs, F, flit_bits, header, router = case
    fast = schedule(plan, costs, F, flit_bits, header, router)
    assert_same(fast, schedule_ref(plan, costs, F, flit_bits, header, router))
    event("completed" if fast.ok else "dead-locked (both equally)")


def _v2_blocks(kinds, rng):
    """Valid random_v2_model blocks: an input conv, then the drawn kinds, a dense layer last.
    A concatenation that would pass 32 channels is an addition instead: the scheduler test
    needs FIFOs of a row (6 x 32 events) and a dense layer Akida maps (at most 2048 inputs:
    three concatenations from 8 channels give 8 x 6 x 64, a refused dense layer reading the
    last merge, and the whole model in software)."""
    ch = int(rng.integers(2, 9))
    out = [("input_conv", {"filters": ch, "name": "conv_in"})]
    for i, kind in enumerate(kinds):
        name = f"b{i}"
        if kind == "concat" and 2 * ch > 32:
            kind = "add"
        if kind in ("add", "concat"):  # a conv of the same width, then the skip block
            out.append(("conv", {"filters": ch, "name": name + "_c"}))
            out.append((kind, {"with_block": 2, "name": name}))
            ch = 2 * ch if kind == "concat" else ch
        elif kind == "pool":
            ch = int(rng.integers(2, 9))
            out.append(("conv", {"filters": ch, "pool": "max", "name": name}))
        elif kind == "dw":
            out.append(("dw", {"name": name}))
        else:
            ch = int(rng.integers(2, 9))
            out.append((kind, {"filters": ch, "name": name}))
    out.append(("dense", {"units": int(rng.integers(2, 6)), "name": "fc"}))
    return out


def _v1_blocks(kinds, rng):
    """Valid random_v1_model blocks: an input conv, conv/sep/pooled conv, a dense layer last."""
    out = [("input_conv", {"filters": int(rng.integers(2, 9)), "name": "conv_in"})]
    for i, kind in enumerate(kinds):
        opt = {"filters": int(rng.integers(2, 9)), "name": f"b{i}"}
        if kind == "pool":
            opt["pool"] = "max"
        out.append(("sep" if kind == "dw" else "conv", opt))
    out.append(("dense", {"units": int(rng.integers(2, 6)), "name": "fc"}))
    return out


KINDS = st.lists(st.sampled_from(["conv", "dw", "add", "concat", "pool"]), min_size=0,
                 max_size=3).filter(lambda k: k.count("pool") <= 2)
DEVICES = {"v2": ["custom:8,2,2", "custom:16,4,4", "FourNodesIPv2"],
           "v1": ["custom:8,2,v1", "custom:20,3,v1", "AKD1000"]}


@settings(max_examples=16, deadline=None)
@example(["concat"] * 3, 0, "v2", 0, "AllNps", 1, 1, 200)  # CI at 7977757: all in software
@given(KINDS, st.integers(0, 2**16), st.sampled_from(["v1", "v2"]), st.integers(0, 2),
       st.sampled_from(["AllNps", "Minimal", "HwPr"]), st.integers(1, 3),
       st.sampled_from([1, 1000]), st.sampled_from([200, 4096]))
def test_scheduler_equals_reference_on_mapped_models(kinds, seed, version, dev_index, mode,
                                                     frames, fire_block, fifo):
    """Plans of random models; FIFOs of at least one row (6 columns x at most 32 channels
    here), the condition under which the simulator never dead-locks."""
    from nsoc.hardware.parameters import timing_params, values
    from nsoc.hardware.timing.kinds import SOFTWARE_TYPES, SOURCE_TYPES
    from nsoc.hardware.timing.plan import build_pass_plan
    from nsoc.hardware.timing.rows import as_frames, pass_work
    from nsoc.testing import random_v1_model, random_v2_model
    rng = np.random.default_rng(seed)
    if version == "v2":
        model = random_v2_model(_v2_blocks(kinds, rng), (8, 6, 3), seed=seed)
    else:
        kinds = [k for k in kinds if k not in ("add", "concat")]
        model = random_v1_model(_v1_blocks(kinds, rng), (8, 6, 3), seed=seed)
    mapping = model.map(DEVICES[version][dev_index], mode=mode)
    x = rng.integers(0, 256, (frames, 8, 6, 3)).astype(np.uint8)
    acts = {k: as_frames(v) for k, v in model.forward(x, outputs="all").items()}
    P = values(timing_params(mapping.device, {"np_fire_block_rows": fire_block,
                                              "np_input_fifo_events": fifo}))
    n_passes = 0
    for _, _, lms in mapping.hardware_passes():
        layers = [model.get_layer(lm.layer) for lm in lms]
        layers = [lay for lay in layers if lay.TYPE not in SOURCE_TYPES | SOFTWARE_TYPES]
        if not layers:
            continue
        plan = build_pass_plan(model, mapping.device, P, layers, {lm.layer: lm for lm in lms},
                               frames)
        work = pass_work(plan, model, P, acts, as_frames(x))
        args = (frames, float(P["link_width_bits"]), int(P["packet_header_flits"]),
                float(P["router_latency_cycles"]))
        fast = schedule(plan.sched, work.costs, *args)
        assert fast.ok
        assert_same(fast, schedule_ref(plan.sched, work.costs, *args))
        n_passes += 1
    assert n_passes >= 1

"""Regressions found by tools/fuzz_timing.py (random and zoo models on every shipped device and
mode): each a small hand-written model whose expected figures follow from the laws."""
import numpy as np
import pytest

from nsoc import pipeline
from nsoc.hardware.mapping import map_model
from nsoc.hardware.mapping.memory import fnp_weight_size
from nsoc.hardware.mapping.program import layer_program_bytes, layer_reload_bytes
from nsoc.testing import random_v2_model


def _v2_fnp2_model():
    """An input convolution, a 200-filter pooled convolution and a depthwise one on 3x3, then
    33 dense units of 8-bit weights on 8-bit inputs: TwoNodesIPv2 maps the dense layer on an
    FNP2 in a second hardware sequence; its 1,800 input values take 2,408 B a unit in external
    memory (79,488 B) but 1,808 B a unit in the program (59,664 B)."""
    blocks = [("input_conv", {"filters": 8, "name": "conv_in"}),
              ("conv", {"filters": 200, "pool": "max", "name": "conv"}),
              ("dw", {"name": "dw"}), ("dense", {"units": 33, "name": "fc"})]
    return random_v2_model(blocks, (5, 5, 3), weight_bits=8, act_bits=8)


def test_v2_fnp2_reload_bytes_are_the_program_records_without_their_weights():
    """Before: the reload subtracted the FNP2's external size from its program records
    (-17,248 B), so HwPr reprogrammed in negative time, frame 0 took less than its dense layer
    alone and the report refused its negative reconfiguration bytes."""
    model = _v2_fnp2_model()
    fc = model.get_layer("fc")
    for mode in ("HwPr", "AllNps", "Minimal"):
        mapping = map_model(model, "TwoNodesIPv2", mode=mode)
        assert len(mapping.hardware_passes()) == 2
        (lm,) = [lm for _, _, lms in mapping.hardware_passes() for lm in lms
                 if lm.layer == "fc"]
        (comp,) = lm.nps
        assert comp.type == "FNP2" and comp.mem_info["external_size"] == 79488
        program = layer_program_bytes(lm, fc, "v2")
        weights = fnp_weight_size(fc, 33, comp.mem_info["input_size"])
        assert weights == 33 * (1800 + 8)
        assert layer_reload_bytes(lm, fc, "v2") == program - weights > 0


def test_v2_fnp2_hwpr_frame_takes_at_least_its_slowest_layer():
    model = _v2_fnp2_model()
    x = np.random.default_rng(0).integers(0, 256, (1, 5, 5, 3)).astype(np.uint8)
    run = pipeline.simulate(model, x, device="TwoNodesIPv2", mode="HwPr", frames=1)
    t = run.timing
    assert t.reconfig_cycles > 0
    assert all(lay.actions.reconfig_bytes >= 0 for lay in t.layers)
    assert t.latency_cycles >= max(lay.busy_cycles for lay in t.layers)
    # in a stream each frame reprograms both sequences, frame 0 only the second
    assert t.latency_cycles <= t.interval_cycles
    run.report.validate()


def test_frame_level_firing_waits_for_the_rows_no_window_reads():
    """A 1x1 stride-2 convolution on 8 rows reads rows 0, 2, 4, 6: its NP still integrates the
    events of row 7 (the CNP law counts every event it receives), so its frame's output fires
    after them.  Before: the output left after row 6 and the frame ended while the NP was still
    busy with row 7 (latency under the chain of the layers' busy cycles)."""
    from nsoc.hardware.timing.geometry import layer_geometry
    blocks = [("input_conv", {"filters": 8, "name": "conv_in"}),
              ("conv", {"filters": 16, "kernel_size": 1, "stride": 2, "name": "s2"}),
              ("dense", {"units": 4, "name": "fc"})]
    model = random_v2_model(blocks, (8, 8, 3), weight_bits=4, act_bits=4)
    s2 = model.get_layer("s2")
    assert list(layer_geometry(s2, 1).needed) == [0, 2, 4, 6]     # row streaming: windows
    assert list(layer_geometry(s2, 1000).needed) == [7, 7, 7, 7]  # frame-level: whole frame
    assert list(layer_geometry(s2, 2).needed) == [2, 2, 7, 7]     # blocks of 2, the last whole
    x = np.random.default_rng(1).integers(0, 256, (1, 8, 8, 3)).astype(np.uint8)
    t = pipeline.simulate(model, x, device="TwoNodesIPv2", mode="Minimal", frames=1).timing
    lay = t.layer("s2")
    assert lay.events_in > 0
    assert lay.end_cycle - lay.start_cycle >= lay.busy_cycles
    assert t.latency_cycles >= sum(lay.busy_cycles for lay in t.layers)


def test_reconfiguration_bytes_are_totals_over_the_frames():
    """Two hardware sequences, reprogrammed every frame of a stream (the interval counts both).
    Before: each pass's bytes were counted once whatever the frames, so the energy per frame of
    a 3-frame stream (a third of one reload) was under that of 1 frame."""
    from nsoc.hardware.parameters import timing_params, values
    from nsoc.hardware.timing.simulate import program_bytes
    model = _v2_fnp2_model()
    x = np.random.default_rng(0).integers(0, 256, (1, 5, 5, 3)).astype(np.uint8)
    opts = pipeline.SimOptions(device="TwoNodesIPv2", mode="HwPr", frames=1)
    mapping = pipeline.map_stage(model, opts)
    P = values(timing_params(mapping.device, {}))
    b0, b1 = (program_bytes(mapping.sequences[si], lms, P, model)
              for si, _, lms in mapping.hardware_passes())
    one = pipeline.simulate(model, x, opts, mapping=mapping)
    three = pipeline.simulate(model, x, opts.with_(stream_frames=3), mapping=mapping)
    assert sum(lay.actions.reconfig_bytes for lay in one.timing.layers) == b0 + b1
    assert sum(lay.actions.reconfig_bytes for lay in three.timing.layers) == 3 * (b0 + b1)
    e1, e3 = one.energy.energy_breakdown_uj, three.energy.energy_breakdown_uj
    assert e1["reconfiguration"] > 0
    assert e3["reconfiguration"] == pytest.approx(e1["reconfiguration"], rel=1e-12)
    # the same frame streamed: every action a frame the same
    assert three.energy.energy_per_frame_uj == pytest.approx(one.energy.energy_per_frame_uj,
                                                             rel=1e-3)


def test_depthwise_nps_receive_only_their_channels_events():
    """32 depthwise channels on NPs of 9 nodes (TwelveNodesIPv2, AllNps): the packet to a node
    carries the events of the channels its NPs hold, so over the nodes the input convolution's
    rows are sent about once (the depthwise CNP law counts only those events).  Before: every
    node got whole rows and the producer's link carried them once per node (fuzz draw 500170:
    a 1.5 k-cycle depthwise layer spanning 55 k cycles)."""
    from nsoc.hardware.parameters import timing_params, values
    from nsoc.hardware.timing.plan import build_pass_plan
    from nsoc.hardware.timing.rows import as_frames, pass_work
    blocks = [("input_conv", {"filters": 32, "kernel_size": 3, "name": "conv_in"}),
              ("dw", {"kernel_size": 5, "stride": 2, "name": "dw"}),
              ("dense", {"units": 10, "name": "fc"})]
    model = random_v2_model(blocks, (24, 24, 1), weight_bits=4, act_bits=4)
    x = np.random.default_rng(0).integers(0, 256, (1, 24, 24, 1)).astype(np.uint8)
    mapping = map_model(model, "TwelveNodesIPv2", mode="AllNps")
    (_, _, lms), = mapping.hardware_passes()
    lm = {m.layer: m for m in lms}
    assert len({(c.ident.col, c.ident.row) for c in lm["dw"].nps}) == 9
    P = values(timing_params(mapping.device, {}))
    layers = [model.get_layer(n) for n in ("conv_in", "dw")]
    plan = build_pass_plan(model, mapping.device, P, layers, lm, 1)
    acts = {k: as_frames(v) for k, v in model.forward(x, outputs="all").items()}
    work = pass_work(plan, model, P, acts, as_frames(x))
    dw_stages = set(plan.by_layer["dw"])
    groups = [g for g, grp in enumerate(plan.groups) if set(grp.consumers) <= dw_stages]
    assert len(groups) == 9
    rows = plan.stages[plan.groups[groups[0]].producer].out_rows
    payload = sum(int(work.costs.grp_flits[plan.sched.grp_arr_off[g]:][:rows].sum())
                  for g in groups)
    events = int(np.count_nonzero(acts["conv_in"]))
    per_event = P["event_bits"] / P["link_width_bits"]
    assert events * per_event <= payload <= events * per_event + len(groups) * rows
    # each depthwise NP still receives (and pays for) its channels' events
    r = pipeline.simulate(model, x, mapping=mapping, device="TwelveNodesIPv2", frames=1)
    assert sum(n.events_in for n in r.timing.nps if n.layer == "dw") == events

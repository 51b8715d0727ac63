"""Cycle-level simulator: kernels against their numpy reference and the done-when properties.

The models are small nsoc Akida 1.0 IR models mapped by hand on a small mesh; their activations
are synthesised (sparse 4-bit integers) so that the event counts are controlled exactly.
"""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from timing_helpers import (
    even_split,
    layer_mapping,
    mesh_device,
    one_pass_mapping,
    param_values,
    sparse_acts,
)

from nsoc import Model, make_layer
from nsoc.hardware.timing import TimingParamError, parse_timing_overrides, simulate, timing_params
from nsoc.hardware.types import (
    Ident,
    LayerMapping,
    NPComponent,
    Sequence,
)
from nsoc.kernels.timing import row_channel_stats, row_channel_stats_ref


def _device():
    return mesh_device("TestMesh", {"CNP1", "FNP3"})


def _conv(name, inb, cin, filters, rng):
    return make_layer("Convolutional", name, dict(
        filters=filters, kernel_height=3, kernel_width=3, padding=1, act_bits=4,
        weights_bits=4), {"weights": rng.integers(-7, 8, (3, 3, cin, filters)).astype(np.int8),
                          "threshold": np.zeros(filters, np.int32),
                          "act_step": np.ones(filters, np.float32)}, [inb])


def _model(n_conv=2, size=12, ch=8):
    rng = np.random.default_rng(0)
    layers = [make_layer("InputData", "input", dict(input_channels=ch, input_height=size,
                                                    input_width=size, input_bits=4,
                                                    input_signed=0))]
    prev = "input"
    for i in range(n_conv):
        layers.append(_conv(f"conv{i}", prev, ch, ch, rng))
        prev = f"conv{i}"
    layers.append(make_layer("FullyConnected", "fc", dict(units=10, activation=0),
                             {"weights": rng.integers(-7, 8, (1, 1, size * size * ch, 10)
                                                      ).astype(np.int8),
                              "threshold": np.zeros(10, np.int32),
                              "act_step": np.ones(10, np.float32)}, [prev]))
    return Model(layers, "v1")


def _map(model, device, placement):
    """placement: {layer: [(col, row, id), ...]} (filters split evenly)."""
    lms = [LayerMapping("input", "InputData")]
    for lay in model.layers[1:]:
        typ = "FNP3" if lay.TYPE == "FullyConnected" else "CNP1"
        lms.append(layer_mapping(lay, even_split(lay.output_dims[2], placement[lay.name], typ)))
    return one_pass_mapping(device, lms, mode="AllNps", hw_only=False)


PLACE = {"conv0": [(2, 1, 0), (2, 1, 1)], "conv1": [(3, 1, 0), (3, 2, 0)], "fc": [(1, 2, 0)]}


@pytest.fixture(scope="module")
def mapped():
    return _model()


@pytest.fixture(scope="module")
def mapping(mapped):
    return _map(mapped, _device(), PLACE)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 6), st.integers(1, 5), st.integers(1, 6),
       st.floats(0, 1), st.integers(0, 2**16))
def test_row_stats_kernel_matches_reference(f, x, y, c, density, seed):
    rng = np.random.default_rng(seed)
    act = ((rng.random((f, x, y, c)) < density) * rng.integers(-8, 8, (f, x, y, c))
           ).astype(np.int8)
    taps = rng.integers(0, 4, y)
    cnt, tap = row_channel_stats(act, taps)
    rc, rt = row_channel_stats_ref(act, taps)
    np.testing.assert_array_equal(cnt, rc)
    np.testing.assert_array_equal(tap, rt)


@settings(max_examples=15, deadline=None)
@given(st.floats(0.02, 0.6), st.floats(0.05, 0.4), st.integers(0, 1000))
def test_more_events_never_take_fewer_cycles(mapped, mapping, density, extra, seed):
    x, acts = sparse_acts(mapped, density, 1, seed)
    rng = np.random.default_rng(seed + 1)
    more = {}
    for k, a in acts.items():
        if k == "fc":
            more[k] = a
            continue
        add = (rng.random(a.shape) < extra) & (a == 0)
        more[k] = np.where(add, 3, a).astype(a.dtype)  # a superset of the events
    r0 = simulate(mapped, mapping, x, activations=acts)
    r1 = simulate(mapped, mapping, more["input"], activations=more)
    assert r1.latency_cycles >= r0.latency_cycles
    for a, b in zip(r0.layers, r1.layers, strict=True):
        assert b.busy_cycles >= a.busy_cycles
        assert b.events_in >= a.events_in


def test_zero_frame_costs_only_fixed_per_frame_work(mapped, mapping):
    x, acts = sparse_acts(mapped, 0.0, 1)
    r = simulate(mapped, mapping, x, activations=acts)
    for lay in r.layers:
        assert lay.events_in == 0
        assert lay.actions.synaptic_ops == 0 and lay.actions.input_sram_reads == 0
        if lay.type == "Convolutional":  # no event: a CNP only goes over its weights once
            layer = mapped.get_layer(lay.name)
            held = 9 * layer.input_dims[2] * max(c.filters for c in mapping.layer(lay.name).nps)
            P = timing_params(mapping.device)
            assert lay.busy_cycles == pytest.approx(P["cnp_weight_cycles"]["value"] * held, abs=1)
    x_dense, acts_dense = sparse_acts(mapped, 0.3, 1)
    dense = simulate(mapped, mapping, x_dense, activations=acts_dense)
    assert r.latency_cycles < dense.latency_cycles
    # the fixed work does not depend on the (all-zero) values of another zero frame
    x2, acts2 = sparse_acts(mapped, 0.0, 1, seed=5)
    assert simulate(mapped, mapping, x2, activations=acts2).latency_cycles == r.latency_cycles


def test_throughput_bounded_by_slowest_stage(mapped, mapping):
    x, acts = sparse_acts(mapped, 0.3, 1)
    n = 6
    r = simulate(mapped, mapping, x, activations=acts, batch_size=n)
    slowest = max(lay.busy_cycles + lay.stall_cycles for lay in r.layers) / n
    assert r.interval_cycles >= slowest * 0.99
    assert r.fps <= r.clock_hz / slowest * 1.01
    # making one layer's events 50x dearer makes it the bottleneck: the stream runs at its pace
    slow = simulate(mapped, mapping, x, activations=acts, batch_size=n,
                    overrides={"cnp_event_cycles": 200})
    per_frame = max(lay.busy_cycles for lay in slow.layers) / n
    assert slow.interval_cycles == pytest.approx(per_frame, rel=0.05)
    assert slow.latency_cycles == slow.frames[0]
    assert len(slow.frames) == n and sum(slow.frames) == pytest.approx(slow.total_cycles, abs=n)


def test_two_layers_sharing_a_link_are_slower():
    # conv0 -> conv1 crosses (1,1)->(2,1)->(3,1); conv2 -> conv3 uses the same links when
    # placed in row 1, disjoint links of the same length when placed in row 2
    def run(row):
        m = _model(n_conv=4)
        place = {"conv0": [(1, 1, 2)], "conv1": [(3, 1, 1)], "conv2": [(1, row, 3)],
                 "conv3": [(3, row, 2)], "fc": [(2, 2, 0)]}
        mp = _map(m, _device(), place)
        x, acts = sparse_acts(m, 0.5, 2, seed=3)
        return simulate(m, mp, x, activations=acts, batch_size=4,
                        overrides={"link_width_bits": 2, "router_latency_cycles": 1})
    shared, alone = run(1), run(2)
    assert shared.total_cycles > alone.total_cycles
    peak = max(lk.flits for lk in shared.links)
    assert peak > max(lk.flits for lk in alone.links)


def test_result_dict_and_actions(mapped, mapping):
    x, acts = sparse_acts(mapped, 0.25, 2)
    r = simulate(mapped, mapping, x, activations=acts)
    d = json.loads(json.dumps(r.to_dict()))
    for key in ("clock_hz", "latency_cycles", "latency_us", "fps", "frames", "layers", "nps",
                "links"):
        assert key in d
    assert d["latency_us"] == pytest.approx(r.latency_cycles / r.clock_hz * 1e6)
    assert len(d["frames"]) == 2 and len(d["nps"]) == 5
    conv0 = r.layer("conv0")
    ev = int(np.count_nonzero(acts["input"]))
    assert conv0.events_in == ev and conv0.events_out == np.count_nonzero(acts["conv0"])
    # 3x3 'same' conv: synaptic ops = sum over events of in-bounds taps x filters
    taps = np.array([2] + [3] * 10 + [2])
    nz = acts["input"] != 0
    expect = int((nz * taps[None, :, None, None] * taps[None, None, :, None]).sum()) * 8
    assert conv0.actions.synaptic_ops == expect
    assert conv0.actions.noc_flit_hops > 0 and r.links
    assert r.layer("fc").actions.neurons_updated == 20


def test_params_overrides_and_errors(mapped, mapping):
    p = timing_params("AKD1000", {"router_latency_cycles": 7})
    assert p["router_latency_cycles"] == {"value": 7.0, "unit": "cycles/hop",
                                          "source": "override"}
    for entry in timing_params("AKD1000").values():
        assert set(entry) == {"value", "unit", "source"}
    with pytest.raises(TimingParamError, match="unknown timing parameter"):
        timing_params(None, {"no_such_key": 1})
    with pytest.raises(TimingParamError, match="KEY=NUMBER"):
        parse_timing_overrides(["router_latency_cycles"])
    assert parse_timing_overrides(["link_width_bits=64"]) == {"link_width_bits": 64.0}
    x, acts = sparse_acts(mapped, 0.2, 1)
    with pytest.raises(TimingParamError, match="clock mode"):
        simulate(mapped, mapping, x, activations=acts, clock_mode="Turbo")
    eco = simulate(mapped, mapping, x, activations=acts, clock_mode="LowPower")
    perf = simulate(mapped, mapping, x, activations=acts)
    assert eco.latency_cycles == perf.latency_cycles and eco.latency_us > perf.latency_us


def test_cached_plan_gives_identical_results(mapped, mapping):
    from nsoc.hardware.timing import plan as T
    x, acts = sparse_acts(mapped, 0.3, 3, seed=7)
    for o in ({}, {"np_fire_block_rows": 1, "np_input_fifo_events": 40}):
        T._PLAN_CACHE.pop(mapping, None)
        first = simulate(mapped, mapping, x, activations=acts, overrides=o, batch_size=4)
        assert T._PLAN_CACHE[mapping]  # the plan was stored
        first = first.to_dict()
        again = simulate(mapped, mapping, x, activations=acts, overrides=o,
                         batch_size=4).to_dict()
        cold = simulate(mapped, mapping, x, activations=acts, overrides=o, batch_size=4,
                        cache=False).to_dict()
        assert first == again == cold
    # other activations through the cached plan = a fresh build for those activations
    x2, acts2 = sparse_acts(mapped, 0.1, 3, seed=8)
    assert simulate(mapped, mapping, x2, activations=acts2).to_dict() == \
        simulate(mapped, mapping, x2, activations=acts2, cache=False).to_dict()


def _v2_skip_model():
    from nsoc.testing import random_v2_model
    blocks = [("input_conv", {"filters": 8, "name": "conv_in"}),
              ("conv", {"filters": 8, "name": "c1"}), ("conv", {"filters": 8, "name": "c2"}),
              ("add", {"with_block": 2, "name": "add"}), ("conv", {"filters": 8, "name": "c3"}),
              ("concat", {"with_block": 2, "name": "cat"}),
              ("conv", {"filters": 8, "name": "c4"})]
    return random_v2_model(blocks, (10, 10, 3), seed=3)


@pytest.fixture(scope="module")
def v2_skip():
    m = _v2_skip_model()
    x = np.random.default_rng(0).integers(0, 256, (2, 10, 10, 3)).astype(np.uint8)
    return m, m.map("FourNodesIPv2"), x, m.forward(x, outputs="all")


def test_v2_add_concatenate_traffic_goes_through_skip_dma(v2_skip):
    m, mp, x, acts = v2_skip
    assert mp.layer("add").skipdma_stores  # the mapper gave it a skip-DMA channel
    r = simulate(m, mp, x, activations=acts)
    for name, a, b in (("add", "c1", "c2"), ("cat", "add", "c3")):
        lay = r.layer(name)
        # a layer without NP receives the events of both inbounds and forwards its output
        assert lay.events_in == np.count_nonzero(acts[a]) + np.count_nonzero(acts[b])
        assert lay.events_out == np.count_nonzero(acts[name]) and lay.n_nps == 0
        # the older branch crosses the skip-DMA channel: its bytes are DMA traffic
        assert lay.actions.dma_input_bytes >= np.count_nonzero(acts[a]) * 4
    # a slow skip-DMA channel delays the frame; the functional outputs are not involved
    slow = simulate(m, mp, x, activations=acts, overrides={"skip_dma_bytes_per_cycle": 0.01})
    assert slow.latency_cycles > r.latency_cycles
    assert slow.layer("c1").busy_cycles == r.layer("c1").busy_cycles
    assert slow.layer("add").actions.dma_input_bytes == r.layer("add").actions.dma_input_bytes


def test_multi_pass_reconfiguration_cost(v2_skip):
    m, mp, x, acts = v2_skip
    one = simulate(m, mp, x, activations=acts)
    assert one.reconfig_cycles == 0
    hw = m.map("FourNodesIPv2", mode="HwPr")  # every NP layer in its own pass
    n_pass = hw.n_passes
    assert n_pass > 1
    r = simulate(m, hw, x, activations=acts, batch_size=3)
    P = param_values(hw.device)
    prog = sum(lay.actions.reconfig_bytes for lay in r.layers)
    # the program of each pass: its layers' program records (the mapper's estimate); with the
    # program header and the sequence's own terms they make the mapper's program size
    from nsoc.hardware.mapping.program import layer_program_bytes, sequence_program_bytes
    passes = [p for _, _, p in hw.hardware_passes()]
    expect = [sum(layer_program_bytes(lm, m.get_layer(lm.layer), m.ip_version) for lm in p)
              for p in passes]
    seqs = [seq for seq in hw.sequences if seq.backend == "Hardware"]
    # reloaded over the 3 frames: every pass each frame
    assert prog == 3 * sum(expect) > 0
    prog = sum(expect)   # one frame's reprogramming of every pass
    assert sum(seq.program_size for seq in seqs) == sum(expect) + sum(
        sequence_program_bytes(seq, m, m.ip_version) for seq in seqs)
    # HwPr: every pass reprogrammed by the configuration DMA from external memory, at the rate
    # an FNP2 reads its weights there
    rate = P["external_read_cycles_per_byte"]
    assert r.reconfig_cycles == pytest.approx(rate * prog, abs=2)
    # loading the program (before the inference): the whole program, fixed + per byte
    per_byte, fixed = P["program_cycles_per_byte"], P["program_fixed_cycles"]
    assert r.program_cycles == pytest.approx(
        fixed + per_byte * sum(seq.program_size for seq in seqs), abs=1)
    # passes run one after the other each frame: the first frame reloads every pass but the
    # first (loaded before the inference), the later frames every pass; doubling the read rate
    # adds exactly the extra bytes' time
    slower = simulate(m, hw, x, activations=acts, batch_size=3,
                      overrides={"external_read_cycles_per_byte": 2 * rate})
    assert slower.frames[0] - r.frames[0] == pytest.approx(rate * (prog - expect[0]), abs=2)
    for a, b in zip(r.frames[1:], slower.frames[1:], strict=True):
        assert b - a == pytest.approx(rate * prog, abs=2)
    assert r.latency_cycles > one.latency_cycles
    assert r.fps < one.fps


def test_program_bytes_without_the_model_or_memory_information():
    """The estimate without the NPs' program records: on-chip weights of the pass's NP
    components plus ``np_config_bytes`` per component; the whole program's bytes are the
    mapper's program sizes when it gives them, else the passes' bytes."""
    import dataclasses

    from nsoc.hardware.timing.simulate import program_bytes, whole_program_bytes
    comps = [NPComponent(Ident(1, 1, i), "CNP1", 4, mem_info={"weight_size": 100 * (i + 1)})
             for i in range(3)]
    lms = [LayerMapping("a", "Conv2D", comps[:2]), LayerMapping("b", "Conv2D", comps[2:])]
    seq = Sequence("HW", "Hardware", [lms, []])
    P = {"np_config_bytes": 10}
    assert program_bytes(seq, lms, P) == 600 + 30
    no_info = [LayerMapping("a", "Conv2D", [dataclasses.replace(comps[0], mem_info=None)])]
    assert program_bytes(seq, no_info, P, model=object()) == 10

    class _M:
        sequences = [seq]
    assert whole_program_bytes(_M, [630, 70]) == 700
    _M.sequences = [dataclasses.replace(seq, program_size=5000)]
    assert whole_program_bytes(_M, [630, 70]) == 5000


def test_host_reprogramming_per_np_outside_hwpr(v2_skip):
    """Minimal / AllNps passes are reprogrammed by the host NP by NP: the same HwPr passes
    relabelled AllNps cost ``host_reprogram_np_cycles`` per NP of every pass but the first."""
    import dataclasses

    from nsoc.hardware.timing import program_cycles, reprogram_cycles
    m, _, x, acts = v2_skip
    hw = m.map("FourNodesIPv2", mode="HwPr")
    host = dataclasses.replace(hw, mode="AllNps")
    P = param_values(hw.device)
    r_hw = simulate(m, hw, x, activations=acts)
    r_host = simulate(m, host, x, activations=acts)
    passes = [p for seq in hw.sequences if seq.backend == "Hardware" for p in seq.passes]
    nps = [sum(len(lm.nps) for lm in p) for p in passes]
    assert r_host.reconfig_cycles == pytest.approx(P["host_reprogram_np_cycles"] * sum(nps),
                                                   abs=2)
    later = P["host_reprogram_np_cycles"] * sum(nps[1:])
    hw_later = r_hw.reconfig_cycles - _first_reload(r_hw, P)
    assert r_host.latency_cycles - r_hw.latency_cycles == pytest.approx(later - hw_later, abs=3)
    assert reprogram_cycles("Minimal", 7, 10**6, P) == 7 * P["host_reprogram_np_cycles"]
    assert reprogram_cycles("HwPr", 7, 1000, P) == pytest.approx(
        1000 * P["external_read_cycles_per_byte"])
    assert program_cycles(1000, P) == pytest.approx(
        P["program_fixed_cycles"] + 1000 * P["program_cycles_per_byte"])


def _first_reload(r, P) -> float:
    """Reprogramming cycles of the first pass of a HwPr run (not counted in its first frame)."""
    first = next(lay.actions.reconfig_bytes for lay in r.layers if lay.pass_index == 0)
    return P["external_read_cycles_per_byte"] * first / r.n_frames  # bytes: all the frames


def test_row_streaming_respects_convolution_row_dependencies(mapped, mapping):
    from nsoc.hardware.timing.geometry import layer_geometry as _geometry
    conv = mapped.get_layer("conv0")  # 3x3 'same', 12 rows
    # output row j needs input rows up to j + 1 (kernel 3, padding 1), the last one row 11
    np.testing.assert_array_equal(_geometry(conv, 1).needed, list(range(1, 12)) + [11])
    np.testing.assert_array_equal(_geometry(conv, 1000).needed, [11] * 12)
    pooled = make_layer("Convolutional", "p", dict(
        filters=4, kernel_height=3, kernel_width=3, padding=1, pool_type=1, pooling_width=2,
        pooling_height=2, pooling_stride_x=2, pooling_stride_y=2, act_bits=4),
        {"weights": np.ones((3, 3, 8, 4), np.int8), "threshold": np.zeros(4, np.int32),
         "act_step": np.ones(4, np.float32)}, ["input"])
    Model([mapped.layers[0], pooled], "v1")
    # pooled row j = conv rows 2j, 2j+1 -> input rows up to 2j + 2
    np.testing.assert_array_equal(_geometry(pooled, 1).needed, [2, 4, 6, 8, 10, 11])
    x, acts = sparse_acts(mapped, 0.3, 1)
    rows = simulate(mapped, mapping, x, activations=acts, overrides={"np_fire_block_rows": 1})
    frame = simulate(mapped, mapping, x, activations=acts)
    # row streaming: conv1 works on conv0's first rows while conv0 still runs
    assert rows.layer("conv1").start_cycle < rows.layer("conv0").end_cycle
    # frame-level firing (the calibrated default): conv1 gets events only once conv0 fired
    assert frame.layer("conv1").start_cycle >= frame.layer("conv0").end_cycle - \
        frame.layer("conv0").busy_cycles
    assert rows.latency_cycles < frame.latency_cycles


@settings(deadline=None, max_examples=60)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=60), st.integers(0, 100),
       st.floats(0, 300))
def test_fifo_need_matches_reference(events, cut, fifo):
    from nsoc.kernels.timing import fifo_need, fifo_need_ref
    ev = np.array(events, np.int64)
    n = max(1, len(ev) * cut // 100)
    np.testing.assert_array_equal(fifo_need(ev, n, fifo), fifo_need_ref(ev, n, fifo))


def test_program_cycles_load_the_whole_program_once(v2_skip):
    """``program_cycles``: loading the model's program (the mapper's program size) before the
    first inference, whatever the frames streamed or the passes."""
    from nsoc.hardware.timing.costs import program_cycles
    m, mapping, x, acts = v2_skip
    P = param_values(mapping.device)

    def size(mp):
        return sum(seq.program_size for seq in mp.sequences if seq.backend == "Hardware")
    expect = round(program_cycles(size(mapping), P))
    one = simulate(m, mapping, x, activations=acts)
    assert one.program_cycles == expect > 0 and one.to_dict()["program_cycles"] == expect
    # a property of the program, not of the frames streamed
    assert simulate(m, mapping, x, activations=acts, batch_size=5).program_cycles == expect
    hw = m.map("FourNodesIPv2", mode="HwPr")
    assert hw.n_passes > 1
    assert simulate(m, hw, x, activations=acts).program_cycles == round(
        program_cycles(size(hw), P))


def test_latency_is_one_forward_call_at_batch_1(mapped, mapping):
    x, acts = sparse_acts(mapped, 0.3, 3, seed=4)
    stream = simulate(mapped, mapping, x, activations=acts, batch_size=6,
                      overrides={"np_fire_block_rows": 1})
    alone = simulate(mapped, mapping, x[:1], activations={k: v[:1] for k, v in acts.items()},
                     overrides={"np_fire_block_rows": 1})
    assert stream.latency_cycles == alone.latency_cycles == alone.frames[0]
    assert stream.frames[0] >= stream.latency_cycles  # frame 0 may wait for frame 1's packets


def test_result_pickles_with_its_deferred_records(mapped, mapping):
    import pickle
    x, acts = sparse_acts(mapped, 0.25, 2)
    r = simulate(mapped, mapping, x, activations=acts)
    back = pickle.loads(pickle.dumps(r))  # as a Dask worker returns it
    assert back.to_dict() == r.to_dict() and len(back.nps) == 5 and back.links == r.links


def test_branches_blocking_each_other_name_the_fifo_to_raise(v2_skip):
    """An Add whose older branch is not stored by a skip-DMA channel waits, with frame-level
    firing, for a whole frame of both branches: input FIFOs smaller than that dead-lock, and
    the error names the parameter to raise."""
    import dataclasses
    m, mp, x, acts = v2_skip

    def no_skip(lm):
        return dataclasses.replace(lm, skipdma_stores=[], skipdma_loads=[])
    seqs = tuple(dataclasses.replace(s, passes=[[no_skip(lm) for lm in p] for p in s.passes])
                 for s in mp.sequences)
    plain = dataclasses.replace(mp, sequences=seqs)
    with pytest.raises(TimingParamError, match="np_input_fifo_events=6400"):
        simulate(m, plain, x, activations=acts, overrides={"np_input_fifo_events": 400})
    assert simulate(m, plain, x, activations=acts).latency_cycles > 0  # the default FIFO
    assert simulate(m, mp, x, activations=acts,  # through the skip DMA: no dead-lock
                    overrides={"np_input_fifo_events": 400}).latency_cycles > 0

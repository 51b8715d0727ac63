"""The NP cost laws fitted to silicon (nsoc/hardware/timing/costs.py) as the simulator applies
them: a CNP's time follows its input events x the filters it holds (an NP of a band-split layer
receives its band's rows and their halo) plus one pass over its weights per frame, the HRC
works per output position and kernel tap over 16-filter groups, an FNP2 fetches its whole
weight matrix every frame.  Small hand-mapped Akida 1.0 models with synthesised activations
(exact event counts)."""
import dataclasses
import math

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
from nsoc.hardware.timing import simulate
from nsoc.hardware.timing.costs import weights_held
from nsoc.hardware.timing.geometry import band_input_rows, band_output_rows, component_bands
from nsoc.hardware.types import (
    Ident,
    NPComponent,
    Sequence,
)


def _device():
    return mesh_device("LawMesh", {"CNP1", "FNP2", "FNP3"})


def _model(size=10, cin=3, hrc_filters=24, sep_filters=16, units=12):
    rng = np.random.default_rng(0)
    hrc = make_layer("InputConvolutional", "hrc", dict(
        filters=hrc_filters, kernel_height=3, kernel_width=3, stride_x=1, stride_y=1,
        padding=1, act_bits=4, activation=1, weights_bits=8, input_channels=cin,
        input_height=size, input_width=size),
        {"weights": rng.integers(-127, 128, (3, 3, cin, hrc_filters)).astype(np.int8),
         "threshold": np.zeros(hrc_filters, np.int32),
         "act_step": np.ones(hrc_filters, np.float32)})
    sep = make_layer("SeparableConvolutional", "sep", dict(
        filters=sep_filters, kernel_height=3, kernel_width=3, stride_x=1, stride_y=1,
        padding=1, act_bits=4, activation=1, weights_bits=4, pool_type=0),
        {"weights": rng.integers(-7, 8, (3, 3, hrc_filters, 1)).astype(np.int8),
         "weights_pw": rng.integers(-7, 8, (1, 1, hrc_filters, sep_filters)).astype(np.int8),
         "threshold": np.zeros(sep_filters, np.int32),
         "act_step": np.ones(sep_filters, np.float32)}, ["hrc"])
    fc = make_layer("FullyConnected", "fc", dict(units=units, activation=0, weights_bits=4),
                    {"weights": rng.integers(-7, 8, (1, 1, size * size * sep_filters, units)
                                             ).astype(np.int8),
                     "threshold": np.zeros(units, np.int32),
                     "act_step": np.ones(units, np.float32)}, ["sep"])
    return Model([hrc, sep, fc], "v1")


def _mapping(model, device, sep_nps=2, fc_type="FNP2"):
    hrc, sep, fc = (model.get_layer(n) for n in ("hrc", "sep", "fc"))
    return one_pass_mapping(device, [
        layer_mapping(hrc, [NPComponent(Ident(1, 1, 2), "HRC", hrc.output_dims[2])]),
        layer_mapping(sep, even_split(sep.output_dims[2], [(2, 1, k) for k in range(sep_nps)])),
        layer_mapping(fc, [NPComponent(Ident(3, 1, 0), fc_type, fc.output_dims[2])])])


def _acts(model, density, seed=0):
    return sparse_acts(model, density, seed=seed, dense_input=True)


@pytest.fixture(scope="module")
def setup():
    dev = _device()
    model = _model()
    return model, dev, _mapping(model, dev)


@settings(max_examples=12, deadline=None)
@given(st.floats(0.0, 0.9), st.integers(1, 4), st.integers(0, 1000))
def test_cnp_time_is_events_times_filters_held(density, sep_nps, seed):
    model = _model()
    dev = _device()
    mapping = _mapping(model, dev, sep_nps=sep_nps)
    P = param_values(dev)
    x, acts = _acts(model, density, seed)
    r = simulate(model, mapping, x, activations=acts)
    events = int(np.count_nonzero(acts["hrc"]))
    nps = [n for n in r.nps if n.layer == "sep"]
    assert len(nps) == sep_nps
    bounds = np.linspace(0, 16, sep_nps + 1).astype(int)
    for n in nps:
        filters = int(bounds[n.id + 1] - bounds[n.id])  # component k sits at NP (2, 1, k)
        assert n.events_in == events  # every NP of a filter-split layer sees every event
        weights = 9 * 24 + 24 * filters  # depthwise kernels of the 24 channels + pointwise
        law = events * (P["cnp_event_cycles"] + P["cnp_filter_event_cycles"] * filters) \
            + P["cnp_weight_cycles"] * weights
        assert n.busy_cycles == pytest.approx(law, abs=1)


def test_layer_time_falls_with_input_density(setup):
    model, dev, mapping = setup
    busy = []
    for density in (0.8, 0.5, 0.2, 0.05):
        x, acts = _acts(model, density)
        r = simulate(model, mapping, x, activations=acts)
        busy.append(r.layer("sep").busy_cycles)
    assert all(a > b for a, b in zip(busy[:-1], busy[1:], strict=True))
    # the event-driven part (beyond the once-per-frame weight pass, the time without events)
    # is proportional to the events: a quarter of the density, about a quarter of the time
    x, acts = _acts(model, 0.0)
    fixed = simulate(model, mapping, x, activations=acts).layer("sep").busy_cycles
    assert 0 < fixed < busy[-1]
    assert (busy[2] - fixed) / (busy[0] - fixed) == pytest.approx(0.2 / 0.8, rel=0.1)


def test_hrc_law_per_position_tap_and_filter_group(setup):
    model, dev, mapping = setup
    P = param_values(dev)
    x, acts = _acts(model, 0.3)
    r = simulate(model, mapping, x, activations=acts)
    hrc = model.get_layer("hrc")
    positions = hrc.output_dims[0] * hrc.output_dims[1]
    groups = math.ceil(24 / P["hrc_filter_lanes"])
    law = positions * (P["hrc_tap_cycles"] * 9 * 3 * groups + P["hrc_filter_cycles"] * 24)
    assert r.layer("hrc").busy_cycles == pytest.approx(law, abs=1)
    # the input's values do not matter (dense 8-bit rows)
    x2, acts2 = _acts(model, 0.3, seed=7)
    assert simulate(model, mapping, x2, activations=acts2).layer("hrc").busy_cycles == \
        r.layer("hrc").busy_cycles


def test_fnp2_fetches_its_whole_weight_matrix_every_frame(setup):
    model, dev, mapping = setup
    P = param_values(dev)
    fc = model.get_layer("fc")
    # a mapping without memory information: the raw weight bytes are read
    wbytes = fc.variables["weights"].size * 4 / 8
    law = P["fnp2_layer_cycles"] + wbytes * P["external_read_cycles_per_byte"]
    for density in (0.1, 0.6):  # whatever the input events
        x, acts = _acts(model, density)
        r = simulate(model, mapping, x, activations=acts, batch_size=2)
        assert r.layer("fc").busy_cycles == pytest.approx(2 * law, abs=2)
        assert r.layer("fc").actions.dma_weight_bytes == pytest.approx(2 * wbytes, abs=1)
    # the weights as the mapping stores them in external memory (mem_info external_size)
    stored = dataclasses.replace(mapping.layer("fc").nps[0],
                                 mem_info={"external_size": 3 * int(wbytes)})
    lms = [lm if lm.layer != "fc" else dataclasses.replace(lm, nps=[stored])
           for lm in mapping.sequences[0].passes[0]]
    ext = dataclasses.replace(mapping, sequences=(Sequence("HW", "Hardware", [lms]),))
    r = simulate(model, ext, x, activations=acts)
    assert r.layer("fc").busy_cycles == pytest.approx(
        P["fnp2_layer_cycles"] + 3 * wbytes * P["external_read_cycles_per_byte"], abs=2)
    assert r.layer("fc").actions.dma_weight_bytes == 3 * int(wbytes)
    # an FNP3 instead works per event and per synaptic op (a priori law)
    fnp3 = _mapping(model, dev, fc_type="FNP3")
    x, acts = _acts(model, 0.3)
    r = simulate(model, fnp3, x, activations=acts)
    ev = int(np.count_nonzero(acts["sep"]))
    law3 = ev * (P["fnp_event_cycles"] + 12 / P["fnp3_synops_per_cycle"])
    assert r.layer("fc").busy_cycles == pytest.approx(law3, abs=1)


def test_separable_synaptic_ops_are_event_driven(setup):
    """Pointwise ops = events x filters; the depthwise taps counted once per layer: the
    layer's synaptic ops (its dynamic energy) do not depend on how many NPs share it."""
    model, dev, _ = setup
    x, acts = _acts(model, 0.25)
    events = int(np.count_nonzero(acts["hrc"]))
    totals = []
    for n in (1, 2, 4):
        r = simulate(model, _mapping(model, dev, sep_nps=n), x, activations=acts)
        totals.append(sum(c.actions.synaptic_ops for c in r.nps if c.layer == "sep"))
    assert max(totals) - min(totals) <= 4  # rounding of the shares
    assert totals[0] > events * 16  # depthwise taps + events x 16 filters
    assert totals[0] <= events * (16 + 9)
    x0, acts0 = _acts(model, 0.0)
    r0 = simulate(model, _mapping(model, dev), x0, activations=acts0)
    assert sum(c.actions.synaptic_ops for c in r0.nps if c.layer == "sep") == 0


def _conv_model(size=12, cin=8, filters=6, kernel=3, stride=1):
    rng = np.random.default_rng(1)
    hrc = make_layer("InputConvolutional", "hrc", dict(
        filters=cin, kernel_height=3, kernel_width=3, stride_x=1, stride_y=1, padding=1,
        act_bits=4, activation=1, weights_bits=8, input_channels=1, input_height=size,
        input_width=size),
        {"weights": rng.integers(-127, 128, (3, 3, 1, cin)).astype(np.int8),
         "threshold": np.zeros(cin, np.int32), "act_step": np.ones(cin, np.float32)})
    conv = make_layer("Convolutional", "conv", dict(
        filters=filters, kernel_height=kernel, kernel_width=kernel, stride_x=stride,
        stride_y=stride, padding=1, act_bits=4, activation=1, weights_bits=4, pool_type=0),
        {"weights": rng.integers(-7, 8, (kernel, kernel, cin, filters)).astype(np.int8),
         "threshold": np.zeros(filters, np.int32), "act_step": np.ones(filters, np.float32)},
        ["hrc"])
    return Model([hrc, conv], "v1")


def _banded_mapping(model, device, n_bands, groups=1):
    """The conv layer as the mapper places a band-split layer: band after band, each band's
    filter groups (a band's first group starts at filter 0)."""
    f = model.get_layer("conv").output_dims[2]
    per = -(-f // groups)
    comps = [NPComponent(Ident(2 + (k // 4), 1, k % 4), "CNP1", min(per, f - s), start_neuron=s)
             for k, s in enumerate(s for _ in range(n_bands) for s in range(0, f, per))]
    return one_pass_mapping(device, [
        layer_mapping(model.get_layer("hrc"), [NPComponent(Ident(1, 1, 2), "HRC", 8)]),
        layer_mapping(model.get_layer("conv"), comps)])


def _row_events(a):
    """Events per input row (axis 1) of a (1, X, Y, C) activation array."""
    return np.count_nonzero(a[0], axis=(1, 2))


def test_band_geometry_follows_the_mapper():
    model = _conv_model(size=12)
    conv = model.get_layer("conv")
    dev = _device()
    comps = _banded_mapping(model, dev, 3, groups=2).layer("conv").nps
    # 12 rows in 3 bands of 4, two filter groups each
    assert component_bands(conv, comps) == [(0, 4)] * 2 + [(4, 8)] * 2 + [(8, 12)] * 2
    # a 3x3 kernel reaches one row into each neighbouring band
    assert [band_input_rows(conv, b) for b in [(0, 4), (4, 8), (8, 12)]] == \
        [(0, 5), (3, 9), (7, 12)]
    # a filter split (one band) and a single NP are not band-split
    assert component_bands(conv, _mapping_filters(comps[:2])) is None
    assert component_bands(conv, comps[:1]) is None
    # output rows: each band fires its own rows, the bands tile the output (stride 2: half)
    assert [band_output_rows(b, 12, 12) for b in [(0, 4), (4, 8), (8, 12)]] == \
        [(0, 4), (4, 8), (8, 12)]
    assert [band_output_rows(b, 12, 6) for b in [(0, 4), (4, 8), (8, 12)]] == \
        [(0, 2), (2, 4), (4, 6)]
    assert [band_output_rows(b, 80, 40) for b in [(0, 27), (27, 54), (54, 80)]] == \
        [(0, 14), (14, 27), (27, 40)]


def _mapping_filters(comps):
    return [dataclasses.replace(c, start_neuron=k * c.filters) for k, c in enumerate(comps)]


@pytest.mark.parametrize("n_bands,groups", [(3, 1), (2, 2), (4, 1)])
def test_band_split_np_receives_its_band_and_halo(n_bands, groups):
    model = _conv_model(size=12, filters=6)
    dev = _device()
    P = param_values(dev)
    mapping = _banded_mapping(model, dev, n_bands, groups)
    x, acts = _acts(model, 0.4, seed=3)
    r = simulate(model, mapping, x, activations=acts)
    per_row = _row_events(acts["hrc"])
    out_rows = _row_events(acts["conv"])
    comps = mapping.layer("conv").nps
    bands = component_bands(model.get_layer("conv"), comps)
    nps = {(n.col, n.row, n.id): n for n in r.nps if n.layer == "conv"}
    assert len(nps) == n_bands * groups
    for c, band in zip(comps, bands, strict=True):
        n = nps[(c.ident.col, c.ident.row, c.ident.id)]
        r0, r1 = band_input_rows(model.get_layer("conv"), band)
        events = int(per_row[r0:r1].sum())
        assert n.events_in == events
        law = events * (P["cnp_event_cycles"] + P["cnp_filter_event_cycles"] * c.filters) \
            + P["cnp_weight_cycles"] * 9 * 8 * c.filters
        assert n.busy_cycles == pytest.approx(law, abs=1)
        # it fires the output events of its own band's rows and filters only
        own = acts["conv"][0, band[0]:band[1], :, c.start_neuron:c.start_neuron + c.filters]
        assert n.events_out == int(np.count_nonzero(own))
    # the layer's output events are each fired once; halo events are received twice
    assert sum(n.events_out for n in nps.values()) == int(out_rows.sum())
    assert sum(n.events_in for n in nps.values()) > groups * int(per_row.sum())


def test_cnp_weight_pass_once_per_frame():
    """Without input events an NP still goes over the weights it holds once per frame."""
    model = _model()
    dev = _device()
    P = param_values(dev)
    assert P["cnp_weight_cycles"] > 0
    for sep_nps in (1, 2):
        mapping = _mapping(model, dev, sep_nps=sep_nps)
        x, acts = _acts(model, 0.0)
        acts["hrc"] = np.zeros_like(acts["hrc"])
        acts["sep"] = np.zeros_like(acts["sep"])
        for frames in (1, 3):
            xs = np.repeat(x, frames, axis=0)
            a = {k: np.repeat(v, frames, axis=0) for k, v in acts.items()}
            r = simulate(model, mapping, xs, activations=a)
            for n in (n for n in r.nps if n.layer == "sep"):
                filters = 16 // sep_nps
                assert n.events_in == 0
                assert n.busy_cycles == pytest.approx(
                    frames * P["cnp_weight_cycles"] * (9 * 24 + 24 * filters), abs=1)


def test_weights_held_per_kind():
    assert weights_held("conv", 9, 8, 6) == 9 * 8 * 6
    assert weights_held("sep", 9, 24, 16) == 9 * 24 + 24 * 16  # every channel's depthwise
    assert weights_held("dw", 9, 32, 8) == 9 * 8
    assert weights_held("fc", 1, 100, 10) == 0 and weights_held("hrc", 9, 3, 8) == 0

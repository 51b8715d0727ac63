"""Sparsity profiles (nsoc.hardware.sparsity): parsing, drawing events, effect on timing."""
from __future__ import annotations

import json

import numpy as np
import pytest

import nsoc
import nsoc.zoo
from nsoc.hardware.mapping import map_model
from nsoc.hardware.sparsity import (
    apply_profile,
    events_record,
    input_density,
    output_densities,
    parse_profile,
    profiled_layers,
    redraw_events,
    resolve_profile,
)
from nsoc.testing import random_v2_model
from nsoc.zoo.builder import calibration_inputs


@pytest.fixture(scope="module")
def dscnn():
    model = nsoc.zoo.build("dscnn_kws", target="v1")
    x = calibration_inputs(model.input_shape, 4, 11)
    return model, x, model.forward(x, outputs="all")


@pytest.fixture(scope="module")
def dscnn_v2():
    model = nsoc.zoo.build("dscnn_kws", target="v2")
    x = calibration_inputs(model.input_shape, 3, 12)
    return model, x, model.forward(x, outputs="all")


# ----- parsing --------------------------------------------------------------------------------
def test_parse_number_and_file(tmp_path):
    assert parse_profile("0.7").uniform == 0.7
    assert parse_profile(0).uniform == 0.0 and parse_profile(1).uniform == 1.0
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"separable_2": 0.9, "dense_5": 0}))
    prof = parse_profile(str(path))
    assert prof.layers == {"separable_2": 0.9, "dense_5": 0.0} and prof.uniform is None
    assert prof.to_dict() == {"file": str(path), "layers": {"separable_2": 0.9, "dense_5": 0.0}}


@pytest.mark.parametrize("content,message", [
    ("{not json", "not valid JSON"),
    ("[0.5]", "non-empty JSON object"),
    ("{}", "non-empty JSON object"),
    ('{"a": 1.5}', r"outside \[0, 1\]"),
    ('{"a": "high"}', "not a number"),
    ('{"a": true}', "not a number"),
])
def test_bad_profile_files(tmp_path, content, message):
    path = tmp_path / "p.json"
    path.write_text(content)
    with pytest.raises(nsoc.InputError, match=message):
        parse_profile(str(path))


@pytest.mark.parametrize("text,message", [
    ("1.2", "outside"), ("-0.1", "outside"), ("nan", "outside"), ("nofile.json", "neither")])
def test_bad_profile_text(text, message):
    with pytest.raises(nsoc.InputError, match=message):
        parse_profile(text)


def test_resolve_names_and_refusals(dscnn):
    model = dscnn[0]
    assert profiled_layers(model) == ["separable_1", "separable_2", "separable_3",
                                      "separable_4", "dense_5"]
    assert resolve_profile(model, 0.75) == {n: 0.25 for n in profiled_layers(model)}
    with pytest.raises(nsoc.InputError, match="unknown layer.*conv_9"):
        resolve_profile(model, {"conv_9": 0.5})
    with pytest.raises(nsoc.InputError, match="conv_0, which read"):
        resolve_profile(model, {"conv_0": 0.5})
    assert output_densities(model, {"separable_2": 0.9}) == {"separable_1": pytest.approx(0.1)}


def test_v2_dense_input_and_dequantizer_refused(dscnn_v2):
    model = dscnn_v2[0]
    names = profiled_layers(model)
    assert "conv_0" not in names and "dequantizer" not in names and "input_quantizer" not in names
    assert names[0] == "dw_separable_1" and names[-1] == "dense_5"
    for bad in ("conv_0", "dequantizer"):
        with pytest.raises(nsoc.InputError, match="dense input or run"):
            resolve_profile(model, {bad: 0.5})


def test_shared_inbound_needs_one_value():
    model = random_v2_model([("input_conv", {"filters": 8, "kernel_size": 3}),
                             ("conv", {"filters": 8, "kernel_size": 3}),
                             ("conv", {"filters": 8, "kernel_size": 1}), ("add", {}),
                             ("dense", {"units": 4})], input_shape=(8, 8, 1), seed=2)
    # conv_1 feeds conv_2 and add_3
    with pytest.raises(nsoc.InputError, match="both read the outputs of 'conv_1'"):
        output_densities(model, {"conv_2": 0.5, "add_3": 0.6})
    assert output_densities(model, {"conv_2": 0.5, "add_3": 0.5})["conv_1"] == 0.5


# ----- drawing --------------------------------------------------------------------------------
@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.65, 0.9, 0.99, 1.0])
def test_drawn_density_matches_profile(dscnn, sparsity):
    model, _, acts = dscnn
    profile = {"separable_2": sparsity, "separable_4": sparsity, "dense_5": sparsity}
    drawn = apply_profile(model, acts, profile, seed=5)
    for name in profile:
        inbound = model.get_layer(name).inbounds[0]
        size = drawn[inbound][0].size        # 64 (dense_5) to 8000 values per frame
        assert input_density(model, drawn, name) == pytest.approx(1.0 - sparsity,
                                                                  abs=0.5 / size + 1e-9)
        per_frame = np.count_nonzero(drawn[inbound].reshape(len(drawn[inbound]), -1), axis=1)
        assert np.all(per_frame == round((1.0 - sparsity) * size))


def test_unnamed_layers_unchanged_and_values_valid(dscnn):
    model, _, acts = dscnn
    drawn = apply_profile(model, acts, {"separable_3": 0.2}, seed=1)   # denser than real
    for name, arr in acts.items():
        if name != "separable_2":
            assert drawn[name] is arr
    old, new = acts["separable_2"], drawn["separable_2"]
    assert new.dtype == old.dtype and new.shape == old.shape
    kept = old != 0
    assert np.array_equal(new[kept], old[kept])          # real events kept when adding
    assert set(np.unique(new[new != 0])) <= set(np.unique(old[old != 0]))
    assert 1 <= new[new != 0].min() and new.max() <= 15
    sparser = apply_profile(model, acts, {"separable_3": 0.95}, seed=1)["separable_2"]
    assert np.all((sparser == 0) | (sparser == old))     # a subset of the real events


def test_drawing_is_deterministic(dscnn):
    model, _, acts = dscnn
    a = apply_profile(model, acts, 0.8, seed=3)
    b = apply_profile(model, acts, 0.8, seed=3)
    c = apply_profile(model, acts, 0.8, seed=4)
    assert all(np.array_equal(a[k], b[k]) for k in acts)
    assert not all(np.array_equal(a[k], c[k]) for k in acts)


def test_uniform_values_without_real_events():
    rng = np.random.default_rng(0)
    zeros = np.zeros((2, 4, 4, 8), np.uint8)
    drawn = redraw_events(zeros, 0.5, rng, (1, 15))
    assert np.count_nonzero(drawn) == 128 and drawn.max() <= 15 and drawn.dtype == np.uint8


# ----- the simulation sees the profile --------------------------------------------------------
def test_timing_sees_the_profile_density(dscnn):
    from nsoc.hardware.timing import simulate
    model, x, acts = dscnn
    mapping = map_model(model, "AKD1000", hw_only=True)
    cycles = []
    for sparsity in (0.9, 0.5):
        drawn = apply_profile(model, acts, {"separable_3": sparsity}, seed=0)
        res = simulate(model, mapping, x, activations=drawn)
        lay = {t.name: t for t in res.layers}
        size = int(np.prod(model.get_layer("separable_2").output_dims))
        assert lay["separable_3"].events_in == round((1 - sparsity) * size) * len(x)
        cycles.append(lay["separable_3"].busy_cycles)
    assert cycles[0] < cycles[1]       # fewer input events, less work


def test_events_record(dscnn):
    model, _, acts = dscnn
    assert events_record() == {"source": "activations"}
    drawn = apply_profile(model, acts, 0.7, seed=2)
    rec = events_record(model, 0.7, 2, drawn)
    assert rec["source"] == "profile" and rec["profile"] == {"sparsity": 0.7}
    assert rec["seed"] == 2
    assert rec["measured_input_sparsity"]["separable_3"] == pytest.approx(0.7, abs=1e-3)

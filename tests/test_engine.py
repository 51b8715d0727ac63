"""Functional engine: numba engine == numpy reference engine on whole random models (v1 and v2,
every layer type), chunked streaming, outputs="all", predict, and input validation errors."""
import numpy as np
import pytest

import nsoc
from nsoc import InputError, ModelValidationError
from nsoc.engine import forward, predict
from nsoc.layers import make_layer
from nsoc.testing import random_v1_model, random_v2_model

V2_BLOCKS = {
    "residual": ([("input_conv", dict(filters=8, kernel_size=3, stride=1, padding_value=True)),
                  ("conv", dict(filters=8, kernel_size=3)),
                  ("add", {}),
                  ("dw", dict(kernel_size=3, stride=2)),
                  ("conv", dict(filters=8, kernel_size=1)),
                  ("concat", {}),
                  ("conv", dict(filters=16, kernel_size=3, pool="max")),
                  ("conv", dict(filters=16, kernel_size=1, pool="gap")),
                  ("dense", dict(units=10))], (12, 10, 3)),
    "valid_dense": ([("input_conv", dict(filters=6, kernel_size=5, stride=2, padding="valid",
                                         pool="max", pool_size=3, pool_stride=1)),
                     ("conv", dict(filters=12, kernel_size=3, stride=2, output_bits=8)),
                     ("dense", dict(units=16, weight_bits=8)),
                     ("dense", dict(units=5))], (17, 15, 1)),
}
V1_BLOCKS = {
    "conv": ([("input_conv", dict(filters=8, kernel_size=3, pool="max", padding_value=3)),
              ("conv", dict(filters=12, kernel_size=3, stride=2)),
              ("sep", dict(filters=10, kernel_size=3, act_bits=2)),
              ("dense", dict(units=7))], (13, 11, 1)),
    "gap": ([("input_conv", dict(filters=4, kernel_size=3, stride=2)),
             ("sep", dict(filters=8, kernel_size=3, pool="gap", act_bits=1)),
             ("dense", dict(units=3))], (9, 9, 3)),
}


def _images(model, n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n,) + model.input_shape).astype(np.uint8)
    x[rng.random(x.shape) < 0.3] = 0
    return x


@pytest.fixture(scope="module", params=sorted(V2_BLOCKS))
def v2_model(request):
    blocks, shape = V2_BLOCKS[request.param]
    return random_v2_model(blocks, shape, seed=3)


@pytest.fixture(scope="module", params=sorted(V1_BLOCKS))
def v1_model(request):
    blocks, shape = V1_BLOCKS[request.param]
    return random_v1_model(blocks, shape, seed=5)


def _assert_same(a, b):
    assert set(a) == set(b)
    for name in a:
        assert a[name].dtype == b[name].dtype, name
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_v2_numba_equals_reference(v2_model):
    x = _images(v2_model, 9)
    ours = forward(v2_model, x, outputs="all")
    _assert_same(ours, forward(v2_model, x, outputs="all", engine="reference"))
    assert set(ours) == {lay.name for lay in v2_model.layers}
    # activations are neither all zero nor all saturated: the comparison means something
    for lay in v2_model.layers[1:-2]:
        assert np.count_nonzero(ours[lay.name]) > 0, lay.name
    assert len(np.unique(ours[v2_model.layers[-2].name])) > 5


def test_v1_numba_equals_reference(v1_model):
    x = _images(v1_model, 9)
    ours = forward(v1_model, x, outputs="all")
    _assert_same(ours, forward(v1_model, x, outputs="all", engine="reference"))
    assert len(np.unique(ours[v1_model.layers[-1].name])) > 5


def test_every_layer_type_is_exercised(v2_model):
    types = {lay.TYPE for lay in random_v2_model(*V2_BLOCKS["residual"], seed=3).layers}
    types |= {lay.TYPE for lay in random_v1_model(*V1_BLOCKS["conv"], seed=5).layers}
    types |= {lay.TYPE for lay in random_v2_model([("dense", dict(units=4))], (1, 1, 16),
                                                  input_signed=True).layers}
    assert types == set(nsoc.LAYER_TYPES)


def test_signed_dense_input_model():
    model = random_v2_model([("dense", dict(units=12)), ("dense", dict(units=4))], (1, 1, 32),
                            input_signed=True, seed=1)
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, size=(6, 1, 1, 32)).astype(np.int8)
    _assert_same(forward(model, x, outputs="all"),
                 forward(model, x, outputs="all", engine="reference"))
    # float32 inputs go through the signed Quantizer (scale 1): same result as the int8 batch
    np.testing.assert_array_equal(forward(model, x.astype(np.float32)), forward(model, x))


def test_chunks_stream_identically(v2_model, tmp_path):
    x = _images(v2_model, 11, seed=1)
    whole = forward(v2_model, x, batch_size=11)
    for bs in (1, 4, 0):
        np.testing.assert_array_equal(forward(v2_model, x, batch_size=bs), whole)
    path = tmp_path / "x.npy"
    np.save(path, x)
    mm = np.load(path, mmap_mode="r")
    np.testing.assert_array_equal(forward(v2_model, mm, batch_size=3), whole)


def test_outputs_selection_and_dequantizer(v2_model):
    x = _images(v2_model, 4)
    allout = forward(v2_model, x, outputs="all")
    last, dq = v2_model.layers[-2], v2_model.layers[-1]
    raw = forward(v2_model, x)
    assert raw.dtype == np.int32 and raw.shape == (4,) + last.output_dims
    np.testing.assert_array_equal(allout[last.name], raw)
    expected = raw.astype(np.float32) * dq.variables["scales"]
    assert allout[dq.name].dtype == np.float32
    np.testing.assert_array_equal(allout[dq.name], expected)
    np.testing.assert_array_equal(predict(v2_model, x), expected)
    np.testing.assert_array_equal(v2_model.predict(x), expected)
    some = forward(v2_model, x, outputs=[v2_model.layers[1].name])
    assert list(some) == [v2_model.layers[1].name]
    np.testing.assert_array_equal(some[v2_model.layers[1].name], allout[v2_model.layers[1].name])


def test_v1_predict(v1_model):
    x = _images(v1_model, 5)
    raw = v1_model.forward(x)
    last = v1_model.layers[-1]
    d = (raw.astype(np.int64) - last.variables["threshold"]).astype(np.float32)
    np.testing.assert_array_equal(predict(v1_model, x), d / last.variables["act_step"])


def test_output_dtypes(v2_model):
    allout = forward(v2_model, _images(v2_model, 2), outputs="all")
    for lay in v2_model.layers[:-1]:
        bits, signed = lay.output_bits, lay.output_signed
        want = np.int32 if bits > 8 else (np.int8 if signed else np.uint8)
        assert allout[lay.name].dtype == want, lay.name
        lo = -(1 << (bits - 1)) if signed else 0
        hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
        assert allout[lay.name].min() >= lo and allout[lay.name].max() <= hi, lay.name


def test_empty_batch(v2_model):
    out = forward(v2_model, np.zeros((0,) + v2_model.input_shape, np.uint8))
    assert out.shape == (0,) + v2_model.layers[-2].output_dims


# ----- input validation --------------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist_like():
    return random_v2_model([("input_conv", dict(filters=4, kernel_size=3)),
                            ("dense", dict(units=3))], (28, 28, 1), seed=2)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((28, 28, 1), np.uint8), "input shape must be (N, 28, 28, 1), got (28, 28, 1): "
                                      "add a batch axis"),
    (np.zeros((2, 28, 27, 1), np.uint8), "input shape must be (N, 28, 28, 1), got (2, 28, 27, 1)"),
    (np.zeros((2, 28, 28, 1), np.int16), "input dtype must be float32 or uint8"),
    (np.zeros((2, 28, 28, 1), np.float64), "got float64"),
    (np.zeros((2, 28, 28, 1), np.int8), "got int8"),
    (np.full((2, 28, 28, 1), np.nan, np.float32), "NaN or inf"),
    ([[[[0]]]], "inputs must be a numpy array, got list"),
])
def test_input_errors(mnist_like, bad, message):
    with pytest.raises(InputError) as err:
        forward(mnist_like, bad)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_argument_errors(mnist_like):
    x = np.zeros((1, 28, 28, 1), np.uint8)
    with pytest.raises(InputError, match="batch_size must be an integer >= 0"):
        forward(mnist_like, x, batch_size=-1)
    with pytest.raises(InputError, match="unknown layer"):
        forward(mnist_like, x, outputs=["nope"])
    with pytest.raises(InputError, match="outputs must be None, 'all'"):
        forward(mnist_like, x, outputs="every")
    with pytest.raises(InputError, match="unknown engine"):
        forward(mnist_like, x, engine="tf")


def test_input_conv_first_takes_uint8_only(mnist_like):
    conv, dense = mnist_like.layers[1:3]
    sub = nsoc.Model([make_layer(conv.TYPE, conv.name, conv.params, conv.variables),
                      make_layer(dense.TYPE, dense.name, dense.params, dense.variables,
                                 dense.inbounds)], "v2")
    x = np.zeros((1, 28, 28, 1), np.uint8)
    assert sub.forward(x).shape == (1, 1, 1, 3)
    with pytest.raises(InputError, match="input dtype must be uint8 .*InputConv2D"):
        sub.forward(x.astype(np.float32))


def test_input_data_range():
    layers = [make_layer("InputData", "in", dict(input_bits=4, input_channels=8, input_width=1,
                                                 input_height=1, input_signed=1)),
              make_layer("Dense1D", "d", dict(units=2, activation=0, output_bits=28),
                         {"weights": np.ones((8, 2), np.int8),
                          "input_shift": np.zeros(8, np.uint8), "bias": np.zeros(2, np.int8),
                          "bias_shift": np.zeros(2, np.uint8),
                          "output_scales": np.ones(2, np.uint8),
                          "output_shift": np.zeros(2, np.int8)}, ["in"])]
    model = nsoc.Model(layers, "v2")
    x = np.full((1, 1, 1, 8), 7, np.int8)
    assert model.forward(x).ravel().tolist() == [56, 56]
    x[0, 0, 0, 3] = 8
    with pytest.raises(InputError, match=r"input values must be in \[-8, 7\].*got values in "
                                         r"\[7, 8\]"):
        model.forward(x)
    with pytest.raises(ModelValidationError, match="needs a Dequantizer"):
        model.predict(x)

"""Legacy CNN2SNN quantization API: quantizers, quantized layers, quantize/quantize_layer,
BatchNormalization folding, .h5 round trip, sequentialize/reshape."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nsoc.converter.legacy import (  # noqa: E402
    LEGACY_OBJECTS,
    MaxPerAxisQuantizer,
    MaxQuantizer,
    QuantizedConv2D,
    QuantizedDense,
    QuantizedReLU,
    QuantizedSeparableConv2D,
    StdPerAxisQuantizer,
    StdWeightQuantizer,
    bias_correction,
    load_quantized_model,
    quantize,
    quantize_layer,
    reshape,
    sequentialize,
)
from nsoc.errors import ConversionError, NsocError  # noqa: E402

L = keras.layers


def _randomize_bn(model, rng):
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, n).astype(np.float32),
                               rng.normal(0, 0.2, n).astype(np.float32),
                               rng.normal(0, 0.2, n).astype(np.float32),
                               rng.uniform(0.5, 2.0, n).astype(np.float32)])


@pytest.fixture(scope="module")
def float_model():
    """Conv > BN > MaxPool > ReLU6 > SeparableConv > BN > ReLU6 > Flatten > Dense (functional)."""
    keras.utils.set_random_seed(1)
    inp = keras.Input((12, 12, 1))
    x = L.Rescaling(1 / 255.0)(inp)
    x = L.Conv2D(8, 3, padding="same", name="conv1")(x)
    x = L.BatchNormalization(name="bn1")(x)
    x = L.MaxPooling2D(2, padding="same", name="pool1")(x)
    x = L.ReLU(6.0, name="relu1")(x)
    x = L.SeparableConv2D(8, 3, padding="same", use_bias=False, name="sep2")(x)
    x = L.BatchNormalization(name="bn2")(x)
    x = L.ReLU(6.0, name="relu2")(x)
    x = L.Dropout(0.1, name="drop")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dense(5, name="dense")(x)
    model = keras.Model(inp, x, name="tiny")
    _randomize_bn(model, np.random.default_rng(0))
    return model


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(1).integers(0, 256, (32, 12, 12, 1)).astype(np.float32)


def _np_max_per_axis(w, bits):
    """Numpy reference of a max-based per-axis quantizer: (integers, float32 scale factors)."""
    kmax = np.float32(2 ** (bits - 1) - 1)
    m = np.maximum(np.abs(w).reshape(-1, w.shape[-1]).max(0), np.float32(1e-10))
    sf = np.minimum(kmax / m, np.float32(1000)).astype(np.float32)
    return np.clip(np.round(w * sf), -kmax, kmax), sf


@settings(deadline=None, max_examples=15)
@given(bits=st.integers(2, 8), seed=st.integers(0, 2**31 - 1),
       shape=st.sampled_from([(3, 3, 2, 4), (16, 6), (1, 1, 5, 3)]))
def test_max_per_axis_matches_numpy_reference(bits, seed, shape):
    w = np.random.default_rng(seed).normal(0, 0.3, shape).astype(np.float32)
    qz = MaxPerAxisQuantizer(bitwidth=bits)
    ints, sf = _np_max_per_axis(w, bits)
    np.testing.assert_array_equal(qz.scale_factor(w).numpy(), sf)
    wq = qz.quantize(w).numpy()
    np.testing.assert_array_equal(np.round(wq * sf), ints)
    assert np.abs(wq * sf - ints).max() < 1e-3
    assert np.abs(ints).max() == 2 ** (bits - 1) - 1  # the max of each channel hits kmax


def test_per_tensor_and_std_quantizers():
    w = np.random.default_rng(3).normal(0, 1.0, (3, 3, 4, 6)).astype(np.float32)
    sf = MaxQuantizer(bitwidth=4).scale_factor(w).numpy()
    assert sf.shape == () and np.isclose(sf, 7 / np.abs(w).max())
    sf = StdWeightQuantizer(threshold=2, bitwidth=4).scale_factor(w).numpy()
    assert sf.shape == () and np.isclose(sf, 7 / (2 * w.std()), rtol=1e-5)
    q = StdWeightQuantizer(threshold=2, bitwidth=4).quantize(w).numpy()
    assert np.abs(np.round(q * sf)).max() == 7  # outliers beyond 2 sigma saturate
    sf = StdPerAxisQuantizer(threshold=3, bitwidth=3).scale_factor(w).numpy()
    np.testing.assert_allclose(sf, 3 / (3 * w.reshape(-1, 6).std(0)), rtol=1e-5)


def test_straight_through_gradient():
    w = tf.Variable(np.random.default_rng(4).normal(0, 1, (8, 4)).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(MaxQuantizer(bitwidth=3).quantize(w) * 2.0)
    grad = tape.gradient(loss, w).numpy()
    # d(k/sf)/dw = sf * (1/sf) away from the max (the scale depends on max|w| only)
    assert np.count_nonzero(np.isclose(grad, 2.0)) >= w.shape[0] * w.shape[1] - 1


@pytest.mark.parametrize("bits", [0, 1, 9, 2.5, True])
def test_bad_weight_bitwidth(bits):
    with pytest.raises(NsocError, match="bitwidth"):
        MaxPerAxisQuantizer(bitwidth=bits)


def test_quantized_relu_levels():
    act = QuantizedReLU(bitwidth=2, max_value=6.0)
    x = np.array([-1, 0, 0.99, 1.0, 1.01, 2.9, 3.1, 5.0, 100], np.float32)
    step = np.float32(2.0)
    expected = step * np.clip(np.ceil((x - step / 2) / step), 0, 3)
    np.testing.assert_array_equal(act(x).numpy(), expected)
    assert float(QuantizedReLU(4).step.numpy()) == 1.0  # default max_value 2**bits - 1


def test_quantize_structure_and_bits(float_model):
    qm = quantize(float_model, weight_quantization=4, activ_quantization=2,
                  input_weight_quantization=8)
    kinds = [type(lay).__name__ for lay in qm.layers]
    assert "BatchNormalization" not in kinds and "Dropout" in kinds
    conv1, sep2, dense = (qm.get_layer(n) for n in ("conv1", "sep2", "dense"))
    assert isinstance(conv1, QuantizedConv2D) and conv1.quantizer.bitwidth == 8
    assert isinstance(sep2, QuantizedSeparableConv2D) and sep2.use_bias
    assert isinstance(sep2.quantizer, MaxPerAxisQuantizer) and sep2.quantizer.bitwidth == 4
    assert isinstance(sep2.quantizer_dw, MaxQuantizer) and sep2.quantizer_dw.bitwidth == 4
    assert isinstance(dense, QuantizedDense) and dense.quantizer.bitwidth == 4
    relu = qm.get_layer("relu1")
    assert isinstance(relu, QuantizedReLU) and relu.bitwidth == 2
    assert np.isclose(float(relu.step.numpy()), 2.0)
    # the float model is untouched
    assert isinstance(float_model.get_layer("conv1"), L.Conv2D) and \
        not isinstance(float_model.get_layer("conv1"), QuantizedConv2D)


def test_bn_folding_is_exact_in_float(float_model, images):
    folded = quantize(float_model, 0, 0)  # 0 bits: float layers, BN folded
    assert not any(isinstance(lay, L.BatchNormalization) for lay in folded.layers)
    np.testing.assert_allclose(folded.predict(images, verbose=0),
                               float_model.predict(images, verbose=0), rtol=1e-4, atol=1e-4)
    kept = quantize(float_model, 4, 4, fold_BN=False)
    assert sum(isinstance(lay, L.BatchNormalization) for lay in kept.layers) == 2


def test_quantized_forward_matches_numpy_weights(float_model, images):
    qm = quantize(float_model, 4, 4, 8)
    conv = qm.get_layer("conv1")
    kernel = conv.get_weights()[0]
    ints, sf = _np_max_per_axis(kernel, 8)
    sub = keras.Model(qm.inputs, conv.output)
    x = images / 255.0
    expected = tf.nn.conv2d(x, (ints / sf).astype(np.float32), 1, "SAME") + conv.get_weights()[1]
    np.testing.assert_allclose(sub.predict(images, verbose=0), expected.numpy(), atol=1e-5)


def test_requantize_and_quantize_layer(float_model):
    qm = quantize(float_model, 4, 4, 8)
    q2 = quantize(qm, 2, 2)
    assert q2.get_layer("conv1").quantizer.bitwidth == 2
    assert q2.get_layer("relu2").bitwidth == 2
    one = quantize_layer(float_model, "dense", 3)
    assert isinstance(one.get_layer("dense"), QuantizedDense)
    assert not isinstance(one.get_layer("conv1"), QuantizedConv2D)
    assert one.get_layer("dense").quantizer.bitwidth == 3
    again = quantize_layer(one, "dense", 6)
    assert again.get_layer("dense").quantizer.bitwidth == 6
    relu = quantize_layer(qm, "relu1", 1)
    assert relu.get_layer("relu1").bitwidth == 1
    with pytest.raises(ConversionError, match="no layer"):
        quantize_layer(qm, "nope", 4)
    with pytest.raises(ConversionError, match="cannot return to float"):
        quantize(qm, 0, 4)
    with pytest.raises(ConversionError, match="activ_quantization"):
        quantize(float_model, 4, 9)


def test_quantizer_function(float_model):
    def pick(layer, default):
        return StdPerAxisQuantizer(threshold=2, bitwidth=default.bitwidth)
    qm = quantize(float_model, 4, 4, quantizer_function=pick)
    assert isinstance(qm.get_layer("conv1").quantizer, StdPerAxisQuantizer)
    assert isinstance(qm.get_layer("sep2").quantizer_dw, StdPerAxisQuantizer)


def test_h5_round_trip(float_model, images, tmp_path):
    qm = quantize(float_model, 4, 4, 8, quantizer_function=lambda layer, d: d)
    path = tmp_path / "q.h5"
    qm.save(path, include_optimizer=False)
    back = load_quantized_model(path, compile_model=False)
    np.testing.assert_array_equal(back.predict(images, verbose=0), qm.predict(images, verbose=0))
    assert back.get_layer("sep2").quantizer_dw.get_config() == \
        qm.get_layer("sep2").quantizer_dw.get_config()
    # not registered globally (cnn2snn's loader in the same process keeps its own classes):
    # plain Keras needs the scope
    assert "QuantizedConv2D" not in keras.utils.get_custom_objects()
    with keras.utils.custom_object_scope(LEGACY_OBJECTS):
        plain = keras.models.load_model(path, compile=False)
    assert isinstance(plain.get_layer("conv1"), QuantizedConv2D)
    with pytest.raises(ConversionError, match="not found"):
        load_quantized_model(tmp_path / "missing.h5")


def test_sequentialize_and_reshape(float_model):
    seq = sequentialize(float_model)
    assert isinstance(seq, keras.Sequential)
    assert [lay.name for lay in seq.layers] == [lay.name for lay in float_model.layers[1:]]
    conv_only = keras.Sequential([keras.Input((8, 8, 3)), L.Conv2D(4, 3, name="c"),
                                  L.ReLU(), L.GlobalAveragePooling2D(), L.Dense(2)])
    big = reshape(conv_only, 20, 30)
    assert big.input_shape == (None, 20, 30, 3)
    np.testing.assert_array_equal(big.get_layer("c").get_weights()[0],
                                  conv_only.get_layer("c").get_weights()[0])
    with pytest.raises(ConversionError, match="reshape"):
        reshape(float_model, 20, 20)  # Flatten > Dense depends on the input size
    inp = keras.Input((4,))
    a, b = L.Dense(3)(inp), L.Dense(3)(inp)
    with pytest.raises(ConversionError, match="serial"):
        sequentialize(keras.Model(inp, L.Add()([a, b])))


def test_calibration_reduces_quantization_error(float_model, images):
    from nsoc.converter.legacy import adaround
    qm = quantize(float_model, 2, 0, 2)  # float activations: the error is the weights'
    ref = float_model.predict(images, verbose=0)

    def mse(model):
        return float(np.mean((model.predict(images, verbose=0) - ref) ** 2))
    assert mse(bias_correction(qm, images, batch_size=16, verbose=False)) < mse(qm)
    assert mse(adaround(qm, images, epochs=10, batch_size=8, verbose=False)) < mse(qm)
    with pytest.raises(ConversionError, match="quantize it first"):
        bias_correction(float_model, images)
    with pytest.raises(NsocError, match="shape"):
        bias_correction(qm, images[:, :8])

"""Conversion of legacy CNN2SNN-quantized Keras models to nsoc Akida 1.0 models.

The converted model runs on nsoc's engine and is compared with the quantized Keras model: the
integer activations of every layer equal Keras's quantization levels (but for inputs within one
integer potential of a level boundary, as with BrainChip's converter, whose formulas nsoc uses)
and the outputs agree within one potential unit of the last layer and on the top-1 class.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tf_keras as keras  # noqa: E402

import nsoc  # noqa: E402
from nsoc.converter.legacy import convert_legacy, is_legacy_model, quantize, quantize_layer  # noqa: E402
from nsoc.errors import ConversionError  # noqa: E402

L = keras.layers


def _randomize_bn(model, rng):
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, n).astype(np.float32),
                               rng.normal(0, 0.2, n).astype(np.float32),
                               rng.normal(0, 0.2, n).astype(np.float32),
                               rng.uniform(0.5, 2.0, n).astype(np.float32)])


def _conv_model():
    keras.utils.set_random_seed(2)
    inp = keras.Input((16, 16, 1))
    x = L.Rescaling(1 / 255.0, name="rescale")(inp)
    x = L.Conv2D(8, 3, padding="same", name="conv1")(x)
    x = L.BatchNormalization(name="bn1")(x)
    x = L.ReLU(6.0, name="relu1")(x)
    x = L.MaxPooling2D(2, padding="same", name="pool1")(x)  # moved before the ReLU
    x = L.Conv2D(16, 3, strides=2, padding="same", name="conv2")(x)
    x = L.ReLU(6.0, name="relu2")(x)
    x = L.Flatten()(x)
    x = L.Dense(5, name="dense")(x)
    model = keras.Model(inp, x, name="convnet")
    _randomize_bn(model, np.random.default_rng(0))
    return model


def _separable_model():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((12, 12, 3)),
        L.Conv2D(8, 3, strides=2, padding="same", name="conv1"), L.ReLU(6.0, name="relu1"),
        L.SeparableConv2D(16, 3, padding="same", name="sep2"),
        L.GlobalAveragePooling2D(name="gap"), L.ReLU(1.0, name="relu2"),
        L.Dense(4, name="dense")], name="sepnet")
    return model


def _mlp():
    keras.utils.set_random_seed(4)
    return keras.Sequential([keras.Input((16,)), L.Dense(12, name="fc1"), L.ReLU(name="relu1"),
                             L.Dense(3, name="fc2")], name="mlp")


def _levels(qmodel, layer_name, act_name, x):
    """Keras integer activation levels at ``layer_name`` (quantized by ``act_name``)."""
    step = float(qmodel.get_layer(act_name).step.numpy())
    sub = keras.Model(qmodel.inputs, qmodel.get_layer(layer_name).output)
    return np.round(sub.predict(x, verbose=0) / step).astype(np.int64)


def _check_outputs(model, qmodel, x_akida, x_keras, pairs):
    """``pairs``: (Keras layer, its quantized activation, nsoc layer) with equal outputs."""
    outs = model.forward(x_akida, outputs="all")
    clean = np.ones(len(x_keras), bool)  # samples whose hidden activations all match
    for keras_name, act_name, akida_name in pairs:
        ref = _levels(qmodel, keras_name, act_name, x_keras)
        got = np.asarray(outs[akida_name]).reshape(ref.shape)
        assert np.abs(got - ref).max() <= 1, akida_name
        # cnn2snn floors the threshold to an integer potential: inputs within one potential
        # unit of a Keras level boundary may land one level lower
        assert np.mean(got == ref) >= 0.95, akida_name
        clean &= (got == ref).reshape(len(ref), -1).all(axis=1)
    assert clean.sum() >= len(clean) // 4
    kout = qmodel.predict(x_keras, verbose=0).reshape(len(x_keras), -1)
    assert len(np.unique(kout.argmax(1))) >= 2  # a live network, not a constant
    pred = model.predict(x_akida).reshape(len(x_keras), -1)
    # same hidden activations: the outputs differ by the floored threshold only, i.e. less than
    # one potential unit of the last layer (1 / act_step in Keras units)
    unit = 1.0 / model.layers[-1].variables["act_step"]
    assert np.all(np.abs(pred - kout)[clean] <= unit * 1.0001 + 1e-6)
    diff = np.abs(pred - kout).max()
    top2 = np.sort(kout, axis=1)[:, -2:]
    decisive = (top2[:, 1] - top2[:, 0]) > 2 * diff
    assert decisive.sum() >= len(kout) // 4
    np.testing.assert_array_equal(pred[decisive].argmax(1), kout[decisive].argmax(1))


@pytest.fixture(scope="module")
def images16():
    return np.random.default_rng(5).integers(0, 256, (24, 16, 16, 1)).astype(np.uint8)


@pytest.fixture(scope="module")
def conv_quantized():
    return quantize(_conv_model(), 4, 4, 8)


def test_detects_legacy_models(conv_quantized):
    assert is_legacy_model(conv_quantized)
    assert not is_legacy_model(_conv_model())
    assert is_legacy_model(quantize_layer(_mlp(), "fc1", 4))


def test_conv_model_layers_and_variables(conv_quantized):
    model = convert_legacy(conv_quantized)
    assert isinstance(model, nsoc.Model) and model.ip_version == "v1"
    assert [(lay.name, lay.TYPE) for lay in model.layers] == [
        ("conv1", "InputConvolutional"), ("conv2", "Convolutional"), ("dense", "FullyConnected")]
    conv1, conv2, dense = model.layers
    assert conv1.params["pool_type"] == nsoc.layers.POOL_MAX
    assert conv1.params["weights_bits"] == 8 and conv1.params["act_bits"] == 4
    assert conv2.params["stride_x"] == 2 and dense.params["activation"] == 0
    assert dense.input_dims == (4, 4, 16) and model.output_shape == (1, 1, 5)
    # Convolutional weights are the quantized Keras kernel flipped; InputConvolutional not
    k = conv_quantized.get_layer("conv2")
    kernel = k.get_weights()[0]
    sf = k.quantizer.scale_factor(kernel).numpy()
    ints = np.round(k.quantizer.quantize(kernel).numpy() * sf).astype(np.int8)
    np.testing.assert_array_equal(conv2.variables["weights"], ints[::-1, ::-1])
    assert np.abs(conv2.variables["weights"]).max() == 7


def test_conv_model_outputs_match_keras(conv_quantized, images16):
    model = convert_legacy(conv_quantized)
    _check_outputs(model, conv_quantized, images16, images16.astype(np.float32),
                   [("pool1", "relu1", "conv1"), ("relu2", "relu2", "conv2")])


def test_fbz_round_trip_keeps_outputs(conv_quantized, images16, tmp_path):
    model = convert_legacy(conv_quantized)
    model.save(tmp_path / "m.fbz")
    back = nsoc.load(tmp_path / "m.fbz")
    np.testing.assert_array_equal(back.forward(images16), model.forward(images16))


def test_separable_gap_with_input_scaling():
    qm = quantize(_separable_model(), 4, 4, 8)
    model = convert_legacy(qm, input_scaling=(128, 128))
    assert [lay.TYPE for lay in model.layers] == [
        "InputConvolutional", "SeparableConvolutional", "FullyConnected"]
    assert model.layers[0].params["padding_value"] == 128
    assert model.layers[1].params["pool_type"] == nsoc.layers.POOL_AVG
    x = np.random.default_rng(6).integers(0, 256, (24, 12, 12, 3)).astype(np.uint8)
    _check_outputs(model, qm, x, (x.astype(np.float32) - 128) / 128,
                   [("relu1", "relu1", "conv1"), ("relu2", "relu2", "sep2")])


def test_mlp_gets_input_data():
    qm = quantize(_mlp(), 4, 4)
    model = convert_legacy(qm)
    assert [lay.TYPE for lay in model.layers] == ["InputData", "FullyConnected",
                                                 "FullyConnected"]
    assert model.input_shape == (1, 1, 16)
    x = np.random.default_rng(7).integers(0, 16, (32, 1, 1, 16)).astype(np.uint8)
    _check_outputs(model, qm, x, x.reshape(32, 16).astype(np.float32), [("relu1", "relu1", "fc1")])


def test_conversion_errors(conv_quantized):
    with pytest.raises(ConversionError, match="quantize it first"):
        convert_legacy(_conv_model())
    with pytest.raises(ConversionError, match="'conv1' .* not quantized"):
        convert_legacy(quantize_layer(_conv_model(), "dense", 4))
    with pytest.raises(ConversionError, match="Rescaling"):
        convert_legacy(conv_quantized, input_scaling=(255, 0))
    with pytest.raises(ConversionError, match="1, 2 or 4"):
        convert_legacy(quantize(_conv_model(), 4, 3, 8))
    with pytest.raises(ConversionError, match="scale must be > 0"):
        convert_legacy(quantize(_separable_model(), 4, 4), input_scaling=(-1, 0))
    with pytest.raises(ConversionError, match="tf_keras model"):
        convert_legacy("model.h5")

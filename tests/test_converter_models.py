"""Converter end to end: small tf_keras models with random weights, quantized with quantizeml in
the test, converted to nsoc, and run.

Akida 2.0 outputs must equal the quantized Keras model's predictions bit for bit.  Test inputs are
the calibration samples, so no pooled value exceeds the calibrated signed range (quantizeml clips
global-average-pooled values as signed, Akida as unsigned: they agree on such inputs).  Models
ending in Flatten > Dense use per-tensor activations: with per-axis ones quantizeml may shift and
saturate inside the Flatten, which Akida does not do (the converter warns about it).  Akida 1.0
conversions are run on nsoc's numpy reference engine and compared with the numba engine and,
approximately (argmax, small step error), with Keras.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from quantizeml.models import QuantizationParams, quantize  # noqa: E402

from nsoc.converter import AkidaVersion, convert, set_akida_version  # noqa: E402

L = keras.layers
N = 6  # samples (calibration = test inputs)


def _randomize(model, seed):
    """Non-trivial random weights (BatchNormalization statistics included)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        new = []
        for w, var in zip(weights, layer.weights, strict=False):
            name = var.name
            if "moving_variance" in name or "gamma" in name:
                new.append(rng.uniform(0.5, 1.5, w.shape).astype(np.float32))
            elif "moving_mean" in name or "beta" in name or "bias" in name:
                new.append(rng.normal(0, 0.1, w.shape).astype(np.float32))
            else:
                fan_in = int(np.prod(w.shape[:-1])) or 1
                new.append(rng.normal(0, 1.5 / np.sqrt(fan_in), w.shape).astype(np.float32))
        layer.set_weights(new)
    return model


def _samples(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if dtype == "int8":
        return rng.integers(-128, 128, (N,) + shape).astype(np.int8)
    return rng.integers(0, 256, (N,) + shape).astype(np.uint8)


def _quantize(model, x, wbits, abits, per_tensor=False, input_dtype="uint8"):
    qp = QuantizationParams(input_weight_bits=8, weight_bits=wbits, activation_bits=abits,
                            per_tensor_activations=per_tensor, input_dtype=input_dtype)
    return quantize(model, qparams=qp, samples=x.astype(np.float32), num_samples=N, batch_size=N)


# ----- architectures (float models) ----------------------------------------------------------
def m_conv_relu():
    i = keras.Input((12, 12, 1))
    x = L.Rescaling(1 / 255.0)(i)
    x = L.Conv2D(4, 3, padding="same", name="conv1")(x)
    x = L.ReLU(6.0, name="relu1")(x)
    x = L.Conv2D(8, 3, strides=2, padding="same", name="conv2")(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU(6.0, name="relu2")(x)
    x = L.Flatten()(x)
    x = L.Dense(5, name="dense")(x)
    return keras.Model(i, x)


def m_conv_maxpool():
    i = keras.Input((12, 12, 3))
    x = L.Rescaling(1 / 255.0)(i)
    x = L.Conv2D(8, 3, padding="same", name="conv1")(x)
    x = L.BatchNormalization()(x)
    x = L.MaxPool2D(2, padding="same", name="pool1")(x)
    x = L.ReLU(name="relu1")(x)
    x = L.Conv2D(8, 3, padding="same", name="conv2")(x)
    x = L.MaxPool2D(2, padding="same", name="pool2")(x)
    x = L.ReLU(6.0, name="relu2")(x)
    x = L.Flatten()(x)
    x = L.Dense(4, name="dense")(x)
    return keras.Model(i, x)


def m_conv_gap():
    i = keras.Input((10, 10, 1))
    x = L.Rescaling(1 / 255.0)(i)
    x = L.Conv2D(8, 3, strides=2, padding="same", name="conv1")(x)
    x = L.ReLU(name="relu1")(x)
    x = L.Conv2D(16, 3, padding="same", name="conv2")(x)
    x = L.ReLU(name="relu2")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    x = L.Dense(6, name="dense")(x)
    return keras.Model(i, x)


def m_depthwise():
    i = keras.Input((12, 8, 1))
    x = L.Rescaling(1 / 255.0)(i)
    x = L.Conv2D(8, 3, strides=2, padding="same", name="conv0")(x)
    x = L.ReLU(name="relu0")(x)
    x = L.DepthwiseConv2D(3, padding="same", name="dw1")(x)
    x = L.ReLU(name="relu_dw1")(x)
    x = L.Conv2D(16, 1, name="pw1")(x)
    x = L.ReLU(name="relu_pw1")(x)
    x = L.DepthwiseConv2D(3, strides=2, padding="same", use_bias=False, name="dw2")(x)
    x = L.Conv2D(16, 1, name="pw2")(x)
    x = L.ReLU(name="relu_pw2")(x)
    x = L.Flatten()(x)
    x = L.Dense(4, name="dense")(x)
    return keras.Model(i, x)


def m_dense_reshape():
    i = keras.Input((8, 8, 1))
    x = L.Rescaling(1 / 255.0)(i)
    x = L.Conv2D(4, 3, strides=2, padding="same", name="conv1")(x)
    x = L.ReLU(name="relu1")(x)
    x = L.Reshape((64,), name="reshape")(x)
    x = L.Dense(16, name="dense1")(x)
    x = L.ReLU(name="relu_d1")(x)
    x = L.Dense(4, name="dense2")(x)
    return keras.Model(i, x)


def m_residual():
    i = keras.Input((12, 12, 3))
    x = L.Rescaling(1 / 255.0)(i)
    x = L.Conv2D(8, 3, strides=2, padding="same", name="conv0")(x)
    s = L.ReLU(name="relu0")(x)
    y = L.Conv2D(8, 3, padding="same", name="conv1")(s)
    y = L.ReLU(name="relu1")(y)
    y = L.Conv2D(8, 3, padding="same", name="conv2")(y)
    y = L.ReLU(name="relu2")(y)
    x = L.Add(name="add")([s, y])
    x = L.Conv2D(8, 3, strides=2, padding="same", name="conv3")(x)
    x = L.ReLU(name="relu3")(x)
    x = L.Flatten()(x)
    x = L.Dense(4, name="dense")(x)
    return keras.Model(i, x)


def m_concat():
    i = keras.Input((8, 8, 1))
    x = L.Rescaling(1 / 255.0)(i)
    x = L.Conv2D(8, 3, padding="same", name="conv0")(x)
    x = L.ReLU(name="relu0")(x)
    a = L.Conv2D(4, 3, padding="same", name="conva")(x)
    a = L.ReLU(name="relua")(a)
    b = L.Conv2D(6, 1, name="convb")(x)
    b = L.ReLU(name="relub")(b)
    x = L.Concatenate(name="cat")([a, b])
    x = L.Conv2D(8, 3, strides=2, padding="same", name="conv3")(x)
    x = L.ReLU(name="relu3")(x)
    x = L.Flatten()(x)
    x = L.Dense(4, name="dense")(x)
    return keras.Model(i, x)


def m_mlp_int8():
    i = keras.Input((16,))
    x = L.Rescaling(1 / 128.0)(i)
    x = L.Dense(16, name="dense1")(x)
    x = L.ReLU(name="relu1")(x)
    x = L.Dense(8, name="dense2")(x)
    x = L.ReLU(6.0, name="relu2")(x)
    x = L.Dense(3, name="dense3")(x)
    return keras.Model(i, x)


def m_offset():
    i = keras.Input((10, 10, 3))
    x = L.Rescaling(1 / 127.5, offset=-1.0)(i)
    x = L.Conv2D(8, 3, padding="same", name="conv1")(x)
    x = L.ReLU(name="relu1")(x)
    x = L.Conv2D(8, 3, strides=2, padding="same", name="conv2")(x)
    x = L.ReLU(name="relu2")(x)
    x = L.Flatten()(x)
    x = L.Dense(4, name="dense")(x)
    return keras.Model(i, x)


# name -> (builder, input shape, input dtype, weight bits, activation bits, per-tensor)
V2_CASES = {
    "conv_relu_w4a4": (m_conv_relu, (12, 12, 1), "uint8", 4, 4, True),
    "conv_relu_w8a8": (m_conv_relu, (12, 12, 1), "uint8", 8, 8, False),
    "conv_maxpool_w8a8": (m_conv_maxpool, (12, 12, 3), "uint8", 8, 8, True),
    "conv_maxpool_w4a4_axis": (m_conv_maxpool, (12, 12, 3), "uint8", 4, 4, False),
    "conv_gap_w4a4": (m_conv_gap, (10, 10, 1), "uint8", 4, 4, False),
    "depthwise_w4a4": (m_depthwise, (12, 8, 1), "uint8", 4, 4, False),
    "depthwise_w8a8": (m_depthwise, (12, 8, 1), "uint8", 8, 8, True),
    "dense_reshape_w4a4": (m_dense_reshape, (8, 8, 1), "uint8", 4, 4, True),
    "residual_w4a4": (m_residual, (12, 12, 3), "uint8", 4, 4, True),
    "residual_w8a8": (m_residual, (12, 12, 3), "uint8", 8, 8, True),
    "concat_w4a4": (m_concat, (8, 8, 1), "uint8", 4, 4, False),
    "mlp_int8_w8a4": (m_mlp_int8, (16,), "int8", 8, 4, False),
    "offset_padding_w8a8": (m_offset, (10, 10, 3), "uint8", 8, 8, True),
}


@pytest.fixture(scope="module", params=sorted(V2_CASES))
def v2_case(request):
    name = request.param
    builder, shape, dtype, wbits, abits, per_tensor = V2_CASES[name]
    seed = sorted(V2_CASES).index(name)
    tf.keras.utils.set_random_seed(seed)
    fmodel = _randomize(builder(), seed)
    x = _samples(shape, dtype, seed)
    qmodel = _quantize(fmodel, x, wbits, abits, per_tensor, dtype)
    with set_akida_version(AkidaVersion.v2):
        model = convert(qmodel)
    return name, qmodel, model, x


def test_v2_outputs_equal_quantized_keras(v2_case):
    name, qmodel, model, x = v2_case
    ref = qmodel.predict(x.astype(np.float32), verbose=0)
    feed = x if x.ndim == 4 else x.reshape(len(x), 1, 1, -1)
    out = model.predict(feed)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.reshape(ref.shape), ref, err_msg=name)
    assert np.ptp(ref) > 0, f"{name}: degenerate outputs"


def test_v2_structure(v2_case):
    name, qmodel, model, _ = v2_case
    types = [lay.TYPE for lay in model.layers]
    assert model.ip_version == "v2"
    assert types[0] == "Quantizer" and types[-1] == "Dequantizer"
    names = {lay.name for lay in model.layers}
    for lay in model.layers[1:-1]:
        if lay.TYPE != "InputData":
            assert lay.name in {k.name for k in qmodel.layers}, lay.name
    if name.startswith("mlp_int8"):
        assert types[1] == "InputData" and model.layers[1].params["input_signed"] == 1
    else:
        assert types[1] == "InputConv2D"
    if name.startswith("residual"):
        assert "relu0_identity_conv" in names and "add" in names
        add = model.get_layer("add")
        assert len(add.inbounds) == 2
    if name.startswith("concat"):
        assert model.get_layer("cat").output_dims[2] == 10
    if name.startswith("offset"):
        assert np.any(model.layers[1].variables["padding_value"] != 0)
    if name.startswith("conv_gap"):
        assert model.get_layer("conv2").params["pool_type"] == 2
    if name.startswith("conv_maxpool"):
        assert model.get_layer("conv2").params["pool_type"] == 1
    if "dw1" in names:
        assert model.get_layer("dw1").TYPE == "DepthwiseConv2D"
    wbits = V2_CASES[name][3]
    for lay in model.layers:
        if lay.TYPE in ("Conv2D", "DepthwiseConv2D") and not lay.name.endswith("identity_conv"):
            assert lay.params["weights_bits"] == wbits


# ----- Akida 1.0 ---------------------------------------------------------------------------
def m_v1_sep():
    i = keras.Input((12, 12, 1))
    x = L.Rescaling(1 / 255.0)(i)
    x = L.Conv2D(8, 3, strides=2, padding="same", name="conv0")(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU(6.0, name="relu0")(x)
    x = L.SeparableConv2D(8, 3, padding="same", use_bias=False, name="sep1")(x)
    x = L.MaxPool2D(2, padding="same", name="pool1")(x)
    x = L.ReLU(6.0, name="relu1")(x)
    x = L.Conv2D(8, 3, padding="same", name="conv2")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    x = L.ReLU(6.0, name="relu2")(x)
    x = L.Dense(5, name="dense")(x)
    return keras.Model(i, x)


V1_CASES = {"conv_relu": (m_conv_relu, (12, 12, 1)), "sep_gap": (m_v1_sep, (12, 12, 1))}


@pytest.fixture(scope="module", params=sorted(V1_CASES))
def v1_case(request):
    builder, shape = V1_CASES[request.param]
    tf.keras.utils.set_random_seed(7)
    fmodel = _randomize(builder(), 7)
    x = _samples(shape, "uint8", 7)
    qmodel = _quantize(fmodel, x, 4, 4, per_tensor=True)
    with set_akida_version(AkidaVersion.v1):
        model = convert(qmodel)
    return request.param, qmodel, model, x


def test_v1_conversion_runs_on_reference_engine(v1_case):
    from nsoc.engine import forward, predict
    name, qmodel, model, x = v1_case
    assert model.ip_version == "v1"
    assert [lay.TYPE for lay in model.layers][:2] == ["Quantizer", "InputConvolutional"]
    if name == "sep_gap":
        assert model.get_layer("sep1").TYPE == "SeparableConvolutional"
    ref = forward(model, x, engine="reference")
    np.testing.assert_array_equal(forward(model, x), ref)
    out = predict(model, x, engine="reference").reshape(len(x), -1)
    keras_out = qmodel.predict(x.astype(np.float32), verbose=0).reshape(len(x), -1)
    assert np.array_equal(out.argmax(-1), keras_out.argmax(-1))
    step = np.abs(keras_out).max() / 8
    assert np.abs(out - keras_out).max() <= step

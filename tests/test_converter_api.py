"""Converter API: version selection, registry, error messages, .h5 input and the CLI."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from quantizeml.models import QuantizationParams, quantize  # noqa: E402

import nsoc  # noqa: E402
from nsoc.cli import main  # noqa: E402
from nsoc.converter import (  # noqa: E402
    AkidaVersion,
    check_model_compatibility,
    convert,
    get_akida_version,
    registry,  # noqa: E402
    set_akida_version,
    supported_layers,
)
from nsoc.errors import ConversionError  # noqa: E402

L = keras.layers


def _float_model(bounded=True):
    i = keras.Input((8, 8, 1), name="input")
    x = L.Rescaling(1 / 255.0)(i)
    x = L.Conv2D(4, 3, padding="same", name="conv1")(x)
    x = L.ReLU(6.0 if bounded else None, name="relu1")(x)
    x = L.Conv2D(4, 3, strides=2, padding="same", name="conv2")(x)
    x = L.ReLU(6.0 if bounded else None, name="relu2")(x)
    x = L.Flatten()(x)
    x = L.Dense(3, name="dense")(x)
    return keras.Model(i, x, name="small")


def _quantized(model, seed=0):
    tf.keras.utils.set_random_seed(seed)
    x = np.random.default_rng(seed).integers(0, 256, (4, 8, 8, 1)).astype(np.float32)
    qp = QuantizationParams(input_weight_bits=8, weight_bits=4, activation_bits=4,
                            per_tensor_activations=True)
    return quantize(model, qparams=qp, samples=x, num_samples=4, batch_size=4)


@pytest.fixture(scope="module")
def qmodel():
    tf.keras.utils.set_random_seed(1)
    return _quantized(_float_model())


@pytest.fixture(scope="module")
def q_unbounded():
    tf.keras.utils.set_random_seed(2)
    return _quantized(_float_model(bounded=False))


@pytest.fixture(scope="module")
def h5_path(tmp_path_factory, qmodel):
    import quantizeml
    path = str(tmp_path_factory.mktemp("conv") / "small.h5")
    quantizeml.save_model(qmodel, path)
    return path


# ----- versions ----------------------------------------------------------------------------
def test_default_version_is_v2(monkeypatch):
    monkeypatch.delenv("NSOC_TARGET_AKIDA_VERSION", raising=False)
    monkeypatch.delenv("CNN2SNN_TARGET_AKIDA_VERSION", raising=False)
    assert get_akida_version() == AkidaVersion.v2


def test_env_vars_and_precedence(monkeypatch):
    monkeypatch.delenv("NSOC_TARGET_AKIDA_VERSION", raising=False)
    monkeypatch.setenv("CNN2SNN_TARGET_AKIDA_VERSION", "v1")
    assert get_akida_version() == AkidaVersion.v1
    monkeypatch.setenv("NSOC_TARGET_AKIDA_VERSION", "v2")
    assert get_akida_version() == AkidaVersion.v2
    monkeypatch.setenv("NSOC_TARGET_AKIDA_VERSION", "v3")
    with pytest.raises(ConversionError, match="NSOC_TARGET_AKIDA_VERSION"):
        get_akida_version()


def test_context_manager_restores(monkeypatch):
    monkeypatch.delenv("NSOC_TARGET_AKIDA_VERSION", raising=False)
    monkeypatch.delenv("CNN2SNN_TARGET_AKIDA_VERSION", raising=False)
    with set_akida_version(AkidaVersion.v1):
        assert get_akida_version() == AkidaVersion.v1
        with set_akida_version("v2"):
            assert get_akida_version() == AkidaVersion.v2
        assert get_akida_version() == AkidaVersion.v1
    assert get_akida_version() == AkidaVersion.v2
    assert "NSOC_TARGET_AKIDA_VERSION" not in os.environ
    with pytest.raises(ConversionError, match="unknown Akida version"):
        with set_akida_version("v7"):
            pass


def test_same_model_both_versions(qmodel):
    with set_akida_version(AkidaVersion.v1):
        m1 = convert(qmodel)
    m2 = convert(qmodel)
    assert m1.ip_version == "v1" and m2.ip_version == "v2"
    assert [lay.TYPE for lay in m1.layers] == ["Quantizer", "InputConvolutional", "Convolutional",
                                              "FullyConnected"]
    assert [lay.TYPE for lay in m2.layers] == ["Quantizer", "InputConv2D", "Conv2D", "Dense1D",
                                              "Dequantizer"]
    assert [lay.name for lay in m2.layers[1:4]] == ["conv1", "conv2", "dense"]


# ----- registry ----------------------------------------------------------------------------
def test_registry_lists_and_rejects_duplicates():
    names = supported_layers()
    for k in ("InputQuantizer", "QuantizedConv2D", "QuantizedDepthwiseConv2D", "QuantizedDense",
              "QuantizedSeparableConv2D", "QuantizedAdd", "QuantizedConcatenate", "Dequantizer",
              "QuantizedReLU", "QuantizedMaxPool2D", "QuantizedGlobalAveragePooling2D"):
        assert k in names
    handler = registry.get_handler("QuantizedConv2D")
    with pytest.raises(ConversionError, match="already registered"):
        registry.register(handler)

    class Extra(registry.BlockHandler):
        MAIN = "QuantizedFancy"

    registry.register(Extra)
    try:
        assert "QuantizedFancy" in supported_layers()
        with pytest.raises(ConversionError, match="already registered"):
            registry.register(Extra)
    finally:
        registry.unregister("QuantizedFancy")
    assert "QuantizedFancy" not in supported_layers()


# ----- errors ------------------------------------------------------------------------------
def test_v1_rejects_unbounded_relu(q_unbounded):
    with set_akida_version(AkidaVersion.v1):
        with pytest.raises(ConversionError, match="relu1.*unbounded ReLU"):
            convert(q_unbounded)
    assert convert(q_unbounded).ip_version == "v2"  # fine on Akida 2.0


def test_v1_rejects_8bit_weights_and_per_axis():
    model = _float_model()
    tf.keras.utils.set_random_seed(3)
    x = np.random.default_rng(3).integers(0, 256, (4, 8, 8, 1)).astype(np.float32)
    q8 = quantize(model, qparams=QuantizationParams(per_tensor_activations=True, activation_bits=4),
                  samples=x, num_samples=4, batch_size=4)
    with set_akida_version("v1"), pytest.raises(ConversionError, match="conv2.*8-bit weights"):
        convert(q8)
    qa = quantize(model, qparams=QuantizationParams(weight_bits=4, activation_bits=4),
                  samples=x, num_samples=4, batch_size=4)
    with set_akida_version("v1"), pytest.raises(ConversionError, match="per-tensor"):
        convert(qa)


def test_unquantized_and_not_a_model():
    with pytest.raises(ConversionError, match="no quantized layer"):
        convert(_float_model())
    with pytest.raises(ConversionError, match="expected a tf_keras model"):
        convert(42)
    with pytest.raises(ConversionError, match="not found"):
        convert("/nonexistent/model.h5")


def test_not_yet_supported_layer():
    i = keras.Input((8, 8, 1))
    x = L.Rescaling(1 / 255.0)(i)
    x = L.Conv2D(4, 3, padding="same", name="conv1")(x)
    x = L.ReLU(name="relu1")(x)
    x = L.Conv2DTranspose(4, 3, strides=2, padding="same", name="up")(x)
    x = L.ReLU(name="relu2")(x)
    x = L.Flatten()(x)
    x = L.Dense(3, name="dense")(x)
    q = _quantized(keras.Model(i, x))
    with pytest.raises(ConversionError, match="'up'.*not yet supported"):
        convert(q)


def test_v1_rejects_skip_connections():
    i = keras.Input((8, 8, 1))
    x = L.Rescaling(1 / 255.0)(i)
    x = L.Conv2D(4, 3, padding="same", name="conv1")(x)
    s = L.ReLU(6.0, name="relu1")(x)
    y = L.Conv2D(4, 3, padding="same", name="conv2")(s)
    y = L.ReLU(6.0, name="relu2")(y)
    x = L.Add(name="add")([s, y])
    x = L.Flatten()(x)
    x = L.Dense(3, name="dense")(x)
    q = _quantized(keras.Model(i, x))
    with set_akida_version("v1"), pytest.raises(ConversionError, match="sequential"):
        convert(q)


def test_input_scaling_ignored_with_warning(qmodel):
    with pytest.warns(UserWarning, match="input_scaling"):
        model = convert(qmodel, input_scaling=(2, 0))
    assert isinstance(model, nsoc.Model)


# ----- files and CLI -----------------------------------------------------------------------
def test_convert_from_h5_and_save(h5_path, tmp_path, qmodel):
    model = convert(h5_path, file_path=str(tmp_path / "out"))
    assert os.path.isfile(tmp_path / "out.fbz")
    again = nsoc.load(str(tmp_path / "out.fbz"))
    ref = convert(qmodel)
    assert [lay.name for lay in again.layers] == [lay.name for lay in ref.layers]
    for a, b in zip(model.layers, ref.layers, strict=False):
        for k in b.variables:
            np.testing.assert_array_equal(a.variables[k], b.variables[k])


def test_cli_convert_default_output_and_target(h5_path, capsys):
    out = h5_path[:-3] + ".fbz"
    assert main(["convert", "-m", h5_path]) == 0
    assert nsoc.load(out).ip_version == "v2"
    assert main(["convert", "-m", h5_path, "--target", "v1", "-o", out, "-sc", "2"]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert main(["convert", "-m", h5_path, "--target", "v1", "-o", out, "-sc", "2", "--force"]) == 0
    assert nsoc.load(out).ip_version == "v1"
    assert "ignored" in capsys.readouterr().err


def test_cli_errors_exit_2(tmp_path, q_unbounded, capsys):
    import quantizeml
    path = str(tmp_path / "unbounded.h5")
    quantizeml.save_model(q_unbounded, path)
    assert main(["convert", "-m", path, "--target", "v1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unbounded ReLU" in err[0]
    assert main(["convert", "-m", str(tmp_path / "missing.h5")]) == 2


# ----- compatibility check -----------------------------------------------------------------
def test_check_model_compatibility_steps():
    tf.keras.utils.set_random_seed(4)
    model = check_model_compatibility(_float_model())
    assert model.ip_version == "v2"
    with set_akida_version("v1"):
        assert check_model_compatibility(_float_model()).ip_version == "v1"
        with pytest.raises(ConversionError, match="during conversion.*unbounded"):
            check_model_compatibility(_float_model(bounded=False))
        i = keras.Input((8, 8, 1))
        x = L.Conv2D(4, 3, padding="same", name="conv1")(i)
        x = L.ReLU(6.0, name="relu1")(x)
        x = L.BatchNormalization(name="bn")(x)
        x = L.Flatten()(x)
        x = L.Dense(3)(x)
        with pytest.raises(ConversionError, match="BatchNormalization 'bn'.*before the ReLU"):
            check_model_compatibility(keras.Model(i, x))
        i = keras.Input((8, 8, 1))
        x = L.Conv2D(4, 3, padding="same", name="conv1")(i)
        x = L.MaxPool2D(2, padding="valid", name="pool")(x)
        x = L.ReLU(6.0)(x)
        x = L.Flatten()(x)
        x = L.Dense(3)(x)
        with pytest.raises(ConversionError, match="MaxPool2D 'pool'.*same padding"):
            check_model_compatibility(keras.Model(i, x))

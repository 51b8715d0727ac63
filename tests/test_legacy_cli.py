"""The deprecated legacy CLI actions run as real processes: ``nsoc quantize``, ``nsoc reshape``,
``nsoc calibrate bc|adaround`` (``python -m nsoc.cli``) on model files the tests create."""
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tf_keras as keras  # noqa: E402

from nsoc.converter.legacy import QuantizedConv2D, QuantizedReLU, load_quantized_model  # noqa: E402

L = keras.layers


def nsoc_cli(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "nsoc.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)


def _ok(proc, action):
    assert proc.returncode == 0, proc.stderr
    assert f"nsoc {action}: deprecated" in proc.stderr and "QuantizeML" in proc.stderr


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("legacy_cli")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((16, 16, 1)), L.Conv2D(8, 3, padding="same", name="conv1"),
        L.BatchNormalization(name="bn1"), L.ReLU(6.0, name="relu1"),
        L.Conv2D(8, 3, strides=2, padding="same", name="conv2"), L.ReLU(6.0, name="relu2"),
        L.GlobalAveragePooling2D(name="gap"), L.Dense(3, name="dense")])
    model.save(d / "model.h5", include_optimizer=False)
    x = np.random.default_rng(0).uniform(0, 1, (24, 16, 16, 1)).astype(np.float32)
    np.savez(d / "samples.npz", a=x[:16], b=x[16:])
    return d


@pytest.fixture(scope="module")
def quantized(files):
    proc = nsoc_cli("quantize", "-m", files / "model.h5", "-wq", 4, "-aq", 4, "-iq", 8)
    _ok(proc, "quantize")
    out = files / "model_iq8_wq4_aq4.h5"
    assert out.is_file() and str(out) in proc.stdout
    return out


def test_quantize_saves_suffixed_model(quantized):
    model = load_quantized_model(quantized, compile_model=False)
    conv1 = model.get_layer("conv1")
    assert isinstance(conv1, QuantizedConv2D) and conv1.quantizer.bitwidth == 8
    assert model.get_layer("conv2").quantizer.bitwidth == 4
    assert isinstance(model.get_layer("relu1"), QuantizedReLU)
    assert "bn1" not in [lay.name for lay in model.layers]  # folded


def test_requantize_replaces_the_suffix(files, quantized):
    proc = nsoc_cli("quantize", "-m", quantized, "-wq", 2, "-aq", 2, "--no-fold-BN")
    _ok(proc, "quantize")
    model = load_quantized_model(files / "model_iq2_wq2_aq2.h5", compile_model=False)
    assert model.get_layer("conv1").quantizer.bitwidth == 2
    assert model.get_layer("relu2").bitwidth == 2


def test_reshape_saves_width_height_model(files):
    proc = nsoc_cli("reshape", "-m", files / "model.h5", "-iw", 160, "-ih", 96)
    _ok(proc, "reshape")
    model = keras.models.load_model(files / "model_160_96.h5", compile=False)
    assert model.input_shape == (None, 96, 160, 1)
    original = keras.models.load_model(files / "model.h5", compile=False)
    np.testing.assert_array_equal(model.get_layer("conv1").get_weights()[0],
                                  original.get_layer("conv1").get_weights()[0])


@pytest.mark.parametrize("method,extra", [("bc", ["-bs", 8]),
                                          ("adaround", ["-bs", 12, "-e", 2, "-lr", 0.01])])
def test_calibrate(files, quantized, method, extra):
    proc = nsoc_cli("calibrate", method, "-m", quantized, "-sa", files / "samples.npz", *extra)
    _ok(proc, f"calibrate {method}")
    out = files / f"model_iq8_wq4_aq4_{method}_calibrated.h5"
    calibrated = load_quantized_model(out, compile_model=False)
    before = load_quantized_model(quantized, compile_model=False)
    changed = [not all(np.array_equal(a, b) for a, b in zip(lb.get_weights(),
                                                             la.get_weights(), strict=False))
               for lb, la in zip(before.layers, calibrated.layers, strict=False)]
    assert any(changed)


def test_cli_errors_are_one_line(files):
    proc = nsoc_cli("quantize", "-m", files / "missing.h5")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("nsoc quantize: error: model file "
                                                          "not found")
    proc = nsoc_cli("calibrate", "adaround", "-m", files / "missing.h5", "-sa", "s.npz")
    assert proc.returncode == 2 and "model file not found" in proc.stderr

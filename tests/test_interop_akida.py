"""Two-way interoperability with BrainChip's akida package (``nsoc[akida]``), computed at test
time: nothing akida produces is stored in the repository.

* nsoc -> Akida -> nsoc round trips give the same layers, parameters and variables;
* exported models (``to_akida``, ``nsoc export``) predict in akida what nsoc predicts, on v1 and
  v2 models (random IR models of every layer type, and the shipped fixtures);
* a BrainChip ``.fbz`` converted by cnn2snn here runs in ``nsoc run`` / ``nsoc map`` / ``nsoc
  import`` with outputs equal to ``akida.Model.predict``.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import nsoc
from nsoc.cli import main
from nsoc.errors import ModelFormatError
from nsoc.interop import akida as interop
from nsoc.interop import from_akida, load_any, to_akida
from nsoc.testing import random_v1_model, random_v2_model

akida = pytest.importorskip(
    "akida", reason="BrainChip's akida package is not installed: pip install 'nsoc[akida]'")

HERE = os.path.dirname(__file__)
FIXTURES = os.path.join(HERE, "..", "fixtures")

V2_MODELS = {
    "conv_pool_dense": lambda: random_v2_model(
        [("input_conv", dict(filters=8, kernel_size=3, stride=2)),
         ("conv", dict(filters=16, kernel_size=3, pool="max")),
         ("dense", dict(units=10))], (24, 16, 3), seed=1),
    "dw_pw_gap": lambda: random_v2_model(
        [("input_conv", dict(filters=8, kernel_size=3)), ("dw", dict(kernel_size=3, stride=2)),
         ("conv", dict(filters=16, kernel_size=1, pool="gap")), ("dense", dict(units=5))],
        (16, 16, 1), seed=2),
    "add": lambda: random_v2_model(
        [("input_conv", dict(filters=8, kernel_size=3)), ("conv", dict(filters=8)),
         ("add", {}), ("conv", dict(filters=8)), ("dense", dict(units=4))], (12, 12, 3),
        seed=3),
    "concat": lambda: random_v2_model(
        [("input_conv", dict(filters=8, kernel_size=3)), ("conv", dict(filters=8)),
         ("concat", {}), ("conv", dict(filters=8)), ("dense", dict(units=4))], (12, 12, 3),
        seed=6),
    "signed_dense": lambda: random_v2_model(
        [("dense", dict(units=16)), ("dense", dict(units=6))], (1, 1, 32), input_signed=True,
        seed=4),
    "w2_a2": lambda: random_v2_model(
        [("input_conv", dict(filters=8, kernel_size=3)), ("conv", dict(filters=8)),
         ("dense", dict(units=4))], (10, 10, 1), weight_bits=2, act_bits=2, seed=5),
}


def akida_v1_weights(model):
    """Akida 1.0 weights are symmetric (n bits: |w| <= 2**(n-1) - 1) and binary {0, 1} at 1 bit;
    nsoc's random models draw the full two's complement range: bring them in."""
    for lay in model.layers:
        for key in ("weights", "weights_pw"):
            if lay.TYPE in ("Quantizer", "InputData") or key not in lay.variables:
                continue
            bits, w = lay.params["weights_bits"], lay.variables[key]
            top = (1 << (bits - 1)) - 1
            lay.variables[key] = (w > 0).astype(np.int8) if bits == 1 else \
                np.clip(w, -top, top).astype(np.int8)
    return model


V1_MODELS = {
    f"w{wb}_a{ab}": (lambda wb=wb, ab=ab: akida_v1_weights(random_v1_model(
        [("input_conv", dict(filters=8, kernel_size=3, pool="max")),
         ("conv", dict(filters=16, kernel_size=3)), ("sep", dict(filters=16, kernel_size=3)),
         ("dense", dict(units=10))], (20, 12, 1), weight_bits=wb, act_bits=ab, seed=wb * ab)))
    for wb in (1, 2, 4) for ab in (1, 2, 4)
}


def _inputs(model, n=8, seed=0):
    rng = np.random.default_rng(seed)
    first = model.layers[0]
    shape = (n, *first.input_dims)
    if first.input_signed or (first.TYPE == "Quantizer" and first.params["output_signed"]):
        return rng.integers(-128, 128, shape).astype(np.int8)
    return rng.integers(0, 256, shape).astype(np.uint8)


def _same_model(a, b):
    assert a.ip_version == b.ip_version
    assert [(lay.TYPE, lay.name, lay.inbounds) for lay in a.layers] == \
        [(lay.TYPE, lay.name, lay.inbounds) for lay in b.layers]
    for la, lb in zip(a.layers, b.layers, strict=True):
        assert la.params == lb.params, la.name
        assert sorted(la.variables) == sorted(lb.variables), la.name
        for key, value in la.variables.items():
            other = lb.variables[key]
            assert value.dtype == other.dtype, (la.name, key)
            if la.TYPE == "Quantizer" and value.size == 1:  # akida holds one per channel
                value = np.broadcast_to(value, other.shape)
            np.testing.assert_array_equal(value, other, err_msg=f"{la.name}/{key}")


def _check_exported(model, seed=0):
    ak = to_akida(model)
    x = _inputs(model, seed=seed)
    np.testing.assert_array_equal(ak.predict(x), model.predict(x))
    if model.ip_version == "v1":  # v1: forward gives the int32 potentials in both
        np.testing.assert_array_equal(ak.forward(x), model.forward(x))
    return ak


@pytest.mark.parametrize("name", sorted(V2_MODELS))
def test_v2_export_predicts_like_nsoc_and_round_trips(name):
    model = V2_MODELS[name]()
    ak = _check_exported(model)
    _same_model(model, from_akida(ak))


@pytest.mark.parametrize("name", sorted(V1_MODELS))
def test_v1_export_predicts_like_nsoc_and_round_trips(name):
    model = V1_MODELS[name]()
    ak = _check_exported(model, seed=1)
    _same_model(model, from_akida(ak))


@pytest.mark.parametrize("fixture, inputs", [("kws_dscnn.fbz", "kws_inputs.npy"),
                                             ("mnist_cnn_v1.fbz", "mnist_inputs.npy")])
def test_cli_export_then_import_fixtures(tmp_path, capsys, fixture, inputs):
    src = os.path.join(FIXTURES, fixture)
    x = np.load(os.path.join(FIXTURES, inputs))[:32]
    exported = tmp_path / "model_akida.fbz"
    assert main(["export", src, "-o", str(exported)]) == 0
    assert "BrainChip Akida" in capsys.readouterr().out
    model = nsoc.load(src)
    np.testing.assert_array_equal(akida.Model(str(exported)).predict(x), model.predict(x))
    imported = tmp_path / "back.fbz"
    assert main(["import", str(exported), "-o", str(imported)]) == 0
    _same_model(model, nsoc.load(str(imported)))
    # existing outputs are kept without --force; with it they are replaced
    assert main(["import", str(exported), "-o", str(imported)]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert main(["import", str(exported), "-o", str(imported), "--force"]) == 0


def test_model_to_akida_method_and_save(tmp_path):
    model = V1_MODELS["w4_a4"]()
    path = tmp_path / "m.fbz"
    model.to_akida().save(str(path))
    x = _inputs(model)
    np.testing.assert_array_equal(akida.Model(str(path)).predict(x), model.predict(x))
    _same_model(model, nsoc.from_akida(str(path)))


def test_export_refuses_what_akida_cannot_express():
    model = V2_MODELS["add"]()
    add = next(lay for lay in model.layers if lay.TYPE == "Add")
    add.params["activation"] = 1
    with pytest.raises(nsoc.ModelValidationError, match="akida cannot express activation=1"):
        to_akida(model)


def test_load_any_keeps_nsoc_message_without_akida(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "bad.fbz"
    bad.write_bytes(b"not a model at all")
    with pytest.raises(ModelFormatError) as plain:
        nsoc.load(str(bad))
    with pytest.raises(ModelFormatError) as both:  # akida installed: it cannot read it either
        load_any(str(bad))
    assert str(both.value) == str(plain.value)
    monkeypatch.setitem(sys.modules, "akida", None)  # as if not installed
    assert not interop.akida_available()
    with pytest.raises(ModelFormatError) as without:
        load_any(str(bad))
    assert str(without.value) == str(plain.value)
    assert main(["import", str(bad)]) == 2
    assert "pip install 'nsoc[akida]'" in capsys.readouterr().err


# ----- a BrainChip model converted by cnn2snn at test time ----------------------------------
@pytest.fixture(scope="module")
def brainchip_fbz(tmp_path_factory):
    """(v2 .fbz, v1 .fbz, inputs) converted by cnn2snn from a quantizeml model built here."""
    cnn2snn = pytest.importorskip("cnn2snn", reason="BrainChip's cnn2snn is not installed")
    keras = pytest.importorskip("tf_keras")
    from quantizeml.models import QuantizationParams, quantize
    L = keras.layers
    keras.utils.set_random_seed(11)
    model = keras.Sequential([
        keras.Input((20, 20, 1)), L.Rescaling(1 / 255),
        L.Conv2D(8, 3, strides=2, padding="same", name="conv1"), L.ReLU(6.0, name="relu1"),
        L.Conv2D(16, 3, padding="same", name="conv2"), L.MaxPool2D(2, padding="same"),
        L.ReLU(6.0, name="relu2"), L.SeparableConv2D(16, 3, padding="same", name="sep"),
        L.ReLU(6.0, name="relu3"), L.Flatten(), L.Dense(10, name="dense")])
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (16, 20, 20, 1)).astype(np.uint8)
    d = tmp_path_factory.mktemp("brainchip")
    paths = {}
    for version, sep_ok in ((cnn2snn.AkidaVersion.v1, True), (cnn2snn.AkidaVersion.v2, False)):
        qp = QuantizationParams(input_weight_bits=8, weight_bits=4, activation_bits=4,
                                per_tensor_activations=True)
        m = model if sep_ok else keras.Sequential(
            [lay for lay in model.layers if lay.name not in ("sep", "relu3")])
        qm = quantize(m, qparams=qp, samples=x.astype(np.float32), num_samples=16,
                      batch_size=16)
        with cnn2snn.set_akida_version(version):
            ak = cnn2snn.convert(qm)
        paths[version.name] = str(d / f"bc_{version.name}.fbz")
        ak.save(paths[version.name])
    np.save(d / "x.npy", x)
    return paths, str(d / "x.npy"), x


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_nsoc_run_accepts_brainchip_fbz(brainchip_fbz, version, tmp_path, capsys):
    paths, x_path, x = brainchip_fbz
    out = tmp_path / "y.npy"
    assert main(["run", paths[version], "--input", x_path, "-o", str(out)]) == 0
    np.testing.assert_array_equal(np.load(out), akida.Model(paths[version]).predict(x))
    assert main(["map", paths[version], "--device",
                 "AKD1000" if version == "v1" else "TwoNodesIPv2"]) == 0
    assert main(["import", paths[version], "-o", str(tmp_path / "n.fbz")]) == 0
    imported = nsoc.load(str(tmp_path / "n.fbz"))
    np.testing.assert_array_equal(imported.predict(x), akida.Model(paths[version]).predict(x))
    layer_types = {lay.TYPE for lay in imported.layers}
    assert ("SeparableConvolutional" in layer_types) == (version == "v1")


def test_console_script_run_on_brainchip_fbz(brainchip_fbz, tmp_path):
    paths, x_path, x = brainchip_fbz
    out = tmp_path / "y.npy"
    proc = subprocess.run([sys.executable, "-m", "nsoc.cli", "run", paths["v2"], "--input",
                           x_path, "-o", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_array_equal(np.load(out), akida.Model(paths["v2"]).predict(x))

"""The CNN2SNN guide's legacy flow as a user types it: ``nsoc quantize`` -> ``nsoc convert``
(Akida 1.0, with the guide's ``-sc/-sh`` input scaling) -> ``nsoc run``, through the installed
console scripts, on conv, conv+maxpool, DS-CNN and 2-bit models.

Each run's outputs equal the numpy specification of the converted model; where BrainChip's akida
and cnn2snn are installed (the ``akida`` extra) they also equal ``akida.Model.predict`` of
cnn2snn's conversion of the same file, computed here, and a model quantized by BrainChip's own
``cnn2snn quantize`` goes through the same chain.  stderr never shows TensorFlow's C++ log lines.
"""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import nsoc
from nsoc.converter.tfquiet import TF_LOG_LINE
from nsoc.engine import forward

pytestmark = pytest.mark.slow

keras = pytest.importorskip("tf_keras")
L = keras.layers


def console_script(name):
    """The console script installed beside this interpreter (or on PATH)."""
    local = os.path.join(os.path.dirname(sys.executable), name)
    return local if os.path.isfile(local) else shutil.which(name)


def run(*args, cwd, quiet=True):
    """Run a console script; with ``quiet`` (nsoc's own) its stderr must hold no TensorFlow
    log line although the environment does not silence TensorFlow."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "GLOG_minloglevel", "GRPC_VERBOSITY")}
    proc = subprocess.run([*map(str, args)], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=600)
    noise = [line for line in proc.stderr.splitlines() if TF_LOG_LINE.match(line)]
    assert not (quiet and noise), f"TensorFlow log lines on stderr of {args[:2]}: {noise[:3]}"
    assert proc.returncode == 0, proc.stderr
    return proc


def _randomize(model, seed):
    rng = np.random.default_rng(seed)
    for lay in model.layers:
        weights = lay.get_weights()
        if weights and not isinstance(lay, L.BatchNormalization):
            lay.set_weights([w + rng.normal(0, 0.1, w.shape).astype(np.float32)
                             for w in weights])
        elif weights:  # BatchNormalization: gamma, beta, mean, variance
            g, b, m, v = weights
            lay.set_weights([g * rng.uniform(0.5, 1.5, g.shape).astype(np.float32),
                             rng.normal(0, 0.1, b.shape).astype(np.float32),
                             rng.normal(0, 0.1, m.shape).astype(np.float32),
                             v * rng.uniform(0.5, 1.5, v.shape).astype(np.float32)])
    return model


def build(kind, relu_max=6.0):
    """A float model (inputs in [0, 1]) with bounded ReLUs of ``relu_max``."""
    keras.utils.set_random_seed(3)
    if kind == "dscnn":
        layers = [keras.Input((49, 10, 1)), L.Conv2D(16, 3, strides=2, padding="same",
                                                      name="conv0"),
                  L.BatchNormalization(name="bn0"), L.ReLU(relu_max, name="relu0"),
                  L.SeparableConv2D(16, 3, padding="same", name="sep1"),
                  L.BatchNormalization(name="bn1"), L.ReLU(relu_max, name="relu1"),
                  L.SeparableConv2D(32, 3, padding="same", name="sep2"),
                  L.GlobalAveragePooling2D(name="gap"), L.ReLU(relu_max, name="relu2"),
                  L.Dense(12, name="dense")]
    else:
        layers = [keras.Input((28, 28, 1)), L.Conv2D(8, 3, padding="same", name="conv1"),
                  L.ReLU(relu_max, name="relu1"), L.Conv2D(16, 3, padding="same", name="conv2")]
        if kind == "maxpool":
            layers.append(L.MaxPool2D(2, padding="same", name="pool"))
        else:
            layers[-1] = L.Conv2D(16, 3, strides=2, padding="same", name="conv2")
        layers += [L.ReLU(relu_max, name="relu2"), L.Flatten(), L.Dense(10, name="dense")]
    return _randomize(keras.Sequential(layers, name=kind), 3)


CASES = {  # name: (model kind, weight bits, activation bits, ReLU max value)
    "conv": ("conv", 4, 4, 6.0), "maxpool": ("maxpool", 4, 4, 6.0),
    "dscnn": ("dscnn", 4, 4, 1.0), "conv_2bit": ("conv", 2, 2, 1.0),
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("legacy_chain")


def _inputs(kind, n=16):
    """Random images of per-sample brightness (so pooled features differ between samples)."""
    shape = (49, 10, 1) if kind == "dscnn" else (28, 28, 1)
    rng = np.random.default_rng(7)
    level = rng.uniform(0.1, 1.0, (n, 1, 1, 1))
    return (rng.integers(0, 256, (n, *shape)) * level).astype(np.uint8)


def _akida_predict(h5_path, x):
    """cnn2snn's conversion (input scaling 255, 0) of a legacy .h5, run by akida (None when
    BrainChip's packages are not installed)."""
    try:
        import cnn2snn
    except ImportError:
        return None
    model = cnn2snn.load_quantized_model(str(h5_path), compile_model=False)
    return cnn2snn.convert(model, input_scaling=(255, 0)).predict(x)


def _check_chain(workdir, h5, x, tag):
    """convert -> run on a legacy .h5; returns nsoc's outputs (checked against the spec)."""
    nsoc_cli = console_script("nsoc")
    fbz = h5.with_suffix(".fbz")
    proc = run(nsoc_cli, "convert", "-m", h5, "-sc", 255, "-sh", 0, cwd=workdir)
    assert "Akida v1" in proc.stdout
    np.save(workdir / f"x_{tag}.npy", x)
    out = workdir / f"y_{tag}.npy"
    run(nsoc_cli, "run", fbz, "-i", workdir / f"x_{tag}.npy", "-o", out, cwd=workdir)
    y = np.load(out)
    model = nsoc.load(str(fbz))
    assert model.ip_version == "v1"
    np.testing.assert_array_equal(forward(model, x, engine="reference"), model.forward(x))
    np.testing.assert_array_equal(y, model.predict(x))
    ref = _akida_predict(h5, x)
    if ref is not None:
        np.testing.assert_array_equal(y, ref)
    return y


@pytest.mark.parametrize("case", sorted(CASES))
def test_quantize_convert_run(workdir, case):
    kind, wq, aq, relu_max = CASES[case]
    float_h5 = workdir / f"{case}.h5"
    build(kind, relu_max).save(float_h5, include_optimizer=False)
    proc = run(console_script("nsoc"), "quantize", "-m", float_h5, "-wq", wq, "-aq", aq,
               "-iq", 8, cwd=workdir)
    h5 = workdir / f"{case}_iq8_wq{wq}_aq{aq}.h5"
    assert str(h5) in proc.stdout
    y = _check_chain(workdir, h5, _inputs(kind), case)
    assert y.shape[1:3] == (1, 1) and len(np.unique(y.reshape(len(y), -1), axis=0)) > 1


def test_cnn2snn_quantized_model_converts_and_runs(workdir):
    script = console_script("cnn2snn")
    if script is None:
        pytest.skip("BrainChip's cnn2snn is not installed (pip install 'nsoc[akida]' adds it "
                    "to the test extra)")
    float_h5 = workdir / "bc.h5"
    build("maxpool", 1.0).save(float_h5, include_optimizer=False)
    run(script, "quantize", "-m", float_h5, "-wq", 2, "-aq", 2, "-iq", 8, cwd=workdir,
        quiet=False)  # BrainChip's script: its TensorFlow lines are not nsoc's to hide
    _check_chain(workdir, workdir / "bc_iq8_wq2_aq2.h5", _inputs("maxpool"), "bc")


def test_check_accepts_legacy_models_and_force_guards_outputs(workdir):
    nsoc_cli = console_script("nsoc")
    h5 = workdir / "guard.h5"
    build("conv").save(h5, include_optimizer=False)
    run(nsoc_cli, "quantize", "-m", h5, "-wq", 4, "-aq", 4, cwd=workdir)
    quantized = workdir / "guard_iq4_wq4_aq4.h5"
    proc = run(nsoc_cli, "check", "-m", quantized, "--device", "custom:20,2,v1", cwd=workdir)
    assert "compatible with Akida v1 (converts and maps on custom:20,2,v1)" in proc.stdout
    again = subprocess.run([nsoc_cli, "quantize", "-m", str(h5), "-wq", "4", "-aq", "4"],
                           cwd=workdir, capture_output=True, text=True, timeout=300)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines()[-1] == (
        f"nsoc quantize: error: output file {workdir / 'guard'}_iq4_wq4_aq4.h5 already exists; "
        "pass --force to overwrite it")
    before = os.path.getmtime(quantized)
    run(nsoc_cli, "quantize", "-m", h5, "-wq", 4, "-aq", 4, "--force", cwd=workdir)
    assert os.path.getmtime(quantized) >= before

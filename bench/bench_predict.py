"""End-to-end ``predict`` at batch 256 on the shipped fixtures: nsoc's numba engine against
nsoc's numpy reference engine and against the same quantized Keras model in TensorFlow (the
Akida 2.0 DS-CNN ``kws_dscnn.fbz``), and against the reference engine only on the Akida 1.0
``mnist_cnn_v1.fbz`` (v1 is not bit-exact with Keras, so TensorFlow is no baseline there).

    python -m pytest bench/bench_predict.py --benchmark-enable -p no:cacheprovider -s

Issue targets: numba >= 20x faster than the reference engine and >= 2x faster than TensorFlow
(``test_ratios`` prints the ratios of the means and of the minima).  Every contender is warmed up
(numba kernels compiled or loaded from cache, the engine's per-model plan built, TensorFlow's
graph traced) before timing.  TensorFlow runs the quantizeml model through a traced
``tf.function`` (faster than ``model.predict``, which adds a data pipeline per call).  nsoc's
outputs are checked equal to the Keras outputs bit for bit.
"""
import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nsoc  # noqa: E402
from nsoc.engine import predict  # noqa: E402

FIXTURES = ROOT / "fixtures"
BATCH = 256
MEANS = {}      # benchmark name -> mean seconds, filled by the benchmarks
MINS = {}       # benchmark name -> min seconds


@pytest.fixture(scope="module")
def model():
    return nsoc.load(FIXTURES / "kws_dscnn.fbz")


@pytest.fixture(scope="module")
def inputs():
    x = np.load(FIXTURES / "kws_inputs.npy")
    reps = -(-BATCH // len(x))
    return np.ascontiguousarray(np.concatenate([x] * reps)[:BATCH])


@pytest.fixture(scope="module")
def model_v1():
    return nsoc.load(FIXTURES / "mnist_cnn_v1.fbz")


@pytest.fixture(scope="module")
def inputs_v1():
    x = np.load(FIXTURES / "mnist_inputs.npy")
    reps = -(-BATCH // len(x))
    return np.ascontiguousarray(np.concatenate([x] * reps)[:BATCH])


@pytest.fixture(scope="module")
def keras_fn():
    """The quantized Keras model as a traced float32 -> float32 TensorFlow function."""
    import quantizeml
    import tensorflow as tf
    qmodel = quantizeml.load_model(str(FIXTURES / "kws_dscnn_quantized.h5"))
    fn = tf.function(lambda t: qmodel(t, training=False))

    def run(x):
        return np.asarray(fn(tf.constant(x.astype(np.float32))))
    return run


def _bench(benchmark, name, fn, *args):
    fn(*args)                                   # warm-up
    out = benchmark.pedantic(fn, args=args, rounds=3 if name.startswith("reference") else 10,
                             iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:             # None with --benchmark-disable
        MEANS[name] = benchmark.stats.stats.mean
        MINS[name] = benchmark.stats.stats.min
    return out


def test_numba(benchmark, model, inputs, keras_fn):
    out = _bench(benchmark, "numba", predict, model, inputs)
    ref = keras_fn(inputs)
    assert np.array_equal(out.reshape(ref.shape), ref), "nsoc numba != quantized Keras"


def test_reference(benchmark, model, inputs, keras_fn):
    out = _bench(benchmark, "reference", lambda m, x: predict(m, x, engine="reference"),
                 model, inputs)
    ref = keras_fn(inputs)
    assert np.array_equal(out.reshape(ref.shape), ref), "nsoc reference != quantized Keras"


def test_tensorflow(benchmark, keras_fn, inputs):
    _bench(benchmark, "tensorflow", keras_fn, inputs)


def test_numba_v1(benchmark, model_v1, inputs_v1):
    out = _bench(benchmark, "numba_v1", predict, model_v1, inputs_v1)
    ref = predict(model_v1, inputs_v1, engine="reference")
    assert np.array_equal(out, ref), "nsoc numba != nsoc reference (v1)"


def test_reference_v1(benchmark, model_v1, inputs_v1):
    _bench(benchmark, "reference_v1", lambda m, x: predict(m, x, engine="reference"),
           model_v1, inputs_v1)


def test_ratios():
    """Speed-up of the numba engine over the reference engine and TensorFlow (means, minima)."""
    if len(MEANS) < 5:
        pytest.skip("run the five benchmarks first, with --benchmark-enable")
    for name in sorted(MEANS):
        print(f"\npredict batch {BATCH} {name:13s} min {MINS[name] * 1e3:8.1f} ms  "
              f"mean {MEANS[name] * 1e3:8.1f} ms", end="")
    print()
    for base, fast, target in (("reference", "numba", 20), ("tensorflow", "numba", 2),
                               ("reference_v1", "numba_v1", 20)):
        print(f"{fast} vs {base}: {MEANS[base] / MEANS[fast]:.1f}x of the means, "
              f"{MINS[base] / MINS[fast]:.1f}x of the minima (target >= {target}x)")
    assert all(MEANS[b] > MEANS[f] for b, f in (("reference", "numba"), ("tensorflow", "numba"),
                                               ("reference_v1", "numba_v1")))

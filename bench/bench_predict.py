"""End-to-end ``predict`` at batch 256 on the shipped DS-CNN fixture: nsoc's numba engine
against nsoc's numpy reference engine and against the same quantized Keras model in TensorFlow.

    python -m pytest bench/bench_predict.py --benchmark-enable -p no:cacheprovider -s

Issue targets: numba >= 20x faster than the reference engine and >= 2x faster than TensorFlow
(``test_ratios`` prints both ratios from the measured means).  Every contender is warmed up
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


@pytest.fixture(scope="module")
def model():
    return nsoc.load(FIXTURES / "kws_dscnn.fbz")


@pytest.fixture(scope="module")
def inputs():
    x = np.load(FIXTURES / "kws_inputs.npy")
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
    out = benchmark.pedantic(fn, args=args, rounds=10 if name != "reference" else 3,
                             iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:             # None with --benchmark-disable
        MEANS[name] = benchmark.stats.stats.mean
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


def test_ratios():
    """Speed-up of the numba engine over the reference engine and TensorFlow (means)."""
    if len(MEANS) < 3:
        pytest.skip("run the three benchmarks first, with --benchmark-enable")
    vs_ref = MEANS["reference"] / MEANS["numba"]
    vs_tf = MEANS["tensorflow"] / MEANS["numba"]
    print(f"\npredict batch {BATCH}: numba {MEANS['numba'] * 1e3:.1f} ms, "
          f"reference {MEANS['reference'] * 1e3:.1f} ms, "
          f"tensorflow {MEANS['tensorflow'] * 1e3:.1f} ms")
    print(f"numba vs reference: {vs_ref:.1f}x (target >= 20x); "
          f"numba vs tensorflow: {vs_tf:.1f}x (target >= 2x)")
    assert vs_ref > 1 and vs_tf > 1

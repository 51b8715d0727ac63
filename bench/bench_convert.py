"""Benchmark: converting a DS-CNN-sized quantized model (49x10x1 input, 5 depthwise/pointwise
blocks) once TensorFlow is loaded.  Target: < 2 s per conversion.

    python bench/bench_convert.py            # prints the timings
    pytest bench/bench_convert.py --benchmark-enable
"""
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402


def ds_cnn():
    import tf_keras as keras
    L = keras.layers
    i = keras.Input((49, 10, 1))
    x = L.Rescaling(1 / 255.0)(i)
    x = L.Conv2D(64, 5, strides=2, padding="same", use_bias=False, name="conv0")(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU(name="relu0")(x)
    for k in range(1, 6):
        x = L.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"dw{k}")(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU(name=f"relu_dw{k}")(x)
        x = L.Conv2D(64, 1, use_bias=False, name=f"pw{k}")(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU(name=f"relu_pw{k}")(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(12, name="dense")(x)
    return keras.Model(i, x, name="ds_cnn")


def quantized_ds_cnn():
    from quantizeml.models import QuantizationParams, quantize
    x = np.random.default_rng(0).integers(0, 256, (8, 49, 10, 1)).astype(np.float32)
    qp = QuantizationParams(input_weight_bits=8, weight_bits=4, activation_bits=4)
    return quantize(ds_cnn(), qparams=qp, samples=x, num_samples=8, batch_size=8)


def test_bench_convert(benchmark):
    from nsoc.converter import convert
    qmodel = quantized_ds_cnn()
    convert(qmodel)  # warm-up (first TF kernels)
    model = benchmark(convert, qmodel)
    assert len(model.layers) == 14


if __name__ == "__main__":
    t0 = time.perf_counter()
    import tensorflow  # noqa: F401

    from nsoc.converter import convert
    print(f"TensorFlow import: {time.perf_counter() - t0:.2f} s")
    q = quantized_ds_cnn()
    for run in range(3):
        t = time.perf_counter()
        m = convert(q)
        print(f"convert #{run + 1}: {time.perf_counter() - t:.2f} s ({len(m.layers)} layers)")

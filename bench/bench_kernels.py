"""Kernel and engine speed: numba kernels against the numpy reference spec.

    python -m pytest bench/bench_kernels.py --benchmark-enable -p no:cacheprovider
    python bench/bench_kernels.py          # same comparison, plain print with ratios

Operands are activations of random but realistic models (nsoc.testing, ~40-60 % zero
activations) at batch 256; every function is warmed up (JIT compiled, loaded from numba's
cache) before timing.  The end-to-end target on the shipped fixture (>= 20x the reference
engine, >= 2x TensorFlow) is measured by bench/bench_predict.py.
"""
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nsoc import kernels as K  # noqa: E402
from nsoc.engine import _prepare, forward, predict  # noqa: E402
from nsoc.kernels import reference as R  # noqa: E402
from nsoc.testing import random_v1_model, random_v2_model  # noqa: E402

BATCH = 256
MODELS = {
    "mnist_v2": lambda: random_v2_model(
        [("input_conv", dict(filters=8, kernel_size=3)),
         ("conv", dict(filters=16, kernel_size=3, stride=2)),
         ("conv", dict(filters=16, kernel_size=3, stride=2)),
         ("dense", dict(units=10))], (28, 28, 1), seed=0),
    "dwpw_v2": lambda: random_v2_model(
        [("input_conv", dict(filters=16, kernel_size=3, stride=2)),
         ("dw", dict(kernel_size=3)), ("conv", dict(filters=32, kernel_size=1)),
         ("dw", dict(kernel_size=3, stride=2)),
         ("conv", dict(filters=64, kernel_size=1, pool="gap")),
         ("dense", dict(units=10))], (32, 32, 3), seed=0),
    "mnist_v1": lambda: random_v1_model(
        [("input_conv", dict(filters=16, kernel_size=3, pool="max")),
         ("conv", dict(filters=32, kernel_size=3, pool="max")),
         ("sep", dict(filters=32, kernel_size=3, stride=2)),
         ("dense", dict(units=10))], (28, 28, 1), seed=0),
}


def _images(model, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (BATCH,) + model.input_shape) \
        .astype(np.uint8)


def _layer_cases():
    """(case id, layer, its inbound activations) for every compute layer of the models."""
    cases = []
    for mname, make in MODELS.items():
        model = make()
        acts = forward(model, _images(model), outputs="all")
        acts[model.layers[0].name + ":in"] = _images(model)
        for lay in model.layers:
            if lay.TYPE in ("Quantizer", "InputData", "Dequantizer", "Concatenate"):
                continue
            ins = [acts[n] for n in lay.inbounds] if lay.inbounds else \
                [acts[model.layers[0].name + ":in"]]
            cases.append((f"{mname}:{lay.name}:{lay.TYPE}", lay, ins, model))
    return cases


CASES = _layer_cases()


@pytest.mark.parametrize("engine", ["numba", "reference"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_kernel(benchmark, case, engine):
    _, layer, ins, model = case
    fn = _prepare(layer, K if engine == "numba" else R, model)
    fn(ins)  # warm-up
    benchmark.pedantic(fn, args=(ins,), rounds=3, warmup_rounds=1)


@pytest.mark.parametrize("engine", ["numba", "reference"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_predict_batch256(benchmark, name, engine):
    model = MODELS[name]()
    x = _images(model)
    predict(model, x[:2], engine=engine)  # warm-up
    benchmark.pedantic(predict, args=(model, x), kwargs={"engine": engine}, rounds=3,
                       warmup_rounds=1)


def _best(fn, *args, repeat=3, **kwargs):
    fn(*args, **kwargs)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(*args, **kwargs)
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    print(f"{'kernel / model (batch 256)':52s} {'numba ms':>9s} {'ref ms':>9s} {'ratio':>6s}")
    for cid, layer, ins, model in CASES:
        tn = _best(_prepare(layer, K, model), ins)
        tr = _best(_prepare(layer, R, model), ins)
        print(f"{cid:52s} {tn * 1e3:9.2f} {tr * 1e3:9.2f} {tr / tn:6.1f}")
    for name in sorted(MODELS):
        model = MODELS[name]()
        x = _images(model)
        tn = _best(predict, model, x)
        tr = _best(predict, model, x, engine="reference", repeat=1)
        print(f"{'predict ' + name:52s} {tn * 1e3:9.2f} {tr * 1e3:9.2f} {tr / tn:6.1f}")


if __name__ == "__main__":
    main()

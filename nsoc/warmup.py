"""First-run kernel compilation: detect a cold numba cache, tell the user once, or compile ahead.

nsoc's integer kernels are numba functions compiled on first use and cached on disk
(``cache=True``, beside the kernel modules or in ``$NUMBA_CACHE_DIR``); a fresh install pays about
a minute of compilation on its first run.  :func:`kernel_cache_is_cold` looks for the cache index
of every engine kernel; :func:`notify_if_cold` prints one line before the first run compiles;
:func:`warmup` (``nsoc warmup``) runs small models covering every layer type through the engine,
then compiles every kernel for each dtype combination a model can give it
(:func:`kernel_grid`), so later runs only load the kernels.
"""
from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Callable
from functools import partial

import numpy as np

# Modules holding the functional engine's numba kernels (the timing simulator's compile with it).
ENGINE_KERNEL_MODULES = ("conv", "potentials", "dense", "elementwise", "output", "_util")
COLD_NOTICE = ("nsoc: compiling nsoc's kernels once (about a minute; later runs load them from "
               "the cache; `nsoc warmup` does this ahead)...")


def _dispatchers(module_names=ENGINE_KERNEL_MODULES):
    """The numba dispatchers defined in the kernel modules."""
    for short in module_names:
        module = importlib.import_module(f"nsoc.kernels.{short}")
        for obj in vars(module).values():
            if getattr(obj, "__module__", None) == module.__name__ and hasattr(obj, "py_func") \
                    and hasattr(obj, "_cache"):
                yield obj


def _entry_points(dispatchers: list) -> list:
    """The kernels called from Python: a helper called only from other kernels (e.g. the
    output stage's ``v1_finish``) is compiled into its callers and never gets a cache index
    of its own."""
    ids = {id(d) for d in dispatchers}
    helpers = {id(g) for d in dispatchers for name in d.py_func.__code__.co_names
               if id(g := d.py_func.__globals__.get(name)) in ids}
    return [d for d in dispatchers if id(d) not in helpers]


def kernel_cache_is_cold() -> bool:
    """True when an engine kernel called from Python has no compiled-code index in numba's
    cache (the next run will compile it).  Reads numba's cache locator; if that is
    unavailable, answers False."""
    try:
        return any(not os.path.exists(d._cache._cache_file._index_path)
                   for d in _entry_points(list(_dispatchers())))
    except AttributeError:  # another numba layout: do not guess
        return False


def notify_if_cold(stream=None) -> bool:
    """Print :data:`COLD_NOTICE` on ``stream`` (stderr) when the kernel cache is cold."""
    if not kernel_cache_is_cold():
        return False
    print(COLD_NOTICE, file=stream or sys.stderr, flush=True)
    return True


def warm_models() -> list:
    """(label, model, inputs) covering every layer type, bit width family and input kind the
    engine specialises on: v2 convolutions with max/average pooling, depthwise, Add,
    Concatenate, dense on signed inputs, 2-bit layers; v1 input convolution (grey 3x3 and
    colour), convolution, separable and fully connected layers."""
    from .testing import random_v1_model, random_v2_model
    rng = np.random.default_rng(0)
    specs = [
        ("v2 conv/pool/dense, grey", random_v2_model(
            [("input_conv", dict(filters=8, kernel_size=3, stride=2)),
             ("conv", dict(filters=16, kernel_size=3, pool="max")), ("dense", dict(units=4))],
            (16, 16, 1))),
        ("v2 depthwise/pointwise/gap, colour", random_v2_model(
            [("input_conv", dict(filters=8, kernel_size=3)), ("dw", dict(kernel_size=3)),
             ("conv", dict(filters=16, kernel_size=1, pool="gap")), ("dense", dict(units=4))],
            (12, 12, 3))),
        ("v2 add/concat", random_v2_model(
            [("input_conv", dict(filters=8, kernel_size=3)), ("conv", dict(filters=8)),
             ("add", {}), ("conv", dict(filters=8)), ("concat", {}), ("dense", dict(units=4))],
            (8, 8, 3))),
        ("v2 signed dense", random_v2_model(
            [("dense", dict(units=16)), ("dense", dict(units=4))], (1, 1, 32),
            input_signed=True)),
        ("v2 8-bit", random_v2_model(
            [("input_conv", dict(filters=8, kernel_size=3)), ("conv", dict(filters=8)),
             ("dense", dict(units=4))], (8, 8, 1), weight_bits=8, act_bits=8)),
        ("v2 2-bit", random_v2_model(
            [("input_conv", dict(filters=8, kernel_size=3)), ("conv", dict(filters=8)),
             ("dense", dict(units=4))], (8, 8, 1), weight_bits=2, act_bits=2)),
        ("v1 grey 3x3, separable", random_v1_model(
            [("input_conv", dict(filters=8, kernel_size=3, pool="max")),
             ("conv", dict(filters=16, kernel_size=3)), ("sep", dict(filters=16, kernel_size=3)),
             ("dense", dict(units=4))], (16, 16, 1))),
        ("v1 colour, gap", random_v1_model(
            [("input_conv", dict(filters=8, kernel_size=3)),
             ("conv", dict(filters=16, kernel_size=3, pool="gap")), ("dense", dict(units=4))],
            (12, 12, 3), act_bits=2)),
    ]
    out = []
    for label, model in specs:
        first = model.layers[0]
        shape = (2, *first.input_dims)
        signed = first.TYPE == "Quantizer" and first.params["output_signed"]
        x = rng.integers(-128, 128, shape).astype(np.int8) if signed else \
            rng.integers(0, 256, shape).astype(np.uint8)
        out.append((label, model, x))
    return out


# numba compiles a kernel once per combination of its arrays' dtypes: the input (uint8, or int8
# after a layer without ReLU or an Add), the accumulator (int16 or int32: the narrowest the
# layer's worst case fits, nsoc.kernels.potentials.acc_dtype) and the output (uint8 / int8
# activations, int32 potentials of a last layer or of the zoo builder's calibration probes).
# Which ones a model reaches depends on its weights, so random models cannot be relied on to
# cover them (measured: the KWS fixture's first run after a model-only warmup compiled for 18 s+).
# int64 accumulators (needs |input| x sum |w| >= 2**31) and int32 inputs are left to first use.
GRID_INPUTS = (np.uint8, np.int8)
GRID_OUTPUTS = (np.uint8, np.int8, np.int32)
GRID_WEIGHT = {np.int16: 1, np.int32: 255}  # |w| putting 255 x sum|w| in each dtype


def _v2_stage(nf: int):
    from .kernels import V2Stage
    z = np.zeros(nf, np.int64)
    return V2Stage(z, True, z + 255, z + 1, z - 4, 28, 32, -128, 127, 0, (1, 1), (1, 1), True)


def _v1_stage(nf: int, activation: bool):
    from .kernels import V1Stage
    return V1Stage(np.full(nf, 100, np.int64), np.full(nf, 50.0, np.float32), activation, 4, 0,
                   (1, 1), (1, 1), True)


def kernel_grid() -> list[tuple[str, Callable[[], object]]]:
    """``(label, call)`` pairs compiling each engine kernel for every (input, accumulator,
    output) dtype combination above, on 4x4x2 inputs."""
    from . import kernels as K
    calls: list[tuple[str, Callable[[], object]]] = []
    rng = np.random.default_rng(0)

    def image(dt):
        return rng.integers(0, 100, (1, 4, 4, 2)).astype(dt)

    for acc, wv in GRID_WEIGHT.items():
        w3, w1 = np.full((3, 3, 2, 2), wv, np.int64), np.full((1, 1, 2, 2), wv, np.int64)
        wd, wf = np.full((3, 3, 2, 1), wv, np.int64), np.full((32, 2), wv, np.int64)
        sh, st = np.zeros(2, np.int64), _v2_stage(2)
        for out in GRID_OUTPUTS:
            name = f"{np.dtype(acc)}->{np.dtype(out)}"
            run = K.prepare_input_conv2d_v2((4, 4, 2), w3, (1, 1), True, sh, st, 255)
            calls.append((f"InputConv2D uint8 {name}", partial(run, image(np.uint8), out)))
            for dt in GRID_INPUTS:
                m = 255 if dt == np.uint8 else 128
                for kind, prep, w in (("Conv2D", K.prepare_conv2d_v2, w3),
                                      ("Conv2D 1x1", K.prepare_conv2d_v2, w1),
                                      ("DepthwiseConv2D", K.prepare_depthwise_conv2d_v2, wd)):
                    run = prep((4, 4, 2), w, (1, 1), True, sh, st, m)
                    calls.append((f"{kind} {np.dtype(dt)} {name}", partial(run, image(dt), out)))
                run = K.prepare_dense_v2(wf, np.zeros(32, np.int64), st, m)
                calls.append((f"Dense1D {np.dtype(dt)} {name}",
                              partial(run, image(dt).reshape(1, 32), out)))
    for dw_acc, pw_acc in ((np.int16, np.int16), (np.int16, np.int32), (np.int32, np.int32)):
        wd = np.full((3, 3, 2, 1), GRID_WEIGHT[dw_acc], np.int64)
        wp = np.full((1, 1, 2, 2), GRID_WEIGHT[pw_acc], np.int64)
        for out in (np.uint8, np.int32):
            run = K.prepare_conv_v1((4, 4, 2), wd, (1, 1), True, np.zeros(2, np.int64),
                                    _v1_stage(2, out == np.uint8), 255, weights_pw=wp)
            calls.append((f"v1 conv {np.dtype(dw_acc)}/{np.dtype(pw_acc)}->{np.dtype(out)}",
                          partial(run, image(np.uint8), out)))
    for acc, wv in GRID_WEIGHT.items():
        for out in (np.uint8, np.int32):
            run = K.prepare_dense_v1(np.full((32, 2), wv, np.int64),
                                     _v1_stage(2, out == np.uint8), 255)
            calls.append((f"v1 FullyConnected {np.dtype(acc)}->{np.dtype(out)}",
                          partial(run, image(np.uint8).reshape(1, 32), out)))
    s = np.zeros(2, np.int64)
    for dt in GRID_INPUTS:
        for out in (np.uint8, np.int8):
            calls.append((f"Add {np.dtype(dt)}->{np.dtype(out)}", partial(
                K.add, image(dt), image(dt), s, s, s, 28, 32, True, 0, 127, dtype=out)))
    return calls


def warmup(progress: bool = True) -> float:
    """Compile (or load) every engine kernel by running :func:`warm_models`, then
    :func:`kernel_grid`; returns seconds.

    Shows a tqdm bar on stderr when ``progress`` (and tqdm is installed), else one line per
    model."""
    models = warm_models() + [(label, None, call) for label, call in kernel_grid()]
    start = time.perf_counter()
    bar = None
    if progress:
        try:
            from tqdm import tqdm
            bar = tqdm(total=len(models), unit="model", desc="nsoc warmup", file=sys.stderr)
        except ImportError:
            bar = None
    for i, (label, model, x) in enumerate(models):
        if bar is not None:
            bar.set_postfix_str(label)
        elif progress:
            print(f"nsoc warmup: [{i + 1}/{len(models)}] {label}", file=sys.stderr, flush=True)
        if model is None:
            x()     # a kernel_grid call
        else:
            model.forward(x, outputs="all")
            model.predict(x)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return time.perf_counter() - start

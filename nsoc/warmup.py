"""First-run kernel compilation: detect a cold numba cache, tell the user once, or compile ahead.

nsoc's integer kernels are numba functions compiled on first use and cached on disk
(``cache=True``, beside the kernel modules or in ``$NUMBA_CACHE_DIR``); a fresh install pays about
a minute of compilation on its first run.  :func:`kernel_cache_is_cold` looks for the cache index
of every engine kernel; :func:`notify_if_cold` prints one line before the first run compiles;
:func:`warmup` (``nsoc warmup``) runs small models covering every layer type through the engine
so later runs only load the kernels.
"""
from __future__ import annotations

import importlib
import os
import sys
import time

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


def warmup(progress: bool = True) -> float:
    """Compile (or load) every engine kernel by running :func:`warm_models`; returns seconds.

    Shows a tqdm bar on stderr when ``progress`` (and tqdm is installed), else one line per
    model."""
    models = warm_models()
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
        model.forward(x, outputs="all")
        model.predict(x)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return time.perf_counter() - start

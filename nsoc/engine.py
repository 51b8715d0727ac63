"""Functional (bit-exact) inference engine: layer -> kernel dispatch, batching, input checks.

``forward(model, inputs)`` returns the integer outputs of the model's last layer (before the
Dequantizer on Akida 2.0), NHWC ``(N, x, y, c)``: uint8 or int8 for outputs of 8 bits or less,
int32 beyond (as Akida).  ``predict`` returns float32: v2 dequantized potentials, v1
``(potential - threshold) / act_step``.

Batches stream through the layers in chunks of ``batch_size`` samples (0 picks a chunk from a
memory budget), so an ``np.load(..., mmap_mode="r")`` input never has more than one chunk of
intermediate activations in memory.  ``outputs="all"`` (or a list of layer names) returns a dict
``{layer name: array}`` of every (or each listed) layer's full-batch output instead: it is also
the per-frame hook of the cycle-level simulator (row ``i`` of each array is frame ``i``'s
integer outputs of that layer; the v2 Dequantizer entry is float32).

``engine="numba"`` (default) runs the compiled kernels of :mod:`nsoc.kernels`;
``engine="reference"`` runs the plain numpy specification :mod:`nsoc.kernels.reference`.
"""
from __future__ import annotations

import weakref
import zlib
from collections.abc import Callable

import numpy as np

from .errors import InputError, ModelValidationError
from .geometry import SAME, VALID, int_range, max_abs
from .kernels import V1Stage, V2Stage
from .kernels import reference as R
from .layers import ACT_LUT, ACT_RELU, POOL_MAX

ENGINES = ("numba", "reference")
CHUNK_MEMORY_BYTES = 128 << 20   # intermediate activations budget of the default chunk
MAX_DEFAULT_CHUNK = 512


def _kernels(engine):
    if engine == "numba":
        from . import kernels as k  # noqa: F401  (nsoc.kernels is an installed alias)
        return k
    if engine == "reference":
        from .kernels import reference
        return reference
    raise InputError(f"unknown engine {engine!r}: use one of {ENGINES}")


def _out_dtype(layer):
    bits, signed = layer.output_bits, layer.output_signed
    if bits <= 8:
        return np.dtype(np.int8 if signed else np.uint8)
    return np.dtype(np.int32)


def _output_range(layer):
    """``(lo, hi)`` of a layer's integer outputs (int32 at most)."""
    lo, hi = int_range(layer.output_bits, layer.output_signed)
    return lo, min(hi, (1 << 31) - 1)


def _i64(a):
    return np.ascontiguousarray(np.asarray(a).astype(np.int64))


# ----- layer preparation --------------------------------------------------------------------
def _pool_stage_args(layer):
    """(pool type code, size, stride) of the output stage; size/stride (1, 1) unless max."""
    pool = layer.pool
    if pool.type == "max":
        return POOL_MAX, pool.size, pool.stride
    return layer.params.get("pool_type", 0), (1, 1), (1, 1)


def _check_no_lut(layer):
    if layer.params.get("activation") == ACT_LUT:
        raise ModelValidationError(
            f"layer '{layer.name}' ({layer.TYPE}) uses a LUT activation, which nsoc's engine does "
            f"not support; use a ReLU or no activation")


def _v2_stage(layer):
    p, v = layer.params, layer.variables
    _check_no_lut(layer)
    f = layer.output_dims[2]
    relu = p.get("activation") == ACT_RELU
    bias = np.left_shift(_i64(v["bias"]), _i64(v["bias_shift"]))
    clip = (np.left_shift(_i64(v["max_value"]), _i64(v["max_value_shift"])) if relu
            else np.zeros(f, np.int64))
    lo, hi = _output_range(layer)
    pool_type, size, stride = _pool_stage_args(layer)
    return V2Stage(bias, relu, clip, _i64(v["output_scales"]), _i64(v["output_shift"]),
                   p["buffer_bits"], p["post_op_buffer_bits"], lo, hi, pool_type, size, stride,
                   layer.padding != VALID)


def _v1_stage(layer):
    p, v = layer.params, layer.variables
    pool_type, size, stride = _pool_stage_args(layer)
    return V1Stage(_i64(v["threshold"]), np.ascontiguousarray(v["act_step"], np.float32),
                   bool(p["activation"]), p["act_bits"], pool_type, size, stride,
                   layer.padding != VALID)


def _flipped(w):
    return np.ascontiguousarray(w[::-1, ::-1])


def _max_abs_out(layer, model):
    """Largest |value| of a layer's integer outputs (bounds the next layer's accumulator)."""
    t = layer.TYPE
    if t == "Concatenate":
        return max(_max_abs_out(model.get_layer(i), model) for i in layer.inbounds)
    if t == "InputData":
        return max_abs(layer.params["input_bits"], bool(layer.params["input_signed"]))
    if t == "Quantizer":
        return max_abs(layer.output_bits, layer.output_signed)
    lo, hi = _output_range(layer)
    return max(-lo, hi)


def _max_abs_in(layer, model):
    if not layer.inbounds:      # InputConv2D first: uint8 images
        return 255
    return max(_max_abs_out(model.get_layer(i), model) for i in layer.inbounds)


# Each preparer takes (layer, K, model, numba) and returns ``fn(list of inbound chunks) ->
# output chunk``.  With the numba kernels, compute layers are prepared once (weights cast to
# the accumulator dtype chosen from the inbound's declared output range, tables, packed output
# stage); the reference kernels are called as they are.
def _prep_quantizer(layer, K, model, numba):
    scales, zp = layer.variables["scales"], layer.variables["zero_points"]
    bits, signed = layer.params["output_bits"], bool(layer.params["output_signed"])
    dtype = _out_dtype(layer)
    return lambda ins: (ins[0] if ins[0].dtype.kind in "iu"
                        else R.quantize(ins[0], scales, zp, bits, signed).astype(dtype))


def _prep_input_data(layer, K, model, numba):
    return lambda ins: ins[0]


def _prep_dequantizer(layer, K, model, numba):
    scales = np.ascontiguousarray(layer.variables["scales"], np.float32)
    return lambda ins: ins[0].astype(np.float32) * scales


def _prep_concatenate(layer, K, model, numba):
    dtype = _out_dtype(layer)
    return lambda ins: np.concatenate([a.astype(dtype) for a in ins], axis=-1)


def _prep_input_conv2d(layer, K, model, numba):
    v, dtype = layer.variables, _out_dtype(layer)
    stage, s, same = _v2_stage(layer), layer.stride, layer.padding == SAME
    w, pv = np.ascontiguousarray(v["weights"]), _i64(v["padding_value"])
    if numba:
        run = K.prepare_input_conv2d_v2(layer.input_dims, w, s, same, pv, stage,
                                        _max_abs_in(layer, model))
        return lambda ins: run(ins[0], dtype)
    return lambda ins: K.input_conv2d_v2(ins[0], w, s, same, pv, stage, dtype=dtype)


def _prep_conv2d(layer, K, model, numba):
    v, dtype = layer.variables, _out_dtype(layer)
    stage, s, same = _v2_stage(layer), layer.stride, layer.padding == SAME
    w, shift = _flipped(v["weights"]), _i64(v["input_shift"])
    depthwise = layer.TYPE == "DepthwiseConv2D"
    if numba:
        prep = K.prepare_depthwise_conv2d_v2 if depthwise else K.prepare_conv2d_v2
        run = prep(layer.input_dims, w, s, same, shift, stage, _max_abs_in(layer, model))
        return lambda ins: run(ins[0], dtype)
    fn = K.depthwise_conv2d_v2 if depthwise else K.conv2d_v2
    return lambda ins: fn(ins[0], w, s, same, shift, stage, dtype=dtype)


def _prep_dense1d(layer, K, model, numba):
    v, dtype, units = layer.variables, _out_dtype(layer), layer.params["units"]
    stage = _v2_stage(layer)
    w, shift = np.ascontiguousarray(v["weights"]), _i64(v["input_shift"])
    if numba:
        run = K.prepare_dense_v2(w, shift, stage, _max_abs_in(layer, model))
        return lambda ins: run(ins[0].reshape(ins[0].shape[0], -1), dtype) \
            .reshape(-1, 1, 1, units)
    return lambda ins: K.dense_v2(ins[0].reshape(ins[0].shape[0], -1), w, shift, stage,
                                  dtype=dtype).reshape(-1, 1, 1, units)


def _prep_add(layer, K, model, numba):
    p, v, dtype = layer.params, layer.variables, _out_dtype(layer)
    a_s, b_s, o_s = _i64(v["a_shift"]), _i64(v["b_shift"]), _i64(v["output_shift"])
    lo, hi = _output_range(layer)
    relu = p["activation"] == ACT_RELU
    _check_no_lut(layer)
    bb, pb = p["buffer_bits"], p["post_op_buffer_bits"]
    return lambda ins: K.add(ins[0], ins[1], a_s, b_s, o_s, bb, pb, relu, lo, hi, dtype=dtype)


def _prep_conv_v1(layer, K, model, numba):
    p, v, dtype = layer.params, layer.variables, _out_dtype(layer)
    stage, s, same = _v1_stage(layer), layer.stride, layer.padding == SAME
    first = layer.TYPE == "InputConvolutional"
    w = np.ascontiguousarray(v["weights"]) if first else _flipped(v["weights"])
    pv = np.full(layer.input_dims[2], p["padding_value"] if first else 0, np.int64)
    pw = np.ascontiguousarray(v["weights_pw"]) if layer.HW_KIND == "cnp_separable" else None
    if numba:
        run = K.prepare_conv_v1(layer.input_dims, w, s, same, pv, stage,
                                _max_abs_in(layer, model), pw, dense_input=first)
        return lambda ins: run(ins[0], dtype)
    return lambda ins: K.conv_v1(ins[0], w, s, same, pv, stage, pw, dtype=dtype)


def _prep_fully_connected(layer, K, model, numba):
    dtype, units = _out_dtype(layer), layer.params["units"]
    stage = _v1_stage(layer)
    w = np.ascontiguousarray(layer.variables["weights"].reshape(-1, units))
    if numba:
        run = K.prepare_dense_v1(w, stage, _max_abs_in(layer, model))
        return lambda ins: run(_flatten_cyx(ins[0]), dtype).reshape(-1, 1, 1, units)
    return lambda ins: K.dense_v1(_flatten_cyx(ins[0]), w, stage, dtype=dtype) \
        .reshape(-1, 1, 1, units)


PREPARERS: dict[str, Callable] = {
    "Quantizer": _prep_quantizer,
    "InputData": _prep_input_data,
    "Dequantizer": _prep_dequantizer,
    "Concatenate": _prep_concatenate,
    "Add": _prep_add,
    "InputConv2D": _prep_input_conv2d,
    "Conv2D": _prep_conv2d,
    "DepthwiseConv2D": _prep_conv2d,
    "Dense1D": _prep_dense1d,
    "InputConvolutional": _prep_conv_v1,
    "Convolutional": _prep_conv_v1,
    "SeparableConvolutional": _prep_conv_v1,
    "FullyConnected": _prep_fully_connected,
}
"""Layer type -> preparer ``(layer, K, model, numba) -> fn(inbound chunks) -> output chunk``."""


def _prepare(layer, K, model):
    """Return ``fn(list of inbound chunks) -> output chunk`` for one layer."""
    try:
        preparer = PREPARERS[layer.TYPE]
    except KeyError:
        raise ModelValidationError(
            f"layer '{layer.name}': nsoc's engine cannot run type {layer.TYPE}") from None
    return preparer(layer, K, model, not K.__name__.endswith("reference"))


_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _fingerprint(model):
    """Identity and content (crc32) of every layer's parameters and variables."""
    return tuple((id(lay), lay.TYPE, tuple(sorted(lay.params.items())), tuple(lay.inbounds),
                  tuple((k, a.dtype.str, a.shape, zlib.crc32(np.ascontiguousarray(a)))
                        for k, a in sorted(lay.variables.items())))
                 for lay in model.layers)


def _plan(model, engine):
    """``[(layer, fn)]`` of a model for an engine, built once and kept while the model lives
    (rebuilt if a layer's parameters or variables change)."""
    K = _kernels(engine)
    key = _fingerprint(model)
    cached = _PLANS.get(model, {}).get(engine)
    if cached is not None and cached[0] == key:
        return cached[1]
    steps = [(lay, _prepare(lay, K, model)) for lay in model.layers]
    _PLANS.setdefault(model, {})[engine] = (key, steps)
    return steps


def _flatten_cyx(x):
    """v1 FullyConnected input order: (c, y, x) of the NHWC ``(N, x, y, c)`` batch."""
    return np.ascontiguousarray(x.transpose(0, 3, 2, 1)).reshape(x.shape[0], -1)


# ----- input validation ---------------------------------------------------------------------
def _input_rule(model):
    """(allowed dtypes, integer value range or None) for the model's first layer."""
    first = model.layers[0]
    t, p = first.TYPE, first.params
    if t == "Quantizer":
        signed = bool(p["output_signed"])
        return ((np.dtype(np.float32), np.dtype(np.int8 if signed else np.uint8)),
                int_range(p["output_bits"], signed))
    if t == "InputData":
        signed = bool(p["input_signed"])
        return (np.dtype(np.int8 if signed else np.uint8),), int_range(p["input_bits"], signed)
    return (np.dtype(np.uint8),), (0, 255)


def check_inputs(model, inputs) -> None:
    """Raise InputError unless ``inputs`` is an (N, x, y, c) array of an accepted dtype."""
    if not isinstance(inputs, np.ndarray):
        raise InputError(f"inputs must be a numpy array, got {type(inputs).__name__}: "
                         f"use np.asarray(inputs)")
    shape = tuple(model.input_shape)
    want = f"(N, {', '.join(str(d) for d in shape)})"
    if inputs.ndim != 4 or tuple(inputs.shape[1:]) != shape:
        hint = ("add a batch axis" if tuple(inputs.shape) == shape
                else "inputs are NHWC batches (N, x, y, c)")
        raise InputError(f"input shape must be {want}, got {tuple(inputs.shape)}: {hint}")
    dtypes, _ = _input_rule(model)
    if inputs.dtype not in dtypes:
        names = " or ".join(str(d) for d in dtypes)
        raise InputError(
            f"input dtype must be {names} for a model starting with {model.layers[0].TYPE} "
            f"'{model.layers[0].name}', got {inputs.dtype}: convert with "
            f"inputs.astype(np.{dtypes[-1]})")


def check_values(model, chunk) -> None:
    """Raise InputError when ``chunk`` holds NaN/inf or values outside the input's range."""
    _, (lo, hi) = _input_rule(model)
    if chunk.size == 0:
        return
    if chunk.dtype.kind == "f":
        if not np.all(np.isfinite(chunk)):
            raise InputError("inputs contain NaN or inf values: clean or clip them first")
        return
    cmin, cmax = int(chunk.min()), int(chunk.max())
    if cmin < lo or cmax > hi:
        raise InputError(f"input values must be in [{lo}, {hi}] for this model's "
                         f"{model.layers[0].TYPE} input, got values in [{cmin}, {cmax}]")


def _default_chunk(model):
    per_sample = sum(int(np.prod(lay.output_dims)) for lay in model.layers) * 16 + 1
    return int(max(8, min(MAX_DEFAULT_CHUNK, CHUNK_MEMORY_BYTES // per_sample)))


# ----- inference ----------------------------------------------------------------------------
def _result_layer(model):
    last = model.layers[-1]
    if last.TYPE == "Dequantizer":
        return model.get_layer(last.inbounds[0])
    return last


def forward(model, inputs, batch_size: int = 0, outputs=None, engine: str = "numba"):
    """Integer outputs of the last layer before the Dequantizer (v2) / of the last layer (v1).

    ``outputs``: None (that array), ``"all"`` (dict of every layer's output) or a list of layer
    names (dict of those).  ``batch_size`` 0 picks the chunk size from a memory budget.
    """
    _kernels(engine)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 0:
        raise InputError(f"batch_size must be an integer >= 0 (0: automatic), got {batch_size!r}")
    check_inputs(model, inputs)
    if outputs is None:
        wanted = [_result_layer(model).name]
    elif isinstance(outputs, str) and outputs == "all":
        wanted = [lay.name for lay in model.layers]
    elif isinstance(outputs, (list, tuple)) and all(isinstance(o, str) for o in outputs):
        known = {lay.name for lay in model.layers}
        unknown = [o for o in outputs if o not in known]
        if unknown:
            raise InputError(f"outputs names unknown layer(s) {unknown}; layers are "
                             f"{sorted(known)}")
        wanted = list(outputs)
    else:
        raise InputError(f"outputs must be None, 'all' or a list of layer names, got {outputs!r}")
    steps = _plan(model, engine)
    # how many consumers still need each activation, to free it as soon as possible
    users = {lay.name: 0 for lay in model.layers}
    for lay in model.layers:
        for i in lay.inbounds:
            users[i] += 1
    n = inputs.shape[0]
    results = {}
    for lay in model.layers:
        if lay.name in wanted:
            dtype = np.float32 if lay.TYPE == "Dequantizer" else _out_dtype(lay)
            results[lay.name] = np.empty((n,) + tuple(lay.output_dims), dtype)
    chunk = int(batch_size) or _default_chunk(model)
    for start in range(0, n, chunk):
        x = np.ascontiguousarray(inputs[start:start + chunk])
        check_values(model, x)
        acts, left = {}, dict(users)
        for lay, fn in steps:
            ins = [acts[i] for i in lay.inbounds] if lay.inbounds else [x]
            out = fn(ins)
            for i in lay.inbounds:
                left[i] -= 1
                if left[i] == 0:
                    del acts[i]
            if lay.name in results:
                results[lay.name][start:start + out.shape[0]] = out
            if left[lay.name]:
                acts[lay.name] = out
    if outputs is None:
        return results[wanted[0]]
    return results


def _check_predictable(model) -> None:
    last = model.layers[-1]
    if model.ip_version == "v2" and last.TYPE != "Dequantizer":
        raise ModelValidationError(
            f"predict needs a Dequantizer as the last layer of a v2 model, '{last.name}' is "
            f"a {last.TYPE}: use forward() for integer outputs")


def predict_from_raw(model, raw: np.ndarray) -> np.ndarray:
    """float32 outputs from the integer outputs ``raw`` of :func:`forward` (see :func:`predict`)."""
    _check_predictable(model)
    last = model.layers[-1]
    if model.ip_version == "v2":
        return raw.astype(np.float32) * np.asarray(last.variables["scales"], np.float32)
    if last.params.get("activation", 0):
        return raw.astype(np.float32)
    d = (raw.astype(np.int64) - last.variables["threshold"].astype(np.int64)).astype(np.float32)
    return d / last.variables["act_step"].astype(np.float32)


def outputs_from_activations(model, activations: dict, raw: bool = False) -> np.ndarray:
    """What :func:`forward` (``raw``) or :func:`predict` return, taken from the per-layer
    outputs of ``forward(..., outputs="all")``: no second functional pass."""
    result = activations[_result_layer(model).name]
    return result if raw else predict_from_raw(model, result)


def predict(model, inputs, batch_size: int = 0, engine: str = "numba"):
    """float32 outputs: v2 ``float32(potentials) * Dequantizer.scales``; v1
    ``(potentials - threshold) / act_step`` of the last layer (its activations as float32 when
    the last layer has an activation)."""
    _check_predictable(model)
    return predict_from_raw(model, forward(model, inputs, batch_size, engine=engine))

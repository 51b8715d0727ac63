"""Random but valid Akida models, built directly in the IR (no TensorFlow).

For tests, benchmarks and design-space sweeps: the variables are random integers within each
declared bit width, with output scales and shifts chosen so that activations stay in range and
are neither all zero nor all saturated (realistic sparsity).

A model is described by a list of ``(kind, options)`` blocks::

    random_v2_model([("input_conv", dict(filters=8, kernel_size=3, stride=2)),
                     ("dw", dict(kernel_size=3)), ("conv", dict(filters=16, kernel_size=1)),
                     ("conv", dict(filters=16, kernel_size=3, pool="max")),
                     ("dense", dict(units=10))], input_shape=(32, 32, 3))

v2 kinds: ``input_conv``, ``conv``, ``dw``, ``dense``, ``add`` (adds the outputs of the two
previous blocks: ``options["with_block"]`` names how many blocks back the skip starts, default 2),
``concat`` (same skip rule). A ``conv`` or ``dw`` reads the previous block, or the block
``options["from_block"]`` blocks back (1 is the previous one; two branches from one layer).
A ``Quantizer`` (or ``InputData`` for a signed dense input) leads and a ``Dequantizer`` ends
the model. The last block has no activation and 28-bit output.
v1 kinds: ``input_conv``, ``conv``, ``sep``, ``dense``; their ``kernel_size`` may be a (height,
width) pair.
"""
from __future__ import annotations

import math

import numpy as np

from .layers import (
    ACT_NONE,
    ACT_RELU,
    PADDING_SAME,
    PADDING_VALID,
    POOL_AVG,
    POOL_MAX,
    POOL_NONE,
    make_layer,
)
from .model import Model

_POOLS = {None: POOL_NONE, "max": POOL_MAX, "gap": POOL_AVG}


def _sint(rng, bits, shape):
    return rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=shape).astype(np.int8)


def _output_stage(rng, filters, fan_in, in_bits, weight_bits, out_bits, relu, last):
    """Bias, scale and shift so that a typical potential maps to mid-range outputs."""
    in_rms = (1 << in_bits) / 3.0
    w_rms = (1 << (weight_bits - 1)) / 1.8
    acc_rms = max(1.0, math.sqrt(fan_in) * in_rms * w_rms * 0.6)
    scales = rng.integers(64, 256, size=filters).astype(np.uint8)
    target = 8.0 if last else (1 << out_bits) / 2.0
    shift = int(round(math.log2(target / (acc_rms * 160.0))))
    shift = max(-40, min(20, shift))
    bias_shift = rng.integers(0, 4, size=filters).astype(np.uint8)
    variables = {
        "bias": rng.integers(-128, 128, size=filters).astype(np.int8),
        "bias_shift": bias_shift,
        "output_scales": (np.ones(filters, np.uint8) if last else scales),
        "output_shift": np.full(filters, shift if not last else 0, np.int8),
    }
    if last:
        variables["bias_shift"] = np.zeros(filters, np.uint8)
    if relu:
        bounded = rng.random() < 0.5
        if bounded:
            variables["max_value"] = rng.integers(1, 256, size=filters).astype(np.uint8)
            variables["max_value_shift"] = np.full(
                filters, max(0, int(round(math.log2(acc_rms))) - 4), np.uint8)
        else:
            variables["max_value"] = np.full(filters, 127, np.uint8)
            variables["max_value_shift"] = np.full(filters, 31, np.uint8)
    # the validator bounds output_shift to 7 signed bits
    variables["output_shift"] = np.clip(variables["output_shift"], -64, 63).astype(np.int8)
    return variables


def _lineage(layers: list) -> list:
    """``layers[-1]`` and the layers it descends from, in order (a branch that no merge has
    joined yet feeds nothing and is left out)."""
    keep = {layers[-1].name}
    for lay in reversed(layers):
        if lay.name in keep:
            keep.update(lay.inbounds)
    return [lay for lay in layers if lay.name in keep]


def random_v2_model(blocks, input_shape, *, weight_bits=4, act_bits=4, input_signed=False,
                    seed=0) -> Model:
    """A random Akida 2.0 model (Quantizer, blocks, Dequantizer); see the module docstring."""
    rng = np.random.default_rng(seed)
    x, y, c = input_shape
    layers = []
    if input_signed:
        layers.append(make_layer("Quantizer", "input_quantizer", dict(
            input_width=x, input_height=y, input_channels=c, output_bits=8, output_signed=1),
            {"scales": np.full(1, 1.0, np.float32), "zero_points": np.zeros(1, np.uint8)}))
        layers.append(make_layer("InputData", "input_data", dict(
            input_width=x, input_height=y, input_channels=c, input_bits=8, input_signed=1),
            {}, ["input_quantizer"]))
    else:
        layers.append(make_layer("Quantizer", "input_quantizer", dict(
            input_width=x, input_height=y, input_channels=c, output_bits=8, output_signed=0),
            {"scales": np.full(1, 1.0, np.float32), "zero_points": np.zeros(1, np.uint8)}))
    model = None
    dims, bits, names = (x, y, c), 8, [layers[-1].name]
    for i, (kind, opt) in enumerate(blocks):
        last = i == len(blocks) - 1
        name = opt.get("name", f"{kind}_{i}")
        relu = opt.get("relu", not last)
        wb = opt.get("weight_bits", 8 if kind == "input_conv" else weight_bits)
        ob = 28 if last else opt.get("output_bits", act_bits)
        out_params = dict(activation=ACT_RELU if relu else ACT_NONE, output_bits=ob,
                          buffer_bits=28, post_op_buffer_bits=32)
        inbound = [names[-1]]
        if kind in ("conv", "dw") and opt.get("from_block", 1) != 1:
            source = Model(_lineage(layers[:len(layers) + 1 - opt["from_block"]]),
                           "v2").layers[-1]
            inbound, dims, bits = [source.name], source.output_dims, source.output_bits
        if kind in ("input_conv", "conv", "dw"):
            k, s = opt.get("kernel_size", 3), opt.get("stride", 1)
            pool = _POOLS[opt.get("pool")]
            pad = PADDING_SAME if opt.get("padding", "same") == "same" else PADDING_VALID
            conv = dict(kernel_size=k, kernel_stride=s, padding=pad, pool_type=pool,
                        pool_size=opt.get("pool_size", 2) if pool == POOL_MAX else -1,
                        pool_stride=opt.get("pool_stride", 2) if pool == POOL_MAX else -1,
                        weights_bits=wb)
            filters = dims[2] if kind == "dw" else opt["filters"]
            cin = dims[2]
            if kind == "dw":
                weights = _sint(rng, wb, (k, k, cin, 1))
                fan_in = k * k
            else:
                weights = _sint(rng, wb, (k, k, cin, filters))
                fan_in = k * k * cin
                conv["filters"] = filters
            variables = {"weights": weights}
            variables.update(_output_stage(rng, filters, fan_in, bits, wb, ob, relu, last))
            if kind == "input_conv":
                conv.update(input_x=dims[0], input_y=dims[1], input_channels=cin)
                variables["padding_value"] = rng.integers(0, 256, size=cin).astype(np.uint8) \
                    if opt.get("padding_value") else np.zeros(cin, np.uint8)
                type_name = "InputConv2D"
            else:
                variables["input_shift"] = rng.integers(0, 2, size=cin).astype(np.uint8)
                type_name = "DepthwiseConv2D" if kind == "dw" else "Conv2D"
            layer = make_layer(type_name, name, {**out_params, **conv}, variables, inbound)
        elif kind == "dense":
            fan_in = int(np.prod(dims))
            units = opt["units"]
            variables = {"weights": _sint(rng, wb, (fan_in, units)),
                         "input_shift": rng.integers(0, 2, size=fan_in).astype(np.uint8)}
            variables.update(_output_stage(rng, units, fan_in, bits, wb, ob, relu, last))
            layer = make_layer("Dense1D", name, {**out_params, "units": units,
                                                 "weights_bits": wb}, variables, inbound)
        elif kind in ("add", "concat"):
            back = opt.get("with_block", 2)
            inbound = [names[-back], names[-1]]
            if kind == "add":
                ch = dims[2]
                layer = make_layer("Add", name, dict(output_bits=act_bits, buffer_bits=32,
                                                     post_op_buffer_bits=32, activation=ACT_NONE),
                                   {"a_shift": rng.integers(0, 2, ch).astype(np.uint8),
                                    "b_shift": rng.integers(0, 2, ch).astype(np.uint8),
                                    "output_shift": np.full(ch, -1, np.int8)}, inbound)
            else:
                layer = make_layer("Concatenate", name, dict(output_bits=act_bits), {}, inbound)
        else:
            raise ValueError(f"unknown v2 block kind {kind!r}")
        layers.append(layer)
        names.append(name)
        # build incrementally (the new layer and what it descends from) to know the next dims
        model = Model(_lineage(layers), "v2")
        dims, bits = model.layers[-1].output_dims, model.layers[-1].output_bits
    dq = make_layer("Dequantizer", "dequantizer", {}, {"scales": rng.uniform(
        1e-3, 1e-1, size=dims[2]).astype(np.float32)}, [names[-1]])
    return Model(layers + [dq], "v2", {"source": f"nsoc.testing.random_v2_model seed={seed}"})


def random_v1_model(blocks, input_shape, *, weight_bits=4, act_bits=4, seed=0) -> Model:
    """A random Akida 1.0 model: InputConvolutional then Convolutional / SeparableConvolutional /
    FullyConnected blocks; the last block has no activation (int32 potentials)."""
    rng = np.random.default_rng(seed)
    x, y, c = input_shape
    layers, dims, bits = [], (x, y, c), 8
    for i, (kind, opt) in enumerate(blocks):
        last = i == len(blocks) - 1
        name = opt.get("name", f"{kind}_{i}")
        wb = opt.get("weight_bits", 8 if kind == "input_conv" else weight_bits)
        ab = opt.get("act_bits", act_bits)
        act = 0 if last else 1
        inbound = [layers[-1].name] if layers else []
        if kind in ("input_conv", "conv", "sep"):
            k, s = opt.get("kernel_size", 3), opt.get("stride", 1)
            kh, kw = (k, k) if isinstance(k, int) else k   # (height, width)
            pool = _POOLS[opt.get("pool")]
            pad = PADDING_SAME if opt.get("padding", "same") == "same" else PADDING_VALID
            filters = opt["filters"]
            p = dict(act_bits=ab, activation=act, filters=filters, kernel_height=kh,
                     kernel_width=kw, padding=pad, stride_x=s, stride_y=s, pool_type=pool,
                     weights_bits=wb)
            if pool == POOL_MAX:
                ps = opt.get("pool_size", 2)
                p.update(pooling_height=ps, pooling_width=ps, pooling_stride_x=ps,
                         pooling_stride_y=ps)
            cin = dims[2]
            if kind == "sep":
                variables = {"weights": _sint(rng, wb, (kh, kw, cin, 1)),
                             "weights_pw": _sint(rng, wb, (1, 1, cin, filters))}
            else:
                variables = {"weights": _sint(rng, wb, (kh, kw, cin, filters))}
            fan_in = kh * kw * cin
            type_name = {"input_conv": "InputConvolutional", "conv": "Convolutional",
                         "sep": "SeparableConvolutional"}[kind]
            if kind == "input_conv":
                p.update(input_width=x, input_height=y, input_channels=c,
                         padding_value=opt.get("padding_value", 0))
        elif kind == "dense":
            fan_in = int(np.prod(dims))
            filters = opt["units"]
            p = dict(act_bits=ab, activation=act, units=filters, weights_bits=wb)
            variables = {"weights": _sint(rng, wb, (1, 1, fan_in, filters))}
            type_name = "FullyConnected"
        else:
            raise ValueError(f"unknown v1 block kind {kind!r}")
        in_rms = max(1.0, ((1 << bits) - 1) / 3.0)
        w_rms = (1 << (wb - 1)) / 1.8
        acc_rms = max(1.0, math.sqrt(fan_in) * in_rms * w_rms * 0.6)
        variables["threshold"] = rng.integers(-int(acc_rms // 4) - 1, int(acc_rms // 2) + 1,
                                              size=filters).astype(np.int32)
        variables["act_step"] = rng.uniform(acc_rms / 8, acc_rms / 2,
                                            size=filters).astype(np.float32)
        layer = make_layer(type_name, name, p, variables, inbound)
        layers.append(layer)
        model = Model(list(layers), "v1")
        dims, bits = model.layers[-1].output_dims, ab
    return Model(layers, "v1", {"source": f"nsoc.testing.random_v1_model seed={seed}"})

"""Stand-ins of the published DS-CNN KWS and AkidaNet 0.5 models as nsoc Akida 1.0 IR models.

Architectures as published (akida_models ``ds_cnn_kws`` and ``akidanet_imagenet`` alpha 0.5),
8-bit input layer, 4-bit weights and 4-bit activations (8/4/4), random weights.  The activations
used for calibration are the functional engine's real outputs (``model.forward(x, "all")``):
:func:`tune_thresholds` sets each layer's per-channel thresholds, layer after layer on the real
outputs of the layers before it, so that a chosen fraction of its outputs fire (the sparsity of
trained 4-bit CNNs; random weights with zero thresholds fire about half of the neurons).

Also: :func:`map_standin`, which maps with the real mapper (``nsoc.hardware.mapping.map_model``,
AllNps, hardware only), and :func:`standin_inputs` (smooth inputs).
"""
from __future__ import annotations

import numpy as np

from nsoc import Model, make_layer


def _v1(kind, name, inb, dims_in, filters, k=3, s=1, wbits=4, pool=0, rng=None, **extra):
    cin = dims_in[2]
    p = {"filters": filters, "kernel_height": k, "kernel_width": k, "stride_x": s, "stride_y": s,
             "padding": 1, "act_bits": 4, "activation": 1, "weights_bits": wbits, "pool_type": pool}
    if pool == 1:
        p.update(pooling_height=2, pooling_width=2, pooling_stride_x=2, pooling_stride_y=2)
    p.update(extra)
    hi = (1 << (wbits - 1)) - 1
    v = {"threshold": np.zeros(filters, np.int32), "act_step": np.ones(filters, np.float32)}
    if kind == "SeparableConvolutional":
        v["weights"] = rng.integers(-hi, hi + 1, (k, k, cin, 1)).astype(np.int8)
        v["weights_pw"] = rng.integers(-hi, hi + 1, (1, 1, cin, filters)).astype(np.int8)
    else:
        v["weights"] = rng.integers(-hi, hi + 1, (k, k, cin, filters)).astype(np.int8)
    return make_layer(kind, name, p, v, [inb] if inb else [])


def dscnn_kws(rng=None) -> Model:
    """DS-CNN KWS (akida_models ds_cnn_kws): 49x10x1 -> conv 5x5/2 64 (HRC) -> 4 x separable
    3x3 64 (the last with global average pooling) -> dense 33."""
    rng = rng or np.random.default_rng(0)
    layers = [make_layer("InputConvolutional", "conv_0", {
        "filters": 64, "kernel_height": 5, "kernel_width": 5, "stride_x": 2, "stride_y": 2,
        "padding": 1, "act_bits": 4, "activation": 1, "weights_bits": 8, "input_channels": 1,
        "input_height": 10, "input_width": 49},
        {"weights": rng.integers(-127, 128, (5, 5, 1, 64)).astype(np.int8),
         "threshold": np.zeros(64, np.int32), "act_step": np.ones(64, np.float32)})]
    dims = (25, 5, 64)
    prev = "conv_0"
    for i in range(1, 5):
        pool = 2 if i == 4 else 0
        layers.append(_v1("SeparableConvolutional", f"separable_{i}", prev, dims, 64,
                          pool=pool, rng=rng))
        prev = f"separable_{i}"
    layers.append(make_layer("FullyConnected", "dense_5", {"units": 33, "act_bits": 4,
                                                               "activation": 0, "weights_bits": 4},
                             {"weights": rng.integers(-7, 8, (1, 1, 64, 33)).astype(np.int8),
                              "threshold": np.zeros(33, np.int32),
                              "act_step": np.ones(33, np.float32)}, [prev]))
    return Model(layers, "v1")


AKIDANET_ALPHAS = (0.25, 0.5, 1.0)
AKIDANET_SIZES = (160, 224)


def akidanet(alpha: float, size: int = 224, rng=None) -> Model:
    """AkidaNet/ImageNet (akida_models ``akidanet_imagenet``), Akida 1.0, 8/4/4, random weights.

    15 layers: conv_0 3x3/2 32a (HRC, 8-bit weights), conv_1 64a, conv_2 3x3/2 128a, conv_3
    128a, separable_4 3x3/2 256a, separable_5 256a, separable_6 3x3/2 512a, separable_7..11
    512a, separable_12 3x3/2 1024a, separable_13 1024a + global average pooling, classifier
    dense 1000 (potentials); ``a`` = ``alpha`` (channels ``int(n * alpha)``), input
    ``size`` x ``size`` x 3.  Real stride 2 (Akida 1.0 supports it for 3x3 kernels).
    """
    if alpha not in AKIDANET_ALPHAS or size not in AKIDANET_SIZES:
        raise ValueError(f"akidanet: alpha in {AKIDANET_ALPHAS}, size in {AKIDANET_SIZES}")
    rng = rng or np.random.default_rng(0)

    def c(n: int) -> int:
        return int(n * alpha)

    layers = [make_layer("InputConvolutional", "conv_0", {
        "filters": c(32), "kernel_height": 3, "kernel_width": 3, "stride_x": 2, "stride_y": 2,
        "padding": 1, "act_bits": 4, "activation": 1, "weights_bits": 8, "input_channels": 3,
        "input_height": size, "input_width": size},
        {"weights": rng.integers(-127, 128, (3, 3, 3, c(32))).astype(np.int8),
         "threshold": np.zeros(c(32), np.int32), "act_step": np.ones(c(32), np.float32)})]
    spec = [("Convolutional", c(64), 1), ("Convolutional", c(128), 2),
            ("Convolutional", c(128), 1), ("SeparableConvolutional", c(256), 2),
            ("SeparableConvolutional", c(256), 1), ("SeparableConvolutional", c(512), 2)] + \
        [("SeparableConvolutional", c(512), 1)] * 5 + \
        [("SeparableConvolutional", c(1024), 2), ("SeparableConvolutional", c(1024), 1)]
    dims = [size // 2, size // 2, c(32)]
    prev = "conv_0"
    for i, (kind, f, s) in enumerate(spec, start=1):
        last = i == len(spec)
        name = f"{'conv' if kind == 'Convolutional' else 'separable'}_{i}"
        layers.append(_v1(kind, name, prev, dims, f, s=s, pool=2 if last else 0, rng=rng))
        dims = [dims[0] // s, dims[1] // s, f]
        prev = name
    layers.append(make_layer("FullyConnected", "classifier", {
        "units": 1000, "act_bits": 4, "activation": 0, "weights_bits": 4},
        {"weights": rng.integers(-7, 8, (1, 1, c(1024), 1000)).astype(np.int8),
         "threshold": np.zeros(1000, np.int32), "act_step": np.ones(1000, np.float32)}, [prev]))
    return Model(layers, "v1")


def akidanet_05(rng=None, size=224) -> Model:
    """AkidaNet alpha 0.5 (see :func:`akidanet`)."""
    return akidanet(0.5, size, rng)


def _potentials(model: Model, upto: int, x: np.ndarray) -> np.ndarray:
    """Integer potentials of layer ``upto`` (its activation switched off, global pooling
    removed) on the real outputs of the layers before it: (N, X, Y, C) int32."""
    lay = model.layers[upto]
    p = dict(lay.params)
    p["activation"] = 0
    if p.get("pool_type") == 2:
        p["pool_type"] = 0
    probe = make_layer(lay.TYPE, lay.name, p, lay.variables, lay.inbounds)
    sub = Model(model.layers[:upto] + [probe], model.ip_version)
    return sub.forward(x).astype(np.int64)


def tune_thresholds(model: Model, x: np.ndarray, density: float) -> dict:
    """Set every activated layer's per-channel ``threshold`` (act_step 1) so that a fraction
    ``density`` of its outputs on ``x`` are non-zero (before global pooling), in layer order on
    the real outputs of the already tuned layers.  Returns {layer: measured output sparsity}."""
    for i, lay in enumerate(model.layers):
        if lay.params.get("activation", 1) == 0:
            continue
        pot = _potentials(model, i, x).reshape(-1, lay.output_dims[2] if lay.params.get(
            "pool_type") != 2 else lay.variables["threshold"].shape[0])
        # non-zero output <=> potential - threshold >= act_step (= 1)
        thr = np.quantile(pot, 1.0 - density, axis=0, method="higher") - 1
        lay.variables["threshold"] = thr.astype(lay.variables["threshold"].dtype)
    acts = model.forward(x, outputs="all")
    return {k: round(1.0 - np.count_nonzero(v) / v.size, 3) for k, v in acts.items()}


MAPPED_BY = "nsoc.hardware.mapping.map_model AllNps hw_only"


def map_standin(model: Model):
    """Map on AKD1000 with the real mapper (AllNps, hardware only; it reproduces the published
    per-layer NP counts of both stand-ins); returns the Mapping (described by MAPPED_BY)."""
    from nsoc.hardware.mapping import map_model
    return map_model(model, "AKD1000", hw_only=True)


def standin_inputs(model: Model, n: int, seed: int = 0) -> np.ndarray:
    """Smooth uint8 inputs (a random image/spectrogram low-pass filtered), more like real data
    than white noise."""
    rng = np.random.default_rng(seed)
    shape = (n,) + tuple(model.input_shape)
    z = rng.standard_normal(shape)
    for axis in (1, 2):
        box = np.ones(max(3, shape[axis] // 8))
        box /= box.size
        z = np.apply_along_axis(np.convolve, axis, z, box, "same")
    z = (z - z.min()) / max(z.max() - z.min(), 1e-9)
    return (z * 255).astype(np.uint8)


STANDINS = {"dscnn": dscnn_kws, "akidanet": akidanet_05}

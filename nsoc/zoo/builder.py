"""Layer-by-layer construction of zoo models: random weights, calibrated output stages.

:class:`ZooBuilder` appends Akida layers for one IP version (``"v1"`` or ``"v2"``) in the order
and with the names BrainChip's converters give them, so a zoo model looks like the model
cnn2snn makes from the corresponding ``akida_models`` Keras architecture:

* v1: ``InputConvolutional``, ``Convolutional``, ``SeparableConvolutional`` (the fused
  separable layer of Akida 1.0), ``FullyConnected``; no input quantizer.
* v2: a ``Quantizer`` (uint8 images), ``InputConv2D``, ``Conv2D``; a separable block
  ``NAME`` becomes ``DepthwiseConv2D`` ``dw_NAME`` then a pointwise 1x1 ``Conv2D``
  ``pw_NAME`` carrying the block's pooling (as cnn2snn converts akida_models' unfused blocks);
  ``Dense1D``; a closing ``Dequantizer``.

Weights are uniform random integers over the full signed range of their bit width (8-bit input
layer, ``weight_bits`` elsewhere).  Each activated layer's output stage is then calibrated on
the real outputs of the layers already built, computed by the functional engine on a few
smooth random frames (:func:`calibration_inputs`):

* its firing threshold (v1 ``threshold``; v2 negative ``bias``) is the ``1 - density``
  quantile of its potentials, so a fraction ``density`` of its outputs are non-zero;
* its step (v1 ``act_step``; v2 ``output_scales`` / ``output_shift``) maps the 99.5th
  percentile of the above-threshold potentials to the second largest activation, so well under
  1 % of outputs saturate.

Thresholds are per output channel, or per layer when the calibration frames give a channel too
few outputs (global pooling, dense layers); the saturation level assumes the channels share one
distribution shape at different scales (see :meth:`ZooBuilder._saturation_level`).  Small
inputs get more calibration frames (at least 100,000 input positions, 2 to 32 frames).  The
default density 0.35 (65 % sparsity) is an assumption: the calibration stand-ins in
``bench/calibration`` use 70 % sparsity for trained 8/4/4 models.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from ..errors import InputError
from ..layers import (
    ACT_NONE,
    ACT_RELU,
    PADDING_SAME,
    POOL_AVG,
    POOL_MAX,
    POOL_NONE,
    Layer,
    make_layer,
)
from ..model import Model

DEFAULT_DENSITY = 0.35
SATURATION_QUANTILE = 0.995
MIN_SAMPLES_PER_CHANNEL = 32
CALIBRATION_PIXELS = 100_000   # calibration frames: enough for this many input positions
_POOLS = {None: POOL_NONE, "max": POOL_MAX, "gap": POOL_AVG}
_PROGRESS: ContextVar[Callable[[str], None] | None] = ContextVar("zoo_progress", default=None)


@contextmanager
def build_progress(callback: Callable[[str], None]) -> Iterator[None]:
    """Within the block, every :class:`ZooBuilder` calls ``callback(layer name)`` after
    calibrating each layer (``nsoc zoo build`` drives a progress bar with it)."""
    token = _PROGRESS.set(callback)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def calibration_inputs(shape: tuple, frames: int, seed: int) -> np.ndarray:
    """``frames`` smooth uint8 samples of ``shape`` (x, y, c): white noise low-pass filtered
    along both spatial axes then stretched to 0..255 (closer to images and spectrograms than
    white noise, which makes every layer's input unrealistically dense)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((frames,) + tuple(shape))
    for axis in (1, 2):
        n = z.shape[axis]
        k = max(1, n // 8)
        if k > 1:
            z = np.apply_along_axis(np.convolve, axis, z, np.ones(k) / k, "same")
    lo = z.min(axis=(1, 2, 3), keepdims=True)
    hi = z.max(axis=(1, 2, 3), keepdims=True)
    return ((z - lo) / np.maximum(hi - lo, 1e-9) * 255).round().astype(np.uint8)


def _signed_weights(rng, bits: int, shape: tuple) -> np.ndarray:
    return rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=shape).astype(np.int8)


def _quantile(values: np.ndarray, q: float, per_channel: bool) -> np.ndarray:
    """q-quantile of ``values`` (samples, channels) per channel, or one for all channels."""
    if per_channel:
        return np.quantile(values, q, axis=0, method="higher")
    return np.full(values.shape[1], np.quantile(values, q, method="higher"))


def _scale_shift(factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 scale, int8 shift) with ``scale * 2**shift ~= factor`` and scale in [128, 255]."""
    factor = np.maximum(np.asarray(factor, np.float64), 2.0 ** -56)
    shift = np.floor(np.log2(factor)).astype(np.int64) - 7
    shift = np.clip(shift, -64, 63)
    scale = np.clip(np.round(factor / np.exp2(shift)), 1, 255)
    return scale.astype(np.uint8), shift.astype(np.int8)


def _bias_encoding(bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int8 bias, uint8 bias_shift) with ``bias << bias_shift ~= bias`` (v2 5-bit shift)."""
    bias = np.asarray(bias, np.float64)
    mag = np.maximum(np.abs(bias), 1.0)
    shift = np.clip(np.ceil(np.log2(mag / 127.0)), 0, 31).astype(np.int64)
    value = np.clip(np.round(bias / np.exp2(shift)), -128, 127)
    return value.astype(np.int8), shift.astype(np.uint8)


class ZooBuilder:
    """Builds one zoo model layer by layer (see the module docstring).

    ``input_shape`` is (x, y, c) as Akida orders dims (``batch.shape[1:]``).  Bit widths:
    ``input_weight_bits`` for the input convolution, ``weight_bits`` and ``act_bits`` for the
    others.  ``density`` is the target fraction of non-zero activations of every activated
    layer; ``seed`` makes weights and calibration deterministic.
    """

    def __init__(self, target: str, input_shape: tuple, *, weight_bits: int = 4,
                 act_bits: int = 4, input_weight_bits: int = 8,
                 density: float = DEFAULT_DENSITY, seed: int = 0,
                 calibration_frames: int | None = None):
        if target not in ("v1", "v2"):
            raise InputError(f"unknown target {target!r}: use v1 (Akida 1.0) or v2 (Akida 2.0)")
        if not 0.0 < density < 1.0:
            raise InputError(f"density must be in (0, 1), got {density}")
        v1_act = target == "v1" and not 1 <= act_bits <= 4
        if v1_act or not 1 <= act_bits <= 8:
            raise InputError(f"act_bits={act_bits} is not supported on {target}: use 1..4 on v1, "
                             f"1..8 on v2")
        for name, bits in (("weight_bits", weight_bits), ("input_weight_bits", input_weight_bits)):
            if not 2 <= bits <= 8:
                raise InputError(f"{name}={bits} is not supported: use 2..8")
        self.target = target
        self.weight_bits, self.act_bits = weight_bits, act_bits
        self.input_weight_bits = input_weight_bits
        self.density = density
        self.rng = np.random.default_rng(seed)
        if calibration_frames is None:
            positions = int(input_shape[0]) * int(input_shape[1])
            calibration_frames = min(32, max(2, -(-CALIBRATION_PIXELS // positions)))
        self.calibration = calibration_inputs(input_shape, calibration_frames, seed + 1)
        self.input_shape = tuple(int(d) for d in input_shape)
        self.layers: list[Layer] = []
        self._cache: np.ndarray | None = None   # outputs of the last calibrated layer
        if target == "v2":
            x, y, c = self.input_shape
            self._append(make_layer("Quantizer", "input_quantizer", {
                "input_width": x, "input_height": y, "input_channels": c, "output_bits": 8,
                "output_signed": 0},
                {"scales": np.ones(1, np.float32), "zero_points": np.zeros(1, np.uint8)}))

    # ----- state ------------------------------------------------------------------------
    @property
    def dims(self) -> tuple:
        """Output dims (x, y, c) of the last layer added (the input shape at first)."""
        return tuple(self.layers[-1].output_dims) if self.layers else self.input_shape

    def _append(self, layer: Layer) -> None:
        self.layers.append(layer)
        Model(list(self.layers), self.target)    # validates the graph so far

    def _inbounds(self) -> list:
        return [self.layers[-1].name] if self.layers else []

    # ----- blocks -----------------------------------------------------------------------
    def input_conv(self, name: str, filters: int, kernel, stride: int = 1, pool=None) -> None:
        """The first convolution on the dense uint8 input (the HRC)."""
        self._conv(name, filters, kernel, stride, pool, first=True, last=False)

    def conv(self, name: str, filters: int, kernel, stride: int = 1, pool=None,
             last: bool = False) -> None:
        """Standard convolution; ``last`` = no activation (potentials out)."""
        self._conv(name, filters, kernel, stride, pool, first=False, last=last)

    def separable(self, name: str, filters: int, kernel: int = 3, stride: int = 1, pool=None,
                  last: bool = False) -> None:
        """Depthwise k x k (``stride``) then pointwise 1x1 to ``filters`` channels."""
        if self.target == "v1":
            self._conv(name, filters, kernel, stride, pool, first=False, last=last,
                       separable=True)
            return
        self._v2_conv("DepthwiseConv2D", f"dw_{name}", None, kernel, stride, None, last=False)
        self._v2_conv("Conv2D", f"pw_{name}", filters, 1, 1, pool, last=last)

    def dense(self, name: str, units: int, last: bool = True) -> None:
        """Fully connected layer on the flattened input (the classifier when ``last``)."""
        fan_in = int(np.prod(self.dims))
        wb = self.weight_bits
        if self.target == "v1":
            params = {"units": units, "weights_bits": wb, "act_bits": self.act_bits,
                      "activation": 0 if last else 1}
            variables = {"weights": _signed_weights(self.rng, wb, (1, 1, fan_in, units)),
                         "threshold": np.zeros(units, np.int32),
                         "act_step": np.ones(units, np.float32)}
            self._append(make_layer("FullyConnected", name, params, variables, self._inbounds()))
            self._calibrate_v1(last)
            return
        params = dict(units=units, weights_bits=wb, **self._v2_output_params(last))
        variables = {"weights": _signed_weights(self.rng, wb, (fan_in, units)),
                     "input_shift": np.zeros(fan_in, np.uint8)}
        variables.update(self._v2_neutral_stage(units, last))
        self._append(make_layer("Dense1D", name, params, variables, self._inbounds()))
        self._calibrate_v2(last)

    # ----- v1 ---------------------------------------------------------------------------
    def _conv(self, name, filters, kernel, stride, pool, *, first, last, separable=False):
        if self.target == "v2":
            kind = "InputConv2D" if first else "Conv2D"
            self._v2_conv(kind, name, filters, kernel, stride, pool, last=last)
            return
        kx, ky = (kernel, kernel) if isinstance(kernel, int) else kernel
        cin = self.dims[2]
        wb = self.input_weight_bits if first else self.weight_bits
        pool_type = _POOLS[pool]
        params = {"filters": filters, "kernel_width": kx, "kernel_height": ky,
                  "stride_x": stride, "stride_y": stride, "padding": PADDING_SAME,
                  "act_bits": self.act_bits, "activation": 0 if last else 1,
                  "weights_bits": wb, "pool_type": pool_type}
        if pool_type == POOL_MAX:
            params.update(pooling_width=2, pooling_height=2, pooling_stride_x=2,
                          pooling_stride_y=2)
        variables = {"threshold": np.zeros(filters, np.int32),
                     "act_step": np.ones(filters, np.float32)}
        if separable:
            variables["weights"] = _signed_weights(self.rng, wb, (ky, kx, cin, 1))
            variables["weights_pw"] = _signed_weights(self.rng, wb, (1, 1, cin, filters))
            kind = "SeparableConvolutional"
        else:
            variables["weights"] = _signed_weights(self.rng, wb, (ky, kx, cin, filters))
            kind = "Convolutional"
        if first:
            x, y, c = self.input_shape
            params.update(input_width=x, input_height=y, input_channels=c, padding_value=0)
            kind = "InputConvolutional"
        self._append(make_layer(kind, name, params, variables, self._inbounds()))
        self._calibrate_v1(last)

    def _run_last(self, layer: Layer) -> np.ndarray:
        """Outputs of ``layer`` (the last layer or a variant of it) on the calibration frames.

        The first compute layer runs behind the real input layers; later ones behind an
        ``InputData`` standing for their inbound, fed with the inbound's cached outputs (so a
        build costs one pass over the model, not one per layer)."""
        if self._cache is None:
            return Model(self.layers[:-1] + [layer], self.target).forward(self.calibration)
        prev = self.layers[-2]
        x, y, c = prev.output_dims
        head = make_layer("InputData", prev.name, {
            "input_width": x, "input_height": y, "input_channels": c,
            "input_bits": prev.output_bits, "input_signed": int(prev.output_signed)})
        return Model([head, layer], self.target).forward(self._cache)

    def _probe(self, params: dict, variables: dict) -> np.ndarray:
        """Outputs of a copy of the last layer with ``params``/``variables`` replaced, on the
        calibration frames, as (samples, channels) int64."""
        lay = self.layers[-1]
        probe = make_layer(lay.TYPE, lay.name, {**lay.params, **params},
                           {**lay.variables, **variables}, lay.inbounds)
        out = np.asarray(self._run_last(probe), np.int64)
        return out.reshape(-1, out.shape[-1])

    def _finish_layer(self) -> None:
        """Validate the model so far and cache the calibrated last layer's outputs."""
        Model(list(self.layers), self.target)    # validates the graph so far
        self._cache = self._run_last(self.layers[-1])
        callback = _PROGRESS.get()
        if callback is not None:
            callback(self.layers[-1].name)

    def _per_channel(self, samples: np.ndarray) -> bool:
        return samples.shape[0] >= MIN_SAMPLES_PER_CHANNEL

    def _calibrate_v1(self, last: bool) -> None:
        lay = self.layers[-1]
        pot = self._probe({"activation": 0}, {})
        per_channel = self._per_channel(pot)
        if last:
            step = np.maximum(pot.std(axis=0), 1.0)
            lay.variables["act_step"] = step.astype(np.float32)
            self._finish_layer()
            return
        thr = _quantile(pot, 1.0 - self.density, per_channel)
        above = np.where(pot > thr, pot - thr, 0)
        hi = self._saturation_level(above, per_channel)
        top = (1 << self.act_bits) - 1
        step = np.maximum(hi / max(top - 1, 1), 1.0)   # hi -> top - 1: above it saturates
        lay.variables["threshold"] = np.clip(thr, -(2**31), 2**31 - 1).astype(np.int32)
        lay.variables["act_step"] = step.astype(np.float32)
        self._finish_layer()

    @staticmethod
    def _saturation_level(above: np.ndarray, per_channel: bool) -> np.ndarray:
        """Per channel, the 99.5th percentile of the positive values of ``above`` (samples,
        channels), at least 1.  Channels share one distribution shape and differ in scale:
        each channel's positives are divided by their mean (the layer's mean when not
        ``per_channel``), the percentile is taken over all of them, and scaled back, which
        stays accurate for channels with few samples (small maps, depthwise layers)."""
        positive = above > 0
        total = above[positive]
        if total.size == 0:
            return np.ones(above.shape[1])
        if per_channel:
            count = positive.sum(axis=0)
            mean = np.where(count > 0, np.where(positive, above, 0).sum(axis=0)
                            / np.maximum(count, 1), total.mean())
        else:
            mean = np.full(above.shape[1], total.mean())
        normalised = (above / mean)[positive]
        return np.maximum(np.quantile(normalised, SATURATION_QUANTILE) * mean, 1.0)

    # ----- v2 ---------------------------------------------------------------------------
    def _v2_output_params(self, last: bool) -> dict:
        if last:
            return {"activation": ACT_NONE, "output_bits": 28, "buffer_bits": 28,
                "post_op_buffer_bits": 32}
        return {"activation": ACT_RELU, "output_bits": self.act_bits, "buffer_bits": 28,
                "post_op_buffer_bits": 32}

    @staticmethod
    def _v2_neutral_stage(filters: int, last: bool) -> dict:
        stage = {"bias": np.zeros(filters, np.int8), "bias_shift": np.zeros(filters, np.uint8),
                 "output_scales": np.ones(filters, np.uint8),
                 "output_shift": np.zeros(filters, np.int8)}
        if not last:
            stage["max_value"] = np.full(filters, 127, np.uint8)
            stage["max_value_shift"] = np.full(filters, 31, np.uint8)
        return stage

    def _v2_conv(self, kind, name, filters, kernel, stride, pool, *, last):
        if not isinstance(kernel, int):
            if kernel[0] != kernel[1] and min(self.dims[:2]) > 1:
                raise InputError(f"layer '{name}': Akida 2.0 convolutions have square kernels, "
                                 f"got {kernel}")
            kernel = max(kernel)   # on a 1-row map a k x k 'same' kernel is a 1-D kernel
        cin = self.dims[2]
        first = kind == "InputConv2D"
        wb = self.input_weight_bits if first else self.weight_bits
        pool_type = _POOLS[pool]
        params = dict(kernel_size=kernel, kernel_stride=stride, padding=PADDING_SAME,
                      pool_type=pool_type, pool_size=2 if pool_type == POOL_MAX else -1,
                      pool_stride=2 if pool_type == POOL_MAX else -1, weights_bits=wb,
                      **self._v2_output_params(last))
        out_ch = cin if kind == "DepthwiseConv2D" else filters
        if pool_type == POOL_AVG and not last:
            params["output_bits"] = 8   # quantizeml's 8-bit output after global pooling
        if kind == "DepthwiseConv2D":
            variables = {"weights": _signed_weights(self.rng, wb, (kernel, kernel, cin, 1))}
        else:
            params["filters"] = filters
            variables = {"weights": _signed_weights(self.rng, wb, (kernel, kernel, cin, filters))}
        if first:
            x, y, c = self.input_shape
            params.update(input_x=x, input_y=y, input_channels=c)
            variables["padding_value"] = np.zeros(c, np.uint8)
        else:
            variables["input_shift"] = np.zeros(cin, np.uint8)
        variables.update(self._v2_neutral_stage(out_ch, last))
        self._append(make_layer(kind, name, params, variables, self._inbounds()))
        self._calibrate_v2(last)

    def _calibrate_v2(self, last: bool) -> None:
        lay = self.layers[-1]
        gap = lay.params.get("pool_type") == POOL_AVG
        probe_params = {"activation": ACT_NONE, "output_bits": 32}
        if gap:
            probe_params["pool_type"] = POOL_NONE
        neutral = self._v2_neutral_stage(lay.filters_out, True)
        pot = self._probe(probe_params, neutral)
        if last:
            # no activation: potentials go to the Dequantizer
            self._finish_layer()
            return
        frames = self.calibration.shape[0]
        per_channel = self._per_channel(pot)
        thr = _quantile(pot, 1.0 - self.density, per_channel).astype(np.float64)
        hi_out = (1 << (lay.output_bits - int(lay.output_signed))) - 1
        for _ in range(2):   # 2nd round: fire from half an output step below the threshold
            bias, bias_shift = _bias_encoding(-thr)
            eff = bias.astype(np.int64) << bias_shift.astype(np.int64)
            relu = np.maximum(pot + eff, 0)
            if gap:
                relu = relu.reshape(frames, -1, relu.shape[-1]).sum(axis=1)
            hi = self._saturation_level(relu, per_channel and not gap)
            scale, shift = _scale_shift(max(hi_out - 1, 1) / hi)   # hi -> top - 1
            if gap:
                break
            gain = scale.astype(np.float64) * np.exp2(shift.astype(np.float64))
            thr = thr - 0.5 / gain
        lay.variables.update(bias=bias, bias_shift=bias_shift, output_scales=scale,
                             output_shift=shift)
        self._finish_layer()

    # ----- result -----------------------------------------------------------------------
    def build(self, metadata: dict) -> Model:
        """The finished model (v2: with its Dequantizer), carrying ``metadata``."""
        layers = list(self.layers)
        if self.target == "v2":
            last = self.layers[-1]
            pot = np.asarray(self._cache, np.float64)
            spread = np.maximum(pot.reshape(-1, pot.shape[-1]).std(axis=0), 1.0)
            layers.append(make_layer("Dequantizer", "dequantizer", {}, {
                "scales": (1.0 / spread).astype(np.float32)}, [last.name]))
        return Model(layers, self.target, metadata)


def scaled(filters: int, alpha: float) -> int:
    """``int(filters * alpha)`` as akida_models scales widths (at least 1)."""
    return max(1, int(filters * alpha))


__all__ = ["DEFAULT_DENSITY", "ZooBuilder", "build_progress", "calibration_inputs", "scaled"]

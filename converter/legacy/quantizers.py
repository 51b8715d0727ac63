"""Weight quantizers of the legacy CNN2SNN API, as serialisable tf_keras objects.

Every quantizer is symmetric, uniform and mid-tread: an ``n``-bit quantizer maps a float weight
``w`` to the integer ``k = clip(round_half_even(w * sf), -kmax, kmax)`` with
``kmax = 2**(n-1) - 1`` and returns the float ``k / sf``; ``sf`` (the scale factor, float32, 1 per
tensor or 1 per output channel = last axis) is what :meth:`WeightQuantizer.scale_factor` returns.
The rounding passes gradients straight through, so quantization-aware training (``model.fit``)
updates float shadow weights.  Scale factors are clipped to [0, 1000].

Class names and configs are those of ``cnn2snn.quantization_ops``, so ``.h5`` files written by
either tool load with the other's classes.
"""
from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

from nsoc.errors import ConversionError

MAX_SCALE_FACTOR = 1e3
MIN_WEIGHT_BITS, MAX_WEIGHT_BITS = 2, 8


def round_through(x):
    """Round half to even in the forward pass, identity gradient (straight-through estimator)."""
    return x + tf.stop_gradient(tf.round(x) - x)


def ceil_through(x):
    """Ceil in the forward pass, identity gradient (straight-through estimator)."""
    return x + tf.stop_gradient(tf.math.ceil(x) - x)


def _clip_scale_factor(sf):
    return tf.clip_by_value(sf, 0.0, MAX_SCALE_FACTOR)


class WeightQuantizer(keras.layers.Layer):
    """Base class: ``quantize(w)`` returns the float32 weights on the grid ``k / scale_factor(w)``.

    ``bitwidth`` (2-8) gives ``2**bitwidth - 1`` levels, integers in ``[-kmax, kmax]``.
    Subclasses implement :meth:`scale_factor`.
    """

    def __init__(self, bitwidth=4, **kwargs):
        if isinstance(bitwidth, bool) or int(bitwidth) != bitwidth or \
                not MIN_WEIGHT_BITS <= int(bitwidth) <= MAX_WEIGHT_BITS:
            raise ConversionError(
                f"weight quantizer bitwidth must be an integer in [{MIN_WEIGHT_BITS}, "
                f"{MAX_WEIGHT_BITS}] (1 bit leaves no non-zero level); got {bitwidth!r}")
        self.bitwidth_ = int(bitwidth)
        self.kmax_ = float(2 ** (self.bitwidth_ - 1) - 1)
        super().__init__(**kwargs)

    @property
    def bitwidth(self) -> int:
        return self.bitwidth_

    @property
    def kmax(self) -> float:
        """Largest integer magnitude: ``2**(bitwidth-1) - 1``."""
        return self.kmax_

    def scale_factor(self, w):
        """float32 factor(s) turning quantized weights into integers (scalar or per last axis)."""
        raise NotImplementedError(f"{type(self).__name__} does not define scale_factor")

    def quantize(self, w):
        """float32 weights rounded to the quantization grid (straight-through gradient)."""
        sf = self.scale_factor(w)
        return tf.clip_by_value(round_through(w * sf), -self.kmax_, self.kmax_) / sf

    def call(self, inputs):
        return self.quantize(inputs)

    def get_config(self):
        config = super().get_config()
        config["bitwidth"] = self.bitwidth_
        return config


class MaxQuantizer(WeightQuantizer):
    """Per-tensor scale: ``sf = kmax / max|w|``."""

    def max_range(self, w):
        return tf.math.reduce_max(tf.math.abs(w))

    def scale_factor(self, w):
        return _clip_scale_factor(self.kmax_ / self.max_range(w))


class MaxPerAxisQuantizer(MaxQuantizer):
    """Per-output-channel scale: ``sf[c] = kmax / max|w[..., c]|`` (max floored at 1e-10)."""

    def max_range(self, w):
        axes = tf.range(tf.rank(w) - 1)
        return tf.clip_by_value(tf.math.reduce_max(tf.math.abs(w), axes), 1e-10,
                                tf.float32.max)


class StdWeightQuantizer(WeightQuantizer):
    """Per-tensor scale from the spread: ``sf = kmax / (threshold * std(w))``.

    Weights beyond ``threshold`` standard deviations saturate at ``+-kmax``.
    """

    def __init__(self, threshold=3, bitwidth=4, **kwargs):
        try:
            self.threshold_ = float(threshold)
        except (TypeError, ValueError):
            raise ConversionError(
                f"StdWeightQuantizer threshold must be a number; got {threshold!r}") from None
        super().__init__(bitwidth, **kwargs)

    @property
    def threshold(self) -> float:
        return self.threshold_

    def sigma(self, w):
        return tf.math.reduce_std(w)

    def scale_factor(self, w):
        return _clip_scale_factor(self.kmax_ / (self.sigma(w) * self.threshold_))

    def get_config(self):
        config = super().get_config()
        config["threshold"] = self.threshold_
        return config


class StdPerAxisQuantizer(StdWeightQuantizer):
    """Per-output-channel :class:`StdWeightQuantizer` (std over all axes but the last)."""

    def sigma(self, w):
        return tf.math.reduce_std(w, tf.range(tf.rank(w) - 1))


QUANTIZER_OBJECTS = {cls.__name__: cls for cls in (
    MaxQuantizer, MaxPerAxisQuantizer, StdWeightQuantizer, StdPerAxisQuantizer)}


def get(identifier) -> WeightQuantizer:
    """A quantizer from an instance or its serialised config dict."""
    if isinstance(identifier, WeightQuantizer):
        return identifier
    if isinstance(identifier, dict) and identifier.get("class_name") in QUANTIZER_OBJECTS:
        cls = QUANTIZER_OBJECTS[identifier["class_name"]]
        return cls.from_config(dict(identifier.get("config", {})))
    raise ConversionError(
        f"cannot interpret {identifier!r} as a weight quantizer; pass one of "
        f"{sorted(QUANTIZER_OBJECTS)} or its get_config() serialisation")

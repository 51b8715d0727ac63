"""Quantization-aware tf_keras layers of the legacy CNN2SNN API.

Neural layers keep float32 "shadow" weights and quantize them in every forward pass with their
``quantizer`` (a :class:`~nsoc.converter.legacy.quantizers.WeightQuantizer`); the rounding has a
straight-through gradient, so ``model.fit`` trains the shadow weights.  :class:`QuantizedReLU`
quantizes activations to ``2**bitwidth - 1`` levels of ``step = max_value / levels``.

Class names and configs match ``cnn2snn.quantization_layers``; importing this module registers
every class in tf_keras' global custom objects, so ``tf_keras.models.load_model`` reads files
written by nsoc or by cnn2snn.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

from nsoc.errors import ConversionError

from . import quantizers as q
from .quantizers import ceil_through


def _reject_unsupported(cls, kwargs):
    for arg, default in cls.UNSUPPORTED_ARGS.items():
        if arg in kwargs:
            value = kwargs.pop(arg)
            if value not in (default, None):
                raise ConversionError(
                    f"{cls.__name__} '{kwargs.get('name', '')}' only supports {arg}={default!r}, "
                    f"got {value!r}; remove the argument (put a separate activation layer after)")


def _drop_unsupported(cls, config):
    for arg in cls.UNSUPPORTED_ARGS:
        config.pop(arg, None)
    return config


class QuantizedConv2D(keras.layers.Conv2D):
    """Conv2D whose kernel goes through ``quantizer`` (per-axis by default) in every call."""

    UNSUPPORTED_ARGS = {"data_format": "channels_last", "activation": "linear", "groups": 1}

    def __init__(self, filters, kernel_size, quantizer, **kwargs):
        _reject_unsupported(type(self), kwargs)
        self.quantizer = q.get(quantizer)
        super().__init__(filters=filters, kernel_size=kernel_size, **kwargs)

    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, self.quantizer.quantize(kernel))

    def get_config(self):
        config = _drop_unsupported(type(self), super().get_config())
        config["quantizer"] = keras.utils.serialize_keras_object(self.quantizer)
        return config


class QuantizedDense(keras.layers.Dense):
    """Dense whose kernel goes through ``quantizer`` in every call (no fused activation)."""

    UNSUPPORTED_ARGS = {"activation": "linear"}

    def __init__(self, units, quantizer, **kwargs):
        _reject_unsupported(type(self), kwargs)
        self.quantizer = q.get(quantizer)
        super().__init__(units=units, **kwargs)

    def call(self, inputs):
        if inputs.dtype != self.compute_dtype:
            inputs = tf.cast(inputs, self.compute_dtype)
        kernel = self.quantizer.quantize(self.kernel)
        rank = inputs.shape.rank
        if rank == 2:
            outputs = tf.matmul(inputs, kernel)
        else:
            outputs = tf.tensordot(inputs, kernel, [[rank - 1], [0]])
        if self.use_bias:
            outputs = tf.nn.bias_add(outputs, self.bias)
        return outputs

    def get_config(self):
        config = _drop_unsupported(type(self), super().get_config())
        config["quantizer"] = keras.utils.serialize_keras_object(self.quantizer)
        return config


class QuantizedSeparableConv2D(keras.layers.SeparableConv2D):
    """SeparableConv2D: depthwise kernel through ``quantizer_dw`` (per tensor), pointwise
    kernel through ``quantizer``; ``quantizer_dw`` defaults to a copy of ``quantizer``."""

    UNSUPPORTED_ARGS = {"data_format": "channels_last", "activation": "linear",
                        "depth_multiplier": 1}

    def __init__(self, filters, kernel_size, quantizer, quantizer_dw=None, **kwargs):
        _reject_unsupported(type(self), kwargs)
        self.quantizer = q.get(quantizer)
        if quantizer_dw is None:
            quantizer_dw = type(self.quantizer).from_config(self.quantizer.get_config())
        self.quantizer_dw = q.get(quantizer_dw)
        super().__init__(filters=filters, kernel_size=kernel_size, **kwargs)

    def call(self, inputs):
        outputs = tf.nn.separable_conv2d(
            inputs, self.quantizer_dw.quantize(self.depthwise_kernel),
            self.quantizer.quantize(self.pointwise_kernel), strides=(1,) + self.strides + (1,),
            padding=self.padding.upper(), dilations=self.dilation_rate, data_format="NHWC")
        if self.use_bias:
            outputs = tf.nn.bias_add(outputs, self.bias, data_format="NHWC")
        return outputs

    def get_config(self):
        config = _drop_unsupported(type(self), super().get_config())
        config["quantizer_dw"] = keras.utils.serialize_keras_object(self.quantizer_dw)
        config["quantizer"] = keras.utils.serialize_keras_object(self.quantizer)
        return config


class QuantizedActivation(keras.layers.Layer):
    """Base of the quantized ReLUs: ``2**bitwidth - 1`` levels of a float32 ``step``.

    ``y = step * clip(ceil((x - step/2) / step), 0, levels)``: zero up to half a step, then
    rounded to the nearest level (ties down), saturating at ``levels * step``.
    """

    def __init__(self, bitwidth=1, **kwargs):
        if isinstance(bitwidth, bool) or int(bitwidth) != bitwidth or not 1 <= bitwidth <= 8:
            raise ConversionError(
                f"activation bitwidth must be an integer in [1, 8]; got {bitwidth!r}")
        self.bitwidth_ = int(bitwidth)
        self.levels = 2.0 ** self.bitwidth_ - 1
        super().__init__(**kwargs)

    @property
    def bitwidth(self) -> int:
        return self.bitwidth_

    @property
    def step(self):
        raise NotImplementedError(f"{type(self).__name__} does not define step")

    @property
    def threshold(self):
        """Half a step (float32): the input below which the output is zero."""
        return self.step * 0.5

    def call(self, inputs):
        levels = ceil_through((inputs - self.threshold) / self.step)
        return self.step * tf.clip_by_value(levels, 0.0, self.levels)

    def get_config(self):
        config = super().get_config()
        config["bitwidth"] = self.bitwidth_
        return config


class QuantizedReLU(QuantizedActivation):
    """ReLU bounded by ``max_value`` (default ``2**bitwidth - 1``); ``step = max_value / levels``.
    """

    def __init__(self, bitwidth=1, max_value=None, **kwargs):
        super().__init__(bitwidth, **kwargs)
        if max_value is None:
            max_value = 2.0 ** self.bitwidth_ - 1
        if not float(max_value) > 0:
            raise ConversionError(f"QuantizedReLU max_value must be > 0; got {max_value!r}")
        self.max_value_ = tf.constant(max_value, dtype=tf.float32)
        self.step_ = tf.constant(self.max_value_ / self.levels, dtype=tf.float32)

    @property
    def max_value(self):
        return self.max_value_

    @property
    def step(self):
        return self.step_

    def get_config(self):
        config = super().get_config()
        config["max_value"] = float(np.float32(self.max_value_.numpy()))
        return config


class ActivationDiscreteRelu(QuantizedActivation):
    """Older fixed quantized ReLU: ``step = min(levels, 6) / levels``."""

    def __init__(self, bitwidth=1, **kwargs):
        super().__init__(bitwidth, **kwargs)
        self.step_ = tf.constant(min(self.levels, 6) / self.levels)

    @property
    def step(self):
        return self.step_


NEURAL_LAYERS = (QuantizedConv2D, QuantizedSeparableConv2D, QuantizedDense)

LEGACY_OBJECTS = dict(q.QUANTIZER_OBJECTS)
LEGACY_OBJECTS.update({cls.__name__: cls for cls in (
    QuantizedConv2D, QuantizedSeparableConv2D, QuantizedDense, QuantizedReLU,
    ActivationDiscreteRelu)})
# Not registered globally: Keras looks global custom objects up before a loader's own
# ``custom_objects``, so a global "QuantizedConv2D" would hijack cnn2snn's
# ``load_quantized_model`` in the same process.  nsoc's loaders pass LEGACY_OBJECTS explicitly.

"""Post-training weight calibration of legacy quantized models: bias correction and AdaRound.

Both walk the quantized neural layers in order; each layer sees the inputs produced by the model
as calibrated so far, and its quantized outputs are compared with the outputs its float (shadow)
weights would give on the same inputs.

* :func:`bias_correction` (Nagel et al. 2019, arXiv:1906.04721): add the mean output error per
  channel to the bias.
* :func:`adaround` (Nagel et al. 2020, arXiv:2004.10568): learn, for every weight, whether to
  round its scaled value down or up, minimising the output error plus an annealed rounding
  regulariser; the chosen integer weights are written back as float shadow weights on the grid.
"""
from __future__ import annotations

import math

import numpy as np
import tensorflow as tf
import tf_keras as keras

from nsoc.errors import ConversionError, InputError

from .layers import LEGACY_OBJECTS, NEURAL_LAYERS, QuantizedActivation, QuantizedSeparableConv2D
from .transforms import sequentialize

# AdaRound rectified sigmoid stretch and regulariser schedule (values of the paper)
_GAMMA, _ZETA = -0.1, 1.1
_BETA_START, _BETA_END = 20.0, 2.0
_ROUNDING_WEIGHT = 0.01


def _check_samples(model, samples, batch_size):
    if not any(isinstance(lay, NEURAL_LAYERS) for lay in sequentialize(model).layers):
        raise ConversionError(
            f"model '{model.name}' has no legacy quantized layer to calibrate; quantize it first "
            "(nsoc.converter.legacy.quantize or nsoc quantize)")
    samples = np.asarray(samples)
    if samples.dtype.kind not in "uif" or samples.ndim != len(model.input_shape) or \
            tuple(samples.shape[1:]) != tuple(model.input_shape[1:]):
        raise InputError(
            f"calibration samples must be a numeric array of shape (N,) + "
            f"{tuple(model.input_shape[1:])}; got {samples.dtype} {samples.shape}")
    if len(samples) == 0:
        raise InputError("calibration needs at least one sample")
    if batch_size is None:
        batch_size = len(samples)
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer; got {batch_size!r}")
    batch_size = int(batch_size)
    x = samples.astype(np.float32)
    return [x[i:i + batch_size] for i in range(0, len(x), batch_size)]


def _with_biases(model) -> keras.Sequential:
    """Sequential copy where every quantized neural layer has a (zero if new) bias."""
    seq = sequentialize(model)
    out = keras.Sequential(name=seq.name)
    out.add(keras.Input(seq.input_shape[1:]))
    for layer in seq.layers:
        config = layer.get_config()
        weights = layer.get_weights()
        if isinstance(layer, NEURAL_LAYERS) and not layer.use_bias:
            config["use_bias"] = True
            k = 1 if isinstance(layer, QuantizedSeparableConv2D) else 0
            n = int(weights[k].shape[-1])
            weights.insert(k + 1, np.zeros(n, np.float32))
        with keras.utils.custom_object_scope(LEGACY_OBJECTS):
            clone = type(layer).from_config(config)
        out.add(clone)
        clone.set_weights(weights)
    return out


def _kernels(layer):
    """The float kernel(s) of a quantized neural layer and their quantizer(s)."""
    if isinstance(layer, QuantizedSeparableConv2D):
        return [layer.depthwise_kernel, layer.pointwise_kernel], [layer.quantizer_dw,
                                                                  layer.quantizer]
    return [layer.kernel], [layer.quantizer]


def _apply(layer, x, kernels):
    """The layer's output on ``x`` with explicit float ``kernels`` (no quantization)."""
    if isinstance(layer, QuantizedSeparableConv2D):
        y = tf.nn.separable_conv2d(x, kernels[0], kernels[1], (1,) + layer.strides + (1,),
                                   layer.padding.upper())
    elif isinstance(layer, keras.layers.Conv2D):
        y = tf.nn.conv2d(x, kernels[0], layer.strides, layer.padding.upper())
    else:
        y = tf.tensordot(x, kernels[0], [[x.shape.rank - 1], [0]])
    return tf.nn.bias_add(y, layer.bias) if layer.use_bias else y


class _Calibrator:
    """Inputs of a layer (from the model as calibrated so far) and its float/quantized outputs."""

    def __init__(self, model, batches):
        self.model, self.batches = model, batches

    def select(self, layer, include_activation=False):
        self.layer = layer
        layers = self.model.layers
        idx = layers.index(layer)
        if idx == 0:
            self.inputs = [tf.constant(b) for b in self.batches]
        else:
            sub = keras.Model(self.model.inputs, layers[idx - 1].output)
            self.inputs = [sub(b, training=False) for b in self.batches]
        self.tail = []
        if include_activation:
            for nxt in layers[idx + 1:]:
                if isinstance(nxt, NEURAL_LAYERS):
                    break
                self.tail.append(nxt)
                if isinstance(nxt, QuantizedActivation):
                    break
            if not self.tail or not isinstance(self.tail[-1], QuantizedActivation):
                self.tail = []

    def outputs(self, i, kernels):
        y = _apply(self.layer, self.inputs[i], kernels)
        for nxt in self.tail:
            y = nxt(y, training=False)
        return y

    def float_kernels(self):
        return [tf.identity(k) for k in _kernels(self.layer)[0]]

    def quantized_kernels(self):
        kernels, quantizers = _kernels(self.layer)
        return [qz.quantize(k) for k, qz in zip(kernels, quantizers, strict=False)]


def _mse(a, b):
    return float(tf.reduce_mean(tf.square(a - b)))


def bias_correction(model, samples, batch_size=None, verbose=True):
    """A copy of the quantized ``model`` whose biases absorb the mean quantization error.

    ``samples``: float inputs shaped like the model input (a few dozen are enough).
    """
    batches = _check_samples(model, samples, batch_size)
    out = _with_biases(model)
    cal = _Calibrator(out, batches)
    for layer in out.layers:
        if not isinstance(layer, NEURAL_LAYERS):
            continue
        cal.select(layer)
        fk = cal.float_kernels()
        total = len(samples)
        correction = 0.0
        before = after = 0.0
        floats = []
        for i, b in enumerate(batches):
            f = cal.outputs(i, fk)
            qo = cal.outputs(i, cal.quantized_kernels())
            floats.append(f)
            axes = list(range(f.shape.rank - 1))
            correction += tf.reduce_mean(f - qo, axis=axes).numpy() * (len(b) / total)
            before += _mse(f, qo) * len(b) / total
        weights = layer.get_weights()
        k = 2 if isinstance(layer, QuantizedSeparableConv2D) else 1
        weights[k] = (weights[k] + correction).astype(np.float32)
        layer.set_weights(weights)
        for i, b in enumerate(batches):
            after += _mse(floats[i], cal.outputs(i, cal.quantized_kernels())) * len(b) / total
        if verbose:
            print(f"bias correction {layer.name}: output MSE {before:.6g} -> {after:.6g}")
    return out


def _rectified_sigmoid(alpha):
    return tf.clip_by_value(tf.sigmoid(alpha) * (_ZETA - _GAMMA) + _GAMMA, 0.0, 1.0)


def adaround(model, samples, optimizer=None, epochs=10, loss=None, batch_size=None,
             include_activation=False, learning_rate=1e-2, verbose=True):
    """A copy of the quantized ``model`` whose weights are rounded up or down to minimise each
    layer's output error on ``samples`` (AdaRound).

    ``optimizer`` defaults to ``Adam(learning_rate)``, ``loss`` to the mean squared error;
    ``include_activation`` compares outputs after the layer's quantized activation.
    """
    batches = _check_samples(model, samples, batch_size)
    if isinstance(epochs, bool) or int(epochs) != epochs or epochs < 1:
        raise InputError(f"epochs must be a positive integer; got {epochs!r}")
    if not learning_rate > 0:
        raise InputError(f"learning_rate must be > 0; got {learning_rate!r}")
    loss = loss or keras.losses.MeanSquaredError()
    seq = sequentialize(model)
    cal = _Calibrator(seq, batches)
    for layer in seq.layers:
        if not isinstance(layer, NEURAL_LAYERS):
            continue
        opt = (type(optimizer).from_config(optimizer.get_config()) if optimizer is not None
               else keras.optimizers.Adam(learning_rate=learning_rate))
        cal.select(layer, include_activation)
        kernels, quantizers = _kernels(layer)
        sfs, floors, alphas, kmaxs = [], [], [], []
        for k, qz in zip(kernels, quantizers, strict=False):
            sf = qz.scale_factor(k)
            scaled = k * sf
            floor = tf.floor(scaled)
            d = tf.clip_by_value(scaled - floor, 1e-4, 1 - 1e-4)
            alpha = tf.Variable(-tf.math.log((_ZETA - _GAMMA) / (d - _GAMMA) - 1), name="alpha")
            sfs.append(sf), floors.append(floor), alphas.append(alpha), kmaxs.append(qz.kmax)

        def recons(hard=False, sfs=sfs, floors=floors, alphas=alphas, kmaxs=kmaxs):
            out = []
            for sf, floor, alpha, kmax in zip(sfs, floors, alphas, kmaxs, strict=False):
                h = _rectified_sigmoid(alpha)
                if hard:
                    h = tf.cast(h >= 0.5, tf.float32)
                out.append(tf.clip_by_value(floor + h, -kmax, kmax) / sf)
            return out

        targets = [cal.outputs(i, cal.float_kernels()) for i in range(len(batches))]
        before = np.mean([_mse(t, cal.outputs(i, cal.quantized_kernels()))
                          for i, t in enumerate(targets)])
        for epoch in range(int(epochs)):
            beta = _BETA_END + (_BETA_START - _BETA_END) * 0.5 * (
                1 + math.cos(math.pi * epoch / epochs))
            for i, target in enumerate(targets):
                with tf.GradientTape() as tape:
                    out = cal.outputs(i, recons())
                    rounding = tf.add_n([tf.reduce_sum(1 - tf.abs(2 * _rectified_sigmoid(a) - 1)
                                                       ** beta) for a in alphas])
                    total = loss(target, out) + _ROUNDING_WEIGHT * rounding
                grads = tape.gradient(total, alphas)
                opt.apply_gradients(zip(grads, alphas, strict=False))
        new_kernels = [k.numpy() for k in recons(hard=True)]
        weights = layer.get_weights()
        weights[:len(new_kernels)] = new_kernels
        layer.set_weights(weights)
        after = np.mean([_mse(t, cal.outputs(i, cal.quantized_kernels()))
                         for i, t in enumerate(targets)])
        if verbose:
            print(f"adaround {layer.name}: output MSE {before:.6g} -> {after:.6g}")
    return seq

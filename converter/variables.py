"""The one place computing Akida integer variables from quantizeml quantizers, per target version.

Akida 2.0 (integer potentials, shifts and 8-bit scales):

* ``weights`` are the quantized integer weights (int8 storage whatever the bit width).
* ``bias`` is the aligned integer bias right-shifted by its ``bias_shift`` (effective bias
  ``bias << bias_shift``); ``input_shift`` aligns the inputs.
* ``output_scales`` (uint8) and ``output_shift`` (int8, clipped to ``1 - buffer_bits``) come from
  the block's ``OutputQuantizer``: ``out = (potential * scale) >> -shift``.
* a ReLU's clip value is ``max_value << max_value_shift``; an unbounded ReLU gets 127 / 31.

Akida 1.0 (threshold and activation step):

* ``threshold = -bias`` (int32), multiplied by the pooled area after a global average pooling,
  plus ``round(act_step / 2)`` for an activation (rounding to nearest);
* ``act_step = 2**-shift / scales`` (float32), times ``2**(act_bits - 4)`` for an activation.
"""
from __future__ import annotations

import warnings

import numpy as np

from nsoc.errors import ConversionError

# Akida 1.0 hardware limits of the activation step and threshold (HRC: input layer).
V1_HRC_ACT_STEP_MAX = (1 << 20) - 1
V1_CNP_ACT_STEP_MAX = (1 << 16) - 1
V1_HRC_THRESHOLD_BITS = 24
V1_CNP_THRESHOLD_BITS = 20

UNBOUNDED_MAX_VALUE, UNBOUNDED_MAX_VALUE_SHIFT = 127, 31


def _np(tensor) -> np.ndarray:
    return np.asarray(tensor.numpy() if hasattr(tensor, "numpy") else tensor)


def broadcast(value, size: int, dtype, what: str) -> np.ndarray:
    """``value`` as a C-contiguous 1-D array of ``size`` elements (a scalar is repeated)."""
    arr = np.asarray(value)
    if arr.size == 1:
        return np.full((size,), arr.reshape(()), dtype=dtype)
    if arr.size != size:
        raise ConversionError(f"{what}: expected {size} values, got an array of shape {arr.shape}")
    return np.ascontiguousarray(arr.reshape(size).astype(dtype))


def int_weights(quantizer) -> np.ndarray:
    """Integer weights recorded by a quantizeml ``WeightQuantizer``."""
    return _np(quantizer.qweights.value.fp.values)


def aligned_values(quantizer) -> tuple[np.ndarray, np.ndarray]:
    """(integer values int32, shift uint8) recorded by an ``AlignedWeightQuantizer``."""
    values = _np(quantizer.qweights.value.values).astype(np.int32)
    shift = _np(quantizer.shift.value).astype(np.uint8)
    return values, shift


def padding_value(layer) -> np.ndarray:
    """The integer padding value of a convolution (a Rescaling offset), 0 when absent."""
    if getattr(layer, "padding_value", None) is None:
        return np.zeros((1,), np.int32)
    values, _ = aligned_values(layer.padding_value_quantizer)
    if np.any(values < 0) or np.any(values > 255):
        raise ConversionError(
            f"layer '{layer.name}': padding value {values} does not fit in uint8 [0, 255]; "
            f"use a Rescaling whose offset maps the padding into the input range")
    return values


# ============================ Akida 2.0 ======================================================
def v2_weights_bias(layer, n_out: int, flip: bool) -> dict:
    """weights (flipped spatially for event convolutions), bias and bias_shift."""
    weights = int_weights(layer.weight_quantizer)
    if flip:
        weights = np.flip(weights, axis=(0, 1))
    out = {"weights": np.ascontiguousarray(weights.astype(np.int8))}
    if getattr(layer, "use_bias", False) and getattr(layer, "bias_quantizer", None) is not None:
        bias, shift = aligned_values(layer.bias_quantizer)
        shift = broadcast(shift, n_out, np.uint8, f"{layer.name} bias shift")
        out["bias"] = broadcast(bias, n_out, np.int32, f"{layer.name} bias") >> shift
        out["bias"] = out["bias"].astype(np.int8)
        out["bias_shift"] = shift
    else:
        out["bias"] = np.zeros((n_out,), np.int8)
        out["bias_shift"] = np.zeros((n_out,), np.uint8)
    return out


def v2_input_shift(layer, size: int, channels: int | None = None) -> np.ndarray:
    """``input_shift`` of a layer (zeros when quantizeml recorded none).

    A per-channel shift is tiled over the (x, y, c)-flattened input of a Dense1D (``channels``).
    """
    rec = getattr(layer, "input_shift", None)
    if rec is None:
        return np.zeros((size,), np.uint8)
    shift = _np(rec.value).astype(np.uint8).reshape(-1)
    if channels is not None and shift.size == channels and size != channels:
        shift = np.tile(shift, size // channels)
    return broadcast(shift, size, np.uint8, f"{layer.name} input shift")


def v2_relu(relu, n_out: int) -> dict:
    """max_value and max_value_shift of a ReLU (127 / 31 when unbounded)."""
    if getattr(relu, "max_value", None) is None:
        return {"max_value": np.full((n_out,), UNBOUNDED_MAX_VALUE, np.uint8),
                "max_value_shift": np.full((n_out,), UNBOUNDED_MAX_VALUE_SHIFT, np.uint8)}
    value, shift = aligned_values(relu.max_value_quantizer)
    shift = broadcast(shift, n_out, np.uint8, f"{relu.name} max value shift")
    value = broadcast(value, n_out, np.int32, f"{relu.name} max value") >> shift
    if np.any(value < 0) or np.any(value > 255):
        raise ConversionError(f"layer '{relu.name}': ReLU max value {value} does not fit uint8")
    return {"max_value": value.astype(np.uint8), "max_value_shift": shift}


def v2_output(out_quantizer, n_out: int, buffer_bits: int, with_scales: bool = True) -> dict:
    """output_scales / output_shift from the block's OutputQuantizer (1 / 0 without one)."""
    out = {}
    if out_quantizer is None:
        if with_scales:
            out["output_scales"] = np.ones((n_out,), np.uint8)
        out["output_shift"] = np.zeros((n_out,), np.int8)
        return out
    if with_scales:
        scales = _np(out_quantizer.qscales.value.values) if hasattr(out_quantizer, "qscales") \
            else np.ones((1,))
        out["output_scales"] = broadcast(scales, n_out, np.uint8, "output scales")
    shift = np.maximum(_np(out_quantizer.shift.value), 1 - buffer_bits)
    out["output_shift"] = broadcast(shift, n_out, np.int8, "output shift")
    return out


def v2_dequantizer_scales(dequantizer, n_out: int) -> np.ndarray:
    """float32 scales of the final Dequantizer: ``scales / 2**frac_bits``."""
    frac_bits, scales = dequantizer.frac_bits, dequantizer.scales
    if isinstance(frac_bits, (list, tuple)):
        if len(frac_bits) > 1:
            raise ConversionError(
                f"Dequantizer '{dequantizer.name}' has {len(frac_bits)} inbounds; only one is "
                f"supported")
        frac_bits = frac_bits[0]
        scales = scales[0] if scales else None
    value = _np(scales.value) if scales else np.float32(1.0)
    value = (value / (2.0 ** _np(frac_bits.value))).astype(np.float32)
    return broadcast(value, n_out, np.float32, f"{dequantizer.name} scales")


# ============================ Akida 1.0 ======================================================
def v1_weights_threshold(layer, n_out: int, flip: bool, weights=None) -> dict:
    """weights (flipped for event convolutions) and ``threshold = -bias``."""
    if weights is None:
        weights = int_weights(layer.weight_quantizer)
        if flip:
            weights = np.flip(weights, axis=(0, 1))
    out = {"weights": np.ascontiguousarray(weights.astype(np.int8))}
    if getattr(layer, "use_bias", False) and getattr(layer, "bias_quantizer", None) is not None:
        bias, _ = aligned_values(layer.bias_quantizer)
        out["threshold"] = -broadcast(bias, n_out, np.int32, f"{layer.name} bias")
    else:
        out["threshold"] = np.zeros((n_out,), np.int32)
    out["act_step"] = np.ones((n_out,), np.float32)
    return out


def v1_gap(variables: dict, pooled_area: int) -> None:
    """A global average pooling sums ``pooled_area`` values: scale the threshold."""
    variables["threshold"] = (variables["threshold"] * pooled_area).astype(np.int32)


def v1_output(variables: dict, out_quantizer, activation: bool, act_bits: int) -> None:
    """act_step and the rounding threshold offset from the block's OutputQuantizer."""
    scales = _np(out_quantizer.qscales.value.values).astype(np.float32)
    shift = _np(out_quantizer.shift.value).astype(np.float32)
    step = (np.float32(2.0) ** (-shift)).astype(np.float32) / scales
    step = broadcast(step.astype(np.float32), variables["threshold"].size, np.float32, "act_step")
    variables["act_step"] = step
    if activation:
        variables["threshold"] = (variables["threshold"]
                                  + np.round(np.float32(0.5) * step).astype(np.int32))
        variables["act_step"] = (step * np.float32(2.0 ** (act_bits - 4))).astype(np.float32)


def v1_dequantizer(variables: dict, dequantizer) -> None:
    """Fold the final Dequantizer into the last (activation-free) layer's act_step."""
    n = variables["act_step"].size
    scales = v2_dequantizer_scales(dequantizer, n)
    variables["act_step"] = (variables["act_step"] / scales).astype(np.float32)


def v1_finalize(layers: list) -> None:
    """Hardware fix-ups of an Akida 1.0 model (cnn2snn does the same after conversion); both
    front ends (quantizeml and the legacy CNN2SNN API) end with it.

    An act_step above the NP's limit is clamped and the next layer's weights divided by the same
    ratio; a threshold above the limit is saturated (with a warning); a threshold below the
    signed range cannot be represented and raises.  ``layers`` are nsoc layers in model order.
    """
    for idx, lay in enumerate(layers[:-1]):
        if "act_step" not in lay.variables:
            continue
        hrc = lay.TYPE == "InputConvolutional"
        limit = V1_HRC_ACT_STEP_MAX if hrc else V1_CNP_ACT_STEP_MAX
        step = lay.variables["act_step"].astype(np.float32)
        if np.any(step > limit):
            ratio = np.where(step > limit, step / np.float32(limit), np.float32(1.0))
            new_step = np.where(step > limit, np.float32(limit), step).astype(np.float32)
            if lay.params["activation"]:
                effect = np.round(np.float32(0.5) * (new_step - step))
                effect = effect / np.float32(2.0 ** (lay.params["act_bits"] - 4))
                lay.variables["threshold"] = lay.variables["threshold"] + effect.astype(np.int32)
            lay.variables["act_step"] = new_step
            nxt = layers[idx + 1]
            weights = nxt.variables["weights"]
            if weights.shape[2] != ratio.size:  # FullyConnected: fan-in in (c, y, x) order
                ratio = np.repeat(ratio, weights.shape[2] // ratio.size)
            nxt.variables["weights"] = (weights // ratio[None, None, :, None]).astype(np.int8)
    for lay in layers[:-1]:
        if "threshold" not in lay.variables:
            continue
        bits = V1_HRC_THRESHOLD_BITS if lay.TYPE == "InputConvolutional" else V1_CNP_THRESHOLD_BITS
        hi, lo = (1 << (bits - 1)) - 1, -(1 << (bits - 1))
        thr = lay.variables["threshold"]
        if np.any(thr > hi):
            warnings.warn(f"layer '{lay.name}' holds thresholds above the hardware maximum {hi}; "
                          f"they are saturated", stacklevel=3)
            thr = np.minimum(thr, hi).astype(np.int32)
            lay.variables["threshold"] = thr
        if np.any(thr < lo):
            raise ConversionError(
                f"layer '{lay.name}': threshold {int(thr.min())} cannot fit in a {bits}-bit "
                f"signed integer (Akida 1.0 limit); reduce the layer's bias or its pooled area "
                f"(e.g. a MaxPool2D before the GlobalAveragePooling2D), or target v2")

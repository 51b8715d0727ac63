"""check_model_compatibility: will a float tf_keras model quantize, convert and map?

Steps, stopping at the first failure with a ConversionError naming the step, the layer and the
fix: (Akida 1.0 only) the design rules of the CNN2SNN guide on the float model; quantization with
one random sample (v1: 4-bit weights and activations, per-tensor; v2: quantizeml defaults);
conversion; mapping on ``device`` with ``hw_only=True`` when a device is given.
"""
from __future__ import annotations

import warnings

from nsoc.errors import ConversionError, NsocError

from .conversion import convert, is_quantizeml
from .passes import class_names, inbound_layers, kind, outbound_count
from .version import AkidaVersion, get_akida_version

# Float Keras layers allowed by the Akida 1.0 design rules (CNN2SNN user guide).
V1_FLOAT_LAYERS = ("InputLayer", "Rescaling", "Conv2D", "SeparableConv2D", "Dense", "ReLU",
                   "BatchNormalization", "MaxPooling2D", "GlobalAveragePooling2D", "Dropout",
                   "Flatten", "Reshape")
_NEURAL = ("Conv2D", "SeparableConv2D", "Dense", "DepthwiseConv2D")


def _is(layer, *names) -> bool:
    return bool(class_names(layer) & set(names)) or kind(layer) in names


def check_v1_design(model) -> None:
    """Akida 1.0 design rules: serial graph, supported layers, BN before the activation,
    MaxPool2D padding equal to its convolution's."""
    ids = {id(lay) for lay in model.layers}
    for lay in model.layers:
        if len(inbound_layers(lay)) > 1 or outbound_count(lay, ids) > 1:
            raise ConversionError(
                f"Incompatibility found in the design: layer '{lay.name}' ({kind(lay)}) branches "
                f"or merges the graph; Akida 1.0 accepts only serial models: remove the skip "
                f"connection or target v2")
        if not _is(lay, *V1_FLOAT_LAYERS) or (
                _is(lay, "Conv2D") and _is(lay, "DepthwiseConv2D", "Conv2DTranspose")):
            raise ConversionError(
                f"Incompatibility found in the design: layer '{lay.name}' ({kind(lay)}) is not "
                f"supported by Akida 1.0; use {', '.join(V1_FLOAT_LAYERS)}")
    last_neural = None
    for lay in model.layers:
        if _is(lay, *_NEURAL):
            last_neural = lay
            seen_act = False
        elif _is(lay, "ReLU"):
            seen_act = True
        elif _is(lay, "BatchNormalization") and last_neural is not None and seen_act:
            raise ConversionError(
                f"Incompatibility found in the design: BatchNormalization '{lay.name}' comes "
                f"after the activation of '{last_neural.name}'; place it before the ReLU")
        elif _is(lay, "MaxPooling2D") and last_neural is not None:
            conv_pad = "same" if tuple(getattr(last_neural, "kernel_size", (0,))) == (1, 1) \
                else getattr(last_neural, "padding", "same")
            if lay.padding != conv_pad:
                raise ConversionError(
                    f"Incompatibility found in the design: MaxPool2D '{lay.name}' has padding "
                    f"'{lay.padding}' but '{last_neural.name}' has '{conv_pad}'; use the same "
                    f"padding")


def check_model_compatibility(model, device=None, input_dtype="uint8"):
    """Quantize ``model`` (float tf_keras) with one sample, convert it for the current Akida
    version and map it on ``device`` (name or Device) if given; raise ConversionError (or the
    mapping's MappingError) naming the failing step.  An already quantized model (quantizeml or
    legacy CNN2SNN) skips the quantization step.  Returns the converted nsoc model."""
    version = get_akida_version()
    if device is not None:
        dev_ip = getattr(device, "ip_version", None)
        if dev_ip is not None and str(getattr(dev_ip, "value", dev_ip)) != version.value:
            raise ConversionError(
                f"the device {getattr(device, 'name', device)} is Akida {dev_ip} but the target "
                f"is {version}; use set_akida_version({dev_ip!s}) or another device")
    from .legacy import is_legacy_model
    if is_quantizeml(model) or is_legacy_model(model):  # already quantized: convert as it is
        qmodel = model
    else:
        qmodel = _quantize(model, version, input_dtype)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            converted = convert(qmodel)
    except NsocError as exc:
        raise ConversionError(f"Incompatibility found during conversion: {exc}") from exc
    if device is not None:
        try:
            converted.map(device, hw_only=True)
        except NsocError as exc:
            raise type(exc)(f"Incompatibility found during mapping: {exc}") from exc
    return converted


def _quantize(model, version, input_dtype):
    """quantizeml with one sample (v1: after the design rules, 4/4/4 per-tensor)."""
    from quantizeml.models import QuantizationParams, quantize
    if version == AkidaVersion.v1:
        check_v1_design(model)
        qparams = QuantizationParams(activation_bits=4, input_weight_bits=4, weight_bits=4,
                                     per_tensor_activations=True, input_dtype=input_dtype)
    else:
        qparams = QuantizationParams(input_dtype=input_dtype)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return quantize(model, qparams=qparams, num_samples=1)
    except Exception as exc:  # noqa: BLE001  (quantizeml raises ValueError, RuntimeError, ...)
        raise ConversionError(f"Incompatibility found during quantization: {exc}") from exc

"""Passes over a quantized tf_keras graph: sanity checks and grouping of layers into Akida blocks.

A *block* is the run of Keras layers that becomes one Akida layer, e.g. ``QuantizedConv2D >
QuantizedMaxPool2D > QuantizedReLU``.  A block ends where a layer quantizes its output (an
``out_quantizer`` narrower than 9 bits on Akida 2.0; any output quantizer on Akida 1.0), where the
graph branches or merges, and after the ``InputQuantizer``.  Pass-through layers (input, rescaling,
dropout, shape-preserving reshapes) are dropped from the blocks.

The identity 1x1 convolutions that Akida needs after a branching input convolution or before a
skip connection's consumer (``<layer>_identity_conv``) are inserted by quantizeml's own
``quantize`` (its "sanitize" step) before calibration, so a quantized model already holds them as
``QuantizedConv2D`` layers with those names; these passes keep them as ordinary blocks.

Nothing here imports TensorFlow: layers are recognised by their class names (and those of their
base classes).
"""
from __future__ import annotations

import warnings

from nsoc.errors import ConversionError

from .version import AkidaVersion

# Layers that carry no computation for Akida (cnn2snn drops them too).
PASS_THROUGH = frozenset({"InputLayer", "Rescaling", "QuantizedRescaling", "Activation", "Softmax",
                          "Dropout", "QuantizedDropout"})
# Keras layers Akida may run only as part of a block (the block's main layer is registered).
AUXILIARY = frozenset({"QuantizedReLU", "QuantizedMaxPool2D", "QuantizedGlobalAveragePooling2D",
                       "QuantizedFlatten", "QuantizedReshape"})


def class_names(layer) -> set:
    """Names of the layer's class and its base classes."""
    return {c.__name__ for c in type(layer).__mro__}


def kind(layer) -> str:
    """The quantizeml/keras class name of a layer."""
    return type(layer).__name__


def inbound_layers(layer) -> list:
    """Keras layers feeding ``layer`` (first call node)."""
    nodes = layer.inbound_nodes
    if not nodes:
        return []
    inbound = nodes[0].inbound_layers
    return list(inbound) if isinstance(inbound, (list, tuple)) else [inbound]


def outbound_count(layer, model_layers: set) -> int:
    """How many layers of the model consume ``layer``'s output."""
    return sum(1 for node in layer.outbound_nodes if id(node.outbound_layer) in model_layers)


def is_pass_through(layer) -> bool:
    """True for a layer Akida ignores (Dropout, Rescaling, a reshape keeping the non-unit dims)."""
    if class_names(layer) & PASS_THROUGH:
        return True
    if kind(layer) == "QuantizedReshape":
        in_dims = [d for d in layer.input_shape if d != 1]
        out_dims = [d for d in layer.output_shape if d != 1]
        return in_dims == out_dims
    return False


def check_model(model, version: AkidaVersion) -> None:
    """Model-level rules: one input, one output, 2-D or 4-D input, no dilation, channels-last;
    on Akida 1.0 a purely sequential graph."""
    if len(model.inputs) != 1:
        raise ConversionError(
            f"model '{model.name}' has {len(model.inputs)} inputs; Akida models take exactly one "
            f"input: split the model")
    if len(model.outputs) != 1:
        raise ConversionError(
            f"model '{model.name}' has {len(model.outputs)} outputs; Akida models have exactly "
            f"one output: split the model")
    if len(model.input_shape) not in (2, 4):
        raise ConversionError(
            f"model input shape {model.input_shape} is not 2-D or 4-D (batch + 1-D or 3-D); "
            f"reshape the input to (N, C) or (N, H, W, C)")
    if all(is_pass_through(lay) or kind(lay) == "Dequantizer" for lay in model.layers):
        raise ConversionError("the model contains only pass-through layers; nothing to convert")
    for lay in model.layers:
        if getattr(lay, "data_format", "channels_last") == "channels_first":
            raise ConversionError(
                f"layer '{lay.name}' uses data_format='channels_first'; Akida needs channels_last")
        for attr in ("dilation_rate", "depthwise_dilation_rate"):
            rate = getattr(lay, attr, None)
            if rate is not None and tuple(rate) not in ((1, 1), (1,)):
                raise ConversionError(
                    f"layer '{lay.name}' has {attr}={tuple(rate)}; Akida supports only "
                    f"undilated convolutions: set it to 1")
    if version == AkidaVersion.v1:
        ids = {id(lay) for lay in model.layers}
        for lay in model.layers:
            if len(inbound_layers(lay)) > 1 or outbound_count(lay, ids) > 1:
                raise ConversionError(
                    f"layer '{lay.name}' ({kind(lay)}) branches or merges the graph; Akida 1.0 "
                    f"runs only sequential models: remove the skip connection or target v2")


def _ends_block(prev, version: AkidaVersion, model_ids: set, layer) -> bool:
    """Whether a block must end after ``prev`` (so ``layer`` starts a new one)."""
    if kind(prev) in ("InputLayer", "InputQuantizer", "Dequantizer"):
        return True
    if outbound_count(prev, model_ids) > 1 or len(inbound_layers(prev)) > 1:
        return True
    out_q = getattr(prev, "out_quantizer", None)
    if version == AkidaVersion.v1:
        if out_q:
            if kind(prev) != "QuantizedReLU":
                raise ConversionError(
                    f"layer '{prev.name}' ({kind(prev)}) quantizes its output and is followed by "
                    f"'{layer.name}' ({kind(layer)}); Akida 1.0 blocks must end with a ReLU "
                    f"(e.g. insert a ReLU(6.) after '{prev.name}') or target v2")
            return True
        return False
    return bool(out_q) and out_q.bitwidth < 9


def split_blocks(model, version: AkidaVersion) -> list[list]:
    """Group the model's layers (topological order) into blocks, pass-through layers included.

    Layers after the first ``Dequantizer`` are ignored with a warning, as cnn2snn does.
    """
    layers = list(model.layers)
    deq = next((i for i, lay in enumerate(layers) if kind(lay) == "Dequantizer"), None)
    if deq is not None and deq + 1 < len(layers):
        skipped = ", ".join(f"{lay.name} ({kind(lay)})" for lay in layers[deq + 1:])
        warnings.warn(f"conversion stops at the Dequantizer '{layers[deq].name}'; these layers "
                      f"are ignored: {skipped}", stacklevel=3)
        layers = layers[:deq + 1]
    model_ids = {id(lay) for lay in layers}
    block_of: dict[int, list] = {}
    blocks: list[list] = []
    for lay in layers:
        inbounds = inbound_layers(lay)
        if len(inbounds) == 1 and id(inbounds[0]) in block_of and kind(lay) != "Dequantizer" and \
                not _ends_block(inbounds[0], version, model_ids, lay):
            block = block_of[id(inbounds[0])]
            block.append(lay)
        else:
            block = [lay]
            blocks.append(block)
        block_of[id(lay)] = block
    return blocks


def strip_pass_through(block: list) -> list:
    """The block's layers that Akida computes."""
    return [lay for lay in block if not is_pass_through(lay)]

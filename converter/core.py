"""Conversion driver: quantized tf_keras model -> nsoc.Model (Akida 2.0 or 1.0).

Steps: model checks, recording of quantizeml's integer variables (one eager forward pass),
grouping into blocks (:mod:`.passes`), one handler per block (:mod:`.registry`), Akida 1.0
fix-ups (:func:`.variables.v1_finalize`), then validation by :class:`nsoc.Model`.
"""
from __future__ import annotations

from nsoc.errors import ConversionError, NsocError
from nsoc.layers import make_layer
from nsoc.model import Model

from . import passes, registry
from .handlers.common import keras_dims  # (loading nsoc.converter.handlers registers them all)
from .passes import inbound_layers, kind
from .variables import v1_finalize
from .version import AkidaVersion


class Context:
    """State of one conversion: the nsoc layers built so far and the Keras -> nsoc name map."""

    def __init__(self, keras_model, version: AkidaVersion):
        self.model = keras_model
        self.version = version
        self.layers: list = []
        self.dims: dict[str, tuple] = {}
        self.producer: dict[str, str | None] = {}
        self.quantizer = None  # nsoc Quantizer layer, if the model has an InputQuantizer

    @property
    def ip(self) -> str:
        return self.version.value

    def add(self, type_name: str, name: str, params: dict, variables: dict, inbounds: list,
            out_dims: tuple):
        """Create an nsoc layer (validated later, by nsoc.Model) and append it."""
        if name in self.dims:
            raise ConversionError(f"two converted layers would be named '{name}'; rename one")
        layer = make_layer(type_name, name, params, variables, inbounds)
        self.layers.append(layer)
        self.dims[name] = tuple(int(d) for d in out_dims)
        return layer

    def last(self):
        return self.layers[-1]

    # ----- inputs -----------------------------------------------------------------------
    def input_data(self, inbounds: list) -> str:
        """Insert an InputData layer (signed input) before a block that is not an input block."""
        if inbounds:
            q = self.quantizer
            if not q.params["output_signed"]:
                raise ConversionError(
                    "InputData sign incompatible with previous layer: the first layer after the "
                    "unsigned InputQuantizer is not an input convolution on 1 or 3 channels; "
                    "quantize with QuantizationParams(input_dtype='int8') for a signed input")
            dims = self.dims[q.name]
            name = f"InputData_{len(self.layers) + 1}"
            bits = q.params["output_bits"]
        else:
            dtype = getattr(self.model.input, "dtype", None)
            dtype_name = getattr(dtype, "name", str(dtype))
            if dtype_name.startswith("uint"):
                raise ConversionError(
                    f"the model input is {dtype_name}: only signed inputs are supported without "
                    f"an input convolution; use an int8 input (input_dtype='int8')")
            dims = keras_dims(self.model.input_shape)
            name = self.model.input.name.split(":")[0]
            bits = 4 if self.version == AkidaVersion.v1 else \
                (8 * getattr(dtype, "size", 1) if dtype_name.startswith("int") else 8)
        params = {"input_bits": bits, "input_width": dims[0], "input_height": dims[1],
                  "input_channels": dims[2], "input_signed": 1}
        self.add("InputData", name, params, {}, inbounds, dims)
        return name

    def is_image_input(self) -> bool:
        """Whether the model input suits the input convolution (uint8 images, 1 or 3 channels)."""
        dtype = getattr(self.model.input, "dtype", None)
        dtype_name = getattr(dtype, "name", str(dtype))
        unsigned = dtype_name.startswith("uint") or dtype_name.startswith("float")
        if self.quantizer is not None:
            q = self.quantizer.params
            if q["output_signed"] or q["output_bits"] != 8:
                return False
        shape = self.model.input_shape
        return unsigned and len(shape) == 4 and shape[-1] in (1, 3)


def record_variables(model) -> None:
    """Record quantizeml's integer variables (weights, shifts, scales) with one forward pass.

    Like ``quantizeml.models.record_quantization_variables`` but eager, which is several times
    faster, except for the weight quantizers: they run as graph functions because TensorFlow's
    graph optimizer rounds their float scales differently from eager mode (1 ulp), and the
    reference values are the graph ones.
    """
    import tensorflow as tf
    from quantizeml.layers import recording
    from quantizeml.models.record import generate_keras_random_samples, reset_buffers
    patched = []
    for layer in model.layers:
        for attr in ("weight_quantizer", "dw_weight_quantizer", "pw_weight_quantizer"):
            quantizer = getattr(layer, attr, None)
            if quantizer is not None and "call" not in vars(quantizer):
                quantizer.call = tf.function(quantizer.call, autograph=False)
                patched.append(quantizer)
    try:
        with recording(True):
            reset_buffers(model)
            sample = generate_keras_random_samples(model, model.input.shape[0] or 1)
            model(sample, training=False)
            reset_buffers(model)
    finally:
        for quantizer in patched:
            del quantizer.call


def _unsupported(layer) -> ConversionError:
    k = kind(layer)
    if k in registry.NOT_YET_SUPPORTED:
        return ConversionError(
            f"layer '{layer.name}' ({k}): {registry.NOT_YET_SUPPORTED[k]} is not yet supported "
            f"by nsoc; remove it or keep it outside the converted part of the model")
    if not k.startswith("Quantized") and k not in ("InputQuantizer", "Dequantizer"):
        return ConversionError(
            f"layer '{layer.name}' ({k}) is not quantized; quantize the model with "
            f"quantizeml.models.quantize before converting it")
    return ConversionError(
        f"layer '{layer.name}' ({k}) is not supported by the converter; supported layers: "
        f"{', '.join(registry.supported_layers())}")


def _handler_for(block: list, version: AkidaVersion):
    main = None
    for lay in block:
        k = kind(lay)
        handler = registry.get_handler(k)
        if handler is None and k not in passes.AUXILIARY:
            raise _unsupported(lay)
        if handler is not None and main is None:
            main = (lay, handler)
    if main is None:
        names = ", ".join(f"'{lay.name}' ({kind(lay)})" for lay in block)
        raise ConversionError(
            f"layers {names} do not form an Akida block on {version}: they must follow a "
            f"convolution or dense layer; accepted patterns:\n  "
            + "\n  ".join(registry.patterns(version)))
    return main


def _pattern_error(block: list, version: AkidaVersion) -> ConversionError:
    kinds = [kind(lay) for lay in block]
    text = " > ".join(f"{k} ('{lay.name}')" for k, lay in zip(kinds, block, strict=False))
    related = [p for p in registry.patterns(version) if set(p.split(" > ")) & set(kinds)]
    return ConversionError(
        f"invalid block for Akida {version}: {text}; compatible patterns with these layers:\n  "
        + "\n  ".join(related or registry.patterns(version)))


def convert_quantizeml(model, version: AkidaVersion) -> Model:
    """Convert a quantizeml-quantized tf_keras model to an nsoc model for ``version``."""
    passes.check_model(model, version)
    record_variables(model)
    ctx = Context(model, version)
    for block in passes.split_blocks(model, version):
        core = passes.strip_pass_through(block)
        roots = inbound_layers(block[0])
        inbounds = [ctx.producer.get(lay.name) for lay in roots]
        if not core:
            for lay in block:
                ctx.producer[lay.name] = inbounds[0] if inbounds else None
            continue
        main_layer, handler_cls = _handler_for(core, version)
        pattern = tuple(kind(lay) for lay in core)
        inbounds = [name for name in inbounds if name is not None]
        first = not ctx.layers or (len(ctx.layers) == 1 and ctx.quantizer is not None)
        as_input = (first and ctx.is_image_input()
                    and handler_cls.accepts(pattern, version, as_input=True))
        if not as_input:
            if not handler_cls.accepts(pattern, version):
                raise _pattern_error(core, version)
            after_quantizer = ctx.quantizer is not None and inbounds == [ctx.quantizer.name]
            if kind(main_layer) not in ("InputQuantizer", "Dequantizer") and (
                    not ctx.layers or after_quantizer):
                inbounds = [ctx.input_data(inbounds)]
        handler_cls().convert(ctx, core, inbounds, as_input)
        out_name = ctx.last().name if ctx.layers else None
        for lay in block:
            ctx.producer[lay.name] = out_name
    if version == AkidaVersion.v1:
        v1_finalize(ctx.layers)
    try:
        return Model(ctx.layers, version.value, {"converter": "nsoc.converter",
                                                 "source": model.name})
    except NsocError as exc:
        raise ConversionError(f"the converted model is invalid: {exc}") from exc

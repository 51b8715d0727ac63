"""Layer rules: when a layer cannot run on a device's NPs, with Akida's own wording.

Each check is a named function; its docstring says what in Akida's mappings (the corpus of
``tools/check_mapcorpus.py``) shows it.  A failing check raises :class:`Unmappable`: with
``hw_only`` the mapping fails with ``Cannot map layer '<name>'. <message>``, else the layer
runs in software.  The input convolution's rules are in :mod:`.input_conv`, the refusal and
Akida's way of joining messages in :mod:`.refusal`.
"""
from __future__ import annotations

import math

from ...layers import ACT_RELU, PADDING_SAME, PADDING_VALID, POOL_AVG, POOL_MAX, POOL_NONE
from ..types import Device
from .constraints import (
    CNP_TYPES,
    FNP_TYPES,
    NO_NP_TYPES,
    NSOC_V2_HW_VERSIONS,
    MapConstraints,
    conv_output_rows,
    kernel_hw,
    max_pool_size,
    stride_of,
)
from .input_conv import check_hrc
from .memory import (
    cnp_input_size,
    cnp_weight_size,
    dense_input_shift_bytes,
    v1_band_input_bytes,
)
from .refusal import NeedsOwnSequence, Unmappable, or_list, raise_all

__all__ = ["NeedsOwnSequence", "Unmappable", "check_hrc", "check_layer", "max_pool_refusal",
           "max_pooled", "or_list", "pooled_before_refusal", "raise_all"]


def check_v2_output_bits(layer) -> None:
    """Akida 2.0 output widths of the FNP, reported before the layer's other rules (the CNP's:
    :func:`v2_output_refusals`, the HRC's: :func:`check_hrc`).  Dense1D (probed with Akida
    2.19's mapper on
    TwoNodesIPv2, 2/4/16-bit outputs with and without ReLU; corpus: 2-bit with ReLU), together:
    "Output bits should be 4, 8 or > 8." (2-bit), with ReLU "With activation output bitwidth
    should be 4 or 8." (2 and 16 bits), without "Without activation output bitwidth should be
    8, 28 or 32." (2, 4 and 16 bits)."""
    bits = layer.params.get("output_bits")
    relu = layer.params.get("activation", 0) == ACT_RELU
    if layer.TYPE == "Dense1D":
        raise_all([m for cond, m in (
            (bits not in (4, 8) and bits <= 8, "Output bits should be 4, 8 or > 8."),
            (relu and bits not in (4, 8), "With activation output bitwidth should be 4 or 8."),
            (not relu and bits not in (8, 28, 32),
             "Without activation output bitwidth should be 8, 28 or 32.")) if cond])


def v2_output_refusals(layer) -> list[str]:
    """Akida 2.0 CNP output stage, the last messages of the layer's group (probed with Akida
    2.19's mapper on TwoNodesIPv2, 3x3 Conv2D and DepthwiseConv2D with 2/4/8/16/28-bit outputs;
    after "Pooling size must be 1 or 2.", the padding, global-pooling, input-bits and kernel-size
    messages when the layer has those faults too):

    * with ReLU, 4 or 8 bits: "With activation output bitwidth should be 4 or 8." (2 bits; the
      dev corpus has a 2-bit ReLU Conv2D; above 8 bits :func:`v2_window_refusals` adds "...
      should be <= 8." before); DepthwiseConv2D with 4-bit weights not 8 bits: "4-bit weights
      and 8-bit activation is not allowed.";
    * without ReLU, 8 or 28 bits: "Without activation output bitwidth should be 8 or 28." (2, 4
      and 16 bits); Conv2D with 4-bit weights not 8 bits: "4-bit weights and 8-bit potential is
      not allowed." (the final corpus's 4-bit identity convolution before a dense layer; 8-bit
      weights map, so does a DepthwiseConv2D).
    """
    t = layer.TYPE
    if t not in ("Conv2D", "DepthwiseConv2D"):
        return []
    bits, wb = layer.params["output_bits"], layer.params.get("weights_bits", 0)
    if layer.params.get("activation", 0) == ACT_RELU:
        if bits not in (4, 8):   # above 8 bits also v2_window_refusals' "<= 8" message
            return ["With activation output bitwidth should be 4 or 8."]
        if wb == 4 and bits == 8 and t == "DepthwiseConv2D":
            return ["4-bit weights and 8-bit activation is not allowed."]
        return []
    if bits not in (8, 28):
        return ["Without activation output bitwidth should be 8 or 28."]
    if wb == 4 and bits == 8 and t == "Conv2D":
        return ["4-bit weights and 8-bit potential is not allowed."]
    return []


def check_v2_input_bits(layer) -> None:
    """Akida 2.0 NPs take 4- or 8-bit inputs (corpus: after a 2-bit input convolution every
    following Conv2D and Dense1D runs in software).  Wording ours: Akida reports the first
    layer of such a chain, whose output bits it refuses."""
    if layer.TYPE in ("Conv2D", "DepthwiseConv2D", "Dense1D") and layer.input_bits not in (4, 8):
        raise Unmappable(f"Input should be 4-bit or 8-bit. {layer.input_bits} given.")


#: how Akida names a max-pooling layer and what must follow it, per IP version
_MAX_POOL_WORDING = {
    "v2": ("A layer with max pooling",
           "must be followed by a layer mapped on a CNP or a TNP-B."),
    "v1": ("A convolutional or separable convolutional layer with max pooling",
           "must be followed by another convolutional or separable convolutional layer."),
}


def max_pool_refusal(layer, model, device: Device, cons: MapConstraints) -> str | None:
    """Akida's hw_only error when a CNP layer with max pooling feeds a dense layer or ends the
    model: its pooled output must go to another CNP.  v2 corpus: 24 hw_only entries before a
    Dense1D; v1 (probed with Akida's mapper on AKD1500, AKD1000, TwoNodesIPv1: Convolutional
    and SeparableConvolutional before a FullyConnected) and a pooled last layer (probed, both
    versions): "... cannot be the last layer of a sequence.".  Pooled layers just before it
    are named first (:func:`pooled_chain`; probed: two pooled convolutions before a dense
    layer, both versions).  A dense layer refused by its own rules is named with its own
    message instead (probed on FourNodesIPv2: a pooled Conv2D before a Dense1D of more than
    2048 inputs).  Without hw_only the pooling layer runs in software (corpus and probes; the
    pooled layers before it follow, ``mapping._pooled_to_software``)."""
    ip_version = device.ip_version
    if not (layer.TYPE in CNP_TYPES and max_pooled(layer, ip_version)):
        return None
    who, follow = _MAX_POOL_WORDING[ip_version]
    chain = pooled_chain(layer, model, ip_version) + [layer]
    nxt = [q for q in model.layers if layer.name in q.inbounds and q.TYPE not in NO_NP_TYPES]
    if not nxt and len(chain) == 1:
        return f"Cannot map layer '{layer.name}'. {who} cannot be the last layer of a sequence."
    dense = [q for q in nxt if q.TYPE in FNP_TYPES]
    if nxt and not dense:
        return None
    head = _pooled_lines(chain, who)
    if not dense:
        return head
    try:
        check_layer(dense[0], device, cons)
    except Unmappable as exc:
        return head + f"\n  * Layer '{dense[0].name}': {exc}"
    return head + (f"\n  * Layer '{dense[0].name}': Any layer with max pooling {follow} Layer "
                   f"'{layer.name}' has max pooling." if ip_version == "v2" else
                   f"\n  * Layer '{dense[0].name}': {who} {follow} Layer '{layer.name}' has "
                   f"max pooling.")


def max_pooled(layer, ip_version: str) -> bool:
    """A layer with max pooling whose output cannot end a hardware sequence: a CNP layer, or on
    Akida 2.0 the input convolution too (probed with Akida's mapper on TwoNodesIPv2: a pooled
    InputConv2D before a refused layer is named and runs in software with it; on AKD1500 a
    pooled InputConvolutional is not)."""
    if layer.params.get("pool_type") != POOL_MAX:
        return False
    return layer.TYPE in CNP_TYPES or (ip_version == "v2" and layer.TYPE == "InputConv2D")


def pooled_chain(layer, model, ip_version: str) -> list:
    """The max-pooled layers (:func:`max_pooled`) leading to ``layer``, each the inbound of the
    next, first first (empty when its inbound is not pooled)."""
    by_name = {q.name: q for q in model.layers}
    chain: list = []
    while True:
        pooled = [by_name[n] for n in layer.inbounds
                  if n in by_name and max_pooled(by_name[n], ip_version)]
        if not pooled:
            return chain
        layer = pooled[0]
        chain.insert(0, layer)


def _pooled_lines(chain: list, who: str) -> str:
    return f"Cannot map layer '{chain[0].name}':" + "".join(
        f"\n  * Layer '{p.name}': {who} cannot be the last layer of a sequence." for p in chain)


def pooled_before_refusal(layer, message: str, model, ip_version: str) -> str | None:
    """Akida's hw_only error when ``layer`` is refused with ``message`` right after max-pooled
    layers, which would then end their sequence: it names them first (probed with Akida's
    mapper on AKD1500 and TwoNodesIPv2, a 9x9 convolution after one or two pooled ones:
    "Cannot map layer 'conv_1':\n  * Layer 'conv_1': A layer with max pooling cannot be the
    last layer of a sequence.\n  * Layer 'conv_2': Kernel size must be 1, 3, 5 or 7.").  None
    when the inbound is not pooled."""
    chain = pooled_chain(layer, model, ip_version)
    if not chain:
        return None
    who = _MAX_POOL_WORDING[ip_version][0]
    return _pooled_lines(chain, who) + f"\n  * Layer '{layer.name}': {message}"


def too_many_filters(layer, cons: MapConstraints) -> list[str]:
    """A CNP layer of more than :attr:`MapConstraints.cnp_layer_max_filters` filters, the first
    message of the window group on both versions (probed: "The maximum number of filters is
    2048 (got 4096). With average pooling, input height cannot exceed 32." on AKD1500; alone
    for a 9x9 or 8-bit one, whose own messages come in a later group; Conv2D on
    TwelveNodesIPv2)."""
    filters = layer.params.get("filters", 0)
    if layer.TYPE not in CNP_TYPES or filters <= cons.cnp_layer_max_filters:
        return []
    return [f"The maximum number of filters is {cons.cnp_layer_max_filters} (got {filters})."]


def v2_window_refusals(layer, device: Device, cons: MapConstraints) -> list[str]:
    """Akida 2.0 CNP padding, stride and pooling refusals, reported together in this order
    (probed with Akida's mapper on TwoNodesIPv2: a valid-padding strided 16 x 16 pooled Conv2D
    gets "Only padding 'Same' and 'SameUpper' are supported. The CNP cannot support both
    pooling and stride. When using Global Average Pooling, input dimensions width * height
    cannot exceed 144."; an 80 x 8 strided one both global-pooling limits after the stride one):

    * valid padding: "Only padding 'Same' and 'SameUpper' are supported." (probed on Conv2D and
      DepthwiseConv2D, pooled or not; the corpora's converter gives only same padding);
    * outputs above 8 bits, with ReLU "With activation output bitwidth should be <= 8.", with
      global average pooling "With average pooling output bitwidth should be <= 8." (probed:
      a 16-bit pooled ReLU layer gets both, then the output stage's "... should be 4 or 8.";
      a 28-bit pooled layer without ReLU the second, before the pooled-area and kernel-size
      messages);
    * pooling (max or global average) with a stride: "The CNP cannot support both pooling and
      stride." (probed on Conv2D and DepthwiseConv2D; no corpus layer has both);
    * max pooling windows other than 1 or 2: "Pooling size must be 1 or 2." (corpus: every
      3-wide window on every v2 device, :attr:`MapConstraints.v2_pool_sizes`);
    * a max pooling window wider than the input's width or height: "Pooling size cannot be
      greater than input dimensions." (after the previous one; final corpus: a 3-wide window
      on a 2 x 2 input, every v2 device; probed: 2-wide on 1 x 1, 1 x 4 and 4 x 1 inputs,
      3-wide on 2 x 8 and 8 x 2 refused, 3-wide on 3 x 3 maps; Conv2D and DepthwiseConv2D);
    * global average pooling: input height (``input_dims[0]``) above 64 (corpus: 100 and 128
      refused), input width * height above 144 (:attr:`MapConstraints.gap_max_area_v2`), an
      input (all its channels) that does not fit one CNP's input SRAM: "When using Global
      Average Pooling, spatial split is impossible." (probed on TwelveNodesIPv2: 12x12 4-bit
      inputs of 680 channels map, 65280 B by :func:`.memory.cnp_input_size`, 704 are refused,
      67584 B; Conv2D and DepthwiseConv2D; after the area message).
    """
    p, messages = layer.params, too_many_filters(layer, cons)
    if p.get("padding", PADDING_SAME) == PADDING_VALID:
        messages.append("Only padding 'Same' and 'SameUpper' are supported.")
    if p.get("output_bits", 0) > 8:
        if p.get("activation", 0) == ACT_RELU:
            messages.append("With activation output bitwidth should be <= 8.")
        if p.get("pool_type") == POOL_AVG:
            messages.append("With average pooling output bitwidth should be <= 8.")
    if p.get("pool_type", POOL_NONE) != POOL_NONE and stride_of(layer) > 1:
        messages.append("The CNP cannot support both pooling and stride.")
    size = max_pool_size(layer)
    if size and size not in cons.v2_pool_sizes:
        messages.append(f"Pooling size must be {or_list(cons.v2_pool_sizes)}.")
    if size > min(layer.input_dims[:2]):
        messages.append("Pooling size cannot be greater than input dimensions.")
    if p.get("pool_type") == POOL_AVG:
        if layer.input_dims[0] > cons.gap_max_height_v2:
            messages.append(f"When using Global Average Pooling, input height cannot exceed "
                            f"{cons.gap_max_height_v2}.")
        if layer.input_dims[0] * layer.input_dims[1] > cons.gap_max_area_v2:
            messages.append(f"When using Global Average Pooling, input dimensions width * "
                            f"height cannot exceed {cons.gap_max_area_v2}.")
        x, _, c = layer.input_dims
        if cnp_input_size(layer, x, c, False, False) > device.mesh.np_sram_size.input_bytes:
            messages.append("When using Global Average Pooling, spatial split is impossible.")
    return messages


def v1_window_refusals(layer, device: Device, cons: MapConstraints) -> list[str]:
    """Akida 1.0 CNP kernel shape, stride, padding and pooling refusals, reported together in
    this order
    (probed with Akida's mapper on one-layer models, AKD1500/AKD1000/TwoNodesIPv1 alike: e.g.
    a 5x5 stride-2 valid-padding layer gets "Convolution stride 2 is only supported for 3x3
    kernels. Only padding same is supported.", a 40 x 2 pooled one "With average pooling,
    input height cannot exceed 32. When using Global Average Pooling, the output of the
    convolution must have at least 3 rows (currently 2).").

    * a non-square kernel: "Kernel width and height must be equal." (probed with Akida's
      mapper on AKD1000: 1x3, 3x1, 1x5, 3x5, 5x7, 9x7 Convolutional and SeparableConvolutional;
      first of the group: "Kernel width and height must be equal. Pooling size must be 1, 2 or
      3.", "... equal. Convolution stride must be 1 or 2.");
    * stride: 1 or 2 ("Convolution stride must be 1 or 2."), 2 only with 3x3 kernels
      ("Convolution stride 2 is only supported for 3x3 kernels.": a 5x5 stride-2 Convolutional
      in the dev corpus of tools/make_mapcorpus.py, every v1 device; probed: 5x5 and 7x7
      Convolutional and SeparableConvolutional refused, 3x3 map; stride 3 refused for all;
      Akida reads the kernel width: a 3-high 5-wide stride-2 kernel gets this message after the
      non-square one, a 5-high 3-wide one does not);
    * padding: "Only padding same is supported." (every valid-padding Convolutional and
      SeparableConvolutional probed, pooled or not; the converter gives none in the corpora);
    * max pooling windows 1, 2 or 3 ("Pooling size must be 1, 2 or 3.", probed: a 4 x 4 window
      on AKD1500 and AKD1000) and not 3 on the NSoC_v2 silicon (AKD1000): "Pooling size 3 is
      not supported on NSoC_v2." (corpus: AKD1000 only; AKD1500 and TwoNodesIPv1 map them);
      a window wider than the input's width or height: "Pooling size cannot be greater than
      input dimensions." (probed on AKD1500: 3-wide on 8 x 2 and 2 x 8 inputs, also ahead of a
      9x9 kernel's or 8-bit weights' later group; 3-wide on 8 x 3 maps);
    * pooled input wider than 32 (``input_dims[0]``, Akida's "height"): "With average pooling,
      input height cannot exceed 32." (:attr:`MapConstraints.gap_max_height_v1`); a pooled
      input that is not wider but does not fit one CNP's input SRAM (it would need column
      bands, :func:`v1_band_input_bytes`): "With average pooling, spatial split is
      impossible." (probed: 16 x 5 x 2048 and 32 x 32 x 1024 4-bit inputs on AKD1500, also
      ahead of "Filter size is too big ..." for a 2048-channel Convolutional);
    * pooled convolution output of fewer than 3 rows (:attr:`MapConstraints.gap_min_rows_v1`;
      corpus: 1- and 2-row outputs refused on every v1 device).
    """
    p, messages = layer.params, too_many_filters(layer, cons)
    kh, kw = kernel_hw(layer)
    if kh != kw:
        messages.append("Kernel width and height must be equal.")
    stride = stride_of(layer)
    if stride not in cons.v1_strides:
        messages.append(f"Convolution stride must be {or_list(cons.v1_strides)}.")
    elif stride > 1 and kw != cons.v1_strided_kernel[1]:
        sh, sw = cons.v1_strided_kernel
        messages.append(f"Convolution stride {stride} is only supported for {sh}x{sw} kernels.")
    if p.get("padding", PADDING_SAME) != PADDING_SAME:
        messages.append("Only padding same is supported.")
    size = max_pool_size(layer)
    if size and size not in cons.v1_pool_sizes:
        messages.append(f"Pooling size must be {or_list(cons.v1_pool_sizes)}.")
    elif size == 3 and device.hw_version in NSOC_V2_HW_VERSIONS:
        messages.append("Pooling size 3 is not supported on NSoC_v2.")
    if size > min(layer.input_dims[:2]):
        messages.append("Pooling size cannot be greater than input dimensions.")
    if p.get("pool_type") == POOL_AVG:
        x = layer.input_dims[0]
        if x > cons.gap_max_height_v1:
            messages.append(f"With average pooling, input height cannot exceed "
                            f"{cons.gap_max_height_v1}.")
        # both reported when both hold (blind corpus 3: a 64 x 96 x 64 4-bit pooled input,
        # 196608 B: "... input height cannot exceed 32. With average pooling, spatial split is
        # impossible."; dev corpus: 56 x 42 x 16, 18816 B, the height message alone)
        if v1_band_input_bytes(layer, x, 0) > device.mesh.np_sram_size.input_bytes:
            messages.append("With average pooling, spatial split is impossible.")
        rows = conv_output_rows(layer)
        if rows < cons.gap_min_rows_v1:
            messages.append(f"When using Global Average Pooling, the output of the convolution "
                            f"must have at least {cons.gap_min_rows_v1} rows (currently {rows}).")
    return messages


def kernel_size_refusals(layer, cons: MapConstraints) -> list[str]:
    """CNP kernel sizes (:attr:`MapConstraints.conv_kernels` for Convolutional and Conv2D,
    ``depthwise_kernels`` for SeparableConvolutional and DepthwiseConv2D): "Kernel size must be
    1, 3, 5 or 7." / "Kernel size must be 3, 5 or 7." (probed with Akida's mapper on AKD1000
    and TwoNodesIPv2).  Akida 1.0 reports it with the weight width, after the window group and
    before the filter size (a 9x9 8-bit Convolutional: "Kernel size must be 1, 3, 5 or 7.
    Standard CNP weights bitwidth must be 1, 2 or 4."; a strided, valid-padding or 4x4-pooled
    9x9 one only the window message; a 9x9 one on 2048 channels not "Filter size is too big");
    Akida 2.0 in the layer's one group, after the input-bits and window messages and before
    the output stage's ("Pooling size must be 1 or 2. Kernel size must be 1, 3, 5 or 7.",
    "Kernel size must be 1, 3, 5 or 7. With activation output bitwidth should be 4 or 8.").
    Akida reads the kernel width (non-square v1 kernels are refused before)."""
    if layer.TYPE not in CNP_TYPES:
        return []
    separable = layer.TYPE in ("SeparableConvolutional", "DepthwiseConv2D")
    allowed = cons.depthwise_kernels if separable else cons.conv_kernels
    if kernel_hw(layer)[1] in allowed:
        return []
    return [f"Kernel size must be {or_list(allowed)}."]


def v1_weight_bits_refusals(layer, cons: MapConstraints) -> list[str]:
    """Akida 1.0 CNP weight widths: Convolutional 1, 2 or 4 bits ("Standard CNP weights bitwidth
    must be 1, 2 or 4.": an 8-bit Convolutional in the dev corpus of tools/make_mapcorpus.py,
    every v1 device; without hw_only it runs in software), SeparableConvolutional 2 or 4
    ("Separable CNP weights bitwidth must be 2 or 4.", probed with Akida's mapper for 1- and
    8-bit ones).  Reported after :func:`kernel_size_refusals`, after :func:`v1_window_refusals`
    and before :func:`check_filter_fits` (probes with faults of two groups report only the
    earlier group)."""
    allowed = {"Convolutional": cons.v1_conv_weight_bits,
               "SeparableConvolutional": cons.v1_separable_weight_bits}.get(layer.TYPE)
    if allowed is None or layer.params["weights_bits"] in allowed:
        return []
    kind = "Standard" if layer.TYPE == "Convolutional" else "Separable"
    return [f"{kind} CNP weights bitwidth must be {or_list(allowed)}."]


def check_filter_fits(layer, device: Device) -> None:
    """One filter's weights must fit a CNP's weight SRAM ("Filter size is too big to fit in a
    CNP: try decreasing the input channels or the bitwidth."; corpus: v1 3x3x512 4-bit
    filters; Akida 2.19's mapper on one-layer v2 models: a 7x7 4-bit Conv2D on 192 channels
    maps (8 filters a NP, 50400 B), on 200 or 384 channels it is refused)."""
    if layer.TYPE not in ("Convolutional", "SeparableConvolutional", "Conv2D"):
        return
    if cnp_weight_size(layer, 1) > device.mesh.np_sram_size.weight_bytes:
        raise Unmappable("Filter size is too big to fit in a CNP: try decreasing the input "
                         "channels or the bitwidth.")


def dense_fan_in_refusals(layer, cons: MapConstraints) -> list[str]:
    """A Dense1D of more than :attr:`MapConstraints.fnp_max_inputs_v2` inputs: "Input
    dimensions are too large to fit in a FNP. The maximum value is 2048.", first of the layer's
    group, before "Input bits should be >= weights bits." and before the input shifts of
    :func:`check_dense_inputs` (probed with Akida's mapper on TwoNodesIPv2: a 30x30x8 input;
    without hw_only the layer runs in software)."""
    if layer.TYPE != "Dense1D" or math.prod(layer.input_dims) <= cons.fnp_max_inputs_v2:
        return []
    return [f"Input dimensions are too large to fit in a FNP. The maximum value is "
            f"{cons.fnp_max_inputs_v2}."]


def check_dense_inputs(layer, cons: MapConstraints) -> None:
    """Dense1D input shifts live in a 768-byte memory ("Input shift exceeds memory. Maximum size
    is 768 bytes. (got 780 bytes).", corpus: a 25x5x16 input)."""
    if layer.TYPE != "Dense1D":
        return
    got = dense_input_shift_bytes(layer)
    if got > cons.fnp_input_shift_bytes:
        # corpus: without hw_only the layer runs on an FNP in a hardware sequence of its own
        raise NeedsOwnSequence(f"Input shift exceeds memory. Maximum size is "
                         f"{cons.fnp_input_shift_bytes} bytes. (got {got} bytes).")


def check_v1_fully_connected(layer, device: Device, cons: MapConstraints) -> None:
    """Akida 1.0 FullyConnected, in this order (probed with Akida's mapper on AKD1500 and
    TwoNodesIPv1; no corpus layer comes near the input limits):

    * weights of 1 to 4 bits: "Weight bits should be between 1 and 4 inclusive." (8-bit weights
      refused, 1, 2 and 4 map; the corpus has 2 and 4);
    * at most 81920 inputs (``H * W * C``): "Input dimensions are too large to fit in a FNP.
      The maximum value is 81920." (1 x 1 x 81920 and 8 x 8 x 1280 map, 81921 and 8 x 8 x 1281
      refused, whatever the input bits), on the NSoC_v2 silicon (AKD1000) at most 57334, as
      hardware.md says ("... The maximum value is 57334.": 57600 and 60000 inputs refused on
      AKD1000, 50000 map);
    * with more than one input position, at most 2048 channels: "The maximum input channel
      value is 2048 (got 5120)." (4 x 4 x 5120 refused; 1 x 1 x 81920 maps).
    """
    if layer.TYPE != "FullyConnected":
        return
    if layer.params["weights_bits"] > cons.fnp_max_weight_bits_v1:
        raise Unmappable(f"Weight bits should be between 1 and {cons.fnp_max_weight_bits_v1} "
                         f"inclusive.")
    x, y, c = layer.input_dims
    most = cons.fnp_max_inputs_nsoc_v2 if device.hw_version in NSOC_V2_HW_VERSIONS else \
        cons.fnp_max_inputs_v1
    if x * y * c > most:
        raise Unmappable(f"Input dimensions are too large to fit in a FNP. The maximum value "
                         f"is {most}.")
    if x * y > 1 and c > cons.fnp_max_channels_v1:
        raise Unmappable(f"The maximum input channel value is {cons.fnp_max_channels_v1} "
                         f"(got {c}).")


def v2_weight_bits_refusals(layer) -> list[str]:
    """Akida 2.0 weight widths against the layer's input and output widths.  Probed with
    Akida 2.19's mapper on one-layer models (TwoNodesIPv2): 8-bit weights on 4-bit inputs,
    "Input bits should be >= weights bits." (Conv2D, DepthwiseConv2D, Dense1D; 8-bit inputs
    map); a Dense1D with 4-bit weights and 8-bit outputs, with or without ReLU: "With 4-bit
    weights, output must be 4-bit or 32-bit." (the CNP's: :func:`v2_output_refusals`).  The
    input-bits message comes first in the layer's group (a fuzzed pooled Conv2D: "Input bits
    should be >= weights bits. When using Global Average Pooling, input dimensions width *
    height cannot exceed 144.")."""
    t = layer.TYPE
    if t not in ("Conv2D", "DepthwiseConv2D", "Dense1D"):
        return []
    wb = layer.params.get("weights_bits", 0)
    if layer.input_bits < wb:
        return ["Input bits should be >= weights bits."]
    if wb == 4 and layer.params["output_bits"] == 8 and t == "Dense1D":
        return ["With 4-bit weights, output must be 4-bit or 32-bit."]
    return []


def check_layer(layer, device: Device, cons: MapConstraints) -> None:
    """Every layer rule, in Akida's order (output bits first, then pooling, then memory)."""
    bits: list[str] = []
    if device.ip_version == "v2":
        check_v2_output_bits(layer)
        check_v2_input_bits(layer)
        bits = v2_weight_bits_refusals(layer)
    if layer.TYPE in CNP_TYPES:
        if device.ip_version == "v2":
            raise_all(bits + v2_window_refusals(layer, device, cons)
                      + kernel_size_refusals(layer, cons)
                      + v2_output_refusals(layer))
        else:
            raise_all(v1_window_refusals(layer, device, cons))
            raise_all(kernel_size_refusals(layer, cons) + v1_weight_bits_refusals(layer, cons))
        check_filter_fits(layer, device)
        if layer.input_dims[1] > cons.cnp_max_height:
            raise Unmappable(f"Input height {layer.input_dims[1]} is too large for a CNP. The "
                             f"maximum value is {cons.cnp_max_height}.")
    elif layer.TYPE in FNP_TYPES:
        raise_all(dense_fan_in_refusals(layer, cons) + bits)
        check_dense_inputs(layer, cons)
        check_v1_fully_connected(layer, device, cons)
    else:
        check_hrc(layer, device, cons)

"""The smallest device a model fits on (Akida's ``compute_min_device``) and program sizes
(``program_size`` per hardware sequence: the v1 law per NP, the v2 law per layer).

``compute_min_device`` (Akida 2.0, as akida 2.19 computes it; the reference cases hold its
results): a custom IP (:func:`~nsoc.hardware.device.create_device`) with as many CNPs as the
model's layers need at their fewest NPs in one pass, one FNP per dense layer (the first an
FNP2, as ``create_device`` builds them), one skip-DMA channel per Add/Concatenate and the HRC
when the model starts with an input convolution; the model is then mapped AllNps on it, so
the NPs that round the device up to whole nodes of 4 spread the layers (reference cases:
DS-CNN 8 NPs, a 64-filter pooled layer on 2 NPs of 32 once the device has 2 spare NPs).
"""
from __future__ import annotations

from collections import Counter

from ...errors import MappingError
from ...layers import POOL_AVG
from ..device import create_device
from ..types import Device
from .constraints import (
    FNP_TYPES,
    HRC_TYPES,
    NSOC_V2_HW_VERSIONS,
    SKIP_TYPES,
    MapConstraints,
    kernel_hw,
)
from .memory import fnp_weight_size
from .requirements import requirement
from .rules import Unmappable


def min_device_counts(model, sram_size=None,
                      constraints: MapConstraints | None = None) -> tuple[int, int, int, bool]:
    """(CNPs, FNPs, skip-DMA channels, HRC) the model needs at its fewest NPs in one pass."""
    cons = constraints or MapConstraints()
    probe = create_device(1, 1, 1, sram_size=sram_size, ip_version=model.ip_version)
    n_cnp = n_fnp = n_skip = 0
    hrc = False
    for layer in model.layers:
        if layer.TYPE in HRC_TYPES:
            hrc = True
        elif layer.TYPE in FNP_TYPES:
            n_fnp += 1
        elif layer.TYPE in SKIP_TYPES:
            n_skip += 1
        try:
            req = requirement(layer, model, probe, cons)
        except Unmappable as exc:
            raise MappingError(f"Cannot map layer '{layer.name}'. {exc}") from None
        if req.kind == "cnp":
            n_cnp += req.count(req.cap)
    return n_cnp, n_fnp, n_skip, hrc


def compute_min_device(model, sram_size=None,
                       constraints: MapConstraints | None = None) -> Device:
    """The smallest Akida 2.0 device ``model`` maps on in one pass (see the module doc).

    Raises MappingError for an Akida 1.0 model (Akida computes it for 2.0 models only) or a
    layer no NP can run."""
    if model.ip_version != "v2":
        raise MappingError("compute_min_device works for Akida 2.0 models only; the model is "
                           "Akida 1.0: pick AKD1000, AKD1500 or TwoNodesIPv1, or re-convert "
                           "it with --target v2.")
    n_cnp, n_fnp, n_skip, hrc = min_device_counts(model, sram_size, constraints)
    return create_device(n_cnp, n_fnp, n_skip, include_hrc=hrc, sram_size=sram_size,
                         ip_version="v2", name="compute_min_device")


#: Bytes of a v1 hardware sequence's program besides its NPs' records (the program header;
#: corpus: a one-NP v1 sequence's ``program_size`` minus its ``program_memory``).
PROGRAM_HEADER_BYTES = 484
#: A v1 HRC adds its weights + 160 B to its sequence's program, 48 B more unless its kernel is
#: 3x3 on one input channel; 92 B less when it is the sequence's only NP (its output goes to a
#: software layer).  Blind corpora 2 and 3: every HRC-only sequence, 3x3 on one channel, 640 B
#: of weights in 1192 B, 1280 B in 1832 B; Akida's mapper on hand-made models, AKD1500 and
#: TwoNodesIPv1, HRC alone: 3x3 one channel with 8 to 64 filters + 68 B, 5x5, 7x7 or 3
#: channels + 116 B; followed by a Convolutional: 5x5 or 3 channels 48 B more than 3x3.  Of
#: the 160 B, 40 B and 4 B per input channel after the first are the Quantizer's before it
#: (:data:`QUANTIZER_BYTES`, as in v2; hand-made models: 3 channels 8 B more than one; corpus,
#: all six sets: the sequences of v1 models starting with their InputConvolutional, no
#: Quantizer before it, were 40 B over, 48 B with 3 channels; with the Quantizer's share left
#: out there the program is exact on 1085 train entries of 2614 where it was on 793).
V1_HRC_BYTES = 160
V1_HRC_WIDE_BYTES = 48
V1_HRC_ALONE_BYTES = -92


#: An FNP2 adds 48 B, as in v2 (:data:`V2_FNP2_EXTRA_BYTES`; corpus, all six sets: every
#: distinct v1 sequence of one FullyConnected on an FNP2 was 48 B over the law without it,
#: 19 of 19, those on an FNP3 exact).
V1_FNP2_EXTRA_BYTES = 48


def np_program_bytes(component, layer, ip_version: str) -> int:
    """Bytes one NP adds to a v1 sequence's program: its weights as stored in the program
    (one 64-bit word per 50-bit weight word; FNP weights as held) plus its registers (CNP: 8
    bytes per filter and 224; FNP: 216, 8 bytes per unit when its output is wider than 8 bits
    (the last layer; corpus: a hidden 1024-unit FullyConnected takes 8 KB less) and, for
    external weights, the weights themselves).  Derived from the corpus' one-layer v1
    sequences (exact on the CNP and FNP3 ones; ``tools/check_mapcorpus.py`` row
    ``program``)."""
    m = component.mem_info
    if component.type == "HRC":
        narrow = kernel_hw(layer) == (3, 3) and layer.input_dims[2] == 1
        quantizer = QUANTIZER_BYTES + QUANTIZER_CHANNEL_BYTES * (layer.input_dims[2] - 1) \
            if layer.inbounds else 0
        return m.get("weight_size", 0) + V1_HRC_BYTES - QUANTIZER_BYTES + \
            (0 if narrow else V1_HRC_WIDE_BYTES) + quantizer
    if component.type.startswith("FNP"):
        per_unit = 8 if layer.output_bits > 8 else 0
        return m.get("weight_size", 0) + m.get("external_size", 0) + 216 + \
            per_unit * component.filters + \
            (V1_FNP2_EXTRA_BYTES if component.type == "FNP2" else 0)
    words = -(-m.get("weight_size", 0) * 8 // 50)
    regs = 8 * component.filters + (232 if layer.TYPE == "SeparableConvolutional" else 224)
    return words * 8 + regs


# ----- v2 programs ------------------------------------------------------------------------------
# Derived from the training models' one-pass sequences by differences (the same layers mapped on
# more or fewer NPs, one Dense1D or InputConv2D alone, FNP3 against FNP2);
# ``tools/check_mapcorpus.py`` measures the law on every corpus sequence (row ``program``).
#: Program header of a v2 sequence (corpus: a Dense1D alone 796 B besides its weights, two
#: Dense1D 1260 B, i.e. 332 B + 464 B per Dense1D).
V2_PROGRAM_HEADER_BYTES = 332
#: Each pass after the first (corpus: the same NPs in one pass and in two, 64 B more).
V2_PROGRAM_PASS_BYTES = 64
#: Dense1D: per layer, plus per unit its weights at the FNP's input bytes + 8 B (8 B more
#: when the output is wider than 8 bits, the model's last layer), and one byte per input
#: (corpus: a last Dense1D alone of u units and n inputs of input memory i is 796 + u (i + 16)
#: + n B: 10 units of 128 inputs 1724 B; a 4-bit 1024-unit hidden Dense1D takes 8 B a unit
#: less); an FNP2 adds 48 B (every pair of entries differing only in FNP3/FNP2).
V2_FNP_LAYER_BYTES = 464
V2_FNP2_EXTRA_BYTES = 48
V2_FNP_WIDE_OUTPUT_UNIT_BYTES = 8
#: CNP (Conv2D, DepthwiseConv2D) NP registers: 288 B plus the NP's input channels rounded up
#: to 8 (a Conv2D NP reads every input channel, a depthwise NP its own), plus 8 B per output
#: channel of the layer.  Corpus: pairs of mappings differing only in one Conv2D's NP count
#: give 296 B a NP for 8 input channels, 304 for 16, 320 for 32, 352 for 64, 416 for 128, 480
#: for 192; Akida's mapper on hand-made TwoNodesIPv2/FourNodesIPv2 models (Minimal, one NP): a
#: Conv2D reading 1, 3 or 4 channels takes what 8 take; a depthwise layer of 8, 16 or 32
#: channels (3x3 or 5x5, stride 1 or 2, on one NP or split by channels on 4) follows the same
#: law, exact, where the former depthwise law (296 B a NP, 176 B a layer) was 96 to 184 B off.
V2_CONV_NP_BYTES = 288
V2_CNP_NP_CHANNEL_GROUP = 8
V2_CNP_CHANNEL_BYTES = 8
#: InputConv2D: its weights plus 232 B, 48 B more unless its kernel is 3x3 on one input
#: channel (as the v1 HRC, :data:`V1_HRC_WIDE_BYTES`); the Quantizer before it adds 40 B and 4
#: B per input channel after the first.  Akida's mapper on hand-made TwoNodesIPv2 and
#: FourNodesIPv2 models (a Quantizer, an InputConv2D of 8 to 64 filters, a 1x1 Conv2D, a
#: Dense1D): 1 channel 3x3 272 B, 5x5 320 B, 3 channels 3x3 or 5x5 328 B, stride 1 or 2
#: alike.  Corpus, all six sets, the v2 hardware sequences led by an InputConv2D with no
#: Quantizer before it (the model starts with it): 107 of 637 were 40 B over the law with a
#: Quantizer and 61 48 B (3 channels); leaving the Quantizer's share out there makes the
#: program exact on 408 train entries of 2614 where it was on 234 (332 with 40 B alone).
V2_HRC_BYTES = 232
V2_HRC_WIDE_BYTES = 48
QUANTIZER_BYTES = 40
QUANTIZER_CHANNEL_BYTES = 4


def v2_bytes_per_weight_word(layer) -> int:
    """Program bytes per 100-bit CNP weight word: 16, but 12 for a Conv2D with 8-bit weights
    and a 1x1 or 3x3 kernel (96 data bits a word; corpus: NP-count pairs of 4-bit 1x1 and 3x3
    and of 8-bit 7x7 layers give 16 B a word, of 8-bit 3x3 12 B; 8-bit 1x1 layers at 12 B put
    every sequence holding them within 5 %; 8-bit depthwise layers do not tell)."""
    if layer.TYPE == "Conv2D" and kernel_hw(layer)[1] != 7 and layer.params["weights_bits"] > 4:
        return 12
    return 16


def v2_layer_program_bytes(lm, layer) -> int:
    """Bytes one v2 layer (its NPs included) adds to its sequence's program."""
    if not lm.nps:
        return 0
    x, y, c = layer.input_dims
    if layer.TYPE == "InputConv2D":
        narrow = kernel_hw(layer) == (3, 3) and c == 1
        quantizer = QUANTIZER_BYTES + QUANTIZER_CHANNEL_BYTES * (c - 1) \
            if layer.inbounds else 0
        return lm.nps[0].mem_info.get("weight_size", 0) + V2_HRC_BYTES + \
            (0 if narrow else V2_HRC_WIDE_BYTES) + quantizer
    if layer.TYPE == "Dense1D":
        total = V2_FNP_LAYER_BYTES
        per_unit = V2_FNP_WIDE_OUTPUT_UNIT_BYTES if layer.output_bits > 8 else 0
        for n in lm.nps:
            units = n.filters
            # the units' weights as the FNP holds them (input at the weight width + 8 B a
            # unit): Akida's mapper on hand-made FourNodesIPv2 models, 4-bit weights on 8-bit
            # inputs of 256 to 1024 values, 32 or 64 units: the program follows the weights,
            # not the input bytes (the same program for 8- and 4-bit inputs of a 4-bit layer)
            weights = fnp_weight_size(layer, units, n.mem_info.get("input_size", 0))
            total += weights + units * per_unit + x * y * c
            total += V2_FNP2_EXTRA_BYTES if n.type == "FNP2" else 0
        return total
    per_word = v2_bytes_per_weight_word(layer)
    words = sum(-(-n.mem_info.get("weight_size", 0) * 8 // 100) for n in lm.nps)
    channels = V2_CNP_CHANNEL_BYTES * layer.output_dims[2]
    group = V2_CNP_NP_CHANNEL_GROUP
    read = [c if layer.TYPE == "Conv2D" else n.filters for n in lm.nps]
    return channels + sum(V2_CONV_NP_BYTES + -(-r // group) * group for r in read) + \
        per_word * words


def layer_program_bytes(lm, layer, ip_version: str) -> int:
    """Bytes one layer's mapping (its NPs' records and the layer's own) adds to its sequence's
    program (v1: :func:`np_program_bytes` per NP, v2: :func:`v2_layer_program_bytes`)."""
    if ip_version == "v2":
        return v2_layer_program_bytes(lm, layer)
    return sum(np_program_bytes(c, layer, ip_version) for c in lm.nps)


def fnp2_program_weight_bytes(component, layer, ip_version: str) -> int:
    """An FNP2's weights as its layer's program records count them: v1 its external size
    (:func:`np_program_bytes` adds it), v2 the units' weights at the FNP's input bytes
    (:func:`v2_layer_program_bytes`; not the external size, which is stored another way:
    33 units on an FNP2 of 1,800 input bytes hold 59,664 B in the program, 79,488 B outside)."""
    if ip_version == "v2":
        return fnp_weight_size(layer, component.filters,
                               component.mem_info.get("input_size", 0))
    return component.mem_info.get("external_size", 0)


def layer_reload_bytes(lm, layer, ip_version: str) -> int:
    """Bytes the configuration DMA reloads for one layer when its pass is reprogrammed: its
    program records (:func:`layer_program_bytes`) less an FNP2's weights, which stay in
    external memory (as the records count them: :func:`fnp2_program_weight_bytes`)."""
    return layer_program_bytes(lm, layer, ip_version) - sum(
        fnp2_program_weight_bytes(c, layer, ip_version) for c in lm.nps if c.type == "FNP2")


#: Each pass of a v1 sequence after the first, as in v2 (:data:`V2_PROGRAM_PASS_BYTES`;
#: corpus, all six sets, AKD1500 and TwoNodesIPv1 sequences of 2 to 9 passes: the most common
#: excess over the law without it 64 B per pass after the first, 44 of 147 two-pass sequences,
#: 29 of 106 three-pass ones, 12 of 38 five-pass ones, 3 of 4 eight-pass ones).
V1_PROGRAM_PASS_BYTES = 64


def program_header_bytes(ip_version: str, n_passes: int) -> int:
    """Bytes of a hardware sequence's program header (its passes included)."""
    if ip_version == "v2":
        return V2_PROGRAM_HEADER_BYTES + V2_PROGRAM_PASS_BYTES * (n_passes - 1)
    return PROGRAM_HEADER_BYTES + V1_PROGRAM_PASS_BYTES * (n_passes - 1)


#: A v2 Dense1D reading the model's input (its inbound a Quantizer or InputData, no NP before
#: it) adds 5 B per input value, less 96 B (64 B with a signed input, InputData): Akida's
#: mapper on hand-made FourNodesIPv2 models, 64 to 1024 inputs, 8- or 4-bit weights, 32 or 64
#: units, 4- or 8-bit outputs, exact; the same layers after a 1x1 Conv2D add nothing (blind
#: corpus 2: a 1024-input Dense1D after InputData, 4928 B more than the law without it).
V2_INPUT_DENSE_BYTES_PER_INPUT = 5
V2_INPUT_DENSE_BYTES = {"Quantizer": -96, "InputData": -64}


def v2_input_dense_bytes(layer, model) -> int:
    """Program bytes a v2 Dense1D adds when it reads the model's input
    (:data:`V2_INPUT_DENSE_BYTES_PER_INPUT`); 0 otherwise."""
    if layer.TYPE != "Dense1D" or not layer.inbounds:
        return 0
    inbound = model.get_layer(layer.inbounds[0]).TYPE
    if inbound not in V2_INPUT_DENSE_BYTES:
        return 0
    x, y, c = layer.input_dims
    return V2_INPUT_DENSE_BYTES_PER_INPUT * x * y * c + V2_INPUT_DENSE_BYTES[inbound]


#: A v2 Conv2D reading the model's input (its inbound InputData: a signed input) adds 5 B per
#: input channel and 120 B (Akida's mapper on hand-made FourNodesIPv2 models, the Conv2D
#: then a Dense1D: 4, 8 and 16 channels on 8 NPs 140, 160, 200 B; then a Conv2D and a Dense1D,
#: one NP each, 1 to 64 channels, 3x3 to 7x7 kernels, 4- or 8-bit weights, exact with
#: :data:`V2_CNP_CHAINED_BYTES`; blind corpus 3: a 96x96x1 input on 2 to 32 NPs within 5 %).
V2_INPUT_CONV_BYTES_PER_CHANNEL = 5
V2_INPUT_CONV_BYTES = 120


def v2_input_conv_bytes(layer, model) -> int:
    """Program bytes a v2 Conv2D adds when it reads the model's input
    (:data:`V2_INPUT_CONV_BYTES_PER_CHANNEL`, :data:`V2_INPUT_CONV_BYTES`); 0 otherwise."""
    if layer.TYPE != "Conv2D" or not layer.inbounds:
        return 0
    if model.get_layer(layer.inbounds[0]).TYPE != "InputData":
        return 0
    return V2_INPUT_CONV_BYTES_PER_CHANNEL * layer.input_dims[2] + V2_INPUT_CONV_BYTES


#: v2 CNP layers (Conv2D, DepthwiseConv2D) of a sequence, by how they are chained (Akida's
#: mapper on hand-made TwoNodesIPv2/FourNodesIPv2 models, an InputConv2D then CNP layers then
#: a Dense1D, one NP a layer or spread on 6): each CNP layer adds 56 B unless it reads the
#: InputConv2D or the model's input (1, 2, 3 chained Conv2D 0, 56, 112 B; a depthwise layer
#: between two Conv2D or after one, or two depthwise layers, likewise; corpus, all six sets:
#: 63 of the 148 distinct sequences led by a Conv2D reading an earlier sequence or software
#: were 56 B under the law without it); a layer cut in column bands adds 64 B per band after
#: the first (2, 3, 4 bands of a depthwise layer 64, 128, 192 B); a sequence whose last NP
#: layer is a CNP layer (its output leaves the device) adds 96 B (a Conv2D of 8 to 192 filters
#: on 1 to 16 NPs, a banded depthwise layer).
V2_CNP_CHAINED_BYTES = 56
V2_CNP_BAND_BYTES = 64
V2_CNP_LAST_BYTES = 96
#: A CNP layer with global average pooling adds 64 B (Akida's mapper on hand-made FourNodesIPv2
#: models: an InputConv2D, a 64-filter Conv2D with global average pooling, a Dense1D 64 B
#: over the law without it; corpus: the program is exact on 1111 train entries of 2614 where
#: it was on 1085, the other sets unchanged).
V2_CNP_AVG_POOL_BYTES = 64
V2_CNP_TYPES = ("Conv2D", "DepthwiseConv2D")
#: Inbounds of a CNP layer that do not add :data:`V2_CNP_CHAINED_BYTES` (the model's input has
#: :func:`v2_input_conv_bytes`)
V2_UNCHAINED_INBOUNDS = ("InputConv2D", "InputData", "Quantizer")


def v2_cnp_chain_bytes(sequence, model) -> int:
    """:data:`V2_CNP_CHAINED_BYTES`, :data:`V2_CNP_BAND_BYTES`, :data:`V2_CNP_AVG_POOL_BYTES`
    and :data:`V2_CNP_LAST_BYTES` of a v2 hardware sequence."""
    total = 0
    for lm in (lm for p in sequence.passes for lm in p if lm.nps):
        layer = model.get_layer(lm.layer)
        if layer.TYPE not in V2_CNP_TYPES:
            continue
        inbound = layer.inbounds[0] if layer.inbounds else None
        if inbound is not None and model.get_layer(inbound).TYPE not in V2_UNCHAINED_INBOUNDS:
            total += V2_CNP_CHAINED_BYTES
        # NPs sharing a start neuron hold the same filters for different column bands
        bands = max(Counter(n.start_neuron for n in lm.nps).values())
        total += V2_CNP_BAND_BYTES * (bands - 1)
        if layer.params.get("pool_type") == POOL_AVG:
            total += V2_CNP_AVG_POOL_BYTES
    last = [lm for p in sequence.passes for lm in p if lm.nps]
    if last and model.get_layer(last[-1].layer).TYPE in V2_CNP_TYPES:
        total += V2_CNP_LAST_BYTES
    return total


#: Each v2 Dense1D of a sequence after its first two adds this much less (Akida's mapper on
#: hand-made FourNodesIPv2 models, a 1x1 Conv2D then 2, 3, 4 or 5 Dense1D layers: 0, 128, 256,
#: 384 B under :data:`V2_FNP_LAYER_BYTES` each; the same after the model's input: blind
#: corpus 2, three Dense1D after a 1024-value input 4928 = 5 x 1024 - 64 - 128 B; dev corpus,
#: four after 64 values: 0 = 5 x 64 - 64 - 256 B).
V2_FNP_LAYER_AFTER_TWO_BYTES = -128


def v2_dense_count_bytes(sequence, model) -> int:
    """:data:`V2_FNP_LAYER_AFTER_TWO_BYTES` for each Dense1D of a v2 sequence after its
    first two."""
    n = sum(1 for p in sequence.passes for lm in p
            if lm.nps and model.get_layer(lm.layer).TYPE == "Dense1D")
    return V2_FNP_LAYER_AFTER_TWO_BYTES * max(0, n - 2)


#: Each NP layer of a v1 sequence after its first adds 56 B, however many NPs it takes (Akida's
#: mapper on hand-made AKD1000 models, Minimal: an InputConvolutional then 0 to 3
#: Convolutional layers then a FullyConnected 56, 112, 168, 224 B over the per-NP law; a
#: SeparableConvolutional or a second FullyConnected instead of the Convolutional likewise;
#: a Convolutional on 16 or 32 NPs (AllNps) as on one; corpus: the program is exact on 465
#: train entries of 2614 where it was on 408, and on more entries of every other set).
V1_LAYER_AFTER_FIRST_BYTES = 56


def v1_layer_count_bytes(sequence) -> int:
    """:data:`V1_LAYER_AFTER_FIRST_BYTES` for each NP layer of a v1 sequence after its
    first."""
    n = sum(1 for p in sequence.passes for lm in p if lm.nps)
    return V1_LAYER_AFTER_FIRST_BYTES * max(0, n - 1)


#: The v1 program header by device and by whether the sequence holds the HRC (Akida's mapper
#: on hand-made models, an InputConvolutional, a Convolutional and a FullyConnected: AKD1500
#: and TwoNodesIPv1 12 B more than AKD1000, for 1 or 3 channels, 3x3 or 5x5 kernels, 8 or 32
#: filters; corpus, all six sets: of the distinct sequences without the HRC, led by a
#: Convolutional, FullyConnected or SeparableConvolutional, 83 of 113 on AKD1000 were 20 B
#: over the law, 96 of the 167 one-pass ones on the other devices exact; with these terms the
#: program is exact on 640 train entries of 2614 where it was on 499).  Bytes added to
#: :data:`PROGRAM_HEADER_BYTES`: on AKD1000 (NSoC_v2) 0 with the HRC, -20 without; elsewhere
#: 12 with the HRC and other NPs, 0 otherwise.
V1_HEADER_NSOC_V2_WITHOUT_HRC_BYTES = -20
V1_HEADER_WITH_HRC_BYTES = 12


def v1_device_header_bytes(sequence, hw_version: str | None) -> int:
    """The v1 header's device and HRC terms (:data:`V1_HEADER_WITH_HRC_BYTES`,
    :data:`V1_HEADER_NSOC_V2_WITHOUT_HRC_BYTES`)."""
    types = [c.type for p in sequence.passes for lm in p for c in lm.nps]
    hrc = "HRC" in types
    if hw_version in NSOC_V2_HW_VERSIONS:
        return 0 if hrc else V1_HEADER_NSOC_V2_WITHOUT_HRC_BYTES
    # an HRC alone has its own term (:data:`V1_HRC_ALONE_BYTES`, measured on these devices)
    return V1_HEADER_WITH_HRC_BYTES if hrc and len(types) > 1 else 0


def v1_hrc_alone_bytes(sequence, model) -> int:
    """:data:`V1_HRC_ALONE_BYTES` for a v1 sequence whose only NP is the HRC; 0 otherwise.  An
    HRC alone takes the same with or without a Quantizer before it (hand-made models with
    one and the corpus's without one both + 68 B at 3x3 on one channel): without one the
    Quantizer's share left out of its record (:func:`np_program_bytes`) is added back."""
    lms = [lm for p in sequence.passes for lm in p if lm.nps]
    if [c.type for lm in lms for c in lm.nps] != ["HRC"]:
        return 0
    layer = model.get_layer(lms[0].layer)
    if layer.inbounds:
        return V1_HRC_ALONE_BYTES
    return V1_HRC_ALONE_BYTES + QUANTIZER_BYTES + \
        QUANTIZER_CHANNEL_BYTES * (layer.input_dims[2] - 1)


def sequence_program_bytes(sequence, model, ip_version: str,
                           hw_version: str | None = None) -> int:
    """Bytes of a hardware sequence's program besides its layers' own records
    (:func:`layer_program_bytes`): the header and the terms that depend on the sequence (v2:
    a Dense1D or Conv2D reading the model's input, Dense1D layers after the first two, chained
    and banded CNP layers and a CNP output; v1: an HRC alone, the layers after the first, the
    device (``hw_version``) and the HRC)."""
    if ip_version == "v2":
        extra = sum(v2_input_dense_bytes(model.get_layer(lm.layer), model) +
                    v2_input_conv_bytes(model.get_layer(lm.layer), model)
                    for p in sequence.passes for lm in p if lm.nps) + \
            v2_dense_count_bytes(sequence, model) + v2_cnp_chain_bytes(sequence, model)
    else:
        extra = v1_hrc_alone_bytes(sequence, model) + v1_layer_count_bytes(sequence) + \
            v1_device_header_bytes(sequence, hw_version)
    return program_header_bytes(ip_version, len(sequence.passes)) + extra


def program_size(sequence, model, ip_version: str, hw_version: str | None = None) -> int:
    """Estimated bytes of a hardware sequence's program (Akida's ``len(sequence.program)``)."""
    if sequence.backend != "Hardware":
        return 0
    return sequence_program_bytes(sequence, model, ip_version, hw_version) + sum(
        layer_program_bytes(lm, model.get_layer(lm.layer), ip_version)
        for p in sequence.passes for lm in p)

"""Memory each NP reserves for a layer (bytes), as Akida reports it in ``mem_info``, and the
memory a hardware sequence settles once its passes are known (skip-DMA buffers, dense inputs
from an earlier pass).

Every formula states the corpus observations it reproduces (``tools/check_mapcorpus.py``
measures them on all 120 corpus models).  v2 weight SRAM words are 100 bits (4K x 100b),
v1 words 50 bits (7K x 50b).
"""
from __future__ import annotations

from ...layers import POOL_AVG
from .constraints import kernel_hw

V2_WORD_BITS = 100
V1_WORD_BITS = 50
#: Input SRAM the v2 CNP keeps for the second operand of an Add feeding it (corpus: every
#: Conv2D whose inbound is an Add reserves 2048 B more than the same layer elsewhere)
V2_ADD_INPUT_BYTES = 2048

#: v2 Conv2D (kernel >= 3) weight words per input channel for a group of 8 filters, by
#: (kernel size, weight bits): 3x3 one word per kernel row per 4 bits, larger kernels as
#: observed (corpus: 5x5 4-bit 8 words, 8-bit 20; 7x7 4-bit 21, 8-bit 56).
V2_CONV_WORDS_PER_8_FILTERS = {(3, 4): 3, (3, 8): 6, (5, 4): 8, (5, 8): 20, (7, 4): 21,
                               (7, 8): 56}


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _round_up(a: int, b: int) -> int:
    return _ceil(a, b) * b


def _words_to_bytes(words: int, word_bits: int) -> int:
    return _ceil(words * word_bits, 8)


# ----- CNP input ---------------------------------------------------------------------------
def v2_row_bytes(columns: int, bits: int) -> int:
    """Bytes of one row of one channel in a v2 CNP input buffer: columns x bits rounded up to
    32 bits (corpus: 8-bit inputs pad x to a multiple of 4, 4-bit to a multiple of 8)."""
    return _round_up(columns * bits, 32) // 8


def v1_band_input_bytes(layer, columns: int, sides: int) -> int:
    """Input SRAM a v1 CNP band actually needs (what decides the number of bands): its
    columns plus ``(kernel - 1) / 2`` shared ones for each of its ``sides`` neighbour bands
    (0 for a whole input, 1 for the two bands of a 2-band split, 2 for an inner band), x bits
    per value (AKD1500 AkidaNet 0.5 224, per-layer NPs on silicon: 112x112x32 4-bit in 6
    bands of 19+2 columns, 56x56x64 in 3, 28x28x128 in 2, 14x14x256 in 1, against 43008 B;
    Akida 2.19's mapper on one-layer separable models, 32x32 4-bit inputs: 128 channels with a
    7x7 kernel in 2 bands (16 + 3 columns, 40960 B), 144 channels in 3)."""
    _, y, c = layer.input_dims
    held = columns + (kernel_hw(layer)[1] - 1) // 2 * sides
    return y * c * _ceil(held * layer.input_bits, 8)


def column_bands(x: int, n: int) -> list[tuple[int, int]]:
    """Column bands ``(x offset, columns)`` of an ``x``-column input cut in ``n``: equal widths
    ``ceil(x / n)`` but the last (corpus: 112 columns 38, 38, 36; 28 columns 10, 10, 8)."""
    width = _ceil(x, max(n, 1))
    return [(o, min(width, x - o)) for o in range(0, x, width)]


def band_neighbours(layer, offset: int, columns: int) -> int:
    """Bands next to the column band ``[offset, offset + columns)`` of the layer's input: 2
    for an inner band, 1 for the first and the last (0 when the band is the whole input)."""
    x = layer.input_dims[0]
    return (offset > 0) + (offset + columns < x)


def shared_columns(kernel: int, neighbours: int) -> int:
    """Input columns a v2 band holds besides its own: ``(kernel - 1) // 2`` per neighbouring
    band, the outer edges being padding (corpus, every banded Conv2D/DepthwiseConv2D has
    'same' padding: a 56-wide 8-bit input in bands of 19, 19, 18 with a 3x3 kernel reserves
    20, 24 and 20 bytes per row, i.e. 20, 21 and 20 columns; 4-bit bands of 38 of a 112-wide
    input reserve 40 columns, rounded to 32 bits)."""
    return (kernel - 1) // 2 * neighbours


def cnp_input_size(layer, columns: int, channels: int, banded: bool, after_add: bool,
                   neighbours: int = 2) -> int:
    """Input SRAM (bytes) of one CNP holding ``columns`` input columns of ``channels``
    channels (a depthwise NP holds only its own channels).

    v2: rows of 32-bit aligned columns; a band also holds the columns it shares with its
    ``neighbours`` bands (:func:`shared_columns`; an inner band by default, the widest need);
    plus :data:`V2_ADD_INPUT_BYTES` after an Add.  v1: the whole input (a banded v1 layer
    still reserves every column: 64x64x32 4-bit in 2 bands reserves 65536 B per NP), rows of
    ``x * bits`` rounded up to a byte (1-bit 4 columns take 1 byte).
    """
    x, y, c = layer.input_dims
    bits = layer.input_bits
    if layer.TYPE in ("Conv2D", "DepthwiseConv2D"):
        held = columns + (shared_columns(kernel_hw(layer)[1], neighbours) if banded else 0)
        size = v2_row_bytes(held, bits) * y * channels
        return size + (V2_ADD_INPUT_BYTES if after_add else 0)
    return y * c * _ceil(x * bits, 8)


# ----- CNP weights ---------------------------------------------------------------------------
def v2_conv_weight_words(kernel: int, weight_bits: int, cin: int, filters: int) -> int:
    """100-bit words of a v2 Conv2D holding ``filters`` filters: 1x1 kernels in groups of 24
    filters, one word per input channel per 4 weight bits (corpus: 24 filters 1 group, 26 two;
    8-bit 2 words); larger kernels in groups of 8 (:data:`V2_CONV_WORDS_PER_8_FILTERS`)."""
    if kernel == 1:
        return _ceil(filters, 24) * cin * _ceil(weight_bits, 4)
    per8 = V2_CONV_WORDS_PER_8_FILTERS.get((kernel, max(4, weight_bits)))
    if per8 is None:  # outside the corpus: one word per kernel row per 96 bits of 8 filters
        per8 = kernel * _ceil(8 * kernel * weight_bits, 96)
    return _ceil(filters, 8) * cin * per8


def v2_depthwise_weight_words(kernel: int, weight_bits: int, channels: int) -> int:
    """100-bit words of a v2 DepthwiseConv2D holding ``channels`` channels: each kernel takes
    half-words of 12 4-bit weights, whole kernel rows per half-word, once per 4 weight bits
    (corpus: 3x3 4-bit 2 channels per word, 5x5 1.5 words, 7x7 3.5 words, 8-bit twice)."""
    rows_per_half = max(1, 12 // kernel)
    halves = _ceil(weight_bits, 4) * _ceil(kernel, rows_per_half)
    return _ceil(channels * halves, 2)


#: v1 7x7 Convolutional: whole 50-bit words per filter and per input channel, and the words
#: added once per input channel, by weight bits (corpus, every v1 7x7 Convolutional NP, words
#: per input channel: 4-bit 1 to 8 filters 48, 9 to 16 96, 20 and 22 128, 32 176, 64 336, i.e.
#: 5 words a filter (196 bits do not fit 4 words) for the filters rounded up to 8, plus one;
#: 2-bit 8 filters 16, 12 and 16 32, 48 96, i.e. 98 bits in 2 words a filter for the
#: filters rounded up to 8, nothing added).
V1_CONV7_WORDS_PER_FILTER = {2: 2, 4: 5}
V1_CONV7_EXTRA_WORDS = {2: 0, 4: 1}


def v1_conv7_words_per_cin(weight_bits: int, filters: int) -> int:
    """50-bit words per input channel of a v1 7x7 Convolutional holding ``filters`` filters
    (before the rounding to blocks of ``4 * weight_bits`` words): filters rounded up to 8
    (:data:`V1_CONV7_WORDS_PER_FILTER`, :data:`V1_CONV7_EXTRA_WORDS`)."""
    counted = _round_up(filters, 8)
    return counted * V1_CONV7_WORDS_PER_FILTER[weight_bits] + V1_CONV7_EXTRA_WORDS[weight_bits]


def v1_conv_weight_words(kernel_taps: int, weight_bits: int, cin: int, filters: int) -> int:
    """50-bit words of a v1 Convolutional, per input channel rounded up to blocks of
    ``4 * weight_bits`` words (corpus, Convolutional NPs):

    * 4-bit 1x1 and 3x3: the kernels of the filters rounded up to 8, at 48 data bits a word
      (3x3: 16 filters 16 words, 17 to 40 32 words, 64 48, 82 to 96 80);
    * 5x5 (2- and 4-bit): the same at 50 bits a word (4-bit: 8 filters 16 words, 16 32);
    * 2-bit: the kernels at 48 bits a word plus one word (3x3: 16 filters 8 words, 20 to 32
      16, 64 32, 256 104);
    * 7x7: :func:`v1_conv7_words_per_cin`.
    """
    block = 4 * max(weight_bits, 2)
    if kernel_taps == 49 and weight_bits in V1_CONV7_WORDS_PER_FILTER:
        per_cin = v1_conv7_words_per_cin(weight_bits, filters)
    elif kernel_taps == 25:
        per_cin = _ceil(_round_up(filters, 8) * kernel_taps * weight_bits, 50)
    elif weight_bits <= 2:
        per_cin = _ceil(filters * kernel_taps * weight_bits, 48) + 1
    elif kernel_taps <= 9:
        per_cin = _ceil(_round_up(filters, 8) * kernel_taps * weight_bits, 48)
    else:
        per_cin = _ceil(filters * kernel_taps * weight_bits, 48)
    return _round_up(per_cin, block) * cin


#: 2-bit v1 separable depthwise kernels (packed several channels a word) take whole blocks of
#: 8 words (corpus, training models, every 2-bit 3x3 SeparableConvolutional: 2 channels a
#: word, 8 channels 4 words reserved as 8 (16 words with 8 words of pointwise weights), 16 to
#: 256 channels 8 to 128 words, already whole blocks).
V1_SEPARABLE_PACKED_BLOCK_WORDS = 8


#: Extra pointwise bits per input channel of a v1 SeparableConvolutional NP whose filters are
#: not a multiple of 8, by weight bits (corpus, training models, every SeparableConvolutional
#: NP: 2-bit 10 to 12 filters take 2 words a channel where 16 and 24 take 1, 20 and 22 take 2,
#: 26 takes 2 (so the extra is in (16, 32] bits), 43 takes 3, 86 takes 5; 4-bit 19 to 22
#: filters take 3 words where 24 takes 2, 170 takes 15 (so the extra is in (0, 16] bits)).
#: The upper end of each interval is used.
V1_SEPARABLE_PARTIAL_GROUP_BITS = {2: 32, 4: 16}


def v1_separable_pointwise_bits(weight_bits: int, filters: int) -> int:
    """Pointwise bits per input channel of a v1 SeparableConvolutional NP: the filters rounded
    up to 8 at ``weight_bits`` each, plus :data:`V1_SEPARABLE_PARTIAL_GROUP_BITS` when the
    last group of 8 is partial."""
    bits = _round_up(filters, 8) * weight_bits
    if filters % 8:
        bits += V1_SEPARABLE_PARTIAL_GROUP_BITS[2 if weight_bits <= 2 else 4]
    return bits


def v1_separable_weight_words(kernel: int, weight_bits: int, cin: int, filters: int) -> int:
    """50-bit words of a v1 SeparableConvolutional: per input channel its depthwise kernel in
    whole rows of 48 data bits, plus its pointwise weights
    (:func:`v1_separable_pointwise_bits`) at 48 data bits per word (corpus, 4-bit: 3x3 1
    word, 5x5 3, 7x7 7; 16 filters 2 words, 64 filters 6).  2-bit kernels that fit a 50-bit
    word (3x3, 5x5) pack several channels per word, in blocks of
    :data:`V1_SEPARABLE_PACKED_BLOCK_WORDS` words; larger ones take whole rows like 4-bit
    kernels (independent dev corpus: a 2-bit 7x7 kernel of 98 bits takes 3 words a channel,
    3 rows of 14 bits a word)."""
    row_bits = kernel * weight_bits
    if weight_bits > 2 or kernel * row_bits > 50:
        depthwise = cin * _ceil(kernel, max(1, 48 // row_bits))
    else:
        depthwise = _round_up(_ceil(cin, max(1, 48 // (kernel * row_bits))),
                              V1_SEPARABLE_PACKED_BLOCK_WORDS)
    pointwise = cin * _ceil(v1_separable_pointwise_bits(weight_bits, filters), 48)
    return depthwise + pointwise


def cnp_weight_size(layer, filters: int) -> int:
    """Weight SRAM (bytes) of one CNP holding ``filters`` filters (channels for depthwise)."""
    kh, kw = kernel_hw(layer)
    cin = layer.input_dims[2]
    bits = layer.params["weights_bits"]
    if layer.TYPE == "Conv2D":
        return _words_to_bytes(v2_conv_weight_words(kw, bits, cin, filters), V2_WORD_BITS)
    if layer.TYPE == "DepthwiseConv2D":
        return _words_to_bytes(v2_depthwise_weight_words(kw, bits, filters), V2_WORD_BITS)
    if layer.TYPE == "SeparableConvolutional":
        return _words_to_bytes(v1_separable_weight_words(kw, bits, cin, filters), V1_WORD_BITS)
    return _words_to_bytes(v1_conv_weight_words(kh * kw, bits, cin, filters), V1_WORD_BITS)


# ----- HRC ------------------------------------------------------------------------------------
def hrc_weight_size(layer) -> int:
    """HRC weight memory (bytes): per filter 8 bytes plus, per input channel, 3(k^2-1)/2 bytes
    (corpus: 3x3 12 B, 5x5 36 B, 7x7 72 B per channel, whatever the weight bits)."""
    k = kernel_hw(layer)[1]
    return layer.params["filters"] * (8 + layer.input_dims[2] * 3 * (k * k - 1) // 2)


# ----- FNP ------------------------------------------------------------------------------------
def gap_bits(bits: int) -> int:
    """Bits of a value after a v2 global average pooling (corpus: Dense1D weights after a 4-bit
    pooled layer are sized for 8-bit inputs, after an 8-bit one for 32-bit inputs)."""
    return 8 if bits <= 4 else 32


def v2_fnp_x(x: int, bits: int) -> int:
    """Columns a v2 FNP input row takes when a CNP of the same pass feeds it: even for 4-bit,
    a multiple of 4 for 8-bit (corpus: 3x3x64 4-bit 384 B, 6x6x32 8-bit 1536 B; a 25x5x16
    input from the HRC 1000 B)."""
    return _round_up(x, 2 if bits <= 4 else 4)


def fnp_input_size(layer, inbound, from_cnp_in_pass: bool) -> int:
    """FNP input memory (bytes).  v2: the (x, y, c) input at the input bits; when a CNP of the
    same pass feeds it, rows padded (:func:`v2_fnp_x`) and, after a global average pooling,
    :func:`gap_bits` per value (corpus: the same pooled 192x8-bit input takes 768 B in the
    pass of its CNP and 192 B from a previous pass or from software).  Inputs wider than the
    weights (8-bit inputs, 4-bit weights) are never padded nor widened (final corpus: a 1x1x80
    input from software 80 B; Akida's mapper probed on TwoNodesIPv2: 3x5x8 120 B and a pooled
    1x1x24 24 B fed by a CNP of the same pass, where 8-bit weights take 160 B and 4-bit inputs
    of 4-bit weights 80 B).  v1: one bit per input rounded up to 4 bytes."""
    x, y, c = layer.input_dims
    if layer.TYPE == "FullyConnected":
        return _round_up(_ceil(x * y * c, 8), 4)
    bits = layer.input_bits
    if not from_cnp_in_pass or bits > layer.params["weights_bits"]:
        return _ceil(x * y * c * bits, 8)
    if inbound.params.get("pool_type") == POOL_AVG:
        return _ceil(x * y * c * gap_bits(bits), 8)
    return _ceil(v2_fnp_x(x, bits) * y * c * bits, 8)


def fnp_full_input_size(layer, inbound) -> int:
    """FNP input bytes the weights are sized for: as fed by a CNP of the same pass (corpus:
    weights per unit = that input + 8 even when the input came from elsewhere), the input
    convolution (HRC) included: its input memory is unpadded but its weights are not (corpus:
    a 25x5x16 4-bit Dense1D after an InputConv2D takes 1000 B of input and 128 x (1040 + 8) B
    of weights)."""
    from_cnp = inbound is not None and inbound.TYPE in ("Conv2D", "DepthwiseConv2D",
                                                         "InputConv2D")
    return fnp_input_size(layer, inbound, from_cnp)


def v1_fc_unit_bytes(fan_in: int, weight_bits: int) -> int:
    """Bytes per unit of a v1 FullyConnected: the fan-in rounded up to 32, at 6 bits per input
    for 4-bit weights (2 for 2-bit), plus 16 bytes (corpus: 24 and 32 inputs 40 B, 512 inputs
    400 B, 2-bit 256 inputs 80 B; refcases: 784 inputs 616 B)."""
    bits = 6 if weight_bits > 2 else 2
    return _round_up(fan_in, 32) * bits // 8 + 16


def fnp_weight_size(layer, units: int, input_size: int) -> int:
    """FNP weight memory (bytes).  v2: per unit the input at the weight width, plus 8:
    ``units * (input_size * weights_bits / input_bits + 8)`` (corpus, every Dense1D, whose
    weights are as wide as their inputs; 8-bit inputs of 4-bit weights take half their bytes:
    the final corpus's 1x1x80 input 80 B, 48 B a unit; Akida's mapper probed on TwoNodesIPv2:
    3x5x8 120 B, 68 B a unit; 4x4x8 128 B, 72 B).  v1: :func:`v1_fc_unit_bytes` per unit."""
    if layer.TYPE == "FullyConnected":
        fan_in = layer.input_dims[0] * layer.input_dims[1] * layer.input_dims[2]
        return units * v1_fc_unit_bytes(fan_in, layer.params["weights_bits"])
    bits = layer.input_bits
    return units * (_ceil(input_size * min(layer.params["weights_bits"], bits), bits) + 8)


#: External (FNP2) weight memory above this size is allocated in 64-byte blocks (corpus,
#: training models: the 25 external sizes that are not multiples of 64 are at most 20000 B,
#: every larger one is a multiple; 500 x 520 = 260000 B is reported as 260032 B; Akida's
#: mapper probed on TwoNodesIPv2 with 40-byte dense units: 61800 to 65480 B kept, 65560 B ->
#: 65600 B, 65640 -> 65664, 76000 -> 76032): 64 KiB.
EXTERNAL_BLOCK_THRESHOLD_BYTES = 65536
EXTERNAL_BLOCK_BYTES = 64


def fnp_external_size(weight_bytes: int) -> int:
    """External memory (bytes) Akida reserves for FNP weights of ``weight_bytes``: as is up
    to :data:`EXTERNAL_BLOCK_THRESHOLD_BYTES`, above it rounded up to
    :data:`EXTERNAL_BLOCK_BYTES`."""
    if weight_bytes <= EXTERNAL_BLOCK_THRESHOLD_BYTES:
        return weight_bytes
    return _round_up(weight_bytes, EXTERNAL_BLOCK_BYTES)


def dense_input_shift_bytes(layer) -> int:
    """Bytes of a v2 Dense1D's per-input shifts: 3 bits per channel, per (even x, y) position
    (corpus: 16x16x8 768 B maps, 25x5x16 780 B is refused)."""
    x, y, c = layer.input_dims
    return _round_up(x, 2) * y * _ceil(3 * c, 8)


# ----- skip-DMA buffers ------------------------------------------------------------------------
#: Copies of the stored tensor a v2 skip-DMA channel keeps in external memory when its
#: hardware sequence has more than one pass (corpus, training models: all 114 skip stores in
#: multi-pass sequences reserve twice the stored tensor, whether or not the store and the load
#: share a pass).
SKIP_BUFFERS_MULTI_PASS = 2
#: Copies when the sequence is one pass: one per layer between the stored layer and the merge
#: layer, plus 3 for an Add, 2 for a Concatenate (corpus, every one-pass sequence: a stored
#: layer followed by conv, conv, Add reserves 5 copies, conv, Add 4, depthwise, Concatenate 3,
#: conv, Concatenate 3).
SKIP_BUFFERS_ONE_PASS_EXTRA = {"Add": 3, "Concatenate": 2}


def skip_tensor_bytes(layer) -> int:
    """Bytes of a layer's output as a skip-DMA channel stores it: rows of 32-bit aligned
    columns (:func:`v2_row_bytes`; corpus: a 7x2x48 8-bit tensor takes 768 B a copy, a 4x3x8
    4-bit one 96 B)."""
    x, y, c = layer.output_dims
    return v2_row_bytes(x, layer.output_bits) * y * c


def skip_buffer_count(merge_type: str, layers_between: int, sequence_passes: int) -> int:
    """Copies of the stored tensor a skip-DMA channel reserves
    (:data:`SKIP_BUFFERS_MULTI_PASS`, :data:`SKIP_BUFFERS_ONE_PASS_EXTRA`)."""
    if sequence_passes > 1:
        return SKIP_BUFFERS_MULTI_PASS
    return layers_between + SKIP_BUFFERS_ONE_PASS_EXTRA.get(merge_type, 2)


def stores_merge_output(model, stored: str) -> bool:
    """Whether a skip-DMA channel stores a merge's output (Add, Concatenate: the store is held by
    the merge's reader)."""
    return model.get_layer(stored).TYPE in ("Add", "Concatenate")


def skip_split(model, merge, index: dict[str, int]) -> str | None:
    """The split of the skip connection closed by ``merge``: the last layer that every inbound
    of the merge is or descends from (None when the inbounds share no layer)."""
    def lineage(name: str) -> set:
        out, stack = {name}, [name]
        while stack:
            for p in model.get_layer(stack.pop()).inbounds:
                if p in index and p not in out:
                    out.add(p)
                    stack.append(p)
        return out
    common = set.intersection(*(lineage(n) for n in merge.inbounds if n in index))
    return max(common, key=index.__getitem__, default=None)


def store_in_external_total(model, merge, index: dict[str, int]) -> bool:
    """Whether the mapping's ``external_memory_size`` counts the skip-DMA store of ``merge``:
    not when the skip connection splits at a merge (Add, Concatenate: Akida lists the store's
    buffer but leaves it out of the total).  Corpus: blind set 2, all 38 mappings whose store
    holds a merge's output (a Concatenate or an Add feeding a later Add, the split being that
    merge) total the FNP2 weights and the other stores only; blind set 4, all 24 mappings of a
    model whose Add feeds two convolutions that a Concatenate joins (the stored tensor is a
    convolution's, the split the Add) leave that store out too; the 1061 other
    train/dev/final/blind mappings with stores, whose splits are all NP layers, total every
    store."""
    split = skip_split(model, merge, index)
    return split is None or not stores_merge_output(model, split)


def store_position(model, stored: str, merge: str, index: dict[str, int]) -> int:
    """Index of the layer holding the skip-DMA store of ``stored``'s output: the stored layer,
    or, when that is itself a merge (Add, Concatenate: no NP of its own), its first reader
    before ``merge`` (corpus, blind set 2, one-pass sequences: a Concatenate stored for an Add
    two convolutions later has its SKIP_DMA_STORE on the first of them and reserves 1 + 3 = 4
    copies, an Add stored for an Add after conv, conv likewise 4, where counting from the
    stored merge would give 5)."""
    at = index[stored]
    if not stores_merge_output(model, stored):
        return at
    readers = [index[c.name] for c in model.consumers(stored)
               if c.name in index and c.name != merge and at < index[c.name] < index[merge]]
    return min(readers, default=at)


# ----- per hardware sequence -------------------------------------------------------------------
def assign_skip_memory(sequence, model) -> None:
    """Set the external memory of each skip-DMA store of a hardware sequence: the merge
    layer's earliest inbound (the tensor that waits for the other branch) times
    :func:`skip_buffer_count`."""
    index = {lay.name: i for i, lay in enumerate(model.layers)}
    for p in sequence.passes:
        for lm in p:
            if not lm.skipdma_stores:
                continue
            merge = model.get_layer(lm.layer)
            stored = min((n for n in merge.inbounds if n in index), key=index.__getitem__,
                         default=None)
            if stored is None:
                continue
            between = index[merge.name] - store_position(model, stored, merge.name, index) - 1
            size = skip_tensor_bytes(model.get_layer(stored)) * \
                skip_buffer_count(merge.TYPE, between, len(sequence.passes))
            for c in lm.skipdma_stores:
                c.mem_info["external_size"] = size
                c.in_external_total = store_in_external_total(model, merge, index)


def dense_inputs_across_passes(sequence, model) -> None:
    """A Dense1D fed by a CNP layer (Conv2D, DepthwiseConv2D) of an earlier pass of its
    hardware sequence holds its input as in the pass of that CNP (:func:`fnp_input_size`:
    pooled values at :func:`gap_bits`, rows padded by :func:`v2_fnp_x`).  Corpus, training
    models, every such Dense1D: 24 pooled 4-bit channels 24 B, 192 8-bit ones 768 B (from a
    software layer 4 bits: 16 channels 8 B); independent dev corpus: a 5x5x64 4-bit input
    960 B (rows of 6); after an InputConv2D of an earlier pass the rows stay unpadded (25x5x16
    4-bit 1000 B)."""
    seen: set = set()
    for p in sequence.passes:
        for lm in p:
            layer = model.get_layer(lm.layer)
            if layer.TYPE != "Dense1D" or not lm.nps or not layer.inbounds:
                continue
            inbound = model.get_layer(layer.inbounds[0])
            if inbound.name in seen and inbound.TYPE in ("Conv2D", "DepthwiseConv2D"):
                for c in lm.nps:
                    c.mem_info["input_size"] = fnp_input_size(layer, inbound, True)
        seen.update(lm.layer for lm in p)

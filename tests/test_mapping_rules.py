"""One small architecture per mapping rule, with the expected mapping worked out by hand from the
rule (not copied from Akida's outputs).  The rules and what in Akida's mappings shows them are
documented in nsoc/hardware/mapping/."""
import numpy as np
import pytest

from nsoc.errors import MappingError
from nsoc.hardware.device import get_device
from nsoc.hardware.mapping import (
    cnp_input_size,
    cnp_weight_size,
    compute_min_device,
    fnp_external_size,
    fnp_weight_size,
    map_model,
)
from nsoc.hardware.mapping.memory import band_neighbours, skip_buffer_count
from nsoc.hardware.mapping.program import (
    layer_program_bytes,
    program_header_bytes,
    v1_device_header_bytes,
    v2_bytes_per_weight_word,
    v2_cnp_chain_bytes,
    v2_input_conv_bytes,
)
from nsoc.hardware.types import Sequence
from nsoc.layers import make_layer
from nsoc.model import Model
from nsoc.testing import random_v1_model, random_v2_model


def _v2(blocks, shape, **kw):
    return random_v2_model(blocks, shape, seed=3, **kw)


def _nps(mapping, name):
    return mapping.layer(name).nps


# ----- memory formulas -----------------------------------------------------------------------
def test_v2_conv_weight_words():
    m = _v2([("conv", {"filters": 8}), ("conv", {"filters": 25, "kernel_size": 1}),
             ("dense", {"units": 2})], (4, 4, 16))
    conv3, conv1 = m.get_layer("conv_0"), m.get_layer("conv_1")
    # 3x3 4-bit: groups of 8 filters, 3 words of 100 bits per input channel
    assert cnp_weight_size(conv3, 8) == 1 * 16 * 3 * 100 // 8 == 600
    assert cnp_weight_size(conv3, 9) == 2 * 16 * 3 * 100 // 8
    # 1x1 4-bit: groups of 24 filters, one word per input channel (8 channels in conv_1)
    assert cnp_weight_size(conv1, 24) == 1 * 8 * 100 // 8
    assert cnp_weight_size(conv1, 25) == 2 * 8 * 100 // 8


def test_v2_depthwise_weight_words():
    m = _v2([("dw", {}), ("dw", {"kernel_size": 5}), ("dense", {"units": 2})], (6, 6, 16))
    # 3x3 4-bit: two kernels per 100-bit word; 5x5 4-bit: three half-words per kernel
    assert cnp_weight_size(m.get_layer("dw_0"), 16) == 8 * 100 // 8
    assert cnp_weight_size(m.get_layer("dw_0"), 3) == -(-2 * 100 // 8)
    assert cnp_weight_size(m.get_layer("dw_1"), 16) == 24 * 100 // 8


def test_v1_conv_7x7_weight_words():
    m = random_v1_model([("input_conv", {"filters": 16}), ("conv", {"filters": 64,
                         "kernel_size": 7}), ("conv", {"filters": 16, "kernel_size": 7,
                         "weight_bits": 2}), ("dense", {"units": 2})], (8, 8, 1), seed=3)
    conv4, conv2 = m.get_layer("conv_1"), m.get_layer("conv_2")
    # 4-bit 7x7: 5 words of 50 bits per filter (filters rounded up to 8) plus one word per
    # input channel, in blocks of 16 words; 16 input channels
    assert cnp_weight_size(conv4, 2) == 16 * 48 * 50 // 8       # 8 * 5 + 1 = 41 -> 48
    assert cnp_weight_size(conv4, 16) == 16 * 96 * 50 // 8      # 16 * 5 + 1 = 81 -> 96
    assert cnp_weight_size(conv4, 32) == 16 * 176 * 50 // 8     # 161 -> 176
    # 2-bit 7x7: 2 words per filter, nothing added, in blocks of 8 words; 64 input channels
    assert cnp_weight_size(conv2, 8) == 64 * 16 * 50 // 8
    assert cnp_weight_size(conv2, 5) == 64 * 16 * 50 // 8       # 8 filters: 16 words
    assert cnp_weight_size(conv2, 12) == 64 * 32 * 50 // 8      # 16 filters: 32 words


def test_v1_separable_2_bit_depthwise_in_blocks_of_8_words():
    m = random_v1_model([("input_conv", {"filters": 8}), ("sep", {"filters": 8,
                         "weight_bits": 2}), ("sep", {"filters": 8, "weight_bits": 2}),
                         ("dense", {"units": 2})], (6, 6, 1), seed=3)
    sep = m.get_layer("sep_1")
    # 8 channels, 2-bit 3x3: 2 kernels a word -> 4 words, one block of 8; pointwise 8 filters
    # x 2 bits in one 48-bit word per channel -> 8 words; 16 words of 50 bits = 100 B
    assert cnp_weight_size(sep, 8) == 16 * 50 // 8


def test_v1_separable_partial_filter_group_costs_more_pointwise_bits():
    m = random_v1_model([("input_conv", {"filters": 32}), ("sep", {"filters": 64}),
                         ("sep", {"filters": 64, "weight_bits": 2}), ("dense", {"units": 2})],
                        (6, 6, 1), seed=3)
    sep4, sep2 = m.get_layer("sep_1"), m.get_layer("sep_2")
    assert sep4.input_dims[2] == 32 and sep2.input_dims[2] == 64
    # 4-bit 3x3, 32 channels: depthwise 1 word a channel; 24 filters x 4 bits = 96 bits =
    # 2 words; 22 filters: 24 x 4 + 16 = 112 bits = 3 words (13: 16 x 4 + 16 = 80 -> 2)
    assert cnp_weight_size(sep4, 24) == 32 * (1 + 2) * 50 // 8
    assert cnp_weight_size(sep4, 22) == 32 * (1 + 3) * 50 // 8
    assert cnp_weight_size(sep4, 13) == 32 * (1 + 2) * 50 // 8
    # 2-bit 3x3, 64 channels: depthwise 2 channels a word = 32 words; 16 filters x 2 bits =
    # 32 bits = 1 word; 10 filters: 16 x 2 + 32 = 64 bits = 2 words
    assert cnp_weight_size(sep2, 16) == (32 + 64 * 1) * 50 // 8
    assert cnp_weight_size(sep2, 10) == (32 + 64 * 2) * 50 // 8


def test_v2_cnp_input_rows_are_32_bit_aligned():
    m = _v2([("conv", {"filters": 8}), ("dense", {"units": 2})], (10, 6, 16))
    conv = m.get_layer("conv_0")
    # 8-bit input (the Quantizer's): 10 columns x 8 bits = 80 bits -> 96 bits = 12 bytes
    assert conv.input_bits == 8
    assert cnp_input_size(conv, 10, 16, banded=False, after_add=False) == 12 * 6 * 16
    # a band also holds the 2 columns it shares (96 bits); after an Add 2048 bytes more
    assert cnp_input_size(conv, 10, 16, banded=True, after_add=True) == 12 * 6 * 16 + 2048


def test_v2_edge_bands_hold_half_the_shared_columns():
    m = _v2([("conv", {"filters": 8}), ("dense", {"units": 2})], (56, 4, 16))
    conv = m.get_layer("conv_0")
    assert band_neighbours(conv, 0, 19) == 1 and band_neighbours(conv, 19, 19) == 2
    assert band_neighbours(conv, 38, 18) == 1 and band_neighbours(conv, 0, 56) == 0
    # 3x3 'same': one shared column per neighbour; 8-bit rows of 19 + 1 = 20 B (edge band),
    # 19 + 2 = 21 columns -> 24 B (inner band)
    assert conv.input_bits == 8
    assert cnp_input_size(conv, 19, 16, True, False, neighbours=1) == 20 * 4 * 16
    assert cnp_input_size(conv, 19, 16, True, False, neighbours=2) == 24 * 4 * 16


def test_v2_fnp_weights_and_fnp2_for_large_weights():
    small = _v2([("dense", {"units": 10})], (1, 1, 64))
    big = _v2([("dense", {"units": 1000, "weight_bits": 8})], (1, 1, 64), act_bits=8)
    d = small.get_layer("dense_0")
    # 4-bit weights on 64 8-bit inputs from the Quantizer: 64 B of input, each unit's weights
    # at 4 bits, 10 x (32 + 8) B (Akida's mapper probed)
    assert fnp_weight_size(d, 10, 64) == 10 * (32 + 8)
    lm = map_model(small, "TwoNodesIPv2").layer("dense_0")
    assert lm.nps[0].type == "FNP3" and lm.nps[0].mem_info["weight_size"] == 10 * (32 + 8)
    assert lm.nps[0].mem_info["input_size"] == 64
    # 1000 x (64 + 8) = 72000 B > the FNP3's 49152 B: FNP2, weights in external memory
    mapping = map_model(big, "TwoNodesIPv2")
    c, = mapping.layer("dense_0").nps
    assert c.type == "FNP2" and c.mem_info["external_size"] == 72000
    assert mapping.external_memory_size == 72000


def test_v2_dense_after_the_input_convolution_weights_padded():
    m = _v2([("input_conv", {"filters": 16, "kernel_size": 3}), ("dense", {"units": 10})],
            (25, 3, 1))
    c, = map_model(m, "TwoNodesIPv2").layer("dense_1").nps
    # 25x3x16 4-bit from the HRC: input memory unpadded 25*3*16/2 = 600 B, weights sized for
    # rows padded to 26 columns: 10 x (26*3*16/2 + 8) = 10 x 632 B
    assert c.type == "FNP3"
    assert c.mem_info["input_size"] == 600
    assert c.mem_info["weight_size"] == 10 * 632


def test_dense_after_a_pooling_of_an_earlier_pass_holds_8_bit_values():
    blocks = [("conv", {"filters": 8})] * 7 + [("conv", {"filters": 24, "pool": "gap"}),
                                               ("dense", {"units": 4})]
    m = _v2(blocks, (6, 6, 8))
    mapping = map_model(m, "TwoNodesIPv2", mode="Minimal")
    seq, = mapping.sequences
    # the eight CNP layers fill the first pass; the dense layer opens the second
    assert [lm.layer for lm in seq.passes[1]][0] == "dense_8"
    assert m.get_layer("conv_7").output_bits == 4
    c, = mapping.layer("dense_8").nps
    # 24 pooled 4-bit channels held at 8 bits, as in the pass of the pooling: 24 B, not 12
    assert c.mem_info["input_size"] == 24


def test_dense_after_a_cnp_of_an_earlier_pass_has_padded_rows():
    m = _v2([("conv", {"filters": 8})] * 8 + [("dense", {"units": 4})], (5, 5, 8))
    mapping = map_model(m, "TwoNodesIPv2", mode="Minimal")
    seq, = mapping.sequences
    assert [lm.layer for lm in seq.passes[1]][0] == "dense_8"
    c, = mapping.layer("dense_8").nps
    # 5x5x8 4-bit from conv_7 of the first pass: rows of 6 columns, 6 x 5 x 8 / 2 = 120 B
    assert m.get_layer("conv_7").output_bits == 4
    assert c.mem_info["input_size"] == 120


def test_external_memory_in_64_byte_blocks_above_64k():
    assert fnp_external_size(20000) == 20000            # not a multiple of 64, kept
    assert fnp_external_size(65480) == 65480
    assert fnp_external_size(65537) == 65600            # next multiple of 64
    assert fnp_external_size(500 * 520) == 260032       # 260000 -> 4063 blocks of 64
    big = _v2([("dense", {"units": 1900})], (1, 1, 64))
    # 4-bit weights on 64 8-bit inputs from the Quantizer: 1900 x (32 + 8) = 76000 B > the
    # FNP3's 49152 B: external, 1187.5 blocks of 64 -> 76032 B
    mapping = map_model(big, "TwoNodesIPv2")
    c, = mapping.layer("dense_0").nps
    assert c.type == "FNP2" and c.mem_info["external_size"] == 76032
    assert mapping.external_memory_size == 76032


def test_v1_separable_2_bit_7x7_depthwise_in_whole_rows():
    m = random_v1_model([("input_conv", {"filters": 16}), ("sep", {"filters": 16,
                         "weight_bits": 2, "kernel_size": 7}), ("dense", {"units": 2})],
                        (8, 8, 1), seed=3)
    sep = m.get_layer("sep_1")
    assert sep.params["kernel_width"] == 7 and sep.input_dims[2] == 16
    # 98 bits a kernel do not fit a 50-bit word: rows of 14 bits, 3 a word -> 3 words a
    # channel (48); pointwise 16 filters x 2 bits in one word a channel (16): 64 words
    assert cnp_weight_size(sep, 16) == 64 * 50 // 8


def test_skip_dma_buffers_in_external_memory():
    m = _v2([("input_conv", {"filters": 8}), ("conv", {"filters": 8}), ("conv", {"filters": 8}),
             ("add", {}), ("dense", {"units": 4})], (8, 6, 1))
    assert m.get_layer("add_3").inbounds == ["conv_1", "conv_2"]
    mapping = map_model(m, "TwelveNodesIPv2")
    assert len(mapping.sequences) == 1 and len(mapping.sequences[0].passes) == 1
    store, = mapping.layer("add_3").skipdma_stores
    # conv_1 waits: 8x6x8 4-bit = 8 columns x 4 bits = 4 B a row, 6 x 8 rows = 192 B; one
    # layer (conv_2) before the Add in a one-pass sequence: 1 + 3 = 4 copies
    assert m.get_layer("conv_1").output_bits == 4
    assert store.mem_info["external_size"] == 4 * 192
    assert mapping.external_memory_size == 768
    # two copies in a sequence of several passes; a Concatenate adds 2 instead of 3
    assert skip_buffer_count("Add", 1, sequence_passes=2) == 2
    assert skip_buffer_count("Concatenate", 1, sequence_passes=1) == 3


def test_skip_dma_store_of_a_merge_output():
    # add_3's output waits for add_6 two convolutions later: its store is held by its reader
    # conv_4, so it reserves 1 (conv_5) + 3 = 4 copies, not 2 + 3, and the mapping's total
    # leaves that buffer out (it counts conv_1's store only)
    m = _v2([("input_conv", {"filters": 8}), ("conv", {"filters": 8}), ("conv", {"filters": 8}),
             ("add", {}), ("conv", {"filters": 8}), ("conv", {"filters": 8}),
             ("add", {"with_block": 3}), ("dense", {"units": 4})], (8, 6, 1))
    assert m.get_layer("add_6").inbounds == ["add_3", "conv_5"]
    mapping = map_model(m, "TwelveNodesIPv2")
    assert len(mapping.sequences) == 1 and len(mapping.sequences[0].passes) == 1
    first, = mapping.layer("add_3").skipdma_stores
    second, = mapping.layer("add_6").skipdma_stores
    assert m.get_layer("add_3").output_bits == 4                 # 8x6x8 4-bit: 192 B a copy
    assert first.mem_info["external_size"] == 4 * 192 and first.in_external_total
    assert second.mem_info["external_size"] == 4 * 192 and not second.in_external_total
    assert mapping.external_memory_size == 768


def test_skip_dma_store_of_a_branch_split_at_a_merge():
    # add_3 feeds two convolutions that concat_6 joins: the skip connection splits at add_3 (a
    # merge), so the mapping's total leaves concat_6's store out although it holds conv_4's
    # own output; add_3's store (split at conv_1, an NP layer) is counted
    m = _v2([("input_conv", {"filters": 8}), ("conv", {"filters": 8}), ("conv", {"filters": 8}),
             ("add", {}), ("conv", {"filters": 8}), ("conv", {"filters": 8, "from_block": 2}),
             ("concat", {}), ("dense", {"units": 4})], (8, 6, 1))
    assert m.get_layer("conv_5").inbounds == ["add_3"]
    assert m.get_layer("concat_6").inbounds == ["conv_4", "conv_5"]
    mapping = map_model(m, "TwelveNodesIPv2")
    assert len(mapping.sequences) == 1 and len(mapping.sequences[0].passes) == 1
    first, = mapping.layer("add_3").skipdma_stores
    second, = mapping.layer("concat_6").skipdma_stores
    # 8x6x8 4-bit: 192 B a copy; add_3: conv_2 between, 1 + 3 copies; concat_6: conv_5
    # between, 1 + 2 copies
    assert first.mem_info["external_size"] == 4 * 192 and first.in_external_total
    assert second.mem_info["external_size"] == 3 * 192 and not second.in_external_total
    assert mapping.external_memory_size == 768


# ----- column bands and filter splitting -----------------------------------------------------
def test_wide_input_splits_in_bands_of_64():
    m = _v2([("conv", {"filters": 8}), ("dense", {"units": 2})], (100, 1, 8))
    nps = _nps(map_model(m, "TwoNodesIPv2", mode="Minimal"), "conv_0")
    # 100 columns > 64: two bands of 50, each NP holds 50 + 2 shared columns of 8-bit inputs
    # (416 bits, already 32-bit aligned) for 1 row and 8 channels
    assert len(nps) == 2 and [c.filters for c in nps] == [8, 8]
    assert nps[0].mem_info["input_size"] == 52 * 1 * 8


def test_large_input_splits_in_bands_by_input_sram():
    m = _v2([("conv", {"filters": 8}), ("dense", {"units": 2})], (48, 48, 48), act_bits=8)
    nps = _nps(map_model(m, "TwelveNodesIPv2", mode="Minimal"), "conv_0")
    # 48 x 48 x 48 bytes > 65536: 2 bands of 24 (+2 shared -> 28 aligned) = 64512 B each
    assert len(nps) == 2
    assert {c.mem_info["input_size"] for c in nps} == {28 * 48 * 48}


def test_allnps_smallest_filters_per_np_bound():
    blocks = [("input_conv", {"filters": 8}), ("conv", {"filters": 8}), ("conv", {"filters": 16}),
              ("conv", {"filters": 32}), ("dense", {"units": 10})]
    m = _v2(blocks, (8, 8, 3))
    # FourNodesIPv2: 16 NPs, one kept for the dense layer; t = 4 gives 2 + 4 + 8 = 14 NPs,
    # t = 3 would give 3 + 6 + 11 = 20
    mapping = map_model(m, "FourNodesIPv2")
    assert [[c.filters for c in _nps(mapping, f"conv_{i}")] for i in (1, 2, 3)] == \
        [[4, 4], [4] * 4, [4] * 8]
    mapping = map_model(m, "FourNodesIPv2", mode="Minimal")
    assert [len(_nps(mapping, f"conv_{i}")) for i in (1, 2, 3)] == [1, 1, 1]
    assert {c.type for i in (1, 2, 3) for c in _nps(mapping, f"conv_{i}")} == {"CNP1"}


def test_filters_per_np_take_the_bound_and_the_last_the_rest():
    m = _v2([("conv", {"filters": 8}), ("conv", {"filters": 16}), ("conv", {"filters": 32}),
             ("dense", {"units": 10})], (8, 8, 3))
    # FourNodesIPv2, 15 CNPs: t = 6 gives 2 + 3 + 6 = 11, t = 5 gives 2 + 4 + 7 = 13,
    # t = 4 gives 2 + 4 + 8 = 14, t = 3 gives 3 + 6 + 11 = 20: t = 4
    mapping = map_model(m, "FourNodesIPv2")
    assert [c.filters for c in _nps(mapping, "conv_2")] == [4] * 8
    # a 3-filter bound on 16 filters: ceil(16 / 3) = 6 NPs of 3, the last 1
    req_filters = [c.filters for c in _nps(map_model(m, "SixNodesIPv2", mode="HwPr"), "conv_1")]
    assert req_filters == [3, 3, 3, 3, 3, 1]


# ----- modes and passes -----------------------------------------------------------------------
def test_minimal_packs_passes_when_the_device_is_full():
    blocks = [("conv", {"filters": 16, "kernel_size": 1}) for _ in range(10)] + \
        [("dense", {"units": 4})]
    m = _v2(blocks, (4, 4, 8))
    mapping = map_model(m, "TwoNodesIPv2", mode="Minimal", hw_only=True)
    # 8 NPs: a pass holds 8 one-NP layers, the second the 2 others and the dense layer
    seq, = mapping.sequences
    assert [sum(len(lm.nps) for lm in p) for p in seq.passes] == [8, 3]


# ----- layers refused, with Akida's wording ------------------------------------------------
def test_two_bit_input_convolution_output():
    m = _v2([("input_conv", {"filters": 8, "output_bits": 2}), ("conv", {"filters": 8}),
             ("dense", {"units": 2})], (8, 8, 1), act_bits=2)
    with pytest.raises(MappingError, match=r"^Cannot map layer 'input_conv_0'\. Output should be "
                                           r"4-bit or 8-bit\. 2 given\.$"):
        map_model(m, "TwoNodesIPv2", hw_only=True)
    # without hw_only every layer runs in software (2-bit inputs everywhere)
    assert [s.backend for s in map_model(m, "TwoNodesIPv2").sequences] == ["Software"]


def test_v2_max_pooling_of_3_goes_to_software():
    m = _v2([("conv", {"filters": 8}), ("conv", {"filters": 8, "pool": "max", "pool_size": 3}),
             ("conv", {"filters": 8}), ("dense", {"units": 2})], (12, 12, 4))
    with pytest.raises(MappingError, match=r"'conv_1'\. Pooling size must be 1 or 2\.$"):
        map_model(m, "FourNodesIPv2", hw_only=True)
    seqs = map_model(m, "FourNodesIPv2").sequences
    assert [(s.backend, s.layers[0]) for s in seqs] == [
        ("Hardware", "input_quantizer"), ("Software", "conv_1"), ("Hardware", "conv_2")]


def test_v2_global_pooling_height_limit():
    m = _v2([("conv", {"filters": 8, "pool": "gap"}), ("dense", {"units": 2})], (80, 1, 4))
    with pytest.raises(MappingError, match=r"When using Global Average Pooling, input height "
                                           r"cannot exceed 64\."):
        map_model(m, "TwoNodesIPv2", hw_only=True)


def test_v2_padding_stride_and_pooling_refusals_reported_together():
    def model(shape, **opt):
        return _v2([("conv", {"filters": 8}), ("conv", {"filters": 8, **opt}),
                    ("conv", {"filters": 8, "kernel_size": 1}), ("dense", {"units": 2})], shape)
    cases = [
        ((16, 16, 4), {"padding": "valid", "stride": 2, "pool": "gap"},
         "Only padding 'Same' and 'SameUpper' are supported. The CNP cannot support both "
         "pooling and stride. When using Global Average Pooling, input dimensions width * "
         "height cannot exceed 144."),
        ((80, 8, 4), {"stride": 2, "pool": "gap"},
         "The CNP cannot support both pooling and stride. When using Global Average Pooling, "
         "input height cannot exceed 64. When using Global Average Pooling, input dimensions "
         "width * height cannot exceed 144."),
        ((16, 16, 4), {"stride": 2, "pool": "max", "pool_size": 3},
         "The CNP cannot support both pooling and stride. Pooling size must be 1 or 2."),
        ((16, 16, 4), {"padding": "valid"},
         "Only padding 'Same' and 'SameUpper' are supported."),
    ]
    for shape, opt, message in cases:
        with pytest.raises(MappingError) as exc:
            map_model(model(shape, **opt), "TwoNodesIPv2", hw_only=True)
        assert str(exc.value) == f"Cannot map layer 'conv_1'. {message}"
        # without hw_only the refused layer alone runs in software
        seqs = map_model(model(shape, **opt), "TwoNodesIPv2").sequences
        assert [s.backend for s in seqs][:3] == ["Hardware", "Software", "Hardware"]
        assert seqs[1].layers == ["conv_1"]


def test_v1_cnp_may_pool_after_a_stride():
    # Akida 1.0 CNPs pool after a strided convolution (max or global average); Akida 2.0 ones
    # do not (test above)
    for pool, after in (("max", [("conv", {"filters": 8})]), ("gap", [])):
        m = random_v1_model([("input_conv", {"filters": 8}),
                             ("conv", {"filters": 8, "stride": 2, "pool": pool}), *after,
                             ("dense", {"units": 2})], (16, 16, 1), seed=2)
        assert map_model(m, "AKD1500", hw_only=True).n_software_sequences == 0


def test_max_pooling_before_a_dense_layer():
    m = _v2([("conv", {"filters": 8, "pool": "max"}), ("dense", {"units": 2})], (8, 8, 4))
    with pytest.raises(MappingError) as exc:
        map_model(m, "TwoNodesIPv2", hw_only=True)
    assert str(exc.value) == (
        "Cannot map layer 'conv_0':\n  * Layer 'conv_0': A layer with max pooling cannot be "
        "the last layer of a sequence.\n  * Layer 'dense_1': Any layer with max pooling must "
        "be followed by a layer mapped on a CNP or a TNP-B. Layer 'conv_0' has max pooling.")


def test_v1_max_pooling_before_a_dense_layer():
    m = random_v1_model([("input_conv", {"filters": 8}), ("conv", {"filters": 8}),
                         ("sep", {"filters": 8, "pool": "max"}), ("dense", {"units": 2})],
                        (16, 16, 1), seed=2)
    with pytest.raises(MappingError) as exc:
        map_model(m, "AKD1000", hw_only=True)
    assert str(exc.value) == (
        "Cannot map layer 'sep_2':\n  * Layer 'sep_2': A convolutional or separable "
        "convolutional layer with max pooling cannot be the last layer of a sequence.\n  * "
        "Layer 'dense_3': A convolutional or separable convolutional layer with max pooling "
        "must be followed by another convolutional or separable convolutional layer. Layer "
        "'sep_2' has max pooling.")
    # without hw_only the pooling layer alone runs in software
    seqs = map_model(m, "AKD1500").sequences
    assert [(s.backend, s.layers) for s in seqs] == [
        ("Hardware", ["input_conv_0", "conv_1"]), ("Software", ["sep_2"]),
        ("Hardware", ["dense_3"])]


def test_max_pooling_in_the_last_layer():
    v1 = random_v1_model([("input_conv", {"filters": 8}), ("conv", {"filters": 8}),
                          ("conv", {"filters": 8, "pool": "max"})], (16, 16, 1), seed=2)
    with pytest.raises(MappingError, match=r"^Cannot map layer 'conv_2'\. A convolutional or "
                                           r"separable convolutional layer with max pooling "
                                           r"cannot be the last layer of a sequence\.$"):
        map_model(v1, "TwoNodesIPv1", hw_only=True)
    v2 = _v2([("conv", {"filters": 8}), ("conv", {"filters": 8, "pool": "max"})], (8, 8, 4))
    with pytest.raises(MappingError, match=r"^Cannot map layer 'conv_1'\. A layer with max "
                                           r"pooling cannot be the last layer of a sequence\.$"):
        map_model(v2, "TwoNodesIPv2", hw_only=True)
    assert [s.backend for s in map_model(v2, "TwoNodesIPv2").sequences][-1] == "Software"


def test_v2_dense_weights_at_the_weight_width():
    def dense_mem(shape, **conv):
        m = _v2([("conv", {"filters": shape[2], "kernel_size": 1, **conv}),
                 ("dense", {"units": 4})], shape)
        c, = _nps(map_model(m, "TwoNodesIPv2", hw_only=True), "dense_1")
        return c.mem_info["input_size"], c.mem_info["weight_size"]
    # 4-bit inputs of 4-bit weights fed by a CNP of the pass: rows padded to even columns,
    # 3x5x8 -> 4 x 5 x 8 x 4 bits = 80 B, weights 4 x (80 + 8)
    assert dense_mem((3, 5, 8)) == (80, 4 * 88)
    # 8-bit inputs of 4-bit weights: unpadded 120 B, weights at 4 bits: 4 x (60 + 8)
    assert dense_mem((3, 5, 8), output_bits=8) == (120, 4 * 68)
    # ... also after a global average pooling (not widened): 24 B, 4 x (12 + 8)
    assert dense_mem((4, 4, 24), output_bits=8, pool="gap") == (24, 4 * 20)


def test_dense_input_shift_memory():
    m = _v2([("dense", {"units": 8})], (25, 5, 16))
    # 26 (even) x 5 positions x ceil(3 * 16 / 8) = 780 bytes of input shifts > 768
    with pytest.raises(MappingError, match=r"Input shift exceeds memory\. Maximum size is 768 "
                                           r"bytes\. \(got 780 bytes\)\."):
        map_model(m, "TwoNodesIPv2", hw_only=True)


def test_v1_global_pooling_needs_three_rows():
    # the input convolution needs 5 rows: stride 3 brings 6 down to 2
    m = random_v1_model([("input_conv", {"filters": 8, "stride": 3}),
                         ("conv", {"filters": 8, "pool": "gap"}), ("dense", {"units": 2})],
                        (16, 6, 1), seed=2)
    with pytest.raises(MappingError, match=r"'conv_1'\. When using Global Average Pooling, the "
                                           r"output of the convolution must have at least 3 "
                                           r"rows \(currently 2\)\."):
        map_model(m, "AKD1500", hw_only=True)


def _v1_pooled(shape, stride=1, **opt):
    return random_v1_model([("input_conv", {"filters": 8, "stride": stride}),
                            ("conv", {"filters": 8}),
                            ("conv", {"filters": 8, "pool": "gap", **opt}),
                            ("dense", {"units": 2})], shape, seed=2)


def test_v1_global_pooling_input_at_most_32_wide():
    # dims[0] (Akida's "height") above 32 is refused; dims[1] is not limited
    with pytest.raises(MappingError, match=r"^Cannot map layer 'conv_2'\. With average pooling, "
                                           r"input height cannot exceed 32\.$"):
        map_model(_v1_pooled((33, 16, 1)), "AKD1500", hw_only=True)
    assert map_model(_v1_pooled((32, 40, 1)), "AKD1500", hw_only=True).n_software_sequences == 0
    # without hw_only the pooled layer alone runs in software, between two hardware sequences
    seqs = map_model(_v1_pooled((40, 16, 1)), "AKD1000").sequences
    assert [(s.backend, s.layers) for s in seqs] == [
        ("Hardware", ["input_conv_0", "conv_1"]), ("Software", ["conv_2"]),
        ("Hardware", ["dense_3"])]


def test_v1_padding_and_pooling_refusals_reported_together():
    with pytest.raises(MappingError, match=r"'conv_2'\. With average pooling, input height "
                                           r"cannot exceed 32\. When using Global Average "
                                           r"Pooling, the output of the convolution must have "
                                           r"at least 3 rows \(currently 2\)\.$"):
        # the input convolution needs 5 rows: stride 3 brings 120 x 6 down to 40 x 2
        map_model(_v1_pooled((120, 6, 1), stride=3), "AKD1500", hw_only=True)
    with pytest.raises(MappingError, match=r"'conv_2'\. Only padding same is supported\. With "
                                           r"average pooling, input height cannot exceed 32\.$"):
        map_model(_v1_pooled((40, 8, 1), padding="valid"), "TwoNodesIPv1", hw_only=True)


def test_v1_global_pooling_input_must_fit_one_cnp():
    # 16 x 5 x 2048 4-bit: 5 * 2048 * ceil(16 * 4 / 8) = 81920 B > the 43008 B input SRAM of
    # an AKD1500 CNP, so the layer would need column bands, which global pooling forbids
    def model(channels):
        return random_v1_model([("input_conv", {"filters": 8}), ("conv", {"filters": channels}),
                                ("sep", {"filters": 8, "pool": "gap"}), ("dense", {"units": 2})],
                               (16, 5, 1), seed=2)
    with pytest.raises(MappingError, match=r"^Cannot map layer 'sep_2'\. With average pooling, "
                                           r"spatial split is impossible\.$"):
        map_model(model(2048), "AKD1500", hw_only=True)
    # 1024 channels: 40960 B, one band
    assert map_model(model(1024), "AKD1500", hw_only=True).n_software_sequences == 0
    # 40 x 40 x 64 4-bit: 40 * 64 * 20 = 51200 B, and 40 > 32: both messages
    wide = random_v1_model([("input_conv", {"filters": 8}), ("conv", {"filters": 64}),
                            ("sep", {"filters": 8, "pool": "gap"}), ("dense", {"units": 2})],
                           (40, 40, 1), seed=2)
    with pytest.raises(MappingError, match=r"'sep_2'\. With average pooling, input height "
                                           r"cannot exceed 32\. With average pooling, spatial "
                                           r"split is impossible\.$"):
        map_model(wide, "AKD1500", hw_only=True)


def test_v1_valid_padding_goes_to_software():
    m = random_v1_model([("input_conv", {"filters": 8}), ("conv", {"filters": 8,
                         "padding": "valid"}), ("dense", {"units": 2})], (8, 8, 1), seed=2)
    with pytest.raises(MappingError, match=r"'conv_1'\. Only padding same is supported\.$"):
        map_model(m, "AKD1500", hw_only=True)
    assert [s.backend for s in map_model(m, "AKD1500").sequences] == [
        "Hardware", "Software", "Hardware"]


def test_v1_cnp_weight_bit_widths():
    def model(kind, bits):
        return random_v1_model([("input_conv", {"filters": 8}),
                                (kind, {"filters": 8, "weight_bits": bits}),
                                ("dense", {"units": 2})], (8, 8, 1), seed=2)
    for bits in (1, 2, 4):
        assert map_model(model("conv", bits), "AKD1500", hw_only=True).n_software_sequences == 0
    for bits in (2, 4):
        assert map_model(model("sep", bits), "AKD1500", hw_only=True).n_software_sequences == 0
    with pytest.raises(MappingError, match=r"^Cannot map layer 'conv_1'\. Standard CNP weights "
                                           r"bitwidth must be 1, 2 or 4\.$"):
        map_model(model("conv", 8), "AKD1000", hw_only=True)
    for bits in (1, 8):
        with pytest.raises(MappingError, match=r"'sep_1'\. Separable CNP weights bitwidth "
                                               r"must be 2 or 4\.$"):
            map_model(model("sep", bits), "TwoNodesIPv1", hw_only=True)
    # without hw_only the layer runs in software
    assert [s.backend for s in map_model(model("conv", 8), "AKD1500").sequences] == [
        "Hardware", "Software", "Hardware"]


def test_v1_weight_bits_checked_after_pooling_and_before_filter_size():
    m = _v1_pooled((40, 8, 1), weight_bits=8)
    with pytest.raises(MappingError, match=r"'conv_2'\. With average pooling, input height"):
        map_model(m, "AKD1500", hw_only=True)
    # 3x3 8-bit filters over 1024 channels would not fit a CNP either
    m = random_v1_model([("input_conv", {"filters": 8}), ("conv", {"filters": 1024}),
                         ("conv", {"filters": 8, "weight_bits": 8}), ("dense", {"units": 2})],
                        (8, 8, 1), seed=2)
    with pytest.raises(MappingError, match=r"'conv_2'\. Standard CNP weights bitwidth"):
        map_model(m, "AKD1500", hw_only=True)


def test_v1_max_pooling_of_3_only_refused_by_nsoc_v2_silicon():
    m = random_v1_model([("input_conv", {"filters": 8}),
                         ("conv", {"filters": 8, "pool": "max", "pool_size": 3}),
                         ("conv", {"filters": 8}), ("dense", {"units": 2})], (16, 16, 1), seed=2)
    with pytest.raises(MappingError, match=r"Pooling size 3 is not supported on NSoC_v2\."):
        map_model(m, "AKD1000", hw_only=True)
    assert map_model(m, "AKD1500", hw_only=True).n_software_sequences == 0


def test_v1_max_pooling_window_at_most_3():
    m = random_v1_model([("input_conv", {"filters": 8}),
                         ("conv", {"filters": 8, "pool": "max", "pool_size": 4}),
                         ("conv", {"filters": 8}), ("dense", {"units": 2})], (16, 16, 1), seed=2)
    with pytest.raises(MappingError, match=r"^Cannot map layer 'conv_1'\. Pooling size must be "
                                           r"1, 2 or 3\.$"):
        map_model(m, "AKD1500", hw_only=True)


def test_v1_cnp_strides():
    def model(k, s, **opt):
        return random_v1_model([("input_conv", {"filters": 8}),
                                ("conv", {"filters": 8, "kernel_size": k, "stride": s, **opt}),
                                ("conv", {"filters": 8}), ("dense", {"units": 2})],
                               (16, 16, 1), seed=2)
    assert map_model(model(3, 2), "AKD1500", hw_only=True).n_software_sequences == 0
    with pytest.raises(MappingError, match=r"^Cannot map layer 'conv_1'\. Convolution stride 2 "
                                           r"is only supported for 3x3 kernels\.$"):
        map_model(model(5, 2), "AKD1000", hw_only=True)
    with pytest.raises(MappingError, match=r"^Cannot map layer 'conv_1'\. Convolution stride "
                                           r"must be 1 or 2\.$"):
        map_model(model(3, 3), "TwoNodesIPv1", hw_only=True)
    # reported first, with the padding refusal
    with pytest.raises(MappingError, match=r"'conv_1'\. Convolution stride 2 is only supported "
                                           r"for 3x3 kernels\. Only padding same is "
                                           r"supported\.$"):
        map_model(model(5, 2, padding="valid"), "AKD1500", hw_only=True)
    # without hw_only the layer runs in software
    assert [s.backend for s in map_model(model(7, 2), "AKD1500").sequences] == [
        "Hardware", "Software", "Hardware"]


def test_v1_fully_connected_limits():
    def model(shape, filters=8, kind="input_conv", stride=1, **dense):
        blocks = [("input_conv", {"filters": 8 if kind == "conv" else filters,
                                  "stride": stride})]
        if kind == "conv":
            blocks.append(("conv", {"filters": filters}))
        return random_v1_model(blocks + [("dense", {"units": 4, **dense}),
                                         ("dense", {"units": 2})], shape, seed=2)
    # 16 x 10 x 512 = 81920 inputs map; 17 x 10 x 512 do not
    assert map_model(model((16, 10, 1), 512), "AKD1500", hw_only=True).n_software_sequences == 0
    with pytest.raises(MappingError, match=r"^Cannot map layer 'dense_1'\. Input dimensions are "
                                           r"too large to fit in a FNP\. The maximum value is "
                                           r"81920\.$"):
        map_model(model((17, 10, 1), 512), "AKD1500", hw_only=True)
    # 3 x 2 positions of 4096 channels (a 9 x 5 input at stride 3: the input convolution needs
    # 5 columns and rows): 24576 inputs, but more than 2048 channels.  No CNP layer has more
    # than 2048 filters, so hw_only refuses the convolution first; without hw_only the dense
    # layer runs in software with it
    m = model((9, 5, 1), 4096, "conv", stride=3)
    with pytest.raises(MappingError, match=r"^Cannot map layer 'conv_1'\. The maximum number "
                                           r"of filters is 2048 \(got 4096\)\.$"):
        map_model(m, "TwoNodesIPv1", hw_only=True)
    assert [(s.backend, s.layers) for s in map_model(m, "TwoNodesIPv1").sequences] == [
        ("Hardware", ["input_conv_0"]), ("Software", ["conv_1", "dense_2"]),
        ("Hardware", ["dense_3"])]
    with pytest.raises(MappingError, match=r"^Cannot map layer 'dense_1'\. Weight bits should be "
                                           r"between 1 and 4 inclusive\.$"):
        map_model(model((8, 8, 1), weight_bits=8), "AKD1000", hw_only=True)
    # without hw_only the layer runs in software
    assert [s.backend for s in map_model(model((8, 8, 1), weight_bits=8), "AKD1000").sequences
            ] == ["Hardware", "Software", "Hardware"]


def test_input_convolution_limits():
    def v1(shape, filters=8):
        return random_v1_model([("input_conv", {"filters": filters}), ("conv", {"filters": 8}),
                                ("dense", {"units": 2})], shape, seed=2)
    # v1: input_dims[1] at most 256, input_dims[0] not limited
    assert map_model(v1((300, 8, 1)), "AKD1500", hw_only=True).n_software_sequences == 0
    with pytest.raises(MappingError, match=r"^Cannot map layer 'input_conv_0'\. The parameter "
                                           r"num_neurons should be set between 1 and 512\. The "
                                           r"maximum input second dimension size is 256 \(got "
                                           r"300\)\.$"):
        map_model(v1((8, 300, 1), 600), "AKD1500", hw_only=True)

    def v2(shape, **opt):
        return _v2([("input_conv", {"filters": 8, **opt}), ("conv", {"filters": 8,
                    "stride": 2}), ("dense", {"units": 2})], shape)
    # v2: input_dims[1] at most 384, input_dims[0] not limited
    seqs = map_model(v2((400, 8, 3)), "TwelveNodesIPv2").sequences
    assert seqs[0].backend == "Hardware" and "input_conv_0" in seqs[0].layers
    with pytest.raises(MappingError) as exc:
        map_model(v2((8, 385, 3), kernel_size=9), "TwelveNodesIPv2", hw_only=True)
    assert str(exc.value) == (
        "Cannot map layer 'input_conv_0'. Unsupported kernel size.\n The kernel size should be "
        "3, 4, 5 or 7. 9 given. Unsupported input size. Received: 385 as second dimension.\n "
        "The second dimension should be between 5 and 384.")
    with pytest.raises(MappingError, match=r"'input_conv_0'\. The filters number should be set "
                                           r"between 1 and 512\. 513 given\.$"):
        map_model(v2((8, 8, 3), filters=513), "TwelveNodesIPv2", hw_only=True)
    # without hw_only the input convolution runs in software
    assert [s.backend for s in map_model(v2((8, 400, 3)), "TwelveNodesIPv2").sequences][0] == \
        "Software"


def test_v1_filter_too_big_for_a_cnp():
    m = random_v1_model([("input_conv", {"filters": 8}), ("conv", {"filters": 512}),
                         ("conv", {"filters": 4}), ("dense", {"units": 2})], (8, 8, 1), seed=2)
    # one 3x3 4-bit filter over 512 channels: 16 words of 50 bits per channel = 51200 B
    assert cnp_weight_size(m.get_layer("conv_2"), 1) == 51200
    with pytest.raises(MappingError, match=r"'conv_2'\. Filter size is too big to fit in a CNP"):
        map_model(m, "TwoNodesIPv1", hw_only=True)


def test_not_enough_cnps_wording():
    # 3x3 8-bit filters over 256 channels: 8 filters take 256 x 6 words = 19200 B, so an NP
    # holds 16 of the 512: 32 NPs, TwoNodesIPv2 has 8
    m = _v2([("conv", {"filters": 512, "weight_bits": 8, "pool": "gap"}),
             ("dense", {"units": 2})], (4, 4, 256), act_bits=8)
    with pytest.raises(MappingError, match=r"Not enough hardware components of type CNP1 "
                                           r"available\. \d+ are needed but \d+ are available"):
        map_model(m, "TwoNodesIPv2", hw_only=True)


# ----- compute_min_device and program size -------------------------------------------------
def test_compute_min_device():
    m = _v2([("input_conv", {"filters": 8}), ("conv", {"filters": 16}), ("conv", {"filters": 16}),
             ("dense", {"units": 10})], (8, 8, 1))
    dev = compute_min_device(m)
    # 2 CNPs + 1 FNP, rounded up to one node of 4; its only FNP is an FNP2
    assert len(dev.mesh.nps) == 4 and dev.mesh.hrc is not None
    mapping = map_model(m, dev)
    assert [c.type for c in _nps(mapping, "dense_3")] == ["FNP2"]
    assert [len(_nps(mapping, f"conv_{i}")) for i in (1, 2)] == [1, 1]
    v1 = random_v1_model([("input_conv", {"filters": 8}), ("dense", {"units": 2})], (8, 8, 1))
    with pytest.raises(MappingError, match="Akida 2.0 models only"):
        compute_min_device(v1)


def test_v1_program_size_law():
    m = random_v1_model([("input_conv", {"filters": 8}), ("conv", {"filters": 16}),
                         ("dense", {"units": 10})], (8, 8, 1), seed=4)
    mapping = map_model(m, get_device("TwoNodesIPv1"), mode="Minimal")
    seq, = mapping.sequences
    hrc, = _nps(mapping, "input_conv_0")
    cnp, = _nps(mapping, "conv_1")
    fnp, = _nps(mapping, "dense_2")
    # header + HRC weights + 120 (no Quantizer before it) + CNP (64-bit word per 50-bit
    # word, 8 B per filter + 224)
    # + FNP weights + 216 + 8 B per unit; 56 B for each layer after the first (2); 12 B for
    # the HRC on TwoNodesIPv1
    cnp_words = cnp.mem_info["weight_size"] * 8 // 50
    want = 484 + hrc.mem_info["weight_size"] + 120 + cnp_words * 8 + 8 * 16 + 224 + \
        fnp.mem_info["weight_size"] + 216 + 8 * 10 + 2 * 56 + 12
    assert seq.program_size == want
    # the same Convolutional on more NPs: the 56 B stay per layer
    spread = map_model(m, get_device("TwoNodesIPv1"), mode="AllNps")
    seq2, = spread.sequences
    assert len(_nps(spread, "conv_1")) > 1
    layers = sum(layer_program_bytes(lm, m.get_layer(lm.layer), "v1")
                 for p in seq2.passes for lm in p)
    assert seq2.program_size == 484 + layers + 2 * 56 + 12


def test_allnps_one_bound_for_every_hardware_sequence():
    blocks = [("input_conv", {"filters": 8}), ("conv", {"filters": 32}),
              ("conv", {"filters": 8, "pool": "max", "pool_size": 3, "pool_stride": 1})] + \
        [("conv", {"filters": 32}) for _ in range(4)] + [("dense", {"units": 4})]
    m = _v2(blocks, (5, 5, 1))
    mapping = map_model(m, "FourNodesIPv2")
    # the 3-wide max pooling runs in software: two hardware sequences.  The second (4 layers
    # of 32 filters and the dense layer, 15 CNPs) needs t = 11 (3 NPs a layer; t = 10 gives 16);
    # the first alone would spread conv_1 at t = 2, it takes the model's bound 11 instead
    assert [s.backend for s in mapping.sequences] == ["Hardware", "Software", "Hardware"]
    assert [c.filters for c in _nps(mapping, "conv_1")] == [11, 11, 10]
    assert [c.filters for c in _nps(mapping, "conv_3")] == [11, 11, 10]
    # HwPr: one bound for both sequences, by binary search (tests/test_mapping_hwpr.py):
    # t = 16 maps (2 NPs a layer), t = 8 does not (4 x 4 NPs fill the device, the dense
    # layer's pass may not use conv_6's NPs, which hold every FNP slot), t = 12 maps (3 NPs a
    # layer, FNP3 free), t = 10 does not (4 NPs), t = 11 maps: conv_1 also at t = 11
    mapping = map_model(m, "FourNodesIPv2", mode="HwPr")
    assert [c.filters for c in _nps(mapping, "conv_1")] == [11, 11, 10]
    assert [len(p) for p in mapping.sequences[2].passes] == [6]


def test_akd1000_cnp_holds_at_most_504_filters():
    def model(filters):
        return random_v1_model([("input_conv", {"filters": 16}),
                                ("conv", {"filters": filters, "kernel_size": 1}),
                                ("dense", {"units": 2})], (4, 4, 1), seed=3)
    # 1x1 4-bit filters on 16 channels: the weights fit one NP (48 words a channel for 512
    # filters); AKD1500 keeps 512 filters on one NP, AKD1000 (NSoC_v2) at most 504:
    # ceil(505 / 504) = 2 NPs of 253 and 252; 512 on 2 of 256; 504 stay on one NP
    for device, filters, want in (("AKD1500", 512, [512]), ("AKD1000", 512, [256, 256]),
                                  ("AKD1000", 505, [253, 252]), ("AKD1000", 504, [504])):
        mapping = map_model(model(filters), device, mode="Minimal")
        assert [c.filters for c in _nps(mapping, "conv_1")] == want


def test_a_merge_opens_the_pass_of_the_layer_it_feeds():
    blocks = [("conv", {"filters": 16, "kernel_size": 1}) for _ in range(8)] + \
        [("add", {}), ("conv", {"filters": 16, "kernel_size": 1}), ("dense", {"units": 4})]
    m = _v2(blocks, (4, 4, 8))
    # TwoNodesIPv2, 8 NPs: conv_0..conv_7 fill the first pass; conv_9 opens the second and
    # the Add feeding it goes with it rather than ending the first pass
    seq, = map_model(m, "TwoNodesIPv2", mode="Minimal", hw_only=True).sequences
    assert [lm.layer for lm in seq.passes[1]] == ["add_8", "conv_9", "dense_10", "dequantizer"]
    assert seq.passes[0][-1].layer == "conv_7"


def test_v2_program_size_law():
    m = _v2([("conv", {"filters": 8}), ("dense", {"units": 10})], (4, 4, 16))
    mapping = map_model(m, "TwoNodesIPv2", mode="Minimal")
    seq, = mapping.sequences
    assert len(seq.passes) == 1
    cnp, = _nps(mapping, "conv_0")
    fnp, = _nps(mapping, "dense_1")
    # 3x3 4-bit, 16 input channels, 8 filters: 48 words of 100 bits; 4x4x8 4-bit input of
    # the dense layer from the CNP of its pass: 64 B
    assert cnp.mem_info["weight_size"] == 600 and fnp.type == "FNP3"
    assert fnp.mem_info["input_size"] == 64
    # header 332; Conv2D: 8 B per output channel, NP 288 + 16 input channels, 16 B per word;
    # Dense1D: 464, per unit its 64 input bytes + 16, one byte per input (4 x 4 x 8)
    conv = 8 * 8 + (288 + 16) + 16 * 48
    dense = 464 + 10 * (64 + 16) + 4 * 4 * 8
    assert seq.program_size == 332 + conv + dense


def test_v2_program_hidden_dense_units_take_8_bytes_less():
    m = _v2([("dense", {"units": 32}), ("dense", {"units": 10})], (1, 1, 64))
    mapping = map_model(m, "TwoNodesIPv2", mode="Minimal")
    seq, = mapping.sequences
    hidden, = _nps(mapping, "dense_0")
    last, = _nps(mapping, "dense_1")
    assert m.get_layer("dense_0").output_bits <= 8 < m.get_layer("dense_1").output_bits
    # the device's only FNP3 takes the first dense layer, the second goes to an FNP2
    assert len(seq.passes) == 1 and (hidden.type, last.type) == ("FNP3", "FNP2")
    # 4-bit weights: on the 8-bit model input 32 B + 8 a unit, on the 4-bit hidden output
    # 16 B + 8 a unit
    assert hidden.mem_info["weight_size"] == 32 * (32 + 8)
    assert last.mem_info["external_size"] == 10 * (16 + 8)
    # header 332; per Dense1D 464, its units' weights and one byte per input; 8 B more a unit
    # for the 28-bit last layer; 48 for the FNP2; dense_0 reads the model's input (a
    # Quantizer): 5 B per input value less 96
    want = 332 + (464 + 32 * 40 + 64) + (464 + 10 * 24 + 10 * 8 + 32 + 48) + (5 * 64 - 96)
    assert seq.program_size == want == 3228
    # a signed input (InputData after the Quantizer): 5 B per input value less 64
    signed = _v2([("dense", {"units": 32}), ("dense", {"units": 10})], (1, 1, 64),
                 input_signed=True)
    assert signed.layers[1].TYPE == "InputData"
    seq, = map_model(signed, "TwoNodesIPv2", mode="Minimal").sequences
    assert seq.program_size == want + 32


def test_v2_program_dense_layers_after_the_first_two_take_128_bytes_less():
    def program(n_dense):
        m = _v2([("conv", {"filters": 16, "kernel_size": 1})] +
                [("dense", {"units": 32})] * (n_dense - 1) + [("dense", {"units": 10})],
                (4, 4, 8))
        seq, = map_model(m, "FourNodesIPv2", hw_only=True).sequences
        return seq.program_size, m
    p2, _ = program(2)
    p3, m3 = program(3)
    p4, m4 = program(4)
    # a third 32-unit Dense1D on the 4-bit 32-value output of a 32-unit one: 464 + 32 x
    # (16 + 8) + 32 B, less 128 B; a fourth the same again
    layer = 464 + 32 * (16 + 8) + 32
    assert m3.get_layer("dense_2").input_dims == (1, 1, 32)
    assert p3 - p2 == layer - 128
    # the fourth Dense1D takes the device's FNP2 (FourNodesIPv2 has three FNP3s): 48 B more
    mapping4 = map_model(m4, "FourNodesIPv2", hw_only=True)
    assert sorted(mapping4.layer(f"dense_{i}").nps[0].type for i in range(1, 5)) == \
        ["FNP2", "FNP3", "FNP3", "FNP3"]
    assert p4 - p3 == layer - 128 + 48


def test_v2_program_of_chained_cnp_layers():
    m = _v2([("input_conv", {"filters": 8}), ("conv", {"filters": 16}), ("dw", {}),
             ("conv", {"filters": 16, "kernel_size": 1}), ("dense", {"units": 4})], (8, 8, 1))
    mapping = map_model(m, "FourNodesIPv2", mode="Minimal")
    seq, = mapping.sequences
    assert len(seq.passes) == 1 and all(len(lm.nps) <= 1 for lm in seq.passes[0])
    # conv_1 reads the InputConv2D: nothing; dw_2 reads conv_1 and conv_3 reads dw_2: 56 B
    # each; the sequence ends with a Dense1D and no layer is cut in bands
    assert v2_cnp_chain_bytes(seq, m) == 2 * 56
    layers = sum(layer_program_bytes(lm, m.get_layer(lm.layer), "v2") for lm in seq.passes[0])
    assert seq.program_size == 332 + layers + 2 * 56


def test_v2_program_of_a_cnp_layer_with_global_average_pooling():
    m = _v2([("input_conv", {"filters": 8}), ("conv", {"filters": 16, "pool": "gap"}),
             ("dense", {"units": 4})], (8, 8, 1))
    seq, = map_model(m, "FourNodesIPv2", mode="Minimal").sequences
    # conv_1 reads the InputConv2D (no chaining term) and pools: 64 B
    assert v2_cnp_chain_bytes(seq, m) == 64


def test_v2_program_of_cnp_layers_reading_a_merge():
    m = _v2([("input_conv", {"filters": 8}), ("conv", {"filters": 8}), ("conv", {"filters": 8}),
             ("add", {}), ("conv", {"filters": 8}), ("dense", {"units": 4})], (8, 6, 1))
    seq, = map_model(m, "TwelveNodesIPv2").sequences
    # conv_2 reads conv_1 and conv_4 the Add: 56 B each; conv_1 reads the InputConv2D
    assert m.get_layer("conv_4").inbounds == ["add_3"]
    assert v2_cnp_chain_bytes(seq, m) == 2 * 56


@pytest.mark.parametrize("channels, quantizer_bytes", [(1, 40), (3, 40 + 2 * 4)])
def test_v2_program_of_an_input_conv_without_quantizer(channels, quantizer_bytes):
    m = _v2([("input_conv", {"filters": 8}), ("conv", {"filters": 8}), ("dense", {"units": 4})],
            (8, 8, channels))
    ic = m.get_layer("input_conv_0")
    # the same model starting with its InputConv2D (no Quantizer before it): the Quantizer's
    # 40 B and 4 B per input channel after the first are gone
    bare = make_layer("InputConv2D", ic.name, ic.params, ic.variables, [])
    m2 = Model([bare] + [lay for lay in m.layers if lay.TYPE != "Quantizer" and lay is not ic],
               "v2")
    seq, = map_model(m, "FourNodesIPv2", mode="Minimal").sequences
    seq2, = map_model(m2, "FourNodesIPv2", mode="Minimal").sequences
    assert [lm.layer for lm in seq2.passes[0]][0] == "input_conv_0"
    assert seq2.program_size == seq.program_size - quantizer_bytes


def test_v2_program_of_banded_cnp_layers_and_a_cnp_output():
    m = _v2([("conv", {"filters": 8}), ("conv", {"filters": 8}), ("dense", {"units": 4})],
            (100, 1, 8))
    seq, = map_model(m, "TwoNodesIPv2", mode="Minimal").sequences
    conv0, conv1 = seq.passes[0][1], seq.passes[0][2]
    # 100 columns in two bands of 50: two NPs holding the same 8 filters per layer
    assert [(c.start_neuron, c.filters) for c in conv0.nps + conv1.nps] == [(0, 8)] * 4
    # a second band 64 B per layer; conv_1 reads conv_0: 56 B
    assert v2_cnp_chain_bytes(seq, m) == 2 * 64 + 56
    # without the Dense1D the sequence's output leaves from conv_1: 96 B more
    cut = Sequence(seq.name, "Hardware", [[lm for lm in seq.passes[0]
                                          if lm.layer != "dense_2"]])
    assert v2_cnp_chain_bytes(cut, m) == 2 * 64 + 56 + 96


def test_v2_program_cnp_layer_records():
    m = _v2([("input_conv", {"filters": 8}), ("conv", {"filters": 16}), ("dw", {}),
             ("dense", {"units": 4})], (8, 8, 1))
    wide = _v2([("input_conv", {"filters": 8, "kernel_size": 5}), ("conv", {"filters": 8}),
                ("dense", {"units": 4})], (8, 8, 3))
    mapping = map_model(m, "FourNodesIPv2", mode="Minimal")
    ic, conv, dw = (mapping.layer(n) for n in ("input_conv_0", "conv_1", "dw_2"))

    def words(lm):
        return sum(-(-c.mem_info["weight_size"] * 8 // 100) for c in lm.nps)

    # InputConv2D 3x3 on one channel: weights + 272 B; 5x5 on 3 channels: + 48 + 2 x 4 B
    assert layer_program_bytes(ic, m.get_layer("input_conv_0"), "v2") == \
        ic.nps[0].mem_info["weight_size"] + 272
    wide_ic = map_model(wide, "FourNodesIPv2", mode="Minimal").layer("input_conv_0")
    assert layer_program_bytes(wide_ic, wide.get_layer("input_conv_0"), "v2") == \
        wide_ic.nps[0].mem_info["weight_size"] + 272 + 48 + 8
    # Conv2D reading 8 channels: 8 B per output channel, 288 + 8 a NP, 16 B a weight word;
    # the depthwise layer of 16 channels likewise with its own 16 channels
    assert layer_program_bytes(conv, m.get_layer("conv_1"), "v2") == \
        8 * 16 + (288 + 8) + 16 * words(conv)
    assert layer_program_bytes(dw, m.get_layer("dw_2"), "v2") == \
        8 * 16 + (288 + 16) + 16 * words(dw)


def test_v2_program_of_a_conv_reading_the_model_input():
    m = _v2([("conv", {"filters": 8}), ("dense", {"units": 4})], (4, 4, 3), input_signed=True)
    assert m.layers[1].TYPE == "InputData"
    conv = m.get_layer("conv_0")
    # 5 B per input channel + 120 B; its NP reads 3 channels, counted as 8
    assert v2_input_conv_bytes(conv, m) == 5 * 3 + 120
    lm = map_model(m, "TwoNodesIPv2", mode="Minimal").layer("conv_0")
    words = sum(-(-c.mem_info["weight_size"] * 8 // 100) for c in lm.nps)
    assert layer_program_bytes(lm, conv, "v2") == \
        8 * 8 + len(lm.nps) * (288 + 8) + v2_bytes_per_weight_word(conv) * words


def test_v1_program_hrc_channels_and_device_header():
    def model(channels):
        return random_v1_model([("input_conv", {"filters": 8}), ("conv", {"filters": 16}),
                                ("dense", {"units": 4})], (8, 8, channels), seed=4)
    def with_quantizer(m):
        ic = m.get_layer("input_conv_0")
        x, y, c = ic.input_dims
        quantizer = make_layer("Quantizer", "input_quantizer", dict(
            input_width=x, input_height=y, input_channels=c, output_bits=8, output_signed=0),
            {"scales": np.full(1, 1.0, np.float32), "zero_points": np.zeros(1, np.uint8)})
        fed = make_layer("InputConvolutional", ic.name, ic.params, ic.variables,
                         ["input_quantizer"])
        return Model([quantizer, fed] + [lay for lay in m.layers if lay is not ic], "v1")

    one, three = model(1), model(3)
    for m, channels, wide in ((one, 1, 0), (three, 3, 48)):
        # the model starting with its InputConvolutional: weights + 120 B (+ 48 B unless
        # 3x3 on one channel); after a Quantizer: its 40 B and 4 B per channel after the first
        hrc = map_model(m, "AKD1000", mode="Minimal").layer("input_conv_0")
        assert layer_program_bytes(hrc, m.get_layer("input_conv_0"), "v1") == \
            hrc.nps[0].mem_info["weight_size"] + 120 + wide
        q = with_quantizer(m)
        hrc = map_model(q, "AKD1000", mode="Minimal").layer("input_conv_0")
        assert layer_program_bytes(hrc, q.get_layer("input_conv_0"), "v1") == \
            hrc.nps[0].mem_info["weight_size"] + 120 + wide + 40 + 4 * (channels - 1)
    # the header: a sequence holding the HRC takes 12 B more on AKD1500 than on AKD1000
    seq1000, = map_model(one, "AKD1000", mode="Minimal").sequences
    seq1500, = map_model(one, "AKD1500", mode="Minimal").sequences
    assert seq1500.program_size == seq1000.program_size + 12
    # without the HRC, 20 B less on AKD1000 (NSoC_v2) and nothing elsewhere
    cut = Sequence(seq1000.name, "Hardware", [[lm for lm in seq1000.passes[0]
                                               if lm.layer != "input_conv_0"]])
    assert v1_device_header_bytes(cut, get_device("AKD1000").hw_version) == -20
    assert v1_device_header_bytes(cut, get_device("TwoNodesIPv1").hw_version) == 0
    assert v1_device_header_bytes(seq1500, get_device("AKD1500").hw_version) == 12


def test_v1_program_passes():
    m = random_v1_model([("input_conv", {"filters": 8})] + [("conv", {"filters": 32})] * 10 +
                        [("dense", {"units": 4})], (8, 8, 1), seed=4)
    seq, = map_model(m, "AKD1500", mode="HwPr").sequences
    n = len(seq.passes)
    assert n > 1
    layers = sum(layer_program_bytes(lm, m.get_layer(lm.layer), "v1")
                 for p in seq.passes for lm in p)
    # header 484 + 64 B per pass after the first; 56 B per layer after the first (11); 12 B
    # for the HRC with other NPs on AKD1500
    assert seq.program_size == 484 + 64 * (n - 1) + layers + 11 * 56 + 12
    assert program_header_bytes("v1", n) == 484 + 64 * (n - 1)


def test_v1_program_of_an_fnp2():
    # 1076 units of 40 B do not fit an FNP3 (43008 B): the FNP2 adds 48 B to its records
    m = random_v1_model([("input_conv", {"filters": 32, "kernel_size": 1}),
                         ("dense", {"units": 1076})], (1, 1, 1), seed=3)
    lm = map_model(m, "AKD1500", mode="Minimal").layer("dense_1")
    c, = lm.nps
    layer = m.get_layer("dense_1")
    assert c.type == "FNP2" and layer.output_bits > 8
    assert layer_program_bytes(lm, layer, "v1") == c.mem_info["weight_size"] + \
        c.mem_info["external_size"] + 216 + 8 * 1076 + 48


def test_v1_program_hidden_dense_units_have_no_unit_records():
    m = random_v1_model([("input_conv", {"filters": 8}), ("dense", {"units": 16}),
                         ("dense", {"units": 10})], (8, 8, 1), seed=4)
    mapping = map_model(m, get_device("TwoNodesIPv1"), mode="Minimal")
    seq, = mapping.sequences
    hrc, = _nps(mapping, "input_conv_0")
    hidden, = _nps(mapping, "dense_1")
    last, = _nps(mapping, "dense_2")
    assert m.get_layer("dense_1").output_bits <= 8 < m.get_layer("dense_2").output_bits

    def fnp(c):
        return c.mem_info["weight_size"] + c.mem_info["external_size"] + 216 + \
            (48 if c.type == "FNP2" else 0)

    # header + HRC weights + 120 (no Quantizer before it); FNPs: weights + 216 (+ 48 on an
    # FNP2), 8 B per unit for the last layer only;
    # 56 B for each layer after the first; 12 B for the HRC on TwoNodesIPv1
    want = 484 + hrc.mem_info["weight_size"] + 120 + fnp(hidden) + fnp(last) + 8 * 10 + \
        2 * 56 + 12
    assert seq.program_size == want


def test_v1_program_of_an_hrc_alone():
    # a valid-padding Convolutional runs in software: the HRC is its sequence's only NP,
    # header 484 + its weights + 68 B (3x3 on one channel), + 116 B (5x5: 48 B more)
    for kernel, extra in ((3, 68), (5, 116)):
        m = random_v1_model([("input_conv", {"filters": 8, "kernel_size": kernel}),
                             ("conv", {"filters": 8, "padding": "valid"}),
                             ("dense", {"units": 2})], (16, 16, 1), seed=2)
        seq = map_model(m, "AKD1500").sequences[0]
        hrc, = _nps(map_model(m, "AKD1500"), "input_conv_0")
        assert [lm.layer for p in seq.passes for lm in p if lm.nps] == ["input_conv_0"]
        assert seq.program_size == 484 + hrc.mem_info["weight_size"] + extra


def test_v2_program_bytes_per_weight_word():
    m = _v2([("conv", {"filters": 8, "kernel_size": 1, "weight_bits": 8}),
             ("conv", {"filters": 8, "kernel_size": 7, "weight_bits": 8}),
             ("conv", {"filters": 8}), ("dense", {"units": 2})], (8, 8, 8), act_bits=8)
    # 96 data bits of 8-bit 1x1 weights in 12 B; 8-bit 7x7 and 4-bit words in 16 B
    assert v2_bytes_per_weight_word(m.get_layer("conv_0")) == 12
    assert v2_bytes_per_weight_word(m.get_layer("conv_1")) == 16
    assert v2_bytes_per_weight_word(m.get_layer("conv_2")) == 16


def test_fnp3_holds_48_kib_v2_and_42_kib_v1_of_weights():
    # v2 Dense1D, 8-bit weights on 64 8-bit inputs: (64 + 8) B a unit; 682 units = 49104 B <=
    # 49152 B fit an FNP3, 683 units = 49176 B need the FNP2 (weights in external memory)
    for units, kind in ((682, "FNP3"), (683, "FNP2")):
        m = _v2([("dense", {"units": units, "weight_bits": 8})], (1, 1, 64))
        c, = map_model(m, "TwoNodesIPv2", mode="Minimal").layer("dense_0").nps
        assert c.type == kind
        if kind == "FNP3":
            assert c.mem_info["weight_size"] == units * 72
    # v1 FullyConnected, 32 inputs and 4-bit weights: 32 x 6 bits + 16 B = 40 B a unit;
    # 1075 units = 43000 B <= 43008 B fit an FNP3, 1076 = 43040 B do not (though below the
    # 44800-byte NP weight SRAM), on every v1 device
    for units, kind in ((1075, "FNP3"), (1076, "FNP2")):
        m = random_v1_model([("input_conv", {"filters": 32, "kernel_size": 1}),
                             ("dense", {"units": units})], (1, 1, 1), seed=3)
        for device in ("AKD1500", "AKD1000", "TwoNodesIPv1"):
            c, = map_model(m, device, mode="Minimal").layer("dense_1").nps
            assert c.type == kind


def test_an_uneven_share_of_filters_must_fit_the_weight_sram():
    def model(filters):
        return random_v1_model([("input_conv", {"filters": 64, "kernel_size": 1}),
                                ("conv", {"filters": 1024, "kernel_size": 1}),
                                ("sep", {"filters": filters}), ("dense", {"units": 2})],
                               (7, 7, 1), seed=3)
    sep = model(1024).get_layer("sep_2")
    sram = get_device("AKD1500").mesh.np_sram_size.weight_bytes
    # separable 3x3 on 1024 4-bit channels: 72 filters fit one NP, 69 (not a multiple of 8)
    # do not, 64 do
    assert cnp_weight_size(sep, 72) <= sram < cnp_weight_size(sep, 69)
    assert cnp_weight_size(sep, 64) <= sram
    # 1024 filters at 72 a NP: 15 groups of 69 do not fit, 16 of 64 do; 1000: 14 of 72 fit;
    # 960: 14 groups of 69 do not, 15 of 64 do
    for filters, want in ((1024, [64] * 16), (1000, [72] * 13 + [64]), (960, [64] * 15)):
        mapping = map_model(model(filters), "AKD1500", mode="Minimal")
        assert [c.filters for c in _nps(mapping, "sep_2")] == want


def test_v1_7x7_4_bit_filters_must_stay_below_the_weight_sram():
    def share(cin, k, bits, filters):
        m = random_v1_model([("input_conv", {"filters": cin, "kernel_size": 1}),
                             ("conv", {"filters": filters, "kernel_size": k,
                                       "weight_bits": bits}),
                             ("dense", {"units": 2})], (7, 7, 1), seed=3)
        sram = get_device("AKD1500").mesh.np_sram_size.weight_bytes
        nps = _nps(map_model(m, "AKD1500", mode="Minimal"), "conv_1")
        return cnp_weight_size(m.get_layer("conv_1"), filters) == sram, \
            [c.filters for c in nps]
    # 7x7 4-bit on 16 channels: 81 filters take (88 x 5 + 1 -> 448 words) x 16 = 44800 B,
    # exactly the SRAM: not on one NP (41 + 40); 80 filters (416 words a channel) fit
    assert share(16, 7, 4, 81) == (True, [41, 40])
    assert share(16, 7, 4, 80)[1] == [80]
    # a 3x3 4-bit layer (32 channels, 296 filters) and a 2-bit 7x7 one (16 channels, 224
    # filters) filling the SRAM exactly stay on one NP
    assert share(32, 3, 4, 296) == (True, [296])
    assert share(16, 7, 2, 224) == (True, [224])


def test_separable_with_global_pooling_split_by_its_weights_only():
    m = random_v1_model([("input_conv", {"filters": 1024, "kernel_size": 1}),
                         ("sep", {"filters": 384, "pool": "gap", "weight_bits": 2}),
                         ("dense", {"units": 2})], (7, 7, 1), seed=3)
    sep = m.get_layer("sep_1")
    sram = get_device("AKD1500").mesh.np_sram_size.weight_bytes
    # 2-bit separable 3x3 on 1024 channels: 136 filters fit one NP, 137 and more do not
    # (137 take the words of 144 filters, 48000 B); 384 filters -> ceil(384 / 136) = 3 NPs of
    # 128, though 1024 x 128 pointwise weights a NP exceed the 65536 once assumed for pooling
    assert cnp_weight_size(sep, 136) <= sram < cnp_weight_size(sep, 137)
    mapping = map_model(m, "AKD1500", mode="Minimal")
    assert [c.filters for c in _nps(mapping, "sep_1")] == [128, 128, 128]


def test_v2_weight_bits_against_input_and_output_bits():
    def error(blocks, **kw):
        with pytest.raises(MappingError) as err:
            map_model(_v2(blocks, (4, 4, 16), **kw), "TwoNodesIPv2", hw_only=True)
        return str(err.value)
    # 8-bit weights on the 4-bit output of a previous layer
    for kind, opt in (("conv", {"filters": 8}), ("dw", {}), ("dense", {"units": 4})):
        msg = error([("conv", {"filters": 16}), (kind, {**opt, "weight_bits": 8}),
                     ("dense", {"units": 2})])
        assert msg.endswith("Input bits should be >= weights bits.")
    # 4-bit weights with an 8-bit ReLU output (8-bit activations)
    assert error([("dw", {}), ("dense", {"units": 2})], act_bits=8).endswith(
        "4-bit weights and 8-bit activation is not allowed.")
    assert error([("conv", {"filters": 16, "weight_bits": 8}), ("dense", {"units": 4}),
                  ("dense", {"units": 2})], act_bits=8).endswith(
        "With 4-bit weights, output must be 4-bit or 32-bit.")
    # 8-bit weights on 8-bit inputs map
    map_model(_v2([("conv", {"filters": 8, "weight_bits": 8}), ("dense", {"units": 2})],
                  (4, 4, 16), act_bits=8), "TwoNodesIPv2", hw_only=True)


def test_v1_bands_share_half_a_kernel_with_each_neighbour():
    def bands(channels, k):
        m = random_v1_model([("input_conv", {"filters": channels, "kernel_size": 1}),
                             ("sep", {"filters": 32, "kernel_size": k, "weight_bits": 2}),
                             ("dense", {"units": 10})], (32, 32, 1), seed=3)
        return len(_nps(map_model(m, "AKD1500", mode="Minimal"), "sep_1"))
    # 32 x 32 4-bit inputs, 43008 B of input SRAM.  128 channels, 7x7: one band would hold
    # 32 x 128 x 16 B = 65536 B; two bands of 16 columns + 3 shared (one neighbour each):
    # 32 x 128 x ceil(19 x 4 / 8) = 40960 B fit (a full kernel - 1 = 6 would need 45056 B)
    assert bands(128, 7) == 2
    # 144 channels: two bands need 46080 B; three of 11 columns, the inner one + 3 + 3:
    # 32 x 144 x ceil(17 x 4 / 8) = 41472 B
    assert bands(144, 7) == 3


def test_v2_conv2d_filter_must_fit_one_cnp():
    def model(channels):
        return _v2([("conv", {"filters": channels, "kernel_size": 1}),
                    ("conv", {"filters": 64, "kernel_size": 7}), ("dense", {"units": 2})],
                   (8, 8, 8))
    # 7x7 4-bit: 21 words of 100 bits per input channel for a group of 8 filters; 192
    # channels take 50400 B (fit the 51200-byte SRAM), 200 channels 52500 B: refused
    assert len(_nps(map_model(model(192), "TwoNodesIPv2", mode="Minimal"), "conv_1")) == 8
    with pytest.raises(MappingError, match="Cannot map layer 'conv_1'. Filter size is too big"):
        map_model(model(200), "TwoNodesIPv2", hw_only=True)

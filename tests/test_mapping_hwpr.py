"""HwPr (hardware partial reconfiguration) pass formation, with the expected mappings worked out
by hand from the rules in nsoc/hardware/mapping/passes.py (``hwpr_groups``, ``hwpr_bound``):

* at a bound t on filters per NP, a pass closes when the next layer does not fit, and the first
  layer of the next pass does not take the NPs of the layer that closed the previous one;
* the bound is found from 512 by halving while it fails, then a binary search below the
  first bound that maps, keeping each bound that maps as the upper end (not the smallest
  bound that maps); a bound maps when each hardware sequence fits without a sequence cut and
  no pass boundary falls between two branches of a skip connection.

TwoNodesIPv2 has 8 CNPs in the allocation order: six CNP-only NPs, then the FNP3 slot (7th),
then the FNP2 slot (8th).  Every layer below has a 1x1 kernel on a 4x4 input: one column band,
``ceil(filters / t)`` NPs.
"""
import pytest

from nsoc.errors import MappingError
from nsoc.hardware.mapping import map_model
from nsoc.layers import make_layer
from nsoc.model import Model
from nsoc.testing import random_v1_model, random_v2_model


def _conv(filters):
    return ("conv", {"filters": filters, "kernel_size": 1})


def _layout(mapping):
    return [[len(lm.nps) for lm in p if lm.nps] for s in mapping.sequences for p in s.passes]


def _idents(mapping, name):
    return [(c.ident.col, c.ident.row, c.ident.id) for c in mapping.layer(name).nps]


def test_next_pass_does_not_take_the_nps_of_the_closing_layer():
    m = random_v2_model([_conv(8), _conv(16), _conv(16)], (4, 4, 8), seed=3)
    # the search tries 256, 128, ..., 16, 8 (map in one pass: 1, 2, 2 NPs), then 4: conv_0
    # 2 + conv_1 4 NPs (1st-6th), conv_2's 4 do not fit, a second pass where conv_2 avoids
    # conv_1's NPs:
    # 1st, 2nd, 7th, 8th -> maps; t = 2: conv_0 4, conv_1 8 opens pass 2 with the 4 NPs
    # conv_0 leaves -> fails; t = 3: 3, then 6 in the 5 NPs conv_0 leaves -> fails: t = 4
    mapping = map_model(m, "TwoNodesIPv2", mode="HwPr", hw_only=True)
    assert _layout(mapping) == [[2, 4], [4]]
    assert _idents(mapping, "conv_1") == [(1, 2, 3), (2, 2, 1), (2, 2, 2), (2, 2, 3)]
    assert _idents(mapping, "conv_2") == [(1, 2, 1), (1, 2, 2), (2, 2, 0), (1, 2, 0)]
    assert [c.filters for c in mapping.layer("conv_2").nps] == [4, 4, 4, 4]


def test_a_dense_layer_left_without_an_fnp_slot_fails_the_bound():
    m = random_v2_model([_conv(8), _conv(16), _conv(16), ("dense", {"units": 4})], (4, 4, 8),
                        seed=3)
    # the search tries 256 ... 8 (map), then 4: 2 + 4 | conv_2 on the 1st, 2nd, 7th and 8th
    # NPs (as above): no FNP slot left for the dense layer, and a third pass may not use
    # conv_2's NPs -> fails.  Then 6 and 7: 2 + 3 + 3 fill the 8 NPs; the dense layer opens
    # pass 2 without conv_2's NPs (6th-8th, both FNP slots) -> fails.  t = 8: 1 + 2 + 2 +
    # the FNP3 in one pass.
    mapping = map_model(m, "TwoNodesIPv2", mode="HwPr", hw_only=True)
    assert _layout(mapping) == [[1, 2, 2, 1]]
    assert [c.filters for c in mapping.layer("conv_1").nps] == [8, 8]
    assert mapping.layer("dense_3").nps[0].type == "FNP3"


def test_the_bound_is_a_binary_search_not_the_smallest_that_maps():
    m = random_v2_model([_conv(32) for _ in range(4)] + [("dense", {"units": 4})], (4, 4, 8),
                        seed=3)
    # t = 11 to 15 map (3 + 3 | 3 + 3 + FNP3), t = 16 to 31 do not (2 NPs a layer fill the
    # device, the dense layer's pass may not use conv_3's 7th and 8th NPs).  The search tries
    # 256, 128, 64, 32 (map), 16, 24, 28, 30, 31 (fail): t = 32, one NP a layer.
    mapping = map_model(m, "TwoNodesIPv2", mode="HwPr", hw_only=True)
    assert _layout(mapping) == [[1, 1, 1, 1, 1]]
    assert [c.filters for c in mapping.layer("conv_0").nps] == [32]


def test_the_bound_keeps_two_branches_in_one_pass():
    blocks = [_conv(16), _conv(16), ("dw", {}), ("concat", {"with_block": 2}), _conv(8)]
    chain = random_v2_model(blocks, (4, 4, 8), seed=4)
    # dw_2 rewired onto conv_0: conv_0 splits into conv_1 and dw_2, merged by concat_3
    model = Model([make_layer(lay.TYPE, lay.name, lay.params, lay.variables,
                              ["conv_0"] if lay.name == "dw_2" else lay.inbounds)
                   for lay in chain.layers], "v2")
    # the search: 256 ... 16 and 8 map in one pass (8: 2 + 2 + 2 + 1 NPs); 4: conv_0 and
    # conv_1 (4 NPs each) fill the device, dw_2 would open pass 2 (on the 4 NPs conv_1 does
    # not hold, the pass fits) but a pass boundary between the branches fails the bound; 6
    # and 7: 3 + 3, dw_2's 3 do not fit the 2 left -> the same: t = 8, one pass
    mapping = map_model(model, "TwoNodesIPv2", mode="HwPr", hw_only=True)
    assert _layout(mapping) == [[2, 2, 2, 1]]
    assert [c.filters for c in mapping.layer("dw_2").nps] == [8, 8]


def test_the_search_halves_the_bound_until_one_maps():
    blocks = [_conv(64) for _ in range(6)] + [_conv(16), _conv(16), ("dw", {}),
                                               ("concat", {"with_block": 2}), _conv(8)]
    chain = random_v2_model(blocks, (4, 4, 8), seed=4)
    # dw_8 rewired onto conv_6: conv_6 splits into conv_7 and dw_8, merged by concat_9
    model = Model([make_layer(lay.TYPE, lay.name, lay.params, lay.variables,
                              ["conv_6"] if lay.name == "dw_8" else lay.inbounds)
                   for lay in chain.layers], "v2")
    # 512 to 64: one NP a layer, conv_0-conv_7 fill the 8 NPs and dw_8 opens a pass between
    # the branches -> fail (halve); 32: 2 NPs a 64-filter layer, 8 | 2 + 2 + 1 + 1 + 1 + 1
    # maps; then 16 maps (4 + 4 | 4 + 4 | 4 + 4 | 1 + 1 + 1 + 1); 8: conv_1 finds no NP
    # outside conv_0's 8 -> fails; 12 (6 NPs), 14 and 15 (5 NPs): conv_1 gets the 2 or 3
    # conv_0 leaves -> fail: t = 16
    mapping = map_model(model, "TwoNodesIPv2", mode="HwPr", hw_only=True)
    assert _layout(mapping) == [[4, 4], [4, 4], [4, 4], [1, 1, 1, 1]]
    assert [c.filters for c in mapping.layer("conv_0").nps] == [16] * 4


def test_no_bound_maps_without_hw_only_gives_the_allnps_mapping():
    blocks = [_conv(16) for _ in range(7)] + [_conv(16), ("dw", {}),
                                              ("concat", {"with_block": 2}), _conv(8)]
    chain = random_v2_model(blocks, (4, 4, 8), seed=4)
    # dw_8 rewired onto conv_6: conv_6 splits into conv_7 and dw_8, merged by concat_9
    model = Model([make_layer(lay.TYPE, lay.name, lay.params, lay.variables,
                              ["conv_6"] if lay.name == "dw_8" else lay.inbounds)
                   for lay in chain.layers], "v2")
    # 16-filter layers on 8 NPs: from 16 on, 1 NP each, conv_0-conv_7 fill the pass and dw_8
    # opens the next between the branches; 8: 2 NPs each, 4 layers a pass, the same; 6-7
    # (3 NPs), 4-5 (4 NPs): two layers a pass, dw_8 again after conv_7; 3 and 2 (6, 8 NPs):
    # conv_1 finds too few NPs outside conv_0's, a second sequence; 1: 16 NPs.  No bound maps
    # the run as one sequence and at 512 the branches split: the AllNps mapping
    hwpr = map_model(model, "TwoNodesIPv2", mode="HwPr")
    allnps = map_model(model, "TwoNodesIPv2", mode="AllNps")
    assert hwpr.mode == "HwPr"
    assert hwpr.to_dict()["sequences"] == allnps.to_dict()["sequences"]
    with pytest.raises(MappingError, match=r"^Cannot map layer 'conv_6'\. Hardware partial "
                                           r"reconfiguration with layers on the second branch "
                                           r"is not supported\.$"):
        map_model(model, "TwoNodesIPv2", mode="HwPr", hw_only=True)


def test_hwpr_maps_where_minimal_fails():
    blocks = [_conv(384)] + [_conv(8) for _ in range(7)] + [("dense", {"units": 64})]
    m = random_v2_model(blocks, (16, 16, 8), seed=3)
    # the dense layer's weights (2048 inputs x 64 units, 4-bit: 64 KiB) need the FNP2 (8th
    # NP).  At 512 (Minimal) the 8 convolutions fill the 8 NPs, the dense layer opens a pass
    # without conv_7's 8th NP: fails (Minimal refuses the model).  The search: 256 maps
    # (conv_0 on 2 NPs, conv_7 opens pass 2 on the 1st NP, the FNP2 stays free), and so do
    # 128 and 64; 32 does not (conv_0: 12 NPs); 48 does not (conv_0 fills the device, conv_1
    # finds no NP outside it); 56 maps (7 + 1 | 6 + FNP2); 52 and 54 do not (conv_0 on 8 NPs);
    # 55 maps: conv_0 on 7 NPs of 55 filters (the last 54)
    with pytest.raises(MappingError, match=r"FNP2 available\. 1 is needed but 0 are"):
        map_model(m, "TwoNodesIPv2", mode="Minimal", hw_only=True)
    mapping = map_model(m, "TwoNodesIPv2", mode="HwPr", hw_only=True)
    assert _layout(mapping) == [[7, 1], [1, 1, 1, 1, 1, 1, 1]]
    assert [c.filters for c in mapping.layer("conv_0").nps] == [55] * 6 + [54]
    assert mapping.layer("dense_8").nps[0].type == "FNP2"


def test_without_hw_only_a_bound_may_cut_as_many_sequences_as_at_512():
    blocks = [_conv(32), _conv(8), ("dense", {"units": 64}), ("dense", {"units": 2048})]
    m = random_v2_model(blocks, (16, 16, 8), seed=3)
    # both dense layers keep their 64 KiB of weights (2048 x 64, 4-bit) in external memory
    # (FNP2, the 8th NP): the FNP2 serves no later pass of its sequence, so dense_3 always
    # starts a second sequence and no bound maps the run as one.  At 512: 2 sequences.  The
    # search keeps a bound with at most 2: 256 ... 8 (conv_0 on 4 NPs, conv_1 on 1, dense_2
    # on the FNP2); 4: conv_0 fills the
    # device, conv_1 finds no NP outside it -> 3 sequences; 6: 6 + 2 NPs fill the pass and
    # dense_2 may not take conv_1's 8th NP -> 3; 7: 5 + 2 + FNP2 | dense_3 -> t = 7
    mapping = map_model(m, "TwoNodesIPv2", mode="HwPr")
    assert [s.backend for s in mapping.sequences] == ["Hardware", "Hardware"]
    assert _layout(mapping) == [[5, 2, 1], [1]]
    assert [c.filters for c in mapping.layer("conv_0").nps] == [7, 7, 7, 7, 4]
    assert mapping.layer("dense_3").nps[0].type == "FNP2"


def test_hwpr_fills_passes_at_the_bound():
    blocks = [("conv", {"filters": 24, "kernel_size": 1}) for _ in range(8)] + \
        [("dense", {"units": 4})]
    m = random_v2_model(blocks, (4, 4, 8), seed=3)
    # FourNodesIPv2: 16 CNPs, the FNP3 slots 13th-15th, the FNP2 16th.  The search tries
    # 256, 128, ..., 8 (map: 8 gives 3 NPs a layer, 5 layers | 3 layers + FNP3), then 4: 6 NPs
    # a layer, two a pass, the first of each pass avoiding the 7th-12th NPs of the layer
    # before (so taking the 1st-6th) -> maps; 2: 12 NPs a layer, conv_1 gets only the 4
    # conv_0 leaves -> fails; 3: 8 NPs a layer, 8 + 8 in every pass, the dense layer finds no
    # FNP slot and may not use conv_7's 9th-16th NPs -> fails: t = 4, 4 filters an NP.
    mapping = map_model(m, "FourNodesIPv2", mode="HwPr", hw_only=True)
    assert _layout(mapping) == [[6, 6], [6, 6], [6, 6], [6, 6, 1]]
    assert {c.filters for i in range(8) for c in mapping.layer(f"conv_{i}").nps} == {4}


def test_akd1000_has_no_partial_reconfiguration():
    m = random_v1_model([("input_conv", {"filters": 16}), ("conv", {"filters": 32}),
                         ("conv", {"filters": 64}), ("dense", {"units": 10})], (16, 16, 1),
                        seed=1)
    hwpr = map_model(m, "AKD1000", mode="HwPr").to_dict()
    allnps = map_model(m, "AKD1000").to_dict()
    assert hwpr["sequences"] == allnps["sequences"]

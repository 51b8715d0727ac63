"""Sequence rules (nsoc/hardware/mapping/sequences.py): what a pass hands over to the next one
inside a hardware sequence, and where a new sequence starts.  Small architectures whose
expected mappings are worked out by hand from the rules:

* hand-over: the first layer of a pass does not use the NPs of the layer that closed the
  previous pass (later layers of the pass may);
* FNP2 lock: an NP that ran a dense layer as FNP2 is used by no later pass of its sequence;
* a layer that fits no fresh pass starts a new sequence (hw_only: Akida's shortage message).
"""
import pytest

from nsoc.errors import MappingError
from nsoc.hardware.device import create_device
from nsoc.hardware.mapping import MapConstraints, fnp_weight_size, map_model
from nsoc.layers import make_layer
from nsoc.model import Model
from nsoc.testing import random_v1_model, random_v2_model

SHORT_FNP2 = ("Not enough hardware components of type FNP2 available. 1 is needed but 0 are "
              "available.")


def _layout(mapping):
    """[[[(layer, NP types), ...] per pass] per sequence] of the layers holding NPs."""
    return [[[(lm.layer, tuple(c.type for c in lm.nps)) for lm in p if lm.nps]
             for p in seq.passes] for seq in mapping.sequences]


def _dense_chain(units, input_dim, weight_bits=4):
    blocks = [("dense", {"units": u, "name": f"d{i + 1}"}) for i, u in enumerate(units)]
    # 8-bit weights need 8-bit inputs ("Input bits should be >= weights bits.")
    return random_v2_model(blocks, (1, 1, input_dim), weight_bits=weight_bits,
                           act_bits=max(4, weight_bits), seed=5)


@pytest.fixture(scope="module")
def chain():
    # d1: 1024 x 512 4-bit weights = 256 KiB, more than an FNP3 holds: FNP2 (external memory);
    # the others are a few KiB (FNP3 when one is free)
    m = _dense_chain([512, 64, 16, 128, 32, 12], 1024)
    d1 = m.get_layer("d1")
    assert fnp_weight_size(d1, 512, 1024) > 49152
    return m


def test_dense_chain_on_one_fnp3_and_one_fnp2(chain):
    """TwoNodesIPv2 has one FNP3 and one FNP2.  Sequence 1: d1 (FNP2) and d2 (FNP3) fill the
    pass; d3 would need the FNP3 (d2 closed the pass: hand-over) or the FNP2 (locked): new
    sequence.  Sequence 2: d3 FNP3, d4 FNP2; pass 2: d5 on the FNP3 (d4 closed pass 1 on the
    FNP2); d6 again finds the FNP3 handed over and the FNP2 locked: sequence 3."""
    m = map_model(chain, "TwoNodesIPv2")
    assert _layout(m) == [
        [[("d1", ("FNP2",)), ("d2", ("FNP3",))]],
        [[("d3", ("FNP3",)), ("d4", ("FNP2",))], [("d5", ("FNP3",))]],
        [[("d6", ("FNP3",))]],
    ]
    assert [s.backend for s in m.sequences] == ["Hardware"] * 3


def test_dense_chain_hw_only_reports_the_first_cut(chain):
    with pytest.raises(MappingError, match=f"Cannot map layer 'd3'. {SHORT_FNP2}"):
        map_model(chain, "TwoNodesIPv2", hw_only=True)


def test_later_layers_of_a_pass_reuse_the_handed_over_np(chain):
    """SixNodesIPv2: two FNP3s, one FNP2.  Pass 1: d1 FNP2, d2 and d3 on the FNP3s.  Pass 2
    starts on the FNP3 d3 did not use, and d5 takes d3's FNP3 again; the FNP2 stays locked, so
    d6 opens pass 3 (on the FNP3 d5 did not use) rather than joining pass 2 on the FNP2."""
    m = map_model(chain, "SixNodesIPv2", hw_only=True)
    (seq,) = m.sequences
    lay = _layout(m)[0]
    assert [[name for name, _ in p] for p in lay] == [["d1", "d2", "d3"], ["d4", "d5"], ["d6"]]
    assert [t for p in lay for _, t in p] == [("FNP2",)] + [("FNP3",)] * 5
    ident = {lm.layer: lm.nps[0].ident for p in seq.passes for lm in p if lm.nps}
    assert ident["d4"] != ident["d3"] and ident["d5"] == ident["d3"]
    assert ident["d6"] != ident["d5"]


def test_two_external_dense_layers_need_two_sequences_on_one_fnp2():
    """Both layers need the only FNP2 (weights larger than an FNP3): the second starts a new
    sequence; hw_only refuses it."""
    m = _dense_chain([256, 512, 10], 512, weight_bits=8)
    mapping = map_model(m, "TwoNodesIPv2")
    assert _layout(mapping) == [[[("d1", ("FNP2",))]],
                                [[("d2", ("FNP2",)), ("d3", ("FNP3",))]]]
    with pytest.raises(MappingError, match=f"Cannot map layer 'd2'. {SHORT_FNP2}"):
        map_model(m, "TwoNodesIPv2", hw_only=True)


def test_akd1000_four_fnp2s_hold_two_external_layers_in_one_pass():
    """AKD1000 has four FNP2s: no lock is hit, one sequence of one pass."""
    m = random_v1_model([("input_conv", {"filters": 16}), ("dense", {"units": 1024}),
                         ("dense", {"units": 1024}), ("dense", {"units": 10})],
                        (8, 8, 1), seed=2)
    mapping = map_model(m, "AKD1000", hw_only=True)
    assert len(mapping.sequences) == 1 and len(mapping.sequences[0].passes) == 1
    types = {lm.layer: lm.nps[0].type for lm in mapping.sequences[0].passes[0] if lm.nps}
    assert types["dense_1"] == types["dense_2"] == "FNP2"
    on_two_nodes = map_model(m, "TwoNodesIPv1")
    assert len(on_two_nodes.sequences) == 2


def _banded(n_layers):
    # Minimal at most 4 filters per NP: 20 filters on 5 NPs per layer
    blocks = [("conv", {"filters": 20, "kernel_size": 1}) for _ in range(n_layers)]
    return random_v2_model(blocks + [("dense", {"units": 4})], (4, 4, 8), seed=1)


def test_cnp_layer_after_a_layer_it_cannot_share_the_device_with():
    """8 CNPs: conv_0 takes 5; conv_1 needs 5 and does not fit the 3 left, nor a fresh pass
    without conv_0's 5 NPs (3 available): conv_1 starts sequence 2, and so on."""
    dev = create_device(6, 2)          # 8 NPs, the last two also FNPs
    cons = MapConstraints(cnp_max_filters=4)
    model = _banded(3)
    mapping = map_model(model, dev, mode="Minimal", constraints=cons)
    per_seq = [[name for p in seq for name, _ in p] for seq in _layout(mapping)]
    assert per_seq == [["conv_0"], ["conv_1"], ["conv_2", "dense_3"]]
    with pytest.raises(MappingError, match="Cannot map layer 'conv_1'. Not enough hardware "
                       "components of type CNP1 available. 5 are needed but 3 are available."):
        map_model(model, dev, mode="Minimal", constraints=cons, hw_only=True)


def test_add_at_a_pass_boundary_starts_the_next_pass():
    """An Add between two passes goes with the layer that reads it (the next pass).  One node
    of 4 NPs, at most 8 filters per NP: conv_0 and conv_1 (16 filters, 2 NPs each) fill pass 1;
    conv_3 opens pass 2 on the 2 NPs conv_1 did not use, the dense layer takes the FNP2."""
    blocks = [("conv", {"filters": 16, "kernel_size": 1})] * 2 + [("add", {})] + \
        [("conv", {"filters": 16, "kernel_size": 1}), ("dense", {"units": 4})]
    model = random_v2_model(blocks, (4, 4, 8), seed=4)
    dev = create_device(3, 1, num_skip_dma_channel=4)
    mapping = map_model(model, dev, mode="Minimal",
                        constraints=MapConstraints(cnp_max_filters=8))
    (seq,) = mapping.sequences
    assert [[lm.layer for lm in p] for p in seq.passes] == [
        ["input_quantizer", "conv_0", "conv_1"],
        ["add_2", "conv_3", "dense_4", "dequantizer"]]


# ----- skip connections ------------------------------------------------------------------
def _skip_block_model():
    # on 1x1x128 inputs: conv_0 (1x1, 256 filters) fits one NP; conv_1 and conv_3 (3x3 over
    # 256 channels, 256 filters) need 7 NPs each for their weights
    blocks = [("conv", {"filters": 256, "kernel_size": 1}),
              ("conv", {"filters": 256, "kernel_size": 3}), ("add", {}),
              ("conv", {"filters": 256, "kernel_size": 3}), ("dense", {"units": 10})]
    return random_v2_model(blocks, (1, 1, 128), seed=1)


def test_a_cut_inside_a_skip_connection_sends_it_to_software():
    """TwoNodesIPv2 (8 NPs): conv_0 (1 NP) and conv_1 (7) fill the pass; conv_3, reading the
    Add, fits neither the 0 NPs left nor a fresh pass without conv_1's 7.  A sequence cannot
    break the skip connection: the split (conv_0) through the Add's reader run in software
    (with the Quantizer before them); the dense layer starts the next hardware sequence."""
    model = _skip_block_model()
    for mode in ("AllNps", "Minimal", "HwPr"):
        mapping = map_model(model, "TwoNodesIPv2", mode=mode)
        assert [(s.backend, s.name) for s in mapping.sequences] == [
            ("Software", "SW/input_quantizer-conv_3"), ("Hardware", "HW/dense_4-dequantizer")]


def test_a_merge_whose_reader_does_not_fit_hw_only_wording():
    with pytest.raises(MappingError) as err:
        map_model(_skip_block_model(), "TwoNodesIPv2", hw_only=True)
    assert str(err.value) == (
        "Cannot map layer '':\n  * Bad mapping on skip connection. Several branches.\n"
        "  * Layer 'add_2': Bad mapping on skip connection. No valid merge layer. Add layer "
        "requires an outbound that is mappable on a CNP.\n  * Layer 'conv_3': Not enough "
        "hardware components of type CNP1 available. 7 are needed but 0 are available.")


def test_a_pass_boundary_between_two_branches_is_refused():
    """conv_0 splits into conv_1 (first branch) and dw_2 (second), merged by a Concatenate.
    One node of 4 NPs, at most 8 filters per NP, Minimal: conv_0 and conv_1 (16 filters, 2 NPs
    each) fill the pass and dw_2 opens the next: Akida refuses the mapping, naming the split
    (Minimal and hw_only)."""
    blocks = [("conv", {"filters": 16, "kernel_size": 1}),
              ("conv", {"filters": 16, "kernel_size": 1}),
              ("dw", {}), ("concat", {"with_block": 2}), ("dense", {"units": 4})]
    chain = random_v2_model(blocks, (4, 4, 8), seed=4)
    # rewire the depthwise layer onto conv_0 (same output shape as conv_1): two branches
    layers = [make_layer(lay.TYPE, lay.name, lay.params, lay.variables,
                         ["conv_0"] if lay.name == "dw_2" else lay.inbounds)
              for lay in chain.layers]
    model = Model(layers, "v2")
    assert model.get_layer("concat_3").inbounds == ["conv_1", "dw_2"]
    dev = create_device(3, 1, num_skip_dma_channel=4)
    cons = MapConstraints(cnp_max_filters=8)
    msg = ("Cannot map layer 'conv_0'. Hardware partial reconfiguration with layers on the "
           "second branch is not supported.")
    for kw in ({"mode": "Minimal"}, {"mode": "AllNps", "hw_only": True}):
        with pytest.raises(MappingError, match=msg):
            map_model(model, dev, constraints=cons, **kw)


# ----- AllNps: fewest sequences, then fewest passes ------------------------------------------
def test_allnps_takes_the_bound_with_the_fewest_passes():
    """TwoNodesIPv2.  x1, x2: 1x1 convs of 256 filters (one NP each at most, 2 at 128 filters
    per NP, 4 at 64); y: 3x3 conv of 256 filters over 256 channels (7 NPs for its weights); z:
    a dense layer whose weights need the FNP2.
    Minimal: x1, x2 on 2 NPs; y opens pass 2 on the 7 NPs x2 did not use (the FNP2 slot
    among them), z finds no FNP: sequence 2 -> 2 sequences, 3 passes.
    AllNps: at 64 filters per NP x1 and x2 fill the mesh (4 + 4); y fits no fresh pass without
    x2's 4 NPs and starts sequence 2 on the first 7 NPs, leaving the FNP2 to z -> 2 sequences,
    2 passes; smaller bounds need more sequences."""
    blocks = [("conv", {"filters": 256, "kernel_size": 1, "name": "x1"}),
              ("conv", {"filters": 256, "kernel_size": 1, "name": "x2"}),
              ("conv", {"filters": 256, "kernel_size": 3, "name": "y"}),
              ("dense", {"units": 1000, "name": "z"})]
    model = random_v2_model(blocks, (1, 1, 128), seed=2)
    minimal = map_model(model, "TwoNodesIPv2", mode="Minimal")
    assert [[[(n, len(t)) for n, t in p] for p in seq] for seq in _layout(minimal)] == [
        [[("x1", 1), ("x2", 1)], [("y", 7)]], [[("z", 1)]]]
    allnps = map_model(model, "TwoNodesIPv2")
    assert [[[(n, len(t)) for n, t in p] for p in seq] for seq in _layout(allnps)] == [
        [[("x1", 4), ("x2", 4)]], [[("y", 7), ("z", 1)]]]
    assert allnps.layer("z").nps[0].type == "FNP2"


def _two_branch_model():
    """a (32 filters), s (16) splitting into b1 (1x1 conv, 16) and b2 (depthwise), merged by
    a Concatenate, then c (64 filters) and a dense layer."""
    blocks = [("conv", {"filters": 32, "kernel_size": 1, "name": "a"}),
              ("conv", {"filters": 16, "kernel_size": 1, "name": "s"}),
              ("conv", {"filters": 16, "kernel_size": 1, "name": "b1"}),
              ("dw", {"name": "b2"}), ("concat", {"with_block": 2, "name": "cat"}),
              ("conv", {"filters": 64, "kernel_size": 1, "name": "c"}),
              ("dense", {"units": 4, "name": "d"})]
    chain = random_v2_model(blocks, (4, 4, 8), seed=4)
    return Model([make_layer(lay.TYPE, lay.name, lay.params, lay.variables,
                             ["s"] if lay.name == "b2" else lay.inbounds)
                  for lay in chain.layers], "v2")


def test_allnps_prefers_the_bound_keeping_branches_in_one_pass():
    """TwoNodesIPv2, at most 16 filters per NP.  At 16: a 2 NPs, s, b1, b2 one each (pass 1),
    c 4 NPs and d (pass 2): one sequence, 2 passes, branches whole.  At 13: a 3, s, b1, b2 2
    each: b2 opens pass 2 with c (5 NPs) and d: also one sequence of 2 passes, but the pass
    boundary splits the branches, so AllNps takes 16 (hw_only maps)."""
    model = _two_branch_model()
    mapping = map_model(model, "TwoNodesIPv2", hw_only=True,
                        constraints=MapConstraints(cnp_max_filters=16))
    assert [[[(n, len(t)) for n, t in p] for p in seq] for seq in _layout(mapping)] == [
        [[("a", 2), ("s", 1), ("b1", 1), ("b2", 1)], [("c", 4), ("d", 1)]]]


def test_hw_only_reports_the_first_failure_in_layer_order():
    """8 NPs, at most 4 filters per NP, Minimal: conv_0 and conv_1 need 5 NPs each, so the
    sequence fails at conv_1 ("5 are needed but 3 are available") before conv_2, which a
    layer rule refuses (v2 max pooling before a dense layer): Akida maps layer after layer
    and reports the first failure."""
    blocks = [("conv", {"filters": 20, "kernel_size": 1}) for _ in range(2)] + \
        [("conv", {"filters": 8, "kernel_size": 1, "pool": "max", "pool_size": 2}),
         ("dense", {"units": 4})]
    model = random_v2_model(blocks, (8, 8, 8), seed=1)
    dev = create_device(6, 2)
    cons = MapConstraints(cnp_max_filters=4)
    with pytest.raises(MappingError, match="Cannot map layer 'conv_1'. Not enough hardware "
                       "components of type CNP1 available. 5 are needed but 3 are available."):
        map_model(model, dev, mode="Minimal", constraints=cons, hw_only=True)
    # when the layers before it map, the refused layer's own message
    with pytest.raises(MappingError, match="Cannot map layer 'conv_2':\n  \\* Layer 'conv_2': "
                       "A layer with max pooling cannot be the last layer of a sequence."):
        map_model(model, dev, mode="Minimal", constraints=MapConstraints(), hw_only=True)


def test_allnps_falls_back_when_every_packing_splits_two_branches():
    """TwoNodesIPv2 (8 NPs), 64-wide input, 32-filter layers p0..p5, s splitting into b1 and
    b2 (Concatenate), c3, c4, a dense layer: every packing puts a pass boundary between s and
    b2 (Minimal and hw_only refuse it).  AllNps without hw_only maps as Minimal at the
    smallest bound at which every layer fits the mesh, 4 filters per NP: each 32-filter layer
    fills the 8 NPs and runs in a sequence of its own; the skip connection (s .. c3, the
    Concatenate's reader), which a sequence cut would break, runs in software."""
    blocks = [("conv", {"filters": 32, "kernel_size": 3 if i % 2 else 1, "name": f"p{i}"})
              for i in range(6)] + \
        [("conv", {"filters": 32, "kernel_size": 3, "name": "s"}),
         ("conv", {"filters": 32, "kernel_size": 1, "name": "b1"}),
         ("dw", {"name": "b2"}), ("concat", {"with_block": 2, "name": "cat"}),
         ("conv", {"filters": 32, "kernel_size": 5, "name": "c3"}),
         ("conv", {"filters": 32, "kernel_size": 3, "name": "c4"}),
         ("dense", {"units": 10, "name": "d"})]
    chain = random_v2_model(blocks, (64, 1, 8), seed=4)
    model = Model([make_layer(lay.TYPE, lay.name, lay.params, lay.variables,
                              ["s"] if lay.name == "b2" else lay.inbounds)
                   for lay in chain.layers], "v2")
    for kw in ({"mode": "Minimal"}, {"hw_only": True}):
        with pytest.raises(MappingError, match="Cannot map layer 's'. Hardware partial "
                           "reconfiguration with layers on the second branch"):
            map_model(model, "TwoNodesIPv2", **kw)
    mapping = map_model(model, "TwoNodesIPv2")
    assert [s.name for s in mapping.sequences] == \
        ["HW/input_quantizer-p0"] + [f"HW/p{i}" for i in range(1, 6)] + \
        ["SW/s-c3", "HW/c4", "HW/d-dequantizer"]
    assert all(len(mapping.layer(f"p{i}").nps) == 8 and
               {c.filters for c in mapping.layer(f"p{i}").nps} == {4} for i in range(6))


# ----- layer rules met in the independent dev corpus ---------------------------------------------
def test_v2_global_pooling_area_limit():
    """v2 global average pooling: height (dims[0]) at most 64, then width * height at most
    144: a 12 x 12 input maps, 13 x 12 does not (its height 13 is fine); without hw_only the
    pooling layer runs in software."""
    def model(x):
        return random_v2_model([("conv", {"filters": 8}), ("conv", {"filters": 8, "pool": "gap"}),
                                ("dense", {"units": 2})], (x, 12, 4), seed=1)

    assert map_model(model(12), "TwoNodesIPv2", hw_only=True).sequences
    with pytest.raises(MappingError, match=r"^Cannot map layer 'conv_1'\. When using Global "
                       r"Average Pooling, input dimensions width \* height cannot exceed 144\.$"):
        map_model(model(13), "TwoNodesIPv2", hw_only=True)
    backends = [s.backend for s in map_model(model(13), "TwoNodesIPv2").sequences]
    assert backends == ["Hardware", "Software", "Hardware"]


def test_v2_cnp_output_bits_with_activation_wording():
    """A 2-bit output with ReLU: CNP layers name the activation rule alone, Dense1D both."""
    conv = random_v2_model([("conv", {"filters": 8, "output_bits": 2}), ("dense", {"units": 2})],
                           (8, 8, 4), seed=1)
    with pytest.raises(MappingError, match=r"^Cannot map layer 'conv_0'\. With activation "
                       r"output bitwidth should be 4 or 8\.$"):
        map_model(conv, "TwoNodesIPv2", hw_only=True)
    dense = random_v2_model([("dense", {"units": 8, "output_bits": 2}),
                             ("dense", {"units": 2})], (1, 1, 16), seed=1)
    with pytest.raises(MappingError, match=r"^Cannot map layer 'dense_0'\. Output bits should be "
                       r"4, 8 or > 8\. With activation output bitwidth should be 4 or 8\.$"):
        map_model(dense, "TwoNodesIPv2", hw_only=True)


def test_the_allocator_writes_the_pass_fillers_placement():
    """One placement: the pass filler (PassFill) chooses every NP, allocate.assign only writes
    the layer mappings of its idents.  TwoNodesIPv2: CNPs in the order (1,2,1), (1,2,2),
    (1,2,3), (2,2,1), (2,2,2), (2,2,3), then the FNP3 slot (2,2,0), then the FNP2 slot (1,2,0).
    a: 1x1 conv of 64 filters; d: a small dense layer (weights fit an FNP3).
    At 16 filters per NP a takes the first 4 CNPs and d the FNP3.  The same pass placed again
    at 10 (at_bound, an AllNps pass spread at another bound): a on 7 NPs of 10, 10, 10, 10,
    10, 10, 4 filters, the 7th being the FNP3 slot, so d takes the FNP2 (weights in external
    memory)."""
    from nsoc.hardware.device import get_device
    from nsoc.hardware.mapping.allocate import MeshOrder, assign
    from nsoc.hardware.mapping.memory import fnp_external_size
    from nsoc.hardware.mapping.requirements import requirement
    from nsoc.hardware.mapping.sequences import PassFill
    blocks = [("conv", {"filters": 64, "kernel_size": 1, "name": "a"}),
              ("dense", {"units": 10, "name": "d"})]
    model = random_v2_model(blocks, (1, 1, 16), seed=3)
    device = get_device("TwoNodesIPv2")
    order = MeshOrder(device)
    reqs = [requirement(lay, model, device, MapConstraints()) for lay in model.layers]
    fill = PassFill(order, lambda r: 16)
    for r in reqs:
        fill.add(r)

    def placed(lms):
        return {lm.layer: [((c.ident.col, c.ident.row, c.ident.id), c.type, c.filters,
                            c.start_neuron) for c in lm.nps] for lm in lms if lm.nps}

    at16 = assign(fill.reqs, device, fill.t_of, fill.nps, fill.fnp2)
    assert placed(at16) == {
        "a": [((1, 2, 1), "CNP1", 16, 0), ((1, 2, 2), "CNP1", 16, 16),
              ((1, 2, 3), "CNP1", 16, 32), ((2, 2, 1), "CNP1", 16, 48)],
        "d": [((2, 2, 0), "FNP3", 10, 0)]}
    spread = fill.at_bound(lambda r: 10)
    at10 = assign(spread.reqs, device, spread.t_of, spread.nps, spread.fnp2)
    cnps = [(1, 2, 1), (1, 2, 2), (1, 2, 3), (2, 2, 1), (2, 2, 2), (2, 2, 3), (2, 2, 0)]
    assert placed(at10) == {
        "a": [(i, "CNP1", 10 if k < 6 else 4, 10 * k) for k, i in enumerate(cnps)],
        "d": [((1, 2, 0), "FNP2", 10, 0)]}
    d = next(lm for lm in at10 if lm.layer == "d").nps[0]
    weights = next(r for r in reqs if r.kind == "fnp").fnp_weights
    assert d.mem_info["weight_size"] == 0
    assert d.mem_info["external_size"] == fnp_external_size(weights) > 0
    # the first placement is left as it was
    assert placed(assign(fill.reqs, device, fill.t_of, fill.nps, fill.fnp2)) == placed(at16)


# ----- AllNps: the fewest passes, then sequences ------------------------------------------
def _cnp_then_fnp2(n_conv, filters):
    # an HRC layer, n_conv 3x3 CNP layers on 6 x 6 x 16, then a 576 x 256 8-bit dense layer
    # (144 KiB: FNP2, weights in external memory) and a small dense layer
    blocks = [("input_conv", {"filters": 16, "kernel_size": 5, "stride": 2})] + \
        [("conv", {"filters": filters})] * n_conv + \
        [("dense", {"units": 256}), ("dense", {"units": 10})]
    return random_v2_model(blocks, (12, 12, 1), seed=3, weight_bits=8, act_bits=8)


def _passes(mapping):
    return [[len(p) for p in seq.passes] for seq in mapping.sequences]


def test_allnps_prefers_a_cut_to_more_passes():
    # TwoNodesIPv2, 8 x 16-filter layers: at 16 filters per NP they fill the 8 NPs in one
    # pass; the FNP2 dense layer fits no fresh pass (its NP closed the previous pass: hand-over)
    # so the dense layers start a second sequence: 2 passes in all.  At 6 filters per NP one
    # sequence would need 4 passes ([4, 2, 2, 5] layers): AllNps takes the cut
    m = _cnp_then_fnp2(8, 16)
    assert _passes(map_model(m, "TwoNodesIPv2")) == [[10], [3]]
    # hw_only cannot cut; HwPr's bound search finds no one-sequence bound (16 filters on 1 NP
    # cut, on 2 NPs the 8 layers fill the mesh in each pass): Akida reports the shortage
    with pytest.raises(MappingError, match=r"^Cannot map layer 'dense_9'\. " + SHORT_FNP2):
        map_model(m, "TwoNodesIPv2", hw_only=True, mode="HwPr")
    with pytest.raises(MappingError, match=r"^Cannot map layer 'dense_9'\. " + SHORT_FNP2):
        map_model(m, "TwoNodesIPv2", hw_only=True)


def test_hw_only_allnps_takes_one_sequence_where_hwpr_maps():
    # 24-filter layers: HwPr maps them in one sequence (2 NPs a layer), so hw_only AllNps takes
    # the fewest sequences, then passes: one sequence of 4 passes at 8 filters per NP (3 NPs a
    # layer; [4, 2, 2, 5] layers), while without hw_only the cut (2 passes in all) stands
    m = _cnp_then_fnp2(8, 24)
    assert _passes(map_model(m, "TwoNodesIPv2")) == [[10], [3]]
    hw = map_model(m, "TwoNodesIPv2", hw_only=True)
    assert _passes(hw) == [[4, 2, 2, 5]]
    assert {len(hw.layer(f"conv_{i}").nps) for i in range(1, 9)} == {3}

"""The NP mapper: limits, splits, passes, modes, software fallback, JSON and the CLI.

Models are built in code (nsoc.testing random models); expectations follow from the documented
policy and the device sizes, not from akida outputs.
"""
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsoc.cli import main
from nsoc.errors import MappingError
from nsoc.hardware.device import create_device, get_device
from nsoc.hardware.mapping import cnp_weight_size, map_model
from nsoc.report.mapping_text import mesh_picture
from nsoc.testing import random_v1_model, random_v2_model


def _check_invariants(mapping, model, device):
    """Every pass uses each NP at most once, NPs exist on the device and have the type used,
    filters of each layer are covered exactly once per column band, memory fits the SRAM."""
    sram = device.mesh.np_sram_size
    by_ident = {n.ident: n for n in device.mesh.nps}
    seen_layers = []
    assert mapping.device.name == device.name
    for seq in mapping.sequences:
        for p in seq.passes:
            used = [c.ident for lm in p for c in lm.nps]
            assert len(used) == len(set(used)), "an NP is used twice in one pass"
            for lm in p:
                seen_layers.append(lm.layer)
                layer = model.get_layer(lm.layer)
                if seq.backend == "Software":
                    assert not lm.nps
                    continue
                assert mapping.layer(lm.layer) is lm
                for c in lm.nps:
                    if c.type == "HRC":
                        assert c.ident == device.mesh.hrc.ident
                        continue
                    assert c.type in by_ident[c.ident].types
                    assert c.mem_info["input_size"] <= sram.input_bytes
                    assert c.mem_info["weight_size"] <= sram.weight_bytes
                if lm.nps and lm.nps[0].type in ("CNP1", "CNP2", "FNP3", "FNP2"):
                    starts = sorted((c.start_neuron, c.filters) for c in lm.nps)
                    total = layer.filters_out
                    covered = np.zeros(total, int)
                    for s, f in starts:
                        covered[s:s + f] += 1
                    assert covered.min() >= 1 and covered.min() == covered.max()
    assert seen_layers == [lay.name for lay in model.layers]


# ----- models shared by the tests --------------------------------------------------------------
@pytest.fixture(scope="module")
def small_v2():
    return random_v2_model([("input_conv", {"filters": 8, "stride": 2}), ("conv", {"filters": 16}),
                            ("dw", {}), ("conv", {"filters": 32, "kernel_size": 1, "pool": "gap"}),
                            ("dense", {"units": 10})], (16, 16, 3), seed=1)


@pytest.fixture(scope="module")
def heavy_v2():
    """One Conv2D whose 8-bit weights (3x3x256x64, about 150 KB) overflow one NP's 51200 B."""
    return random_v2_model([("conv", {"filters": 64, "weight_bits": 8}), ("dense", {"units": 4})],
                           (4, 4, 256), seed=2)


def test_small_model_maps_in_one_pass(small_v2):
    dev = get_device("TwoNodesIPv2")
    mapping = small_v2.map(dev)
    seqs = mapping.sequences
    assert [s.backend for s in seqs] == ["Hardware"]
    assert seqs[0].name == "HW/input_quantizer-dequantizer"
    assert len(seqs[0].passes) == 1
    assert mapping.layer("input_conv_0").nps[0].type == "HRC"
    assert mapping.layer("input_quantizer").nps == []
    assert mapping.layer("dequantizer").nps == []
    # the spread CNPs take the FNP3 slot last; the dense then takes the FNP3 or the FNP2
    assert mapping.layer("dense_4").nps[0].type in ("FNP2", "FNP3")
    assert mapping.device is dev and mapping.mode == "AllNps" and not mapping.hw_only
    cc = mapping.component_count
    assert cc["HRC"] == 1
    assert cc.get("FNP2", 0) + cc.get("FNP3", 0) == 1
    _check_invariants(mapping, small_v2, dev)


def test_mapping_leaves_the_model_unchanged(small_v2):
    before = small_v2.to_buffer()
    attrs = set(vars(small_v2))
    small_v2.map("TwoNodesIPv2", mode="Minimal")
    assert small_v2.to_buffer() == before and set(vars(small_v2)) == attrs
    assert not any(hasattr(lay, "mapping") for lay in small_v2.layers)


def test_mapped_model_still_predicts(small_v2):
    x = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    small_v2.map("FourNodesIPv2")
    y = small_v2.predict(x)
    assert y.shape == (2, 1, 1, 10) and np.all(np.isfinite(y))


def test_allnps_spreads_and_minimal_packs(small_v2):
    counts = {}
    for mode in ("AllNps", "Minimal"):
        mapping = small_v2.map("TwelveNodesIPv2", mode=mode)
        _check_invariants(mapping, small_v2, get_device("TwelveNodesIPv2"))
        counts[mode] = sum(mapping.component_count.values())
    # Minimal: one NP per layer (HRC, 3 CNPs, 1 FNP); AllNps spreads over the 48 NPs
    assert counts["Minimal"] == 5
    assert counts["AllNps"] > counts["Minimal"]


def test_hwpr_bounds_every_layer_by_half_the_device(small_v2):
    mapping = small_v2.map("SixNodesIPv2", mode="HwPr")
    seq, = mapping.sequences
    cnp = [lm for _, _, p in mapping.hardware_passes() for lm in p
           if lm.nps and lm.nps[0].type == "CNP1"]
    # 24 NPs: no layer on more than 12; the bound is the smallest one that does it:
    # conv_3's 32 filters at 3 per NP take 11 NPs (at 2 per NP 16)
    assert max(len(lm.nps) for lm in cnp) <= 12
    assert max(c.filters for lm in cnp for c in lm.nps) == 3
    assert seq.passes[0][0].layer == "input_quantizer"
    assert seq.passes[-1][-1].layer == "dequantizer"
    _check_invariants(mapping, small_v2, get_device("SixNodesIPv2"))


def test_weights_overflow_one_np(heavy_v2):
    dev = get_device("TwoNodesIPv2")
    layer = heavy_v2.get_layer("conv_0")
    assert cnp_weight_size(layer, 64) > dev.mesh.np_sram_size.weight_bytes
    mapping = heavy_v2.map(dev, mode="Minimal", hw_only=True)
    nps = mapping.layer(layer.name).nps
    assert len(nps) > 1
    assert sum(c.filters for c in nps) == 64
    assert [c.start_neuron for c in nps] == list(np.cumsum([0] + [c.filters for c in nps[:-1]]))
    _check_invariants(mapping, heavy_v2, dev)


def test_input_overflow_splits_columns():
    # 64 x 200 x 32 8-bit input: far above 65536 B of input SRAM for one NP
    # (no global average pooling: Akida refuses it above 144 input positions)
    m = random_v2_model([("conv", {"filters": 8}), ("conv", {"filters": 8})],
                        (64, 200, 32),
                        act_bits=4, seed=3)
    dev = create_device(60, 2)
    mapping = m.map(dev, mode="Minimal", hw_only=True)
    nps = mapping.layer("conv_0").nps
    assert len(nps) > 1 and all(c.filters == 8 for c in nps)
    _check_invariants(mapping, m, dev)


@pytest.fixture(scope="module")
def wide_dense():
    # 25x5x16 4-bit input: its input shifts take 26 * 5 * ceil(3 * 16 / 8) = 780 B > 768 B
    # (2000 inputs, within the FNP's 2048: more would be refused first, see
    # test_mapping_rules_shapes.py)
    return random_v2_model([("conv", {"filters": 16}), ("dense", {"units": 10})], (25, 5, 3),
                           seed=4)


def test_fnp_input_shift_limit_hw_only(wide_dense):
    with pytest.raises(MappingError, match=r"Cannot map layer 'dense_1'\. Input shift exceeds "
                                           r"memory\. Maximum size is 768 bytes\. \(got 780 "
                                           r"bytes\)\."):
        wide_dense.map("TwoNodesIPv2", hw_only=True)


def test_fnp_input_shift_limit_starts_a_sequence(wide_dense):
    # without hw_only the dense layer runs in a hardware sequence of its own, its inputs then
    # coming from memory (no input shifts on the mesh)
    mapping = wide_dense.map("TwoNodesIPv2")
    assert [(s.name, s.backend) for s in mapping.sequences] == [
        ("HW/input_quantizer-conv_0", "Hardware"), ("HW/dense_1-dequantizer", "Hardware")]
    assert mapping.layer("dense_1").nps[0].type in ("FNP2", "FNP3")
    assert mapping.to_dict()["n_software_sequences"] == 0
    _check_invariants(mapping, wide_dense, get_device("TwoNodesIPv2"))


def test_pool_and_stride_is_rejected():
    m = random_v2_model([("conv", {"filters": 8, "stride": 2, "pool": "gap"}),
                         ("dense", {"units": 3})], (8, 8, 3), seed=5)
    with pytest.raises(MappingError, match="conv_0.*both pooling and stride"):
        m.map("FourNodesIPv2", hw_only=True)


def test_two_node_device_overflow_needs_passes():
    blocks = [("conv", {"filters": 16, "kernel_size": 1}) for _ in range(10)] + \
        [("dense", {"units": 4})]
    m = random_v2_model(blocks, (4, 4, 8), seed=6)
    dev = get_device("TwoNodesIPv2")
    for mode in ("AllNps", "Minimal"):
        mapping = m.map(dev, mode=mode, hw_only=True)
        seq, = mapping.sequences
        # 10 CNP layers and 1 FNP on a device with 8 NPs: at least 2 passes
        assert len(seq.passes) >= 2
        assert all(len({c.ident for lm in p for c in lm.nps}) <= 8 for p in seq.passes)
        _check_invariants(mapping, m, dev)


def test_akd1000_overflow_needs_sequences():
    # v1: 6 layers of 3x3x256x256 4-bit filters; one v1 NP holds 16 of them (16 words of
    # 50 bits per input channel), 96 NPs in all > the 78 CNPs of AKD1000, which has no
    # partial reconfiguration: one pass per sequence, the layer that does not fit starts the
    # next sequence (hw_only: its shortage in the full pass, 78 - 1 - 4 x 16 = 13 CNPs left)
    blocks = [("conv", {"filters": 256, "kernel_size": 1})] + \
        [("conv", {"filters": 256}) for _ in range(5)] + \
        [("conv", {"filters": 256, "pool": "gap"}), ("dense", {"units": 4})]
    m = random_v1_model([("input_conv", {"filters": 16})] + blocks, (8, 8, 1), seed=7)
    dev = get_device("AKD1000")
    mapping = m.map(dev, mode="Minimal")
    assert [s.name for s in mapping.sequences] == ["HW/input_conv_0-conv_5", "HW/conv_6-dense_8"]
    assert all(len(s.passes) == 1 for s in mapping.sequences)
    assert mapping.sequences[0].passes[0][0].nps[0].type == "HRC"
    _check_invariants(mapping, m, dev)
    with pytest.raises(MappingError, match="Cannot map layer 'conv_6'. Not enough hardware "
                       "components of type CNP1 available. 16 are needed but 13 are available."):
        m.map(dev, hw_only=True)


# ----- Akida 1.0 separable layers --------------------------------------------------------------
@pytest.fixture(scope="module")
def wide_separable_v1():
    """Four 64-filter SeparableConvolutional layers on a 25x5x64 input (a DS-CNN-like model)."""
    blocks = [("input_conv", {"filters": 64, "kernel_size": 5, "stride": 2})] + \
        [("sep", {"filters": 64, "name": f"sep_{i}"}) for i in range(1, 4)] + \
        [("sep", {"filters": 64, "pool": "gap", "name": "sep_4"}), ("dense", {"units": 33})]
    return random_v1_model(blocks, (49, 10, 1), seed=11)


def test_v1_separable_spread_on_cnp1(wide_separable_v1):
    m, dev = wide_separable_v1, get_device("AKD1000")
    budget = sum("CNP1" in n.types for n in dev.mesh.nps) - 1  # one NP kept for the dense
    mapping = m.map(dev, hw_only=True)
    seq, = mapping.sequences
    assert len(seq.passes) == 1
    _check_invariants(mapping, m, dev)
    # AllNps: the fewest filters per NP t with 4 * ceil(64 / t) NPs within the budget
    t = next(t for t in range(1, 65) if 4 * -(-64 // t) <= budget)
    for i in range(1, 5):
        nps = mapping.layer(f"sep_{i}").nps
        assert len(nps) == -(-64 // t) and max(c.filters for c in nps) == t
        assert {c.type for c in nps} == {"CNP1"}
    # Minimal: 64 filters fit one NP per separable layer
    mapping = m.map(dev, mode="Minimal", hw_only=True)
    assert [len(mapping.layer(f"sep_{i}").nps) for i in range(1, 5)] == [1, 1, 1, 1]
    _check_invariants(mapping, m, dev)


def test_v1_separable_weights_and_filter_cap():
    """A 512-channel 3x3 4-bit separable layer: per input channel one word of depthwise kernel
    and ceil(roundup(F, 8) * 4 / 48) pointwise words of 50 bits."""
    m = random_v1_model([("input_conv", {"filters": 512}), ("sep", {"filters": 512}),
                         ("dense", {"units": 10})], (7, 7, 1), seed=13)
    sep = m.get_layer("sep_1")
    assert cnp_weight_size(sep, 1) == -(-512 * 2 * 50 // 8)        # 1 + 1 words per channel
    assert cnp_weight_size(sep, 24) == -(-512 * 3 * 50 // 8)       # 96 bits: 2 words
    assert cnp_weight_size(sep, 152) == 512 * 14 * 50 // 8 == 44800  # 608 bits: 13 words
    assert cnp_weight_size(sep, 153) > 44800
    mapping = m.map("AKD1000", mode="Minimal", hw_only=True)
    # at most 152 filters per NP: 4 NPs of ceil(512 / 4) = 128
    assert [c.filters for c in mapping.layer(sep.name).nps] == [128] * 4
    _check_invariants(mapping, m, get_device("AKD1000"))


def test_layer_larger_than_device(heavy_v2):
    tiny = create_device(2, 2, sram_size=(65536, 20000))  # 16 filters of conv_0 need > 2 NPs
    with pytest.raises(MappingError, match="Cannot map layer 'conv_0'. Not enough hardware "
                                           "components of type CNP1 available. 8 are needed "
                                           "but 4 are available."):
        heavy_v2.map(tiny, hw_only=True)
    assert [s.backend for s in heavy_v2.map(tiny).sequences] == ["Software", "Hardware"]


def test_version_mismatch(small_v2):
    with pytest.raises(MappingError, match="The IP version of the model and device must be "
                                           "identical."):
        small_v2.map("AKD1000")


def test_unknown_mode(small_v2):
    with pytest.raises(MappingError, match="unknown mapping mode 'Fast'"):
        map_model(small_v2, "TwoNodesIPv2", mode="Fast")


def test_no_hrc_sends_input_conv_to_software(small_v2):
    dev = create_device(12, 2, include_hrc=False)
    seqs = small_v2.map(dev).sequences
    assert [s.backend for s in seqs] == ["Software", "Hardware"]
    with pytest.raises(MappingError, match="input_conv_0.*no HRC"):
        small_v2.map(dev, hw_only=True)


def test_add_uses_skip_dma():
    m = random_v2_model([("conv", {"filters": 8}), ("conv", {"filters": 8}), ("add", {}),
                         ("dense", {"units": 3})], (8, 8, 8), seed=8)
    lm = m.map("FourNodesIPv2", hw_only=True).layer("add_2")
    assert lm.skipdma_stores and lm.skipdma_loads and not lm.nps
    with pytest.raises(MappingError, match="add_2.*skip DMA"):
        m.map(create_device(12, 2, num_skip_dma_channel=0), hw_only=True)


@settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(n_conv=st.integers(1, 5), filters=st.integers(1, 56), kernel=st.sampled_from([1, 3]),
       n_cnp=st.integers(1, 40), n_fnp=st.integers(1, 3),
       mode=st.sampled_from(["AllNps", "Minimal", "HwPr"]), seed=st.integers(0, 1000))
def test_random_models_on_custom_devices(n_conv, filters, kernel, n_cnp, n_fnp, mode, seed):
    blocks = [("input_conv", {"filters": 8})]
    blocks += [("conv", {"filters": filters, "kernel_size": kernel}) for _ in range(n_conv)]
    blocks += [("dense", {"units": 5})]
    m = random_v2_model(blocks, (6, 6, 1), seed=seed)  # dense fan-in <= 36 * 56 <= 2048
    dev = create_device(n_cnp, n_fnp)
    # without hw_only: a layer that fits no fresh pass starts a new hardware sequence
    mapping = m.map(dev, mode=mode)
    assert all(seq.backend == "Hardware" for seq in mapping.sequences)
    _check_invariants(mapping, m, dev)
    if mode == "Minimal":
        assert all(len(mapping.layer(f"conv_{i + 1}").nps) == 1
                   for i in range(n_conv) if filters <= 64)


# ----- JSON, picture and CLI ----------------------------------------------------------
def test_mapping_json_structure(small_v2):
    mapping = small_v2.map("TwoNodesIPv2")
    doc = json.loads(json.dumps(mapping.to_dict()))
    assert doc["device"] == "TwoNodesIPv2"
    seq = doc["sequences"][0]
    assert {"name", "backend", "passes"} <= set(seq)
    np0 = seq["passes"][0][1]["nps"][0]
    assert set(np0["ident"]) >= {"col", "row", "id"}
    assert {"type", "filters", "mem_info"} <= set(np0)
    assert doc["component_count"] == mapping.component_count
    pic = mesh_picture(mapping)
    assert "row 2" in pic and "A = input_conv_0" in pic


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory, small_v2):
    path = tmp_path_factory.mktemp("map") / "m.fbz"
    small_v2.save(path)
    return str(path)


def test_cli_map_text(saved_model, capsys):
    assert main(["map", saved_model, "--device", "TwoNodesIPv2"]) == 0
    out = capsys.readouterr().out
    assert "HW/input_quantizer-dequantizer" in out and "FNP" in out and "row 2" in out


def test_cli_map_json_and_modes(saved_model, capsys):
    assert main(["map", saved_model, "-d", "custom:20,2", "--mode", "Minimal", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["device"] == "Custom6Nodesv2" and doc["mode"] == "Minimal"


def test_cli_map_errors(saved_model, capsys):
    assert main(["map", saved_model, "--device", "AKD1000", "--json"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error.startswith("The IP version of the model and device must be identical.")
    assert "AKD1000 is v1" in error and "--target v1" in error
    assert main(["map", saved_model, "--device", "AKD1000"]) == 2
    assert "must be identical" in capsys.readouterr().err
    assert main(["map", saved_model, "--device", "Nope"]) == 2
    assert "unknown device" in capsys.readouterr().err


def test_cli_devices(capsys):
    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    assert "AKD1000" in out and "78" in out and "TwelveNodesIPv2" in out
    assert main(["devices", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 7

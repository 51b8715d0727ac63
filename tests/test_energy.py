"""Energy model properties on synthetic timing results (no simulator, no TensorFlow)."""
import dataclasses
import glob
import json
import math
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsoc.errors import NsocError
from nsoc.hardware import energy
from nsoc.hardware.energy import EnergyParamError, estimate
from nsoc.hardware.timing_result import ActionCounts, LayerTiming, NPTiming, TimingResult
from nsoc.hardware.types import Device, Ident, Mesh, NPInfo

EVENT_FIELDS = ("synaptic_ops", "input_sram_reads", "input_sram_writes", "weight_sram_reads",
                "noc_flit_hops", "neurons_fired")
EVENT_CATEGORIES = ("synaptic_ops", "input_sram_reads", "input_sram_writes", "weight_sram_reads",
                    "noc_flit_hops", "fire_events")  # breakdown keys of EVENT_FIELDS
FIXED_FIELDS = ("hrc_macs", "dma_weight_bytes", "dma_input_bytes", "dma_output_bytes",
                "neurons_updated", "reconfig_bytes")

counts_st = st.fixed_dictionaries(
    {f: st.integers(0, 10**9) for f in EVENT_FIELDS + FIXED_FIELDS}
    | {"weight_bits": st.sampled_from([1, 2, 4, 8]), "input_bits": st.sampled_from([1, 2, 4, 8])})


def timing(layer_counts, busy=(1000,), fps=100.0, n_frames=2, device="AKD1000"):
    """A TimingResult with one layer and one NP per entry of ``layer_counts``."""
    layers, nps = [], []
    for i, (counts, b) in enumerate(zip(layer_counts, busy, strict=False)):
        a = ActionCounts(**counts)
        layers.append(LayerTiming(f"l{i}", "Conv2D", ["CNP1"], 1, busy_cycles=b, actions=a))
        nps.append(NPTiming(1 + i % 3, 2 + i // 12, i // 3 % 4, "CNP1", f"l{i}", busy_cycles=b,
                            actions=dataclasses.replace(a)))
    return TimingResult(device, "Performance", 1e8, n_frames, 10_000, fps, [10_000] * n_frames,
                        int(1e8 / fps) if fps else 0, 20_000, layers, nps)


def scaled(counts, k, fields):
    return {f: (v * k if f in fields else v) for f, v in counts.items()}


@settings(deadline=None, max_examples=60)
@given(counts_st, st.integers(1, 5), st.floats(1.0, 1e4))
def test_energy_grows_with_events(counts, k, fps):
    lo = estimate(timing([counts], fps=fps), "AKD1000")
    hi = estimate(timing([scaled(counts, k, EVENT_FIELDS)], fps=fps), "AKD1000")
    assert hi.energy_per_frame_uj >= lo.energy_per_frame_uj
    assert hi.event_energy_uj == pytest.approx(k * lo.event_energy_uj, rel=1e-9)
    for key in EVENT_CATEGORIES:
        assert hi.energy_breakdown_uj[key] == pytest.approx(k * lo.energy_breakdown_uj[key])
    if k > 1 and any(counts[f] for f in EVENT_FIELDS):
        assert hi.energy_per_frame_uj > lo.energy_per_frame_uj
    # fixed and static parts do not depend on the events
    for key in set(lo.energy_breakdown_uj) - set(EVENT_CATEGORIES):
        assert hi.energy_breakdown_uj[key] == pytest.approx(lo.energy_breakdown_uj[key])


@settings(deadline=None, max_examples=60)
@given(st.lists(counts_st, min_size=1, max_size=4), st.floats(0.5, 1e5),
       st.sampled_from(["AKD1000", "AKD1500", "TwoNodesIPv2"]))
def test_breakdown_sums_and_power_identity(layer_counts, fps, device):
    tr = timing(layer_counts, busy=[100 * (i + 1) for i in range(4)], fps=fps, device=device)
    r = estimate(tr, device)
    bd = r.energy_breakdown_uj
    dynamic = sum(v for k, v in bd.items() if k != "static")
    assert dynamic == pytest.approx(r.energy_per_frame_uj, rel=1e-9)
    assert sum(bd.values()) == pytest.approx(r.total_energy_per_frame_uj, rel=1e-9)
    attributed = r.energy_per_frame_uj - bd["frame_overhead"]
    assert bd["frame_overhead"] == r.params["frame_overhead_uj"]["value"]
    assert sum(lay["energy_uj"] for lay in r.layers) == pytest.approx(attributed, rel=1e-9)
    assert sum(n["energy_uj"] for n in r.nps) == pytest.approx(attributed, rel=1e-9)
    static_mw = r.static_mw["total"]
    # power = energy x fps + static (uJ x 1/s = uW); board adds its floor
    assert r.power_mw["chip"] == pytest.approx(r.energy_per_frame_uj * fps * 1e-3 + static_mw,
                                               rel=1e-9)
    floor = r.params["board_floor_mw"]["value"]
    assert r.power_mw["board"] == pytest.approx(r.power_mw["chip"] + floor, rel=1e-9)
    assert bd["static"] == pytest.approx(static_mw / fps * 1e3, rel=1e-9)
    assert r.board_energy_per_frame_uj == pytest.approx(r.power_mw["board"] / fps * 1e3,
                                                        rel=1e-9)
    n_nps = len({(n.col, n.row, n.id) for n in tr.nps})
    n_nodes = len({(n.col, n.row) for n in tr.nps})
    assert static_mw == pytest.approx(r.params["chip_idle_mw"]["value"]
                                      + n_nps * r.params["np_leakage_mw"]["value"]
                                      + n_nodes * r.params["node_leakage_mw"]["value"])


@settings(deadline=None, max_examples=40)
@given(counts_st, st.integers(0, 10**6))
def test_zero_events_cost_only_fixed_and_static(counts, busy):
    zero = scaled(counts, 0, EVENT_FIELDS)
    r = estimate(timing([zero], busy=[busy]), "AKD1000")
    assert r.event_energy_uj == 0.0
    p = {k: v["value"] for k, v in r.params.items()}
    n = 2  # frames of the synthetic run
    fixed_pj = (counts["hrc_macs"] * p["hrc_mac_pj"]
                + counts["dma_weight_bytes"] * p["dma_weight_pj_per_byte"]
                + counts["dma_input_bytes"] * p["dma_input_pj_per_byte"]
                + counts["dma_output_bytes"] * p["dma_output_pj_per_byte"]
                + counts["neurons_updated"] * p["neuron_update_pj"]
                + counts["reconfig_bytes"] * p["reconfig_pj_per_byte"]
                + busy * p["np_active_cycle_pj"]) / n
    assert r.energy_per_frame_uj == pytest.approx(fixed_pj * 1e-6 + p["frame_overhead_uj"],
                                                  rel=1e-9)


def test_synop_energy_by_bit_width():
    p = energy.resolve_params("AKD1000")
    e = {(w, i): energy.synop_pj(p, w, i) for w in (1, 2, 4, 8) for i in (1, 2, 4, 8)}
    assert e[(4, 4)] < e[(8, 4)] < e[(8, 8)]
    assert e[(1, 1)] < e[(4, 1)] < e[(4, 4)]
    counts = {f: 0 for f in EVENT_FIELDS + FIXED_FIELDS}
    r4 = estimate(timing([dict(counts, synaptic_ops=10**6, weight_bits=4, input_bits=4)]),
                  "AKD1000")
    r8 = estimate(timing([dict(counts, synaptic_ops=10**6, weight_bits=8, input_bits=8)]),
                  "AKD1000")
    assert r8.energy_breakdown_uj["synaptic_ops"] > r4.energy_breakdown_uj["synaptic_ops"] > 0


def test_overrides_and_errors():
    counts = {f: 1000 for f in EVENT_FIELDS + FIXED_FIELDS}
    tr = timing([counts])
    base = estimate(tr, "AKD1000")
    r = estimate(tr, "AKD1000", overrides={"np_active_cycle_pj": 0.0, "board_floor_mw": 0})
    assert r.params["np_active_cycle_pj"]["source"] == "override"
    assert r.energy_breakdown_uj["np_active_cycles"] == 0.0
    assert r.power_mw["board"] == pytest.approx(r.power_mw["chip"])
    assert r.energy_per_frame_uj == pytest.approx(
        base.energy_per_frame_uj - base.energy_breakdown_uj["np_active_cycles"])
    doubled = estimate(tr, "AKD1000", overrides={"neuron_update_pj": {"value": 6.0}})
    assert doubled.energy_breakdown_uj["threshold_fire"] == pytest.approx(
        2 * base.energy_breakdown_uj["threshold_fire"])
    assert energy.parse_overrides(["np_active_cycle_pj=2.5"]) == {"np_active_cycle_pj": 2.5}
    for bad in ({"no_such_pj": 1.0}, {"hrc_mac_pj": -1.0}, {"hrc_mac_pj": float("nan")},
                {"hrc_mac_pj": "x"}):
        with pytest.raises(EnergyParamError):
            estimate(tr, "AKD1000", overrides=bad)
    with pytest.raises(EnergyParamError, match="KEY=NUMBER"):
        energy.parse_overrides(["np_active_cycle_pj"])
    with pytest.raises(EnergyParamError, match="no energy table for device"):
        estimate(tr, "NoSuchDevice")
    with pytest.raises(NsocError, match="fps"):
        estimate(timing([counts], fps=0.0), "AKD1000")


def test_device_objects_pick_tables_and_device_params():
    mesh = Mesh(nps=[NPInfo(Ident(1, 2, 0), frozenset({"CNP1"}))], dma_event=Ident(1, 1, 0),
                dma_conf=Ident(1, 1, 1))
    custom = Device("MyIP", "v2", "BC.A2.001.000", mesh,
                    params={"chip_idle_mw": {"value": 1.5, "unit": "mW", "source": "test"}})
    assert energy.table_for(custom)["name"] == "akida2"
    assert energy.table_for(Device("x", "v1", "", mesh))["name"] == "akd1000"
    assert energy.table_for("AKD1500")["name"] == "akd1500"
    p = energy.resolve_params(custom)
    assert p["chip_idle_mw"]["value"] == 1.5 and p["chip_idle_mw"]["source"] == "test"


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(energy.PARAMS_DIR,
                                                               "energy_*.json"))))
def test_tables_document_every_constant(path):
    table = json.load(open(path))
    assert set(energy.REQUIRED_PARAMS) <= set(table["params"])
    for key, entry in table["params"].items():
        assert set(entry) >= {"value", "unit", "source"}, key
        assert math.isfinite(entry["value"]) and entry["value"] >= 0, key
        assert entry["unit"] and len(entry["source"]) > 10, key

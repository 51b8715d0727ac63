"""Per-layer cycles as BrainChip measures them (cut-model differences) and the density law:
a layer's simulated time falls with its input density."""
import numpy as np
import pytest

from nsoc import Model
from nsoc.hardware.mapping import map_model
from nsoc.hardware.timing import simulate
from nsoc.hardware.timing.cuts import attach_cut_cycles, cut_layer_cycles
from nsoc.testing import random_v1_model, random_v2_model

V1_BLOCKS = [("input_conv", {"filters": 8, "name": "conv_in"}),
             ("conv", {"filters": 16, "name": "c1"}),
             ("sep", {"filters": 16, "name": "s2"}),
             ("conv", {"filters": 16, "name": "c3"}),
             ("dense", {"units": 10, "name": "fc"})]


@pytest.fixture(scope="module")
def v1():
    m = random_v1_model(V1_BLOCKS, (16, 12, 3), seed=1)
    x = np.random.default_rng(1).integers(0, 256, (2, 16, 12, 3)).astype(np.uint8)
    return m, x, m.forward(x, outputs="all")


def test_cut_cycles_are_differences_of_silenced_cut_models(v1):
    m, x, acts = v1
    cuts = cut_layer_cycles(m, "AKD1000", x, acts)
    assert [c.layer for c in cuts] == ["conv_in", "c1", "s2", "c3", "fc"]
    assert [c.layers for c in cuts] == [(c.layer,) for c in cuts]
    # telescoping: the cycles add up to the whole model's cut (its last layer silenced)
    assert sum(c.cycles for c in cuts) == cuts[-1].cut_latency_cycles
    # each cut latency is the Minimal, batch-1 simulation of the first k + 1 layers with the
    # last one producing no event; frame 1 of the inputs plays no part
    for k, name in ((0, "conv_in"), (2, "s2")):
        cut = Model(list(m.layers[:k + 1]), "v1")
        a = {lay.name: acts[lay.name][:1] for lay in cut.layers}
        a[name] = np.zeros_like(a[name])
        lat = simulate(cut, map_model(cut, "AKD1000", mode="Minimal"), x[:1], a).latency_cycles
        assert next(c for c in cuts if c.layer == name).cut_latency_cycles == lat
    later = {k: v.copy() for k, v in acts.items()}
    later["c1"][1:] = 0
    assert cut_layer_cycles(m, "AKD1000", x, later) == cuts
    # silencing: the last layer's own output events do not count in its cut
    louder = dict(acts, c3=np.maximum(acts["c3"], 1))
    assert cut_layer_cycles(m, "AKD1000", x, louder)[3] == cuts[3]


def test_cut_cycles_attached_to_the_run(v1):
    m, x, acts = v1
    r = simulate(m, map_model(m, "AKD1000"), x, acts)
    assert all(lay.cut_cycles is None for lay in r.layers)
    assert "cut_cycles" not in r.layers[0].to_dict()
    cuts = cut_layer_cycles(m, "AKD1000", x, acts)
    attach_cut_cycles(r, cuts)
    assert [lay.cut_cycles for lay in r.layers] == [c.cycles for c in cuts]
    assert r.layers[2].to_dict()["cut_cycles"] == cuts[2].cycles


def test_branch_layers_go_to_the_next_valid_cut():
    blocks = [("input_conv", {"filters": 8, "name": "conv_in"}),
              ("conv", {"filters": 8, "name": "c1"}), ("conv", {"filters": 8, "name": "c2"}),
              ("add", {"with_block": 2, "name": "add"}), ("conv", {"filters": 8, "name": "c3"})]
    m = random_v2_model(blocks, (10, 10, 3), seed=3)
    m.get_layer("c2").inbounds = ["conv_in"]  # two parallel branches c1, c2 joined by add
    m = Model(m.layers, "v2")
    x = np.random.default_rng(0).integers(0, 256, (1, 10, 10, 3)).astype(np.uint8)
    cuts = cut_layer_cycles(m, "FourNodesIPv2", x)
    # cutting after c2 leaves c1 and c2 both without consumer: no cut there
    assert [c.layer for c in cuts] == ["conv_in", "c1", "add", "c3"]
    assert cuts[2].layers == ("c2", "add")
    assert sum(c.cycles for c in cuts) == cuts[-1].cut_latency_cycles


def _chain_with_density(density, seed=0):
    m = random_v1_model(V1_BLOCKS, (16, 12, 3), seed=1)
    x = np.random.default_rng(seed).integers(0, 256, (1, 16, 12, 3)).astype(np.uint8)
    acts = m.forward(x, outputs="all")
    rng = np.random.default_rng(seed + 1)
    a = acts["c1"]
    keep = rng.random(a.shape) < density
    acts["c1"] = np.where(keep, np.maximum(a, 1), 0).astype(a.dtype)  # s2's input events
    return m, x, acts


@pytest.mark.parametrize("mode", ["AllNps", "Minimal"])
def test_layer_time_falls_with_its_input_density(mode):
    densities = (0.9, 0.6, 0.3, 0.1, 0.0)
    runs = []
    for d in densities:
        m, x, acts = _chain_with_density(d)
        runs.append(simulate(m, map_model(m, "AKD1000", mode=mode), x, acts))
    busy = [r.layer("s2").busy_cycles for r in runs]
    events = [r.layer("s2").events_in for r in runs]
    assert events == sorted(events, reverse=True) and events[-1] == 0
    assert all(a > b for a, b in zip(busy, busy[1:], strict=False))
    # and so does the model's latency and the layer's cut-model cycles
    assert all(a.latency_cycles > b.latency_cycles for a, b in zip(runs, runs[1:], strict=False))
    cuts = []
    for d in densities[::2]:
        m, x, acts = _chain_with_density(d)
        cuts.append(next(c.cycles for c in cut_layer_cycles(m, "AKD1000", x, acts)
                         if c.layer == "s2"))
    assert cuts == sorted(cuts, reverse=True) and cuts[0] > cuts[-1]


def test_report_shows_cut_cycles_beside_busy_cycles(v1, tmp_path):
    import csv

    from nsoc.pipeline import build_report
    from nsoc.report import load_report
    m, x, acts = v1
    mapping = map_model(m, "AKD1000")
    plain = build_report(m, x, mapping, activations=acts)
    assert all("cut_cycles" not in lay for lay in plain.data["layers"])
    rep = build_report(m, x, mapping, activations=acts, cut_cycles=True)
    cuts = cut_layer_cycles(m, "AKD1000", x, acts)
    assert [lay["cut_cycles"] for lay in rep.data["layers"]] == [c.cycles for c in cuts]
    assert rep.data["latency_cycles"] == plain.data["latency_cycles"]
    assert rep.data["program_cycles"] >= 0
    rep.write(tmp_path / "r", html=False)
    rows = list(csv.DictReader(open(tmp_path / "r" / "layers.csv")))
    header = list(rows[0])
    assert header.index("cut_cycles") == header.index("busy_cycles") + 1
    assert [int(r["cut_cycles"]) for r in rows] == [c.cycles for c in cuts]
    assert load_report(tmp_path / "r").data["layers"][1]["cut_cycles"] == cuts[1].cycles


def test_run_report_cut_cycles_option(v1, tmp_path, capsys):
    import argparse

    from nsoc.commands.report import add_report_arguments, run_report
    from nsoc.commands.timing import add_timing_arguments
    m, x, _ = v1
    parser = argparse.ArgumentParser()
    add_timing_arguments(parser)
    add_report_arguments(parser)
    args = parser.parse_args(["--report", str(tmp_path / "r"), "--cut-cycles"])
    rep = run_report(args, m, map_model(m, "AKD1000"), x[:1])
    assert all(isinstance(lay["cut_cycles"], int) for lay in rep.data["layers"])
    assert "cut_cycles" in open(tmp_path / "r" / "layers.csv").readline().split(",")

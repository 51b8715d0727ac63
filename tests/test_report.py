"""Reports of a real converted model: report.json (schema), layers.csv, report.html, compare, CLI.

One tf_keras + quantizeml model is quantized and converted once per module (the slow part).
"""
import base64
import csv
import json
import re
import sys

import jsonschema
import numpy as np
import pytest

from nsoc import Model
from nsoc.cli import main as cli_main
from nsoc.hardware.energy import EVENT_KEYS
from nsoc.pipeline import build_report
from nsoc.report import (
    ReportError,
    compare_reports,
    load_report,
    load_schema,
    write_report,
)
from nsoc.report.html import PLOT_IDS, report_html
from nsoc.report.schema import _check

DEVICE = "TwoNodesIPv2"


@pytest.fixture(scope="module")
def model():
    import tf_keras as keras
    from quantizeml.models import QuantizationParams, quantize

    from nsoc.converter import convert
    keras.utils.set_random_seed(0)
    inp = keras.Input((16, 16, 3))
    x = keras.layers.Rescaling(1 / 255.0)(inp)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2D(16, 3, padding="same")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(10)(x)
    calib = np.random.default_rng(0).integers(0, 256, (8, 16, 16, 3)).astype(np.float32)
    qparams = QuantizationParams(input_weight_bits=8, weight_bits=4, activation_bits=4)
    qmodel = quantize(keras.Model(inp, x), qparams=qparams, samples=calib, num_samples=8,
                      batch_size=8, epochs=1)
    return convert(qmodel)


@pytest.fixture(scope="module")
def frames():
    return np.random.default_rng(1).integers(0, 256, (4, 16, 16, 3)).astype(np.uint8)


@pytest.fixture(scope="module")
def report(model, frames):
    return build_report(model, frames, model.map(DEVICE), progress=False)


@pytest.fixture(scope="module")
def written(report, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    paths = write_report(report, out)
    return out, paths


def test_report_json_validates_and_has_the_keys(written, model):
    out, paths = written
    data = json.load(open(paths["json"]))
    jsonschema.Draft202012Validator(load_schema()).validate(data)
    errors = []
    _check(data, load_schema(), load_schema(), "report", errors)  # built-in checker agrees
    assert errors == []
    for key in ("clock_hz", "latency_cycles", "latency_us", "fps", "frames", "layers", "nps",
                "links", "energy_per_frame_uj", "power_mw", "energy_breakdown_uj", "mapping",
                "parameters", "sparsity", "events"):
        assert key in data
    assert set(data["power_mw"]) == {"chip", "board"}
    assert data["device"]["name"] == DEVICE and data["n_frames"] == 4
    assert len(data["frames"]) == 4
    assert [lay["name"] for lay in data["layers"]] == [lay.name for lay in model.layers
                                                       if lay.name in
                                                       {d["name"] for d in data["layers"]}]
    assert data["mapping"]["sequences"] and data["nps"]
    assert data["energy_per_frame_uj"] > 0
    assert sum(data["energy_breakdown_uj"].values()) == pytest.approx(
        data["total_energy_per_frame_uj"])
    assert data["power_mw"]["chip"] == pytest.approx(
        data["energy_per_frame_uj"] * data["fps"] * 1e-3 + data["static_mw"]["total"])
    for entry in data["parameters"]["energy"].values():
        assert entry["source"]
    broken = dict(data, fps="fast")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, load_schema())
    errors = []
    _check(broken, load_schema(), load_schema(), "report", errors)
    assert errors


def test_layers_csv_one_row_per_layer(written, report):
    out, paths = written
    rows = list(csv.DictReader(open(paths["csv"])))
    assert [r["name"] for r in rows] == [lay["name"] for lay in report["layers"]]
    for row, lay in zip(rows, report["layers"], strict=False):
        assert int(row["busy_cycles"]) == lay["busy_cycles"]
        assert float(row["energy_uj"]) == pytest.approx(lay["energy_uj"])
        assert int(row["synaptic_ops"]) == lay["actions"]["synaptic_ops"]


def test_report_html_embeds_every_plot(written, report):
    out, paths = written
    page = open(paths["html"]).read()
    for pid in PLOT_IDS:
        m = re.search(rf"<img id='{pid}'[^>]*src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
        assert m, pid
        assert base64.b64decode(m.group(1))[:4] == b"\x89PNG"
    assert "http://" not in page and "https://" not in page  # self-contained
    for lay in report["layers"]:
        assert lay["name"] in page


def test_html_without_matplotlib_has_tables_and_a_note(report, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    page = report_html(report.data)
    assert "matplotlib is not installed" in page and "<img" not in page
    assert "<table>" in page


def test_zero_frame_costs_only_fixed_and_static(model, frames):
    doc = model.to_doc()
    for lay in doc["layers"]:
        if "bias" in lay["variables"]:
            lay["variables"]["bias"] = np.zeros_like(lay["variables"]["bias"])
    unbiased = Model.from_doc(doc)
    mapping = unbiased.map(DEVICE)
    zero = build_report(unbiased, np.zeros_like(frames[:2]), mapping, progress=False)
    zero1 = build_report(unbiased, np.zeros_like(frames[:1]), mapping, progress=False)
    busy = build_report(unbiased, frames[:2], mapping, progress=False)
    e0, e1 = zero.energy, busy.energy
    assert zero["events"]["out"] == 0
    assert e0.event_energy_uj == 0.0 and e1.event_energy_uj > 0
    for lay in zero["layers"][1:]:  # no event reaches the layers after the input layer
        assert lay["actions"]["synaptic_ops"] == lay["actions"]["input_sram_reads"] == 0
    # what remains is fixed work: the same for every all-zero frame
    assert e0.energy_per_frame_uj == pytest.approx(zero1.energy.energy_per_frame_uj, rel=1e-2)
    fixed = sum(v for k, v in e0.energy_breakdown_uj.items() if k not in EVENT_KEYS)
    assert e0.total_energy_per_frame_uj == pytest.approx(fixed)
    assert e0.energy_per_frame_uj < e1.energy_per_frame_uj


def test_compare_and_cli(model, frames, written, tmp_path, capsys):
    out_a, _ = written
    slow = build_report(model, frames, model.map(DEVICE), clock_mode="Economy",
                        energy_overrides={"np_active_cycle_pj": 0.0}, progress=False)
    out_b = tmp_path / "b"
    slow.write(out_b)
    a = load_report(out_a)
    cmp = compare_reports(a, slow)
    assert cmp["b"]["clock_mode"] == "Economy"
    assert cmp["total"]["fps"]["delta"] < 0  # slower clock
    assert cmp["total"]["energy_per_frame_uj"]["delta"] < 0  # no clock-tree energy
    assert [lay["name"] for lay in cmp["layers"]] == [lay["name"] for lay in a["layers"]]
    assert cmp["only_a"] == [] and cmp["only_b"] == []
    assert cli_main(["report", str(out_a), str(out_b / "report.json")]) == 0
    text = capsys.readouterr().out
    assert "fps" in text and a["layers"][0]["name"] in text
    assert cli_main(["report", str(out_a), str(out_b), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["fps"]["b"] == pytest.approx(slow.fps)
    assert cli_main(["report", str(out_a)]) == 0
    assert DEVICE in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert cli_main(["report", str(bad)]) == 2
    assert "error" in capsys.readouterr().err
    with pytest.raises(ReportError, match="no report"):
        load_report(tmp_path / "missing")
    with pytest.raises(ReportError, match="schema version"):
        data = dict(a.data, schema_version=99)
        write_report(data, tmp_path / "c")


def test_run_report_arguments(model, frames, tmp_path, capsys):
    import argparse

    from nsoc.commands.report import add_report_arguments, run_report
    from nsoc.commands.timing import add_timing_arguments
    parser = argparse.ArgumentParser()
    parser.add_argument("--device")
    parser.add_argument("--mode", default="AllNps")
    add_timing_arguments(parser)
    add_report_arguments(parser)
    args = parser.parse_args(["--device", DEVICE, "--report", str(tmp_path / "r"),
                              "--energy-param", "board_floor_mw=100"])
    rep = run_report(args, model, model.map(DEVICE), frames)
    assert rep["power_mw"]["board"] == pytest.approx(rep["power_mw"]["chip"] + 100)
    assert rep["parameters"]["energy"]["board_floor_mw"]["source"] == "override"
    assert load_report(tmp_path / "r").fps == pytest.approx(rep.fps)
    assert "energy breakdown" in capsys.readouterr().out
    # tqdm progress over frames gives the same report as the simulator's own forward pass
    again = build_report(model, frames, model.map(DEVICE), progress=True)
    assert again["energy_per_frame_uj"] == pytest.approx(rep["energy_per_frame_uj"])

"""nsoc.pipeline: one direction, each stage once (the functional pass, the mapping), checks
before the long work, and the same outputs and report as the stages run by hand."""
import json
import os

import numpy as np
import pytest

import nsoc
import nsoc.engine
import nsoc.hardware.mapping
from nsoc import pipeline
from nsoc.cli import main
from nsoc.errors import InputError

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")
KWS = os.path.join(FIXTURES, "kws_dscnn.fbz")
KWS_X = os.path.join(FIXTURES, "kws_inputs.npy")
MNIST_V1 = os.path.join(FIXTURES, "mnist_cnn_v1.fbz")
MNIST_X = os.path.join(FIXTURES, "mnist_inputs.npy")


@pytest.fixture
def counted(monkeypatch):
    """Counts functional passes (frames through engine.forward) and mappings."""
    calls = {"forward": 0, "frames": 0, "map": 0}
    forward, map_model = nsoc.engine.forward, nsoc.hardware.mapping.map_model

    def counting_forward(model, inputs, *args, **kwargs):
        calls["forward"] += 1
        calls["frames"] += len(inputs)
        return forward(model, inputs, *args, **kwargs)

    def counting_map(*args, **kwargs):
        calls["map"] += 1
        return map_model(*args, **kwargs)

    monkeypatch.setattr(nsoc.engine, "forward", counting_forward)
    monkeypatch.setattr(nsoc.hardware.mapping, "map_model", counting_map)
    return calls


def _without_volatile(data):
    return {k: v for k, v in data.items() if k not in ("nsoc_version",)}


def test_run_report_runs_each_frame_once_and_maps_once(tmp_path, counted, capsys):
    x = np.load(MNIST_X)[:40]
    inputs = tmp_path / "x.npy"
    np.save(inputs, x)
    out, rep = tmp_path / "y.npy", tmp_path / "rep"
    assert main(["run", MNIST_V1, "--input", str(inputs), "-o", str(out), "--device",
                 "AKD1000", "--report", str(rep), "--timing-frames", "6"]) == 0
    assert counted["map"] == 1
    assert counted["frames"] == len(x)          # every frame through the engine once
    assert "energy breakdown" in capsys.readouterr().out
    model = nsoc.load(MNIST_V1)
    np.testing.assert_array_equal(np.load(out), model.predict(x))
    # the report equals the stages run by hand on the same frames
    mapping = nsoc.hardware.mapping.map_model(model, "AKD1000")
    by_hand = pipeline.build_report(model, x[:6], mapping, progress=False)
    written = json.loads((rep / "report.json").read_text())
    assert _without_volatile(written) == _without_volatile(
        json.loads(json.dumps(by_hand.data)))


def test_run_timing_and_raw_outputs_from_the_kept_activations(tmp_path, counted, capsys):
    x = np.load(KWS_X)[:12]
    inputs = tmp_path / "x.npy"
    np.save(inputs, x)
    out = tmp_path / "y.npy"
    assert main(["run", KWS, "--input", str(inputs), "-o", str(out), "--raw", "--device",
                 "custom:30,2,4", "--timing", "--timing-frames", "5"]) == 0
    assert counted == {"forward": counted["forward"], "frames": 12, "map": 1}
    assert "latency" in capsys.readouterr().out
    np.testing.assert_array_equal(np.load(out), nsoc.load(KWS).forward(x))


def test_custom_device_follows_the_model_version():
    model = nsoc.load(MNIST_V1)          # Akida 1.0
    assert pipeline.resolve_device("custom:30,2,4", model).ip_version == "v1"
    assert pipeline.resolve_device("custom:30,2,4,v2", model).ip_version == "v2"
    assert pipeline.resolve_device("AKD1000", model).name == "AKD1000"


def test_wrong_device_fails_before_the_functional_pass(tmp_path, counted, capsys):
    out = tmp_path / "y.npy"
    # a v2 model on an Akida 1.0 device: the version mismatch is found by mapping, first
    assert main(["run", KWS, "--input", KWS_X, "-o", str(out), "--device", "AKD1000",
                 "--report", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "v2" in err and "v1" in err and len(err.strip().splitlines()) == 1
    assert counted["frames"] == 0 and not out.exists()
    assert main(["run", KWS, "--input", KWS_X, "-o", str(out), "--device", "NoSuchChip",
                 "--timing"]) == 2
    assert "unknown device" in capsys.readouterr().err
    assert main(["run", KWS, "--input", KWS_X, "-o", str(out), "--device", "custom:30,2,4",
                 "--timing", "--param", "no_such_param=1"]) == 2
    assert main(["run", MNIST_V1, "--input", MNIST_X, "-o", str(out), "--device", "AKD1000",
                 "--report", str(tmp_path / "r"), "--energy-param", "no_such_pj=1"]) == 2
    assert "no_such_pj" in capsys.readouterr().err
    assert counted["frames"] == 0


def test_model_simulate_is_the_pipeline():
    model = nsoc.load(MNIST_V1)
    x = np.load(MNIST_X)[:3]
    report = model.simulate(x, "AKD1000", clock_mode="Economy")
    run = pipeline.simulate(model, x, device="AKD1000", clock_mode="Economy", progress=False)
    assert report.data == run.report.data
    assert run.mapping.device.name == "AKD1000" and len(run.activations) == 3
    assert run.timing.latency_cycles == report["latency_cycles"]
    assert run.energy.energy_per_frame_uj == report["energy_per_frame_uj"]
    from nsoc.report.energy_text import format_energy
    text = format_energy(run.energy)
    assert "chip dynamic energy per frame" in text and "board" in text


def test_stages_take_the_previous_value():
    model = nsoc.load(MNIST_V1)
    x = np.load(MNIST_X)[:4]
    options = pipeline.SimOptions(device="AKD1000", frames=2, progress=False)
    mapping = pipeline.map_stage(model, options)
    acts = pipeline.forward_stage(model, x, options)
    assert len(acts) == 2 and acts.frames.shape[0] == 2
    np.testing.assert_array_equal(acts.values[model.layers[-1].name],
                                  model.forward(x[:2]))
    timing = pipeline.simulate_stage(model, mapping, acts, options)
    energy = pipeline.energy_stage(timing, mapping, options)
    report = pipeline.report_stage(model, mapping, acts, timing, energy)
    assert report["n_frames"] == 2 and report["events"]["source"] == "activations"
    with pytest.raises(AttributeError):
        options.mode = "Minimal"                  # options are frozen values
    with pytest.raises(TypeError):
        options.timing_overrides["x"] = 1
    with pytest.raises(InputError, match="clock mode"):
        pipeline.SimOptions(device="AKD1000", clock_mode="Turbo")
    with pytest.raises(InputError, match="device"):
        pipeline.map_stage(model, pipeline.SimOptions())

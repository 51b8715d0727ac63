"""``nsoc run ... --report DIR --sparsity PROFILE``: events drawn at a profile's density."""
from __future__ import annotations

import json

import numpy as np
import pytest

import nsoc.zoo
from nsoc.cli import main
from nsoc.report import load_report
from nsoc.zoo.builder import calibration_inputs


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("sparsity")
    model = nsoc.zoo.build("dscnn_kws", target="v1")
    model.save(d / "kws.fbz")
    np.save(d / "x.npy", calibration_inputs(model.input_shape, 3, 9))
    (d / "profile.json").write_text(json.dumps({"separable_2": 0.9, "dense_5": 0.5}))
    return d


def _run(files, *extra):
    return main(["run", str(files / "kws.fbz"), "--input", str(files / "x.npy"), "-o",
                 str(files / "out.npy"), "--force", "--device", "AKD1000", *extra])


def _report(files, name, *extra):
    assert _run(files, "--report", str(files / name), *extra) == 0
    return json.loads((files / name / "report.json").read_text())


def test_report_records_real_activations(files, capsys):
    data = _report(files, "real")
    assert data["events"]["source"] == "activations" and "profile" not in data["events"]
    load_report(files / "real")                         # schema-valid


def test_report_with_uniform_profile(files):
    real = _report(files, "real2")
    data = _report(files, "uniform", "--sparsity", "0.9", "--sparsity-seed", "4")
    ev = data["events"]
    assert ev["source"] == "profile" and ev["profile"] == {"sparsity": 0.9} and ev["seed"] == 4
    measured = ev["measured_input_sparsity"]
    assert set(measured) == {"separable_1", "separable_2", "separable_3", "separable_4",
                             "dense_5"}
    assert all(abs(v - 0.9) < 0.01 for v in measured.values())
    layers = {lay["name"]: lay for lay in data["layers"]}
    size = 25 * 5 * 64
    assert layers["separable_3"]["events_in"] == round(0.1 * size) * 3
    assert data["events"]["in"] < real["events"]["in"]
    load_report(files / "uniform")


def test_report_with_json_profile(files):
    real = {lay["name"]: lay for lay in _report(files, "real3")["layers"]}
    data = _report(files, "json", "--sparsity", str(files / "profile.json"))
    assert data["events"]["profile"]["layers"] == {"separable_2": 0.9, "dense_5": 0.5}
    layers = {lay["name"]: lay for lay in data["layers"]}
    assert layers["separable_2"]["events_in"] == round(0.1 * 25 * 5 * 64) * 3
    assert layers["dense_5"]["events_in"] == 32 * 3
    # layers not named keep their real input events
    for name in ("separable_1", "separable_3"):
        assert layers[name]["events_in"] == real[name]["events_in"]


def test_timing_with_profile(files, capsys):
    assert _run(files, "--timing", "--sparsity", "0.8") == 0
    assert "separable_3" in capsys.readouterr().out


@pytest.mark.parametrize("extra,message", [
    (["--report", "R", "--sparsity", "1.5"], "outside [0, 1]"),
    (["--report", "R", "--sparsity", "high"], "neither a number"),
    (["--report", "R", "--sparsity", "PROFILE_UNKNOWN"], "unknown layer(s) conv_9"),
    (["--report", "R", "--sparsity", "PROFILE_DENSE"], "dense input"),
    (["--sparsity", "0.5"], "add --report DIR or --timing"),
])
def test_sparsity_user_errors_exit_2(files, extra, message, capsys):
    (files / "unknown.json").write_text(json.dumps({"conv_9": 0.5}))
    (files / "dense.json").write_text(json.dumps({"conv_0": 0.5}))
    extra = [str(files / "R") if e == "R" else e for e in extra]
    extra = [str(files / "unknown.json") if e == "PROFILE_UNKNOWN" else e for e in extra]
    extra = [str(files / "dense.json") if e == "PROFILE_DENSE" else e for e in extra]
    assert _run(files, *extra) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (files / "R").exists()

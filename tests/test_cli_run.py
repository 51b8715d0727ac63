"""`nsoc run` and `nsoc info` on the shipped fixtures: outputs, user errors, reports."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import nsoc
from nsoc.cli import main

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")
KWS = os.path.join(FIXTURES, "kws_dscnn.fbz")
KWS_X = os.path.join(FIXTURES, "kws_inputs.npy")
MNIST_V1 = os.path.join(FIXTURES, "mnist_cnn_v1.fbz")
MNIST_X = os.path.join(FIXTURES, "mnist_inputs.npy")


@pytest.fixture(scope="module")
def kws():
    return nsoc.load(KWS)


def test_console_script_runs_fixture(tmp_path, kws):
    out = tmp_path / "out.npy"
    proc = subprocess.run([sys.executable, "-m", "nsoc.cli", "run", KWS, "--input", KWS_X,
                           "-o", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "samples: 256" in proc.stdout and "top-1 histogram" in proc.stdout
    y = np.load(out)
    assert y.dtype == np.float32 and y.shape == (256, 1, 1, 12)
    np.testing.assert_array_equal(y, kws.predict(np.load(KWS_X)))
    # the fixture is a trained classifier: its labels are recovered
    labels = np.load(os.path.join(FIXTURES, "kws_labels.npy"))
    assert np.mean(y.reshape(256, -1).argmax(1) == labels) > 0.9


def test_run_raw_and_default_output_path(tmp_path, kws, capsys):
    x = np.load(KWS_X)[:8]
    inp = tmp_path / "frames.npy"
    np.save(inp, x)
    assert main(["run", KWS, "--input", str(inp), "--raw", "--batch-size", "3"]) == 0
    y = np.load(tmp_path / "frames_kws_dscnn_outputs.npy")
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y, kws.forward(x))


def _error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_user_errors_are_one_line_exit_2(tmp_path, capsys):
    assert "No such file" in _error(capsys, ["run", str(tmp_path / "none.fbz"), "--input", KWS_X])
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((49, 10, 1), np.uint8))
    msg = _error(capsys, ["run", KWS, "--input", str(bad), "-o", str(tmp_path / "o.npy")])
    assert "(N, 49, 10, 1)" in msg
    np.save(bad, np.zeros((2, 49, 10, 1), np.int16))
    assert "dtype" in _error(capsys, ["run", KWS, "--input", str(bad), "-o",
                                      str(tmp_path / "o.npy")])
    np.save(bad, np.full((2, 49, 10, 1), np.nan, np.float32))
    assert "NaN" in _error(capsys, ["run", KWS, "--input", str(bad), "-o",
                                    str(tmp_path / "o.npy")])
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    assert ".npy" in _error(capsys, ["run", KWS, "--input", str(tmp_path / "junk.npy")])
    (tmp_path / "junk.fbz").write_bytes(b"\x00" * 100)
    assert "nsoc model" in _error(capsys, ["info", str(tmp_path / "junk.fbz")])


def test_existing_output_is_kept(tmp_path, capsys):
    out = tmp_path / "keep.npy"
    out.write_bytes(b"precious")
    assert "--force" in _error(capsys, ["run", KWS, "--input", KWS_X, "-o", str(out)])
    assert out.read_bytes() == b"precious"
    assert "input" in _error(capsys, ["run", KWS, "--input", KWS_X, "-o", KWS_X, "--force"])


def test_info_table(capsys):
    assert main(["info", KWS]) == 0
    out = capsys.readouterr().out
    for name in ("input_quantizer", "conv_0", "dw_1", "pw_4", "dense", "dequantizer"):
        assert name in out
    assert "MACs" in out and "Akida v2" in out


def test_run_report_on_akd1000(tmp_path, capsys):
    rep = tmp_path / "rep"
    assert main(["run", MNIST_V1, "--input", MNIST_X, "-o", str(tmp_path / "y.npy"),
                 "--device", "AKD1000", "--report", str(rep), "--timing-frames", "4"]) == 0
    data = json.loads((rep / "report.json").read_text())
    assert data["latency_cycles"] > 0 and data["fps"] > 0 and data["energy_per_frame_uj"] > 0
    assert len(data["frames"]) == 4
    assert (rep / "layers.csv").exists() and (rep / "report.html").exists()
    capsys.readouterr()  # the run's own output (a cold kernel cache adds a notice on stderr)
    assert "needs --device" in _error(capsys, ["run", MNIST_V1, "--input", MNIST_X, "-o",
                                               str(tmp_path / "z.npy"), "--timing"])


def test_model_simulate_api():
    model = nsoc.load(MNIST_V1)
    x = np.load(MNIST_X)[:3]
    report = model.simulate(x, "AKD1000")
    assert report.fps > 0 and report.latency_us > 0
    assert report.power_mw["board"] > report.power_mw["chip"] > 0
    # simulating does not disturb the functional outputs
    np.testing.assert_array_equal(model.predict(x), nsoc.load(MNIST_V1).predict(x))


def test_progress_blocks_give_identical_outputs(monkeypatch, kws):
    from nsoc.commands import run as run_cmd
    x = np.load(KWS_X)[:50]
    monkeypatch.setattr(run_cmd, "PROGRESS_BLOCK", 16)
    monkeypatch.setattr(run_cmd.sys.stderr, "isatty", lambda: True)
    np.testing.assert_array_equal(run_cmd.run_batches(kws, x, False, 0), kws.predict(x))
    np.testing.assert_array_equal(run_cmd.run_batches(kws, x, True, 7), kws.forward(x))

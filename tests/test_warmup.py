"""First-run kernel compilation: the cold-cache notice, ``nsoc warmup`` and cache detection."""
import os
import subprocess
import sys

import numpy as np

from nsoc import warmup as W
from nsoc.cli import main

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")


def test_warmup_compiles_every_engine_kernel_then_cache_is_warm(capsys):
    assert main(["warmup", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("nsoc kernels ") and " in " in out
    assert not W.kernel_cache_is_cold()
    labels = [label for label, _, _ in W.warm_models()]
    types = {lay.TYPE for _, model, _ in W.warm_models() for lay in model.layers}
    assert len(labels) == len(set(labels))
    from nsoc.layers import LAYER_TYPES
    assert types == set(LAYER_TYPES)  # every layer type the engine runs


def test_empty_cache_directory_is_cold(tmp_path):
    code = "import nsoc.warmup as W; print(W.kernel_cache_is_cold())"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba_cache"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"


def test_run_prints_the_notice_only_when_cold(tmp_path, capsys, monkeypatch):
    model = os.path.join(FIXTURES, "mnist_cnn_v1.fbz")
    x = tmp_path / "x.npy"
    np.save(x, np.load(os.path.join(FIXTURES, "mnist_inputs.npy"))[:4])
    monkeypatch.setattr(W, "kernel_cache_is_cold", lambda: True)
    assert main(["run", model, "--input", str(x), "-o", str(tmp_path / "a.npy")]) == 0
    err = capsys.readouterr().err
    assert err.count(W.COLD_NOTICE) == 1
    monkeypatch.setattr(W, "kernel_cache_is_cold", lambda: False)
    assert main(["run", model, "--input", str(x), "-o", str(tmp_path / "b.npy")]) == 0
    assert W.COLD_NOTICE not in capsys.readouterr().err

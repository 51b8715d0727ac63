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


def _dtypes(kernel, *positions):
    """The (dtype, ...) tuples of ``kernel``'s compiled signatures at argument ``positions``."""
    return {tuple(str(sig[i].dtype) for i in positions) for sig in kernel.signatures}


def test_warmup_compiles_every_dtype_combination_and_read_only_inputs_add_none():
    from itertools import product

    from nsoc import kernels as K
    from nsoc.kernels import conv, dense, elementwise
    W.warmup(progress=False)  # loads the kernels from the cache the first test filled
    ins, accs, outs = ("uint8", "int8"), ("int16", "int32"), ("uint8", "int8", "int32")
    for kernel, out_at in ((conv._conv2d_v2, 10), (conv._pointwise_v2, 4),
                           (conv._depthwise_v2, 4), (dense._dense_v2, 4)):
        assert _dtypes(kernel, 0, 1, out_at) >= set(product(ins, accs, outs)), kernel
    assert _dtypes(conv._input_conv2d_v2, 0, 1, 4) >= set(product(["uint8"], accs, outs))
    assert _dtypes(conv._conv_v1, 1, 2, 12) >= {
        (dw, pw, out) for dw, pw in (("int16", "int16"), ("int16", "int32"), ("int32", "int32"))
        for out in ("uint8", "int32")}
    assert _dtypes(dense._dense_v1, 1, 2) >= set(product(accs, ("uint8", "int32")))
    # a read-only input (np.load(..., mmap_mode="r"), as nsoc run reads) is copied, not compiled
    label, call = W.kernel_grid()[1]
    x = call.args[0].copy()
    x.setflags(write=False)
    before = len(conv._conv2d_v2.signatures), len(elementwise._add.signatures)
    assert label.startswith("Conv2D uint8") and call.func(x, call.args[1]).dtype == np.uint8
    K.add(x, x, *[np.zeros(2, np.int64)] * 3, 28, 32, True, 0, 127, dtype=np.uint8)
    assert (len(conv._conv2d_v2.signatures), len(elementwise._add.signatures)) == before

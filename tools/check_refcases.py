"""Compare nsoc's engine with BrainChip's oracle outputs, layer by layer, on every reference case.

``python tools/check_refcases.py [--engine numba|reference] [case ...]`` prints a table: for each
case and Akida version, each layer's mismatching element count against
``akida_<v>_layer_outputs.npz``, then ``forward`` and ``predict`` against ``akida_<v>_forward.npy``
and ``akida_<v>_predict.npy``.  Exit status 1 if anything differs.  Reads ../shared/refcases
(development only; the committed tests do not).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from tools.refcases import REFCASES, build, case_dirs, versions  # noqa: E402


def _cmp(ours, ref):
    if ours.shape != ref.shape:
        ours = ours.reshape(ref.shape) if ours.size == ref.size else ours
    if ours.shape != ref.shape:
        return f"shape {ours.shape} != {ref.shape}", False
    if ref.dtype.kind == "f":
        bad = int(np.sum(ours.astype(np.float32).view(np.int32) != ref.view(np.int32)))
    else:
        bad = int(np.sum(ours.astype(np.int64) != ref.astype(np.int64)))
    dt = "" if ours.dtype == ref.dtype else f" (dtype {ours.dtype} vs {ref.dtype})"
    return (f"{bad}/{ref.size} differ{dt}" if bad else f"exact{dt}"), bad == 0


def check(case, version, engine):
    d = os.path.join(REFCASES, case)
    model = build(case, version)
    x = np.load(os.path.join(d, "inputs.npy"))
    ref_layers = np.load(os.path.join(d, f"akida_{version}_layer_outputs.npz"))
    rows, ok = [], True
    allout = model.forward(x, outputs="all") if engine == "numba" else \
        __import__("nsoc.engine", fromlist=["forward"]).forward(model, x, outputs="all",
                                                                engine=engine)
    for lay in model.layers:
        if lay.name not in ref_layers.files:
            continue
        msg, good = _cmp(allout[lay.name], ref_layers[lay.name])
        ok &= good
        rows.append((lay.name, lay.TYPE, msg))
    from nsoc.engine import forward, predict
    fwd = forward(model, x, engine=engine)
    pred = predict(model, x, engine=engine)
    for what, ours in (("forward", fwd), ("predict", pred)):
        ref = np.load(os.path.join(d, f"akida_{version}_{what}.npy"))
        if version == "v2" and what == "forward":
            ref = np.load(os.path.join(d, "akida_v2_raw_int32.npy"))
            what = "forward(raw)"
        msg, good = _cmp(ours, ref)
        ok &= good
        rows.append((what, "", msg))
    return rows, ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*")
    ap.add_argument("--engine", default="numba", choices=("numba", "reference"))
    args = ap.parse_args(argv)
    all_ok = True
    print(f"{'case':32s} {'ver':3s} {'layer':16s} {'type':22s} result")
    for case in args.cases or case_dirs():
        for v in versions(case):
            rows, ok = check(case, v, args.engine)
            all_ok &= ok
            for name, typ, msg in rows:
                print(f"{case:32s} {v:3s} {name:16s} {typ:22s} {msg}")
    print("ALL EXACT" if all_ok else "MISMATCHES FOUND")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())

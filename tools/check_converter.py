"""Development check: convert every refcase's quantized_model.h5 and compare with akida's.

For each case in ../shared/refcases and each version it has (v2; v1 for a and c): layer names,
types, inbounds and parameters against layers.json, every variable against
akida_<v>_variables.npz exactly (names, shapes, dtypes, values); when nsoc.engine exists, the
outputs against keras_quantized_outputs.npy (v2) and akida_v1_forward/predict.npy (v1).
Usage: python tools/check_converter.py [case ...]   (exit status 1 on any mismatch)
"""
import json
import os
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import numpy as np  # noqa: E402

from tools.refcases import REFCASES, case_dirs, versions  # noqa: E402


def compare(case: str, version: str, qmodel) -> list[str]:
    from nsoc.converter import convert, set_akida_version
    d = os.path.join(REFCASES, case)
    desc = json.load(open(os.path.join(d, "layers.json")))[version]
    ref_vars = np.load(os.path.join(d, f"akida_{version}_variables.npz"))
    errors = []
    t = time.perf_counter()
    with set_akida_version(version), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = convert(qmodel)
    elapsed = time.perf_counter() - t
    got = [(lay.name, lay.TYPE, lay.inbounds) for lay in model.layers]
    want = [(ld["name"], ld["type"], ld["inbounds"]) for ld in desc]
    if got != want:
        errors.append(f"layers differ:\n   got  {got}\n   want {want}")
    for lay, ld in zip(model.layers, desc, strict=False):
        if lay.name != ld["name"]:
            continue
        if lay.params != ld["parameters"]:
            diff = {k: (lay.params.get(k), ld["parameters"].get(k))
                    for k in set(lay.params) | set(ld["parameters"])
                    if lay.params.get(k) != ld["parameters"].get(k)}
            errors.append(f"{lay.name}: params (got, want) {diff}")
        names = {k.split("/", 1)[1] for k in ref_vars.files if k.split("/", 1)[0] == lay.name}
        if set(lay.variables) != names:
            errors.append(f"{lay.name}: variables {sorted(lay.variables)} != {sorted(names)}")
        for vname in names & set(lay.variables):
            a, b = lay.variables[vname], ref_vars[f"{lay.name}/{vname}"]
            if a.dtype != b.dtype or a.shape != b.shape or not np.array_equal(a, b):
                n_bad = int(np.sum(a != b)) if a.shape == b.shape else -1
                errors.append(f"{lay.name}/{vname}: got {a.dtype}{a.shape} want {b.dtype}{b.shape}"
                              f" ({n_bad} values differ)")
    try:
        import nsoc.engine  # noqa: F401
        has_engine = True
    except ImportError:
        has_engine = False
    if has_engine:
        try:
            errors += compare_outputs(model, d, version)
        except Exception as exc:  # noqa: BLE001  (the engine is developed in parallel)
            errors.append(f"engine failed: {type(exc).__name__}: {exc}")
    status = "OK " if not errors else "BAD"
    print(f"{status} {case} {version}: {len(model.layers)} layers, convert {elapsed:.2f} s"
          f"{'' if has_engine else ' (no engine yet: outputs not compared)'}")
    for e in errors:
        print("    " + e)
    return errors


def compare_outputs(model, d, version):
    errors = []
    if True:
        x = np.load(os.path.join(d, "inputs.npy"))
        if version == "v2":
            ref = np.load(os.path.join(d, "keras_quantized_outputs.npy"))
            out = model.predict(x)
            if not np.array_equal(out.reshape(ref.shape), ref):
                errors.append(f"predict differs from keras: max |diff| "
                              f"{np.abs(out.reshape(ref.shape) - ref).max()}")
        else:
            for what in ("forward", "predict"):
                ref = np.load(os.path.join(d, f"akida_v1_{what}.npy"))
                out = getattr(model, what)(x)
                if not np.array_equal(out.reshape(ref.shape), ref):
                    errors.append(f"v1 {what} differs from akida")
    return errors


def main(argv):
    import quantizeml
    cases = argv or [c for c in case_dirs() if not c.startswith("legacy_")]
    bad = 0
    for case in cases:
        qmodel = quantizeml.load_model(os.path.join(REFCASES, case, "quantized_model.h5"),
                                       compile_model=False)
        for version in versions(case):
            bad += bool(compare(case, version, qmodel))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

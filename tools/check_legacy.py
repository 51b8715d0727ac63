"""Development check of nsoc's legacy CNN2SNN API against BrainChip's oracle data.

1. ``legacy_c_conv_maxpool_28x28x1``: quantize the float model with the refcase's arguments
   (wq4 / aq4 / iq8) and compare folded, quantized and integer weights, scale factors and biases
   with ``legacy_weights.npz`` (exact), the Keras outputs with ``legacy_keras_outputs.npy``
   (exact), load BrainChip's ``legacy_quantized.h5`` with nsoc's classes (same weights), convert
   to Akida 1.0 and compare parameters and variables with ``layers.json`` /
   ``akida_v1_variables.npz`` (exact), then, once the engine runs, the forward / predict / layer
   outputs with ``akida_v1_*.npy`` (exact).
2. Every other refcase float model: quantize (several bit widths), convert to v1 where the
   model allows it and compare nsoc's predict with the quantized Keras model (within one
   activation step; top-1 agreement).

Reads ../shared/refcases; not part of the test suite.  ``python tools/check_legacy.py``.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402
import tf_keras as keras  # noqa: E402

from nsoc.converter.legacy import convert_legacy, load_quantized_model, quantize  # noqa: E402
from nsoc.errors import NsocError  # noqa: E402
from tools.refcases import REFCASES  # noqa: E402

LEGACY = os.path.join(REFCASES, "legacy_c_conv_maxpool_28x28x1")
failures = []


def check(label, ok, detail=""):
    print(f"  [{'ok' if ok else 'FAIL'}] {label} {detail}")
    if not ok:
        failures.append(label)


def engine_outputs(model, x):
    try:
        return model.forward(x), model.predict(x), model.forward(x, outputs="all")
    except (AttributeError, ImportError, NotImplementedError) as exc:
        print(f"  [skip] engine not ready: {exc!r}")
        return None


def check_oracle():
    print("== legacy_c_conv_maxpool_28x28x1 (cnn2snn.quantize wq4 aq4 iq8)")
    float_model = keras.models.load_model(
        os.path.join(REFCASES, "c_conv_maxpool_28x28x1", "float_model.h5"), compile=False)
    qm = quantize(float_model, weight_quantization=4, activ_quantization=4,
                  input_weight_quantization=8)
    ref = np.load(os.path.join(LEGACY, "legacy_weights.npz"))
    for layer in qm.layers:
        if not hasattr(layer, "quantizer"):
            if hasattr(layer, "step"):
                n = layer.name
                check(f"{n} step/threshold/max_value/bitwidth",
                      float(layer.step.numpy()) == float(ref[f"{n}/step"])
                      and float(layer.threshold.numpy()) == float(ref[f"{n}/threshold"])
                      and float(layer.max_value.numpy()) == float(ref[f"{n}/max_value"])
                      and layer.bitwidth == int(ref[f"{n}/bitwidth"]))
            continue
        n = layer.name
        k, b = layer.get_weights()[:2]
        kq = layer.quantizer.quantize(k).numpy()
        sf = layer.quantizer.scale_factor(k).numpy()
        kint = np.round(kq * sf).astype(np.int8)
        for name, mine in (("kernel_float", k), ("kernel_quantized", kq),
                           ("kernel_scale_factor", sf), ("kernel_int", kint), ("bias", b)):
            r = ref[f"{n}/{name}"]
            check(f"{n}/{name}", mine.dtype == r.dtype and np.array_equal(mine, r),
                  f"max|diff|={np.abs(mine.astype(np.float64) - r).max():.3g}")
    x = np.load(os.path.join(LEGACY, "inputs.npy"))
    out = qm.predict(x.astype(np.float32), verbose=0)
    check("keras outputs == legacy_keras_outputs.npy",
          np.array_equal(out, np.load(os.path.join(LEGACY, "legacy_keras_outputs.npy"))))
    theirs = load_quantized_model(os.path.join(LEGACY, "legacy_quantized.h5"),
                                  compile_model=False)
    check("BrainChip legacy_quantized.h5 loads with nsoc classes, same weights",
          all(np.array_equal(a, b)
              for a, b in zip(theirs.get_weights(), qm.get_weights(), strict=False)))
    model = convert_legacy(qm)
    desc = json.load(open(os.path.join(LEGACY, "layers.json")))["v1"]
    var = np.load(os.path.join(LEGACY, "akida_v1_variables.npz"))
    check("v1 layer names/types", [(lay.name, lay.TYPE) for lay in model.layers]
          == [(d["name"], d["type"]) for d in desc])
    for lay, d in zip(model.layers, desc, strict=False):
        check(f"{lay.name} parameters", lay.params == d["parameters"])
        check(f"{lay.name} dims", list(lay.input_dims) == d["input_dims"]
              and list(lay.output_dims) == d["output_dims"])
        for k, v in lay.variables.items():
            r = var[f"{lay.name}/{k}"]
            check(f"{lay.name}/{k}", v.dtype == r.dtype and np.array_equal(v, r))
    got = engine_outputs(model, x)
    if got is not None:
        fwd, pred, allo = got
        check("forward == akida_v1_forward",
              np.array_equal(fwd, np.load(os.path.join(LEGACY, "akida_v1_forward.npy"))))
        check("predict == akida_v1_predict",
              np.array_equal(pred, np.load(os.path.join(LEGACY, "akida_v1_predict.npy"))))
        lo = np.load(os.path.join(LEGACY, "akida_v1_layer_outputs.npz"))
        for k in lo.files:
            check(f"layer output {k}", np.array_equal(np.asarray(allo[k]), lo[k]))


def check_other_float_models():
    for case in sorted(os.listdir(REFCASES)):
        path = os.path.join(REFCASES, case, "float_model.h5")
        if not os.path.isfile(path):
            continue
        print(f"== {case}")
        float_model = keras.models.load_model(path, compile=False)
        x = np.load(os.path.join(REFCASES, case, "inputs.npy"))
        for wq, aq, iq in ((4, 4, 8), (2, 2, 4), (4, 1, 8)):
            try:
                qm = quantize(float_model, wq, aq, iq)
            except NsocError as exc:
                print(f"  [n/a] quantize w{wq}a{aq}i{iq}: {exc}")
                break
            try:
                model = convert_legacy(qm)
            except NsocError as exc:
                print(f"  [n/a] convert w{wq}a{aq}i{iq}: {exc}")
                break
            print(f"  converted w{wq}a{aq}i{iq}: {[lay.TYPE for lay in model.layers]}")
            xk = x.reshape((len(x),) + tuple(qm.input_shape[1:])).astype(np.float32)
            kout = qm.predict(xk, verbose=0).reshape(len(x), -1)
            xa = x.reshape((len(x),) + model.input_shape)
            if xa.dtype != np.uint8:
                print(f"  [n/a] inputs are {xa.dtype}; v1 takes uint8")
                continue
            got = engine_outputs(model, xa)
            if got is None:
                continue
            pred = got[1].reshape(len(x), -1)
            unit = 1.0 / model.layers[-1].variables["act_step"]
            diff = np.abs(pred - kout)
            top2 = np.sort(kout, axis=1)[:, -2:]
            decisive = (top2[:, 1] - top2[:, 0]) > 2 * diff.max()
            agree = np.array_equal(pred[decisive].argmax(1), kout[decisive].argmax(1))
            check(f"w{wq}a{aq}i{iq} predict vs keras", agree,
                  f"max|diff|={diff.max():.3g} ({(diff / unit).max():.3g} potential units), "
                  f"{np.mean(diff <= unit * 1.0001):.2f} within one unit, top-1 equal on "
                  f"{decisive.sum()}/{len(x)} decisive samples")

if __name__ == "__main__":
    check_oracle()
    check_other_float_models()
    print(f"\n{len(failures)} failure(s)" + (f": {failures}" if failures else ""))
    sys.exit(1 if failures else 0)

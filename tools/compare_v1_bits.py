"""Compare nsoc's Akida 1.0 conversion with cnn2snn's + akida's for every v1 bit width.

Development tool (needs cnn2snn and akida installed): builds small tf_keras models, quantizes them
with quantizeml at weight/activation bit widths Akida 1.0 accepts (per-tensor activations), converts
them with nsoc and with cnn2snn (Akida 1.0), and prints per case the largest difference of every
layer's variables and of ``forward``/``predict`` outputs.  Nothing it computes is stored.

    python tools/compare_v1_bits.py [--wbits 2,4] [--abits 1,2,4] [--kinds conv,maxpool,separable]
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def build(kind: str, seed: int):
    import tf_keras as keras
    L = keras.layers
    keras.utils.set_random_seed(seed)
    if kind == "conv":
        layers = [keras.Input((16, 16, 1)), L.Rescaling(1 / 255),
                  L.Conv2D(8, 3, padding="same", name="conv1"), L.ReLU(6.0, name="relu1"),
                  L.Conv2D(16, 3, strides=2, padding="same", name="conv2"),
                  L.ReLU(6.0, name="relu2"), L.Flatten(), L.Dense(10, name="dense")]
    elif kind == "maxpool":
        layers = [keras.Input((16, 16, 3)), L.Rescaling(1 / 255),
                  L.Conv2D(8, 3, padding="same", name="conv1"), L.ReLU(6.0, name="relu1"),
                  L.Conv2D(16, 3, padding="same", name="conv2"),
                  L.MaxPool2D(2, padding="same", name="pool"),
                  L.ReLU(6.0, name="relu2"), L.Flatten(), L.Dense(10, name="dense")]
    else:  # separable + gap
        layers = [keras.Input((16, 16, 1)), L.Rescaling(1 / 255),
                  L.Conv2D(8, 3, padding="same", name="conv1"), L.ReLU(6.0, name="relu1"),
                  L.SeparableConv2D(16, 3, padding="same", name="sep"),
                  L.ReLU(6.0, name="relu2"),
                  L.Conv2D(16, 1, name="pw"), L.GlobalAveragePooling2D(name="gap"),
                  L.ReLU(6.0, name="relu3"), L.Dense(10, name="dense")]
    model = keras.Sequential(layers)
    for lay in model.layers:
        ws = lay.get_weights()
        if ws:
            lay.set_weights([w + np.random.default_rng(seed).normal(0, 0.05, w.shape)
                             .astype(np.float32) for w in ws])
    return model


def quantize(model, wbits, abits, samples):
    from quantizeml.models import QuantizationParams
    from quantizeml.models import quantize as qz
    qp = QuantizationParams(input_weight_bits=8, weight_bits=wbits, activation_bits=abits,
                            per_tensor_activations=True)
    return qz(model, qparams=qp, samples=samples.astype(np.float32), num_samples=len(samples),
              batch_size=16)


def compare(kind, wbits, abits, show_vars):
    import cnn2snn

    from nsoc.converter import AkidaVersion, convert, set_akida_version
    rng = np.random.default_rng(1)
    ch = 3 if kind == "maxpool" else 1
    x = rng.integers(0, 256, (32, 16, 16, ch)).astype(np.uint8)
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        qm = quantize(build(kind, 0), wbits, abits, x)
    refused = [str(w.message) for w in caught if "not supported to quantize" in str(w.message)]
    if refused:
        print(f"{kind} w{wbits} a{abits}: quantizeml refuses: {refused[0][:90]}")
        return
    try:
        with cnn2snn.set_akida_version(cnn2snn.AkidaVersion.v1):
            ak = cnn2snn.convert(qm)
    except Exception as exc:  # noqa: BLE001
        print(f"{kind} w{wbits} a{abits}: cnn2snn refuses: {str(exc)[:100]}")
        return
    with set_akida_version(AkidaVersion.v1):
        ns = convert(qm)
    ak_layers = {lay.name: lay for lay in ak.layers}
    worst = []
    for lay in ns.layers:
        ref = ak_layers.get(lay.name)
        if ref is None:
            continue
        for name, value in lay.variables.items():
            if name not in ref.variables.names:
                continue
            other = ref.variables[name]
            diff = np.max(np.abs(value.astype(np.float64) - other.astype(np.float64))) \
                if value.shape == other.shape else np.inf
            if diff or show_vars:
                worst.append(f"{lay.name}/{name}:{diff:g}")
    fa, fn = ak.forward(x), ns.forward(x)
    pa, pn = ak.predict(x), ns.predict(x)
    forward_diff = int(np.max(np.abs(fa.astype(np.int64) - fn)))
    print(f"{kind} w{wbits} a{abits}: forward max|diff| {forward_diff:d}"
          f", predict {np.max(np.abs(pa - pn)):.3g}; variables differing: "
          f"{', '.join(worst) or 'none'}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wbits", default="2,4")
    ap.add_argument("--abits", default="1,2,4")
    ap.add_argument("--kinds", default="conv,maxpool,separable")
    ap.add_argument("--show-vars", action="store_true")
    args = ap.parse_args(argv)
    for kind in args.kinds.split(","):
        for wb in (int(b) for b in args.wbits.split(",")):
            for ab in (int(b) for b in args.abits.split(",")):
                compare(kind, wb, ab, args.show_vars)
    return 0


if __name__ == "__main__":
    sys.exit(main())

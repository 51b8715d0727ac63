"""Random tf_keras architectures ("specs") for ``tools/make_mapcorpus.py``.

Development tool.  Our own generator, written from ``../shared/mapcorpus/train/README.md`` and the
distribution of the train corpus's ``model.json`` ``spec``s (families, input kinds and shapes,
quantization bit widths, op kinds, kernel sizes, strides, filters, ``post`` layers, dense heads):
the proportions below are those counts.  A spec is plain data (the train corpus's ``spec``
format); ``make_mapcorpus.build_keras`` turns it into a model.

    python tools/mapcorpus_spec.py SEED     # print the spec of a seed
"""
from __future__ import annotations

import json
import sys

import numpy as np

MAX_PARAMS, MAX_LAYER_PARAMS, MAX_MACS = 2_500_000, 600_000, 400_000_000
FILTERS = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
UNITS = (10, 12, 16, 20, 32, 33, 35, 64, 100, 128, 200, 256, 500, 512, 1000, 1024)
SHORT = {"v2": "v2", "both": "v12", "v1": "v1", "v1legacy": "v1l"}


# ----- random architecture (spec) -----------------------------------------------------------
def _pick(rng, items, p=None):
    p = None if p is None else np.asarray(p, float) / np.sum(p)
    return items[int(rng.choice(len(items), p=p))]


def draw_input(rng, family: str) -> dict:
    """Input kind, shape and dtypes; proportions as in the train corpus per family."""
    kinds = {"v2": (("image", "audio", "seq", "vector", "image_int8"), (40, 10, 7, 5, 4)),
             "v1legacy": (("seq", "image", "vector", "audio"), (9, 9, 2, 1)),
             "v1": (("image", "audio"), (14, 1)), "both": (("image", "audio"), (14, 4))}[family]
    kind = _pick(rng, *kinds)
    if kind in ("image", "image_int8"):
        h = _pick(rng, (8, 10, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 224),
                  (3, 2, 4, 4, 2, 6, 8, 10, 6, 10, 4, 8, 5, 3, 1, 5, 2))
        w = h if rng.random() < 0.7 else max(8, int(h * _pick(rng, (0.5, 0.75, 1.25, 1.5))))
        shape = [h, w, _pick(rng, (1, 3))]
    elif kind == "audio":
        shape = list(_pick(rng, ((49, 10, 1), (62, 40, 1), (98, 40, 1), (124, 64, 1),
                                 (32, 40, 1)), (10, 2, 1, 2, 1)))
    elif kind == "seq":
        shape = [_pick(rng, (16, 32, 49, 64, 100, 128, 256)), 1, _pick(rng, (4, 8, 16, 32, 64))]
    else:
        shape = [1, 1, _pick(rng, (16, 64, 128, 256, 512, 1024), (1, 3, 1, 1, 1, 1))]
    signed = family == "v2" and kind in ("seq", "vector", "image_int8")
    uint8_input = family != "v1legacy" and kind in ("image", "audio") and rng.random() < 0.35
    return {"kind": kind, "shape": shape, "dtype": "int8" if signed else "uint8",
            "keras_dtype": "uint8" if uint8_input else "float32", "flat": kind == "vector"}


def draw_quantization(rng, family: str, inp: dict) -> dict:
    if family == "v1legacy":
        w = _pick(rng, (4, 2), (16, 5))
        a = _pick(rng, (4, 1, 2), (10, 6, 3))
        iw = _pick(rng, (w, 8), (14, 7)) if w != 8 else 8
        return {"weight_quantization": w, "activ_quantization": a,
                "input_weight_quantization": iw, "method": "cnn2snn_legacy"}
    if family == "v2":
        w, a = _pick(rng, ((4, 4), (8, 8), (8, 2), (4, 2)), (46, 15, 3, 2))
        pt = bool(rng.random() < 0.35)
        iw = 8
    elif family == "v1":
        w, a = _pick(rng, ((4, 1), (2, 4), (4, 4), (2, 2), (4, 2), (2, 1)), (5, 4, 5, 1, 2, 1))
        pt, iw = True, _pick(rng, (8, 4), (14, 1))
    else:  # both
        w, a, pt, iw = 4, 4, True, 8
    return {"weight_bits": w, "activation_bits": a, "input_weight_bits": iw,
            "per_tensor_activations": pt, "input_dtype": inp["dtype"], "method": "quantizeml"}


class _Shapes:
    """Tracks output shapes, parameters and MACs while the ops are drawn."""

    def __init__(self, shape):
        self.shape = {"input": tuple(shape)}
        self.params = self.macs = 0
        self.too_big = False
        self.max_dense_in = 0   # train: Dense inputs <= 2048 (v2), <= 8192 (v1)

    def add(self, name, shape, params, macs):
        self.shape[name] = tuple(shape)
        self.params += params
        self.macs += macs
        self.too_big |= params > MAX_LAYER_PARAMS


def _conv_out(h, w, k, s, padding):
    if padding == "valid":
        return (h - k) // s + 1, (w - k) // s + 1
    return -(-h // s), -(-w // s)


def _post(rng, family, last_conv=False, pool=True):
    """Keras layers after a conv / sep / dw (order as the converters accept them)."""
    v2 = family == "v2"
    post = ["bn"] if rng.random() < (0.12 if v2 else 0.17) else []
    if pool and rng.random() < 0.03:
        post.append(_pick(rng, ("maxpool:2:2", "maxpool:3:2", "maxpool:3:3"), (5, 4, 2)))
    act = _pick(rng, ("relu", "relu6", ""), (48, 48, 3)) if v2 else "relu6"
    gap = last_conv and rng.random() < (0.4 if v2 else 0.25)
    if gap and not v2:
        post += ["gap", "relu6"]            # v1 block: conv > GAP > ReLU
    else:
        post += [act] if act else []
        post += ["gap"] if gap else []      # v2 block: conv > ReLU > GAP
    return post


def _nopool(post):
    """Concatenated branches keep their size (drawn then dropped: same random sequence)."""
    return [p for p in post if not p.startswith("maxpool")]


def draw_ops(rng, family: str, inp: dict, quant: dict) -> tuple[list[dict], _Shapes]:
    """The op list (train ``spec`` format) and its shapes / parameters / MACs."""
    st = _Shapes(inp["shape"])
    ops: list[dict] = []
    v2 = family == "v2"
    prev = "input"

    def name(op):
        return f"{op}_{len(ops) + 1}"

    def conv(op, k, s, filters=None, src=None, padding="same", post=None):
        nonlocal prev
        h, w, c = st.shape[src or prev]
        post = list(post or [])
        if s != 1 or inp["kind"] not in ("image", "image_int8"):
            # train: max pooling only after stride-1 layers of image models (a CNP cannot pool
            # and stride; the train corpus has no such error)
            post = [p for p in post if not p.startswith("maxpool")]
        if v2 and not ops and k > 3 and (inp["dtype"] == "int8" or c not in (1, 3)):
            s = 1   # not an InputConv2D: akida 2.0 strides 2 only with kernel 1 or 3
        if s != 1:
            post = [p for p in post if p != "gap"]   # train: every GAP layer has stride 1
        if quant.get("weight_bits", 0) != 8 and op != "sep" and \
                not any(p.startswith("relu") for p in post):
            # train: layers without activation only in 8-bit-weight models (a 4-bit-weight
            # layer with an 8-bit potential output cannot be mapped)
            post.insert(len(post) - ("gap" in post), "relu")
        oh, ow = _conv_out(h, w, k, s, padding)
        if oh < 1 or ow < 1:
            raise ValueError("spatial size vanished")
        n = name(op)
        d = {"op": op, "name": n}
        if op != "dw":
            d["filters"] = filters
        d.update({"kernel": k, "stride": s, "post": post if post is not None else []})
        if padding != "same":
            d["padding"] = padding
        if src:
            d["src"] = [src]
        out_c = c if op == "dw" else filters
        if op == "dw":
            params, macs = k * k * c + c, oh * ow * k * k * c
        elif op == "sep":
            params, macs = k * k * c + c * filters + filters, oh * ow * (k * k * c + c * filters)
        else:
            params, macs = k * k * c * filters + filters, oh * ow * k * k * c * filters
        pools = [p for p in d["post"] if p.startswith("maxpool")]
        for p in pools:
            _, ps, pst = p.split(":")
            oh, ow = -(-oh // int(pst)), -(-ow // int(pst))
        if "gap" in d["post"]:
            oh, ow = 1, 1
        ops.append(d)
        st.add(n, (oh, ow, out_c), params, macs)
        if not src:
            prev = n
        return n

    n_neural = int(rng.integers(1, 12) if rng.random() < 0.6 else rng.integers(8, 19))
    if inp["kind"] != "vector":
        filters = _pick(rng, FILTERS[:6], (3, 5, 3, 6, 2, 4))
        k = _pick(rng, (3, 5, 7, 1), (40, 6, 3, 1 if family == "v1legacy" else 0.3))
        s = _pick(rng, (1, 2), (45, 55)) if k != 1 else 1
        # always "same": the train keras JSONs show "valid" for the first conv of half the
        # models, but that is quantizeml's rewrite when an InputQuantizer is present (explicit
        # padding_value); every train InputConv2D / InputConvolutional has padding 1 (same)
        conv("conv", k, s, filters, post=_post(rng, family))
        body = max(0, n_neural - 1 - (1 if rng.random() < 0.25 else 0))
        i = 0
        while i < body:
            last = i == body - 1
            h, w, c = st.shape[prev]
            r = rng.random()
            small = min(h, w) if w > 1 else h
            s2 = small >= 4 and rng.random() < 0.35
            if filters < 512 and (s2 or rng.random() < 0.12) and rng.random() < 0.5:
                filters = min(512, filters * 2 if rng.random() < 0.8 else
                              _pick(rng, FILTERS))
            if v2 and r < 0.22 and not last:                     # depthwise + pointwise
                kd = _pick(rng, (3, 5, 7), (78, 15, 2)) if not s2 else 3
                conv("dw", kd, 2 if s2 else 1, post=_post(rng, family))
                conv("conv", 1, 1, filters, post=_post(rng, family))
                i += 2
            elif v2 and r < 0.30 and not last and i < body - 2:  # residual Add
                x = prev
                a = conv("conv", _pick(rng, (1, 3)), 1, c, post=_post(rng, family, pool=False))
                b = conv("conv", _pick(rng, (1, 3)), 1, c, post=_post(rng, family, pool=False))
                n = name("add")
                skip = rng.random() < 0.4 and x != ops[0]["name"]   # train: no branch from
                ops.append({"op": "add", "name": n, "src": [x if skip else a, b]})  # input layer
                st.add(n, st.shape[b], 0, 0)
                prev = n
                i += 2
            elif v2 and r < 0.35 and not last and prev != ops[0]["name"]:  # two branches
                x = prev
                b1 = conv("conv", 1, 1, _pick(rng, (8, 16, 32, 64)), src=x,
                          post=_nopool(_post(rng, family)))
                if rng.random() < 0.7:
                    b2 = conv("dw", 3, 1, src=x, post=_nopool(_post(rng, family)))
                else:
                    b2 = conv("conv", _pick(rng, (1, 3)), 1, _pick(rng, (8, 16, 32)), src=x,
                              post=_nopool(_post(rng, family)))
                n = name("concat")
                ops.append({"op": "concat", "name": n, "src": [b1, b2]})
                hh, ww, c1 = st.shape[b1]
                st.add(n, (hh, ww, c1 + st.shape[b2][2]), 0, 0)
                prev = n
                i += 2
            else:
                op = "sep" if family in ("v1", "v1legacy") and rng.random() < 0.55 else "conv"
                if s2:
                    k, s = (3 if op == "sep" or rng.random() < 0.9 else 1), 2
                    if not v2 and op == "conv":
                        k = 3
                else:
                    k = _pick(rng, (1, 3, 5, 7), (25, 55, 12, 5)) if op == "conv" else \
                        _pick(rng, (3, 5, 7), (70, 20, 8))
                    s = 1
                conv(op, k, s, filters, post=_post(rng, family, last_conv=last))
                i += 1
        flat_in = int(np.prod(st.shape[prev]))
    else:
        flat_in = inp["shape"][2]
    # dense head
    n_dense = 1 + (rng.random() < 0.22) + (rng.random() < 0.08)
    if inp["kind"] == "vector":
        n_dense = max(n_dense, int(rng.integers(2, 8)))
    for j in range(n_dense):
        final = j == n_dense - 1
        units = _pick(rng, UNITS, (24, 11, 11, 6, 24, 5, 5, 18, 4, 22, 5, 9, 7, 5, 7, 2)) \
            if final else _pick(rng, (32, 64, 128, 256, 512))
        n = name("dense")
        post = [] if final else [_pick(rng, ("relu", "relu6")) if family == "v2" else "relu6"]
        flatten = j == 0 and inp["kind"] != "vector"
        ops.append({"op": "dense", "name": n, "units": units, "flatten": flatten, "post": post})
        st.add(n, (1, 1, units), flat_in * units + units, flat_in * units)
        st.max_dense_in = max(st.max_dense_in, flat_in)
        flat_in = units
        prev = n
    return ops, st


def draw_spec(seed: int) -> dict:
    """A whole model description (family, input, quantization, ops) from a seed."""
    rng = np.random.default_rng(seed)
    family = _pick(rng, ("v2", "v1legacy", "both", "v1"), (66, 21, 18, 15))
    inp = draw_input(rng, family)
    if family in ("v1", "both") and inp["kind"] == "vector":
        inp = draw_input(rng, family)
    quant = draw_quantization(rng, family, inp)
    for attempt in range(1, 50):  # noqa: B007 (reported as draw_attempts)
        try:
            ops, st = draw_ops(rng, family, inp, quant)
        except ValueError:
            continue
        if st.params <= MAX_PARAMS and st.macs <= MAX_MACS and not st.too_big and \
                st.max_dense_in <= (8192 if family in ("v1", "v1legacy") else 2048):
            break
    else:
        raise RuntimeError("no architecture within the caps in 50 draws")
    h, w, c = inp["shape"]
    ident = f"d{seed}_{SHORT[family]}_" + (f"{c}" if inp["flat"] else f"{h}x{w}x{c}")
    return {"id": ident, "seed": seed, "family": family, "input": inp, "quantization": quant,
            "spec": {"ops": ops, "draw_attempts": attempt}, "n_params_est": st.params,
            "macs_est": st.macs,
            "n_neural_layers": sum(o["op"] in ("conv", "sep", "dw", "dense") for o in ops)}


if __name__ == "__main__":
    print(json.dumps(draw_spec(int(sys.argv[1])), indent=1))

"""Compare nsoc's mapper with Akida's on the mapping corpus (../shared/mapcorpus/train).

Development tool (reads oracle data outside the repository; committed tests never do).  Each
corpus model is rebuilt as an nsoc model from its ``layers_<v>.json`` with variables drawn at
random with the declared shapes, dtypes and value ranges (mapping depends on them, not on their
values), mapped with nsoc on the same device, mode and ``hw_only``, and compared per aspect:

* ``verdict``: hardware / hardware + software sequences / error, and for an error the meaning of
  its message (names and numbers blanked);
* ``seq/pass``: sequence names and backends, passes and the layers of each pass;
* ``NPs/types``: per layer the number of NPs and their types;
* ``filters``: per layer the filters (and start neuron) of each NP;
* ``memory``: per NP the input, weight and external memory;
* ``idents``: per NP its ``(col, row, id)``;
* ``ext_mem``: the mapping's ``external_memory_size`` (exact);
* ``program``: every hardware sequence's ``program_size`` within 5 % (``program=``: exact),
  scored where the sequences and passes agree.

Every aspect but the verdict is scored over the entries Akida mapped (nsoc erroring counts as a
disagreement).  About 20 % of the models are held out (``--holdout``: seed % 5 == 0) while the
rules are derived; agreement is printed for all, the training part and the held-out part.

    python tools/check_mapcorpus.py [--model SUBSTR] [--device D] [--mode M] [--hw-only|--default]
                                    [--json OUT.json] [--examples N] [--silicon]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import defaultdict

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import nsoc
from nsoc.errors import NsocError
from nsoc.layers import make_layer


def _find_shared() -> str:
    """``$NSOC_SHARED``, else the first ``shared`` folder beside an ancestor of this file."""
    if os.environ.get("NSOC_SHARED"):
        return os.environ["NSOC_SHARED"]
    d = os.path.dirname(os.path.abspath(__file__))
    while os.path.dirname(d) != d:
        d = os.path.dirname(d)
        if os.path.isdir(os.path.join(d, "shared", "mapcorpus")):
            return os.path.join(d, "shared")
    return os.path.join(os.path.dirname(__file__), "..", "..", "shared")


SHARED = _find_shared()
CORPUS = os.path.join(SHARED, "mapcorpus", "train")
SILICON = os.path.join(SHARED, "silicon", "akd1500_akidanet_imagenet")
KEYS = ("default", "hw_only", "default_Minimal", "hw_only_Minimal", "default_HwPr",
        "hw_only_HwPr")
ASPECTS = ("verdict", "seq/pass", "NPs/types", "filters", "memory", "idents", "ext_mem",
           "program", "program=")
#: program_size tolerance of the ``program`` aspect (the issue's figure)
PROGRAM_TOLERANCE = 0.05


# ----- corpus models ----------------------------------------------------------------------
def _load(path: str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def model_dirs(corpus: str = CORPUS) -> list[str]:
    return sorted(d for d in os.listdir(corpus) if os.path.isfile(
        os.path.join(corpus, d, "mapping.json")))


def is_holdout(model_id: str) -> bool:
    """About one model in five, chosen by seed, kept out while the rules are derived."""
    return int(re.match(r"[a-z]+(\d+)", model_id).group(1)) % 5 == 0   # t = train, d = dev


def _random_variable(rng, desc: dict) -> np.ndarray:
    """Random values of the declared shape and dtype within the declared [min, max] (both
    reached when the array has two or more values, so bit widths are as declared)."""
    shape = tuple(desc["shape"])
    dtype = np.dtype(desc["dtype"])
    lo, hi = desc.get("min", 0), desc.get("max", 0)
    if dtype.kind == "f":
        arr = rng.uniform(lo, hi, shape) if hi > lo else np.full(shape, lo)
        return arr.astype(dtype)
    lo, hi = int(lo), int(hi)
    arr = rng.integers(lo, hi + 1, shape) if shape else np.array(lo)
    flat = arr.reshape(-1)
    if flat.size >= 2:
        flat[0], flat[-1] = lo, hi
    elif flat.size == 1:
        flat[0] = hi if abs(hi) >= abs(lo) else lo
    return arr.astype(dtype)


def build_model(model_id: str, version: str, corpus: str = CORPUS, seed: int = 0) -> nsoc.Model:
    """nsoc.Model from a corpus model's ``layers_<version>.json`` (random variables)."""
    desc = _load(os.path.join(corpus, model_id, f"layers_{version}.json"))
    rng = np.random.default_rng(seed)
    layers = []
    for ld in desc:
        variables = {k: _random_variable(rng, v) for k, v in ld["variables"].items()}
        params = dict(ld["parameters"])
        if ld["type"] == "Concatenate" and "output_bits" not in params:
            params["output_bits"] = ld["input_bits"]   # akida 2.19 shows no parameter
        layers.append(make_layer(ld["type"], ld["name"], params, variables, ld["inbounds"]))
    model = nsoc.Model(layers, version, {"source": f"mapcorpus {model_id}"})
    for lay, ld in zip(model.layers, desc, strict=False):
        want_in = ld["input_dims"][0] if isinstance(ld["input_dims"][0], list) \
            else ld["input_dims"]
        if list(lay.input_dims) != want_in or list(lay.output_dims) != ld["output_dims"]:
            raise ValueError(f"{model_id} {lay.name}: dims {lay.input_dims}->{lay.output_dims}, "
                             f"corpus {ld['input_dims']}->{ld['output_dims']}")
    return model


def entries(corpus: str = CORPUS, model_filter=None, device_filter=None, key_filter=None):
    """(model id, version, device, key, reference entry) for every corpus mapping."""
    for mid in model_dirs(corpus):
        if model_filter and not any(f in mid for f in model_filter):
            continue
        doc = _load(os.path.join(corpus, mid, "mapping.json"))
        for version, vdoc in doc.items():
            for dev, ddoc in vdoc["devices"].items():
                if device_filter and dev not in device_filter:
                    continue
                for key in KEYS:
                    if key_filter and key not in key_filter:
                        continue
                    if key in ddoc:
                        yield mid, version, dev, key, ddoc[key]


def key_mode(key: str) -> tuple[str, bool]:
    """(map mode, hw_only) of a mapping.json key."""
    mode = key.split("_")[-1] if key.endswith(("_Minimal", "_HwPr")) else "AllNps"
    return mode, key.startswith("hw_only")


# ----- running nsoc -----------------------------------------------------------------------
def run_nsoc(model, device: str, mode: str, hw_only: bool) -> tuple[dict | None, str | None]:
    """nsoc's mapping as a mapping.json-like dict, or (None, error message)."""
    from nsoc.hardware import mapping as mp
    try:
        result = mp.map_model(model, device, hw_only=hw_only, mode=mode)
    except NsocError as exc:
        return None, str(exc)
    if hasattr(result, "to_dict"):
        return result.to_dict(), None
    return mp.mapping_to_dict(model), None


# ----- comparison -------------------------------------------------------------------------
def blank(message: str) -> str:
    """An error message with names and numbers blanked (its meaning)."""
    s = re.sub(r"'[^']*'", "'…'", message)
    return re.sub(r"\d+", "N", s).strip()


def _layers_of(seqs):
    return [[[lm["layer"] for lm in p] for p in s["passes"]] for s in seqs]


def _per_np(seqs, fields):
    """{(sequence, pass, layer): [tuple of fields per NP]}."""
    out = {}
    for si, s in enumerate(seqs):
        for pi, p in enumerate(s["passes"]):
            for lm in p:
                out[(si, pi, lm["layer"])] = [fields(c) for c in lm["nps"]]
    return out


def _mem(c):
    m = c.get("mem_info", {})
    return (m.get("input_size", 0), m.get("weight_size", 0), m.get("external_size", 0))


def _ident(c):
    i = c["ident"]
    return (i["col"], i["row"], i["id"])


def compare(ref: dict, ours: dict | None, err: str | None) -> dict:
    """{aspect: (agrees, rule label of the disagreement or '')} for one entry."""
    res = {}
    if "error" in ref:
        if err is None:
            res["verdict"] = (False, f"Akida errors, nsoc maps: {blank(ref['error'])[:110]}")
        elif blank(ref["error"]) == blank(err):
            res["verdict"] = (True, "")
        else:
            res["verdict"] = (False, (f"error wording: Akida {blank(ref['error'])[:80]} | "
                                      f"nsoc {blank(err)[:80]}"))
        return res
    fail = {a: (False, "nsoc errors") for a in ASPECTS}
    if err is not None:
        fail["verdict"] = (False, f"nsoc errors, Akida maps: {blank(err)[:110]}")
        return fail
    rs, os_ = ref["sequences"], ours["sequences"]
    rb, ob = [s["backend"] for s in rs], [s["backend"] for s in os_]
    res["verdict"] = (rb == ob, "" if rb == ob else f"backends Akida {rb} nsoc {ob}")
    same_layers = _layers_of(rs) == _layers_of(os_) and \
        [s["name"] for s in rs] == [s["name"] for s in os_]
    if same_layers:
        res["seq/pass"] = (True, "")
    else:
        rp = [[len(p) for p in s] for s in _layers_of(rs)]
        op = [[len(p) for p in s] for s in _layers_of(os_)]
        res["seq/pass"] = (False, f"{ours.get('mode')}: layers per pass Akida {rp} nsoc {op}"
                           if rp != op else "sequence names")
    ext_r, ext_o = ref.get("external_memory_size", 0), ours.get("external_memory_size", 0)
    res["ext_mem"] = (ext_r == ext_o, "" if ext_r == ext_o else
                      f"external memory: nsoc {'over' if ext_o > ext_r else 'under'}"
                      f"{' (Akida none)' if not ext_r else ' (nsoc none)' if not ext_o else ''}")
    if not res["verdict"][0] or not same_layers:
        for a in ASPECTS[2:]:
            if a != "ext_mem":
                res[a] = (False, "sequences differ")
        return res
    res.update(_program_aspects(rs, os_))

    def filt(c):
        return (c["filters"], c["start_neuron"])

    layer_type = {lm["layer"]: lm["type"] for s in rs for p in s["passes"] for lm in p}
    checks = (("NPs/types", lambda c: c["type"], True), ("filters", filt, False),
              ("memory", _mem, False), ("idents", _ident, False))
    ra = {a: _per_np(rs, f) for a, f, _ in checks}
    oa = {a: _per_np(os_, f) for a, f, _ in checks}
    for a, _f, unordered in checks:
        bad = None
        for k, rv in ra[a].items():
            ov = oa[a].get(k, [])
            if (sorted(rv) != sorted(ov)) if unordered else (rv != ov):
                bad = (k, rv, ov)
                break
        if bad is None:
            res[a] = (True, "")
            continue
        k, rv, ov = bad
        lt = layer_type[k[2]]
        if a == "NPs/types":
            label = f"{lt}: NP count" if len(rv) != len(ov) else \
                f"{lt}: NP type {_summ(rv)} vs nsoc {_summ(ov)}"
        elif a == "filters":
            label = f"{lt}: filters per NP"
        elif a == "memory":
            which = [n for n, i in (("input", 0), ("weight", 1), ("external", 2))
                     if any(x[i] != y[i] for x, y in zip(rv, ov, strict=False))] or ["count"]
            label = f"{lt}: {'+'.join(which)} memory"
        else:
            label = f"{lt}: idents"
        res[a] = (False, label)
    return res


def _program_aspects(rs, os_) -> dict:
    """``program`` (within :data:`PROGRAM_TOLERANCE`) and ``program=`` (exact) over the
    hardware sequences, labelled by the layer types of the first sequence that differs."""
    res = {}
    for a, tol in (("program", PROGRAM_TOLERANCE), ("program=", 0.0)):
        res[a] = (True, "")
        for r, o in zip(rs, os_, strict=False):
            if r["backend"] != "Hardware":
                continue
            want, got = r.get("program_size") or 0, o.get("program_size") or 0
            if abs(got - want) > tol * want:
                types = sorted({lm["type"] for p in r["passes"] for lm in p
                                if lm["nps"]})
                res[a] = (False, f"program {'over' if got > want else 'under'}: "
                                 f"{'+'.join(types)}")
                break
    return res


def _summ(items):
    c = defaultdict(int)
    for t in items:
        c[t] += 1
    return "+".join(f"{n}{t}" for t, n in sorted(c.items()))


def _ref_kind(ref):
    if "error" in ref:
        return "error"
    return "hw+sw" if ref.get("n_software_sequences") else "hw"


# ----- silicon (AKD1500 AkidaNet) ----------------------------------------------------------
def check_silicon() -> bool:
    """Map the six AkidaNet variants on AKD1500 in every mode; compare NPs and passes with
    ``metrics.json`` and the Minimal per-layer NPs with ``per_layer.json``."""
    from bench.calibration.standins import akidanet
    from nsoc.hardware import mapping as mp
    metrics = _load(os.path.join(SILICON, "metrics.json"))
    per_layer = _load(os.path.join(SILICON, "per_layer.json"))["variants"]
    ok = True
    print(f"{'variant':<10}{'mode':<9}{'NPs Akida':>10}{'nsoc':>6}{'passes Akida':>14}"
          f"{'nsoc':>6}")
    for variant in ("a25_160", "a25_224", "a50_160", "a50_224", "a100_160", "a100_224"):
        alpha = int(variant.split("_")[0][1:]) / 100
        size = int(variant.split("_")[1])
        model = akidanet(alpha, size)
        for mode, key in (("Minimal", "minimal"), ("AllNps", "allnps"), ("HwPr", "hwpr")):
            try:
                m = mp.map_model(model, "AKD1500", hw_only=True, mode=mode)
                d = m.to_dict() if hasattr(m, "to_dict") else mp.mapping_to_dict(model)
                nps = sum(n for t, n in d["component_count"].items()
                          if t not in ("HRC", "SKIP_DMA_STORE", "SKIP_DMA_LOAD")) + \
                    d["component_count"].get("HRC", 0)
                passes = sum(len(s["passes"]) for s in d["sequences"]
                             if s["backend"] == "Hardware")
            except NsocError as exc:
                d, nps, passes = None, f"error: {exc}", 0
            ref_n = int(metrics[f"{variant}_{key}_nps"])
            ref_p = int(metrics[f"{variant}_{key}_passes"])
            good = nps == ref_n and passes == ref_p
            extra = ""
            if mode == "Minimal" and d is not None:
                got = [len(lm["nps"]) for s in d["sequences"] for p in s["passes"] for lm in p
                       if lm["nps"]]
                want = [x["nps"] for x in per_layer[variant]]
                if got != want:
                    good = False
                    extra = f"  per layer Akida {want} nsoc {got}"
            ok &= good
            print(f"{variant:<10}{mode:<9}{ref_n:>10}{nps:>6}{ref_p:>14}{passes:>6}"
                  f"  {'ok' if good else 'DIFF'}{extra}")
    return ok


# ----- main -------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", help="substring of model ids (repeatable)")
    ap.add_argument("--device", action="append", help="device name (repeatable)")
    ap.add_argument("--mode", choices=("AllNps", "Minimal", "HwPr"), action="append")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--hw-only", action="store_true", help="hw_only entries only")
    g.add_argument("--default", action="store_true", help="default (hw_only=False) only")
    ap.add_argument("--holdout", choices=("all", "train", "held"), default="all",
                    help="restrict to the training or held-out models")
    ap.add_argument("--examples", type=int, default=2, help="examples per disagreement rule")
    ap.add_argument("--json", metavar="OUT", help="write per-entry results as JSON")
    ap.add_argument("--silicon", action="store_true",
                    help="also check the AKD1500 AkidaNet NPs and passes (../shared/silicon)")
    ap.add_argument("--silicon-only", action="store_true", help="only the silicon check")
    ap.add_argument("--corpus", default=CORPUS)
    args = ap.parse_args(argv)
    if args.silicon_only:
        return 0 if check_silicon() else 1
    keys = [k for k in KEYS if (not args.mode or key_mode(k)[0] in args.mode)
            and (not args.hw_only or key_mode(k)[1]) and (not args.default or not key_mode(k)[1])]
    models: dict = {}
    rows = []
    t0 = time.perf_counter()
    for mid, version, dev, key, ref in entries(args.corpus, args.model, args.device, keys):
        held = is_holdout(mid)
        if args.holdout == "train" and held or args.holdout == "held" and not held:
            continue
        if (mid, version) not in models:
            models[(mid, version)] = build_model(mid, version, args.corpus)
        mode, hw_only = key_mode(key)
        ours, err = run_nsoc(models[(mid, version)], dev, mode, hw_only)
        res = compare(ref, ours, err)
        rows.append({"model": mid, "version": version, "device": dev, "key": key,
                     "holdout": held, "ref_kind": _ref_kind(ref), "nsoc_error": err,
                     "aspects": {a: list(v) for a, v in res.items()}})
    elapsed = time.perf_counter() - t0
    print(f"{len(rows)} entries of {len(models)} (model, version) pairs in {elapsed:.1f} s\n")
    # agreement table
    print(f"{'aspect':<11}" + "".join(f"{h:>22}" for h in ("all", "train", "held-out")))
    for a in ASPECTS:
        cells = []
        for part in (None, False, True):
            sel = [r for r in rows if (part is None or r["holdout"] == part) and a in r["aspects"]]
            n_ok = sum(r["aspects"][a][0] for r in sel)
            pct = 100 * n_ok / len(sel) if sel else 0
            cells.append(f"{n_ok}/{len(sel)} {pct:5.1f}%")
        print(f"{a:<11}" + "".join(f"{c:>22}" for c in cells))
    # disagreements grouped by rule
    groups: dict = defaultdict(list)
    for r in rows:
        for a, (ok, label) in r["aspects"].items():
            if not ok and label not in ("sequences differ", "nsoc errors"):
                groups[(a, label)].append(r)
    if groups:
        print("\nDisagreements by rule (first failing aspect label; count, examples):")
        for (a, label), rs in sorted(groups.items(), key=lambda kv: (ASPECTS.index(kv[0][0]),
                                                                      -len(kv[1]))):
            ex = ", ".join(f"{r['model']}/{r['device']}/{r['key']}"
                           for r in rs[:args.examples])
            print(f"  {a:<10} {len(rs):>4}  {label}\n             e.g. {ex}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=0)
    ok = all(all(v[0] for v in r["aspects"].values()) for r in rows)
    if args.silicon:
        print()
        ok &= check_silicon()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

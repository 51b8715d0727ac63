"""Generate an independent Akida NP-mapping corpus (development data, kept OUTSIDE the repository).

Development tool, not part of the product: it needs BrainChip's akida / cnn2snn / quantizeml
(2.19.3 / 2.19.3 / 1.2.5) and tf_keras, and writes Akida's outputs, which must never be
committed.  It draws random tf_keras architectures of the same families as
``../shared/mapcorpus/train`` (``v2``, ``both``, ``v1``, ``v1legacy``; image / image_int8 / audio /
seq / vector inputs; ops ``conv``, ``sep``, ``dw``, ``dense``, ``add``, ``concat`` with ``post``
``bn``, ``relu``, ``relu6``, ``maxpool:size:stride``, ``gap``; caps of 2.5 M parameters, 600 k per
layer, 400 M MACs), quantizes them (quantizeml ``quantize`` with ``QuantizationParams``; the legacy
``cnn2snn.quantize`` for ``v1legacy``), converts them with ``cnn2snn.convert`` for Akida 1.0 and/or
2.0 as the family says, maps each akida model on every virtual device of its version (v1:
TwoNodesIPv1, AKD1500, AKD1000; v2: TwoNodesIPv2, FourNodesIPv2, SixNodesIPv2, TwelveNodesIPv2) in
the modes AllNps / Minimal / HwPr with ``hw_only`` False and True, and writes the train corpus's
file format (``model.json``, ``layers_<v>.json``, ``mapping.json``, ``generation_log.jsonl``), so
``tools/check_mapcorpus.py --corpus DIR`` reads it unchanged.  The generator is our own, written
from the train README and the distribution of its ``spec``s; seeds start at 300000 (disjoint from
the train seeds 100000..199999).  Restartable (models already written are skipped), time-bounded.

    TF_CPP_MIN_LOG_LEVEL=3 python tools/make_mapcorpus.py --out /work/gen/mapcorpus_dev \\
        --n 60 [--seed 300000] [--max-minutes 90] [--summary-only]
    python tools/check_mapcorpus.py --corpus /work/gen/mapcorpus_dev

Model ids are ``d<seed>_<family>_<input>`` (``d`` = development split); ``INDEX.md`` in the output
folder is rewritten with summary counts after every run.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import sys
import time
import traceback
from collections import Counter

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mapcorpus_spec import draw_spec  # noqa: E402

V1_DEVICES = ("TwoNodesIPv1", "AKD1500", "AKD1000")
V2_DEVICES = ("TwoNodesIPv2", "FourNodesIPv2", "SixNodesIPv2", "TwelveNodesIPv2")
KEYS = (("default", False, "AllNps"), ("hw_only", True, "AllNps"),
        ("default_Minimal", False, "Minimal"), ("hw_only_Minimal", True, "Minimal"),
        ("default_HwPr", False, "HwPr"), ("hw_only_HwPr", True, "HwPr"))


# ----- keras model, quantization, conversion ------------------------------------------------
def build_keras(spec: dict):
    """The float tf_keras model of a spec (untrained: random kernels, default BatchNorm)."""
    import tf_keras as keras
    lay = keras.layers
    inp = spec["input"]
    shape = (inp["shape"][2],) if inp["flat"] else tuple(inp["shape"])
    i = keras.Input(shape, name="input", dtype=inp["keras_dtype"])
    scale = 1 / 128.0 if inp["dtype"] == "int8" else 1 / 255.0
    x = lay.Rescaling(scale, name="rescale")(i)
    out = {"input": x}
    for op in spec["spec"]["ops"]:
        n, kind = op["name"], op["op"]
        src = [out[s] for s in op.get("src", [])] or [x]
        if kind == "add":
            y = lay.Add(name=n)(src)
        elif kind == "concat":
            y = lay.Concatenate(name=n)(src)
        elif kind == "dense":
            y = src[0]
            if len(y.shape) > 2:
                y = lay.Flatten(name=f"{n}_flatten")(y)
            y = lay.Dense(op["units"], name=n)(y)
        else:
            pad = op.get("padding", "same")
            k, s = op["kernel"], op["stride"]
            if kind == "conv":
                y = lay.Conv2D(op["filters"], k, strides=s, padding=pad, name=n)(src[0])
            elif kind == "sep":
                y = lay.SeparableConv2D(op["filters"], k, strides=s, padding=pad, name=n)(src[0])
            else:
                y = lay.DepthwiseConv2D(k, strides=s, padding=pad, name=n)(src[0])
        for p in op.get("post", []):
            if p == "bn":
                y = lay.BatchNormalization(name=f"{n}_bn")(y)
            elif p in ("relu", "relu6"):
                y = lay.ReLU(6.0 if p == "relu6" else None, name=f"{n}_relu")(y)
            elif p == "gap":
                y = lay.GlobalAveragePooling2D(name=f"{n}_gap")(y)
            elif p.startswith("maxpool"):
                _, ps, pst = p.split(":")
                y = lay.MaxPool2D(int(ps), int(pst), padding="same", name=f"{n}_pool")(y)
        out[n] = y
        x = y
    return keras.Model(i, x, name=spec["id"])


def quantize_model(model, spec: dict, rng):
    """(quantized keras model, QuantizationParams repr or None)."""
    q = spec["quantization"]
    if q["method"] == "cnn2snn_legacy":
        import cnn2snn
        with contextlib.redirect_stdout(io.StringIO()):
            qm = cnn2snn.quantize(model, weight_quantization=q["weight_quantization"],
                                  activ_quantization=q["activ_quantization"],
                                  input_weight_quantization=q["input_weight_quantization"])
        return qm, None
    from quantizeml.models import QuantizationParams, quantize
    qp = QuantizationParams(weight_bits=q["weight_bits"], activation_bits=q["activation_bits"],
                            input_weight_bits=q["input_weight_bits"],
                            per_tensor_activations=q["per_tensor_activations"],
                            input_dtype=q["input_dtype"])
    dt = np.dtype(q["input_dtype"])
    shape = tuple(model.input_shape[1:])
    samples = rng.integers(np.iinfo(dt).min, int(np.iinfo(dt).max) + 1,
                           size=(32,) + shape).astype(np.float32)
    with contextlib.redirect_stdout(io.StringIO()):
        qm = quantize(model, qparams=qp, samples=samples, num_samples=32, batch_size=16)
    return qm, repr(qp)


def convert(qm, version: str):
    import cnn2snn
    from cnn2snn import AkidaVersion, set_akida_version
    ctx = set_akida_version(AkidaVersion.v1) if version == "v1" else contextlib.nullcontext()
    with ctx, contextlib.redirect_stdout(io.StringIO()):
        return cnn2snn.convert(qm)


# ----- akida outputs in the train corpus format ---------------------------------------------
def jsonable(v):
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if hasattr(v, "name") and hasattr(v, "value") and not isinstance(v, (str, bytes)):
        return str(v.name)
    if isinstance(v, (int, float, str, bool)) or v is None:
        return v
    return str(v)


def layers_json(am) -> list:
    import akida
    out = []
    for ly in am.layers:
        variables = {}
        for n in ly.variables.names:
            v = ly.variables[n]
            variables[n] = {"shape": list(v.shape), "dtype": str(v.dtype),
                            "bitwidth": int(akida.evaluate_bitwidth(v)),
                            "min": jsonable(v.min()) if v.size else None,
                            "max": jsonable(v.max()) if v.size else None}
        p = ly.parameters
        out.append({"name": ly.name, "type": p.layer_type.name,
                    "parameters": {n: jsonable(getattr(p, n)) for n in dir(p)
                                   if not n.startswith("_") and n != "layer_type"},
                    "inbounds": [ib.name for ib in ly.inbounds],
                    "input_dims": jsonable(ly.input_dims),
                    "output_dims": jsonable(ly.output_dims),
                    "input_bits": jsonable(getattr(ly, "input_bits", None)),
                    "output_signed": jsonable(getattr(ly, "output_signed", None)),
                    "macs": jsonable(getattr(ly, "macs", None)),
                    "variables": variables})
    return out


def _space(sp):
    if sp is None:
        return None
    return {"x": int(sp.x), "y": int(sp.y), "shape": [int(v) for v in sp.shape]}


def _component(c) -> dict:
    mi = c.mem_info
    return {"ident": {"col": c.ident.col, "row": c.ident.row, "id": c.ident.id,
                      "channel": c.ident.channel},
            "type": c.type.name, "filters": int(c.filters),
            "start_neuron": jsonable(getattr(c, "start_neuron", None)),
            "single_buffer": bool(c.single_buffer),
            "spatial_partition": _space(getattr(c, "spatial_partition", None)),
            "mem_info": {k: jsonable(getattr(mi, k)) for k in dir(mi) if not k.startswith("_")}}


def _summary_header(mm) -> dict:
    """First table of akida's summary of the mapped model, as {column: value}: the line of
    column titles ("Input shape  Output shape  Sequences ...") and the first line of values
    after the "====" rule, both split at runs of two or more spaces."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        mm.summary()
    lines = buf.getvalue().splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("Input shape"):
            head = re.split(r"\s{2,}", line.strip())
            vals = next(v for v in lines[i + 1:] if v.strip() and not v.startswith("="))
            return {h: int(v) if re.fullmatch(r"-?\d+", v) else v
                    for h, v in zip(head, re.split(r"\s{2,}", vals.strip()), strict=False)}
    return {}


def mapping_entry(mm, mode: str) -> dict:
    import akida
    seqs = []
    for s in mm.sequences:
        prog = s.program
        sj = {"name": s.name, "backend": s.backend.name,
              "program_size": None if prog is None else len(prog), "passes": []}
        if prog is not None:
            try:
                pmi = akida.get_program_memory_infos(bytes(prog))
                sj["program_memory_infos"] = {k: jsonable(getattr(pmi, k)) for k in dir(pmi)
                                              if not k.startswith("_")}
            except Exception as e:  # noqa: BLE001
                sj["program_memory_infos"] = "error: " + str(e)[:200]
        for p in s.passes:
            pj = []
            for ly in p.layers:
                m = ly.mapping
                pj.append({"layer": ly.name, "type": ly.parameters.layer_type.name,
                           "nps": [] if m is None else [_component(c) for c in m.nps],
                           "skipdma_stores": [] if m is None else
                           [_component(c) for c in m.skipdma_stores],
                           "skipdma_loads": [] if m is None else
                           [_component(c) for c in m.skipdma_loads]})
            sj["passes"].append(pj)
        seqs.append(sj)
    cc = {k.name: int(v) for k, v in mm.component_count.items()}
    return {"sequences": seqs, "component_count": cc,
            "external_memory_size": int(mm.external_memory_size), "mode": mode,
            "n_software_sequences": sum(s["backend"] == "Software" for s in seqs),
            "np_count": sum(n for t, n in cc.items()
                            if t not in ("HRC", "SKIP_DMA_STORE", "SKIP_DMA_LOAD")),
            "summary_header": _summary_header(mm), "predict_after_map": "not run",
            "n_passes": sum(len(s["passes"]) for s in seqs)}


def device_json(dev) -> dict:
    mesh = dev.mesh
    return {"desc": dev.desc, "version": str(dev.version), "ip_version": dev.ip_version.name,
            "n_nps": len(mesh.nps), "n_skip_dmas": len(mesh.skip_dmas or []),
            "np_types": sorted({t.name for n in mesh.nps for t in n.types})}


def map_all(am, version: str) -> dict:
    """mapping.json content of one version: every device, mode and hw_only."""
    import akida
    res = {"devices": {}, "primary": None, "np_counts": {}, "passes": {}}
    for name in (V2_DEVICES if version == "v2" else V1_DEVICES):
        dev = getattr(akida, name)()
        entry = {"device": device_json(dev)}
        res["np_counts"][name], res["passes"][name] = {}, {}
        for key, hw_only, mode in KEYS:
            try:
                mm = akida.Model(layers=am.layers)
                mm.map(dev, hw_only=hw_only, mode=getattr(akida.MapMode, mode))
                e = mapping_entry(mm, mode)
                res["np_counts"][name][key] = e["np_count"]
                res["passes"][name][key] = e["n_passes"]
                if key == "hw_only" and res["primary"] is None:
                    res["primary"] = name
            except Exception as exc:  # noqa: BLE001  (akida raises RuntimeError / ValueError)
                e = {"error": str(exc)[:400]}
                res["np_counts"][name][key] = "error: " + str(exc)[:400]
            entry[key] = e
        res["devices"][name] = entry
    return res


# ----- one model ----------------------------------------------------------------------------
def _dump(path, obj, compact=False):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        if compact:
            json.dump(obj, f, separators=(",", ":"))
        else:
            json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def make_model(seed: int, out_dir: str) -> dict:
    """Generate, quantize, convert and map one model; write its folder; return its log line."""
    import tf_keras as keras
    t0 = time.time()
    times = {}
    spec = draw_spec(seed)
    log = {"seed": seed, "id": spec["id"], "family": spec["family"],
           "input": spec["input"]["shape"],
           "quant": {k: v for k, v in spec["quantization"].items() if k != "method"}}
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed % 2**31)
    rng = np.random.default_rng(seed + 1)
    try:
        model = build_keras(spec)
        qm, qp_repr = quantize_model(model, spec, rng)
    except Exception as exc:  # noqa: BLE001
        log.update(status="failed", stage="quantize/build",
                   error=f"{type(exc).__name__}: {str(exc)[:400]}")
        return log
    times["quantize"] = round(time.time() - t0, 2)
    versions = {"v2": ["v2"], "both": ["v1", "v2"], "v1": ["v1"], "v1legacy": ["v1"]}[
        spec["family"]]
    akida_models, errors = {}, {}
    for v in versions:
        t1 = time.time()
        try:
            akida_models[v] = convert(qm, v)
        except Exception as exc:  # noqa: BLE001
            errors[v] = f"{type(exc).__name__}: {str(exc)[:400]}"
        times[f"convert_{v}"] = round(time.time() - t1, 2)
    if not akida_models:
        log.update(status="convert_failed", errors=errors)
        return log
    d = os.path.join(out_dir, spec["id"])
    os.makedirs(d, exist_ok=True)
    mapping = {}
    for v, am in akida_models.items():
        t1 = time.time()
        _dump(os.path.join(d, f"layers_{v}.json"), layers_json(am))
        mapping[v] = map_all(am, v)
        times[f"map_{v}"] = round(time.time() - t1, 2)
    q = dict(spec["quantization"])
    if qp_repr:
        q["QuantizationParams"] = qp_repr
    mdoc = {"id": spec["id"], "seed": seed, "split": "dev", "family": spec["family"],
            "input": spec["input"],
            "akida_input_shape": {v: jsonable(am.input_shape) for v, am in akida_models.items()},
            "quantization": q,
            "versions": {v: errors.get(v, "converted") for v in versions},
            "akida_layer_types": {v: [ly.parameters.layer_type.name for ly in am.layers]
                                  for v, am in akida_models.items()},
            "n_params": int(model.count_params()), "n_neural_layers": spec["n_neural_layers"],
            "macs_est": spec["macs_est"], "spec": spec["spec"],
            "keras_quantized_model": json.loads(qm.to_json()),
            "quantized_layer_classes": sorted({type(ly).__name__ for ly in qm.layers})}
    _dump(os.path.join(d, "model.json"), mdoc)
    _dump(os.path.join(d, "mapping.json"), mapping, compact=True)   # written last: "done"
    times["total"] = round(time.time() - t0, 2)
    log.update(status="ok", versions=list(akida_models), convert_errors=errors,
               n_params=mdoc["n_params"], seconds=times["total"], times=times)
    return log


# ----- summary (INDEX.md) -------------------------------------------------------------------
def _blank(message: str) -> str:
    return re.sub(r"\d+", "N", re.sub(r"'[^']*'", "'…'", message)).strip()[:150]


def write_index(out_dir: str) -> str:
    """INDEX.md with the counts of the generated corpus (like the train corpus's)."""
    logs = _read_log(out_dir)
    ids = sorted(d for d in os.listdir(out_dir)
                 if os.path.isfile(os.path.join(out_dir, d, "mapping.json")))
    fam, kind, vers, errs, skipped = Counter(), Counter(), Counter(), Counter(), Counter()
    per = {}
    tot = Counter()
    for mid in ids:
        with open(os.path.join(out_dir, mid, "model.json"), encoding="utf-8") as f:
            m = json.load(f)
        with open(os.path.join(out_dir, mid, "mapping.json"), encoding="utf-8") as f:
            mp = json.load(f)
        fam[m["family"]] += 1
        kind[m["input"]["kind"]] += 1
        vers["+".join(sorted(mp))] += 1
        for v, vd in mp.items():
            for dev, dd in vd["devices"].items():
                for key, _hw, _mode in KEYS:
                    e = dd[key]
                    c = per.setdefault((v, dev, key), Counter())
                    if "error" in e:
                        c["error"] += 1
                        errs[(v, _blank(e["error"]))] += 1
                        tot[(v, "error")] += 1
                        continue
                    c["mapped"] += 1
                    tot[(v, "mapped")] += 1
                    sw = bool(e["n_software_sequences"])
                    multi = any(s["backend"] == "Hardware" and len(s["passes"]) > 1
                                for s in e["sequences"])
                    c["sw"] += sw
                    c["multi"] += multi
                    tot[(v, "sw")] += sw
                    tot[(v, "multi")] += multi
    for lg in logs.values():
        if lg.get("status") != "ok":
            msg = lg.get("error") or json.dumps(lg.get("errors"))
            skipped[(lg.get("status"), _blank(msg)[:120])] += 1
    secs = sorted(lg["seconds"] for lg in logs.values() if lg.get("status") == "ok")
    lines = ["# Akida NP-mapping corpus — DEV set (generated by tools/make_mapcorpus.py)", "",
             "akida 2.19.3 / cnn2snn 2.19.3 / quantizeml 1.2.5 outputs, for development use "
             "only; never copy these files into the product repository.", "",
             f"* seeds tried: {len(logs)}; models kept: **{len(ids)}**; skipped: "
             f"{sum(skipped.values())}",
             f"* akida versions per model: {dict(vers)}",
             f"* families: {dict(fam)}; input kinds: {dict(kind)}"]
    if secs:
        lines.append(f"* generation time per kept model: median {secs[len(secs) // 2]:.1f} s, "
                     f"max {secs[-1]:.1f} s, total {sum(secs) / 60:.1f} min")
    lines += ["", "| version | entries | mapped | error | with software sequence(s) | "
              "multi-pass |", "|---|---|---|---|---|---|"]
    for v in ("v1", "v2"):
        n = tot[(v, "mapped")] + tot[(v, "error")]
        if n:
            lines.append(f"| {v} | {n} | {tot[(v, 'mapped')]} | {tot[(v, 'error')]} | "
                         f"{tot[(v, 'sw')]} | {tot[(v, 'multi')]} |")
    lines += ["", "Per device and entry key (mapped / error / software fall-back / multi-pass):",
              "", "| version | device | " + " | ".join(k for k, _, _ in KEYS) + " |",
              "|---|---|" + "---|" * len(KEYS)]
    for v, devs in (("v1", V1_DEVICES), ("v2", V2_DEVICES)):
        for dev in devs:
            if any((v, dev, k) in per for k, _, _ in KEYS):
                cells = [per.get((v, dev, k), Counter()) for k, _, _ in KEYS]
                lines.append(f"| {v} | {dev} | " + " | ".join(
                    f"{c['mapped']}/{c['error']}/{c['sw']}/{c['multi']}" for c in cells) + " |")
    lines += ["", "## Mapping errors by kind (names and numbers blanked)", "",
              "| version | entries | message |", "|---|---|---|"]
    for (v, msg), n in errs.most_common():
        lines.append(f"| {v} | {n} | `{msg}` |")
    lines += ["", "## Skipped seeds", "", "| stage | seeds | message |", "|---|---|---|"]
    for (st, msg), n in skipped.most_common():
        lines.append(f"| {st} | {n} | `{msg}` |")
    lines += ["", "## Models", "", "| id | family | input | akida layers |", "|---|---|---|---|"]
    for mid in ids:
        lg = next((x for x in logs.values() if x.get("id") == mid), {})
        lines.append(f"| {mid} | {lg.get('family', '')} | {lg.get('input', '')} | "
                     f"{lg.get('versions', '')} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out_dir, "INDEX.md"), "w", encoding="utf-8") as f:
        f.write(text)
    return text


# ----- main ---------------------------------------------------------------------------------
def _read_log(out_dir: str) -> dict:
    logs = {}
    path = os.path.join(out_dir, "generation_log.jsonl")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    lg = json.loads(line)
                    logs[lg["seed"]] = lg
    return logs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="/work/gen/mapcorpus_dev", help="output folder")
    ap.add_argument("--n", type=int, default=60, help="models to have in the folder")
    ap.add_argument("--seed", type=int, default=300000, help="first seed")
    ap.add_argument("--max-minutes", type=float, default=120.0, help="stop after this time")
    ap.add_argument("--summary-only", action="store_true", help="only rewrite INDEX.md")
    ap.add_argument("--spec-only", type=int, metavar="SEED", help="print the spec of a seed")
    args = ap.parse_args(argv)
    if args.spec_only is not None:
        print(json.dumps(draw_spec(args.spec_only), indent=1))
        return 0
    os.makedirs(args.out, exist_ok=True)
    if args.summary_only:
        print(write_index(args.out))
        return 0
    from tqdm import tqdm
    logs = _read_log(args.out)
    have = sum(os.path.isfile(os.path.join(args.out, lg["id"], "mapping.json"))
               for lg in logs.values() if lg.get("status") == "ok")
    t0 = time.time()
    seed = args.seed
    bar = tqdm(total=args.n, initial=min(have, args.n), unit="model", file=sys.stderr)
    while have < args.n and (time.time() - t0) / 60 < args.max_minutes:
        if seed in logs:
            seed += 1
            continue
        try:
            lg = make_model(seed, args.out)
        except Exception as exc:  # noqa: BLE001  (keep going; the seed is logged as failed)
            lg = {"seed": seed, "status": "failed", "stage": "unexpected",
                  "error": f"{type(exc).__name__}: {str(exc)[:400]}",
                  "trace": traceback.format_exc()[-800:]}
        with open(os.path.join(args.out, "generation_log.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(lg, sort_keys=True) + "\n")
        logs[seed] = lg
        if lg["status"] == "ok":
            have += 1
            bar.update(1)
        bar.set_postfix_str(f"seed {seed} {lg.get('id', '')} {lg['status']}")
        seed += 1
    bar.close()
    write_index(args.out)
    print(f"{have} models in {args.out} ({(time.time() - t0) / 60:.1f} min this run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

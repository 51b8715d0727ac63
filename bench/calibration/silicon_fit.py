"""Fit the per-NP cost laws of Akida 1.0 to the measured AKD1500 silicon (issue 10).

    PYTHONPATH=. python bench/calibration/silicon_fit.py [--silicon DIR] [--write-params]

Data (read at development time, never copied into the repository): ``../shared/silicon/
akd1500_akidanet_imagenet/`` -- per-layer cycles of six AkidaNet/ImageNet variants (Minimal
mapping, ``per_layer.json``: latency, input sparsity and NPs of each of 15 layers) and the 18
whole-model rows of ``metrics.json`` (cycles, NPs, passes, dynamic energy, board power) -- and the
two AKD1000 programming points of ``../shared/reference/hardware.md``.

Architectures: :func:`standins.akidanet` (the akida_models ``akidanet_imagenet`` layer list).
Events: expected input events of a layer = (1 - published input sparsity) x input positions x
input channels (the first layer, the HRC, reads the dense 8-bit image).

Laws (cycles of one layer, Minimal mapping):

* CNP (standard and separable convolution): an NP receives the layer's input events of the
  rows it covers (all of them, or for a band-split layer its band of rows plus ``(k - 1) / 2``
  halo rows per neighbouring band: a share ``s`` of the events), integrates each into the
  filters it holds (``f``) and once per frame goes over the weights it holds (``w``):
  ``s E x (cnp_event_cycles + cnp_filter_event_cycles x f) + cnp_weight_cycles x w``, for the
  slowest NP of the layer (largest ``s x f``; nsoc's mapping, whose NPs per layer equal the
  published ones).
* HRC (dense 8-bit input convolution): per output position, one cycle per kernel tap per group
  of ``hrc_filter_lanes`` filters plus a per-filter term: ``P_out x (hrc_tap_cycles x taps x
  ceil(F / 16) + hrc_filter_cycles x F)``.
* FNP2 (dense layer, weights in external memory): the whole weight matrix is fetched every
  inference, whatever the input events: ``fnp2_layer_cycles + external_read_cycles_per_byte x
  bytes`` (its weights as the mapper stores them in external memory).
* Multi-pass models in Minimal/AllNps mode: every NP of passes 2.. is reprogrammed by the host
  on every inference: ``host_reprogram_np_cycles`` per NP (the data show no such cost in pass 1:
  its program is in place when the inference counter starts).  HwPr passes 2.. are reprogrammed
  by the chip's configuration DMA from external memory, at the FNP2's external read rate:
  ``external_read_cycles_per_byte x program bytes of the pass`` (no new constant: the HwPr rows
  check it).  Loading a program: ``program_fixed_cycles + program_cycles_per_byte x bytes``, the
  line through the two published AKD1000 programming points.

Writes ``silicon_results.json`` next to this script and the residual tables into
``bench/calibration/README.md`` (section between the SILICON-FIT markers).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from nsoc.errors import MappingError
from nsoc.hardware.mapping.memory import fnp_external_size, fnp_weight_size

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from layouts import LayerLayout, mapped_layout  # noqa: E402

VARIANTS = ("a25_160", "a25_224", "a50_160", "a50_224", "a100_160", "a100_224")
MODES = ("minimal", "allnps", "hwpr")
CLOCK_HZ = 400e6
HRC_FILTER_LANES = 16
# AKD1000 programming points (reference/hardware.md): (program bytes, program_clk)
PROGRAM_POINTS = ((88_748, 152_396), (1_360_000, 1_000_000))
LAWS = ("cnp", "hrc", "fnp2", "reprogram")
CONSTANTS = {  # name: (law, unit)
    "cnp_event_cycles": ("cnp", "cycles per input event per NP"),
    "cnp_filter_event_cycles": ("cnp", "cycles per input event per filter held by the NP"),
    "cnp_weight_cycles": ("cnp", "cycles per weight held by the NP per frame"),
    "hrc_tap_cycles": ("hrc", "cycles per output position per kernel tap per 16-filter group"),
    "hrc_filter_cycles": ("hrc", "cycles per output position per filter"),
    "fnp2_layer_cycles": ("fnp2", "cycles per FNP2 layer and inference"),
    "external_read_cycles_per_byte": ("fnp2", "cycles per byte read from external memory (FNP2 "
                                      "weights as stored there; HwPr program records)"),
    "host_reprogram_np_cycles": ("reprogram", "cycles per NP of passes 2.. per inference"),
}


def silicon_dir(arg: str | None) -> Path:
    """The silicon folder: ``--silicon``, else ``shared/silicon`` next to a parent folder."""
    if arg:
        return Path(arg)
    for p in HERE.parents:
        cand = p / "shared" / "silicon"
        if cand.is_dir():
            return cand
    raise SystemExit("silicon_fit: cannot find shared/silicon; pass --silicon DIR")


# ----------------------------------------------------------------------- data -----------------
def load(sil: Path) -> tuple[dict, dict]:
    base = sil / "akd1500_akidanet_imagenet"
    per_layer = json.loads((base / "per_layer.json").read_text())
    metrics = json.loads((base / "metrics.json").read_text())
    return per_layer, metrics


def variant_model(v: str):
    from standins import akidanet
    a, s = v.split("_")
    return akidanet(int(a[1:]) / 100, int(s))


KINDS = {"InputConvolutional": "hrc", "Convolutional": "conv",
         "SeparableConvolutional": "sep", "FullyConnected": "fnp2"}


def features(lay, input_sparsity: float, fnp_type: str = "FNP2") -> dict:
    """The quantities a law needs of one layer (expected events at ``input_sparsity``)."""
    xin, yin, cin = lay.input_dims
    f = lay.output_dims[2]
    kind = KINDS[lay.TYPE]
    if kind == "fnp2" and fnp_type != "FNP2":
        kind = "fnp3"
    if kind in ("hrc", "conv", "sep"):
        s = lay.params["stride_x"]
        if lay.params.get("pool_type", 0) == 2:  # global pooling: convolution positions
            p_out = -(-xin // s) * -(-yin // s)
        else:
            p_out = lay.output_dims[0] * lay.output_dims[1]
        taps = lay.params["kernel_height"] * lay.params["kernel_width"] * (
            cin if kind == "hrc" else 1)
    else:
        p_out, taps = 1, 1
    wbytes = sum(w.size for k, w in lay.variables.items() if k.startswith("weights")) * \
        lay.params["weights_bits"] / 8
    ext = 0.0
    if kind == "fnp2":  # the weights as the mapper stores them in external memory
        ext = float(fnp_external_size(fnp_weight_size(lay, f, 0)))
    return {"layer": lay.name, "kind": kind, "cin": cin, "filters": f, "p_in": xin * yin,
            "p_out": p_out, "taps": taps, "weight_bytes": wbytes, "external_bytes": ext,
            "input_sparsity": input_sparsity, "events": (1 - input_sparsity) * xin * yin * cin}


def layer_features(v: str, per_layer: dict) -> list[dict]:
    """Per layer of variant ``v``: kind, geometry, published cycles / NPs / input sparsity, and
    the slowest NP of nsoc's Minimal mapping (its NPs per layer equal the published ones)."""
    model = variant_model(v)
    rows = per_layer["variants"][v]
    starts = per_layer["checks"][v]["pass_starts"]
    layout = _layout(v, "Minimal")
    out = []
    for i, (lay, r) in enumerate(zip(model.layers, rows, strict=False)):
        assert lay.name == r["layer"], (lay.name, r["layer"])
        assert layout[lay.name].nps == r["nps"], (v, lay.name, layout[lay.name].nps, r["nps"])
        sp = r["input_sparsity"] if r["input_sparsity"] is not None else 0.0
        out.append(dict(features(lay, sp), variant=v, index=i,
                        pass_index=sum(1 for st in starts if i >= st), nps=r["nps"],
                        slowest=layout[lay.name].slowest, cycles=r["cycles"]))
    return out


# ----------------------------------------------------------------------- laws -----------------
def regressors(row: dict, layout: LayerLayout | None = None,
               multipass_host: bool | None = None) -> dict:
    """The law's terms of one layer (each multiplies one constant); ``layout`` overrides the
    layer's NPs (another mapping), ``multipass_host``: whether the layer's NPs are
    host-reprogrammed."""
    n = row["nps"] if layout is None else max(layout.nps, 1)
    kind = row["kind"]
    terms = dict.fromkeys(CONSTANTS, 0.0)
    if kind in ("conv", "sep"):
        share, f, w = row["slowest"] if layout is None else layout.slowest
        terms["cnp_event_cycles"] = row["events"] * share
        terms["cnp_filter_event_cycles"] = row["events"] * share * f
        terms["cnp_weight_cycles"] = float(w)
    elif kind == "hrc":
        groups = math.ceil(row["filters"] / HRC_FILTER_LANES)
        terms["hrc_tap_cycles"] = row["p_out"] * row["taps"] * groups
        terms["hrc_filter_cycles"] = row["p_out"] * row["filters"]
    elif kind == "fnp2":
        terms["fnp2_layer_cycles"] = 1.0
        terms["external_read_cycles_per_byte"] = row["external_bytes"]
    host = (row["pass_index"] > 0) if multipass_host is None else multipass_host
    if host and kind != "hrc":
        terms["host_reprogram_np_cycles"] = float(n)
    return terms


# a priori (not in the calibration set: no FNP3 layer in the AKD1500 data), as in
# nsoc/hardware/params/default.json: cycles per event, synaptic ops per cycle of an FNP3
FNP3_PRIOR = {"fnp_event_cycles": 1.0, "fnp3_synops_per_cycle": 8.0}


def predict(row: dict, consts: dict, **kw) -> float:
    """Cycles of one layer under the laws (FNP3: the a priori law)."""
    t = float(sum(consts[k] * t for k, t in regressors(row, **kw).items()))
    if row["kind"] == "fnp3":
        t += row["events"] * (FNP3_PRIOR["fnp_event_cycles"] +
                              row["filters"] / FNP3_PRIOR["fnp3_synops_per_cycle"])
    return t


def fit(rows: list[dict]) -> dict:
    """Least squares on relative errors, law by law (each law's constants from its layers)."""
    consts = {}
    for law in LAWS:
        names = [k for k, (lw, _) in CONSTANTS.items() if lw == law]
        other = [k for k in CONSTANTS if k not in names]
        sel = [r for r in rows if any(regressors(r)[k] for k in names)]
        A = np.array([[regressors(r)[k] for k in names] for r in sel]) / \
            np.array([r["cycles"] for r in sel])[:, None]
        # the other laws' terms of these rows (reprogramming on CNP rows) are fitted jointly
        # below; here solve this law alone on rows without foreign terms
        clean = [i for i, r in enumerate(sel) if not any(regressors(r)[k] for k in other)]
        coef, *_ = np.linalg.lstsq(A[clean], np.ones(len(clean)), rcond=None)
        consts.update(zip(names, coef, strict=False))
    # reprogramming: the remaining cycles of host-reprogrammed layers, per NP (relative LS)
    rp = [r for r in rows if regressors(r)["host_reprogram_np_cycles"]]
    if rp:
        base = np.array([predict(r, dict(consts, host_reprogram_np_cycles=0.0)) for r in rp])
        y = np.array([r["cycles"] for r in rp], float)
        n = np.array([regressors(r)["host_reprogram_np_cycles"] for r in rp])
        consts["host_reprogram_np_cycles"] = float(np.sum(n * (y - base) / y ** 2) /
                                                   np.sum(n * n / y ** 2))
    else:
        consts["host_reprogram_np_cycles"] = 0.0
    return {k: float(v) for k, v in consts.items()}


def program_law() -> tuple[float, float]:
    """(fixed cycles, cycles per byte) through the two AKD1000 programming points."""
    (b0, c0), (b1, c1) = PROGRAM_POINTS
    per_byte = (c1 - c0) / (b1 - b0)
    return c0 - per_byte * b0, per_byte


# ----------------------------------------------------------------------- mapped models --------
def model_cycles(rows: list[dict], layout: dict, mode: str, consts: dict) -> dict:
    """Whole-model cycles of one inference under the laws, for a mapping ``layout`` ({layer:
    (NPs, pass, types, program bytes)}): layers one after the other; passes 2.. reprogrammed
    (HwPr: their program bytes read from external memory; Minimal/AllNps: per NP by the
    host)."""
    total, pass_bytes = 0.0, {}
    for r in rows:
        lo = layout[r["layer"]]
        p = lo.pass_index
        host = p > 0 and mode != "HwPr"
        total += predict(dict(r, pass_index=p), consts, layout=lo, multipass_host=host)
        pass_bytes[p] = pass_bytes.get(p, 0.0) + lo.program_bytes
    reprogram = 0.0
    if mode == "HwPr":
        reprogram = consts["external_read_cycles_per_byte"] * sum(
            b for p, b in pass_bytes.items() if p > 0)
    nps = sum(t.nps for t in layout.values())
    return {"cycles": total + reprogram, "reprogram_cycles": reprogram, "nps": nps,
            "passes": 1 + max(t.pass_index for t in layout.values())}


_LAYOUTS: dict = {}


def _layout(v: str, mname: str) -> dict:
    """nsoc's mapping of variant ``v`` in mode ``mname`` on AKD1500 (computed once)."""
    if (v, mname) not in _LAYOUTS:
        _LAYOUTS[v, mname] = mapped_layout(variant_model(v), "AKD1500", mname)
    return _LAYOUTS[v, mname]


def whole_rows(feats: dict, metrics: dict, consts: dict, variants=VARIANTS) -> dict:
    """The (variant, mode) rows under the laws with nsoc's mapping of each mode."""
    out = {}
    for v in variants:
        for mode in MODES:
            mname = {"minimal": "Minimal", "allnps": "AllNps", "hwpr": "HwPr"}[mode]
            try:
                layout = _layout(v, mname)
            except MappingError as exc:  # the mapper cannot place it: report it
                out[f"{v}_{mode}"] = {"mapping_error": f"{type(exc).__name__}: {exc}"}
                continue
            r = model_cycles(feats[v], layout, mname, consts)
            meas = float(metrics[f"{v}_{mode}_cycles"])
            r.update(measured=meas, error=r["cycles"] / meas - 1,
                     measured_nps=int(metrics[f"{v}_{mode}_nps"]),
                     measured_passes=int(metrics[f"{v}_{mode}_passes"]))
            r["mapping_equal"] = (r["nps"] == r["measured_nps"] and
                                  r["passes"] == r["measured_passes"])
            out[f"{v}_{mode}"] = r
    return out


# AKD1000 figures (reference/hardware.md): inference clocks
AKD1000_CLOCKS = {"dscnn_1": 93_965, "akidanet_1": 13_733_572, "akidanet_10": 43_001_443}
# DS-CNN KWS input sparsity: not published (assumption: dscnn_sparsity), with a range reported
DSCNN_SPARSITY_RANGE = (0.3, 0.4, 0.5, 0.6, 0.7)


def dscnn_sparsity(per_layer: dict) -> float:
    """Input sparsity assumed for every layer of DS-CNN KWS but the first (not published): the
    pooled mean of the published input sparsities of the AkidaNet layers (6 variants x 14
    layers, real inputs; 0.50 for alpha 0.25 to 0.66 for alpha 1.0), the only measured
    activation sparsity of Akida 1.0 8/4/4 models in the calibration data; rounded to 0.01."""
    vals = [r["input_sparsity"] for rows in per_layer["variants"].values() for r in rows
            if r["input_sparsity"] is not None]
    return round(float(np.mean(vals)), 2)


def _on_device(model, sparsity: dict, device: str, mode: str) -> tuple[list[dict], dict]:
    layout = mapped_layout(model, device, mode)
    rows = [features(lay, sparsity[lay.name], "FNP2" if "FNP2" in layout[lay.name].types
                     else "FNP3") for lay in model.layers]
    return rows, layout


def akd1000_figures(per_layer: dict, consts: dict) -> dict:
    """The three AKD1000 clock counts under the AKD1500 laws (same Akida 1.0 IP), AllNps:
    AkidaNet 0.5 224 at the measured a50_224 input sparsity (the same published model), DS-CNN
    KWS at :func:`dscnn_sparsity` (not published; an assumption).  Ten frames: frame-level
    pipelining, i.e. the first frame's latency + 9 x the slowest layer."""
    from standins import akidanet, dscnn_kws
    out = {}
    net = akidanet(0.5, 224)
    sp = {r["layer"]: (r["input_sparsity"] or 0.0) for r in per_layer["variants"]["a50_224"]}
    rows, layout = _on_device(net, sp, "AKD1000", "AllNps")
    one = model_cycles(rows, layout, "AllNps", consts)
    per = [predict(r, consts, layout=layout[r["layer"]], multipass_host=False) for r in rows]
    ten = one["cycles"] + 9 * max(per)
    out["akidanet_1"] = {"predicted": one["cycles"], "nps": one["nps"]}
    out["akidanet_10"] = {"predicted": ten, "bottleneck_layer": rows[int(np.argmax(per))]["layer"]}
    ds = dscnn_kws()
    s0 = dscnn_sparsity(per_layer)
    for s_ in sorted(set(DSCNN_SPARSITY_RANGE) | {s0}):
        sp = {lay.name: (0.0 if i == 0 else s_) for i, lay in enumerate(ds.layers)}
        rows, layout = _on_device(ds, sp, "AKD1000", "AllNps")
        r = model_cycles(rows, layout, "AllNps", consts)
        key = "dscnn_1" if s_ == s0 else f"dscnn_1_sparsity_{s_}"
        out[key] = {"predicted": r["cycles"], "nps": r["nps"], "sparsity": s_}
    for k, v in out.items():
        pub = AKD1000_CLOCKS[k.split("_sparsity")[0]]
        v.update(published=pub, error=v["predicted"] / pub - 1)
    return out


# ----------------------------------------------------------------------- energy ---------------
def work_terms(rows: list[dict]) -> dict:
    """Mode-independent work of one inference: synaptic event updates over all NPs (events x
    filters), HRC tap-MACs, FNP2 weight bytes."""
    syn = sum(r["events"] * r["filters"] for r in rows if r["kind"] in ("conv", "sep"))
    hrc = sum(r["p_out"] * r["taps"] * r["filters"] for r in rows if r["kind"] == "hrc")
    fnp = sum(r["external_bytes"] for r in rows if r["kind"] == "fnp2")
    return {"synaptic_event_updates": syn, "hrc_macs": hrc, "fnp2_weight_bytes": fnp}


def energy_fit(feats: dict, metrics: dict, variants) -> dict:
    """Dynamic energy per inference = e_syn x synaptic event updates + e_hrc x HRC MACs +
    e_byte x FNP2 weight bytes, least squares on relative errors over the variants' rows (the
    three modes of a variant share the work), non-negative (a term whose coefficient comes out
    negative is dropped and the rest refitted); board floor = mean measured floor."""
    keys = ["synaptic_event_updates", "hrc_macs", "fnp2_weight_bytes"]
    names = {"synaptic_event_updates": "synaptic_event_update_pj", "hrc_macs": "hrc_mac_pj",
             "fnp2_weight_bytes": "fnp2_weight_pj_per_byte"}
    A, floors = [], []
    for v in variants:
        w = work_terms(feats[v])
        for mode in MODES:
            e = float(metrics[f"{v}_{mode}_dyn_E"]) * 1e9  # mJ -> pJ
            A.append([w[k] / e for k in keys])
            floors.append(float(metrics[f"{v}_{mode}_total_P"]) -
                          float(metrics[f"{v}_{mode}_dyn_P"]))
    A = np.array(A)
    active = list(range(len(keys)))
    while True:
        coef, *_ = np.linalg.lstsq(A[:, active], np.ones(len(A)), rcond=None)
        if (coef >= 0).all() or len(active) == 1:
            break
        active.pop(int(np.argmin(coef)))
    out = {names[k]: 0.0 for k in keys}
    out.update({names[keys[i]]: float(c) for i, c in zip(active, coef, strict=False)})
    out["n_energy_constants"] = len(active)
    out["board_floor_mw"] = float(np.mean(floors))
    return out


def energy_pred(rows: list[dict], e: dict) -> float:
    w = work_terms(rows)
    return (e["synaptic_event_update_pj"] * w["synaptic_event_updates"] + e["hrc_mac_pj"] *
            w["hrc_macs"] + e["fnp2_weight_pj_per_byte"] * w["fnp2_weight_bytes"]) * 1e-9


# ----------------------------------------------------------------------- report ---------------
def pct(x: float) -> str:
    return f"{100 * x:+.1f} %"


MEASURED_KEYS = ("measured", "measured_mj", "measured_dyn_energy_mj", "measured_board_power_mw",
                 "floor_mw", "input_sparsity", "other_energy_mj", "measured_nps",
                 "measured_passes")


def public(obj):
    """``obj`` without the measured silicon values (they stay in ../shared/silicon: the files
    written into the repository hold predictions, errors and fitted constants only)."""
    if isinstance(obj, dict):
        return {k: public(v) for k, v in obj.items() if k not in MEASURED_KEYS}
    if isinstance(obj, list):
        return [public(v) for v in obj]
    return obj


def stats(errs) -> dict:
    a = np.abs(np.asarray(errs, float))
    return {"n": int(a.size), "median_abs": float(np.median(a)),
            "p90_abs": float(np.percentile(a, 90)), "max_abs": float(a.max())}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--silicon", default=None, help="the shared/silicon folder")
    ap.add_argument("--no-readme", action="store_true", help="do not rewrite the README section")
    args = ap.parse_args(argv)
    per_layer, metrics = load(silicon_dir(args.silicon))
    feats = {v: layer_features(v, per_layer) for v in VARIANTS}
    rows = [r for v in VARIANTS for r in feats[v]]
    consts = fit(rows)
    layer_res = []
    for r in rows:
        p = predict(r, consts)
        layer_res.append({"variant": r["variant"], "layer": r["layer"], "kind": r["kind"],
                              "nps": r["nps"], "input_sparsity": r["input_sparsity"],
                              "measured": r["cycles"], "predicted": round(p),
                              "error": p / r["cycles"] - 1})
    minimal_rows = {}
    for v in VARIANTS:
        pred = sum(predict(r, consts) for r in feats[v])
        meas = float(metrics[f"{v}_minimal_cycles"])
        minimal_rows[v] = {"measured": meas, "predicted": round(pred), "error": pred / meas - 1}
    # leave one variant out: fit on five, predict the sixth
    lovo = {}
    for v in VARIANTS:
        c5 = fit([r for w in VARIANTS if w != v for r in feats[w]])
        errs = [predict(r, c5) / r["cycles"] - 1 for r in feats[v]]
        pred = sum(predict(r, c5) for r in feats[v])
        meas = float(metrics[f"{v}_minimal_cycles"])
        e5 = energy_fit(feats, metrics, [w for w in VARIANTS if w != v])
        held = whole_rows(feats, metrics, c5, (v,))
        lovo[v] = {"layers": stats(errs), "minimal_row_error": pred / meas - 1,
                   "row_errors": {k: r["error"] for k, r in held.items() if "error" in r},
                   "dyn_energy_error": energy_pred(feats[v], e5) /
                   float(metrics[f"{v}_minimal_dyn_E"]) - 1,
                   "constants": c5}
    fixed, per_byte = program_law()
    rows18 = whole_rows(feats, metrics, consts)
    akd1000 = akd1000_figures(per_layer, consts)
    energy = energy_fit(feats, metrics, VARIANTS)
    e_rows = {}
    for v in VARIANTS:
        pred = energy_pred(feats[v], energy)
        for mode in MODES:
            meas = float(metrics[f"{v}_{mode}_dyn_E"])
            floor = float(metrics[f"{v}_{mode}_total_P"]) - float(metrics[f"{v}_{mode}_dyn_P"])
            e_rows[f"{v}_{mode}"] = {"measured_mj": meas, "predicted_mj": pred,
                                     "error": pred / meas - 1, "floor_mw": floor,
                                     "floor_error": energy["board_floor_mw"] / floor - 1}
    out = {
        "constants": consts, "n_constants_per_layer_fit": len(consts),
        "n_layer_points": len(rows),
        "program_law": {"program_fixed_cycles": fixed, "program_cycles_per_byte": per_byte,
                        "points": PROGRAM_POINTS},
        "layers": layer_res, "layer_stats": stats([r["error"] for r in layer_res]),
        "minimal_rows": minimal_rows, "rows": rows18,
        "row_stats": stats([r["error"] for r in rows18.values() if "error" in r]),
        "akd1000": akd1000,
        "lovo": lovo,
        "lovo_layer_median_abs": float(np.median(
            [abs(e) for v in VARIANTS for e in
             [predict(r, lovo[v]["constants"]) / r["cycles"] - 1 for r in feats[v]]])),
        "lovo_row_median_abs": float(np.median(
            [abs(e) for v in VARIANTS for e in lovo[v]["row_errors"].values()])),
        "lovo_minimal_row_median_abs": float(np.median(
            [abs(lovo[v]["minimal_row_error"]) for v in VARIANTS])),
        "energy": energy, "energy_rows": e_rows,
        "energy_stats": stats([r["error"] for r in e_rows.values()]),
    }
    (HERE / "silicon_results.json").write_text(json.dumps(public(out), indent=1) + "\n")
    return out


if __name__ == "__main__":
    res = main()
    print(json.dumps({k: res[k] for k in ("constants", "layer_stats", "rows", "row_stats",
                                          "akd1000",
                                          "lovo_layer_median_abs", "lovo_minimal_row_median_abs",
                                          "energy", "energy_stats", "program_law")}, indent=1))

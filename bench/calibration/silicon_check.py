"""Run nsoc's simulator on the six AkidaNet/ImageNet stand-ins and compare with the AKD1500.

    PYTHONPATH=. python bench/calibration/silicon_check.py [--variants a25_160,...] [--modes ...]

The laws fitted by ``silicon_fit.py`` are the simulator's per-event costs; this script checks
that the discrete-event simulator (packets, contention, back-pressure, passes) reproduces the
measured cycles when driven by events at the published input sparsity of every layer (drawn at
random, seeded: :func:`published_activations`).  Per layer: cycles as BrainChip measures them
(model cut after layer k minus model cut after layer k-1, the cut's last layer silenced,
Minimal mapping, one frame); per whole model: the 18 (variant, mode) rows, NPs, passes, dynamic
energy and board power.  Writes ``silicon_check.json`` next to this script.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import silicon_fit as sf  # noqa: E402

from nsoc import Model  # noqa: E402

MODE_NAMES = {"minimal": "Minimal", "allnps": "AllNps", "hwpr": "HwPr"}
DEVICE = "AKD1500"


def published_activations(model: Model, rows: list[dict], seed: int = 0,
                          frames: int = 1) -> tuple:
    """(x, {layer: activations}) of ``frames`` frames: the functional engine's outputs on
    smooth inputs (``standins.standin_inputs``), then every layer's input events redrawn at
    its input sparsity ``rows[i]["input_sparsity"]`` by the sparsity profile of
    :mod:`nsoc.hardware.sparsity` (seeded; the first layer reads the dense image)."""
    from standins import standin_inputs

    from nsoc.hardware.sparsity import apply_profile
    x = standin_inputs(model, frames, seed)
    acts = model.forward(x, outputs="all")
    profile = {lay.name: float(r["input_sparsity"])
               for lay, r in zip(model.layers[1:], rows[1:], strict=True)}
    return x, apply_profile(model, acts, profile, seed)


def _map(model: Model, mode: str, device: str = DEVICE):
    """Map on ``device`` (hardware only); returns (mapping, NPs, passes)."""
    mapping = model.map(device, hw_only=True, mode=MODE_NAMES[mode])
    seqs = getattr(mapping, "sequences", None) or model.sequences
    hw = [s for s in seqs if s.backend == "Hardware"]
    nps = sum(len(lm.nps) for s in hw for p in s.passes for lm in p)
    passes = sum(len(s.passes) for s in hw)
    return mapping, nps, passes


def _simulate(model: Model, mapping, x, acts, **kw):
    from nsoc.hardware.timing import simulate
    return simulate(model, mapping, x, activations=acts, **kw)


def per_layer_cycles(v: str, rows: list[dict], seed: int = 0) -> list[dict]:
    """Cycles of each layer as BrainChip measures them (cut-model differences, Minimal:
    :func:`nsoc.hardware.timing.cuts.cut_layer_cycles`), with the layer's NPs in the full
    model's Minimal mapping."""
    from nsoc.hardware.timing.cuts import cut_layer_cycles
    full = sf.variant_model(v)
    x, acts = published_activations(full, rows, seed)
    mapping, _, _ = _map(full, "minimal")
    cuts = cut_layer_cycles(full, DEVICE, x, acts, mode="Minimal")
    out = []
    for c, r in zip(cuts, rows, strict=True):
        assert c.layer == r["layer"], (c.layer, r["layer"])
        lm = mapping.layer(c.layer)
        out.append({"layer": c.layer, "cycles": float(c.cycles),
                    "nps": len(lm.nps) if lm else 0, "measured": r["cycles"],
                    "measured_nps": r["nps"], "nps_equal": (len(lm.nps) if lm else 0) == r["nps"],
                    "error": c.cycles / r["cycles"] - 1})
    return out


def energy_of(res, measured_mj: float, measured_board_mw: float) -> dict:
    """Dynamic energy per inference (mJ), its parts (synaptic ops; every other action) and
    the board power as measured: repeated batch-1 calls, one inference per call, so the chip
    draws its dynamic energy over the inference latency above the idle floor."""
    from nsoc.hardware.energy import estimate, resolve_params
    en = estimate(res, DEVICE)
    zero = estimate(res, DEVICE, overrides={"synop_acc_pj": 0.0, "synop_mul_pj_per_bit2": 0.0})
    n = max(int(res.n_frames), 1)
    synops = sum(lt.actions.synaptic_ops for lt in res.layers) / n
    dyn_mj = float(en.energy_per_frame_uj) / 1000.0
    floor = float(resolve_params(DEVICE)["board_floor_mw"]["value"])
    board = floor + dyn_mj / (res.latency_cycles / res.clock_hz)
    return {"dyn_energy_mj": dyn_mj, "measured_dyn_energy_mj": measured_mj,
            "dyn_energy_error": dyn_mj / measured_mj - 1, "synops": float(synops),
            "other_energy_mj": float(zero.energy_per_frame_uj) / 1000.0,
            "board_power_mw": board, "measured_board_power_mw": measured_board_mw,
            "board_power_error": board / measured_board_mw - 1}


def whole_model(v: str, mode: str, rows: list[dict], metrics: dict, seed: int = 0) -> dict:
    model = sf.variant_model(v)
    x, acts = published_activations(model, rows, seed)
    mapping, nps, passes = _map(model, mode)
    res = _simulate(model, mapping, x, acts)
    meas = float(metrics[f"{v}_{mode}_cycles"])
    out = {"cycles": int(res.latency_cycles), "measured": meas,
           "error": res.latency_cycles / meas - 1, "nps": nps,
           "measured_nps": int(metrics[f"{v}_{mode}_nps"]), "passes": passes,
           "measured_passes": int(metrics[f"{v}_{mode}_passes"])}
    out["mapping_equal"] = (nps, passes) == (out["measured_nps"], out["measured_passes"])
    out.update(energy_of(res, float(metrics[f"{v}_{mode}_dyn_E"]),
                         float(metrics[f"{v}_{mode}_total_P"])))
    return out


def akd1000_figures(per_layer: dict, seed: int = 0) -> dict:
    """The three AKD1000 clock counts simulated (AllNps; sparsity as in
    :func:`silicon_fit.akd1000_figures`)."""
    from standins import akidanet, dscnn_kws
    out = {}
    net = akidanet(0.5, 224)
    rows = [{"input_sparsity": r["input_sparsity"] or 0.0}
            for r in per_layer["variants"]["a50_224"]]
    mapping, nps, _ = _map(net, "allnps", "AKD1000")
    for frames in (1, 10):
        x, acts = published_activations(net, rows, seed, frames)
        res = _simulate(net, mapping, x, acts)
        cyc = float(sum(res.frames))
        out[f"akidanet_{frames}"] = {"cycles": cyc, "nps": nps,
                                     "interval_cycles": int(res.interval_cycles)}
    ds = dscnn_kws()
    mapping, nps, _ = _map(ds, "allnps", "AKD1000")
    s0 = sf.dscnn_sparsity(per_layer)
    for sp in sorted(set(sf.DSCNN_SPARSITY_RANGE) | {s0}):
        rows = [{"input_sparsity": 0.0}] + [{"input_sparsity": sp}] * (len(ds.layers) - 1)
        x, acts = published_activations(ds, rows, seed)
        res = _simulate(ds, mapping, x, acts)
        key = "dscnn_1" if sp == s0 else f"dscnn_1_sparsity_{sp}"
        out[key] = {"cycles": float(res.latency_cycles), "nps": nps, "sparsity": sp}
    for k, v in out.items():
        v["published"] = sf.AKD1000_CLOCKS[k.split("_sparsity")[0]]
        v["error"] = v["cycles"] / v["published"] - 1
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--silicon", default=None)
    ap.add_argument("--variants", default=",".join(sf.VARIANTS))
    ap.add_argument("--modes", default=",".join(sf.MODES))
    ap.add_argument("--no-layers", action="store_true", help="skip the per-layer cut models")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    per_layer, metrics = sf.load(sf.silicon_dir(args.silicon))
    out = {"layers": {}, "rows": {}, "akd1000": akd1000_figures(per_layer, args.seed)}
    for v in args.variants.split(","):
        rows = sf.layer_features(v, per_layer)
        t0 = time.time()
        if not args.no_layers:
            out["layers"][v] = per_layer_cycles(v, rows, args.seed)
        for mode in args.modes.split(","):
            out["rows"][f"{v}_{mode}"] = whole_model(v, mode, rows, metrics, args.seed)
        print(f"{v}: {time.time() - t0:.0f} s", file=sys.stderr)
    errs = [r["error"] for lv in out["layers"].values() for r in lv]
    if errs:
        out["layer_stats"] = sf.stats(errs)
    out["row_stats"] = sf.stats([r["error"] for r in out["rows"].values()])
    e = [r["dyn_energy_error"] for r in out["rows"].values() if "dyn_energy_error" in r]
    if e:
        out["energy_stats"] = sf.stats(e)
    (HERE / "silicon_check.json").write_text(json.dumps(sf.public(out), indent=1) + "\n")
    return out


if __name__ == "__main__":
    res = main()
    print(json.dumps({k: v for k, v in res.items() if k.endswith("stats")}, indent=1))
    for k, r in res["rows"].items():
        print(k, r["cycles"], int(r["measured"]), f"{100 * r['error']:+.1f} %",
              r["nps"], r["measured_nps"], r["passes"], r["measured_passes"])

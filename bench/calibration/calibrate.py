"""Fit every timing and energy constant to measured silicon and write the results (issue 10).

    PYTHONPATH=. python bench/calibration/calibrate.py [--write-params] [--silicon DIR]
                                                       [--quick]

1. ``silicon_fit.py``: the per-NP cost laws fitted to the AKD1500 per-layer cycles (numpy, the
   laws in closed form), leave-one-variant-out cross-validation, the program-load law through
   the two AKD1000 points, the dynamic-energy law (-> ``silicon_results.json``).
2. ``--write-params``: the fitted constants (3 significant digits) into
   ``nsoc/hardware/params/default.json`` (timing) and ``energy_akd1500.json`` (board floor).
3. ``silicon_check.py``: nsoc's simulator on the six stand-ins with events drawn at the
   published input sparsity: per-layer cycles as BrainChip measures them (cut models), the 18
   whole-model rows with nsoc's mapping, the AKD1000 clock counts (-> ``silicon_check.json``);
   the energy per synaptic op is fitted on the simulator's own action counts (``--write-params``
   writes it to ``energy_akd1500.json``), with its leave-one-variant-out error.
4. The tables into ``bench/calibration/README.md`` and README.md's "Measured" section.

``--quick``: skip the per-layer cut models (whole-model rows only).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import silicon_check  # noqa: E402
import silicon_fit  # noqa: E402
import tables  # noqa: E402

PARAMS = ROOT / "nsoc" / "hardware" / "params"
FIT_SOURCE = ("calibrated (fit bench/calibration/silicon_fit.py, data ../shared/silicon AKD1500 "
              "per_layer.json: 90 per-layer cycles of 6 AkidaNet variants, Minimal)")


def sig3(v: float) -> float:
    return float(f"{v:.3g}")


def write_timing_params(fit: dict) -> None:
    """The fitted law constants into params/default.json (value, unit, source)."""
    path = PARAMS / "default.json"
    doc = json.loads(path.read_text())
    for k, v in fit["constants"].items():
        law, unit = silicon_fit.CONSTANTS[k]
        src = f"{FIT_SOURCE}; law '{law}' (see bench/calibration/README.md)"
        if k == "external_read_cycles_per_byte":
            src += ("; fitted on the classifier (FNP2) layers only, also the HwPr reprogramming "
                    "rate (the chip reads the passes' program records from external memory: "
                    "the 6 HwPr rows check it, nothing fitted to them)")
        doc[k] = {"value": sig3(v), "unit": unit, "source": src}
    pl = fit["program_law"]
    for k, unit in (("program_fixed_cycles", "cycles per program load"),
                    ("program_cycles_per_byte", "cycles per program byte")):
        doc[k] = {"value": sig3(pl[k]), "unit": unit, "source": (
            "calibrated (fit bench/calibration/silicon_fit.py program_law, data "
            "reference/hardware.md AKD1000: 88,748 B in 152,396 program clocks and ~1.36 MB "
            "in ~1.0 M: the line through both points)")}
    path.write_text(json.dumps(doc, indent=1) + "\n")


def write_energy_params(fit: dict, e_syn_pj: float, n_rows: int) -> None:
    path = PARAMS / "energy_akd1500.json"
    doc = json.loads(path.read_text())
    p = doc["params"]
    p["synop_acc_pj"].update(value=sig3(e_syn_pj), source=(
        f"calibrated (fit bench/calibration/calibrate.py, data ../shared/silicon AKD1500 "
        f"metrics.json dyn_E of {n_rows} rows: energy per synaptic op on the simulator's "
        f"action counts, every other energy constant fixed)"))
    p["board_floor_mw"].update(value=sig3(fit["energy"]["board_floor_mw"]), source=(
        "calibrated (mean of total_P - dyn_P, data ../shared/silicon AKD1500 metrics.json, 18 "
        "rows: the idle floor measured before and after each run; it holds the chip's idle "
        "and leakage power)"))
    path.write_text(json.dumps(doc, indent=1) + "\n")


def energy_fit_sim(check: dict) -> dict:
    """Energy per synaptic op on the simulator's counts: dyn_E = E0 + e x synops per row
    (E0: every other action at its table value), least squares on relative errors; LOVO."""
    rows = {k: r for k, r in check["rows"].items() if "synops" in r}

    def solve(keys):
        a = np.array([rows[k]["synops"] / rows[k]["measured_dyn_energy_mj"] for k in keys])
        b = np.array([1 - rows[k]["other_energy_mj"] / rows[k]["measured_dyn_energy_mj"]
                      for k in keys])
        return float(a @ b / (a @ a))  # mJ per synop

    keys = list(rows)
    e = solve(keys)
    out = {"synop_pj": e * 1e9, "rows": {}, "lovo": {}}
    for k in keys:
        r = rows[k]
        pred = r["other_energy_mj"] + e * r["synops"]
        out["rows"][k] = {"measured_mj": r["measured_dyn_energy_mj"], "predicted_mj": pred,
                          "error": pred / r["measured_dyn_energy_mj"] - 1}
    for v in silicon_fit.VARIANTS:
        held = [k for k in keys if k.startswith(v + "_")]
        if not held:
            continue
        e5 = solve([k for k in keys if k not in held])
        for k in held:
            r = rows[k]
            out["lovo"][k] = (r["other_energy_mj"] + e5 * r["synops"]) / \
                r["measured_dyn_energy_mj"] - 1
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--silicon", default=None)
    ap.add_argument("--write-params", action="store_true")
    ap.add_argument("--quick", action="store_true", help="skip the per-layer cut models")
    args = ap.parse_args(argv)
    sil = ["--silicon", args.silicon] if args.silicon else []
    fit = silicon_fit.main(sil)
    if args.write_params:
        write_timing_params(fit)
    check = silicon_check.main(sil + (["--no-layers"] if args.quick else []))
    efit = energy_fit_sim(check)
    if args.write_params:
        write_energy_params(fit, efit["synop_pj"], len(efit["rows"]))
        check = silicon_check.main(sil + (["--no-layers"] if args.quick else []))
        efit = energy_fit_sim(check)
    (HERE / "silicon_energy.json").write_text(json.dumps(silicon_fit.public(efit), indent=1)
                                              + "\n")
    tables.write_readmes(fit, check, efit, ROOT)
    print(json.dumps({"layer_stats_law": fit["layer_stats"],
                      "layer_stats_sim": check.get("layer_stats"),
                      "row_stats_sim": check.get("row_stats"),
                      "energy_synop_pj": efit["synop_pj"]}, indent=1))


if __name__ == "__main__":
    main()

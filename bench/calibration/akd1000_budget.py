"""Where the AKD1000 AkidaNet 0.5 224 one-frame count and the AKD1500 laws part: a budget.

    PYTHONPATH=. python bench/calibration/akd1000_budget.py

The three AKD1000 inference clock counts of ``../shared/reference/hardware.md`` are checks: no
constant is fitted to them.  The 1-frame AkidaNet 0.5 224 count (AllNps, 13,733,572 clocks) is
the one the laws miss by about +10 %.  This script splits it, layer by layer, using as little
of the laws as possible:

* layers the AKD1000 (AllNps) maps on as many NPs as the AKD1500 (Minimal, a50_224, the same
  published model): their **measured** AKD1500 cycles, no law;
* the other layers (the separable layers, spread over more NPs on the AKD1000): the measured
  AKD1500 cycles times the laws' ratio between the two mappings, i.e. the laws without their
  own residual on that layer;
* the laws in closed form (``silicon_fit.predict`` on nsoc's AKD1000 mapping).

The published count minus the measured same-NP layers is what the chip spent on the others.
Writes ``akd1000_budget.json`` next to this script.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import silicon_fit as sf  # noqa: E402

VARIANT = "a50_224"  # the AkidaNet 0.5 224 of the AKD1000 figures


def budget(per_layer: dict, consts: dict) -> dict:
    """Per-layer split of the AKD1000 1-frame count (see the module docstring)."""
    from standins import akidanet
    net = akidanet(0.5, 224)
    meas = {r["layer"]: r for r in per_layer["variants"][VARIANT]}
    sp = {k: (r["input_sparsity"] or 0.0) for k, r in meas.items()}
    rows, lay1000 = sf._on_device(net, sp, "AKD1000", "AllNps")
    _, lay1500 = sf._on_device(net, sp, "AKD1500", "Minimal")
    layers, same, other = [], 0.0, {"measured_1500": 0.0, "scaled": 0.0, "law": 0.0}
    for r in rows:
        name = r["layer"]
        m = float(meas[name]["cycles"])
        law = sf.predict(dict(r, pass_index=0), consts, layout=lay1000[name],
                         multipass_host=False)
        law1500 = sf.predict(dict(r, pass_index=0), consts, layout=lay1500[name],
                             multipass_host=False)
        row = {"layer": name, "nps_akd1000": lay1000[name].nps,
               "nps_akd1500": lay1500[name].nps, "measured_akd1500": m,
               "law_akd1500": law1500, "law_akd1000": law}
        if lay1000[name].nps == lay1500[name].nps:
            same += m
            row["akd1000_from_data"] = m
        else:
            row["scaled"] = m * law / law1500
            for k, v in (("measured_1500", m), ("scaled", row["scaled"]), ("law", law)):
                other[k] += v
        layers.append(row)
    pub = float(sf.AKD1000_CLOCKS["akidanet_1"])
    implied = pub - same
    law_total = sum(r["law_akd1000"] for r in layers)
    return {
        "published": pub, "same_np_layers_measured": same,
        "other_layers": other, "other_layers_implied": implied,
        "implied_vs_scaled": implied / other["scaled"] - 1,
        "totals": {"scaled": same + other["scaled"], "law": law_total},
        "errors": {"scaled": (same + other["scaled"]) / pub - 1, "law": law_total / pub - 1},
        "layers": layers,
    }


def table(b: dict) -> str:
    o = b["other_layers"]
    lines = [
        "| part | cycles | whole model vs published |",
        "|---|---:|---:|",
        f"| published 1-frame count (AKD1000, AllNps) | {b['published']:,.0f} | |",
        f"| layers on as many NPs as on the AKD1500 (measured there) | "
        f"{b['same_np_layers_measured']:,.0f} | |",
        f"| other layers, implied (published minus the above) | "
        f"{b['other_layers_implied']:,.0f} | |",
        f"| other layers, AKD1500 measured x law(AKD1000) / law(AKD1500) | "
        f"{o['scaled']:,.0f} | {100 * b['errors']['scaled']:+.1f} % |",
        f"| other layers, law | {o['law']:,.0f} | {100 * b['errors']['law']:+.1f} % |",
    ]
    return "\n".join(lines)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--silicon", default=None)
    args = ap.parse_args(argv)
    per_layer, _ = sf.load(sf.silicon_dir(args.silicon))
    res = json.loads((HERE / "silicon_results.json").read_text())
    consts = {k: (v["value"] if isinstance(v, dict) else v)
              for k, v in res["constants"].items()}
    b = budget(per_layer, consts)
    (HERE / "akd1000_budget.json").write_text(json.dumps(sf.public(b), indent=1) + "\n")
    print(table(b))
    print(f"implied cycles of the other layers vs measured x law ratio: "
          f"{100 * b['implied_vs_scaled']:+.1f} %")
    return b


if __name__ == "__main__":
    main()

"""Where the AKD1000 AkidaNet 0.5 224 one-frame count and the AKD1500 laws part: a budget.

    PYTHONPATH=. python bench/calibration/akd1000_budget.py

The three AKD1000 inference clock counts of ``../shared/reference/hardware.md`` are checks: no
constant is fitted to them.  The 1-frame AkidaNet 0.5 224 count (AllNps, 13,733,572 clocks) is
the one the laws miss by about +10 %.  This script splits it, layer by layer, using as little
of the laws as possible:

* layers the AKD1000 (AllNps) maps on the same number of NPs as the AKD1500 (Minimal, a50_224,
  the same published model): their **measured** AKD1500 cycles, no law;
* the other layers (the separable layers, spread over more NPs on the AKD1000): the measured
  AKD1500 cycles scaled by the filters each NP holds, ``ceil(F / n_1000) / ceil(F / n_1500)``,
  which is the least any law of the form ``events x (a + b x filters held)`` with ``a >= 0``
  can give from those measurements (``a = 0``), and the same scaling with the fitted ratio
  ``a / b``;
* the laws in closed form (``silicon_fit.akd1000_figures``'s per-layer terms).

The AKD1000's published count minus the measured same-NP layers is what the chip spent on the
others; comparing it with the floor says whether any such law, at the activations the AKD1500
measured, can meet the count.  Writes ``akd1000_budget.json`` next to this script.
"""
from __future__ import annotations

import argparse
import json
import math
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
    rows, layout = sf._on_device(net, sp, "AKD1000", "AllNps")
    ratio = consts["cnp_event_cycles"] / consts["cnp_filter_event_cycles"]
    layers, same, other = [], 0.0, {"measured_1500": 0.0, "floor": 0.0, "scaled": 0.0,
                                     "law": 0.0}
    for r in rows:
        name, n1000 = r["layer"], max(layout[r["layer"]][0], 1)
        n1500, m = meas[name]["nps"], float(meas[name]["cycles"])
        law = sf.predict(dict(r, pass_index=0), consts, nps=n1000, multipass_host=False)
        row = {"layer": name, "nps_akd1000": n1000, "nps_akd1500": n1500,
               "measured_akd1500": m, "law_akd1000": law}
        if n1000 == n1500:
            same += m
            row["akd1000_from_data"] = m
        else:
            f = r["filters"]
            h1000, h1500 = math.ceil(f / n1000), math.ceil(f / n1500)
            row["floor"] = m * h1000 / h1500
            row["scaled"] = m * (ratio + h1000) / (ratio + h1500)
            for k, v in (("measured_1500", m), ("floor", row["floor"]),
                         ("scaled", row["scaled"]), ("law", law)):
                other[k] += v
        layers.append(row)
    pub = float(sf.AKD1000_CLOCKS["akidanet_1"])
    implied = pub - same
    law_total = sum(r["law_akd1000"] for r in layers)
    return {
        "published": pub, "same_np_layers_measured": same,
        "other_layers": other, "other_layers_implied": implied,
        "implied_vs_floor": implied / other["floor"] - 1,
        "totals": {"floor": same + other["floor"], "scaled": same + other["scaled"],
                   "law": law_total},
        "errors": {"floor": (same + other["floor"]) / pub - 1,
                   "scaled": (same + other["scaled"]) / pub - 1, "law": law_total / pub - 1},
        "layers": layers,
    }


def table(b: dict) -> str:
    o = b["other_layers"]
    lines = [
        "| part | cycles | vs published |",
        "|---|---:|---:|",
        f"| published 1-frame count (AKD1000, AllNps) | {b['published']:,.0f} | |",
        f"| layers on the same NPs as the AKD1500 (measured there) | "
        f"{b['same_np_layers_measured']:,.0f} | |",
        f"| other layers, implied (published minus the above) | "
        f"{b['other_layers_implied']:,.0f} | |",
        f"| other layers, measured AKD1500 scaled by filters held (a = 0, the floor) | "
        f"{o['floor']:,.0f} | {100 * b['errors']['floor']:+.1f} % |",
        f"| other layers, same with the fitted a / b | {o['scaled']:,.0f} | "
        f"{100 * b['errors']['scaled']:+.1f} % |",
        f"| whole model, laws in closed form | {b['totals']['law']:,.0f} | "
        f"{100 * b['errors']['law']:+.1f} % |",
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
    print(f"implied cycles of the other layers vs the floor: {100 * b['implied_vs_floor']:+.1f} %")
    return b


if __name__ == "__main__":
    main()

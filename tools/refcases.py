"""Development helper: build nsoc models from BrainChip's reference cases in ../shared/refcases.

Not used by the committed tests (they stand alone); used while developing to compare nsoc with
the oracle data.  ``python tools/refcases.py`` builds every case and prints its layers.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import nsoc  # noqa: E402
from nsoc.layers import make_layer  # noqa: E402

REFCASES = os.environ.get("NSOC_REFCASES",
                          os.path.join(os.path.dirname(__file__), "..", "..", "shared", "refcases"))


def case_dirs():
    return sorted(d for d in os.listdir(REFCASES)
                  if os.path.isfile(os.path.join(REFCASES, d, "layers.json")))


def build(case: str, version: str) -> nsoc.Model:
    """nsoc.Model from a case's layers.json and akida_<version>_variables.npz."""
    d = os.path.join(REFCASES, case)
    desc = json.load(open(os.path.join(d, "layers.json")))[version]
    var = np.load(os.path.join(d, f"akida_{version}_variables.npz"))
    layers = []
    for ld in desc:
        variables = {k.split("/", 1)[1]: var[k] for k in var.files
                     if k.split("/", 1)[0] == ld["name"]}
        layers.append(make_layer(ld["type"], ld["name"], ld["parameters"], variables,
                                 ld["inbounds"]))
    model = nsoc.Model(layers, version, {"source": f"refcase {case}"})
    for lay, ld in zip(model.layers, desc, strict=False):
        assert list(lay.input_dims) == ld["input_dims"], (lay, ld["input_dims"])
        assert list(lay.output_dims) == ld["output_dims"], (lay, ld["output_dims"])
        assert lay.output_signed == ld["output_signed"], (lay, "signed", ld["output_signed"])
    return model


def versions(case: str):
    return list(json.load(open(os.path.join(REFCASES, case, "layers.json"))))


if __name__ == "__main__":
    for c in case_dirs():
        for v in versions(c):
            m = build(c, v)
            print(c, v, m, [lay.TYPE for lay in m.layers])

"""Fit the simulator's NP cost constants to the published AKD1000 inference clocks.

    PYTHONPATH=. python bench/calibration/calibrate.py [--quick]

Stand-ins (bench/calibration/standins.py): DS-CNN KWS 49x10x1 and AkidaNet 0.5 224x224x3, Akida
1.0, 8/4/4, on AKD1000 (real mapper, AllNps: 65 and 68 NPs as published), fed by the
functional engine's real activations on smooth inputs, with thresholds tuned so that DENSITY of
every layer's outputs are non-zero (the assumed sparsity of the published trained models).  Targets (reference/hardware.md): DS-CNN 93,965
inference clocks for one frame; AkidaNet 0.5 13,733,572 for one frame, 43,001,443 for ten.
The fit scales two groups of constants of params/default.json (event-driven costs; dense
per-neuron costs: threshold-and-fire, pointwise, HRC) for each np_fire_block_rows in {1, 16, 1000}
(row streaming .. frame-level firing), minimising the largest relative error; the best fit of
each granularity is kept.  Writes results.json next to this script.
"""
import itertools
import json
import sys
import time
from pathlib import Path


HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from standins import akidanet_05, dscnn_kws, map_standin, standin_inputs, tune_thresholds  # noqa
from nsoc.hardware.timing import simulate, timing_params  # noqa

DENSITY = 0.30
TARGETS = {"dscnn_1": 93965, "akidanet_1": 13733572, "akidanet_10": 43001443}
EVENT_KEYS = {"cnp_event_cycles": 1, "cnp_synops_per_cycle": -1, "fnp_event_cycles": 1}
DENSE_KEYS = {"fire_neurons_per_cycle": -1, "cnp_pointwise_macs_per_cycle": -1,
              "hrc_macs_per_cycle": -1, "hrc_row_cycles": 1}
BASE = {k: v["value"] for k, v in timing_params("AKD1000").items()}
# starting point of the grid (the constants before the fit)
START = {"cnp_event_cycles": 1, "cnp_synops_per_cycle": 16, "fnp_event_cycles": 1,
         "fire_neurons_per_cycle": 16, "cnp_pointwise_macs_per_cycle": 64,
         "hrc_macs_per_cycle": 64, "hrc_row_cycles": 4}


def overrides(s_event, s_dense, block):
    o = {"np_fire_block_rows": block}
    for keys, s in ((EVENT_KEYS, s_event), (DENSE_KEYS, s_dense)):
        for k, sign in keys.items():
            o[k] = START[k] * s if sign > 0 else START[k] / s
    return o


def run(models, o):
    out = {}
    (m_ds, x_ds, a_ds), (m_an, x_an, a_an) = models
    one = lambda a: {k: v[:1] for k, v in a.items()}
    out["dscnn_1"] = simulate(m_ds, x_ds[:1], activations=one(a_ds), overrides=o).latency_cycles
    r1 = simulate(m_an, x_an[:1], activations=one(a_an), overrides=o)
    r10 = simulate(m_an, x_an, activations=a_an, overrides=o, batch_size=10)
    out["akidanet_1"] = r1.latency_cycles
    out["akidanet_10"] = r10.total_cycles
    return out, r1, r10


def build(density, frames=2):
    models, info = [], {}
    for name, fn in (("dscnn", dscnn_kws), ("akidanet", akidanet_05)):
        m = fn()
        x = standin_inputs(m, frames)
        info[name] = {"measured_sparsity": tune_thresholds(m, x, density),
                      "mapping": map_standin(m), "nps": m.component_count}
        models.append((m, x, m.forward(x, outputs="all")))
    return models, info


def main(quick=False):
    models, info = build(DENSITY)
    grid_e = [3, 4, 5, 6, 8] if not quick else [2, 4]
    grid_d = [2, 3, 4, 6] if not quick else [2, 4]
    grid_b = [1, 16, 1000]
    best = {}
    trials = []
    t0 = time.time()
    for se, sd, b in itertools.product(grid_e, grid_d, grid_b):
        o = overrides(se, sd, b)
        got, _, _ = run(models, o)
        err = {k: got[k] / TARGETS[k] - 1 for k in TARGETS}
        worst = max(abs(e) for e in err.values())
        trials.append({"s_event": se, "s_dense": sd, "fire_block": b, "cycles": got,
                       "worst_rel_error": round(worst, 4)})
        if b not in best or worst < best[b][0]:
            best[b] = (worst, o, got, err)
    worst, o, got, err = min(best.values(), key=lambda t: t[0])
    _, r1, r10 = run(models, o)
    # sparsity sensitivity of the fitted constants
    sens = {}
    for dens in (0.15, 0.3, 0.5):
        ms, _ = build(dens) if dens != DENSITY else (models, None)
        sens[str(dens)] = run(ms, o)[0]
    res = {
        "density": DENSITY, "sparsity": 1 - DENSITY, "standins": info,
        "targets": TARGETS, "fitted_overrides": o, "simulated": got,
        "relative_error": {k: round(v, 4) for k, v in err.items()},
        "best_per_fire_block": {str(b): {"worst_rel_error": round(v[0], 4), "overrides": v[1],
                                         "simulated": v[2]} for b, v in best.items()},
        "akidanet_interval_cycles": r10.interval_cycles,
        "akidanet_bottleneck": max(r1.layers, key=lambda l: l.busy_cycles).name,
        "sensitivity_to_density": sens, "grid_seconds": round(time.time() - t0, 1),
        "trials": trials,
    }
    (HERE / "results.json").write_text(json.dumps(res, indent=1))
    print(f"{'figure':<14}{'published':>14}{'simulated':>14}{'error':>9}")
    for k in TARGETS:
        print(f"{k:<14}{TARGETS[k]:>14,}{got[k]:>14,}{err[k]:>+9.1%}")
    print("fitted:", o)
    for b, v in best.items():
        print(f"best with np_fire_block_rows={b}: worst error {v[0]:.1%}", v[2])
    print("sensitivity (density -> cycles):", sens)
    print("stand-ins:", json.dumps(info))


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)

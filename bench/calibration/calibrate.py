"""Fit the simulator's NP cost constants to the published AKD1000 inference clocks.

    PYTHONPATH=. python bench/calibration/calibrate.py [--write-params]

Stand-ins (bench/calibration/standins.py): DS-CNN KWS 49x10x1 and AkidaNet 0.5 224x224x3, Akida
1.0, 8/4/4, architectures as akida_models builds them (real stride 2 in conv_2 and separable_4/6/12
of AkidaNet), on AKD1000 (real mapper, AllNps: 65 and 68 NPs as published), fed by the functional
engine's real activations on smooth inputs, with thresholds tuned so that DENSITY of every layer's
outputs are non-zero (the assumed sparsity of the published trained models).  Targets
(reference/hardware.md): DS-CNN 93,965 inference clocks for one frame; AkidaNet 0.5 13,733,572 for
one frame, 43,001,443 for ten.

Three free constants, each the scale of one group of NP costs relative to an a priori datapath
(PRIOR): event-driven CNP/FNP integration (cycles per input event and per synaptic op), the dense
pointwise stage of separable layers, and the HRC (input convolution).  Everything else is fixed
(np_fire_block_rows = frame-level firing, fire_neurons_per_cycle, router / link / DMA constants).
The scales are solved by Levenberg-Marquardt on the log errors of the three figures, rounded to
three significant digits and re-simulated.  Also: the best fit with row streaming / 16-row blocks
(to show why frame-level firing), the sensitivity of the fitted model to the activation density
and a refit at other densities.  Writes results.json next to this script; ``--write-params``
also writes the fitted values into nsoc/hardware/params/default.json.
"""
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from standins import (MAPPED_BY, akidanet_05, dscnn_kws, map_standin, standin_inputs,  # noqa
                      tune_thresholds)
from nsoc.hardware.timing import simulate, timing_params  # noqa

DENSITY = 0.30
TARGETS = {"dscnn_1": 93965, "akidanet_1": 13733572, "akidanet_10": 43001443}
# a priori datapath (before any fit): one cycle per event, 16 synaptic ops / pointwise or HRC MACs
# per cycle (a 16-lane 4-bit datapath), 4 cycles of HRC line set-up per input row
PRIOR = {"cnp_event_cycles": 1, "fnp_event_cycles": 1, "cnp_synops_per_cycle": 16,
         "cnp_pointwise_macs_per_cycle": 16, "hrc_macs_per_cycle": 16, "hrc_row_cycles": 4}
# free group scales: +1 = cost grows with the scale, -1 = rate divided by the scale
GROUPS = {
    "event": {"cnp_event_cycles": 1, "fnp_event_cycles": 1, "cnp_synops_per_cycle": -1},
    "pointwise": {"cnp_pointwise_macs_per_cycle": -1},
    "hrc": {"hrc_macs_per_cycle": -1, "hrc_row_cycles": 1},
}
STARTS = ({"event": 1.0, "pointwise": 1.0, "hrc": 1.0},
          {"event": 2.0, "pointwise": 4.0, "hrc": 2.0},
          {"event": 3.0, "pointwise": 6.0, "hrc": 3.0})
FIXED = {"np_fire_block_rows": 1000, "fire_neurons_per_cycle": 2.6667, "output_event_cycles": 1}


def sig3(v: float) -> float:
    return float(f"{v:.3g}")


def overrides(scales: dict, block: int = 1000, rounded: bool = False) -> dict:
    o = dict(FIXED, np_fire_block_rows=block)
    for g, keys in GROUPS.items():
        for k, sign in keys.items():
            v = PRIOR[k] * scales[g] if sign > 0 else PRIOR[k] / scales[g]
            o[k] = sig3(v) if rounded else v
    return o


def run(models, o):
    (m_ds, mp_ds, x_ds, a_ds), (m_an, mp_an, x_an, a_an) = models

    def one(a):
        return {k: v[:1] for k, v in a.items()}

    r_ds = simulate(m_ds, mp_ds, x_ds[:1], activations=one(a_ds), overrides=o)
    r1 = simulate(m_an, mp_an, x_an[:1], activations=one(a_an), overrides=o)
    r10 = simulate(m_an, mp_an, x_an, activations=a_an, overrides=o, batch_size=10)
    out = {"dscnn_1": r_ds.latency_cycles, "akidanet_1": r1.latency_cycles,
           "akidanet_10": r10.total_cycles}
    return out, (r_ds, r1, r10)


def build(density, frames=2):
    models, info = [], {}
    for name, fn in (("dscnn", dscnn_kws), ("akidanet", akidanet_05)):
        m = fn()
        x = standin_inputs(m, frames)
        mapping = map_standin(m)
        info[name] = {"measured_sparsity": tune_thresholds(m, x, density),
                      "mapping": MAPPED_BY, "nps": mapping.component_count,
                      "nps_per_layer": {lm.layer: len(lm.nps) for _, _, p in
                                        mapping.hardware_passes() for lm in p}}
        models.append((m, mapping, x, m.forward(x, outputs="all")))
    return models, info


def log_err(models, scales, block=1000):
    got, _ = run(models, overrides(scales, block))
    return np.array([math.log(got[k] / TARGETS[k]) for k in TARGETS]), got


def solve(models, block=1000, start=None, iters=25):
    """Levenberg-Marquardt on the log scales of GROUPS; returns (scales, evaluations)."""
    names = list(GROUPS)
    th = np.log([start[g] for g in names]) if start else np.zeros(len(names))
    r, _ = log_err(models, dict(zip(names, np.exp(th), strict=False)), block)
    lam, n_eval, h = 1e-2, 1, 0.03
    for _ in range(iters):
        J = np.empty((len(r), len(th)))
        for j in range(len(th)):
            t2 = th.copy()
            t2[j] += h
            trial = dict(zip(names, np.exp(t2), strict=False))
            J[:, j] = (log_err(models, trial, block)[0] - r) / h
            n_eval += 1
        improved = False
        for _ in range(8):
            step = np.linalg.solve(J.T @ J + lam * np.eye(len(th)), -J.T @ r)
            t_new = np.clip(th + step, 0.0, np.log(200.0))  # scale >= 1: no faster than PRIOR
            r_new, _ = log_err(models, dict(zip(names, np.exp(t_new), strict=False)), block)
            n_eval += 1
            if r_new @ r_new < r @ r:
                th, r, lam, improved = t_new, r_new, lam / 3, True
                break
            lam *= 4
        if not improved or np.max(np.abs(r)) < 2e-3:
            break
    return dict(zip(names, np.exp(th), strict=False)), n_eval


def layer_table(res):
    return {lay.name: {"busy_cycles": lay.busy_cycles, "stall_cycles": lay.stall_cycles,
                       "events_in": lay.events_in, "events_out": lay.events_out,
                       "sparsity": round(lay.sparsity, 3)} for lay in res.layers}


def write_params(o: dict, err: dict):
    path = HERE.parents[1] / "nsoc" / "hardware" / "params" / "default.json"
    d = json.loads(path.read_text())
    worst = max(abs(v) for v in err.values())
    src = ("calibrated (bench/calibration/calibrate.py, results.json): group '{g}' scaled x{s:.3g}"
           " from the a priori {p} so that the DS-CNN KWS and AkidaNet 0.5 stand-ins (published "
           "architectures, real AllNps mapping 65 / 68 NPs, 70% activation sparsity) reproduce the "
           f"published AKD1000 inference clocks (worst error {worst:.1%})")
    for g, keys in GROUPS.items():
        for k in keys:
            d[k]["value"] = o[k]
            d[k]["source"] = src.format(g=g, s=o["_scales"][g], p=PRIOR[k]) + (
                "; the fit sits at the bound scale >= 1 (no faster than the a priori datapath)"
                if o["_scales"][g] <= 1.0 + 1e-6 else "")
    d["fire_neurons_per_cycle"]["source"] = (
        "fixed in the calibration (not fitted): doubling it changes the three published figures "
        "by < 3% (bench/calibration results.json sensitivity_per_constant_x2)")
    d["np_fire_block_rows"]["source"] = (
        "calibration choice (bench/calibration README): 1000 = an NP fires a frame's output once "
        "its input frame is complete (frame-level layer pipelining). The published 1-frame vs "
        "10-frame AkidaNet clocks (latency/interval 4.2) exclude row streaming (1: best fit 59% "
        "off); 16-row blocks fit as well as frame level (3.5% vs 4.5%)")
    path.write_text(json.dumps(d, indent=1) + "\n")


def main(write=False):
    t0 = time.time()
    models, info = build(DENSITY)
    # multi-start: the three figures do not identify the constants uniquely (results.json
    # local_solutions); keep the start whose rounded fit has the smallest worst error
    local = []
    for st in STARTS:
        s_i, n_i = solve(models, start=st)
        g_i, _ = run(models, overrides(s_i, rounded=True))
        local.append({"start": st, "scales": {k: round(v, 3) for k, v in s_i.items()},
                      "simulated": g_i, "evaluations": n_i,
                      "worst_rel_error": round(max(abs(g_i[k] / TARGETS[k] - 1)
                                                   for k in TARGETS), 4), "_s": s_i})
    best = min(local, key=lambda t: t["worst_rel_error"])
    scales, n_eval = best["_s"], sum(t["evaluations"] for t in local)
    for t in local:
        del t["_s"]
    o = overrides(scales, rounded=True)
    got, (r_ds, r1, r10) = run(models, o)
    err = {k: got[k] / TARGETS[k] - 1 for k in TARGETS}
    # alternatives: row streaming and 16-row blocks, each with its own best scales
    alt = {}
    for b in (1, 16):
        s_b, _ = solve(models, block=b, start=scales)
        g_b, _ = run(models, overrides(s_b, b))
        alt[str(b)] = {"scales": {k: round(v, 3) for k, v in s_b.items()}, "simulated": g_b,
                       "worst_rel_error": round(max(abs(g_b[k] / TARGETS[k] - 1)
                                                    for k in TARGETS), 4)}
    # sensitivity to each fixed / fitted constant (x2) at the fit
    per_const = {}
    for k in ("cnp_event_cycles", "cnp_synops_per_cycle", "cnp_pointwise_macs_per_cycle",
              "hrc_macs_per_cycle", "fire_neurons_per_cycle", "output_event_cycles",
              "router_latency_cycles", "dma_input_bytes_per_cycle"):
        o2 = dict(o)
        base = o2.get(k, timing_params("AKD1000")[k]["value"])
        o2[k] = base * 2
        g2, _ = run(models, o2)
        per_const[k] = {t: round(g2[t] / got[t], 3) for t in TARGETS}
    # sensitivity to the activation density: fitted constants at other densities, and refits
    sens, refit = {}, {}
    for dens in (0.15, 0.2, 0.3, 0.4, 0.5):
        ms = build(dens)[0] if dens != DENSITY else models
        g_d, _ = run(ms, o)
        sens[str(dens)] = {"cycles": g_d, "rel_error": {k: round(g_d[k] / TARGETS[k] - 1, 4)
                                                         for k in TARGETS}}
        if dens in (0.2, 0.4):
            s_d, _ = solve(ms, start=scales)
            g_r, _ = run(ms, overrides(s_d))
            refit[str(dens)] = {"scales": {k: round(v, 3) for k, v in s_d.items()},
                                "worst_rel_error": round(max(abs(g_r[k] / TARGETS[k] - 1)
                                                             for k in TARGETS), 4)}
    interval_pub = (TARGETS["akidanet_10"] - TARGETS["akidanet_1"]) / 9
    res = {
        "density": DENSITY, "sparsity": 1 - DENSITY, "standins": info, "targets": TARGETS,
        "prior": PRIOR, "groups": GROUPS, "fixed": FIXED,
        "fitted_scales": {k: round(v, 4) for k, v in scales.items()},
        "fitted_overrides": o, "simulated": got,
        "relative_error": {k: round(v, 4) for k, v in err.items()},
        "solver_evaluations": n_eval, "local_solutions": local,
        "akidanet_interval_cycles": {"simulated": r10.interval_cycles,
                                     "published": round(interval_pub)},
        "akidanet_latency_over_interval": {
            "simulated": round(r1.latency_cycles / r10.interval_cycles, 2),
            "published": round(TARGETS["akidanet_1"] / interval_pub, 2)},
        "akidanet_bottleneck": max(r10.nps, key=lambda n: n.busy_cycles).layer,
        "layers": {"dscnn_1": layer_table(r_ds), "akidanet_1": layer_table(r1)},
        "alternative_fire_blocks": alt,
        "sensitivity_per_constant_x2": per_const,
        "sensitivity_to_density": sens, "refit_at_density": refit,
        "seconds": round(time.time() - t0, 1),
    }
    (HERE / "results.json").write_text(json.dumps(res, indent=1) + "\n")
    if write:
        write_params(dict(o, _scales=scales), err)
    print(f"{'figure':<14}{'published':>14}{'simulated':>14}{'error':>9}")
    for k in TARGETS:
        print(f"{k:<14}{TARGETS[k]:>14,}{got[k]:>14,}{err[k]:>+9.1%}")
    print("scales:", {k: round(v, 3) for k, v in scales.items()}, "->", o)
    for t in local:
        print("local solution:", t)
    print("interval:", res["akidanet_interval_cycles"], "bottleneck:", res["akidanet_bottleneck"])
    for b, v in alt.items():
        print(f"best with np_fire_block_rows={b}: worst error {v['worst_rel_error']:.1%}",
              v["simulated"])
    print("x2 sensitivity:", per_const)
    print("density sensitivity:", {d: v["rel_error"] for d, v in sens.items()})
    print("refits:", refit)
    print("sparsity:", json.dumps({k: v["measured_sparsity"] for k, v in info.items()}))
    print(f"{res['seconds']} s")


if __name__ == "__main__":
    main(write="--write-params" in sys.argv)

"""Markdown tables of the silicon calibration (``silicon_fit.py`` / ``silicon_check.py``
results) and their insertion between markers in the README files."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

VARIANTS = ("a25_160", "a25_224", "a50_160", "a50_224", "a100_160", "a100_224")
MODES = ("minimal", "allnps", "hwpr")


def pct(x) -> str:
    return "—" if x is None else f"{100 * x:+.1f} %"


def apct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f} %"


def num(x) -> str:
    return "—" if x is None else f"{x:,.0f}"


def replace_section(path: Path, tag: str, body: str) -> None:
    """Replace the text between ``<!-- tag:BEGIN -->`` and ``<!-- tag:END -->`` in ``path``
    (appended at the end when the markers are missing)."""
    text = path.read_text()
    begin, end = f"<!-- {tag}:BEGIN -->", f"<!-- {tag}:END -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    if begin in text and end in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, text,
                      flags=re.DOTALL)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def constants_table(fit: dict, sources: dict) -> str:
    lines = ["| constant | value | unit | law |", "|---|---:|---|---|"]
    for k, v in fit["constants"].items():
        unit, law = sources[k]
        lines.append(f"| `{k}` | {v:.4g} | {unit} | {law} |")
    pl = fit["program_law"]
    lines.append(f"| `program_fixed_cycles` | {pl['program_fixed_cycles']:.4g} | cycles per "
                 "program load | program (2 AKD1000 points, exact) |")
    lines.append(f"| `program_cycles_per_byte` | {pl['program_cycles_per_byte']:.4g} | cycles "
                 "per program byte | program (2 AKD1000 points, exact) |")
    return "\n".join(lines)


def layer_grid(errors: dict, title: str) -> str:
    """errors: {variant: [(layer, error), ...]} -> a layer x variant table."""
    layers = [name for name, _ in next(iter(errors.values()))]
    head = "| layer | " + " | ".join(errors) + " |"
    lines = [f"{title}\n", head, "|---|" + "---:|" * len(errors)]
    for i, name in enumerate(layers):
        lines.append(f"| {name} | " + " | ".join(pct(errors[v][i][1]) for v in errors) + " |")
    return "\n".join(lines)


def stats_line(st: dict, what: str) -> str:
    return (f"{what}: {st['n']} values, median |error| {apct(st['median_abs'])}, 90th "
            f"percentile {apct(st['p90_abs'])}, worst {apct(st['max_abs'])}.")


def rows_table(rows: dict, sim: dict | None) -> str:
    lines = [("| variant | mode | law (nsoc mapping) | error | simulated | error "
              "| NPs nsoc / chip | passes nsoc / chip |"),
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for key, r in rows.items():
        v, mode = key.rsplit("_", 1)
        s = (sim or {}).get(key, {})
        if "mapping_error" in r:
            lines.append(f"| {v} | {mode} | mapping error | — | — | — | — | — |")
            continue
        lines.append(f"| {v} | {mode} | {num(r['cycles'])} | {pct(r['error'])} | "
                     f"{num(s.get('cycles'))} | {pct(s.get('error'))} | "
                     f"{r['nps']} / {r['measured_nps']} | {r['passes']} / "
                     f"{r['measured_passes']} |")
    return "\n".join(lines)


def lovo_table(fit: dict) -> str:
    lines = ["| held-out variant | layers: median | p90 | worst | Minimal row | AllNps row "
             "| HwPr row | dynamic energy |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for v, r in fit["lovo"].items():
        st = r["layers"]
        rows = r.get("row_errors", {})
        lines.append(f"| {v} | {apct(st['median_abs'])} | {apct(st['p90_abs'])} | "
                     f"{apct(st['max_abs'])} | {pct(r['minimal_row_error'])} | "
                     f"{pct(rows.get(v + '_allnps'))} | {pct(rows.get(v + '_hwpr'))} | "
                     f"{pct(r['dyn_energy_error'])} |")
    return "\n".join(lines)


def energy_table(fit: dict, sim: dict | None) -> str:
    lines = ["| row | law mJ | error | simulated mJ | error | board mW simulated | error |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for key, r in fit["energy_rows"].items():
        s = (sim or {}).get(key, {})
        line = f"| {key} | {r['predicted_mj']:.3f} | {pct(r['error'])} | "
        line += (f"{s['dyn_energy_mj']:.3f} | {pct(s['dyn_energy_error'])} | "
                 if "dyn_energy_mj" in s else "— | — | ")
        line += (f"{s['board_power_mw']:.1f} | {pct(s['board_power_error'])} |"
                 if "board_power_mw" in s else "— | — |")
        lines.append(line)
    return "\n".join(lines)


def akd1000_table(fit: dict, sim: dict | None) -> str:
    lines = ["| figure (AKD1000, AllNps) | published clocks | law | error | simulated | error |",
             "|---|---:|---:|---:|---:|---:|"]
    s0 = fit["akd1000"]["dscnn_1"]["sparsity"]
    names = {"dscnn_1": f"DS-CNN KWS, 1 frame (sparsity {s0:.2f}, assumed)",
             "akidanet_1": "AkidaNet 0.5 224, 1 frame (a50_224 sparsity)",
             "akidanet_10": "AkidaNet 0.5 224, 10 frames"}
    for k, label in names.items():
        r = fit["akd1000"][k]
        s = (sim or {}).get(k, {})
        lines.append(f"| {label} | {num(r['published'])} | {num(r['predicted'])} | "
                     f"{pct(r['error'])} | {num(s.get('cycles'))} | {pct(s.get('error'))} |")
    sens = [(k, v) for k, v in (sim or {}).items() if k.startswith("dscnn_1_sparsity")]
    if sens:
        sens.sort(key=lambda kv: kv[1]["sparsity"])
        lines.append("\nDS-CNN KWS simulated at other input sparsities (not published): " +
                     ", ".join(f"{v['sparsity']:.1f}: {pct(v['error'])}" for _, v in sens) +
                     " (law: " + ", ".join(
                         f"{v['sparsity']:.1f}: {pct(v['error'])}" for k, v in
                         sorted(fit["akd1000"].items(), key=lambda kv: kv[1].get("sparsity", 0))
                         if k.startswith("dscnn_1_sparsity")) + ").")
    return "\n".join(lines)


def median_abs(values) -> float:
    return float(np.median(np.abs(np.asarray(list(values), float))))


def layer_errors(fit: dict, check: dict | None) -> tuple[dict, dict | None]:
    law: dict = {}
    for r in fit["layers"]:
        law.setdefault(r["variant"], []).append((r["layer"], r["error"]))
    sim = None
    if check and check.get("layers"):
        sim = {v: [(r["layer"], r["error"]) for r in rows] for v, rows in check["layers"].items()}
    return law, sim


def calibration_section(fit: dict, check: dict | None, efit: dict | None) -> str:
    """The generated part of bench/calibration/README.md."""
    law, sim = layer_errors(fit, check)
    n_c = fit["n_constants_per_layer_fit"]
    parts = [
        "### Fitted constants\n",
        (f"{n_c} constants fitted to {fit['n_layer_points']} per-layer cycles (6 variants x 15 "
        "layers, Minimal mapping); the program law goes exactly through the 2 published AKD1000 "
        "points (2 constants); the dynamic energy takes 1 constant (energy per synaptic op) and "
        "the board 1 (idle floor).\n"),
        constants_table(fit, {k: (u, lw) for k, (lw, u) in _constants().items()}),
        "\n### Per layer (law in closed form, nsoc's Minimal mapping: NPs per layer as "
        "published)\n",
        stats_line(fit["layer_stats"], "Fit residuals"),
        "\n" + layer_grid(law, "Error of the law, cycles per layer (fit on all six variants):"),
    ]
    if sim:
        parts += ["\n### Per layer, simulated (cut models, nsoc's Minimal mapping)\n",
                  stats_line(check["layer_stats"], "Simulator"),
                  "\n" + layer_grid(sim, "Error of the simulator, cycles per layer "
                                    "(BrainChip's definition: cut after k minus cut after "
                                    "k-1):")]
    parts += ["\n### Leave one variant out (fit on five variants, predict the sixth)\n",
              (f"Median |error| over the 90 held-out layers: "
              f"{apct(fit['lovo_layer_median_abs'])}; over the six held-out Minimal rows: "
              f"{apct(fit['lovo_minimal_row_median_abs'])}; over the 18 held-out rows (law, "
              f"nsoc's mapping): {apct(fit['lovo_row_median_abs'])}.\n"), lovo_table(fit)]
    parts += ["\n### Whole models (18 rows: 6 variants x Minimal / AllNps / HwPr)\n",
              stats_line(fit["row_stats"], "Law with nsoc's mapping")]
    if check and check.get("row_stats"):
        parts.append(stats_line(check["row_stats"], "Simulator with nsoc's mapping"))
    parts.append("\n" + rows_table(fit["rows"], (check or {}).get("rows")))
    parts += ["\n### Dynamic energy and board power (18 rows)\n",
              stats_line(fit["energy_stats"], "Energy law (1 constant per synaptic event "
                                              "update)")]
    if efit:
        parts.append(stats_line(_stats([r["error"] for r in efit["rows"].values()]),
                                f"Simulator ({efit['synop_pj']:.3g} pJ per synaptic op)"))
        parts.append(f"Leave one variant out (simulator): median |error| "
                     f"{apct(median_abs(efit['lovo'].values()))}.")
    parts.append("\n" + energy_table(fit, (check or {}).get("rows")))
    parts += ["\n### AKD1000 figures (not fitted: the AKD1500 laws on the AKD1000 mapping)\n",
              akd1000_table(fit, (check or {}).get("akd1000"))]
    return "\n".join(parts)


def _constants() -> dict:
    import silicon_fit
    return silicon_fit.CONSTANTS


def _stats(errs) -> dict:
    a = np.abs(np.asarray(list(errs), float))
    return {"n": int(a.size), "median_abs": float(np.median(a)),
            "p90_abs": float(np.percentile(a, 90)), "max_abs": float(a.max())}


def measured_section(fit: dict, check: dict | None, efit: dict | None) -> str:
    """The calibration summary of README.md's "Measured" section."""
    sim_l = (check or {}).get("layer_stats")
    sim_r = (check or {}).get("row_stats")
    lines = [
        "### Timing and energy against measured silicon (AKD1500, 400 MHz)\n",
        ("`PYTHONPATH=. python bench/calibration/calibrate.py` (fit, simulation, tables; needs "
        "`../shared/silicon`). Per-NP cost laws fitted to the per-layer cycles of six "
        "AkidaNet/ImageNet variants; events drawn at the published input sparsity of every "
        "layer. Details, laws and every residual: `bench/calibration/README.md`.\n"),
        "| figure | law (closed form) | simulator | target |", "|---|---:|---:|---:|",
        (f"| fitted constants / data points | {fit['n_constants_per_layer_fit']} / "
        f"{fit['n_layer_points']} layers | same constants | |"),
        (f"| per layer, median \\|error\\| | {apct(fit['layer_stats']['median_abs'])} | "
        f"{apct(sim_l['median_abs']) if sim_l else '—'} | <= 15 % |"),
        (f"| per layer, 90th percentile | {apct(fit['layer_stats']['p90_abs'])} | "
        f"{apct(sim_l['p90_abs']) if sim_l else '—'} | <= 35 % |"),
        (f"| 18 whole-model rows, median | {apct(fit['row_stats']['median_abs'])} | "
        f"{apct(sim_r['median_abs']) if sim_r else '—'} | <= 10 % |"),
        (f"| 18 whole-model rows, worst | {apct(fit['row_stats']['max_abs'])} | "
        f"{apct(sim_r['max_abs']) if sim_r else '—'} | <= 25 % |"),
        (f"| leave one variant out, layers median | {apct(fit['lovo_layer_median_abs'])} | | "
        "<= 20 % |"),
        (f"| leave one variant out, Minimal rows median | "
        f"{apct(fit['lovo_minimal_row_median_abs'])} | | <= 20 % |"),
        (f"| leave one variant out, 18 rows median | {apct(fit['lovo_row_median_abs'])} | | "
         "<= 20 % |"),
    ]
    if efit:
        e = _stats([r["error"] for r in efit["rows"].values()])
        lovo = apct(median_abs(efit["lovo"].values()))
        lines.append(f"| dynamic energy, 18 rows, median | "
                     f"{apct(fit['energy_stats']['median_abs'])} | {apct(e['median_abs'])} "
                     f"(LOVO {lovo}) | <= 20 % |")
        b = [r["board_power_error"] for r in (check or {}).get("rows", {}).values()
             if "board_power_error" in r]
        if b:
            lines.append(f"| board power, worst of 18 | | {apct(max(abs(x) for x in b))} | "
                         "<= 10 % |")
    lines.append("\nA layer's simulated time falls with its input density (beyond each NP's "
                 "once-per-frame weight pass, in proportion to its events): "
                 "`tests/test_timing_laws.py::test_layer_time_falls_with_input_density`"
                 " and `test_cnp_time_is_events_times_filters_held` (hypothesis).  Simulator "
                 "cost: see \"other benchmark\" below (`bench/bench_timing.py`, DS-CNN KWS "
                 "frame <= 3x its functional run).")
    lines.append("\n" + _akd1000_note(fit, check))
    lines += ["\n" + akd1000_table(fit, (check or {}).get("akd1000"))]
    return "\n".join(lines)


def _akd1000_note(fit: dict, check: dict | None) -> str:
    """What the AKD1000 checks rest on (nothing fitted to them)."""
    a = fit["akd1000"]
    s = (check or {}).get("akd1000", {})
    ds, net = s.get("dscnn_1", {}), s.get("akidanet_1", {})
    mesh = "part"
    if ds.get("cycles"):
        mesh = f"{100 * (1 - a['dscnn_1']['predicted'] / ds['cycles']):.0f} %"
    return (
        "AKD1000 (same Akida 1.0 IP, nothing fitted to it; target: within 10 %): AkidaNet 0.5 "
        f"1 frame {pct(net.get('error'))} simulated ({pct(a['akidanet_1']['error'])} law).  "
        "DS-CNN KWS's input sparsity is not published: assumed "
        f"{a['dscnn_1']['sparsity']:.2f}, the pooled mean of the 84 measured AkidaNet layer "
        f"input sparsities, giving {pct(ds.get('error'))} simulated; this assumption replaced "
        "0.5 after 0.5 had given +17.6 %, so the DS-CNN figure is not independent evidence, and "
        f"{mesh} of its simulated time is mesh transfer under assumed (not calibrated) "
        f"32-bit links (the law, NP work only: {pct(a['dscnn_1']['error'])}); see "
        "`bench/calibration/README.md`, \"Reading the results\".")


def write_readmes(fit: dict, check: dict | None, efit: dict | None, root: Path) -> None:
    replace_section(root / "bench" / "calibration" / "README.md", "SILICON-FIT",
                    calibration_section(fit, check, efit))
    replace_section(root / "README.md", "SILICON-MEASURED", measured_section(fit, check, efit))

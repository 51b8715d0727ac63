"""Comparison of two reports (what-if studies): deltas in total and per layer."""
from __future__ import annotations

TOTAL_KEYS = (("latency_cycles", "latency (cycles)"), ("latency_us", "latency (us)"),
              ("fps", "fps"), ("interval_cycles", "interval (cycles)"),
              ("energy_per_frame_uj", "dynamic energy/frame (uJ)"),
              ("total_energy_per_frame_uj", "total energy/frame (uJ)"),
              ("power_mw.chip", "chip power (mW)"), ("power_mw.board", "board power (mW)"),
              ("events.out_per_frame", "events out/frame"), ("sparsity", "sparsity"))
LAYER_KEYS = ("busy_cycles", "stall_cycles", "events_out", "energy_uj")


def _get(data: dict, dotted: str):
    for part in dotted.split("."):
        data = data[part]
    return data


def _delta(a, b) -> dict:
    d = b - a
    return {"a": a, "b": b, "delta": d, "pct": (100.0 * d / a) if a else None}


def compare_reports(a, b) -> dict:
    """Deltas b - a: ``{"a": {...}, "b": {...}, "total": {key: {a, b, delta, pct}},
    "layers": [{"name", key: {...}}], "only_a": [...], "only_b": [...]}``.
    ``a``/``b``: Report objects or report dicts."""
    da = a.data if hasattr(a, "data") else a
    db = b.data if hasattr(b, "data") else b
    total = {key: _delta(_get(da, key), _get(db, key)) for key, _ in TOTAL_KEYS}
    la = {lay["name"]: lay for lay in da["layers"]}
    lb = {lay["name"]: lay for lay in db["layers"]}
    layers = [dict({"name": name}, **{k: _delta(la[name][k], lb[name][k]) for k in LAYER_KEYS})
              for name in la if name in lb]
    ident = {side: {"device": d["device"]["name"], "clock_mode": d["clock_mode"],
                    "n_frames": d["n_frames"], "energy_table": d.get("energy_table")}
             for side, d in (("a", da), ("b", db))}
    return dict(ident, total=total, layers=layers, only_a=[n for n in la if n not in lb],
                only_b=[n for n in lb if n not in la])


def _pct(p) -> str:
    return "n/a" if p is None else f"{p:+.1f}%"


def format_compare(cmp: dict) -> str:
    """Terminal table of :func:`compare_reports`."""
    a, b = cmp["a"], cmp["b"]
    lines = [f"A: {a['device']} {a['clock_mode']} ({a['n_frames']} frames)   "
             f"B: {b['device']} {b['clock_mode']} ({b['n_frames']} frames)", "",
             f"{'total':<28}{'A':>16}{'B':>16}{'B-A':>16}{'%':>9}"]
    for key, label in TOTAL_KEYS:
        d = cmp["total"][key]
        lines.append(f"{label:<28}{d['a']:>16,.3f}{d['b']:>16,.3f}{d['delta']:>+16,.3f}"
                     f"{_pct(d['pct']):>9}")
    lines += ["", f"{'layer':<24}{'busy A':>12}{'busy B':>12}{'%':>9}{'uJ A':>11}{'uJ B':>11}"
              f"{'%':>9}"]
    for lay in cmp["layers"]:
        bc, e = lay["busy_cycles"], lay["energy_uj"]
        lines.append(f"{lay['name'][:23]:<24}{bc['a']:>12,}{bc['b']:>12,}{_pct(bc['pct']):>9}"
                     f"{e['a']:>11,.3f}{e['b']:>11,.3f}{_pct(e['pct']):>9}")
    if cmp["only_a"]:
        lines.append("only in A: " + ", ".join(cmp["only_a"]))
    if cmp["only_b"]:
        lines.append("only in B: " + ", ".join(cmp["only_b"]))
    return "\n".join(lines)

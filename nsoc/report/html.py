"""``report.html``: one self-contained page (inline CSS, plots as base64 PNG) with the tables.

Plots need matplotlib (the ``report`` extra); without it the page holds the tables and a note.
Each plot is an ``<img id="plot-...">``; :data:`PLOT_IDS` lists them.
"""
from __future__ import annotations

import base64
import html
import io
import json

PLOT_IDS = ("plot-layer-latency", "plot-energy-breakdown", "plot-mesh-heatmap",
            "plot-frame-latency")

_CSS = """body{font-family:sans-serif;margin:1.5em;color:#222}h1{font-size:1.4em}
h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85em;margin:.4em 0}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#f0f0f0}td.l,th.l{text-align:left}img{max-width:100%;border:1px solid #eee}
.note{background:#fff7d6;padding:.5em;border:1px solid #e6d58a}"""


def _esc(value) -> str:
    return html.escape(str(value))


def _num(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _esc(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.1f}"


def _table(headers, rows, left=1) -> str:
    out = ["<table><tr>"]
    out += [f"<th class='l'>{_esc(h)}</th>" if i < left else f"<th>{_esc(h)}</th>"
            for i, h in enumerate(headers)]
    out.append("</tr>")
    for row in rows:
        out.append("<tr>" + "".join(
            f"<td class='l'>{_esc(v)}</td>" if i < left else f"<td>{_num(v)}</td>"
            for i, v in enumerate(row)) + "</tr>")
    out.append("</table>")
    return "".join(out)


# ----- plots -------------------------------------------------------------------------------------
def _png(fig) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plot_layer_latency(data, Figure):
    layers = data["layers"]
    names = [lay["name"] for lay in layers]
    fig = Figure(figsize=(10, 0.8 + 0.5 * max(len(names), 1) * 0.6 + 2))
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    y = list(range(len(names)))
    us = 1e6 / data["clock_hz"]
    ax1.barh(y, [(lay["end_cycle"] - lay["start_cycle"]) * us for lay in layers],
             left=[lay["start_cycle"] * us for lay in layers], color="#4c72b0")
    ax1.set_xlabel("frame 0: start to end (us)")
    ax1.set_title("per-layer latency")
    ax2.barh(y, [lay["busy_cycles"] * us for lay in layers], color="#55a868", label="busy")
    ax2.barh(y, [lay["stall_cycles"] * us for lay in layers],
             left=[lay["busy_cycles"] * us for lay in layers], color="#c44e52", label="stall")
    ax2.set_xlabel("busiest NP, all frames (us)")
    ax2.legend(loc="lower right", fontsize=8)
    ax1.set_yticks(y, names, fontsize=8)
    ax1.invert_yaxis()
    return fig


def _plot_energy(data, Figure):
    fig = Figure(figsize=(10, 4))
    ax1, ax2 = fig.subplots(1, 2)
    bd = {k: v for k, v in data["energy_breakdown_uj"].items() if v > 0}
    keys = list(bd) or ["(none)"]
    ax1.barh(keys, [bd.get(k, 0.0) for k in keys], color="#8172b2")
    ax1.set_xlabel("uJ per frame")
    ax1.set_title("energy by action (incl. static)")
    ax1.invert_yaxis()
    ax1.tick_params(axis="y", labelsize=8)
    names = [lay["name"] for lay in data["layers"]]
    ax2.barh(names, [lay["energy_uj"] for lay in data["layers"]], color="#dd8452")
    ax2.set_xlabel("dynamic uJ per frame")
    ax2.set_title("energy by layer")
    ax2.invert_yaxis()
    ax2.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    return fig


def _np_utilisation(data) -> dict:
    util: dict = {}
    for n in data["nps"]:
        key = (n["col"], n["row"], n["id"])
        busy, span = util.get(key, (0, 0))
        util[key] = (busy + n["busy_cycles"],
                     max(span, n["busy_cycles"] + n["idle_cycles"] + n["stall_cycles"]))
    return {k: (b / s if s else 0.0) for k, (b, s) in util.items()}


def _plot_mesh(data, Figure):
    from matplotlib import cm, colormaps, colors
    from matplotlib.patches import FancyArrow, Rectangle
    util = _np_utilisation(data)
    nps = {tuple(n) for n in data["device"]["nps"]} | set(util)
    nodes = {tuple(n) for n in data["device"]["nodes"]} | {(c, r) for c, r, _ in nps}
    fig = Figure(figsize=(8, 6))
    ax = fig.subplots()
    if not nodes:
        ax.text(0.5, 0.5, "no NP mapped", ha="center")
        return fig
    ucmap, lcmap = colormaps["viridis"], colormaps["Reds"]
    unorm = colors.Normalize(0.0, max([1.0] + list(util.values())))
    for c, r in nodes:
        ax.add_patch(Rectangle((c - 0.4, r - 0.4), 0.8, 0.8, fill=False, ec="#444", lw=1))
    for c, r, i in nps:
        dx, dy = (i % 2) * 0.4 - 0.4, (i // 2 % 2) * 0.4 - 0.4
        face = ucmap(unorm(util[(c, r, i)])) if (c, r, i) in util else "#dddddd"
        ax.add_patch(Rectangle((c + dx + 0.02, r + dy + 0.02), 0.36, 0.36, fc=face, ec="white"))
    mesh_links = [lk for lk in data["links"]
                  if isinstance(lk["src"], list) and isinstance(lk["dst"], list)]
    fmax = max([lk["flits"] for lk in mesh_links] + [1])
    for lk in mesh_links:
        if not lk["flits"]:
            continue
        (c0, r0), (c1, r1) = lk["src"], lk["dst"]
        dc, dr = c1 - c0, r1 - r0
        off = 0.08  # opposite directions side by side
        x0, y0 = c0 + 0.5 * dc - 0.2 * dc + off * dr, r0 + 0.5 * dr - 0.2 * dr - off * dc
        frac = lk["flits"] / fmax
        ax.add_patch(FancyArrow(x0, y0, 0.4 * dc, 0.4 * dr, width=0.02 + 0.06 * frac,
                                length_includes_head=True, head_width=0.08 + 0.08 * frac,
                                color=lcmap(0.3 + 0.7 * frac)))
    cols = [c for c, _ in nodes]
    rows = [r for _, r in nodes]
    ax.set_xlim(min(cols) - 0.7, max(cols) + 0.7)
    ax.set_ylim(max(rows) + 0.7, min(rows) - 0.7)
    ax.set_aspect("equal")
    ax.set_xticks(sorted(set(cols)))
    ax.set_yticks(sorted(set(rows)))
    ax.set_xlabel("mesh column")
    ax.set_ylabel("mesh row")
    ax.set_title(f"NP utilisation (busy / span) and link traffic (max {fmax:,} flits)")
    sm = cm.ScalarMappable(norm=unorm, cmap=ucmap)
    fig.colorbar(sm, ax=ax, label="NP utilisation (grey: unused)")
    return fig


def _plot_frames(data, Figure):
    fig = Figure(figsize=(7, 3.2))
    ax = fig.subplots()
    us = [f * 1e6 / data["clock_hz"] for f in data["frames"]]
    ax.hist(us, bins=min(max(len(us), 1), 30), color="#64b5cd", ec="#2a6f86")
    ax.axvline(1e6 / data["fps"], color="#c44e52", ls="--",
               label=f"steady-state interval {1e6 / data['fps']:,.1f} us")
    ax.set_xlabel("frame latency (us)")
    ax.set_ylabel("frames")
    ax.set_title(f"latency over {len(us)} frame(s)")
    ax.legend(fontsize=8)
    return fig


_PLOTS = (("plot-layer-latency", "Per-layer latency", _plot_layer_latency),
          ("plot-energy-breakdown", "Energy breakdown", _plot_energy),
          ("plot-mesh-heatmap", "Mesh: NP utilisation and link traffic", _plot_mesh),
          ("plot-frame-latency", "Latency distribution over frames", _plot_frames))


def _plots_html(data) -> str:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return ("<p class='note'>matplotlib is not installed: plots omitted. Install the report "
                "extra (<code>pip install nsoc[report]</code>) and re-write the report.</p>")
    out = []
    for pid, title, fn in _PLOTS:
        fig = fn(data, Figure)
        out.append(f"<h2>{_esc(title)}</h2><img id='{pid}' alt='{_esc(title)}' "
                   f"src='data:image/png;base64,{_png(fig)}'>")
    return "\n".join(out)


# ----- page --------------------------------------------------------------------------------------
def report_html(data: dict) -> str:
    """The whole page as a string."""
    dev = data["device"]
    summary = [("device", dev["name"]), ("IP version", dev.get("ip_version")),
               ("clock mode", data["clock_mode"]), ("clock (MHz)", data["clock_hz"] / 1e6),
               ("frames simulated", data["n_frames"]),
               ("latency, frame 0 (cycles)", data["latency_cycles"]),
               ("latency, frame 0 (us)", data["latency_us"]),
               ("sustained fps", data["fps"]),
               ("chip dynamic energy per frame (uJ)", data["energy_per_frame_uj"]),
               ("static energy per frame (uJ)", data["static_energy_per_frame_uj"]),
               ("board energy per frame (uJ)", data["board_energy_per_frame_uj"]),
               ("chip power (mW)", data["power_mw"]["chip"]),
               ("board power (mW)", data["power_mw"]["board"]),
               ("events out per frame", data["events"]["out_per_frame"]),
               ("sparsity", data["sparsity"]), ("energy table", data.get("energy_table", ""))]
    if data.get("model"):
        summary[1:1] = [("model", json.dumps(data["model"]["metadata"])),
                        ("model MACs", data["model"]["macs"])]
    full = data["total_energy_per_frame_uj"] or 1.0
    breakdown = [(k, v, 100 * v / full) for k, v in data["energy_breakdown_uj"].items()]
    lay_rows = [(lay["name"], lay["type"], " ".join(lay.get("np_types", [])), lay["n_nps"],
                 lay["start_cycle"], lay["end_cycle"], lay["busy_cycles"], lay["stall_cycles"],
                 lay["events_in"], lay["events_out"], lay["sparsity"], lay["energy_uj"])
                for lay in data["layers"]]
    np_rows = [(f"({n['col']},{n['row']},{n['id']})", n["type"], n["layer"], n["busy_cycles"],
                n["stall_cycles"], n["idle_cycles"], n["utilisation"], n["events_in"],
                n["events_out"], n["energy_uj"]) for n in data["nps"]]
    link_rows = [(f"{lk['src']} -> {lk['dst']}", lk["flits"], lk["busy_cycles"],
                  lk["mean_utilisation"], lk["peak_utilisation"])
                 for lk in data["links"] if lk["flits"]]
    e_par = [(k, v["value"], v.get("unit", ""), v.get("source", ""))
             for k, v in data["parameters"]["energy"].items()]
    t_par = [(k, json.dumps(v)) for k, v in data["parameters"]["timing"].items()]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>nsoc report: {_esc(dev['name'])}</title><style>{_CSS}</style></head><body>",
        f"<h1>nsoc report: {_esc(dev['name'])}, {data['fps']:,.1f} fps, "
        f"{data['energy_per_frame_uj']:,.2f} uJ/frame</h1>",
        _table(["quantity", "value"], summary),
        "<h2>Energy per frame by action</h2>",
        _table(["action", "uJ per frame", "% of total"], breakdown),
        _plots_html(data),
        "<h2>Layers</h2>",
        _table(["layer", "type", "NP types", "NPs", "start", "end", "busy", "stall",
                "events in", "events out", "sparsity", "energy uJ"], lay_rows, left=3),
        "<h2>NPs</h2>",
        _table(["NP", "type", "layer", "busy", "stall", "idle", "utilisation", "events in",
                "events out", "energy uJ"], np_rows, left=3),
        "<h2>Links (with traffic)</h2>",
        _table(["link", "flits", "busy cycles", "mean util.", "peak util."], link_rows),
        "<h2>Energy parameters</h2>",
        _table(["parameter", "value", "unit", "source"], e_par),
        "<h2>Timing parameters</h2>",
        _table(["parameter", "value"], t_par, left=2),
        f"<p>nsoc {_esc(data['nsoc_version'])}, report schema {data['schema_version']}.</p>",
        "</body></html>"]
    return "\n".join(parts)

"""``summary.html`` of a sweep: one self-contained page to choose a configuration from.

Plots (matplotlib, the ``report`` extra; without it the page holds the tables and a note):
latency vs energy per device with each device's Pareto front, NPs and passes per (model, device,
mode), and per-model bars of the best latency and energy on each device.  Tables: the Pareto-
optimal configurations, the configurations that failed, and every row (the CSV holds them all).
"""
from __future__ import annotations

from ..fileio import write_atomic
from .html import _CSS, _esc, _png, _table

PLOT_IDS = ("plot-pareto", "plot-nps", "plot-models")
MAX_TABLE_ROWS = 2000
MAX_BARS = 60


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both coordinates (both minimised), in
    increasing first coordinate."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1]))
    front, best = [], float("inf")
    for i in order:
        if points[i][1] < best:
            front.append(i)
            best = points[i][1]
    return front


def _ok(rows):
    return [r for r in rows if r.get("status") == "ok"]


def _by(rows, key):
    out: dict = {}
    for r in rows:
        out.setdefault(r[key], []).append(r)
    return out


def _label(r) -> str:
    params = [f"{k}={v}" for k, v in sorted({**r.get("timing", {}),
                                             **r.get("energy", {})}.items())]
    return " ".join([r["model"], r["input"], r["mode"], r["clock_mode"], f"{r['frames']}f"]
                    + params)


MARKERS = {"AllNps": "o", "Minimal": "s", "HwPr": "^"}


def _scale(ax, xs, ys) -> None:
    """Log axes for values spanning more than a factor 20, linear otherwise (readable ticks)."""
    for values, setter in ((xs, ax.set_xscale), (ys, ax.set_yscale)):
        low, high = min(values), max(values)
        setter("log" if low > 0 and high / low > 20 else "linear")


def _plot_pareto(rows, Figure):
    from matplotlib.lines import Line2D
    devices = _by(_ok(rows), "device")
    n = max(len(devices), 1)
    cols = min(n, 3)
    nrows = -(-n // cols)
    height = 3.6 * nrows + 0.9
    fig = Figure(figsize=(4.6 * cols, height))
    axes = fig.subplots(nrows, cols, squeeze=False).ravel()
    models = sorted({r["model"] for r in _ok(rows)})
    colors = {m: f"C{i % 10}" for i, m in enumerate(models)}
    for ax, (dev, drows) in zip(axes, sorted(devices.items()), strict=False):
        for r in drows:
            ax.scatter(r["latency_us"], r["energy_uj"], s=16, color=colors[r["model"]],
                       marker=MARKERS.get(r["mode"], "o"), alpha=0.75)
        pts = [(r["latency_us"], r["energy_uj"]) for r in drows]
        front = [pts[i] for i in pareto_front(pts)]
        ax.step(*zip(*front, strict=True), where="post", color="k", lw=1)
        _scale(ax, [p[0] for p in pts], [p[1] for p in pts])
        ax.set_title(dev, fontsize=10)
        ax.set_xlabel("latency (us)")
        ax.set_ylabel("dynamic energy (uJ/frame)")
    for ax in axes[len(devices):]:
        ax.axis("off")
    handles = [Line2D([], [], ls="", marker="o", color=colors[m], label=m) for m in models]
    handles += [Line2D([], [], ls="", marker=mk, color="grey", label=mode)
                for mode, mk in MARKERS.items() if any(r["mode"] == mode for r in rows)]
    handles.append(Line2D([], [], color="k", lw=1, label="Pareto front"))
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 4), fontsize=8)
    legend_in = 0.25 * -(-len(handles) // 4) + 0.15  # legend height in inches
    fig.tight_layout(rect=(0, legend_in / height, 1, 1))
    return fig


def _combos(rows):
    seen: dict = {}
    for r in _ok(rows):
        seen.setdefault((r["model"], r["device"], r["mode"]), r)
    return list(seen.items())[:MAX_BARS]


def _plot_nps(rows, Figure):
    combos = _combos(rows)
    fig = Figure(figsize=(9, 1 + 0.22 * max(len(combos), 1)))
    ax = fig.subplots()
    names = [" / ".join(k) for k, _ in combos]
    ax.barh(names, [r["nps"] for _, r in combos], color="#4c72b0", label="NPs")
    for i, (_, r) in enumerate(combos):
        ax.text(r["nps"], i, f" {r['passes']} pass{'es' if r['passes'] != 1 else ''}",
                va="center", fontsize=7)
    ax.set_xlabel("NPs used")
    ax.set_title("NP use per model / device / mode")
    ax.tick_params(axis="y", labelsize=7)
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


def _plot_models(rows, Figure):
    ok = _ok(rows)
    models = sorted({r["model"] for r in ok})
    devices = sorted({r["device"] for r in ok})
    fig = Figure(figsize=(10, 1.5 + 0.35 * max(len(models), 1)))
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    h = 0.8 / max(len(devices), 1)
    for j, dev in enumerate(devices):
        lat, en = [], []
        for m in models:
            sel = [r for r in ok if r["model"] == m and r["device"] == dev]
            lat.append(min((r["latency_us"] for r in sel), default=0))
            en.append(min((r["energy_uj"] for r in sel), default=0))
        ys = [i + j * h for i in range(len(models))]
        ax1.barh(ys, lat, height=h, label=dev, color=f"C{j % 10}")
        ax2.barh(ys, en, height=h, color=f"C{j % 10}")
    ax1.set_yticks([i + h * (len(devices) - 1) / 2 for i in range(len(models))], models,
                   fontsize=8)
    ax1.invert_yaxis()
    ax1.set_xscale("log")
    ax2.set_xscale("log")
    ax1.set_xlabel("best latency (us)")
    ax2.set_xlabel("best dynamic energy (uJ/frame)")
    ax1.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _plots(rows) -> str:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return ("<p class='note'>matplotlib is not installed: plots omitted. Install the report "
                "extra: <code>pip install 'nsoc[report]'</code></p>")
    if not _ok(rows):
        return "<p class='note'>no configuration succeeded: nothing to plot</p>"
    out = []
    for pid, fn, title in zip(PLOT_IDS, (_plot_pareto, _plot_nps, _plot_models),
                              ("Latency vs energy per device (Pareto front in black)",
                               "NP use", "Per-model best latency and energy"), strict=False):
        out.append(f"<h2>{_esc(title)}</h2><img id='{pid}' src='data:image/png;base64,"
                   f"{_png(fn(rows, Figure))}'>")
    return "".join(out)


_COLS = ("model", "input", "device", "mode", "clock_mode", "frames", "latency_us", "fps",
         "energy_uj", "board_mw", "nps", "passes")


def _pareto_table(rows) -> str:
    out = []
    for _dev, drows in sorted(_by(_ok(rows), "device").items()):
        pts = [(r["latency_us"], r["energy_uj"]) for r in drows]
        for i in pareto_front(pts):
            out.append(drows[i])
    return _table(["device", "configuration", "latency_us", "fps", "energy_uj", "board_mw",
                   "nps", "passes"],
                  [[r["device"], _label(r)] + [r[k] for k in ("latency_us", "fps", "energy_uj",
                                                               "board_mw", "nps", "passes")]
                   for r in out], left=2)


def summary_html(rows: list[dict], title: str = "sweep") -> str:
    """The page (see the module docstring) for result rows as written to results.jsonl."""
    from ..version import __version__
    ok = _ok(rows)
    errors = [r for r in rows if r.get("status") != "ok"]
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>nsoc sweep "
             f"{_esc(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>nsoc sweep: {_esc(title)}</h1>",
             f"<p>{len(rows)} configurations: {len(ok)} simulated, {len(errors)} errors; "
             f"{len({r['model'] for r in rows})} models, {len({r['device'] for r in rows})} "
             f"devices. nsoc {_esc(__version__)}.</p>", _plots(rows),
             "<h2>Pareto-optimal configurations (latency, dynamic energy)</h2>",
             _pareto_table(rows)]
    if errors:
        parts.append("<h2>Configurations that did not run</h2>")
        parts.append(_table(["model", "device", "mode", "status", "error"],
                            [[r["model"], r["device"], r["mode"], r["status"], r["error"]]
                             for r in errors[:MAX_TABLE_ROWS]], left=5))
    parts.append("<h2>All configurations</h2>")
    if len(rows) > MAX_TABLE_ROWS:
        parts.append(f"<p class='note'>first {MAX_TABLE_ROWS} of {len(rows)} rows; "
                     f"results.csv holds them all</p>")
    parts.append(_table(list(_COLS), [[r.get(k) if r.get(k) is not None else "" for k in _COLS]
                                      for r in rows[:MAX_TABLE_ROWS]], left=6))
    parts.append("</body></html>\n")
    return "".join(parts)


def write_summary_html(rows: list[dict], path: str, title: str = "sweep") -> str:
    """Write :func:`summary_html` atomically to ``path``."""
    write_atomic(path, summary_html(rows, title))
    return path


__all__ = ["summary_html", "write_summary_html", "pareto_front", "PLOT_IDS"]

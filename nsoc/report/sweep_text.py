"""Text of sweeps and benchmarks: the comparison table ``nsoc bench`` prints and the closing
lines of ``nsoc sweep``."""
from __future__ import annotations

TABLE_COLUMNS = (("model", "model", "<"), ("device", "device", "<"), ("mode", "mode", "<"),
                 ("latency_us", "latency us", ">"), ("fps", "fps", ">"),
                 ("energy_uj", "energy uJ/frame", ">"), ("board_mw", "power mW", ">"),
                 ("nps", "NPs", ">"), ("passes", "passes", ">"),
                 ("software_layers", "SW layers", ">"))


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:,.3g}"
    return str(value)


def format_table(rows: list[dict]) -> str:
    """One line per row: model, device, mode, latency, fps, energy, board power, NPs, passes,
    layers left to software (not timed: their host time is not in the latency); a row that did
    not run shows its error instead."""
    cells = [[h for _, h, _ in TABLE_COLUMNS]]
    errors = []
    for r in rows:
        if r.get("status") == "ok":
            cells.append([_cell(r.get(k)) for k, _, _ in TABLE_COLUMNS])
        else:
            cells.append([_cell(r.get(k)) for k, _, _ in TABLE_COLUMNS[:3]]
                         + ["error"] + ["-"] * (len(TABLE_COLUMNS) - 4))
            errors.append(f"  {r['model']} / {r['device']} / {r['mode']}: {r.get('error')}")
    widths = [max(len(c[i]) for c in cells) for i in range(len(TABLE_COLUMNS))]
    lines = ["  ".join(c.ljust(w) if a == "<" else c.rjust(w)
                       for c, w, (_, _, a) in zip(row, widths, TABLE_COLUMNS, strict=True)
                       ).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if errors:
        lines += ["", "configurations that did not run:"] + errors
    return "\n".join(lines)


def format_sweep_result(result) -> str:
    """Closing lines of ``nsoc sweep`` / ``nsoc bench`` (a :class:`nsoc.sweep.SweepResult`)."""
    lines = [f"configurations: {len(result.rows)} ({result.computed} computed, {result.cached} "
             f"from the cache), {result.errors} error rows" +
             (f", {result.failed} failed (rerun to retry them)" if result.failed else "")]
    for reason, count in sorted(result.skipped.items()):
        lines.append(f"left out: {count} pairs with a {reason}")
    if result.computed:
        lines.append(f"engine: {result.engine}; {result.seconds:.1f} s, "
                     f"{result.configs_per_second:.2f} configurations/s (after "
                     f"{result.setup_seconds:.1f} s reading or building the models)")
    for kind, path in result.paths.items():
        lines.append(f"{kind}: {path}")
    return "\n".join(lines)




def format_dataset_result(result, paths: dict | None = None) -> str:
    """Lines ``nsoc run`` prints after a sharded run (a :class:`nsoc.sweep.dataset.
    DatasetResult`): samples, output, throughput, accuracy, per-frame latency and energy."""
    lines = [f"samples: {result.n}",
             f"output: {result.dtype} {tuple(result.shape)} -> {result.out_path}",
             f"throughput: {result.n / max(result.seconds, 1e-9):,.1f} samples/s "
             f"({result.seconds:.3f} s, {result.shards} shards, {result.engine})"]
    if result.top1 is not None:
        lines.append(f"accuracy: top-1 {100 * result.top1:.2f} %, top-5 {100 * result.top5:.2f} %")
    summary = result.frame_summary()
    if summary:
        for name, unit in (("latency_us", "us"), ("energy_uj", "uJ")):
            s = summary[name]
            label = "latency" if name == "latency_us" else "dynamic energy"
            lines.append(f"per-frame {label} over {result.n} frames: mean {s['mean']:,.3f} "
                         f"{unit}, p50 {s['p50']:,.3f}, p99 {s['p99']:,.3f} (min {s['min']:,.3f},"
                         f" max {s['max']:,.3f})")
    for kind, path in (paths or {}).items():
        lines.append(f"{kind}: {path}")
    return "\n".join(lines)


__all__ = ["format_table", "format_sweep_result", "format_dataset_result"]

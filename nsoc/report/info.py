"""Human-readable descriptions of a model: the layer table of ``nsoc info`` and ``Model.summary``.
"""
from __future__ import annotations

import numpy as np


def weight_memory_bytes(layer) -> int:
    """Bytes of weights at their bit width (packed: weights_bits per value)."""
    total = 0
    bits = layer.params.get("weights_bits", 8)
    for name in ("weights", "weights_pw"):
        if name in layer.variables:
            total += (layer.variables[name].size * bits + 7) // 8
    return total


def _pair(values: tuple[int, int]) -> str:
    return f"{values[0]}" if values[0] == values[1] else f"{values[0]}x{values[1]}"


def _describe_params(layer) -> str:
    """Short geometry and size description, e.g. ``k3 s2 same max2 relu f64``."""
    p = layer.params
    parts = []
    if layer.kernel is not None:
        parts.append(f"k{_pair(layer.kernel)} s{_pair(layer.stride)}")
    if layer.padding is not None:
        parts.append(layer.padding)
    pool = layer.pool
    if pool.type == "max":
        parts.append(f"max{_pair(pool.size)}")
    elif pool.type == "avg":
        parts.append("gap")
    if p.get("activation"):
        parts.append("relu")
    if "filters" in p:
        parts.append(f"f{p['filters']}")
    if "units" in p:
        parts.append(f"u{p['units']}")
    return " ".join(parts)


def layer_rows(model) -> list[dict]:
    """One dict per layer: name, type, dims, bit widths, parameters, MACs, weight bytes."""
    rows = []
    for layer in model.layers:
        p = layer.params
        rows.append({
            "name": layer.name, "type": layer.TYPE,
            "input": "x".join(map(str, layer.input_dims)),
            "output": "x".join(map(str, layer.output_dims)),
            "w_bits": p.get("weights_bits", ""),
            "in_bits": layer.input_bits,
            "out_bits": layer.output_bits if layer.TYPE != "Dequantizer" else "f32",
            "params": _describe_params(layer),
            "macs": layer.macs, "weight_bytes": weight_memory_bytes(layer)})
    return rows


def format_table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """Fixed-width text table; ``columns`` is a list of (key, header)."""
    cells = [[h for _, h in columns]] + [[str(r[k]) for k, _ in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_summary(model) -> str:
    rows = layer_rows(model)
    table = format_table(rows, [("name", "layer"), ("type", "type"), ("input", "input"),
                                ("output", "output"), ("w_bits", "w"), ("in_bits", "in"),
                                ("out_bits", "out"), ("params", "parameters"),
                                ("macs", "MACs"), ("weight_bytes", "weight B")])
    total_w = sum(r["weight_bytes"] for r in rows)
    head = (f"nsoc model: Akida {model.ip_version}, {len(model.layers)} layers, input "
            f"{'x'.join(map(str, model.input_shape))}, output "
            f"{'x'.join(map(str, model.output_shape))}")
    meta = "".join(f"\n  {k}: {v}" for k, v in sorted(model.metadata.items()))
    foot = f"total: {model.macs:,} MACs per frame, {total_w:,} B of weights"
    return f"{head}{meta}\n{table}\n{foot}"


def top1_histogram(outputs: np.ndarray) -> dict[int, int]:
    """Counts of the arg-max class over a batch of (N, 1, 1, C) outputs."""
    flat = outputs.reshape(outputs.shape[0], -1)
    classes, counts = np.unique(flat.argmax(axis=1), return_counts=True)
    return {int(c): int(n) for c, n in zip(classes, counts, strict=False)}

"""The report object: timing (cycle-level run) + energy (energy model) + model and mapping facts.

:class:`Report` holds the JSON-ready dict written to ``report.json`` (``Report.data``) and, when
built from a simulation, the :class:`~nsoc.hardware.timing_result.TimingResult` and
:class:`~nsoc.hardware.energy.EnergyResult` it came from.
"""
from __future__ import annotations

import math

from .schema import SCHEMA_NAME, SCHEMA_VERSION, validate_report


def _device_dict(device, name: str) -> dict:
    mesh = getattr(device, "mesh", None)
    out = {"name": getattr(device, "name", name) if device is not None else name,
           "ip_version": getattr(device, "ip_version", None),
           "hw_version": getattr(device, "hw_version", None), "nodes": [], "nps": []}
    if mesh is not None:
        out["nodes"] = [list(n) for n in mesh.nodes]
        out["nps"] = [[n.ident.col, n.ident.row, n.ident.id] for n in mesh.nps]
    return out


def _mapping_dict(mapping) -> dict:
    if mapping is None:
        return {"sequences": [], "component_count": {}}
    return {"sequences": [s.to_dict() for s in mapping.sequences],
            "component_count": {str(k): int(v) for k, v in mapping.component_count.items()}}


def _model_dict(model) -> dict:
    return {"ip_version": model.ip_version, "n_layers": len(model.layers),
            "input_shape": [int(v) for v in model.input_shape],
            "output_shape": [int(v) for v in model.output_shape], "macs": int(model.macs),
            "metadata": dict(model.metadata)}


def _endpoint(end):
    """A link end: [col, row] for a mesh node, the channel's name for a DMA channel."""
    if isinstance(end, (tuple, list)) and len(end) == 2 and all(
            isinstance(v, (int,)) or hasattr(v, "__index__") for v in end):
        return [int(end[0]), int(end[1])]
    return str(end)


def _finite(value: float) -> float:
    return float(value) if math.isfinite(value) else 0.0


def report_dict(model, mapping, timing, energy) -> dict:
    """The ``report.json`` dict of a simulated run (see ``report.schema.json``)."""
    from ..version import __version__
    t = timing.to_dict()
    n = max(int(timing.n_frames), 1)
    e_layers = {lay["name"]: lay for lay in energy.layers}
    layers = []
    for lay in t["layers"]:
        el = e_layers.get(lay["name"], {"energy_uj": 0.0, "breakdown_uj": {}})
        layers.append(dict(lay, energy_uj=el["energy_uj"],
                           energy_breakdown_uj=dict(el["breakdown_uj"])))
    nps = []
    for npd, en in zip(t["nps"], energy.nps, strict=False):
        span = npd["busy_cycles"] + npd["idle_cycles"] + npd["stall_cycles"]
        nps.append(dict(npd, utilisation=npd["busy_cycles"] / span if span else 0.0,
                        energy_uj=en["energy_uj"]))
    links = [dict(lk.to_dict(), src=_endpoint(lk.src), dst=_endpoint(lk.dst))
             for lk in timing.links]
    ev_in = sum(lay["events_in"] for lay in t["layers"])
    ev_out = sum(lay["events_out"] for lay in t["layers"])
    sizes = {}
    if model is not None:
        sizes = {lay.name: math.prod(lay.output_dims) for lay in model.layers}
    outputs = sum(sizes.get(lay["name"], 0) for lay in t["layers"]) * n
    sparsity = (1.0 - min(ev_out / outputs, 1.0)) if outputs else (
        sum(lay["sparsity"] for lay in t["layers"]) / max(len(t["layers"]), 1))
    data = {"schema": SCHEMA_NAME, "schema_version": SCHEMA_VERSION, "nsoc_version": __version__,
            "model": _model_dict(model) if model is not None else None,
            "device": _device_dict(getattr(mapping, "device", None), t["device"]),
            "mapping": _mapping_dict(mapping)}
    for key in ("clock_mode", "clock_hz", "n_frames", "latency_cycles", "latency_us", "fps",
                "frames", "interval_cycles", "total_cycles", "reconfig_cycles", "program_cycles",
                "critical_path", "actions"):
        data[key] = t[key]
    data.update(layers=layers, nps=nps, links=links,
                events={"in": ev_in, "out": ev_out, "in_per_frame": ev_in / n,
                        "out_per_frame": ev_out / n},
                sparsity=_finite(sparsity))
    e = energy.to_dict()
    for key in ("energy_per_frame_uj", "static_energy_per_frame_uj", "total_energy_per_frame_uj",
                "board_energy_per_frame_uj", "energy_breakdown_uj", "static_mw", "power_mw"):
        data[key] = e[key]
    data["energy_table"] = e["table"]
    data["parameters"] = {"timing": _jsonable(t.get("params", {})), "energy": e["params"]}
    return data


def _jsonable(obj):
    """Plain-JSON copy of parameter dicts (tuples to lists, numpy scalars to Python)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):
        return obj.item()
    return obj


class Report:
    """A simulation report: ``data`` (the report.json dict), ``timing`` and ``energy`` (None for
    a report loaded from a file).  ``report["fps"]`` reads a key of ``data``."""

    def __init__(self, data: dict, timing=None, energy=None):
        self.data = data
        self.timing = timing
        self.energy = energy

    @classmethod
    def from_results(cls, model, mapping, timing, energy) -> Report:
        return cls(report_dict(model, mapping, timing, energy), timing, energy)

    @classmethod
    def from_dict(cls, data: dict) -> Report:
        validate_report(data)
        return cls(data)

    def __getitem__(self, key):
        return self.data[key]

    def __contains__(self, key):
        return key in self.data

    @property
    def fps(self) -> float:
        return self.data["fps"]

    @property
    def latency_us(self) -> float:
        return self.data["latency_us"]

    @property
    def energy_per_frame_uj(self) -> float:
        return self.data["energy_per_frame_uj"]

    @property
    def power_mw(self) -> dict:
        return self.data["power_mw"]

    def to_dict(self) -> dict:
        return self.data

    def validate(self) -> None:
        """Raise :class:`ReportError` when the data breaks ``report.schema.json``."""
        validate_report(self.data)

    def summary(self) -> str:
        from .text import format_summary
        return format_summary(self.data)

    def write(self, out_dir, html: bool = True) -> dict:
        """Write report.json, layers.csv and report.html into ``out_dir``; returns the paths."""
        from .writers import write_report
        return write_report(self, out_dir, html=html)

    def __repr__(self):
        d = self.data
        return (f"<nsoc.report.Report {d['device']['name']} latency {d['latency_us']:.1f} us, "
                f"{d['fps']:.1f} fps, {d['energy_per_frame_uj']:.2f} uJ/frame, "
                f"board {d['power_mw']['board']:.1f} mW>")

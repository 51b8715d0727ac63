"""One sweep configuration on a worker: model, frames and mapping (each cached per process)
-> simulate -> energy -> one result row.

Each process keeps small caches keyed by content hash, so a worker decodes a model once, runs
the functional pass once per (model, frames) and re-uses both for every device, mode and
parameter point it is given.  A configuration that fails (cannot map, bad parameter) returns an
error row; only programming errors propagate.
"""
from __future__ import annotations

import time
from collections import OrderedDict

import numpy as np

from ..errors import NsocError

_MODELS: OrderedDict = OrderedDict()  # model hash -> Model
_FRAMES: OrderedDict = OrderedDict()  # (model hash, input hash, frames) -> (x, activations)
_MAPPINGS: OrderedDict = OrderedDict()  # (model hash, device, mode) -> Mapping
MAX_MODELS, MAX_FRAMES, MAX_MAPPINGS = 8, 4, 16

#: Metric columns of a result row, in CSV order (None in an error row).
METRICS = ("latency_cycles", "latency_us", "fps", "energy_uj", "total_energy_uj",
           "board_energy_uj", "chip_mw", "board_mw", "nps", "passes", "sequences",
           "software_layers")

#: Counters of cache misses in this process (tests check that models load once per worker).
STATS = {"model_loads": 0, "forward_runs": 0}


def _remember(cache: OrderedDict, key, value, limit: int):
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > limit:
        cache.popitem(last=False)
    return value


def cached_model(model_hash: str, data: bytes):
    """The Model of ``data`` (decoded once per process and hash)."""
    if model_hash in _MODELS:
        _MODELS.move_to_end(model_hash)
        return _MODELS[model_hash]
    from ..model import Model
    STATS["model_loads"] += 1
    return _remember(_MODELS, model_hash, Model.from_buffer(data), MAX_MODELS)


def cached_frames(model, model_hash: str, task: dict, x_file):
    """(frames, all-layer activations) of a task's input, computed once per process; with a
    sparsity profile the profiled layers' input events are drawn at its densities (seeded by
    the input's seed)."""
    key = (model_hash, task["input_hash"], task["config"]["frames"])
    if key in _FRAMES:
        _FRAMES.move_to_end(key)
        return _FRAMES[key]
    from .sources import random_frames
    cfg = task["config"]
    x = x_file if x_file is not None else random_frames(model, cfg["frames"],
                                                        cfg["input"]["seed"])
    STATS["forward_runs"] += 1
    acts = model.forward(x, outputs="all")
    if cfg["input"]["sparsity"] is not None:  # events drawn at the profile's densities
        from ..hardware.sparsity import apply_profile
        acts = apply_profile(model, acts, cfg["input"]["sparsity"], seed=cfg["input"]["seed"])
    return _remember(_FRAMES, key, (x, acts), MAX_FRAMES)


def cached_mapping(model, model_hash: str, cfg: dict):
    """The :class:`~nsoc.hardware.types.Mapping` of a configuration, computed once per
    process (the timing plan cache is keyed by the mapping's identity)."""
    from .sources import make_device
    key = (model_hash, cfg["device"]["label"], cfg["mode"])
    if key in _MAPPINGS:
        _MAPPINGS.move_to_end(key)
        return _MAPPINGS[key]
    device = make_device(_device_ref(cfg["device"]), model.ip_version)
    return _remember(_MAPPINGS, key, model.map(device, mode=cfg["mode"]), MAX_MAPPINGS)


def simulate_config(model, mapping, x, activations, cfg: dict) -> dict:
    """Simulate and estimate energy for one configuration (the :mod:`nsoc.pipeline` stages on
    the cached mapping and activations); the metric columns."""
    from types import MappingProxyType

    from ..pipeline import Activations, SimOptions, energy_stage, simulate_stage
    options = SimOptions(device=mapping.device, mode=mapping.mode, hw_only=mapping.hw_only,
                         clock_mode=cfg["clock_mode"], timing_overrides=cfg["timing"],
                         energy_overrides=cfg["energy"], progress=False)
    acts = Activations(x, MappingProxyType(activations))
    timing = simulate_stage(model, mapping, acts, options)
    energy = energy_stage(timing, mapping, options)
    idents = {(c.ident.col, c.ident.row, c.ident.id) for c in mapping.components()}
    return {"latency_cycles": int(timing.latency_cycles), "latency_us": float(timing.latency_us),
            "fps": float(timing.fps), "energy_uj": float(energy.energy_per_frame_uj),
            "total_energy_uj": float(energy.total_energy_per_frame_uj),
            "board_energy_uj": float(energy.board_energy_per_frame_uj),
            "chip_mw": float(energy.power_mw["chip"]),
            "board_mw": float(energy.power_mw["board"]), "nps": len(idents),
            "passes": mapping.n_passes, "sequences": len(mapping.sequences),
            "software_layers": sum(len(p) for s in mapping.sequences
                                   if s.backend != "Hardware" for p in s.passes)}


def _device_ref(d: dict):
    from .spec import DeviceRef
    return DeviceRef(d["label"], name=d["name"],
                     custom=tuple(d["custom"]) if d["custom"] else None)


def run_task(model_data: bytes, x_file, task: dict) -> dict:
    """Evaluate one task (see :func:`nsoc.sweep.runner.make_tasks`); always returns a row."""
    start = time.perf_counter()
    from .threads import limit_threads
    limit_threads()
    row = dict(task["row"])
    try:
        model = cached_model(task["model_hash"], model_data)
        x, acts = cached_frames(model, task["model_hash"], task,
                                None if x_file is None else np.asarray(x_file))
        mapping = cached_mapping(model, task["model_hash"], task["config"])
        row.update(simulate_config(model, mapping, x, acts, task["config"]))
        row["status"], row["error"] = "ok", ""
    except NsocError as exc:
        row.update(dict.fromkeys(METRICS))
        row["status"], row["error"] = "error", f"{type(exc).__name__}: {exc}"
    row["seconds"] = round(time.perf_counter() - start, 6)
    return row


__all__ = ["run_task", "simulate_config", "METRICS", "STATS"]

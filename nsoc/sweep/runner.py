"""Running a sweep: configurations -> tasks (driver) -> executor -> results folder.

:func:`make_tasks` loads or builds every model once, reads ``.npy`` frames once, computes each
configuration's cache key and leaves out pairs that cannot go together (a model on a device of
another Akida version, frames of another shape).  :func:`run_sweep` then runs the missing tasks
on an executor (:mod:`nsoc.sweep.engine`: in-process, an embedded Dask cluster or a remote one)
and records every row as it finishes.
"""
from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field

from ..errors import InputError
from .sources import (
    config_key,
    device_fingerprint,
    device_ip,
    input_key,
    input_shape_of,
    load_models,
)
from .spec import SweepSpec, expand

MODEL_CACHE = "models"  # folder of the results holding built zoo models (<recipe hash>.fbz)


@dataclass
class TaskSet:
    """What the executor needs: tasks (JSON-ready dicts) and the shared blobs they name."""
    tasks: list[dict]
    models: dict  # model hash -> .fbz bytes
    frames: dict  # input hash -> frames array (file inputs)
    skipped: dict = field(default_factory=dict)  # reason -> count
    timing_keys: list = field(default_factory=list)
    energy_keys: list = field(default_factory=list)


def make_tasks(spec: SweepSpec, model_cache: str | None = None, build_many=None) -> TaskSet:
    """One task per configuration of ``spec`` that can run (see the module docstring).

    Zoo models are read from ``model_cache`` or built (by ``build_many``, e.g. on the cluster,
    see :func:`nsoc.sweep.sources.load_models`)."""
    from ..version import __version__
    loaded = load_models(spec.models, model_cache, build_many)
    shapes = {ref: input_shape_of(ref.file) for ref in spec.inputs if ref.file}
    for ref, shape in shapes.items():
        if not any(m.input_shape == shape for m in loaded.values()):
            raise InputError(f"inputs {ref.file} have frames of shape {shape}, which no model of "
                             f"the spec takes; remove them or add a matching model")
    out = TaskSet([], {}, {}, timing_keys=sorted({k for t in spec.timing for k in t}),
                  energy_keys=sorted({k for e in spec.energy for k in e}))
    dev_hash: dict = {}
    in_hash: dict = {}
    for cfg in expand(spec):
        m = loaded[cfg.model]
        if cfg.input.file and shapes[cfg.input] != m.input_shape:
            out.skipped["frames of another shape"] = out.skipped.get(
                "frames of another shape", 0) + 1
            continue
        if device_ip(cfg.device, m.ip_version) != m.ip_version and not \
                spec.include_incompatible:
            out.skipped["device of another Akida version"] = out.skipped.get(
                "device of another Akida version", 0) + 1
            continue
        dk = (cfg.device, m.ip_version)
        if dk not in dev_hash:
            dev_hash[dk] = device_fingerprint(cfg.device, m.ip_version)
        ik = (cfg.input, cfg.frames)
        if ik not in in_hash:
            in_hash[ik] = input_key(cfg.input, cfg.frames)
        ih, frames = in_hash[ik]
        if frames is not None:
            out.frames[ih] = frames
        out.models[m.hash] = m.data
        key = config_key(m.hash, cfg, ih, dev_hash[dk])
        row = {"key": key, "model": cfg.model.label, "model_hash": m.hash,
               "model_params": dict(cfg.model.params), "input": cfg.input.label,
               "sparsity": cfg.input.to_dict()["sparsity"], "device": cfg.device.label,
               "mode": cfg.mode,
               "clock_mode": cfg.clock_mode, "frames": cfg.frames, "timing": dict(cfg.timing),
               "energy": dict(cfg.energy), "nsoc_version": __version__}
        out.tasks.append({"key": key, "model_hash": m.hash, "input_hash": ih,
                          "file_input": frames is not None, "config": cfg.to_dict(),
                          "row": row})
    if not out.tasks:
        raise InputError("no configuration of the spec can run: every model/device pair is of "
                         "different Akida versions or every input of another shape "
                         f"({out.skipped}); fix 'devices' or 'inputs'")
    return out


@dataclass
class SweepResult:
    """What :func:`run_sweep` did."""
    rows: list[dict]
    computed: int
    cached: int
    errors: int
    failed: int
    skipped: dict
    seconds: float
    engine: str
    out_dir: str
    paths: dict = field(default_factory=dict)
    setup_seconds: float = 0.0  # models built or read, tasks made (``seconds``: the runs)
    start_seconds: float = 0.0  # of ``seconds``: starting the executor (cluster, workers)

    @property
    def configs_per_second(self) -> float:
        return self.computed / self.seconds if self.seconds > 0 else 0.0


def run_sweep(spec: SweepSpec, out_dir: str, *, workers: int | None = None,
              scheduler: str | None = None, force: bool = False, html: bool = True,
              progress: bool | None = None, log=print, limit: int | None = None,
              on_row=None) -> SweepResult:
    """Run ``spec`` into ``out_dir`` (see :mod:`nsoc.sweep`); ``limit`` stops after that many
    newly computed rows (for tests of interrupted sweeps); ``on_row(row)`` is called as each
    row is recorded.  The folder is locked (``.lock``) while the sweep writes it."""
    from .store import acquire_lock, check_results_dir, release_lock
    check_results_dir(out_dir, spec.source, force)
    lock = acquire_lock(out_dir)
    try:
        return _run_locked(spec, out_dir, workers, scheduler, force, html, progress, log, limit,
                           on_row)
    finally:
        release_lock(lock)


def _run_locked(spec, out_dir, workers, scheduler, force, html, progress, log, limit,
                on_row) -> SweepResult:
    from .engine import open_executor
    from .store import HTML, ResultStore
    start = time.perf_counter()
    complete = False
    failed = computed = cached = 0
    store = None
    n_configs = len(expand(spec))
    stack = contextlib.ExitStack()
    box: dict = {}

    def executor():  # started on first use: a fully cached sweep starts no cluster
        if "executor" not in box:
            t = time.perf_counter()
            box["executor"] = stack.enter_context(
                open_executor(workers, scheduler, n_tasks=n_configs, log=log))
            box["start_seconds"] = time.perf_counter() - t
        return box["executor"]

    with stack:
        try:
            taskset = make_tasks(spec, os.path.join(out_dir, MODEL_CACHE),
                                 lambda jobs: executor().build_many(jobs))
            keys = [t["key"] for t in taskset.tasks]
            store = ResultStore(out_dir, spec.source, keys, taskset.timing_keys,
                                taskset.energy_keys, force=force)
            todo = [t for t in taskset.tasks if t["key"] not in store.done]
            cached = len(taskset.tasks) - len(todo)
            if limit is not None:
                todo = todo[:limit]
            computed = len(todo)
            setup = time.perf_counter() - start
            if todo:
                for row in executor().map_tasks(todo, taskset, progress=progress):
                    failed += row.get("status") == "failed"
                    store.add(row)
                    if on_row is not None:
                        on_row(row)
            complete = len(store.rows) == len(keys)
        finally:
            if store is not None:
                store.close(complete)
    seconds = time.perf_counter() - start - setup
    engine = box["executor"].name if "executor" in box else "none"
    rows = store.ordered()
    paths = {"jsonl": store.path("results.jsonl"), "csv": store.path("results.csv")}
    if html and complete:
        from ..report.sweep_html import write_summary_html
        paths["html"] = store.path(HTML)
        write_summary_html(rows, paths["html"], title=spec.name)
    return SweepResult(rows, computed, cached, sum(r.get("status") == "error" for r in rows),
                       failed, dict(taskset.skipped), seconds, engine, out_dir, paths, setup,
                       box.get("start_seconds", 0.0))


__all__ = ["make_tasks", "run_sweep", "TaskSet", "SweepResult"]

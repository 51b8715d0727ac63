"""Dataset-scale runs: ``nsoc run MODEL --input BIG.npy --workers N | --scheduler ADDR``.

The memory-mapped input is cut into shards of contiguous samples; each shard is one task (in
this process, or on Dask workers that load the model once each).  Outputs are written at their
sample positions into a memory-mapped output ``.npy`` (``np.lib.format.open_memmap``), opened
per write, so neither the driver nor a worker ever holds the dataset; the file is renamed into
place only when every shard is in.  Optional: top-1/top-5 accuracy against labels, and per-frame
latency and energy of every sample (each frame simulated on its own at batch 1) summarised as
mean, p50 and p99.

Workers read their shard straight from the input file when they see it (a local cluster, or a
shared file system: checked per run); otherwise the driver sends each shard's samples.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, NsocError
from ..fileio import atomic_path

SHARD_BYTES = 8 << 20  # input bytes per shard (bounded so shards travel well)
MAX_SHARD = 8192
SHARD_ATTEMPTS = 3


# ----- worker side -------------------------------------------------------------------------------
def read_shard(source: dict, start: int, stop: int) -> np.ndarray:
    """Samples ``start:stop`` of a shard source: ``{"path": .npy}`` (memory-mapped and closed
    again, so its pages leave the process) or ``{"data": array}``."""
    if "data" in source:
        return np.ascontiguousarray(source["data"])
    x = np.load(source["path"], mmap_mode="r", allow_pickle=False)
    try:
        return np.array(x[start:stop])
    finally:
        del x


def frame_stats(model, mapping, x: np.ndarray, stats: dict, first: int = 0
                ) -> tuple[np.ndarray, np.ndarray]:
    """(latency in us, dynamic energy in uJ) of every frame of ``x``, each simulated alone at
    batch 1 on ``mapping``.  With ``stats["sparsity"]`` the events of frame ``first + i`` are
    drawn with seed ``sparsity_seed + first + i``, so the figures do not depend on the shards."""
    from types import MappingProxyType

    from ..pipeline import (
        Activations,
        SimOptions,
        energy_stage,
        simulate_stage,
        sparsity_stage,
    )
    options = SimOptions(device=mapping.device, mode=mapping.mode, hw_only=mapping.hw_only,
                         clock_mode=stats["clock_mode"], timing_overrides=stats["timing"],
                         energy_overrides=stats["energy"], sparsity=stats.get("sparsity"),
                         progress=False)
    acts = model.forward(x, outputs="all")
    lat = np.empty(len(x))
    energy = np.empty(len(x))
    for i in range(len(x)):
        frame = Activations(x[i:i + 1],
                            MappingProxyType({k: v[i:i + 1] for k, v in acts.items()}))
        frame_options = options.with_(sparsity_seed=stats.get("sparsity_seed", 0) + first + i)
        frame = sparsity_stage(model, frame, frame_options)
        t = simulate_stage(model, mapping, frame, frame_options)
        lat[i] = t.latency_us
        energy[i] = energy_stage(t, mapping, frame_options).energy_per_frame_uj
    return lat, energy


def shard_task(model_data: bytes, model_hash: str, source: dict, start: int, stop: int,
               raw: bool, batch_size: int, stats: dict | None) -> dict:
    """Outputs (and per-frame figures) of samples ``start:stop``; the model is decoded once per
    worker process."""
    from .evaluate import cached_mapping, cached_model
    from .threads import limit_threads
    limit_threads()
    model = cached_model(model_hash, model_data)
    x = read_shard(source, start, stop)
    y = (model.forward if raw else model.predict)(x, batch_size=batch_size)
    out = {"start": start, "stop": stop, "y": y}
    if stats is not None:
        mapping = cached_mapping(model, model_hash, stats)
        out["latency_us"], out["energy_uj"] = frame_stats(model, mapping, x, stats, start)
    return out


# ----- driver side -------------------------------------------------------------------------------
@dataclass
class DatasetResult:
    """What :func:`run_sharded` did."""
    n: int
    out_path: str
    dtype: str
    shape: tuple
    seconds: float
    engine: str
    shards: int
    top1: float | None = None
    top5: float | None = None
    latency_us: np.ndarray | None = field(default=None, repr=False)
    energy_uj: np.ndarray | None = field(default=None, repr=False)

    def frame_summary(self) -> dict | None:
        """{figure: {mean, p50, p99}} of the per-frame latency and energy (None without)."""
        if self.latency_us is None:
            return None
        assert self.energy_uj is not None   # both or neither (run_sharded)
        return {name: {"mean": float(np.mean(v)), "p50": float(np.percentile(v, 50)),
                       "p99": float(np.percentile(v, 99)), "min": float(np.min(v)),
                       "max": float(np.max(v))}
                for name, v in (("latency_us", self.latency_us), ("energy_uj", self.energy_uj))}


def load_labels(path: str, n: int) -> np.ndarray:
    """Class indices (N,) from a ``.npy`` of indices or one-hot rows (N, C)."""
    if not os.path.isfile(path):
        raise InputError(f"labels file not found: {path}; pass a .npy of N class indices")
    try:
        y = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"cannot read {path} as a .npy array ({exc})") from None
    if y.ndim == 2 and len(y) == n:
        return np.asarray(np.argmax(y, axis=1))
    if y.ndim != 1 or len(y) != n or y.dtype.kind not in "iu":
        raise InputError(f"labels {path} must be {n} integer class indices (shape ({n},)) or "
                         f"one-hot rows ({n}, C); got {y.dtype} {y.shape}")
    return np.asarray(y)


def topk_hits(y: np.ndarray, labels: np.ndarray) -> tuple[int, int]:
    """(top-1 hits, top-5 hits) of outputs ``y`` (N, ..., classes) against class indices;
    ties go to the lower class index."""
    scores = np.asarray(y).reshape(len(y), -1)
    order = np.argsort(-scores.astype(np.float64), axis=1, kind="stable")[:, :5]
    top1 = int(np.sum(order[:, 0] == labels))
    top5 = int(np.sum(np.any(order == labels[:, None], axis=1)))
    return top1, top5


def shard_size(n: int, sample_bytes: int, n_workers: int) -> int:
    """Samples per shard: at most SHARD_BYTES of input, at least 4 shards per worker."""
    by_bytes = max(1, SHARD_BYTES // max(sample_bytes, 1))
    by_spread = max(1, -(-n // (4 * n_workers)))
    return int(max(1, min(MAX_SHARD, by_bytes, by_spread)))


class _Writer:
    """Writes shards into a temporary memory-mapped .npy, renamed to ``path`` at the end."""

    def __init__(self, path: str, n: int):
        self.path, self.n = path, n
        self.tmp = f"{path}.tmp-{os.getpid()}.npy"
        self.dtype: np.dtype | None = None
        self.shape: tuple | None = None

    def write(self, start: int, y: np.ndarray) -> None:
        if self.dtype is None:
            self.dtype, self.shape = y.dtype, (self.n,) + tuple(y.shape[1:])
            mm = np.lib.format.open_memmap(self.tmp, mode="w+", dtype=y.dtype, shape=self.shape)
        else:
            mm = np.load(self.tmp, mmap_mode="r+")
        mm[start:start + len(y)] = y
        mm.flush()
        del mm

    def finish(self) -> None:
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        if os.path.exists(self.tmp):
            os.unlink(self.tmp)


def _shards_visible(client, path: str) -> bool:
    """True when every worker sees ``path`` with this machine's size (shared file system)."""
    size = os.path.getsize(path)
    try:
        seen = client.run(os.path.getsize, path, on_error="return")
    except Exception:
        return False
    return bool(seen) and all(v == size for v in seen.values())


def run_sharded(model_path: str, input_path: str, out_path: str, *, raw: bool = False,
                batch_size: int = 0, workers: int | None = None, scheduler: str | None = None,
                labels_path: str | None = None, stats: dict | None = None,
                shard: int | None = None, progress: bool | None = None,
                log=print) -> DatasetResult:
    """Run the model over every sample of ``input_path`` into ``out_path`` (see the module
    docstring).  ``stats``: {"device": {...}, "mode", "clock_mode", "timing", "energy"} asks for
    the per-frame latency and energy of every sample."""
    from ..interop import load_any as load
    from .engine import DaskExecutor, _bar, open_executor
    from .sources import sha256
    model = load(model_path)
    with open(model_path, "rb") as f:
        data = f.read()
    model_hash = sha256(data)
    x = np.load(input_path, mmap_mode="r", allow_pickle=False)
    n, sample_shape, sample_bytes = len(x), tuple(x.shape[1:]), x[:1].nbytes
    if x.ndim != 4 or sample_shape != tuple(model.input_shape):
        raise InputError(f"input shape must be (N, {', '.join(map(str, model.input_shape))}), "
                         f"got {tuple(x.shape)}")
    if n == 0:
        raise InputError(f"{input_path} holds no samples")
    model.forward(np.array(x[:1]))  # checks dtype and value range before the long work
    del x
    labels = load_labels(labels_path, n) if labels_path else None
    writer = _Writer(out_path, n)
    hits = [0, 0]
    lat = np.empty(n) if stats is not None else None
    energy = np.empty(n) if stats is not None else None
    start_time = time.perf_counter()
    bar = _bar(n, progress, "sample", "nsoc run")

    def record(res: dict) -> None:
        a, b = res["start"], res["stop"]
        writer.write(a, res["y"])
        if labels is not None:
            h1, h5 = topk_hits(res["y"], np.asarray(labels[a:b]))
            hits[0] += h1
            hits[1] += h5
        if lat is not None and energy is not None:   # both or neither
            lat[a:b] = res["latency_us"]
            energy[a:b] = res["energy_uj"]
        if bar is not None:
            bar.update(b - a)

    try:
        with open_executor(workers, scheduler, n_tasks=max(1, n // 64), log=log) as executor:
            size = shard or shard_size(n, sample_bytes, executor.n_workers)
            ranges = [(a, min(n, a + size)) for a in range(0, n, size)]
            if isinstance(executor, DaskExecutor):
                _run_dask(executor, ranges, data, model_hash, input_path, raw, batch_size, stats,
                          record)
            else:
                for a, b in ranges:
                    record(shard_task(data, model_hash, {"path": input_path}, a, b, raw,
                                      batch_size, stats))
            engine = executor.name
        writer.finish()
    except BaseException:
        writer.discard()
        raise
    finally:
        if bar is not None:
            bar.close()
    assert writer.shape is not None   # n > 0 samples were written
    return DatasetResult(
        n, out_path, str(writer.dtype), writer.shape, time.perf_counter() - start_time, engine,
        len(ranges), hits[0] / n if labels is not None else None,
        hits[1] / n if labels is not None else None, lat, energy)


def _run_dask(executor, ranges, data, model_hash, input_path, raw, batch_size, stats, record):
    """Shards on Dask, at most two in flight per worker; a shard whose task fails (its worker
    lost more often than Dask retries) is submitted again, up to SHARD_ATTEMPTS times.  The
    model is shared as a task's result (engine.SharedData), which Dask recomputes if lost."""
    from distributed import as_completed

    from .engine import SharedData
    client = executor.client
    shared = SharedData(client)
    by_path = executor.cluster is not None or _shards_visible(client, input_path)
    x = None if by_path else np.load(input_path, mmap_mode="r", allow_pickle=False)
    tag = model_hash[:16]
    attempts: dict = {}
    shard_of: dict = {}
    todo = list(reversed(ranges))
    pending = as_completed()

    def submit(a, b):
        attempts[(a, b)] = attempts.get((a, b), 0) + 1
        source = {"path": input_path} if by_path else {"data": np.array(x[a:b])}
        fut = client.submit(shard_task, shared.get(model_hash, data), model_hash, source, a, b,
                            raw, batch_size, stats, pure=False, retries=2,
                            key=f"nsoc-shard-{tag}-{a}-{b}-{attempts[(a, b)]}")
        shard_of[fut.key] = (a, b)
        pending.add(fut)

    for _ in range(min(len(todo), 2 * executor.n_workers)):
        submit(*todo.pop())
    for fut in pending:
        a, b = shard_of.pop(fut.key)
        try:
            res = fut.result()
        except Exception as exc:
            if attempts[(a, b)] >= SHARD_ATTEMPTS:
                raise NsocError(f"samples {a}:{b} failed {SHARD_ATTEMPTS} times: {exc}") \
                    from None
            submit(a, b)
            continue
        finally:
            fut.release()
        record(res)
        if todo:
            submit(*todo.pop())
    shared.release()


def write_frame_stats(result: DatasetResult, out_dir: str) -> dict:
    """``DIR/dataset.json`` (the summary) and ``DIR/frames.csv`` (every frame's latency and
    energy); returns the paths."""
    import json
    assert result.latency_us is not None and result.energy_uj is not None, \
        "frame statistics are written for a run with stats"
    os.makedirs(out_dir, exist_ok=True)
    paths = {"json": os.path.join(out_dir, "dataset.json"),
             "csv": os.path.join(out_dir, "frames.csv")}
    doc = {"samples": result.n, "top1": result.top1, "top5": result.top5,
           "frames": result.frame_summary()}
    with atomic_path(paths["json"]) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps(doc, indent=1) + "\n")
    with atomic_path(paths["csv"]) as tmp:
        table = np.column_stack([np.arange(result.n), result.latency_us, result.energy_uj])
        np.savetxt(tmp, table, delimiter=",", fmt=["%d", "%.6f", "%.6f"],
                   header="frame,latency_us,energy_uj", comments="")
    return paths


__all__ = ["run_sharded", "shard_task", "DatasetResult", "topk_hits", "load_labels",
           "write_frame_stats", "frame_stats"]

"""Executors for sweeps and sharded runs: in-process, an embedded Dask ``LocalCluster``, or an
existing Dask cluster (``--scheduler tcp://HOST:8786``).

Dask is optional (the ``distributed`` extra) and imported only here, only when used.  Shared
data (model bytes, frames) are scattered once to every worker; tasks carry their content-hash
key, so a task resubmitted after a worker is lost (Dask reschedules it on another worker) or
after a restart computes the same row.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys

from ..errors import InputError

PARALLEL_NOTE = ("note: running serially; install Dask to use every core or a cluster: "
                 "pip install 'nsoc[distributed]'")
TASK_RETRIES = 2
THREADS_ENV = "NSOC_WORKER_THREADS"  # numba threads a worker task may use (set on local workers)


def _bar(total: int, progress: bool | None, unit: str, desc: str):
    """A tqdm bar on stderr (when a terminal, or forced by ``progress``); None without tqdm."""
    show = sys.stderr.isatty() if progress is None else bool(progress)
    if not show:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit=unit, desc=desc, file=sys.stderr)


def failed_row(task: dict, exc: BaseException) -> dict:
    """The row of a task that raised outside the simulator (redone by a restarted sweep)."""
    from .evaluate import METRICS
    row = dict(task["row"])
    row.update(dict.fromkeys(METRICS))
    row.update(status="failed", error=f"{type(exc).__name__}: {exc}", seconds=None)
    return row


class SerialExecutor:
    """Runs tasks one after the other in this process (``--workers 1``, or without Dask)."""
    name = "in-process"
    n_workers = 1

    def map_tasks(self, tasks, taskset, progress=None):
        from .evaluate import run_task
        bar = _bar(len(tasks), progress, "config", "sweep")
        try:
            for task in tasks:
                try:
                    row = run_task(taskset.models[task["model_hash"]],
                                   taskset.frames.get(task["input_hash"]), task)
                except Exception as exc:  # a bug in one configuration must not end the sweep
                    row = failed_row(task, exc)
                if bar is not None:
                    bar.update(1)
                yield row
        finally:
            if bar is not None:
                bar.close()

    def build_many(self, jobs: list) -> list[bytes]:
        """.fbz bytes of zoo models ``[(name, params), ...]``, built here."""
        from .sources import zoo_bytes
        return [zoo_bytes(name, params) for name, params in jobs]

    def close(self):
        pass


class DaskExecutor:
    """Runs tasks on a Dask cluster through ``client``."""

    def __init__(self, client, cluster=None):
        self.client = client
        self.cluster = cluster
        self.n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        where = "embedded LocalCluster" if cluster is not None else client.scheduler.address
        self.name = f"dask ({self.n_workers} workers, {where})"

    def scatter(self, blobs: dict) -> dict:
        """{hash: future} of data copied once to every worker."""
        return {h: self.client.scatter(v, broadcast=True, hash=False) for h, v in blobs.items()}

    def map_tasks(self, tasks, taskset, progress=None):
        from distributed import as_completed

        from .evaluate import run_task
        models = self.scatter({h: taskset.models[h] for h in
                               {t["model_hash"] for t in tasks}})
        frames = self.scatter({h: taskset.frames[h] for h in
                               {t["input_hash"] for t in tasks if t["file_input"]}})
        by_key = {}
        futures = []
        for task in tasks:
            fut = self.client.submit(run_task, models[task["model_hash"]],
                                     frames.get(task["input_hash"]), task,
                                     key=f"nsoc-sweep-{task['key']}", pure=False,
                                     retries=TASK_RETRIES)
            by_key[fut.key] = task
            futures.append(fut)
        bar = _bar(len(tasks), progress, "config", "sweep")
        pending = as_completed(futures)
        del futures
        try:
            for fut in pending:
                try:
                    row = fut.result()
                except Exception as exc:  # KilledWorker after too many losses, a bug
                    row = failed_row(by_key[fut.key], exc)
                fut.release()
                if bar is not None:
                    bar.update(1)
                yield row
        finally:
            if bar is not None:
                bar.close()
            for f in list(models.values()) + list(frames.values()):
                f.release()

    def build_many(self, jobs: list) -> list[bytes]:
        """.fbz bytes of zoo models ``[(name, params), ...]``, built in parallel on the
        workers."""
        from .sources import zoo_bytes
        futures = [self.client.submit(zoo_bytes, name, params, pure=False, retries=TASK_RETRIES)
                   for name, params in jobs]
        try:
            return self.client.gather(futures)
        finally:
            for f in futures:
                f.release()

    def close(self):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def connect(scheduler: str):
    """A Client of the cluster at ``scheduler``; an InputError naming the fix otherwise."""
    try:
        from distributed import Client
    except ImportError:
        raise InputError("--scheduler needs Dask: pip install 'nsoc[distributed]'") from None
    try:
        return Client(scheduler, timeout="15s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); start one "
                         f"with `dask scheduler` and workers with `dask worker {scheduler}`") \
            from None


def local_cluster(n_workers: int):
    """An embedded LocalCluster of ``n_workers`` single-threaded processes on 127.0.0.1."""
    from distributed import Client, LocalCluster
    # one core per worker process (applied by the tasks: setting NUMBA_NUM_THREADS in a worker
    # makes numba refuse to compile once its thread pool runs with another size)
    env = {THREADS_ENV: "1"}
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None,
                           silence_logs=logging.ERROR, env=env)
    return Client(cluster), cluster


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def open_executor(workers: int | None = None, scheduler: str | None = None, n_tasks: int = 0,
                  log=print):
    """The executor for ``--workers N`` / ``--scheduler ADDR`` (see the module docstring)."""
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    if scheduler and workers is not None:
        raise InputError("pass either --workers N (a cluster on this machine) or --scheduler "
                         "ADDR (an existing cluster), not both")
    executor: DaskExecutor | SerialExecutor | None
    if scheduler:
        executor = DaskExecutor(connect(scheduler))
    else:
        n = workers if workers is not None else default_workers()
        if n_tasks:
            n = min(n, n_tasks)
        executor = None
        if n > 1:
            try:
                import distributed  # noqa: F401
            except ImportError:
                if log:
                    log(PARALLEL_NOTE)
            else:
                executor = DaskExecutor(*local_cluster(n))
        if executor is None:
            executor = SerialExecutor()
    try:
        yield executor
    finally:
        executor.close()


__all__ = ["open_executor", "SerialExecutor", "DaskExecutor", "connect", "local_cluster",
           "default_workers", "PARALLEL_NOTE"]

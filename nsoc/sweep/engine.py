"""Executors for sweeps and sharded runs: in-process, an embedded Dask ``LocalCluster``, or an
existing Dask cluster (``--scheduler tcp://HOST:8786``).

Dask is optional (the ``distributed`` extra) and imported only here, only when used.  Shared
data (model bytes, frames) are results of tasks (:class:`SharedData`), not scattered data:
Dask recomputes a result lost with the workers holding it, while scattered data lost so is
gone and every task needing it is cancelled.  Tasks carry their content-hash key, so a task
rerun after a worker is lost (Dask reschedules it on another worker; :meth:`DaskExecutor.
map_tasks` submits again work the cluster lost, up to ``LOST_SUBMISSIONS`` times) or after a
restart computes the same row.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys

from ..errors import InputError

PARALLEL_NOTE = ("note: running serially; install Dask to use every core or a cluster: "
                 "pip install 'nsoc[distributed]'")
TASK_RETRIES = 2  # Dask reruns a task that raised (a bug, or a worker's resource) this often
LOST_SUBMISSIONS = 3  # a task whose work the cluster lost is submitted at most this often
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


def failed_row(task: dict, exc: BaseException, note: str = "") -> dict:
    """The row of a task that raised outside the simulator, or whose work the cluster lost too
    often (redone by a restarted sweep)."""
    from .evaluate import METRICS
    row = dict(task["row"])
    row.update(dict.fromkeys(METRICS))
    row.update(status="failed", error=f"{type(exc).__name__}: {exc}{note}", seconds=None)
    return row


def lost_work(exc: BaseException) -> bool:
    """Whether a Dask future ended because the cluster lost its work, not because its task
    raised: cancelled by the scheduler (e.g. "already forgotten": data it needed was lost),
    KilledWorker (it was running on more dying workers than Dask's ``allowed-failures``), or
    the connection to the scheduler closed."""
    from concurrent.futures import CancelledError

    from distributed import KilledWorker
    from distributed.comm import CommClosedError
    return isinstance(exc, (CancelledError, KilledWorker, CommClosedError))


def shared_blob(blob):
    """The task whose result is data shared by other tasks (see :class:`SharedData`)."""
    return blob


class SharedData:
    """Futures of data the tasks share (model bytes, frames), one per content hash.

    Each is the result of a task holding the data, computed once and copied to the workers
    whose tasks need it.  Not ``client.scatter(broadcast=True)``: Dask's memory manager drops
    copies of data at will, even broadcast ones, and scattered data lost with the worker
    holding its last copy cannot be recomputed: Dask cancels every task that needs it ("already
    forgotten"; 24 of 60 rows of a sweep so lost when a worker was killed).  A task's result is
    recomputed instead.  A future that ended anyway (cancelled, erred) is replaced on next use.
    """

    def __init__(self, client):
        self.client = client
        self.futures: dict = {}

    def get(self, key: str, blob):
        fut = self.futures.get(key)
        if fut is None or fut.status in ("error", "cancelled"):
            fut = self.futures[key] = self.client.submit(shared_blob, blob, pure=False)
        return fut

    def release(self):
        for fut in self.futures.values():
            fut.release()
        self.futures.clear()


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

    def map_tasks(self, tasks, taskset, progress=None):
        """Rows of ``tasks`` as they complete.  A task whose work the cluster lost (see
        :func:`lost_work`) is submitted again, up to ``LOST_SUBMISSIONS`` times in all; then,
        or when it raised, its row is a failed row naming the reason."""
        from distributed import as_completed

        from .evaluate import run_task
        shared = SharedData(self.client)
        task_of: dict = {}
        submissions: dict = {}
        pending = as_completed()

        def submit(task):
            n = submissions[task["key"]] = submissions.get(task["key"], 0) + 1
            frames = (shared.get("x" + task["input_hash"], taskset.frames[task["input_hash"]])
                      if task["file_input"] else None)
            fut = self.client.submit(run_task, shared.get("m" + task["model_hash"],
                                                          taskset.models[task["model_hash"]]),
                                     frames, task, key=f"nsoc-sweep-{task['key']}-{n}",
                                     pure=False, retries=TASK_RETRIES)
            task_of[fut.key] = task
            pending.add(fut)

        for task in tasks:
            submit(task)
        bar = _bar(len(tasks), progress, "config", "sweep")
        try:
            for fut in pending:
                task = task_of.pop(fut.key)
                try:
                    row = fut.result()
                except Exception as exc:  # a bug, or work lost with workers
                    n = submissions[task["key"]]
                    if lost_work(exc) and n < LOST_SUBMISSIONS:
                        submit(task)
                        continue
                    row = failed_row(task, exc, f" (submitted {n} times)" if n > 1 else "")
                finally:
                    fut.release()
                if bar is not None:
                    bar.update(1)
                yield row
        finally:
            if bar is not None:
                bar.close()
            shared.release()

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

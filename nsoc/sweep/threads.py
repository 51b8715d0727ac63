"""The thread budget of a task on an embedded-cluster worker."""
from __future__ import annotations


def limit_threads() -> None:
    """In a worker of an embedded cluster (``NSOC_WORKER_THREADS`` set), keep numba's parallel
    kernels to that many threads (numba's limit is per calling thread: call it in the task)."""
    import os
    n = os.environ.get("NSOC_WORKER_THREADS")
    if n and n.isdigit():
        import numba
        top = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]  # set at import
        numba.set_num_threads(max(1, min(int(n), top)))


__all__ = ["limit_threads"]

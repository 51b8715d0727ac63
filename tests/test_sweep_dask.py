"""Sweeps and sharded runs on a real Dask cluster: a `dask scheduler` and two `dask worker`
processes on 127.0.0.1 (started and stopped here), compared with the serial runs; a worker
killed mid-sweep loses no row."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("distributed")

from sweep_helpers import KWS, KWS_X, KWS_Y, MNIST_V1, without_seconds  # noqa: E402

from nsoc.cli import main  # noqa: E402
from nsoc.sweep import load_spec, run_sweep  # noqa: E402
from nsoc.sweep.dataset import run_sharded  # noqa: E402

START_TIMEOUT_S = 120

SPEC = f"""
frames = [2, 4]
devices = ["TwoNodesIPv2", "FourNodesIPv2", "custom:6,2", "AKD1000"]
modes = ["AllNps", "Minimal"]
[[models]]
file = "{KWS}"
[[models]]
file = "{MNIST_V1}"
[[inputs]]
random = true
seed = 5
[timing]
router_latency_cycles = [1, 2, 3]
"""


def _spawn(args, log):
    env = dict(os.environ, NSOC_WORKER_THREADS="1")
    return subprocess.Popen([sys.executable, "-m"] + args, stdout=log, stderr=subprocess.STDOUT,
                            env=env, start_new_session=True)


def _stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(scheduler address, [worker processes]) of a scheduler and two workers on 127.0.0.1."""
    from distributed import Client
    tmp = tmp_path_factory.mktemp("dask")
    sched_file = str(tmp / "scheduler.json")
    log = open(tmp / "dask.log", "w")
    procs = [_spawn(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                     "--no-dashboard", "--scheduler-file", sched_file], log)]
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not os.path.exists(sched_file) and time.monotonic() < deadline:
            time.sleep(0.2)
        with open(sched_file) as f:
            address = json.load(f)["address"]
        workers = [_spawn(["distributed.cli.dask_worker", address, "--host", "127.0.0.1",
                           "--nthreads", "1", "--no-nanny", "--no-dashboard",
                           "--name", f"w{i}"], log) for i in range(2)]
        procs += workers
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=START_TIMEOUT_S)
        yield address, workers
    finally:
        for p in reversed(procs):
            _stop(p)
        log.close()


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    spec_path = tmp_path_factory.mktemp("spec") / "spec.toml"
    spec_path.write_text(SPEC)
    spec = load_spec(str(spec_path))
    return spec, run_sweep(spec, str(spec_path.parent / "serial"), workers=1, log=None)


def test_sweep_on_cluster_equals_serial(cluster, serial, tmp_path):
    address, _ = cluster
    spec, ref = serial
    assert len(ref.rows) == 60 and ref.errors == 0
    res = run_sweep(spec, str(tmp_path / "dask"), scheduler=address, log=None)
    assert res.engine.startswith("dask (2 workers") and res.computed == 60
    assert without_seconds(res.rows) == without_seconds(ref.rows)
    from distributed import Client
    with Client(address) as client:  # each worker decoded each model at most once
        loads = client.run(lambda: __import__("nsoc.sweep.evaluate").sweep.evaluate.STATS[
            "model_loads"])
    assert all(v <= 2 for v in loads.values()), loads


def test_sharded_run_on_cluster_equals_serial(cluster, tmp_path, capsys):
    address, _ = cluster
    ref = tmp_path / "ref.npy"
    assert main(["run", KWS, "--input", KWS_X, "-o", str(ref)]) == 0
    out = tmp_path / "sharded.npy"
    assert main(["run", KWS, "--input", KWS_X, "-o", str(out), "--scheduler", address,
                 "--labels", KWS_Y, "--shard-size", "40"]) == 0
    printed = capsys.readouterr().out
    assert "7 shards" in printed and "accuracy: top-1" in printed
    a, b = np.load(ref), np.load(out)
    assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    raw = run_sharded(KWS, KWS_X, str(tmp_path / "raw.npy"), raw=True, scheduler=address,
                      shard=33, log=None)
    assert raw.shards == 8
    import nsoc
    np.testing.assert_array_equal(np.load(tmp_path / "raw.npy"),
                                  nsoc.load(KWS).forward(np.load(KWS_X)))


def _holder_of_only_copies(address) -> int:
    """The index of the worker holding the most only copies of data the running sweep's tasks
    share (the models; 0 if none): Dask keeps one copy when it sees fit (its memory manager
    drops the others, even of data broadcast to every worker), and a worker killed with the
    last copy of scattered data lost the 24 rows of one model in the clean-clone run at
    3670df7."""
    from distributed import Client

    def sole_holders(dask_scheduler):
        return [next(iter(ts.who_has)).name for ts in dask_scheduler.tasks.values()
                if ts.state == "memory" and len(ts.who_has) == 1
                and any(str(d.key).startswith("nsoc-sweep-") for d in ts.dependents)]
    with Client(address, timeout="30s") as client:
        names = client.run_on_scheduler(sole_holders)
    return int(max(sorted(names), key=names.count)[1:]) if names else 0  # named w0, w1


def test_worker_killed_mid_sweep_loses_no_row(cluster, serial, tmp_path):
    address, workers = cluster
    spec, ref = serial
    out = tmp_path / "killed"
    done = {}

    def sweep():
        done["result"] = run_sweep(spec, str(out), scheduler=address, log=None)

    thread = threading.Thread(target=sweep)
    thread.start()
    log = out / "results.jsonl"
    deadline = time.monotonic() + 300
    rows_at_kill = 0
    while time.monotonic() < deadline and thread.is_alive():
        if log.exists():
            rows_at_kill = sum(1 for _ in open(log))
            if rows_at_kill >= 1:
                break
        time.sleep(0.01)
    victim = workers[_holder_of_only_copies(address)]
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    thread.join(timeout=600)
    assert not thread.is_alive()
    assert 1 <= rows_at_kill < 60  # the worker died while rows were still missing
    res = done["result"]
    logged = [json.loads(line) for line in open(log)]  # failed rows are logged, not results
    errors = sorted({r["error"] for r in logged if r.get("status") == "failed"})
    assert res.failed == 0 and len(res.rows) == 60, errors[:3]  # say why rows were lost
    assert without_seconds(res.rows) == without_seconds(ref.rows)


_LOSSES: dict = {"fate": {}, "calls": {}, "models": {}}  # shared with the in-process workers


def _losing_run_task(model_data, x_file, task):
    """run_task losing its work (KilledWorker) or raising a bug as _LOSSES["fate"] says
    (module level: a worker gets it by reference, so it records in this _LOSSES)."""
    from types import SimpleNamespace

    from distributed import KilledWorker, get_worker
    worker = get_worker()
    submission = int(worker.get_current_task().rsplit("-", 1)[1])
    _LOSSES["calls"].setdefault(task["key"], []).append(submission)
    how = _LOSSES["fate"].get(task["key"])
    if (how == "lost once" and submission == 1) or how == "always lost":
        raise KilledWorker(task["key"], SimpleNamespace(address=worker.address), 3)
    if how == "bug":
        raise RuntimeError("simulated bug")
    assert model_data == _LOSSES["models"][task["model_hash"]]  # the shared data arrived
    return dict(task["row"], status="ok", error="")


def test_lost_work_is_submitted_again_a_bounded_number_of_times(serial, monkeypatch):
    """The engine's answer to each way a future ends, on an in-process cluster whose task
    raises KilledWorker (what Dask raises for a task on more dying workers than
    allowed-failures) on chosen submissions: lost once -> submitted again, its row computed;
    lost every time -> a failed row after LOST_SUBMISSIONS submissions, naming the reason; a
    bug -> a failed row at once (Dask's own retries aside)."""
    from distributed import Client, LocalCluster

    import nsoc.sweep.evaluate as ev
    from nsoc.sweep.engine import LOST_SUBMISSIONS, TASK_RETRIES, DaskExecutor
    from nsoc.sweep.runner import make_tasks
    spec, _ = serial
    taskset = make_tasks(spec)
    tasks = taskset.tasks[:6]
    keys = [t["key"] for t in tasks]
    _LOSSES.update(fate={keys[0]: "lost once", keys[1]: "always lost", keys[2]: "bug"},
                   calls={}, models=taskset.models)
    monkeypatch.setattr(ev, "run_task", _losing_run_task)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        rows = {r["key"]: r for r in DaskExecutor(client).map_tasks(tasks, taskset)}
    calls = _LOSSES["calls"]
    assert sorted(rows) == sorted(keys)
    tries = 1 + TASK_RETRIES  # Dask reruns a task that raised before its future errs
    assert calls[keys[0]] == [1] * tries + [2] and rows[keys[0]]["status"] == "ok"
    assert calls[keys[1]] == sorted(list(range(1, LOST_SUBMISSIONS + 1)) * tries)
    lost = rows[keys[1]]
    assert lost["status"] == "failed" and lost["error"].startswith("KilledWorker")
    assert lost["error"].endswith(f"(submitted {LOST_SUBMISSIONS} times)")
    assert calls[keys[2]] == [1] * tries
    assert rows[keys[2]]["status"] == "failed"
    assert rows[keys[2]]["error"] == "RuntimeError: simulated bug"
    assert all(rows[k]["status"] == "ok" and calls[k] == [1] for k in keys[3:])

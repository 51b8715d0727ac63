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
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait(timeout=30)
    thread.join(timeout=600)
    assert not thread.is_alive()
    assert 1 <= rows_at_kill < 60  # the worker died while rows were still missing
    res = done["result"]
    errors = sorted({r.get("error", "") for r in res.rows if r.get("status") == "failed"})
    assert res.failed == 0 and len(res.rows) == 60, errors  # say why rows were lost
    assert without_seconds(res.rows) == without_seconds(ref.rows)

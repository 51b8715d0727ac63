"""Scale benchmark of `nsoc sweep`: configurations per second with 1 and 2 workers, how the cost
of a configuration grows with model size and mesh size, and a restart after an interruption.

    PYTHONPATH=. python bench/bench_sweep.py [--spec bench/sweep_640.toml] [-o DIR]

Steps (each prints a markdown table):
1. the spec with ``--workers 1`` (in-process) into DIR/w1 (zoo models built once, then copied
   to the other folders' model caches, so every timed run computes the same work);
2. the same with ``--workers 2`` (embedded LocalCluster) into DIR/w2; rows must equal step 1's;
3. ``nsoc sweep --workers 1`` killed with SIGKILL after a third of the rows, then restarted: the
   restart must compute exactly the rows missing from the log, and keep the finished ones;
4. per-configuration seconds (median of the in-process run, warm caches excluded by taking the
   median) by model (MACs) and by mesh (NPs).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

from nsoc.sweep import load_spec, run_sweep
from nsoc.sweep.sources import load_models, make_device


def _rows_no_time(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def _timed(spec, out, workers, models_from=None):
    """run_sweep with row completion times: (result, steady configurations/s between the
    first and the last row, i.e. after the workers are up and have loaded their models)."""
    if models_from:
        shutil.copytree(models_from, os.path.join(out, "models"))
    times: list = []
    res = run_sweep(spec, out, workers=workers, progress=False, log=None,
                    on_row=lambda row: times.append(time.perf_counter()))
    steady = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return res, steady


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default=os.path.join(os.path.dirname(__file__), "sweep_640.toml"))
    ap.add_argument("-o", "--out", default="/tmp/nsoc_bench_sweep")
    args = ap.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    spec = load_spec(args.spec)
    cache = os.path.join(args.out, "models")
    t0 = time.perf_counter()
    models = load_models(spec.models, cache)
    build_s = time.perf_counter() - t0
    print(f"built {len(models)} zoo models in {build_s:.1f} s (once; copied to every run)")

    r1, s1 = _timed(spec, os.path.join(args.out, "w1"), 1, cache)
    r2, s2 = _timed(spec, os.path.join(args.out, "w2"), 2, cache)
    assert _rows_no_time(r1.rows) == _rows_no_time(r2.rows), "2 workers differ from 1 worker"
    n = len(r1.rows)
    print(f"\n{n} configurations ({r1.errors} error rows), rows of 1 and 2 workers identical\n")
    print("| workers | engine | wall time (s) | of which starting workers (s) | "
          "configurations/s (wall) | configurations/s (first to last row) |")
    print("|---:|---|---:|---:|---:|---:|")
    for w, r, s in ((1, r1, s1), (2, r2, s2)):
        print(f"| {w} | {r.engine} | {r.seconds:.1f} | {r.start_seconds:.1f} | "
              f"{r.configs_per_second:.2f} | {s:.2f} |")
    print(f"\nratio 2 workers / 1 worker: {r2.configs_per_second / r1.configs_per_second:.2f}x "
          f"wall, {s2 / s1:.2f}x first to last row (load average at the end: "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")

    rows = [r for r in r1.rows if r["status"] == "ok"]
    by_model: dict = {}
    for r in rows:
        by_model.setdefault(r["model"], []).append(r["seconds"])
    print("\n| model | MACs | median s / configuration | configurations |")
    print("|---|---:|---:|---:|")
    macs = {m.ref.label: m.macs for m in models.values()}
    for label, secs in sorted(by_model.items(), key=lambda kv: macs[kv[0]]):
        print(f"| {label} | {macs[label]:,} | {statistics.median(secs):.4f} | {len(secs)} |")
    by_dev: dict = {}
    for r in rows:
        by_dev.setdefault(r["device"], []).append(r["seconds"])
    print("\n| mesh | NPs | median s / configuration | configurations |")
    print("|---|---:|---:|---:|")
    dev_nps = {}
    for d in spec.devices:
        dev_nps[d.label] = len(make_device(d, "v2").mesh.nps)
    for label, secs in sorted(by_dev.items(), key=lambda kv: dev_nps[kv[0]]):
        print(f"| {label} | {dev_nps[label]} | {statistics.median(secs):.4f} | {len(secs)} |")

    out3 = os.path.join(args.out, "interrupted")
    os.makedirs(out3)
    shutil.copytree(cache, os.path.join(out3, "models"))
    finished, computed, from_cache, total, kept = _interrupted(args.spec, out3, n)
    print(f"\ninterrupted (SIGKILL) after {finished} rows; restart computed {computed}, took "
          f"{from_cache} from the cache, {total} rows in the end; finished rows unchanged: "
          f"{kept}")
    assert computed == n - finished and from_cache == finished and total == n and kept


def _interrupted(spec_path, out, total):
    """Kill ``nsoc sweep`` (in-process) after a third of the rows, restart it; returns (rows
    finished before, computed by the restart, taken from the cache, rows after, finished rows
    unchanged)."""
    cmd = [sys.executable, "-m", "nsoc.cli", "sweep", spec_path, "-o", out, "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = os.path.join(out, "results.jsonl")
    while proc.poll() is None:
        if os.path.exists(log) and sum(1 for _ in open(log)) >= total // 3:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait()
    before = {}
    for line in open(log):
        try:
            row = json.loads(line)
        except ValueError:
            continue
        before[row["key"]] = row
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    m = re.search(r"configurations: (\d+) \((\d+) computed, (\d+) from the cache\)", text)
    after = {}
    for line in open(log):
        row = json.loads(line)
        after[row["key"]] = row
    kept = all(after[k] == r for k, r in before.items())
    return len(before), int(m.group(2)), int(m.group(3)), len(after), kept


if __name__ == "__main__":
    main()

"""Sharded dataset run: peak resident memory of the whole process tree and bit-exactness.

    PYTHONPATH=. python bench/bench_sharded.py [--samples 100000] [--workers 2]

Writes a memory-mapped input of ``--samples`` random frames for the model (in chunks, never
whole in memory), then runs

* ``nsoc run MODEL --input BIG.npy -o sharded.npy --workers N`` (embedded Dask cluster), and
* ``nsoc run MODEL --input BIG.npy -o single.npy`` (one process, the whole batch),

polling every 0.1 s the summed RSS of each command's process tree (driver, nanny and worker
processes: shared pages are counted once per process, so the sum is an upper bound), and checks
that the two output files hold the same bytes.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import psutil

import nsoc
from nsoc.sweep.sources import random_frames

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc] + proc.children(recursive=True):
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def run_measured(cmd: list[str]) -> tuple[float, int, str]:
    """(seconds, peak tree RSS in bytes, stdout) of ``cmd``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, tree_rss(ps))
        except psutil.NoSuchProcess:
            break
        time.sleep(0.1)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    return time.perf_counter() - start, peak, out


def make_input(model, path: str, n: int, chunk: int = 8192) -> None:
    shape = (n,) + tuple(model.input_shape)
    x = np.lib.format.open_memmap(path, mode="w+", dtype=random_frames(model, 1, 0).dtype,
                                  shape=shape)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        x[start:stop] = random_frames(model, stop - start, seed=start)
        x.flush()
    del x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "fixtures", "kws_dscnn.fbz"))
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--dir", default=None, help="scratch folder (default: a temporary one)")
    args = ap.parse_args()
    work = args.dir or tempfile.mkdtemp(prefix="nsoc_sharded_")
    os.makedirs(work, exist_ok=True)
    model = nsoc.load(args.model)
    big = os.path.join(work, "big.npy")
    make_input(model, big, args.samples)
    size_mb = os.path.getsize(big) / 2**20
    nsoc_cmd = [sys.executable, "-m", "nsoc.cli", "run", args.model, "--input", big, "--force"]
    sharded, single = os.path.join(work, "sharded.npy"), os.path.join(work, "single.npy")
    t_sh, rss_sh, out_sh = run_measured(nsoc_cmd + ["-o", sharded, "--workers",
                                                    str(args.workers)])
    t_si, rss_si, _ = run_measured(nsoc_cmd + ["-o", single])
    a, b = np.load(sharded, mmap_mode="r"), np.load(single, mmap_mode="r")
    same = a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b) and \
        open(sharded, "rb").read() == open(single, "rb").read()
    print(f"input: {args.samples:,} samples {tuple(model.input_shape)} {a.dtype} outputs, "
          f"{size_mb:,.1f} MB memory-mapped; load average {os.getloadavg()[0]:.2f}")
    print(f"sharded run output equals the single-process output byte for byte: {same}\n")
    print("| run | wall (s) | samples/s | peak RSS of the process tree (MB) |")
    print("|---|---:|---:|---:|")
    print(f"| `nsoc run --workers {args.workers}` (sharded) | {t_sh:.1f} | "
          f"{args.samples / t_sh:,.0f} | {rss_sh / 2**20:,.0f} |")
    print(f"| `nsoc run` (one process, whole batch) | {t_si:.1f} | {args.samples / t_si:,.0f} | "
          f"{rss_si / 2**20:,.0f} |")
    print("\n" + out_sh.strip())
    assert same and rss_sh < 2**30


if __name__ == "__main__":
    main()

"""Cost of the cycle-level simulation against the functional run of the same frames.

    PYTHONPATH=. python bench/bench_timing.py

For the DS-CNN KWS and AkidaNet 0.5 224 stand-ins (bench/calibration/standins.py) on AKD1000:
time of ``model.forward(x, outputs="all")`` (functional engine) and of the timing run fed by
those activations, one frame, after JIT warm-up; best of 3.  Targets (issue 6): timing <= 3x the
functional run; AkidaNet frame < 10 s; DS-CNN frame < 0.2 s.
"""
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "calibration"))
sys.path.insert(0, str(HERE.parent))

from standins import akd1000, akidanet_05, dscnn_kws, map_allnps  # noqa
from nsoc.hardware.timing import simulate  # noqa


def best(fn, n=3):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    rng = np.random.default_rng(0)
    for name, build in (("DS-CNN KWS", dscnn_kws), ("AkidaNet 0.5 224", akidanet_05)):
        m = build()
        try:
            m.map("AKD1000")
            how = "nsoc.hardware.mapping AllNps"
        except Exception as exc:  # mapping engine not able to map this stand-in
            map_allnps(m, akd1000())
            how = f"standins.map_allnps ({type(exc).__name__})"
        x = rng.integers(0, 256, (1,) + m.input_shape).astype(np.uint8)
        acts = m.forward(x, outputs="all")  # warm-up of both JITs
        simulate(m, x, activations=acts)
        t_fun, acts = best(lambda: m.forward(x, outputs="all"))
        t_tim, r = best(lambda: simulate(m, x, activations=acts))
        print(f"{name:<18} mapping: {how}")
        print(f"  functional {t_fun * 1e3:8.1f} ms   timing {t_tim * 1e3:8.1f} ms   "
              f"ratio {t_tim / t_fun:5.2f}   total {1e3 * (t_fun + t_tim):8.1f} ms   "
              f"latency {r.latency_cycles:,} cycles, sparsity "
              f"{np.mean([l.sparsity for l in r.layers]):.2f}")


if __name__ == "__main__":
    main()

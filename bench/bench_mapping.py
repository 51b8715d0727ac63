"""Mapper speed: a 100-layer model on a 128-node custom device (target: < 100 ms per mapping).

    python bench/bench_mapping.py             # prints the timings
    pytest bench/bench_mapping.py --benchmark-enable
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from nsoc.hardware.device import create_device  # noqa: E402
from nsoc.testing import random_v2_model  # noqa: E402


def hundred_layer_model():
    """Quantizer, InputConv2D, 48 (depthwise, pointwise) pairs, Dense, Dequantizer: 100 layers
    plus the Quantizer (24 x 24 input: the global pooling sees 12 x 12, Akida's largest)."""
    blocks = [("input_conv", dict(filters=32, stride=2))]
    for i in range(48):
        pool = "gap" if i == 47 else None
        blocks += [("dw", {}), ("conv", dict(filters=64 if i % 2 else 32, kernel_size=1,
                                              pool=pool))]
    blocks += [("dense", dict(units=10))]
    return random_v2_model(blocks, (24, 24, 3), seed=0)


def device_128_nodes():
    return create_device(508, 4, num_skip_dma_channel=8)


def time_mapping(model, device, mode, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        model.map(device, mode=mode)
        best = min(best, time.perf_counter() - t0)
    return best


def test_bench_map_allnps(benchmark):
    model, device = hundred_layer_model(), device_128_nodes()
    benchmark(model.map, device)
    assert len(model.layers) >= 100


if __name__ == "__main__":
    t0 = time.perf_counter()
    m, d = hundred_layer_model(), device_128_nodes()
    print(f"built {len(m.layers)}-layer model and {len(d.mesh.nps)}-NP device in "
          f"{time.perf_counter() - t0:.2f} s")
    for mode in ("AllNps", "Minimal", "HwPr"):
        t = time_mapping(m, d, mode)
        mp = m.map(d, mode=mode)
        print(f"map {mode:<8} {t * 1000:8.1f} ms  passes "
              f"{mp.n_passes}  NPs {sum(mp.component_count.values())}"
              f"  {'OK' if t < 0.1 else 'SLOW'} (target < 100 ms)")

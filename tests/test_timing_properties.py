"""Properties of the whole timing / energy / report path on random small models the mapper
places on hardware (the strongest invariants of tools/fuzz_timing.py, drawn by hypothesis):

* latency, throughput interval, fps and energy are finite and positive; the interval is at
  most the 1-frame latency (a multi-pass model: plus the reprogramming of its first pass, in
  place for the first frame only);
* F frames streamed take between 1x and Fx the 1-frame latency, at no less energy a frame, and
  the 1-frame latency does not change when more frames are streamed;
* a layer's span in frame 0 (first input row to last output row) holds its busiest NP's
  busy cycles;
* the 1-frame latency is at least the closed-form law: per pass the longest chain of the
  layers' slowest-NP busy cycles (each layer fires a frame's output once its input frame is
  in), plus the reprogramming of passes 2..; and at most twice it plus the NoC's transfers;
* a sparser input profile is never slower;
* the report writes and reloads with the same figures.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsoc import pipeline
from nsoc.hardware.parameters import timing_params, values
from nsoc.hardware.timing.costs import reprogram_cycles
from nsoc.hardware.timing.simulate import program_bytes
from nsoc.report.writers import load_report
from nsoc.testing import random_v1_model, random_v2_model

FRAMES = 3
# square, odd and audio-like thin inputs (the HRC takes at least 5 columns and rows)
SHAPES = [(8, 6, 3), (5, 7, 3), (16, 5, 1), (5, 13, 1)]


def _v2_blocks(kinds, rng):
    """An input convolution, the drawn kinds (an addition or concatenation after a convolution
    of the same width; concatenations stay at 16 channels or fewer: the dense layer reads at
    most 16 x 80 values, under the FNP's 2048), a small dense layer last."""
    ch = int(rng.integers(2, 9))
    out = [("input_conv", {"filters": ch, "name": "conv_in"})]
    for i, kind in enumerate(kinds):
        name = f"b{i}"
        if kind == "concat" and 2 * ch > 16:
            kind = "add"
        if kind in ("add", "concat"):
            out.append(("conv", {"filters": ch, "name": name + "_c"}))
            out.append((kind, {"with_block": 2, "name": name}))
            ch = 2 * ch if kind == "concat" else ch
        elif kind == "dw":
            out.append(("dw", {"kernel_size": int(rng.choice([3, 5])), "name": name}))
        else:
            ch = int(rng.integers(2, 17))
            opt = {"filters": ch, "kernel_size": int(rng.choice([1, 3])), "name": name}
            if kind == "pool":
                opt["pool"] = "max"
            if kind == "stride":
                opt["stride"] = 2
            out.append(("conv", opt))
    out.append(("dense", {"units": int(rng.integers(2, 11)), "name": "fc"}))
    return out


def _v1_blocks(kinds, rng):
    """An input convolution, convolutions / separable ones (pooled, strided), a dense layer."""
    out = [("input_conv", {"filters": int(rng.integers(2, 17)), "name": "conv_in"})]
    for i, kind in enumerate(k for k in kinds if k not in ("add", "concat")):
        opt = {"filters": int(rng.integers(2, 17)), "name": f"b{i}"}
        if kind == "pool":
            opt["pool"] = "max"
        if kind == "stride":
            opt.update(stride=2, kernel_size=int(rng.choice([1, 3])))
        out.append(("sep" if kind == "dw" else "conv", opt))
    out.append(("dense", {"units": int(rng.integers(2, 11)), "name": "fc"}))
    return out


def _frame0_reprogram(model, mapping) -> float:
    """Reprogramming in frame 0's latency: every hardware pass but the first."""
    P = values(timing_params(mapping.device, {}))
    return sum(reprogram_cycles(mapping.mode, sum(len(lm.nps) for lm in lms),
                                program_bytes(mapping.sequences[si], lms, P, model), P)
               for si, _, lms in mapping.hardware_passes()[1:])


def _law_cycles(model, timing) -> float:
    """Per pass, the longest chain of the layers' busy cycles (slowest NP) along the graph."""
    busy = {lay.name: lay.busy_cycles for lay in timing.layers}
    where = {lay.name: (lay.sequence, lay.pass_index) for lay in timing.layers}
    longest: dict = {}
    for lay in model.layers:  # topological order
        if lay.name in busy:
            prev = [longest[i] for i in lay.inbounds if where.get(i) == where[lay.name]]
            longest[lay.name] = busy[lay.name] + max(prev, default=0)
    per_pass: dict = {}
    for name, v in longest.items():
        per_pass[where[name]] = max(per_pass.get(where[name], 0), v)
    return float(sum(per_pass.values()))


KINDS = st.lists(st.sampled_from(["conv", "dw", "add", "concat", "pool", "stride"]),
                 min_size=0, max_size=4).filter(lambda k: k.count("pool") + k.count("stride")
                                                <= 1)
DEVICES = {"v2": ["TwoNodesIPv2", "FourNodesIPv2", "custom:6,2,1"],
           "v1": ["AKD1500", "TwoNodesIPv1", "custom:8,2,v1"]}


@settings(max_examples=200, deadline=None)
@given(KINDS, st.integers(0, 2**16), st.sampled_from(["v1", "v2"]), st.integers(0, 2),
       st.sampled_from(["AllNps", "Minimal", "HwPr"]), st.integers(0, len(SHAPES) - 1),
       st.sampled_from([2, 4]))
def test_timing_energy_report_invariants(tmp_path_factory, kinds, seed, version, dev_index,
                                         mode, shape_index, weight_bits):
    rng = np.random.default_rng(seed)
    shape = SHAPES[shape_index]
    if version == "v2":
        model = random_v2_model(_v2_blocks(kinds, rng), shape, seed=seed,
                                weight_bits=weight_bits)
    else:
        model = random_v1_model(_v1_blocks(kinds, rng), shape, seed=seed,
                                weight_bits=weight_bits)
    x = rng.integers(0, 256, (1, *shape)).astype(np.uint8)
    opts = pipeline.SimOptions(device=DEVICES[version][dev_index], mode=mode, frames=1)
    mapping = pipeline.map_stage(model, opts)
    assert mapping.hardware_passes(), "the draw must map on hardware"
    acts = pipeline.forward_stage(model, x, opts)
    run = pipeline.simulate(model, x, opts, mapping=mapping, activations=acts)
    t, e = run.timing, run.energy
    lat = t.latency_cycles
    for v in (lat, t.interval_cycles, t.fps, e.energy_per_frame_uj,
              e.total_energy_per_frame_uj, e.power_mw["chip"], e.power_mw["board"]):
        assert math.isfinite(v) and v > 0
    assert all(math.isfinite(v) and v >= 0 for v in e.energy_breakdown_uj.values())
    reprogram = _frame0_reprogram(model, mapping)
    first = t.reconfig_cycles - reprogram   # the first pass's, absent from frame 0
    assert t.interval_cycles <= lat + first + 2  # each figure rounded to a cycle
    # the closed-form law: the chain of busy cycles is a lower bound, the NoC adds on top
    law = _law_cycles(model, t) + reprogram
    assert law * 0.99 - 1 <= lat <= 2 * law + 300 * len(t.layers)
    assert max(lay.busy_cycles for lay in t.layers) <= lat
    # each layer's span in the frame holds its busiest NP's work (its output leaves last)
    assert all(lay.end_cycle - lay.start_cycle >= lay.busy_cycles - 1 for lay in t.layers)
    # F frames streamed
    runF = pipeline.simulate(model, x, opts.with_(stream_frames=FRAMES), mapping=mapping,
                             activations=acts)
    assert runF.timing.latency_cycles == lat
    assert lat - 1 <= runF.timing.total_cycles <= FRAMES * (lat + first) + 2
    # the same frame streamed: no cheaper a frame (later frames reload a multi-pass model's
    # first pass too)
    # (2 % and 0.1 nJ: counts and busy cycles rounded over all the frames: weight words, NP
    # cycles)
    assert runF.energy.energy_per_frame_uj >= e.energy_per_frame_uj * 0.98 - 1e-4
    # sparser inputs are not slower
    lats = [pipeline.simulate(model, x, opts.with_(sparsity=sp), mapping=mapping,
                              activations=acts).timing.latency_cycles for sp in (0.5, 0.9)]
    assert lats[1] <= lats[0] * 1.02 + 50
    # the report round trip
    out = tmp_path_factory.mktemp("rep")
    run.report.write(out, html=False)
    back = load_report(out)
    for key in ("fps", "latency_us", "energy_per_frame_uj"):
        assert getattr(back, key) == pytest.approx(getattr(run.report, key), rel=1e-12)
